//! `vmm fork`: children from one checkpoint, or the reset loop.
//!
//! Owns the command's flow and output. Children are all created first (so
//! they are alive at the same time, sharing the base), then run one after
//! another; each one's output is printed as a block in index order, followed
//! by a one-line report on stderr. Exit status: 0 when every child (every
//! iteration) exited 0 and, in the reset loop, every iteration printed the
//! same checksum; otherwise the first failing status (1 for a checksum
//! mismatch).

use super::{Base, NoCheckpoint, ResetLoop};
use crate::checkpoint::devices::DeviceModes;
use crate::cli::{ForkArgs, Inject};
use crate::device::PmemSpec;
use crate::error::{InternalError, VmmError};
use crate::kernel::console::Console;
use crate::machine::Ending;
use crate::run;
use std::collections::BTreeSet;
use std::io::Write;
use std::time::{Duration, Instant};
use vm_memory::Bytes;

/// The checkpoint of `vmm fork` / `vmm snapshot`, or an error saying why not.
/// `modes` are the `--device-mode` choices.
pub fn base_from(a: &crate::cli::RunArgs, modes: &[String]) -> Result<(Base, Duration), VmmError> {
    // The control socket belongs to one running VM; children and restores
    // would share or lose it, so it is refused (docs/vmfork.md).
    if a.ctl.is_some() {
        return Err(VmmError::Usage(
            "--ctl is not supported by vmm fork/snapshot: a control socket serves one running VM (plug devices with --device)".into(),
        ));
    }
    if a.unplug_tripwire || a.inject.is_some() {
        return Err(VmmError::Usage(
            "--unplug-tripwire and --inject are testing aids of vmm run only (vmm fork takes --inject child-triple-fault)".into(),
        ));
    }
    let modes = DeviceModes::parse(modes)?;
    let devices = a.devices.iter().map(|d| PmemSpec::parse(d).map_err(VmmError::Usage)).collect::<Result<Vec<_>, _>>()?;
    let (spec, timeout) = run::spec_from_args(a)?;
    match Base::checkpoint_with_devices(&spec, timeout, &devices, &modes) {
        Ok(b) => Ok((b, timeout)),
        Err(NoCheckpoint::Error(e)) => Err(e),
        Err(NoCheckpoint::Ended(how)) => Err(VmmError::Usage(format!(
            "{} never asked for a checkpoint (SYS_VM_CHECKPOINT, see docs/vmfork.md); it ended: {how:?}",
            spec.program
        ))),
    }
}

#[derive(serde::Serialize)]
struct ChildReport {
    index: u64,
    outcome: String,
    exit_code: i32,
    detail: Option<String>,
    /// At a timeout: what happened since the child last made progress.
    #[serde(skip_serializing_if = "Option::is_none")]
    stall: Option<crate::progress::Stall>,
    fork_us: f64,
    stdout: String,
}

/// Words `checksum HEX` in guest output: the reset loop's identity check.
pub fn checksums(out: &str) -> Vec<String> {
    let w: Vec<&str> = out.split_whitespace().collect();
    w.windows(2).filter(|p| p[0] == "checksum").map(|p| p[1].to_string()).collect()
}

pub fn command(a: &ForkArgs) -> Result<i32, VmmError> {
    if a.children == 0 || a.children > 4096 {
        return Err(VmmError::Usage("--children must be between 1 and 4096".into()));
    }
    if a.jobs == Some(0) {
        return Err(VmmError::Usage("--jobs must be at least 1".into()));
    }
    // The one testing aid of `vmm fork`: a guest-kernel crash in every child.
    let child_crash = a.run.inject == Some(Inject::ChildTripleFault) && a.reset_loop.is_none();
    let mut run_args = a.run.clone();
    if child_crash {
        run_args.inject = None;
    }
    let t = Instant::now();
    let (base, timeout) = base_from(&run_args, &a.device_modes)?;
    let checkpoint_ms = t.elapsed().as_secs_f64() * 1e3;
    let _ = std::io::stdout().flush();
    match a.reset_loop {
        Some(k) => reset_loop(a, &base, k, timeout, checkpoint_ms),
        None => children(a, &base, timeout, checkpoint_ms, child_crash),
    }
}

fn children(a: &ForkArgs, base: &Base, timeout: Duration, checkpoint_ms: f64, child_crash: bool) -> Result<i32, VmmError> {
    let mut kids = Vec::new();
    for i in 0..a.children {
        let t = Instant::now();
        let m = base.fork(i, Console::Capture(Vec::new(), Vec::new()))?;
        let fork_time = t.elapsed();
        if child_crash {
            // The child's RAM is its own copy-on-write view: the parent and
            // its siblings keep their IDT.
            m.ram()
                .mem
                .write_slice(&[0u8; 32 * 16], vm_memory::GuestAddress(crate::layout::IDT_PA))
                .map_err(|e| VmmError::GuestMemory(e.to_string()))?;
        }
        kids.push((i, m, fork_time));
    }
    // Children are independent VMs: run them on up to `jobs` threads, then
    // report in index order so the output does not depend on scheduling.
    let jobs = a.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).clamp(1, kids.len());
    let queue = std::sync::Mutex::new(kids.into_iter().collect::<std::collections::VecDeque<_>>());
    let done = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|sc| {
        for _ in 0..jobs {
            sc.spawn(|| loop {
                let Some((i, mut m, fork_time)) = queue.lock().ok().and_then(|mut q| q.pop_front()) else { break };
                let r = run::run_machine(&mut m, &base.program, timeout, Instant::now()).map(|s| {
                    let (out, err) = m.captured();
                    (s, out.to_vec(), err.to_vec())
                });
                // Each child is torn down as it finishes; the others stay alive.
                drop(m);
                if let Ok(mut d) = done.lock() {
                    d.push((i, fork_time, r));
                }
            });
        }
    });
    let mut done = done.into_inner().map_err(|_| InternalError::ChildPanicked)?;
    done.sort_by_key(|(i, _, _)| *i);
    let mut reports = Vec::new();
    let mut status = 0;
    for (i, fork_time, r) in done {
        let (s, out, err) = r?;
        let stdout = String::from_utf8_lossy(&out).into_owned();
        if !a.run.json {
            print!("{stdout}");
            let _ = std::io::stdout().flush();
            eprint!("{}", String::from_utf8_lossy(&err));
            if !a.run.quiet || s.exit_code != 0 {
                eprintln!("vmm: child {i}: {}", s.line().trim_start_matches("vmm: "));
            }
        }
        if status == 0 && s.exit_code != 0 {
            status = s.exit_code;
        }
        reports.push(ChildReport {
            index: i,
            outcome: s.outcome,
            exit_code: s.exit_code,
            detail: s.detail,
            stall: s.stall,
            fork_us: fork_time.as_secs_f64() * 1e6,
            stdout,
        });
    }
    if a.run.json {
        let j = serde_json::json!({ "program": base.program, "checkpoint_ms": checkpoint_ms, "children": reports });
        println!("{j}");
    } else if !a.run.quiet {
        let mean = reports.iter().map(|r| r.fork_us).sum::<f64>() / reports.len() as f64;
        eprintln!(
            "vmm: {} children forked from one checkpoint of {} ({:.1} ms to the checkpoint, {:.0} µs per fork)",
            reports.len(),
            base.program,
            checkpoint_ms,
            mean
        );
    }
    Ok(status)
}

fn reset_loop(a: &ForkArgs, base: &Base, k: u64, timeout: Duration, checkpoint_ms: f64) -> Result<i32, VmmError> {
    if k == 0 {
        return Err(VmmError::Usage("--reset-loop needs at least 1 iteration".into()));
    }
    let mut l = ResetLoop::new(base)?;
    l.revert_memory = !a.reset_keep_memory;
    l.shadow = a.reset_shadow;
    let mut sums = BTreeSet::new();
    let mut failed: Option<(u64, String)> = None;
    let mut resets = Vec::new();
    let mut pages = 0u64;
    let t = Instant::now();
    for i in 0..k {
        if i > 0 {
            let c = l.reset(i)?;
            pages += c.dirty_pages;
            resets.push(c.total.as_secs_f64() * 1e6);
        }
        let ending = l.run(timeout)?;
        let (out, err) = l.take_output();
        let text = String::from_utf8_lossy(&out).into_owned();
        if i == 0 && !a.run.quiet && !a.run.json {
            print!("{text}");
            eprint!("{}", String::from_utf8_lossy(&err));
        }
        let cs = checksums(&text);
        if cs.is_empty() && failed.is_none() {
            failed = Some((i, "printed no `checksum HEX`".into()));
        }
        sums.extend(cs);
        if ending != Ending::Exited(0) && failed.is_none() {
            failed = Some((i, format!("ended {ending:?}")));
        }
        if failed.is_some() {
            // A broken iteration leaves nothing meaningful to reset to.
            break;
        }
    }
    let wall = t.elapsed();
    resets.sort_by(f64::total_cmp);
    let median = resets.get(resets.len() / 2).copied().unwrap_or(0.0);
    let identical = sums.len() == 1;
    if a.run.json {
        let j = serde_json::json!({
            "program": base.program, "iterations": k, "checkpoint_ms": checkpoint_ms,
            "distinct_checksums": sums.len(), "checksums": sums, "failed": failed.as_ref().map(|f| serde_json::json!({"iteration": f.0, "why": f.1})),
            "reset_median_us": median, "dirty_pages_per_reset": if k > 1 { pages as f64 / (k - 1) as f64 } else { 0.0 },
            "iterations_per_s": k as f64 / wall.as_secs_f64(),
        });
        println!("{j}");
    } else {
        eprintln!(
            "vmm: reset loop: {k} runs of {} from one checkpoint · {} · memory checksum before writing {} · reset {:.0} µs (median), {:.1} dirty pages each · {:.0} runs/s",
            base.program,
            match &failed {
                None => "all exited 0".to_string(),
                Some((i, why)) => format!("iteration {i} {why}"),
            },
            if identical { format!("identical in every run ({})", sums.iter().next().map_or("", |s| s.as_str())) } else { format!("DIFFERS: {} distinct values", sums.len()) },
            median,
            if k > 1 { pages as f64 / (k - 1) as f64 } else { 0.0 },
            k as f64 / wall.as_secs_f64()
        );
    }
    Ok(if failed.is_some() || !identical { 1 } else { 0 })
}
