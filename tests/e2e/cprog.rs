//! Unmodified C programs, built with the host's toolchains and run twice: once
//! natively on the host kernel (the oracle) and once in the microVM
//! (`vmm run -q --elf ABS_PATH -- ARGS`). Their stdout, their stderr and their
//! exit status must be identical.
//!
//! # Builds
//!
//! Every `tests/abi/*.c` (and `tests/abi/control/*.c`) is built once per test
//! process, in parallel, into `$CARGO_TARGET_TMPDIR/abi-<pid>/`, in four
//! [`Variant`]s: glibc static (`gcc -static`), glibc static-pie
//! (`gcc -static-pie -fPIE`), musl static (`musl-gcc -static`) and musl
//! static-pie (Debian's musl-gcc cannot link static-pie itself; the recipe is
//! in [`Variant::command`]). Each binary's ELF header is checked: no
//! PT_INTERP, ET_EXEC for static, ET_DYN with PT_DYNAMIC for static-pie. A
//! missing compiler fails every test, naming the Debian package and
//! `bash ci/setup.sh`.
//!
//! # Normalisation of the native run
//!
//! Defined once, in `vmm::compare::native` (which `vmm compare` uses too;
//! docs/abi.md points there): argv\[0\] the absolute path of the binary,
//! exactly the string passed to `--elf`; the guest's environment (`PATH`
//! and `HOME=/`, then the test's `K=V` pairs, which the microVM gets as
//! `--env`); stdin /dev/null, stdout and stderr pipes, nothing else open; a
//! fresh private working directory; the test process's ids with no
//! capabilities (dropping the bounding set needs root: run the tests as
//! root); Linux's INIT_RLIMITS for a 256 MiB machine (the microVM's
//! defaults); every signal SIG_DFL and unblocked; umask 022.
//!
//! Not normalised, so the programs never print them: pids, process groups
//! and sessions (only relations), addresses, times, CPU numbers and counts
//! (the microVM has 1 vCPU), random bytes, the host name and kernel version.
//!
//! # Comparison
//!
//! stdout must be byte-identical; stderr too, once the VMM's own lines (those
//! starting with `vmm: `) are removed from the microVM's; the exit status is a
//! shell's view (128 + signal when killed). A difference is reported with the
//! program, the variant, the first differing line and a unified-diff-like hunk.
#![allow(dead_code)]

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::Duration;

/// The microVM's default environment, in order.
pub const DEFAULT_ENV: [(&str, &str); 2] = [("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), ("HOME", "/")];

/// How long one run may take before it is killed (a hang is a failure, not a
/// stuck test suite); longer than `vmm run`'s own 60 s default timeout, so a
/// hanging guest is reported by the VMM (status 124).
const RUN_TIMEOUT: Duration = Duration::from_secs(90);

/// The four ways each program is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Variant {
    GlibcStatic,
    GlibcStaticPie,
    MuslStatic,
    MuslStaticPie,
}

impl Variant {
    pub const ALL: [Variant; 4] = [Variant::GlibcStatic, Variant::GlibcStaticPie, Variant::MuslStatic, Variant::MuslStaticPie];

    pub fn name(self) -> &'static str {
        match self {
            Variant::GlibcStatic => "glibc-static",
            Variant::GlibcStaticPie => "glibc-static-pie",
            Variant::MuslStatic => "musl-static",
            Variant::MuslStaticPie => "musl-static-pie",
        }
    }

    fn pie(self) -> bool {
        matches!(self, Variant::GlibcStaticPie | Variant::MuslStaticPie)
    }

    /// The compiler command that builds `src` into `out`.
    fn command(self, src: &Path, out: &Path, tools: &Tools) -> Command {
        let mut c;
        match self {
            Variant::GlibcStatic => {
                c = Command::new("gcc");
                c.args(["-static", "-O2", "-Wall"]).arg(src);
            }
            Variant::GlibcStaticPie => {
                c = Command::new("gcc");
                c.args(["-static-pie", "-fPIE", "-O2", "-Wall"]).arg(src);
            }
            Variant::MuslStatic => {
                c = Command::new("musl-gcc");
                c.args(["-static", "-O2", "-Wall"]).arg(src);
            }
            Variant::MuslStaticPie => {
                // Debian's musl-gcc spec has no static-pie: name the start
                // files (rcrt1.o self-relocates) and link -static -pie.
                let m = Path::new(MUSL_LIB);
                c = Command::new("musl-gcc");
                c.args(["-fPIE", "-O2", "-Wall", "-nostartfiles"]);
                c.arg(m.join("rcrt1.o")).arg(m.join("crti.o")).arg(&tools.crtbegin_s);
                c.arg(src);
                c.arg(&tools.crtend_s).arg(m.join("crtn.o"));
                c.args(["-Wl,-static", "-Wl,-pie", "-Wl,--no-dynamic-linker", "-Wl,-z,text"]);
            }
        }
        c.arg("-lm").arg("-o").arg(out);
        c
    }
}

const MUSL_LIB: &str = "/usr/lib/x86_64-linux-musl";

struct Tools {
    crtbegin_s: PathBuf,
    crtend_s: PathBuf,
}

/// The built programs: (program, variant) -> binary.
pub struct Corpus {
    dir: PathBuf,
    programs: Vec<String>,
}

impl Corpus {
    /// The absolute path of a built binary.
    pub fn binary(&self, program: &str, v: Variant) -> PathBuf {
        assert!(self.programs.iter().any(|p| p == program), "no C program {program:?} in tests/abi");
        self.dir.join(format!("{program}.{}", v.name()))
    }

    /// The programs in tests/abi (not the controls), sorted.
    pub fn programs(&self) -> Vec<&str> {
        self.programs.iter().map(|s| s.as_str()).filter(|p| !p.starts_with("control-")).collect()
    }
}

/// Builds the corpus once per test process; panics (in every test that
/// needs it) with the reason when that failed.
pub fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Result<Corpus, String>> = OnceLock::new();
    match CORPUS.get_or_init(build_all) {
        Ok(c) => c,
        Err(e) => panic!("building the C ABI programs failed:\n{e}"),
    }
}

fn abi_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/abi")
}

fn sources() -> Result<Vec<(String, PathBuf)>, String> {
    let mut out = Vec::new();
    for (dir, prefix) in [(abi_dir(), ""), (abi_dir().join("control"), "control-")] {
        let rd = std::fs::read_dir(&dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
        for e in rd {
            let p = e.map_err(|e| e.to_string())?.path();
            if p.extension().is_some_and(|x| x == "c") {
                let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
                out.push((format!("{prefix}{stem}"), p));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn require_tool(cmd: &str, package: &str) -> Result<(), String> {
    match Command::new(cmd).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status() {
        Ok(s) if s.success() => Ok(()),
        r => Err(format!(
            "`{cmd}` is not usable ({r:?}): install the Debian package {package} (`bash ci/setup.sh` installs everything the tests need)"
        )),
    }
}

fn print_file_name(name: &str) -> Result<PathBuf, String> {
    let o = Command::new("gcc").arg(format!("-print-file-name={name}")).output().map_err(|e| format!("gcc: {e}"))?;
    let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    if !p.is_absolute() || !p.exists() {
        return Err(format!("gcc does not know {name} (got {p:?}): install the Debian package gcc"));
    }
    Ok(p)
}

fn build_all() -> Result<Corpus, String> {
    require_tool("gcc", "gcc")?;
    require_tool("musl-gcc", "musl-tools")?;
    for f in ["rcrt1.o", "crt1.o", "libc.a"] {
        if !Path::new(MUSL_LIB).join(f).exists() {
            return Err(format!("{MUSL_LIB}/{f} is missing: install the Debian package musl-tools (`bash ci/setup.sh`)"));
        }
    }
    let tools = Tools { crtbegin_s: print_file_name("crtbeginS.o")?, crtend_s: print_file_name("crtendS.o")? };
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    remove_stale_dirs(&root);
    let dir = root.join(format!("abi-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;

    let srcs = sources()?;
    let jobs: Vec<(String, PathBuf, Variant)> =
        srcs.iter().flat_map(|(name, src)| Variant::ALL.map(|v| (name.clone(), src.clone(), v))).collect();
    let queue = Mutex::new(jobs);
    let errors = Mutex::new(Vec::<String>::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(4);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let Some((name, src, v)) = queue.lock().unwrap().pop() else { break };
                let out = dir.join(format!("{name}.{}", v.name()));
                if let Err(e) = build_one(&src, &out, v, &tools) {
                    errors.lock().unwrap().push(format!("{} ({}): {e}", src.display(), v.name()));
                }
            });
        }
    });
    let errors = errors.into_inner().unwrap();
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    Ok(Corpus { dir, programs: srcs.into_iter().map(|(n, _)| n).collect() })
}

fn build_one(src: &Path, out: &Path, v: Variant, tools: &Tools) -> Result<(), String> {
    let o = v.command(src, out, tools).output().map_err(|e| format!("running the compiler: {e}"))?;
    if !o.status.success() {
        return Err(format!("compiler failed ({}):\n{}", o.status, String::from_utf8_lossy(&o.stderr)));
    }
    let bytes = std::fs::read(out).map_err(|e| format!("reading {}: {e}", out.display()))?;
    let h = ElfFacts::parse(&bytes).ok_or("not an ELF64 x86-64 file")?;
    // What `file` calls "statically linked" (ET_EXEC, no PT_INTERP) and
    // "static-pie linked" (ET_DYN with DF_1_PIE, PT_DYNAMIC, no PT_INTERP).
    let ok = !h.interp && if v.pie() { h.e_type == 3 && h.dynamic && h.df_1_pie } else { h.e_type == 2 };
    if !ok {
        return Err(format!(
            "not a {} executable: e_type {}, PT_INTERP {}, PT_DYNAMIC {}, DF_1_PIE {}",
            v.name(),
            h.e_type,
            h.interp,
            h.dynamic,
            h.df_1_pie
        ));
    }
    Ok(())
}

/// What the build check needs from an ELF header and its program headers.
struct ElfFacts {
    e_type: u16,
    interp: bool,
    dynamic: bool,
    /// DT_FLAGS_1 has DF_1_PIE.
    df_1_pie: bool,
}

impl ElfFacts {
    fn parse(b: &[u8]) -> Option<ElfFacts> {
        let u16_at = |o: usize| Some(u16::from_le_bytes(b.get(o..o + 2)?.try_into().ok()?));
        let u32_at = |o: usize| Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?));
        let u64_at = |o: usize| Some(u64::from_le_bytes(b.get(o..o + 8)?.try_into().ok()?));
        if b.get(0..4)? != b"\x7fELF" || b[4] != 2 || u16_at(18)? != 62 {
            return None;
        }
        let (phoff, phentsize, phnum) = (u64_at(32)? as usize, u16_at(54)? as usize, u16_at(56)? as usize);
        let mut f = ElfFacts { e_type: u16_at(16)?, interp: false, dynamic: false, df_1_pie: false };
        for i in 0..phnum {
            let ph = phoff + i * phentsize;
            match u32_at(ph)? {
                2 => {
                    f.dynamic = true;
                    let (off, size) = (u64_at(ph + 8)? as usize, u64_at(ph + 32)? as usize);
                    for d in (off..off + size).step_by(16) {
                        const DT_FLAGS_1: u64 = 0x6fff_fffb;
                        const DF_1_PIE: u64 = 0x0800_0000;
                        if u64_at(d)? == DT_FLAGS_1 && u64_at(d + 8)? & DF_1_PIE != 0 {
                            f.df_1_pie = true;
                        }
                    }
                }
                3 => f.interp = true,
                _ => {}
            }
        }
        Some(f)
    }
}

/// Removes `abi-<pid>` directories left by test processes that have ended.
fn remove_stale_dirs(root: &Path) {
    let Ok(rd) = std::fs::read_dir(root) else { return };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("abi-").and_then(|p| p.parse::<u32>().ok()) {
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

/// What one run produced.
#[derive(Clone, Debug)]
pub struct Run {
    /// The exit status as a shell sees it: 128 + signal when killed.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A fresh, empty working directory, removed when dropped.
struct TempCwd(PathBuf);
impl TempCwd {
    fn new(tag: &str) -> TempCwd {
        let d = crate::common::temp_path(&format!("abi-cwd-{tag}"));
        std::fs::create_dir_all(&d).expect("creating a working directory");
        TempCwd(d)
    }
}
impl Drop for TempCwd {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `exe` natively under the normalisation described at the top
/// (`vmm::compare::native`, which `vmm compare` uses too).
pub fn run_native(exe: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let env: Vec<String> = DEFAULT_ENV.iter().chain(env.iter()).map(|(k, v)| format!("{k}={v}")).collect();
    let threads = vmm::kernel::max_threads_for_ram(256 << 20) as u64;
    let spec = vmm::compare::native::NativeSpec {
        exe,
        args: &args,
        env: &env,
        rlimits: linux_abi::resource::init_rlimits(threads),
        thp_off: false,
        timeout: RUN_TIMEOUT,
    };
    let r = vmm::compare::native::run(&spec).unwrap_or_else(|e| panic!("running {} natively: {e} (run the tests as root)", exe.display()));
    Run { code: r.code, stdout: String::from_utf8_lossy(&r.stdout).into(), stderr: String::from_utf8_lossy(&r.stderr).into() }
}

/// Waits for the child, killing it after [`RUN_TIMEOUT`].
fn finish(child: std::process::Child, what: &str) -> Run {
    let pid = child.id() as libc::pid_t;
    let (tx, rx) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if rx.recv_timeout(RUN_TIMEOUT) == Err(mpsc::RecvTimeoutError::Timeout) {
            // The child is not reaped before `wait_with_output` returns, so
            // this pid is still ours.
            // SAFETY: sending a signal has no memory-safety preconditions.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    let o = child.wait_with_output().unwrap_or_else(|e| panic!("waiting for {what}: {e}"));
    let _ = tx.send(());
    let _ = watchdog.join();
    let code = o.status.code().or_else(|| o.status.signal().map(|s| 128 + s)).unwrap_or(-1);
    Run { code, stdout: String::from_utf8_lossy(&o.stdout).into(), stderr: String::from_utf8_lossy(&o.stderr).into() }
}

/// Runs `exe` in the microVM: `vmm run -q --elf ABS_PATH [--env K=V]... -- ARGS`.
pub fn run_vm(exe: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    run_vm_with(exe, &[], args, env)
}

/// `run_vm` with extra `vmm run` options before the program.
pub fn run_vm_with(exe: &Path, vm_options: &[&str], args: &[&str], env: &[(&str, &str)]) -> Run {
    crate::common::require_kvm();
    let cwd = TempCwd::new("vm");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vmm"));
    cmd.args(["run", "-q"]).args(vm_options).arg("--elf").arg(exe);
    for (k, v) in env {
        cmd.arg("--env").arg(format!("{k}={v}"));
    }
    cmd.arg("--").args(args);
    cmd.current_dir(&cwd.0).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().expect("running the vmm binary");
    finish(child, "vmm run")
}

/// The microVM's stderr without the VMM's own lines.
pub fn guest_stderr(vm_stderr: &str) -> String {
    vm_stderr.split_inclusive('\n').filter(|l| !l.starts_with("vmm: ")).collect()
}

/// Compares two runs of `program` built as `variant`: `None` when they agree,
/// otherwise a report naming the program, the variant and the first
/// difference. `a` is the expectation (the host), `b` the run under test.
/// `b`'s stderr is filtered with [`guest_stderr`] when `b_is_vm`.
pub fn compare(program: &str, variant: Variant, labels: (&str, &str), a: &Run, b: &Run, b_is_vm: bool) -> Option<String> {
    let b_err = if b_is_vm { guest_stderr(&b.stderr) } else { b.stderr.clone() };
    let mut parts = Vec::new();
    if a.stdout != b.stdout {
        parts.push(diff("stdout", labels, &a.stdout, &b.stdout));
    }
    if a.stderr != b_err {
        parts.push(diff("stderr", labels, &a.stderr, &b_err));
    }
    if a.code != b.code {
        parts.push(format!("  exit status: {} {}, {} {}", labels.0, a.code, labels.1, b.code));
    }
    if parts.is_empty() {
        return None;
    }
    let mut r = format!("{program} [{}]: {} and {} differ\n{}", variant.name(), labels.0, labels.1, parts.join("\n"));
    if b_is_vm {
        let own: Vec<&str> = b.stderr.lines().filter(|l| l.starts_with("vmm: ")).collect();
        if !own.is_empty() {
            r.push_str(&format!("\n  the VMM said:\n    {}", own.join("\n    ")));
        }
    }
    Some(r)
}

/// A unified-diff-like hunk: the first differing line, three lines of
/// context, and up to 12 lines of each side from there to the common tail.
fn diff(stream: &str, labels: (&str, &str), a: &str, b: &str) -> String {
    let la: Vec<&str> = a.split_inclusive('\n').collect();
    let lb: Vec<&str> = b.split_inclusive('\n').collect();
    let first = la.iter().zip(&lb).take_while(|(x, y)| x == y).count();
    let tail = la[first..].iter().rev().zip(lb[first..].iter().rev()).take_while(|(x, y)| x == y).count();
    let (ea, eb) = (la.len() - tail, lb.len() - tail);
    let show = |l: &str| l.strip_suffix('\n').map_or_else(|| format!("{l}\\ (no newline at end)"), str::to_string);
    let mut out = format!(
        "  {stream}: first difference at line {} ({} has {} lines, {} has {})\n  --- {}\n  +++ {}\n  @@ -{},{} +{},{} @@\n",
        first + 1,
        labels.0,
        la.len(),
        labels.1,
        lb.len(),
        labels.0,
        labels.1,
        first + 1,
        ea - first,
        first + 1,
        eb - first
    );
    for l in &la[first.saturating_sub(3)..first] {
        out.push_str(&format!("   {}\n", show(l)));
    }
    const MAX: usize = 12;
    for (sign, lines, end) in [('-', &la, ea), ('+', &lb, eb)] {
        for l in &lines[first..end.min(first + MAX)] {
            out.push_str(&format!("  {sign}{}\n", show(l)));
        }
        if end > first + MAX {
            out.push_str(&format!("  {sign}... {} more lines\n", end - first - MAX));
        }
    }
    out.trim_end().to_string()
}

/// Runs every variant of `program` natively and in the microVM and panics
/// with a report of every variant whose runs differ.
pub fn assert_matches_linux(program: &str, args: &[&str], env: &[(&str, &str)]) {
    assert_matches_linux_with(program, &[], args, env)
}

/// `assert_matches_linux` with extra `vmm run` options for the microVM
/// (such as `--anon-fault-around 1`, Linux without mTHP, for a program that
/// prints which pages are present).
pub fn assert_matches_linux_with(program: &str, vm_options: &[&str], args: &[&str], env: &[(&str, &str)]) {
    let corpus = corpus();
    let mut failures = Vec::new();
    for v in Variant::ALL {
        let exe = corpus.binary(program, v);
        let host = run_native(&exe, args, env);
        let vm = run_vm_with(&exe, vm_options, args, env);
        if let Some(r) = compare(program, v, ("host", "vm"), &host, &vm, true) {
            failures.push(r);
        }
    }
    assert!(
        failures.is_empty(),
        "{program}: {} of 4 variants differ between the microVM and the host kernel\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
