//! `vmm run`: boot a microVM, run one program, report how it ended.

use crate::cli::{Inject, PteApply, RunArgs};
use crate::device::PmemSpec;
use crate::error::VmmError;
use crate::machine::{BootSpec, Ending, Machine};
use crate::report::{RunSummary, EXIT_GUEST_CRASH, EXIT_TIMEOUT};
use crate::{images, layout, vm};
use guest_mm::FaultAround;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Turns command-line arguments into a boot specification (all input checks).
pub fn spec_from_args(a: &RunArgs) -> Result<(BootSpec, Duration), VmmError> {
    let memory = crate::size::parse_size(&a.memory).map_err(|e| VmmError::BadSize(a.memory.clone(), e))?;
    if memory < layout::MIN_RAM {
        return Err(VmmError::BadSize(a.memory.clone(), format!("the guest needs at least {} MiB", layout::MIN_RAM >> 20)));
    }
    if memory % 4096 != 0 {
        return Err(VmmError::BadSize(a.memory.clone(), "must be a multiple of 4 KiB".into()));
    }
    let host = vm::host_memory().unwrap_or(u64::MAX);
    if memory > layout::MAX_RAM || memory > host {
        return Err(VmmError::BadSize(
            a.memory.clone(),
            format!("more than this host can give (host RAM {} MiB, limit {} GiB)", host >> 20, layout::MAX_RAM >> 30),
        ));
    }
    if !(a.timeout > 0.0 && a.timeout.is_finite()) {
        return Err(VmmError::Usage(format!("invalid --timeout {}: must be a positive number of seconds", a.timeout)));
    }
    // argv[0] and AT_EXECFN are the path as given (as a shell passes it);
    // /proc/self/exe and the maps show the absolute path.
    if let Some(r) = &a.root {
        if !r.is_dir() {
            return Err(VmmError::Usage(format!("--root {}: not a directory", r.display())));
        }
    }
    let (name, path, exe, image): (String, String, String, Arc<[u8]>) = match (&a.elf, &a.root) {
        // With --root, the program is a path in the guest's root.
        (Some(p), Some(root)) => {
            let inside = p.strip_prefix("/").unwrap_or(p);
            let host = root.join(inside);
            let bytes =
                std::fs::read(&host).map_err(|e| VmmError::ReadFile(format!("{} (in --root {})", p.display(), root.display()), e))?;
            crate::elf::Elf::parse(&bytes, true).map_err(|e| VmmError::BadElf(p.display().to_string(), e))?;
            let name = p.file_name().map_or("program".into(), |n| n.to_string_lossy().into_owned());
            (name, p.display().to_string(), format!("/{}", inside.display()), bytes.into())
        }
        (Some(p), None) => {
            let bytes = std::fs::read(p).map_err(|e| VmmError::ReadFile(p.display().to_string(), e))?;
            crate::elf::Elf::parse(&bytes, true).map_err(|e| VmmError::BadElf(p.display().to_string(), e))?;
            let name = p.file_name().map_or("program".into(), |n| n.to_string_lossy().into_owned());
            let exe = std::fs::canonicalize(p).map_or_else(|_| p.display().to_string(), |c| c.display().to_string());
            (name, p.display().to_string(), exe, bytes.into())
        }
        (None, _) => {
            let bytes = images::program(&a.program)
                .ok_or_else(|| VmmError::UnknownProgram(a.program.clone(), images::program_names().join(", ")))?;
            (a.program.clone(), a.program.clone(), format!("/bin/{}", a.program), Arc::from(bytes))
        }
    };
    for e in &a.env {
        if !e.contains('=') || e.starts_with('=') {
            return Err(VmmError::Usage(format!("--env {e}: expected KEY=VALUE")));
        }
    }
    let strace =
        a.strace.as_deref().map(|s| if s == "-" { crate::machine::StraceTo::Stderr } else { crate::machine::StraceTo::File(s.into()) });
    let mut files = Vec::new();
    for f in &a.files {
        let (name, rest) = f.split_once('=').ok_or_else(|| VmmError::Usage(format!("--file {f}: expected NAME=PATH or NAME=PATH:ro")))?;
        let (path, writable) = match rest.strip_suffix(":ro") {
            Some(p) => (p, false),
            None => (rest, true),
        };
        if name.is_empty() || name.contains('/') {
            return Err(VmmError::Usage(format!("--file {f}: NAME must be a plain file name")));
        }
        let data = std::fs::read(path).map_err(|e| VmmError::ReadFile(path.to_string(), e))?;
        files.push((name.to_string(), Arc::from(data), writable));
    }
    let spec = BootSpec {
        memory,
        program: name,
        image,
        args: a.args.clone(),
        fault_around: FaultAround { file_pages: a.file_fault_around.max(1), anon_pages: a.anon_fault_around.max(1) },
        capture: false,
        quiet: a.quiet,
        break_idt: a.inject == Some(Inject::TripleFault),
        host_only_ptes: a.pte_apply == PteApply::HostOnly,
        trap_mode: crate::machine::TrapMode::Signal,
        show_maps: a.show_maps,
        root: a.root.clone(),
        files,
        path,
        exe,
        env: crate::machine::environment(&a.env),
        seed: a.seed,
        strace,
        vmm_fault: match a.inject {
            Some(Inject::VmmPanic) => Some(crate::machine::VmmFault::Panic),
            Some(Inject::VmmInternalError) => Some(crate::machine::VmmFault::InternalError),
            Some(Inject::VmmLivelock) => Some(crate::machine::VmmFault::Livelock),
            _ => None,
        },
    };
    Ok((spec, Duration::from_secs_f64(a.timeout)))
}

/// Runs a booted machine and summarises the run.
pub fn run_machine(m: &mut Machine, program: &str, timeout: Duration, started: Instant) -> Result<RunSummary, VmmError> {
    let ending = m.run(timeout)?;
    m.kernel.finish_trace();
    let st = &m.kernel.stats;
    let (outcome, exit_code, killed, detail) = match ending {
        Ending::Exited(c) => ("exited", c, None, None),
        Ending::Killed(r) => ("killed", 128 + signal_number(&r.signal), Some(r), None),
        Ending::Timeout { rip } => {
            let s = m.stall();
            let why = format!(
                "still running after {:.1} s (rip {rip:#x}; since the guest last made progress: {:.0} ms, {} exits, {:.1} ms in the VMM); raise --timeout to allow more",
                timeout.as_secs_f64(),
                s.ms_since_progress,
                s.exits_since_progress,
                s.vmm_ms_since_progress
            );
            ("timeout", EXIT_TIMEOUT, None, Some(why))
        }
        Ending::GuestCrash(why) => ("guest-crash", EXIT_GUEST_CRASH, None, Some(why)),
        // `vmm run` machines continue past checkpoints; a stop is a VMM bug.
        Ending::Checkpoint => ("checkpoint", 1, None, Some("paused at a checkpoint".into())),
        // Linux would hang here forever; the run ends as a timeout would.
        Ending::Deadlock(why) => ("deadlock", EXIT_TIMEOUT, None, Some(format!("every process is blocked and nothing can wake it: {why}"))),
    };
    Ok(RunSummary {
        program: program.to_string(),
        outcome: outcome.into(),
        exit_code,
        killed,
        detail,
        syscalls: st.syscalls,
        faults: st.faults,
        fault_pages: st.fault_pages,
        signals: st.signals,
        processes: st.processes,
        exits: m.stats.exits,
        batches: m.stats.batches,
        batch_stores: m.stats.batch_stores,
        hazardous_table_reuses: m.kernel.engine.frames().hazardous_reuses(),
        shadow_flushes: m.stats.shadow_flushes,
        vmm_ms: m.stats.host_time.as_secs_f64() * 1e3,
        stall: (outcome == "timeout").then(|| m.stall()),
        wall_ms: started.elapsed().as_secs_f64() * 1e3,
        unimplemented: st.unimplemented_text(),
        hotplug: (m.hot.stats.plugs > 0).then(|| m.hot.stats.clone()),
    })
}

pub fn signal_number(name: &str) -> i32 {
    guest_mm::Signal::from_name(name).map_or(0, |s| s.number() as i32)
}

/// `vmm run`: returns the process exit status.
pub fn command(a: &RunArgs) -> Result<i32, VmmError> {
    let started = Instant::now();
    let (spec, timeout) = spec_from_args(a)?;
    let devices = a.devices.iter().map(|d| PmemSpec::parse(d).map_err(VmmError::Usage)).collect::<Result<Vec<_>, _>>()?;
    let kvm = vm::open_kvm()?;
    let mut m = Machine::boot(kvm, &spec)?;
    m.hot.tripwire = a.unplug_tripwire;
    m.hot.skip_revoke = a.inject == Some(Inject::SkipRevoke);
    m.hot.touch_after_unplug = a.inject == Some(Inject::TouchAfterUnplug);
    m.kernel.engine.set_skip_table_hazards(a.inject == Some(Inject::SkipTableHazards));
    for d in &devices {
        m.plug(d).map_err(|e| match e {
            crate::hotplug::HotplugError::Vmm(v) => v,
            e => VmmError::Usage(e.to_string()),
        })?;
    }
    let _ctl = match &a.ctl {
        Some(path) => {
            let mb = std::sync::Arc::new(crate::ctl::Mailbox::default());
            m.hot.mailbox = Some(mb.clone());
            Some(crate::ctl::CtlServer::start(path, mb)?)
        }
        None => None,
    };
    let summary = run_machine(&mut m, &spec.program, timeout, started)?;
    if a.json {
        eprintln!("{}", serde_json::to_string(&summary).unwrap_or_default());
    } else if !a.quiet || summary.outcome != "exited" {
        eprintln!("{}", summary.line());
    }
    // The process ends here: let the kernel tear the VM down with it rather
    // than unmapping and closing everything one by one first.
    std::mem::forget(m);
    Ok(summary.exit_code)
}

/// `vmm syscalls`: the kernel's syscall table.
pub fn syscalls(a: &crate::cli::SyscallsArgs) {
    use crate::kernel::syscalls::table;
    if a.markdown {
        print!("{}", table::markdown());
    } else if a.fuzz_list {
        println!("{}", table::fuzz_list());
    } else if a.json {
        let rows: Vec<serde_json::Value> = table::TABLE
            .iter()
            .map(|e| serde_json::json!({"nr": e.nr, "name": e.name(), "support": e.support, "effect": e.effect(), "note": e.note}))
            .collect();
        println!("{}", serde_json::Value::Array(rows));
    } else {
        for e in table::TABLE {
            println!("{:>10} {:<20} {:<10} {}", e.nr, e.name(), e.support.label(), e.note);
        }
    }
}
