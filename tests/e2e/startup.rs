//! Unmodified programs built elsewhere start in the microVM: Debian's
//! busybox, `--strace` naming the same calls as strace(1) natively, clear
//! refusals for what cannot run, and the run summary naming the calls the
//! kernel does not implement.

use crate::common::*;
use crate::cprog::{corpus, Variant};
use std::path::Path;
use std::process::Command;

/// Debian's busybox-static (installed by ci/setup.sh).
const BUSYBOX: &str = "/bin/busybox";

fn require_busybox() {
    assert!(Path::new(BUSYBOX).exists(), "{BUSYBOX} is missing: install Debian's busybox-static (bash ci/setup.sh does)");
}

#[test]
fn debians_busybox_static_runs_echo() {
    require_busybox();
    let o = vmm(&["run", "-q", "--elf", BUSYBOX, "--", "echo", "hi"]);
    assert_eq!((o.code, o.stdout.as_str()), (0, "hi\n"), "stderr: {}", o.stderr);
    // A few applets that need nothing but the calls of this phase.
    let o = vmm(&["run", "-q", "--elf", BUSYBOX, "--", "sh", "-c", "x=$((6*7)); printf '%s %s\\n' $x \"$HOME\"; exit 3"]);
    assert_eq!((o.code, o.stdout.as_str()), (3, "42 /\n"), "stderr: {}", o.stderr);
}

/// Runs `cmd` with its stdout a pipe whose reader takes three lines and
/// leaves; returns the exit status and the lines.
fn three_lines_then_close(mut cmd: Command) -> (Option<i32>, Option<i32>, String) {
    use std::io::BufRead;
    use std::os::unix::process::ExitStatusExt;
    let mut child = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null()).spawn().expect("spawning");
    let mut lines = String::new();
    {
        let mut r = std::io::BufReader::new(child.stdout.take().unwrap());
        for _ in 0..3 {
            r.read_line(&mut lines).unwrap();
        }
    }
    let st = child.wait().unwrap();
    (st.code(), st.signal(), lines)
}

#[test]
fn a_write_to_a_pipe_whose_reader_left_is_sigpipe_as_natively() {
    require_busybox();
    let mut native = Command::new(BUSYBOX);
    native.arg("yes");
    let host = three_lines_then_close(native);
    assert_eq!(host, (None, Some(13), "y\ny\ny\n".into()), "natively, yes dies of SIGPIPE");
    let mut vm = Command::new(env!("CARGO_BIN_EXE_vmm"));
    vm.args(["run", "-q", "--elf", BUSYBOX, "--", "yes"]);
    let (code, _, lines) = three_lines_then_close(vm);
    assert_eq!((code, lines.as_str()), (Some(128 + 13), "y\ny\ny\n"), "in the VM, the guest dies of SIGPIPE (status 128 + 13)");
    // With SIGPIPE ignored the write fails with EPIPE instead, as on Linux:
    // busybox's sh runs yes with SIGPIPE ignored after `trap '' PIPE`.
    let mut native = Command::new(BUSYBOX);
    native.args(["sh", "-c", "trap '' PIPE; yes; echo status $? >&2"]);
    let host = three_lines_then_close(native);
    let mut vm = Command::new(env!("CARGO_BIN_EXE_vmm"));
    vm.args(["run", "-q", "--elf", BUSYBOX, "--", "sh", "-c", "trap '' PIPE; yes; echo status $? >&2"]);
    let guest = three_lines_then_close(vm);
    assert_eq!(guest, host, "with SIGPIPE ignored");
}

/// Runs `cmd` with `input` written to its stdin piece by piece, `delay`
/// apart (then stdin closes); returns the exit code and stdout.
fn with_input(mut cmd: Command, input: &[&[u8]], delay: std::time::Duration) -> (Option<i32>, String) {
    use std::io::{Read, Write};
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("spawning");
    let mut stdin = child.stdin.take().unwrap();
    let pieces: Vec<Vec<u8>> = input.iter().map(|p| p.to_vec()).collect();
    let writer = std::thread::spawn(move || {
        for p in pieces {
            std::thread::sleep(delay);
            if stdin.write_all(&p).is_err() {
                break;
            }
        }
    });
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let st = child.wait().unwrap();
    writer.join().unwrap();
    (st.code(), out)
}

fn vm_command(exe: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vmm"));
    c.args(["run", "-q", "--elf", exe, "--"]).args(args);
    c
}

#[test]
fn the_guest_reads_the_vmms_stdin_as_natively_waiting_for_input_that_comes_later() {
    require_busybox();
    let quick = std::time::Duration::ZERO;
    // All at once, then end of file.
    let big: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let mut native = Command::new(BUSYBOX);
    native.arg("md5sum");
    let host = with_input(native, &[&big], quick);
    assert_eq!(with_input(vm_command(BUSYBOX, &["md5sum"]), &[&big], quick), host);
    // A shell reading its script from stdin.
    let script: &[&[u8]] = &[b"echo one; x=3\n", b"echo $((x+1))\n", b"exit 5\n"];
    let mut native = Command::new(BUSYBOX);
    native.arg("sh");
    let host = with_input(native, script, quick);
    assert_eq!(host, (Some(5), "one\n4\n".into()));
    assert_eq!(with_input(vm_command(BUSYBOX, &["sh"]), script, quick), host);
    // Input that arrives while the reader waits: it sleeps (no busy loop, no
    // end of file) until each piece comes.
    let late: &[&[u8]] = &[b"first\n", b"second\n"];
    let mut native = Command::new(BUSYBOX);
    native.arg("cat");
    let host = with_input(native, late, std::time::Duration::from_millis(150));
    assert_eq!(host, (Some(0), "first\nsecond\n".into()));
    assert_eq!(with_input(vm_command(BUSYBOX, &["cat"]), late, std::time::Duration::from_millis(150)), host);
}

/// O_NONBLOCK on an empty stdin, then blocking reads interrupted by a
/// signal with and without SA_RESTART.
const STDIN_PROGRAM: &str = r#"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
static void on_usr1(int s) { (void)s; }
static void poke_parent_later(void) {
    if (fork() == 0) { usleep(50000); kill(getppid(), SIGUSR1); _exit(0); }
}
int main(void) {
    char b[64];
    setvbuf(stdout, NULL, _IONBF, 0);
    int fl = fcntl(0, F_GETFL);
    fcntl(0, F_SETFL, fl | O_NONBLOCK);
    long r = read(0, b, sizeof b);
    printf("non-blocking read of an empty stdin: %ld %s\n", r, r < 0 ? strerror(errno) : "");
    fcntl(0, F_SETFL, fl);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    poke_parent_later();
    r = read(0, b, sizeof b);
    printf("read interrupted by a handler without SA_RESTART: %ld %s\n", r, r < 0 ? strerror(errno) : "");
    wait(NULL);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    poke_parent_later();
    r = read(0, b, 3);
    printf("with SA_RESTART the read goes on and gets: %ld [%.*s]\n", r, (int)(r > 0 ? r : 0), b);
    wait(NULL);
    r = read(0, b, sizeof b);
    printf("the rest: %ld [%.*s]\n", r, (int)(r > 0 ? r : 0), b);
    r = read(0, (void *)8, sizeof b);
    printf("a bad buffer: %ld %s\n", r, r < 0 ? strerror(errno) : "");
    r = read(0, b, sizeof b);
    printf("the input a bad buffer did not consume: %ld [%.*s]\n", r, (int)(r > 0 ? r : 0), b);
    r = read(0, b, sizeof b);
    printf("end of file: %ld\n", r);
    return 0;
}
"#;

#[test]
fn stdin_reads_honour_o_nonblock_signals_sa_restart_and_bad_buffers_as_natively() {
    let exe = cc("stdinprog", STDIN_PROGRAM, &["-static", "-O1"]);
    // The input comes 300 ms apart: after the non-blocking read and the
    // interrupted one (50 ms), during the restarted one.
    let input: &[&[u8]] = &[b"abcdef", b"xyz"];
    let gap = std::time::Duration::from_millis(300);
    let host = with_input(Command::new(&exe), input, gap);
    assert!(host.1.contains("Resource temporarily unavailable") && host.1.contains("Interrupted system call"), "{host:?}");
    let vm = with_input(vm_command(exe.to_str().unwrap(), &[]), input, gap);
    assert_eq!(vm, host);
}

/// The syscall names of a trace, without the exec itself and the signal
/// and exit lines.
fn call_names(trace: &str) -> Vec<String> {
    trace
        .lines()
        .map(|l| l.trim_start_matches(['[', ' ']).trim_start_matches("pid").trim_start())
        .map(|l| l.trim_start_matches(|c: char| c.is_ascii_digit() || c == ']' || c == ' '))
        .filter(|l| !l.starts_with("---") && !l.starts_with("+++") && !l.starts_with("<..."))
        .filter_map(|l| l.split('(').next().map(str::to_string))
        .filter(|n| !n.is_empty() && n != "execve")
        .collect()
}

#[test]
fn strace_shows_the_same_calls_for_the_start_up_of_musl_and_glibc_programs() {
    for v in [Variant::GlibcStatic, Variant::MuslStatic, Variant::GlibcStaticPie, Variant::MuslStaticPie] {
        let exe = corpus().binary("stdio", v);
        let native = temp_path("strace-native");
        let o = Command::new("strace")
            .arg("-f")
            .arg("-qq")
            .arg("-o")
            .arg(&native)
            .arg(&exe)
            .env_clear()
            .envs([("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), ("HOME", "/")])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("strace is missing: install Debian's strace (bash ci/setup.sh does)");
        assert!(o.status.success(), "strace of {}: {}", exe.display(), String::from_utf8_lossy(&o.stderr));
        let vm_trace = temp_path("strace-vm");
        let r = vmm(&["run", "-q", &format!("--strace={}", vm_trace.display()), "--elf", exe.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let host = call_names(&std::fs::read_to_string(&native).unwrap());
        let vm = call_names(&std::fs::read_to_string(&vm_trace).unwrap());
        assert!(host.len() > 5, "a real trace: {host:?}");
        assert_eq!(vm, host, "{}: the sequence of calls differs from strace's", v.name());
        let _ = (std::fs::remove_file(native), std::fs::remove_file(vm_trace));
    }
}

/// Calls whose arguments `--strace` decodes, between two marker writes.
const STRACE_PROGRAM: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
int main(void) {
    syscall(SYS_write, -1, "begin", 5);
    int fd = memfd_create("trace", MFD_CLOEXEC);
    write(fd, "hello, world\n\t\x1b!", 16);
    char a[4], b[64];
    struct iovec in[3] = {{a, 4}, {b, 64}, {0, 0}};
    lseek(fd, 0, SEEK_SET);
    readv(fd, in, 3);
    readv(99, in, 2);
    struct iovec out[2] = {{"0123456789012345678901234567890123456789", 40}, {0, 0}};
    writev(fd, out, 2);
    writev(fd, (void *)8, 1);
    pread(fd, b, 5, 2);
    fcntl(fd, F_GETFL);
    fcntl(fd, F_GETFD);
    fcntl(fd, F_SETFD, 0);
    fcntl(fd, F_GETFD);
    fcntl(fd, F_SETFL, O_NONBLOCK | O_APPEND);
    fcntl(fd, F_GETFL);
    fcntl(fd, F_DUPFD_CLOEXEC, 40);
    fcntl(fd, 1234, 5);
    fcntl(99, F_GETFL);
    struct rlimit r;
    getrlimit(RLIMIT_STACK, &r);
    getrlimit(RLIMIT_CORE, &r);
    /* 1: no core file on any host (below a page for a file core_pattern,
       and the value that turns off a pipe core_pattern). */
    r.rlim_cur = 1;
    setrlimit(RLIMIT_CORE, &r);
    getrlimit(RLIMIT_DATA, (void *)8);
    struct stat st;
    fstat(fd, &st);
    fstat(99, &st);
    char rnd[4];
    getrandom(rnd, 0, 0);
    getrandom((void *)8, 4, 0);
    void *p = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(p, 4096, PROT_NONE);
    madvise(p, 8192, MADV_DONTNEED);
    munmap(p, 8192);
    mmap(0, 4096, PROT_READ, MAP_SHARED, fd, 0);
    mmap((void *)0x10000, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0);
    kill(getpid(), 0);
    syscall(SYS_write, -1, "end", 3);
    *(volatile int *)8 = 1;
    return 0;
}
"#;

/// A trace line with what legitimately differs between two runs made the
/// same: addresses (the VM's layout is not the host's), the host pid, the
/// padding before " = " that a different address length shifts.
fn normalize_trace_line(l: &str, host_pid: Option<u32>) -> String {
    let mut out = String::new();
    let mut rest = l;
    while let Some(i) = rest.find("0x") {
        out.push_str(&rest[..i]);
        let digits = rest[i + 2..].bytes().take_while(|b| b.is_ascii_hexdigit()).count();
        out.push_str(if digits >= 5 { "ADDR" } else { &rest[i..i + 2 + digits] });
        rest = &rest[i + 2 + digits..];
    }
    out.push_str(rest);
    if let Some(pid) = host_pid {
        out = out.replace(&format!("({pid}, "), "(PID, ");
        if let Some(head) = out.strip_suffix(&format!(" = {pid}")) {
            out = format!("{head} = PID");
        }
    }
    while out.contains("  = ") {
        out = out.replace("  = ", " = ");
    }
    out
}

/// The lines from the "begin" marker to the end of the trace.
fn from_marker(trace: &str, host_pid: Option<u32>) -> Vec<String> {
    trace.lines().skip_while(|l| !l.starts_with("write(-1, \"begin\"")).map(|l| normalize_trace_line(l, host_pid)).collect()
}

#[test]
fn strace_lines_equal_strace_1s_for_decoded_calls_faults_and_signal_deaths() {
    let exe = cc("stracelines", STRACE_PROGRAM, &["-static", "-O1"]);
    let native = temp_path("stracelines-native");
    let child = Command::new("strace")
        .args(["-qq", "-o"])
        .arg(&native)
        .arg(&exe)
        .env_clear()
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("strace is missing: install Debian's strace (bash ci/setup.sh does)");
    assert_eq!(child.code(), None, "the program dies of SIGSEGV natively too: {child:?}");
    let host = std::fs::read_to_string(&native).unwrap();
    let host_pid = host.lines().find_map(|l| l.strip_prefix("kill(")).and_then(|r| r.split(',').next()).and_then(|p| p.parse().ok());
    let vm_trace = temp_path("stracelines-vm");
    let r = vmm(&["run", "-q", &format!("--strace={}", vm_trace.display()), "--elf", exe.to_str().unwrap()]);
    assert_eq!(r.code, 128 + 11, "{}", r.stderr);
    let vm = std::fs::read_to_string(&vm_trace).unwrap();
    let (host_lines, vm_lines) = (from_marker(&host, host_pid), from_marker(&vm, Some(1)));
    assert!(host_lines.len() > 30, "a real trace:\n{host}");
    for (h, v) in host_lines.iter().zip(&vm_lines) {
        assert_eq!(v, h, "\nhost trace:\n{host}\nvm trace:\n{vm}");
    }
    assert_eq!(vm_lines.len(), host_lines.len(), "\nhost trace:\n{host}\nvm trace:\n{vm}");
    // Results start at strace's column 40 when the call is shorter.
    let padded = vm.lines().find(|l| l.starts_with("fcntl(99, F_GETFL)")).unwrap();
    assert_eq!(padded.find(" = ").map(|i| i + 1), Some(40), "{padded}");
    let _ = (std::fs::remove_file(native), std::fs::remove_file(vm_trace));
}

/// Compiles `src` (C) with gcc and `flags` into a temporary file.
pub fn cc(name: &str, src: &str, flags: &[&str]) -> std::path::PathBuf {
    let dir = temp_path(name);
    std::fs::create_dir_all(&dir).unwrap();
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, src).unwrap();
    let exe = dir.join(name);
    let o = Command::new("gcc").args(flags).arg("-o").arg(&exe).arg(&c).output().expect("gcc is missing (bash ci/setup.sh installs it)");
    assert!(o.status.success(), "gcc: {}", String::from_utf8_lossy(&o.stderr));
    exe
}

#[test]
fn a_dynamically_linked_program_is_refused_naming_its_interpreter() {
    let exe = cc("dyn", "int main(void) { return 0; }\n", &["-O2"]);
    let o = vmm(&["run", "--elf", exe.to_str().unwrap()]);
    assert_eq!(o.code, 2, "bad input: {}", o.stderr);
    assert!(o.stderr.contains("/lib64/ld-linux-x86-64.so.2") && o.stderr.contains("statically"), "{}", o.stderr);
}

#[test]
fn the_run_summary_names_the_calls_the_kernel_does_not_implement() {
    let src = "#include <unistd.h>\n#include <sys/syscall.h>\nint main(void) {\n  syscall(SYS_io_setup, 1, 0); syscall(SYS_io_setup, 1, 0);\n  syscall(SYS_openat2, -100, \"x\", 0, 0);\n  return syscall(SYS_io_setup, 1, 0) == -1 ? 0 : 1;\n}\n";
    let exe = cc("unimpl", src, &["-static", "-O2"]);
    let o = vmm(&["run", "--elf", exe.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let line = o.stderr.lines().last().unwrap_or_default();
    assert!(line.contains("unimplemented: io_setup x3, openat2 x1"), "{line}");
    let o = vmm(&["run", "-q", "--json", "--elf", exe.to_str().unwrap()]);
    assert_eq!(o.summary()["unimplemented"], "io_setup x3, openat2 x1");
}

#[test]
fn the_environment_is_the_default_one_plus_env_and_argv0_is_the_path_as_given() {
    require_busybox();
    // The shell adds SHLVL and PWD (the flat namespace's only directory, "/").
    let o = vmm(&["run", "-q", "--env", "A=1", "--env", "HOME=/root", "--elf", BUSYBOX, "--", "sh", "-c", "env; echo $0"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    assert_eq!(o.stdout, format!("SHLVL=1\nHOME=/root\nA=1\n{path}\nPWD=/\nsh\n"), "{}", o.stderr);
    let o = vmm(&["run", "-q", "--env", "novalue", "--program", "hello"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
}

/// A glibc program (TLS through the FS base, stdio, malloc) checkpoints the
/// whole VM; forked children and a restored snapshot go on from there with
/// their TLS intact.
#[test]
fn a_glibc_program_checkpoints_and_its_children_and_snapshot_keep_tls() {
    let src = r#"#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static __thread long tls = 1234;
int main(void) {
  char *heap = malloc(100000);
  heap[99999] = 7;
  tls += 1;
  long idx = syscall(0x564d0001, 0);
  printf("index %ld tls %ld heap %d\n", idx, tls, heap[99999]);
  return 0;
}
"#;
    let exe = cc("ckpt", src, &["-static", "-O2"]);
    let e = exe.to_str().unwrap();
    let o = vmm(&["fork", "-q", "--jobs", "1", "--elf", e, "--children", "2"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("index 0 tls 1235 heap 7") && o.stdout.contains("index 1 tls 1235 heap 7"), "{}", o.stdout);
    let dir = temp_path("ckpt-snap");
    let o = vmm(&["snapshot", dir.to_str().unwrap(), "-q", "--elf", e]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = vmm(&["restore", dir.to_str().unwrap()]);
    assert!(o.stdout.contains("index 0 tls 1235 heap 7"), "{}\n{}", o.stdout, o.stderr);
    let _ = std::fs::remove_dir_all(dir);
}

/// Shell pipelines of busybox applets that run as forked shells without
/// execve (sort, head, fold, cut, tac, md5sum, dd, hexdump), command
/// substitution and `read` from a pipe: stdout and exit status as a native
/// run of the same busybox gives them (busybox_root.rs runs applets that
/// exec, in a root of their own).
#[test]
fn busybox_shell_pipelines_give_the_native_output_and_status() {
    require_busybox();
    let scripts = [
        "echo a b c d | fold -w 2 | sort -r | md5sum",
        "seq 1 20000 | sort -rn | head -3",
        "yes | head -5; echo status $?",
        "seq 1 5000 | dd bs=7 2>/dev/null | tac | head -2",
        "printf 'x\\ny\\nx\\n' | sort | hexdump -C",
        "echo $(seq 1 3) $(echo nested | cut -c1-3)",
        "echo hi there | { read a b; echo got $b $a; }",
        "seq 1 100000 | md5sum; echo ${PIPESTATUS:-none}",
    ];
    for s in scripts {
        let native = Command::new(BUSYBOX).args(["sh", "-c", s]).stdin(std::process::Stdio::null()).output().expect("native busybox");
        let vm = vm_command(BUSYBOX, &["sh", "-c", s]).stdin(std::process::Stdio::null()).output().expect("vmm");
        assert_eq!(
            (String::from_utf8_lossy(&vm.stdout), vm.status.code()),
            (String::from_utf8_lossy(&native.stdout), native.status.code()),
            "{s}: {}",
            String::from_utf8_lossy(&vm.stderr)
        );
    }
}

/// The execve lines of a trace, without pids and addresses, after the
/// first (strace's own exec of the program).
fn exec_lines(trace: &str, skip_first: bool) -> Vec<String> {
    let lines: Vec<String> = trace
        .lines()
        .map(|l| {
            let l = l.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
            let l = l.strip_prefix("[pid").map_or(l, |r| r.split_once(']').map_or(r, |(_, x)| x.trim_start()));
            // The environment's address differs; its count must not.
            match (l.find(", 0x"), l.find(" /* ")) {
                (Some(a), Some(b)) if a < b => format!("{}, ENV{}", &l[..a], &l[b..]),
                _ => l.to_string(),
            }
        })
        .filter(|l| l.starts_with("execve("))
        .collect();
    lines.into_iter().skip(skip_first as usize).collect()
}

/// Busybox applets that exec (Debian's busybox-static runs an applet by
/// re-executing /proc/self/exe) print and exit as natively, and `--strace`
/// shows the same execve calls as strace(1) does natively.
#[test]
fn busybox_applets_that_exec_behave_as_natively() {
    require_busybox();
    let scripts = [
        "exec busybox echo hi",
        "busybox env X=1 busybox sh -c 'echo $X'",
        "busybox true; echo $?; busybox false; echo $?",
        "busybox sh -c 'exit 4'; echo $?",
        "X=outer; export X; busybox sh -c 'echo $X; exec busybox printf \"%s-%s\\n\" a b'",
        "exec busybox sh -c 'busybox basename /a/b/c; exec busybox no-such-applet'",
    ];
    let env = [("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), ("HOME", "/")];
    for s in scripts {
        let native_trace = temp_path("exec-native");
        let o = Command::new("strace")
            .args(["-f", "-qq", "-e", "trace=execve", "-o"])
            .arg(&native_trace)
            .args([BUSYBOX, "sh", "-c", s])
            .env_clear()
            .envs(env)
            .current_dir("/")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("strace is missing: install Debian's strace (bash ci/setup.sh does)");
        let vm_trace = temp_path("exec-vm");
        let r = vmm(&["run", "-q", &format!("--strace={}", vm_trace.display()), "--elf", BUSYBOX, "--", "sh", "-c", s]);
        let native_out = (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned());
        assert_eq!((r.code, r.stdout.clone()), native_out, "{s}: status and output; stderr {}", r.stderr);
        let host = exec_lines(&std::fs::read_to_string(&native_trace).unwrap(), true);
        let vm = exec_lines(&std::fs::read_to_string(&vm_trace).unwrap(), false);
        assert!(!host.is_empty(), "{s}: the script execs natively");
        assert_eq!(vm, host, "{s}: the execve calls");
        let _ = (std::fs::remove_file(native_trace), std::fs::remove_file(vm_trace));
    }
}
