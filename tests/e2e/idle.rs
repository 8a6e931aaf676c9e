//! A sleeping guest costs no host CPU: while every guest process waits
//! (nanosleep here), the vCPU thread sleeps on the host instead of spinning
//! (Step::Idle in the kernel, a timed wait in the vCPU loop).

use std::process::{Command, Stdio};
use std::time::Instant;

const BUSYBOX: &str = "/bin/busybox";

#[test]
fn a_guest_sleeping_two_seconds_keeps_the_vmm_under_five_percent_of_a_cpu() {
    crate::common::require_kvm();
    assert!(std::path::Path::new(BUSYBOX).exists(), "{BUSYBOX} is missing: install Debian's busybox-static (bash ci/setup.sh does)");
    let started = Instant::now();
    // Reaped below with wait4 (for its rusage), which clippy cannot see.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(env!("CARGO_BIN_EXE_vmm"))
        .args(["run", "-q", "--elf", BUSYBOX, "--", "sleep", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("running vmm");
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid out-parameter; the pid is our unwaited child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; wait4 writes only `status` and `ru`.
    let r = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut ru) };
    assert_eq!(r, child.id() as libc::pid_t, "wait4");
    let wall = started.elapsed().as_secs_f64();
    let cpu = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let used = cpu(ru.ru_utime) + cpu(ru.ru_stime);
    assert_eq!(libc::WEXITSTATUS(status), 0, "the guest's sleep 2 failed");
    assert!(wall >= 2.0, "the guest slept only {wall:.2} s");
    assert!(used < 0.05 * wall, "the VMM used {used:.3} s of CPU in {wall:.2} s of a sleeping guest ({:.1}%)", 100.0 * used / wall);
}
