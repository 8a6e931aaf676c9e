//! `vmm bench fork`: whole-VM fork, reset and restore, against host fork().
//!
//! For each guest RAM size (64 MiB and 1 GiB by default) the guest program
//! `forkvm` touches most of RAM, checkpoints, and (in each child) dirties
//! 1 MiB and pauses at a second checkpoint. Measured in one run:
//! - fork: checkpoint state to a child VM ready for its first guest
//!   instruction (`Base::fork`: VM, copy-on-write memslot, vCPU, engine and
//!   kernel state) — reference: host fork() of a process with the same
//!   touched memory (parent side, until fork returns), same run;
//! - reset: one reset (dirty scan, revert, memslot reload, state) after the
//!   child dirtied 1 MiB, as resets per second; also whole iterations/s;
//! - RSS of 16 children alive together, each paused after its writes,
//!   against the parent VM's RSS at its checkpoint;
//! - restore of a snapshot to the first guest instruction, eager and lazy
//!   (warm page cache: the snapshot was just written).
//!
//! Medians over `runs`. Nothing here asserts a time.

use super::{median_us, print};
use crate::error::VmmError;
use crate::kernel::console::Console;
use crate::machine::{BootSpec, CheckpointMode, Ending, Machine};
use crate::vmfork::{Base, ResetLoop};
use serde::Serialize;
use std::time::{Duration, Instant};

const DIRTY_KIB: u64 = 1024;
const CHILDREN: usize = 16;

#[derive(Serialize, Default)]
struct SizeResult {
    guest_ram_mib: u64,
    touched_mib: u64,
    fork_child_us: f64,
    host_fork_us: f64,
    fork_vs_host_fork: f64,
    reset_us: f64,
    resets_per_s: f64,
    reset_dirty_pages: f64,
    reset_iterations_per_s: f64,
    reset_breakdown_us: [f64; 4],
    parent_rss_mib: f64,
    children_rss_mib: f64,
    children_private_mib: f64,
    children_rss_budget_mib: f64,
    restore_eager_ms: f64,
    restore_lazy_ms: f64,
    /// `vmm restore --lazy` in a fresh process (its own `restore_ms`): cold
    /// allocator and page tables, what a user launching one VM sees.
    restore_lazy_new_process_ms: f64,
    snapshot_write_ms: f64,
    snapshot_disk_mib: f64,
}

#[derive(Serialize)]
struct ForkBench {
    bench: &'static str,
    runs: u32,
    sizes: Vec<SizeResult>,
    /// fork time at the largest size / at the smallest (target <= 2); None
    /// with a single size (there is nothing to compare).
    fork_flatness: Option<f64>,
}

fn spec(memory: u64, touched_mib: u64) -> BootSpec {
    let args = vec![touched_mib.to_string(), DIRTY_KIB.to_string(), "bench".into()];
    BootSpec { memory, ..BootSpec::captured("forkvm", args).expect("forkvm is built in") }
}

/// (VmRSS, RssAnon) of this process in bytes.
fn rss() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let get = |k: &str| {
        s.lines().find(|l| l.starts_with(k)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
            * 1024
    };
    (get("VmRSS:"), get("RssAnon:"))
}

/// Host fork() of this process with `bytes` of freshly touched anonymous
/// memory: parent-side time until fork returns; the child exits at once.
fn host_fork_us(bytes: u64, runs: u32) -> Result<f64, VmmError> {
    // SAFETY: a private anonymous mapping that nothing else references; it
    // is unmapped below and never handed out.
    let p = unsafe {
        libc::mmap(std::ptr::null_mut(), bytes as usize, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
    };
    if p == libc::MAP_FAILED {
        return Err(VmmError::Host("mmap for the host fork reference", std::io::Error::last_os_error()));
    }
    for off in (0..bytes).step_by(4096) {
        // SAFETY: inside the mapping just created.
        unsafe { (p as *mut u8).add(off as usize).write_volatile(1) };
    }
    let mut v = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        // SAFETY: the child only calls _exit, which is async-signal-safe.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: ends the child at once.
            unsafe { libc::_exit(0) };
        }
        v.push(t.elapsed());
        let mut st = 0;
        // SAFETY: reaping our own child.
        unsafe { libc::waitpid(pid, &mut st, 0) };
    }
    // SAFETY: the mapping created above, unused from here on.
    unsafe { libc::munmap(p, bytes as usize) };
    Ok(median_us(&mut v))
}

fn checkpoint(memory: u64, touched: u64) -> Result<(Base, f64), VmmError> {
    let kvm = crate::vm::open_kvm()?;
    let before = rss().0;
    let mut m = Machine::boot(kvm, &spec(memory, touched))?;
    m.checkpoint = CheckpointMode::Stop;
    let end = m.run(Duration::from_secs(600))?;
    if end != Ending::Checkpoint {
        return Err(VmmError::Bench(format!("forkvm did not reach its checkpoint: {end:?}")));
    }
    let parent_rss = rss().0.saturating_sub(before) as f64 / (1 << 20) as f64;
    let base = Base::from_machine(&m, "forkvm", &Default::default())?;
    drop(m);
    Ok((base, parent_rss))
}

fn one_size(memory: u64, runs: u32) -> Result<SizeResult, VmmError> {
    let touched = (memory >> 20) - (memory >> 20) / 8;
    let mut r = SizeResult { guest_ram_mib: memory >> 20, touched_mib: touched, ..Default::default() };
    let (base, parent_rss) = checkpoint(memory, touched)?;
    r.parent_rss_mib = parent_rss;
    // Fork time.
    let mut v = Vec::new();
    drop(base.fork(0, Console::Capture(Vec::new(), Vec::new()))?); // warm-up
    for i in 0..(runs * 3).max(9) {
        let t = Instant::now();
        let child = base.fork(i as u64, Console::Capture(Vec::new(), Vec::new()))?;
        v.push(t.elapsed());
        drop(child);
    }
    r.fork_child_us = median_us(&mut v);
    r.host_fork_us = host_fork_us(touched << 20, runs.max(3))?;
    r.fork_vs_host_fork = r.fork_child_us / r.host_fork_us;
    // Resets with 1 MiB dirtied per iteration.
    {
        let mut l = ResetLoop::new(&base)?;
        l.child.checkpoint = CheckpointMode::Stop;
        expect_pause(l.run(Duration::from_secs(60))?)?;
        let (mut total, mut iter) = (Vec::new(), Vec::new());
        let mut parts = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
        let mut pages = 0.0;
        let n = (runs * 40).max(50);
        for i in 1..=n {
            let t = Instant::now();
            let c = l.reset(i as u64)?;
            l.child.checkpoint = CheckpointMode::Stop;
            expect_pause(l.run(Duration::from_secs(60))?)?;
            iter.push(t.elapsed());
            total.push(c.total);
            for (k, d) in [c.scan, c.revert, c.slot, c.state].into_iter().enumerate() {
                parts[k].push(d);
            }
            pages += c.dirty_pages as f64;
            let _ = l.take_output();
        }
        r.reset_us = median_us(&mut total);
        r.resets_per_s = 1e6 / r.reset_us;
        r.reset_iterations_per_s = 1e6 / median_us(&mut iter);
        r.reset_dirty_pages = pages / n as f64;
        for (k, p) in parts.iter_mut().enumerate() {
            r.reset_breakdown_us[k] = median_us(p);
        }
    }
    // RSS of 16 live children, each paused after dirtying 1 MiB.
    {
        let (rss0, anon0) = rss();
        let mut kids = Vec::new();
        for i in 0..CHILDREN {
            let mut c = base.fork(i as u64, Console::Capture(Vec::new(), Vec::new()))?;
            c.checkpoint = CheckpointMode::Stop;
            expect_pause(c.run(Duration::from_secs(60))?)?;
            kids.push(c);
        }
        let (rss1, anon1) = rss();
        r.children_rss_mib = rss1.saturating_sub(rss0) as f64 / (1 << 20) as f64;
        r.children_private_mib = anon1.saturating_sub(anon0) as f64 / (1 << 20) as f64;
        r.children_rss_budget_mib = r.parent_rss_mib + CHILDREN as f64 * (DIRTY_KIB as f64 / 1024.0 + 2.0);
        drop(kids);
    }
    // Snapshot, then restore to the first guest instruction.
    let dir = std::env::temp_dir().join(format!("vmm-bench-fork-{}-{}", std::process::id(), memory >> 20));
    let t = Instant::now();
    crate::snapshot::write::write(&base, &dir)?;
    r.snapshot_write_ms = t.elapsed().as_secs_f64() * 1e3;
    r.snapshot_disk_mib = disk_usage(&dir) as f64 / (1 << 20) as f64;
    let (mut eager, mut lazy) = (Vec::new(), Vec::new());
    for _ in 0..runs.max(3) {
        let t = Instant::now();
        let o = crate::snapshot::restore::open(&dir)?;
        let r = crate::snapshot::restore::eager(o)?;
        let m = Machine::resume(r.vm, r.state, 0, Console::Capture(Vec::new(), Vec::new()), r.windows)?;
        eager.push(t.elapsed());
        drop(m);
        let t = Instant::now();
        let o = crate::snapshot::restore::open(&dir)?;
        let r = crate::snapshot::restore::lazy(o)?;
        let pager = r.pager;
        let m = Machine::resume(r.vm, r.state, 0, Console::Capture(Vec::new(), Vec::new()), r.windows)?;
        lazy.push(t.elapsed());
        drop(m);
        drop(pager);
    }
    r.restore_eager_ms = median_us(&mut eager) / 1e3;
    r.restore_lazy_ms = median_us(&mut lazy) / 1e3;
    let mut cold = Vec::new();
    for _ in 0..runs.max(3) {
        cold.push(Duration::from_secs_f64(restore_in_new_process(&dir)? / 1e3));
    }
    r.restore_lazy_new_process_ms = median_us(&mut cold) / 1e3;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(r)
}

/// Runs `vmm restore --lazy DIR --json` and returns its `restore_ms`.
fn restore_in_new_process(dir: &std::path::Path) -> Result<f64, VmmError> {
    let exe = std::env::current_exe().map_err(|e| VmmError::Host("finding our own executable", e))?;
    let o = std::process::Command::new(exe)
        .args(["restore", "--lazy", "--json", "-q"])
        .arg(dir)
        .output()
        .map_err(|e| VmmError::Host("spawning vmm restore", e))?;
    let err = String::from_utf8_lossy(&o.stderr);
    let j: serde_json::Value = err.lines().last().and_then(|l| serde_json::from_str(l).ok()).unwrap_or_default();
    j["restore_ms"].as_f64().ok_or_else(|| VmmError::Bench(format!("vmm restore --lazy printed no restore_ms: {err}")))
}

fn disk_usage(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(dir).map(|d| d.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.blocks() * 512).sum()).unwrap_or(0)
}

fn expect_pause(e: Ending) -> Result<(), VmmError> {
    if e == Ending::Checkpoint {
        Ok(())
    } else {
        Err(VmmError::Bench(format!("the child did not pause after its writes: {e:?}")))
    }
}

/// Runs the benchmark for each size in MiB and prints it.
pub fn command(sizes: &[u64], runs: u32, json: bool) -> Result<i32, VmmError> {
    let mut out = Vec::new();
    for &mib in sizes {
        out.push(one_size(mib << 20, runs.max(1))?);
    }
    let flat = match (out.first(), out.last()) {
        (Some(a), Some(b)) if out.len() > 1 => Some(b.fork_child_us / a.fork_child_us),
        _ => None,
    };
    let mut lines = Vec::new();
    for r in &out {
        lines.push(format!("guest RAM {} MiB ({} MiB touched):", r.guest_ram_mib, r.touched_mib));
        lines.push(format!(
            "  fork one child        {:>9.0} µs   host fork() of the same memory {:>9.0} µs = {:.2}x",
            r.fork_child_us, r.host_fork_us, r.fork_vs_host_fork
        ));
        lines.push(format!(
            "  reset (1 MiB dirty)   {:>9.0} µs = {:.0} resets/s ({:.0} pages; scan {:.0}, revert {:.0}, slot {:.0}, state {:.0} µs); {:.0} run+reset iterations/s",
            r.reset_us,
            r.resets_per_s,
            r.reset_dirty_pages,
            r.reset_breakdown_us[0],
            r.reset_breakdown_us[1],
            r.reset_breakdown_us[2],
            r.reset_breakdown_us[3],
            r.reset_iterations_per_s
        ));
        lines.push(format!(
            "  RSS of {CHILDREN} children     {:>9.1} MiB (private {:.1} MiB); parent {:.1} MiB; budget parent + 16 x (1 + 2) MiB = {:.1} MiB",
            r.children_rss_mib, r.children_private_mib, r.parent_rss_mib, r.children_rss_budget_mib
        ));
        lines.push(format!(
            "  restore to first insn eager {:.2} ms, lazy {:.2} ms, lazy in a new process {:.2} ms (snapshot: {:.1} MiB on disk, written in {:.0} ms)",
            r.restore_eager_ms, r.restore_lazy_ms, r.restore_lazy_new_process_ms, r.snapshot_disk_mib, r.snapshot_write_ms
        ));
    }
    lines.push(match flat {
        Some(f) => format!("fork time, largest / smallest RAM: {f:.2}x (target <= 2)"),
        None => "fork time, largest / smallest RAM: not measured (one size; give two with --sizes)".into(),
    });
    print(json, &ForkBench { bench: "fork", runs, sizes: out, fork_flatness: flat }, &lines);
    Ok(0)
}
