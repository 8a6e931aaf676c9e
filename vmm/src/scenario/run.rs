//! Running a compiled scenario: in the microVM or natively on the host.
//!
//! Both run the same `scenario` guest program (a static Linux executable):
//! in the microVM against the engine, natively against the host kernel. The
//! microVM side boots in-process (no extra process per scenario) with
//! anonymous fault-around off, because Linux without mTHP maps one
//! anonymous page per fault and pagemap would otherwise differ. Natively the
//! runner gets a scratch directory for the files it creates and a timeout.

use super::compile::Compiled;
use super::trace::Trace;
use crate::error::{InternalError, VmmError};
use crate::machine::{BootSpec, Ending, Machine};
use guest_mm::FaultAround;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The engine rule broken in every microVM run of this process (a testing aid).
static INJECT: OnceLock<Option<crate::cli::ScenarioInject>> = OnceLock::new();

/// Breaks `rule` in the microVM runs of this process (`--inject`, hidden:
/// the corpus tests' controls). Set once, before any run.
pub fn inject(rule: Option<crate::cli::ScenarioInject>) {
    let _ = INJECT.set(rule);
}

/// How long one scenario may run.
pub const TIMEOUT: Duration = Duration::from_secs(20);

fn runner_image() -> Result<&'static [u8], VmmError> {
    crate::images::program("scenario").ok_or(InternalError::NoScenarioRunner.into())
}

/// Runs `prog` in a fresh microVM; returns its trace.
pub fn in_vm(prog: &Compiled) -> Result<Trace, VmmError> {
    let spec = BootSpec {
        fault_around: FaultAround { file_pages: 16, anon_pages: 1 },
        files: vec![("scenario.bin".into(), Arc::from(prog.bytes.clone()), false)],
        ..BootSpec::captured("scenario", vec!["/scenario.bin".into()])?
    };
    let kvm = crate::vm::open_kvm()?;
    let mut m = Machine::boot(kvm, &spec)?;
    if let Some(Some(crate::cli::ScenarioInject::SharedWritesIgnoreOpenMode)) = INJECT.get() {
        m.kernel.engine.set_shared_writes_ignore_open_mode(true);
    }
    let ending = m.run(TIMEOUT)?;
    let status = ending.shell_code();
    let (out, err) = m.captured();
    let mut t = Trace::parse(&String::from_utf8_lossy(out), status);
    t.other.extend(String::from_utf8_lossy(err).lines().map(str::to_string));
    if let Ending::GuestCrash(why) = ending {
        t.other.push(format!("guest crash: {why}"));
    }
    Ok(t)
}

/// The runner extracted once per process.
fn native_runner() -> Result<&'static PathBuf, VmmError> {
    static PATH: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("vmm-scenario-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let exe = dir.join("scenario");
        std::fs::write(&exe, runner_image().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
        Ok(exe)
    })
    .as_ref()
    .map_err(|e| InternalError::ScenarioRunnerExtract(e.clone()).into())
}

/// Runs `prog` as a native process on the host kernel; returns its trace.
pub fn native(prog: &Compiled) -> Result<Trace, VmmError> {
    static N: AtomicU64 = AtomicU64::new(0);
    let exe = native_runner()?;
    let dir = exe.parent().expect("in a directory").join(format!("run-{}", N.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&dir).map_err(|e| VmmError::Host("creating a scratch directory", e))?;
    let bin = dir.join("scenario.bin");
    std::fs::write(&bin, &prog.bytes).map_err(|e| VmmError::Host("writing the compiled scenario", e))?;
    let mut tries = 0;
    let mut child = loop {
        match Command::new(exe).arg(&bin).current_dir(&dir).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn() {
            Ok(c) => break c,
            // A concurrent fork elsewhere in this process may hold the file open for writing.
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 100 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(VmmError::Host("running the scenario natively", e)),
        }
    };
    // Drain both pipes while the runner runs, so a long trace cannot block it.
    let drain = |p: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut p) = p {
                let _ = p.read_to_string(&mut s);
            }
            s
        })
    };
    let out_t = drain(child.stdout.take().map(|o| Box::new(o) as Box<dyn std::io::Read + Send>));
    let err_t = drain(child.stderr.take().map(|e| Box::new(e) as Box<dyn std::io::Read + Send>));
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| VmmError::Host("waiting for the native runner", e))? {
            break st.code().or_else(|| st.signal().map(|s| 128 + s)).unwrap_or(-1);
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break crate::report::EXIT_TIMEOUT;
        }
        std::thread::sleep(Duration::from_micros(200));
    };
    let out = out_t.join().unwrap_or_default();
    let err = err_t.join().unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    let mut t = Trace::parse(&out, status);
    t.other.extend(err.lines().map(str::to_string));
    Ok(t)
}
