//! select and pselect6 (fs/select.c kern_select, do_pselect,
//! core_sys_select, do_select, poll_select_finish).
//!
//! nfds is cut to the descriptor table's size (fdt->max_fds: 64 until a
//! descriptor at or above 64 exists, then alloc_fdtable's rounding), and
//! only that many bits of each set are read and written back
//! (FDS_BYTES). Every set bit must name an open descriptor (EBADF). A
//! descriptor's readiness is its poll mask (`Kernel::poll_mask`) seen
//! through POLLIN_SET, POLLOUT_SET and POLLEX_SET. With nothing ready the
//! process blocks (`Wait::Select`) and the scheduler rescans it like a poll.
//! The time left is written back to the timeout (a timeval for select, a
//! timespec for pselect6) whenever the call ends, unless the timeout was
//! zero; a signal ends the wait with -ERESTARTNOHAND (EINTR when a handler
//! runs, or when the time left cannot be written), the sets untouched.

use super::{Args, Control, Ctx, SysResult};
use crate::kernel::fs::console::Stdio;
use crate::kernel::fs::FileKind;
use crate::kernel::process::{Pid, SelectWait, Wait};
use crate::kernel::Kernel;
use guest_mm::{Errno, VirtAddr};
use linux_abi::pipe::NR_OPEN_DEFAULT;
use linux_abi::poll::*;
use linux_abi::signal::UNBLOCKABLE;

const POLLIN_SET: u16 = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR;
const POLLOUT_SET: u16 = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR;
const POLLEX_SET: u16 = POLLPRI;
const NSEC_PER_SEC: u64 = 1_000_000_000;

/// FDS_BYTES: the bytes of an fd_set of `n` bits, in whole longs.
fn fds_bytes(n: u32) -> usize {
    (n as usize).div_ceil(64) * 8
}

/// One scan: the result sets and how many bits they hold.
struct Scan {
    res: [Vec<u64>; 3],
    count: u64,
    stdin: bool,
}

impl Kernel {
    /// fdt->max_fds of `pid`'s table, as the highest open descriptor needs it.
    fn max_fds(&self, pid: Pid) -> u32 {
        let top = self.procs.get(&pid).and_then(|p| p.fds.iter().map(|(n, _)| n).max()).unwrap_or(0) as u64;
        if top < NR_OPEN_DEFAULT {
            return NR_OPEN_DEFAULT as u32;
        }
        // alloc_fdtable: in units of 1024 bytes of pointers, a power of two.
        let per = 1024 / 8;
        ((top / per + 1).next_power_of_two() * per) as u32
    }

    fn read_set(&mut self, pid: Pid, at: u64, n: u32) -> Result<Vec<u64>, Errno> {
        let words = fds_bytes(n) / 8;
        if at == 0 {
            return Ok(vec![0; words]);
        }
        let space = self.procs.get(&pid).ok_or(Errno::ESRCH)?.space;
        let mut raw = vec![0u8; words * 8];
        let (r, u) = self.engine.read_user(space, VirtAddr::new(at), &mut raw).split();
        self.pending.absorb(u);
        r?;
        Ok(raw.chunks_exact(8).map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes"))).collect())
    }

    /// get_fd_set of the three sets, max_select_fd, then do_select's pass.
    fn select_scan(&mut self, pid: Pid, s: &SelectWait) -> Result<Scan, Errno> {
        let sets = [self.read_set(pid, s.inp, s.n)?, self.read_set(pid, s.outp, s.n)?, self.read_set(pid, s.exp, s.n)?];
        let words = fds_bytes(s.n) / 8;
        let mut scan = Scan { res: [vec![0; words], vec![0; words], vec![0; words]], count: 0, stdin: false };
        for fd in 0..s.n {
            let (w, bit) = ((fd / 64) as usize, 1u64 << (fd % 64));
            let want = [sets[0][w] & bit != 0, sets[1][w] & bit != 0, sets[2][w] & bit != 0];
            if !want.iter().any(|b| *b) {
                continue;
            }
            let file = self.fd_file(pid, fd as i32).ok_or(Errno::EBADF)?;
            if want[0] && file.kind == FileKind::Console(Stdio::In) {
                scan.stdin = true;
            }
            let mask = self.poll_mask(Some(file));
            for (i, set) in [POLLIN_SET, POLLOUT_SET, POLLEX_SET].into_iter().enumerate() {
                if want[i] && mask & set != 0 {
                    scan.res[i][w] |= bit;
                    scan.count += 1;
                }
            }
        }
        Ok(scan)
    }

    /// set_fd_set of the three result sets.
    fn select_write_back(&mut self, pid: Pid, s: &SelectWait, res: &[Vec<u64>; 3]) -> Result<(), Errno> {
        let space = self.procs.get(&pid).ok_or(Errno::ESRCH)?.space;
        for (at, set) in [s.inp, s.outp, s.exp].into_iter().zip(res) {
            if at == 0 {
                continue;
            }
            let bytes: Vec<u8> = set.iter().flat_map(|w| w.to_le_bytes()).collect();
            let (r, u) = self.engine.write_user(space, VirtAddr::new(at), &bytes).split();
            self.pending.absorb(u);
            r?;
        }
        Ok(())
    }

    /// poll_select_finish: the time left into the caller's timeout; a
    /// failed write turns -ERESTARTNOHAND into EINTR and leaves other
    /// results as they are.
    fn select_finish(&mut self, pid: Pid, s: &SelectWait, ret: Result<u64, Errno>) -> Result<u64, Errno> {
        let (Some(until), at) = (s.until, s.timeout) else { return ret };
        if at == 0 {
            return ret;
        }
        let left = until.saturating_sub(self.clock.monotonic_ns());
        let (sec, frac) = (left / NSEC_PER_SEC, left % NSEC_PER_SEC);
        let frac = if s.timespec { frac } else { frac / 1000 };
        let bytes = [sec.to_le_bytes(), frac.to_le_bytes()].concat();
        let Some(space) = self.procs.get(&pid).map(|p| p.space) else { return ret };
        let (r, u) = self.engine.write_user(space, VirtAddr::new(at), &bytes).split();
        self.pending.absorb(u);
        match (r, ret) {
            (Err(_), Err(Errno::ERESTARTNOHAND)) => Err(Errno::EINTR),
            (_, ret) => ret,
        }
    }

    /// For the scheduler: the result of blocked `pid`'s select if it is
    /// over (something ready, the deadline passed, an error), else None.
    pub(crate) fn select_ready(&mut self, pid: Pid, s: &SelectWait) -> Option<u64> {
        let timed_out = s.until.is_some_and(|u| u <= self.clock.monotonic_ns());
        let r = match self.select_scan(pid, s) {
            Ok(scan) if scan.count == 0 && !timed_out => return None,
            Ok(scan) => self.select_write_back(pid, s, &scan.res).map(|()| scan.count),
            Err(e) => Err(e),
        };
        let r = self.select_finish(pid, s, r);
        Some(r.unwrap_or_else(|e| e.as_return() as u64))
    }

    /// A signal ends blocked `pid`'s select: the time left is written back
    /// and the call ends with the restart code (EINTR if that write fails:
    /// then the process is made runnable here and None returned).
    pub(crate) fn select_interrupted(&mut self, pid: Pid, s: &SelectWait) -> Option<Errno> {
        match self.select_finish(pid, s, Err(Errno::ERESTARTNOHAND)) {
            Err(Errno::ERESTARTNOHAND) => Some(Errno::ERESTARTNOHAND),
            other => {
                let v = other.unwrap_or_else(|e| e.as_return() as u64);
                let p = self.procs.get_mut(&pid)?;
                p.regs.rax = v;
                p.state = crate::kernel::process::RunState::Runnable;
                None
            }
        }
    }
}

/// core_sys_select with the timeout already read: the result now, or the wait.
fn core_sys_select(cx: &mut Ctx<'_>, n: i32, mut s: SelectWait) -> SysResult {
    if n < 0 {
        return Err(Errno::EINVAL);
    }
    let pid = cx.pid();
    s.n = (n as u32).min(cx.k.max_fds(pid));
    let scan = match cx.k.select_scan(pid, &s) {
        Ok(scan) => scan,
        Err(e) => return cx.k.select_finish(pid, &s, Err(e)).map(Control::Return),
    };
    let now = cx.k.clock.monotonic_ns();
    if scan.count > 0 || s.until.is_some_and(|u| u <= now) {
        let r = cx.k.select_write_back(pid, &s, &scan.res).map(|()| scan.count);
        return cx.k.select_finish(pid, &s, r).map(Control::Return);
    }
    if cx.proc().sig.deliverable() != 0 {
        return cx.k.select_finish(pid, &s, Err(Errno::ERESTARTNOHAND)).map(Control::Return);
    }
    s.stdin = scan.stdin;
    Ok(Control::Block(Wait::Select(s)))
}

/// poll_select_set_timeout: an invalid time is EINVAL; zero means no wait
/// and no write-back; otherwise the monotonic deadline.
fn deadline(cx: &Ctx<'_>, sec: i64, nsec: i64) -> Result<Option<u64>, Errno> {
    if sec < 0 || !(0..NSEC_PER_SEC as i64).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    let t = (sec as u64).saturating_mul(NSEC_PER_SEC).saturating_add(nsec as u64);
    Ok(Some(cx.k.clock.monotonic_ns().saturating_add(t)))
}

/// select(nfds, readfds, writefds, exceptfds, timeout): a struct timeval,
/// whose microseconds may exceed a second (they are carried).
pub(super) fn select(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (n, tvp) = (a.int(0), a.ptr(4));
    let mut s = SelectWait { n: 0, inp: a.ptr(1), outp: a.ptr(2), exp: a.ptr(3), until: None, timeout: 0, timespec: false, stdin: false };
    if tvp != 0 {
        let mut b = [0u8; 16];
        cx.read_user(tvp, &mut b)?;
        let sec = i64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
        let usec = i64::from_le_bytes(b[8..].try_into().expect("8 bytes"));
        let (sec, nsec) = (sec.wrapping_add(usec / 1_000_000), (usec % 1_000_000).wrapping_mul(1000));
        s.until = deadline(cx, sec, nsec)?;
        if sec != 0 || nsec != 0 {
            s.timeout = tvp;
        }
    }
    core_sys_select(cx, n, s)
}

/// pselect6(nfds, readfds, writefds, exceptfds, timeout, sig): a timespec,
/// and `sig` pointing at { const sigset_t *ss; size_t ss_len } whose mask
/// is swapped in for the wait.
pub(super) fn pselect6(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (n, tsp, sig) = (a.int(0), a.ptr(4), a.ptr(5));
    let (mut mask, mut size) = (0, 0);
    if sig != 0 {
        mask = cx.read_u64(sig)?;
        size = cx.read_u64(sig + 8)?;
    }
    let mut s = SelectWait { n: 0, inp: a.ptr(1), outp: a.ptr(2), exp: a.ptr(3), until: None, timeout: 0, timespec: true, stdin: false };
    if tsp != 0 {
        let mut b = [0u8; 16];
        cx.read_user(tsp, &mut b)?;
        let sec = i64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
        let nsec = i64::from_le_bytes(b[8..].try_into().expect("8 bytes"));
        s.until = deadline(cx, sec, nsec)?;
        if sec != 0 || nsec != 0 {
            s.timeout = tsp;
        }
    }
    if mask != 0 {
        if size != 8 {
            return Err(Errno::EINVAL);
        }
        let m = cx.read_u64(mask)?;
        let p = cx.proc_mut();
        p.sig.saved_mask = Some(p.sig.blocked);
        p.sig.blocked = m & !UNBLOCKABLE;
    }
    let r = core_sys_select(cx, n, s);
    // restore_saved_sigmask_unless(ret == -ERESTARTNOHAND): a call that
    // returns now puts the mask back (a blocked one keeps it for the wait).
    if !matches!(r, Ok(Control::Block(_)) | Err(Errno::ERESTARTNOHAND)) {
        let p = cx.proc_mut();
        if let Some(m) = p.sig.saved_mask.take() {
            p.sig.blocked = m;
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::fds_bytes;
    use crate::kernel::tests::{call, kernel_with};
    use linux_abi::sysno as nr;

    #[test]
    fn fd_sets_are_whole_longs() {
        assert_eq!(fds_bytes(0), 0);
        assert_eq!(fds_bytes(1), 8);
        assert_eq!(fds_bytes(64), 8);
        assert_eq!(fds_bytes(65), 16);
    }

    #[test]
    fn select_checks_nfds_and_descriptors() {
        let (mut k, mut regs) = kernel_with("hello");
        assert_eq!(call(&mut k, &mut regs, nr::SELECT, [u32::MAX as u64, 0, 0, 0, 0, 0]), -22, "negative nfds");
        assert_eq!(call(&mut k, &mut regs, nr::SELECT, [1, 8, 0, 0, 0, 0]), -14, "an unreadable set");
        assert_eq!(call(&mut k, &mut regs, nr::SELECT, [1, 0, 0, 0, 8, 0]), -14, "an unreadable timeout");
    }
}
