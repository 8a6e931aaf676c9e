//! Running a program natively under the microVM's documented conditions, so
//! that its output can be compared with the same program's in the microVM.
//!
//! Owns the normalisation of the native side (the one place it is defined;
//! the C ABI corpus and `vmm compare` both use it):
//!
//! - **argv**: argv\[0\] is exactly the path given (AT_EXECFN too), then the
//!   arguments; **environment**: exactly the guest's (`BootSpec::environment`:
//!   the default PATH and HOME, then `--env` pairs, in order), set with
//!   `execve` from `pre_exec` because `Command` would sort it;
//! - **descriptors**: stdin /dev/null, stdout and stderr pipes, nothing else
//!   open (everything above 2 becomes close-on-exec);
//! - **current directory**: a fresh, empty, private temporary directory,
//!   removed afterwards;
//! - **credentials**: the VMM's own uid, gid and groups (as the guest reports
//!   them) with no capabilities at all: an empty bounding set (when this
//!   process may drop it, i.e. as root), no ambient capabilities, empty
//!   permitted, effective and inheritable sets, so privileged calls fail with
//!   EPERM as in the guest;
//! - **resource limits**: Linux's INIT_RLIMITS for the guest's RAM size (what
//!   the guest starts with; raising a hard limit needs root);
//! - **signals**: every disposition SIG_DFL, nothing blocked; umask 022;
//! - **transparent huge pages** off (PR_SET_THP_DISABLE), when asked: the
//!   engine has none, and a THP fault changes what pagemap and RSS show.
//!
//! Not normalised here: pids, addresses, times, CPU counts, random bytes, the
//! host name and kernel version (`compare::normalize` rewrites some of them
//! in the output, explicitly).

use crate::error::VmmError;
use linux_abi::resource::Rlimit;
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// What to run and under which limits.
pub struct NativeSpec<'a> {
    /// The executable; also argv\[0\] and AT_EXECFN, as given.
    pub exe: &'a Path,
    pub args: &'a [String],
    /// The whole environment, in order.
    pub env: &'a [String],
    pub rlimits: [Rlimit; linux_abi::resource::RLIM_NLIMITS],
    pub thp_off: bool,
    /// Killed after this long (status 124, as `vmm run --timeout`).
    pub timeout: Duration,
}

/// How a native run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NativeRun {
    /// The exit status as a shell sees it: 128 + signal when killed, 124 on
    /// the timeout.
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The process's pid (for `normalize`).
    pub pid: u32,
}

/// argv and envp prepared before fork: `pre_exec` must not allocate.
struct ExecImage {
    _strings: Vec<CString>,
    path: *const libc::c_char,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
    rlimits: Vec<(libc::__rlimit_resource_t, libc::rlimit)>,
    thp_off: bool,
}

// SAFETY: the pointers point into `_strings`, owned by the same value and
// never changed; the child only reads them.
unsafe impl Send for ExecImage {}
// SAFETY: as above; nothing mutates an ExecImage after it is built.
unsafe impl Sync for ExecImage {}

impl ExecImage {
    fn new(spec: &NativeSpec<'_>) -> Result<ExecImage, VmmError> {
        let c = |s: &[u8]| CString::new(s).map_err(|_| VmmError::Usage("an argument or variable holds a NUL byte".into()));
        let path = c(spec.exe.as_os_str().as_bytes())?;
        let mut strings = vec![path.clone(), path];
        for a in spec.args {
            strings.push(c(a.as_bytes())?);
        }
        for e in spec.env {
            strings.push(c(e.as_bytes())?);
        }
        let ptrs = |r: std::ops::Range<usize>| -> Vec<*const libc::c_char> {
            strings[r].iter().map(|s| s.as_ptr()).chain(std::iter::once(std::ptr::null())).collect()
        };
        let n_arg = spec.args.len() + 1;
        let argv = ptrs(1..1 + n_arg);
        let envp = ptrs(1 + n_arg..strings.len());
        let rlimits = spec
            .rlimits
            .iter()
            .enumerate()
            .map(|(i, r)| (i as libc::__rlimit_resource_t, libc::rlimit { rlim_cur: r.cur, rlim_max: r.max }))
            .collect();
        Ok(ExecImage { path: strings[0].as_ptr(), argv, envp, rlimits, thp_off: spec.thp_off, _strings: strings })
    }
}

/// The child side of the normalisation, between fork and exec: only
/// async-signal-safe calls, and no allocation even on errors (`spawn`
/// reports the errno).
fn normalise_and_exec(img: &ExecImage) -> io::Result<()> {
    // SAFETY: plain system calls on this (forked, single-threaded) process
    // with pointers to live, initialised values prepared before the fork.
    unsafe {
        for (res, r) in &img.rlimits {
            if libc::setrlimit(*res, r) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        // Everything but stdin, stdout and stderr closes at exec.
        if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) != 0 {
            return Err(io::Error::last_os_error());
        }
        libc::umask(0o022);
        // The raw call: libc's sigaction refuses its own internal signals
        // (32, 33), which this process may have ignored and exec keeps
        // ignored. (SIGKILL and SIGSTOP refuse; they are always SIG_DFL.)
        let dfl = [0u64; 4]; // handler SIG_DFL, flags, restorer, mask
        for sig in 1..=64 {
            libc::syscall(libc::SYS_rt_sigaction, sig, dfl.as_ptr(), std::ptr::null_mut::<u64>(), 8usize);
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        if img.thp_off && libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
        // Capabilities: the bounding set first (needs CAP_SETPCAP; without
        // it there is nothing to drop that matters here), then the rest.
        for cap in 0..64 {
            if libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 {
                match io::Error::last_os_error().raw_os_error() {
                    Some(libc::EINVAL) | Some(libc::EPERM) => break,
                    _ => return Err(io::Error::last_os_error()),
                }
            }
        }
        if libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
        #[repr(C)]
        struct CapHeader {
            version: u32,
            pid: i32,
        }
        let hdr = CapHeader { version: 0x2008_0522, pid: 0 };
        let data = [0u32; 6];
        if libc::syscall(libc::SYS_capset, &hdr, data.as_ptr()) != 0 {
            return Err(io::Error::last_os_error());
        }
        libc::execve(img.path, img.argv.as_ptr(), img.envp.as_ptr());
        Err(io::Error::last_os_error())
    }
}

/// A private, empty working directory, removed when dropped.
struct TempCwd(PathBuf);

impl TempCwd {
    fn new() -> Result<TempCwd, VmmError> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!("vmm-native-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir_all(&dir).map_err(|e| VmmError::Host("creating a private working directory", e))?;
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .map_err(|e| VmmError::Host("creating a private working directory", e))?;
        Ok(TempCwd(dir))
    }
}

impl Drop for TempCwd {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the program natively under the normalisation described above.
pub fn run(spec: &NativeSpec<'_>) -> Result<NativeRun, VmmError> {
    let cwd = TempCwd::new()?;
    let img = ExecImage::new(spec)?;
    let mut cmd = Command::new(spec.exe);
    cmd.current_dir(&cwd.0).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // SAFETY: the closure only makes async-signal-safe system calls on
    // memory prepared before the fork.
    unsafe { cmd.pre_exec(move || normalise_and_exec(&img)) };
    let child =
        cmd.spawn().map_err(|e| VmmError::Host("running the program natively (the normalisation sets hard rlimits: some need root)", e))?;
    let pid = child.id();
    let (tx, rx) = mpsc::channel::<()>();
    let timeout = spec.timeout;
    let watchdog = std::thread::spawn(move || {
        if rx.recv_timeout(timeout) == Err(mpsc::RecvTimeoutError::Timeout) {
            // The child is not reaped before `wait_with_output` returns, so
            // this pid is still ours.
            // SAFETY: sending a signal has no memory-safety preconditions.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            true
        } else {
            false
        }
    });
    let o = child.wait_with_output().map_err(|e| VmmError::Host("waiting for the native run", e))?;
    let _ = tx.send(());
    let timed_out = watchdog.join().unwrap_or(false);
    let code =
        if timed_out { crate::report::EXIT_TIMEOUT } else { o.status.code().or_else(|| o.status.signal().map(|s| 128 + s)).unwrap_or(-1) };
    Ok(NativeRun { code, stdout: o.stdout, stderr: o.stderr, pid })
}
