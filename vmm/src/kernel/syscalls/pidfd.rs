//! Process file descriptors: pidfd_open, and process_madvise through them
//! (kernel/pid.c, mm/madvise.c); userfaultfd's permission check.
//!
//! A pidfd names a process for as long as the descriptor lives; once the
//! process is reaped, calls through it fail with ESRCH. The sentinels
//! PIDFD_SELF_THREAD and PIDFD_SELF_THREAD_GROUP name the caller without a
//! descriptor.

use super::{fd, ok, Args, Ctx, SysResult};
use crate::kernel::fs::FileKind;
use crate::kernel::process::Pid;
use guest_mm::Errno;
use linux_abi::fcntl::{O_EXCL, O_NONBLOCK, O_RDWR};
use linux_abi::mman;

/// PIDFD_NONBLOCK is O_NONBLOCK; PIDFD_THREAD is O_EXCL.
const PIDFD_NONBLOCK: u64 = O_NONBLOCK;
const PIDFD_THREAD: u64 = O_EXCL;
/// The descriptor-less names of the caller (include/uapi/linux/pidfd.h).
use linux_abi::sched::{PIDFD_SELF_THREAD, PIDFD_SELF_THREAD_GROUP};

/// pidfd_open(pid, flags): a close-on-exec descriptor for process `pid`.
pub(super) fn pidfd_open(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (pid, flags) = (a.pid(0), a.uint(1) as u64);
    if flags & !(PIDFD_NONBLOCK | PIDFD_THREAD) != 0 || pid <= 0 {
        return Err(Errno::EINVAL);
    }
    // find_get_pid: a reaped pid is gone; a zombie still has its task.
    if !cx.k.procs.contains_key(&(pid as Pid)) {
        return Err(Errno::ESRCH);
    }
    let n = fd::install(cx, FileKind::Pidfd { pid: pid as u32 }, O_RDWR | (flags & PIDFD_NONBLOCK), true)?;
    ok(n as u64)
}

/// pidfd_get_task: the live process a pidfd (or a sentinel) names.
fn pidfd_task(cx: &Ctx<'_>, pidfd: i32) -> Result<Pid, Errno> {
    let pid = match pidfd {
        PIDFD_SELF_THREAD | PIDFD_SELF_THREAD_GROUP => cx.pid(),
        _ => match fd::file(cx, pidfd as u32)?.1.kind {
            FileKind::Pidfd { pid } => pid,
            _ => return Err(Errno::EBADF),
        },
    };
    match cx.k.procs.get(&pid) {
        Some(p) if !p.is_zombie() => Ok(pid),
        _ => Err(Errno::ESRCH),
    }
}

/// The advice process_madvise accepts for another process.
fn remote_valid(advice: u64) -> bool {
    matches!(advice, mman::MADV_COLD | mman::MADV_PAGEOUT | mman::MADV_WILLNEED | mman::MADV_COLLAPSE)
}

/// process_madvise(pidfd, iovec, vlen, advice, flags): madvise of each range
/// in turn, stopping at the first that fails; the bytes of the ranges done,
/// or that first error when none was.
pub(super) fn process_madvise(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (pidfd, vec, vlen, advice, flags) = (a.int(0), a.ptr(1), a.ulong(2), a.int(3) as u32 as u64, a.uint(4));
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let ranges = super::rw::import_iovec(cx, vec, vlen)?;
    let target = pidfd_task(cx, pidfd)?;
    if target != cx.pid() {
        if !remote_valid(advice) {
            return Err(Errno::EINVAL);
        }
        // CAP_SYS_NICE, which the guest never has.
        return Err(Errno::EPERM);
    }
    let mut done = 0u64;
    for (base, len) in ranges {
        if let Err(e) = cx.mm(|e, s| e.madvise(s, base, len as u64, advice).split()) {
            if done == 0 {
                return Err(e);
            }
            break;
        }
        done += len as u64;
    }
    ok(done)
}

/// UFFD_USER_MODE_ONLY: faults from user mode only (always allowed).
const UFFD_USER_MODE_ONLY: u64 = 1;

/// userfaultfd(flags): the checks of fs/userfaultfd.c in their order. An
/// unprivileged process (the guest has no CAP_SYS_PTRACE, and its
/// vm.unprivileged_userfaultfd is Linux's default 0) may only ask for
/// user-mode faults; those descriptors are not implemented yet (ENOSYS).
pub(super) fn userfaultfd(_cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let flags = a.int(0) as u32 as u64;
    if flags & UFFD_USER_MODE_ONLY == 0 {
        return Err(Errno::EPERM);
    }
    if flags & !(linux_abi::fcntl::O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY) != 0 {
        return Err(Errno::EINVAL);
    }
    Err(Errno::ENOSYS)
}
