//! `vmm bench fault`: the cost of a forwarded demand fault from ring 3.
//!
//! Floor, measured in the same run: one null ring-3 trap round trip (`int3`
//! with IDT vector 3 pointing at a bare `iretq`: ring 3 -> ring 0 -> ring 3,
//! no exit) plus one bare exit (a ring-0 `out` loop). A forwarded fault is
//! exactly that plus the engine's work and KVM's shadow fill on the retry.
//!
//! Measured: `touch N` with one page per fault (anonymous fault-around off),
//! minus the same program touching 0 pages, divided by the faults taken; and
//! the same with the default 16-page batching, per touched page.
//!
//! A second reference explains the result on PVM hosts: a trap into a stub
//! that exits, with the VMM resuming at once and doing nothing. On our host
//! leaving the guest from exception context costs far more than a bare exit
//! from a ring-0 loop, so that figure, not trap + bare exit, is what any
//! forwarded fault must pay. Both ratios are printed.

use super::{median_us, print, Ratio};
use crate::error::VmmError;
use crate::machine::{BootSpec, Ending, Machine, TrapMode};
use guest_mm::FaultAround;
use serde::Serialize;
use std::time::{Duration, Instant};

#[derive(Serialize)]
struct FaultBench {
    bench: &'static str,
    pages: u64,
    runs: u32,
    null_trap_us: f64,
    bare_exit_us: f64,
    floor_us: f64,
    fault_us: f64,
    ratio: f64,
    target: f64,
    faults_per_run: u64,
    trap_exit_us: f64,
    ratio_vs_trap_exit: f64,
    vmm_us_per_fault: f64,
    batched_us_per_page: f64,
    batched_faults_per_run: u64,
    batched_ratio_per_page: f64,
}

fn spec(program: &str, args: Vec<String>, anon: u32, trap_mode: TrapMode) -> Result<BootSpec, VmmError> {
    Ok(BootSpec { fault_around: FaultAround { file_pages: 16, anon_pages: anon }, trap_mode, ..BootSpec::captured(program, args)? })
}

/// Boots `spec`, runs it to completion, returns (run time, faults handled).
fn timed_run(spec: &BootSpec) -> Result<(Duration, u64), VmmError> {
    timed_run_host(spec).map(|(d, f, _)| (d, f))
}

/// As timed_run, plus the time spent in the VMM between exits.
fn timed_run_host(spec: &BootSpec) -> Result<(Duration, u64, Duration), VmmError> {
    let kvm = crate::vm::open_kvm()?;
    let mut m = Machine::boot(kvm, spec)?;
    let t = Instant::now();
    let end = m.run(Duration::from_secs(120))?;
    let dt = t.elapsed();
    if end != Ending::Exited(0) {
        return Err(VmmError::Bench(format!("benchmark guest {} ended with {end:?}", spec.program)));
    }
    Ok((dt, m.kernel.stats.faults, m.stats.host_time))
}

/// Per-operation time: (run with n) - (run with 0), divided by `ops`.
fn per_op(with: Duration, without: Duration, ops: u64) -> Duration {
    with.saturating_sub(without) / ops.max(1) as u32
}

pub fn command(pages: u64, runs: u32, json: bool) -> Result<i32, VmmError> {
    let pages = pages.clamp(16, 1 << 20);
    let runs = runs.max(1);
    let traps = 20_000u64;
    let (mut trap, mut exit, mut fault, mut batched) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut exit_trap, mut host) = (Vec::new(), Vec::new());
    let (mut faults_1, mut faults_16) = (0, 0);
    for _ in 0..runs {
        // Null trap: nulltrap N vs nulltrap 0.
        let (t_n, _) = timed_run(&spec("nulltrap", vec![traps.to_string()], 1, TrapMode::NullTrap)?)?;
        let (t_0, _) = timed_run(&spec("nulltrap", vec!["0".into()], 1, TrapMode::NullTrap)?)?;
        trap.push(per_op(t_n, t_0, traps));
        // Bare exit.
        let kvm = crate::vm::open_kvm()?;
        let mut m = Machine::boot(kvm, &spec("exit", vec![], 1, TrapMode::Signal)?)?;
        exit.push(m.measure_bare_exits(traps)? / traps as u32);
        // Faults, one page each.
        // Trap plus exit with no kernel work: what KVM charges for forwarding.
        let (x_n, _) = timed_run(&spec("nulltrap", vec![traps.to_string()], 1, TrapMode::ExitTrap)?)?;
        let (x_0, _) = timed_run(&spec("nulltrap", vec!["0".into()], 1, TrapMode::ExitTrap)?)?;
        exit_trap.push(per_op(x_n, x_0, traps));
        let (t0, f0, h0) = timed_run_host(&spec("touch", vec!["0".into()], 1, TrapMode::Signal)?)?;
        let (tn, fnn, hn) = timed_run_host(&spec("touch", vec![pages.to_string()], 1, TrapMode::Signal)?)?;
        faults_1 = fnn.saturating_sub(f0);
        fault.push(per_op(tn, t0, faults_1));
        host.push(per_op(hn, h0, faults_1));
        // Faults with the default batching, per page.
        let (b0, g0) = timed_run(&spec("touch", vec!["0".into()], 16, TrapMode::Signal)?)?;
        let (bn, gn) = timed_run(&spec("touch", vec![pages.to_string()], 16, TrapMode::Signal)?)?;
        faults_16 = gn.saturating_sub(g0);
        batched.push(per_op(bn, b0, pages));
    }
    let (t, e, f, b) = (median_us(&mut trap), median_us(&mut exit), median_us(&mut fault), median_us(&mut batched));
    let (xt, h) = (median_us(&mut exit_trap), median_us(&mut host));
    let floor = t + e;
    let per_fault = Ratio::new("fault: forwarded demand fault", "us", f, floor, Some(1.3));
    let per_page = Ratio::new("fault: per page, 16-page batch", "us", b, floor, None);
    let vs_exit_trap = Ratio::new("fault vs trap+exit stub", "us", f, xt, None);
    let out = FaultBench {
        bench: "fault",
        pages,
        runs,
        null_trap_us: t,
        bare_exit_us: e,
        floor_us: floor,
        fault_us: f,
        ratio: per_fault.ratio,
        target: 1.3,
        faults_per_run: faults_1,
        trap_exit_us: xt,
        ratio_vs_trap_exit: vs_exit_trap.ratio,
        vmm_us_per_fault: h,
        batched_us_per_page: b,
        batched_faults_per_run: faults_16,
        batched_ratio_per_page: per_page.ratio,
    };
    let lines = vec![
        format!("vmm bench fault: {pages} pages, median of {runs} runs"),
        format!("floor: null ring-3 trap {t:.2} us + bare exit {e:.2} us = {floor:.2} us"),
        format!("      (trap to a stub that exits, no kernel work: {xt:.2} us; VMM time per fault: {h:.2} us)"),
        per_fault.line(),
        vs_exit_trap.line(),
        format!("{} ({faults_16} faults for {pages} pages)", per_page.line()),
    ];
    print(json, &out, &lines);
    Ok(0)
}
