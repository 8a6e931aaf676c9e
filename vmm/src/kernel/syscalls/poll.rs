//! poll and ppoll (fs/select.c do_sys_poll, do_pollfd, poll_select_finish).
//!
//! The pollfd array is read from the caller's memory, each descriptor's
//! mask computed from its file (`Kernel::poll_mask`), and only the revents
//! fields written back. With nothing ready and a timeout that is not zero
//! the process blocks (`Wait::Poll`); the scheduler rescans it whenever it
//! looks at waiters (a process exit, a deadline, console input) and
//! completes it from there. A signal ends the wait: poll with a timeout
//! continues with the time left if no handler runs (restart_block), ppoll
//! and an untimed poll restart; with a handler they fail with EINTR.

use super::{ok, Args, Ctx, SysResult};
use crate::kernel::fs::console::Stdio;
use crate::kernel::fs::{FileKind, OpenFile};
use crate::kernel::process::{Pid, Wait};
use crate::kernel::Kernel;
use guest_mm::{Errno, VirtAddr};
use linux_abi::poll::*;
use linux_abi::resource::RLIMIT_NOFILE;
use linux_abi::signal::UNBLOCKABLE;

const NSEC_PER_MSEC: u64 = 1_000_000;

/// One scan of a process's pollfd array.
struct Scan {
    /// The revents of each entry, in order.
    revents: Vec<u16>,
    /// Entries with revents set (poll's result).
    ready: u64,
    /// Whether the console's stdin is polled for input.
    stdin: bool,
}

impl Kernel {
    /// The description behind descriptor `fd` of process `pid`.
    pub(crate) fn fd_file(&self, pid: Pid, fd: i32) -> Option<&OpenFile> {
        self.procs.get(&pid).and_then(|p| p.fds.get(fd as u32).ok()).and_then(|e| self.files.get(e.file))
    }

    /// The poll mask of a file (f_op->poll), or POLLNVAL for no file.
    pub(crate) fn poll_mask(&self, file: Option<&OpenFile>) -> u16 {
        let Some(f) = file else { return POLLNVAL };
        match &f.kind {
            FileKind::Pipe(pipe) => self.pipe_poll_mask(*pipe, f),
            FileKind::Console(s) => self.console.poll_mask(*s),
            // pidfd_poll: readable once the process has exited, hung up once reaped.
            FileKind::Pidfd { pid } => match self.procs.get(pid) {
                None => POLLIN | POLLRDNORM | POLLHUP,
                Some(p) if p.is_zombie() => POLLIN | POLLRDNORM,
                Some(_) => 0,
            },
            // No poll operation: always ready both ways.
            FileKind::Object(_)
            | FileKind::Generated(_)
            | FileKind::Maps { .. }
            | FileKind::Smaps { .. }
            | FileKind::Pagemap
            | FileKind::ClearRefs
            | FileKind::Dir
            | FileKind::ProcDir(_)
            | FileKind::Dev(_) => DEFAULT_POLLMASK,
            // An O_PATH descriptor has no file operations (POLLNVAL, as for no file).
            FileKind::Path => POLLNVAL,
        }
    }

    /// do_poll's pass over the array: EFAULT if it cannot be read.
    fn poll_scan(&mut self, pid: Pid, fds: u64, nfds: u64) -> Result<Scan, Errno> {
        let space = self.procs.get(&pid).ok_or(Errno::ESRCH)?.space;
        let mut raw = vec![0u8; nfds as usize * POLLFD_SIZE];
        let (r, u) = self.engine.read_user(space, VirtAddr::new(fds), &mut raw).split();
        self.pending.absorb(u);
        r?;
        let mut scan = Scan { revents: Vec::with_capacity(nfds as usize), ready: 0, stdin: false };
        for e in raw.chunks_exact(POLLFD_SIZE) {
            let fd = i32::from_le_bytes(e[..4].try_into().expect("4 bytes"));
            let events = u16::from_le_bytes(e[4..6].try_into().expect("2 bytes"));
            let file = if fd < 0 { None } else { self.fd_file(pid, fd) };
            let kind = file.map(|f| &f.kind);
            let rev = match self.poll_mask(file) {
                _ if fd < 0 => 0,
                POLLNVAL => POLLNVAL,
                mask => mask & (events | POLLERR | POLLHUP),
            };
            if events & (POLLIN | POLLPRI | POLLRDNORM) != 0 && kind == Some(&FileKind::Console(Stdio::In)) {
                scan.stdin = true;
            }
            if rev != 0 {
                scan.ready += 1;
            }
            scan.revents.push(rev);
        }
        Ok(scan)
    }

    /// Writes each entry's revents (only that field, as do_sys_poll does).
    fn poll_write_back(&mut self, pid: Pid, fds: u64, revents: &[u16]) -> Result<(), Errno> {
        let space = self.procs.get(&pid).ok_or(Errno::ESRCH)?.space;
        for (i, r) in revents.iter().enumerate() {
            let va = VirtAddr::new(fds + (i * POLLFD_SIZE + 6) as u64);
            let (res, u) = self.engine.write_user(space, va, &r.to_le_bytes()).split();
            self.pending.absorb(u);
            res?;
        }
        Ok(())
    }

    /// For the scheduler: the result of blocked process `pid`'s poll if it
    /// is over (something ready, or the deadline passed), else None.
    pub(crate) fn poll_ready(&mut self, pid: Pid, fds: u64, nfds: u64, until: Option<u64>) -> Option<u64> {
        let timed_out = until.is_some_and(|u| u <= self.clock.monotonic_ns());
        let scan = match self.poll_scan(pid, fds, nfds) {
            Ok(s) => s,
            Err(e) => return Some(e.as_return() as u64),
        };
        if scan.ready == 0 && !timed_out {
            return None;
        }
        Some(match self.poll_write_back(pid, fds, &scan.revents) {
            Ok(()) => scan.ready,
            Err(e) => e.as_return() as u64,
        })
    }
}

/// do_sys_poll up to the wait: the result now, or the wait.
fn do_poll(cx: &mut Ctx<'_>, fds: u64, nfds: u64, until: Option<u64>) -> SysResult {
    if nfds > cx.proc().rlimit(RLIMIT_NOFILE) {
        return Err(Errno::EINVAL);
    }
    let pid = cx.pid();
    let scan = cx.k.poll_scan(pid, fds, nfds)?;
    let now = cx.k.clock.monotonic_ns();
    if scan.ready > 0 || until.is_some_and(|u| u <= now) {
        cx.k.poll_write_back(pid, fds, &scan.revents)?;
        return ok(scan.ready);
    }
    if cx.proc().sig.deliverable() != 0 {
        return Err(Errno::ERESTARTNOHAND);
    }
    Ok(super::Control::Block(Wait::Poll { fds, nfds, until, stdin: scan.stdin }))
}

/// poll(fds, nfds, timeout_ms): a negative timeout waits for ever.
pub(super) fn poll(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (fds, nfds, ms) = (a.ptr(0), a.uint(1) as u64, a.int(2));
    let until = (ms >= 0).then(|| cx.k.clock.monotonic_ns().saturating_add(ms as u64 * NSEC_PER_MSEC));
    do_poll(cx, fds, nfds, until)
}

/// ppoll(fds, nfds, tsp, sigmask, sigsetsize): the timeout as a timespec
/// (NULL waits for ever), the signal mask swapped in for the wait.
pub(super) fn ppoll(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (fds, nfds, tsp, mask, size) = (a.ptr(0), a.uint(1) as u64, a.ptr(2), a.ptr(3), a.ulong(4));
    let until = if tsp == 0 {
        None
    } else {
        let t = super::time::read_timespec(cx, tsp)?;
        Some(cx.k.clock.monotonic_ns().saturating_add(t))
    };
    if mask != 0 {
        if size != 8 {
            return Err(Errno::EINVAL);
        }
        let m = cx.read_u64(mask)?;
        let p = cx.proc_mut();
        p.sig.saved_mask = Some(p.sig.blocked);
        p.sig.blocked = m & !UNBLOCKABLE;
    }
    do_poll(cx, fds, nfds, until)
}

#[cfg(test)]
mod tests {
    use crate::kernel::tests::{call, kernel_with};
    use linux_abi::sysno as nr;

    #[test]
    fn poll_of_a_bad_array_is_efault_and_of_too_many_fds_einval() {
        let (mut k, mut regs) = kernel_with("hello");
        assert_eq!(call(&mut k, &mut regs, nr::POLL, [8, 1, 0, 0, 0, 0]), -14);
        assert_eq!(call(&mut k, &mut regs, nr::POLL, [8, 1 << 20, 0, 0, 0, 0]), -22);
        assert_eq!(call(&mut k, &mut regs, nr::POLL, [0, 0, 0, 0, 0, 0]), 0, "nothing to poll, no wait");
    }
}
