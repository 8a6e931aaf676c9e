//! `vmm snapshot` and `vmm restore`.
//!
//! `vmm snapshot DIR [run options] [-- ARGS]` boots the program, runs it to
//! its checkpoint and writes the VM there. `vmm restore DIR [--lazy]` brings
//! it back and runs it to completion: the checkpoint call returns 0, as in an
//! uninterrupted `vmm run`, so the output is the same as that run's.

use super::{restore, write};
use crate::checkpoint::devices::{DeviceMode, DeviceModes};
use crate::cli::{RestoreArgs, SnapshotArgs};
use crate::device::{BackingSource, PmemSpec};
use crate::error::VmmError;
use crate::kernel::console::Console;
use crate::machine::Machine;
use crate::run;
use std::time::{Duration, Instant};

pub fn snapshot(a: &SnapshotArgs) -> Result<i32, VmmError> {
    // A memfd has no path a snapshot could keep: say so before running.
    let modes = DeviceModes::parse(&a.device_modes)?;
    for d in a.run.devices.iter().filter_map(|d| PmemSpec::parse(d).ok()) {
        if d.source == BackingSource::Memfd && modes.mode_for(&d.name, &d.source) == DeviceMode::Shared {
            return Err(VmmError::Usage(format!(
                "device {} is a memfd: a snapshot cannot keep it shared (it has no path); use --device-mode {}=copy",
                d.name, d.name
            )));
        }
    }
    let t = Instant::now();
    let (base, _) = crate::vmfork::command::base_from(&a.run, &a.device_modes)?;
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
    let r = if a.lazy { restore::lazy(opened)? } else { restore::eager(opened)? };
    let (program, pager) = (r.program, r.pager);
    let mut m = Machine::resume(r.vm, r.state, 0, Console::Inherit, r.windows)?;
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
