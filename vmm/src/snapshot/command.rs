//! `vmm snapshot` and `vmm restore`.
//!
//! `vmm snapshot DIR [run options] [-- ARGS]` boots the program, runs it to
//! its checkpoint and writes the VM there. `vmm restore DIR [--lazy]` brings
//! it back and runs it to completion: the checkpoint call returns 0, as in an
//! uninterrupted `vmm run`, so the output is the same as that run's.

use super::{restore, write};
use crate::cli::{RestoreArgs, SnapshotArgs};
use crate::error::VmmError;
use crate::kernel::Console;
use crate::machine::Machine;
use crate::run;
use std::time::{Duration, Instant};

pub fn snapshot(a: &SnapshotArgs) -> Result<i32, VmmError> {
    let t = Instant::now();
    let (base, _) = crate::vmfork::command::base_from(&a.run)?;
    let checkpoint = t.elapsed();
    let w = write::write(&base, &a.dir)?;
    if a.run.json {
        let j = serde_json::json!({ "dir": a.dir, "program": base.program, "checkpoint_ms": checkpoint.as_secs_f64() * 1e3,
            "total_ms": t.elapsed().as_secs_f64() * 1e3, "written": w });
        eprintln!("{j}");
    } else if !a.run.quiet {
        eprintln!(
            "vmm: snapshot of {} at its checkpoint written to {} · {} MiB of RAM in {} chunks, {} KiB of state · {:.1} ms",
            base.program,
            a.dir.display(),
            w.memory_bytes >> 20,
            w.chunks,
            w.state_bytes >> 10,
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    Ok(0)
}

pub fn restore(a: &RestoreArgs) -> Result<i32, VmmError> {
    if !(a.timeout > 0.0 && a.timeout.is_finite()) {
        return Err(VmmError::Usage(format!("invalid --timeout {}: must be a positive number of seconds", a.timeout)));
    }
    let t = Instant::now();
    let opened = restore::open(&a.dir)?;
    let (vm, state, program, pager) = if a.lazy {
        let (vm, s, p, pager) = restore::lazy(opened)?;
        (vm, s, p, Some(pager))
    } else {
        let (vm, s, p) = restore::eager(opened)?;
        (vm, s, p, None)
    };
    let mut m = Machine::resume(vm, state, 0, Console::Inherit)?;
    m.kernel.quiet = a.quiet;
    let ready = t.elapsed();
    let summary = run::run_machine(&mut m, &program, Duration::from_secs_f64(a.timeout), t)?;
    if a.json {
        let mut j = serde_json::to_value(&summary).unwrap_or_default();
        j["restore_ms"] = serde_json::json!(ready.as_secs_f64() * 1e3);
        j["lazy"] = serde_json::json!(a.lazy);
        if let Some(p) = &pager {
            j["lazy_chunks_copied"] = serde_json::json!(p.stats.chunks_copied.load(std::sync::atomic::Ordering::Relaxed));
            j["lazy_chunks_zeroed"] = serde_json::json!(p.stats.chunks_zeroed.load(std::sync::atomic::Ordering::Relaxed));
        }
        eprintln!("{j}");
    } else if !a.quiet || summary.outcome != "exited" {
        eprintln!("{} · restored ({}) in {:.2} ms", summary.line(), if a.lazy { "lazy" } else { "eager" }, ready.as_secs_f64() * 1e3);
    }
    std::mem::forget(m);
    std::mem::forget(pager);
    Ok(summary.exit_code)
}
