//! pipe and pipe2, and what the other families do with a pipe: read,
//! write and their vector forms, F_GETPIPE_SZ/F_SETPIPE_SZ, FIONREAD,
//! fstat, poll masks (fs/pipe.c).
//!
//! The ring itself is `fs::pipe`; this file moves bytes between it and the
//! current process's memory (`UserIo`, an iov_iter over the call's
//! segments) and turns a transfer's stop into Linux's result: EAGAIN for
//! O_NONBLOCK, EPIPE with SIGPIPE, EFAULT only when nothing moved, or a
//! sleep (`Wait::Pipe`, after which the call runs again; a write that
//! slept goes on after what it moved, `Process::pipe_done`).

use super::{fd, ok, Args, Control, Ctx, SysResult};
use crate::kernel::fs::pipe::{round_pipe_size, Iter, PipeId, Stop, PAGE};
use crate::kernel::fs::{FdEntry, FileId, FileKind, OpenFile};
use crate::kernel::process::{PipeDir, Wait};
use crate::kernel::Kernel;
use guest_mm::{AsId, Engine, Errno, PteUpdates, VirtAddr};
use linux_abi::fcntl::{F_GETPIPE_SZ, O_CLOEXEC, O_DIRECT, O_NONBLOCK, O_RDONLY, O_WRONLY};
use linux_abi::pipe::{O_NOTIFICATION_PIPE, PIPE_MAX_SIZE};
use linux_abi::poll::*;
use linux_abi::resource::RLIMIT_NOFILE;
use linux_abi::stat::{Stat, S_IFIFO};
use vm_memory::GuestMemoryMmap;

/// One user buffer: address and length.
pub(super) type Seg = (u64, usize);

/// A process's memory as an iov_iter over `segs`, through the engine's
/// fault path with the process's permissions.
pub(super) struct UserIo<'a> {
    engine: &'a mut Engine<GuestMemoryMmap>,
    pending: &'a mut PteUpdates,
    space: AsId,
    segs: Vec<Seg>,
    /// The segment and the offset in it where the next byte is.
    seg: usize,
    off: usize,
}

impl<'a> UserIo<'a> {
    pub(super) fn new(engine: &'a mut Engine<GuestMemoryMmap>, pending: &'a mut PteUpdates, space: AsId, segs: Vec<Seg>) -> Self {
        UserIo { engine, pending, space, segs, seg: 0, off: 0 }
    }

    /// iov_iter_advance.
    pub(super) fn advance(&mut self, mut n: usize) {
        while n > 0 && self.seg < self.segs.len() {
            let step = (self.segs[self.seg].1 - self.off).min(n);
            self.off += step;
            n -= step;
            self.skip_done();
        }
        self.skip_done();
    }

    fn skip_done(&mut self) {
        while self.seg < self.segs.len() && self.off == self.segs[self.seg].1 {
            self.seg += 1;
            self.off = 0;
        }
    }

    /// Copies segment by segment; `op` moves `n` bytes at a user address
    /// and the buffer offset, returning how many it could.
    fn copy(&mut self, len: usize, mut op: impl FnMut(&mut Self, u64, usize, usize) -> usize) -> usize {
        let mut done = 0;
        self.skip_done();
        while done < len && self.seg < self.segs.len() {
            let (base, seg_len) = self.segs[self.seg];
            let n = (seg_len - self.off).min(len - done);
            let got = op(self, base + self.off as u64, done, n);
            done += got;
            self.advance(got);
            if got < n {
                break;
            }
        }
        done
    }
}

impl Iter for UserIo<'_> {
    fn count(&self) -> usize {
        self.segs.iter().skip(self.seg).map(|s| s.1).sum::<usize>() - self.off
    }

    fn copy_from(&mut self, buf: &mut [u8]) -> usize {
        let len = buf.len();
        self.copy(len, |io, va, at, n| {
            let (r, u) = io.engine.read_user_prefix(io.space, VirtAddr::new(va), &mut buf[at..at + n]).split();
            io.pending.absorb(u);
            r.0
        })
    }

    fn copy_to(&mut self, data: &[u8]) -> usize {
        self.copy(data.len(), |io, va, at, n| {
            let (r, u) = io.engine.write_user_prefix(io.space, VirtAddr::new(va), &data[at..at + n]).split();
            io.pending.absorb(u);
            r.0
        })
    }
}

impl Kernel {
    /// Whether a process waiting on `pipe` for `dir` can go on (a pipe
    /// that is gone can never be waited on: both ends were closed, the
    /// waiter's included, so it goes on to find out).
    pub(crate) fn pipe_ready(&self, pipe: PipeId, dir: PipeDir) -> bool {
        self.pipes.get(pipe).is_none_or(|p| match dir {
            PipeDir::Read => p.readable(),
            PipeDir::Write => p.writable(),
        })
    }

    /// pipe_poll for a description `f` of `pipe`.
    pub(crate) fn pipe_poll_mask(&self, pipe: PipeId, f: &OpenFile) -> u16 {
        let Some(p) = self.pipes.get(pipe) else { return 0 };
        let mut mask = 0;
        if f.readable() {
            if !p.is_empty() {
                mask |= POLLIN | POLLRDNORM;
            }
            if p.writers == 0 {
                mask |= POLLHUP;
            }
        }
        if f.writable() {
            if !p.full() {
                mask |= POLLOUT | POLLWRNORM;
            }
            if p.readers == 0 {
                mask |= POLLERR;
            }
        }
        mask
    }

    /// pipe_release for the last reference of a description.
    pub(crate) fn release_pipe_end(&mut self, pipe: PipeId, f: &OpenFile) {
        self.pipes.close(pipe, f.readable(), f.writable());
    }
}

/// The pipe behind a description (get_pipe_info).
pub(super) fn pipe_of(cx: &Ctx<'_>, id: FileId) -> Option<PipeId> {
    match cx.k.files.get(id)?.kind {
        FileKind::Pipe(p) => Some(p),
        _ => None,
    }
}

/// do_pipe2: two descriptions of a new pipe at the two lowest free
/// numbers; EMFILE with nothing left behind, EFAULT (both closed again)
/// when the array cannot be written.
fn do_pipe2(cx: &mut Ctx<'_>, fds: u64, flags: u64) -> SysResult {
    if flags & !(O_CLOEXEC | O_NONBLOCK | O_DIRECT | O_NOTIFICATION_PIPE) != 0 {
        return Err(Errno::EINVAL);
    }
    // watch_queue_init without CONFIG_WATCH_QUEUE.
    if flags & O_NOTIFICATION_PIPE != 0 {
        return Err(Errno::ENOPKG);
    }
    let limit = cx.proc().rlimit(RLIMIT_NOFILE);
    let cloexec = flags & O_CLOEXEC != 0;
    let r = cx.proc().fds.lowest_free(0, limit)?;
    // A placeholder holds r while the second number is found.
    cx.proc_mut().fds.replace(r, FdEntry { file: FileId(u64::MAX), cloexec });
    let w = match cx.proc().fds.lowest_free(0, limit) {
        Ok(w) => w,
        Err(e) => {
            let _ = cx.proc_mut().fds.remove(r as u32);
            return Err(e);
        }
    };
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&r.to_le_bytes());
    b[4..].copy_from_slice(&w.to_le_bytes());
    if let Err(e) = cx.write_user(fds, &b) {
        let _ = cx.proc_mut().fds.remove(r as u32);
        return Err(e);
    }
    let uid = cx.proc().creds.uid;
    let pipe = cx.k.pipes.create(uid, crate::kernel::clock::Clock::realtime_ns());
    // create_pipe_files: O_DIRECT only on the write end.
    let rf = cx.k.files.open(FileKind::Pipe(pipe), O_RDONLY | (flags & O_NONBLOCK));
    let wf = cx.k.files.open(FileKind::Pipe(pipe), O_WRONLY | (flags & (O_NONBLOCK | O_DIRECT)));
    cx.proc_mut().fds.replace(r, FdEntry { file: rf, cloexec });
    cx.proc_mut().fds.replace(w, FdEntry { file: wf, cloexec });
    ok(0)
}

pub(super) fn pipe(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_pipe2(cx, a.ptr(0), 0)
}

pub(super) fn pipe2(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_pipe2(cx, a.ptr(0), a.int(1) as u32 as u64)
}

/// The result of a transfer that moved `done` bytes and stopped for
/// `stop`, as pipe_read/pipe_write end: the count when something moved,
/// else the error; a sleep when the call may block.
fn finish(cx: &mut Ctx<'_>, pipe: PipeId, dir: PipeDir, done: usize, stop: Option<Stop>, nonblock: bool) -> SysResult {
    let some = |e: Errno| if done > 0 { ok(done as u64) } else { Err(e) };
    match stop {
        None => ok(done as u64),
        Some(Stop::NoReaders) => {
            cx.k.send_sigpipe();
            some(Errno::EPIPE)
        }
        Some(Stop::Fault) => some(Errno::EFAULT),
        Some(Stop::NoMemory) => some(Errno::ENOMEM),
        Some(Stop::Full | Stop::Empty) => {
            if nonblock {
                return some(Errno::EAGAIN);
            }
            if cx.proc().sig.deliverable() != 0 {
                return some(Errno::ERESTARTSYS);
            }
            if dir == PipeDir::Write {
                cx.proc_mut().pipe_done = Some(done as u64);
            }
            Ok(Control::Block(Wait::Pipe { pipe, dir }))
        }
    }
}

/// read/readv of a pipe (pipe_read); the segments are already checked.
pub(super) fn read(cx: &mut Ctx<'_>, pipe: PipeId, flags: u64, segs: Vec<Seg>) -> SysResult {
    if segs.iter().all(|s| s.1 == 0) {
        return ok(0);
    }
    let space = cx.space();
    let Kernel { engine, pending, pipes, .. } = &mut *cx.k;
    let mut io = UserIo::new(engine, pending, space, segs);
    let (n, stop) = pipes.read(pipe, &mut io);
    finish(cx, pipe, PipeDir::Read, n, stop, flags & O_NONBLOCK != 0)
}

/// write/writev of a pipe (pipe_write); the segments are already checked.
pub(super) fn write(cx: &mut Ctx<'_>, pipe: PipeId, flags: u64, segs: Vec<Seg>) -> SysResult {
    let resumed = cx.proc_mut().pipe_done.take();
    if segs.iter().all(|s| s.1 == 0) {
        return ok(0);
    }
    let before = resumed.unwrap_or(0) as usize;
    let space = cx.space();
    let Kernel { engine, pending, pipes, .. } = &mut *cx.k;
    let mut io = UserIo::new(engine, pending, space, segs);
    io.advance(before);
    let (n, stop) = pipes.write(pipe, &mut io, flags & O_DIRECT != 0, resumed.is_none());
    finish(cx, pipe, PipeDir::Write, before + n, stop, flags & O_NONBLOCK != 0)
}

/// pipe_fcntl: F_GETPIPE_SZ and F_SETPIPE_SZ (EBADF for other files). The
/// argument is an unsigned int; the size is rounded up to a power of two
/// of pages (EINVAL above 2 GiB), EPERM above pipe-max-size (1 MiB) for
/// the unprivileged guest, EBUSY below the buffers in use.
pub(super) fn fcntl(cx: &mut Ctx<'_>, id: FileId, cmd: u64, arg: u64) -> SysResult {
    let pipe = pipe_of(cx, id).ok_or(Errno::EBADF)?;
    if cmd == F_GETPIPE_SZ {
        return ok(cx.k.pipes.get(pipe).map_or(0, |p| p.capacity()) as u64);
    }
    let size = round_pipe_size(arg as u32);
    if size == 0 {
        return Err(Errno::EINVAL);
    }
    ok(cx.k.pipes.set_size(pipe, size / PAGE, PIPE_MAX_SIZE)? as u64)
}

/// pipe_ioctl's FIONREAD: the bytes buffered, as an int.
pub(super) fn fionread(cx: &mut Ctx<'_>, pipe: PipeId, arg: u64) -> SysResult {
    let n = cx.k.pipes.get(pipe).map_or(0, |p| p.len());
    cx.write_u32(arg, n as u32)?;
    ok(0)
}

/// fstat of either end: the pipefs inode, a FIFO readable and writable by
/// its creator (whose ids the description's process has here).
pub(super) fn stat(cx: &Ctx<'_>, pipe: PipeId) -> Stat {
    let t = cx.k.pipes.get(pipe).map_or(0, |p| p.created_ns);
    let time = ((t / 1_000_000_000) as i64, (t % 1_000_000_000) as i64);
    Stat {
        atime: time,
        mtime: time,
        ctime: time,
        dev: linux_abi::stat::makedev(0, PIPEFS_MINOR),
        ino: PIPE_INO_BASE + pipe.0,
        nlink: 1,
        mode: S_IFIFO | 0o600,
        uid: cx.proc().creds.fsuid,
        gid: cx.proc().creds.fsgid,
        blksize: PAGE as i64,
        ..Default::default()
    }
}

/// pipefs's anonymous device minor (the reference host's; boot-dependent there).
const PIPEFS_MINOR: u32 = 0xe;
/// Where pipe inode numbers start (get_next_ino's numbers are arbitrary).
const PIPE_INO_BASE: u64 = 0x4000;

/// /proc/PID/fd/N's link text for a pipe: `pipe:[INODE]`.
pub(super) fn link_name(pipe: PipeId) -> String {
    format!("pipe:[{}]", PIPE_INO_BASE + pipe.0)
}

/// The descriptor's pipe and its description (for splice and friends).
pub(super) fn pipe_fd(cx: &Ctx<'_>, n: u32) -> Result<(FileId, Option<PipeId>, OpenFile), Errno> {
    let (id, f) = fd::file(cx, n)?;
    let p = match f.kind {
        FileKind::Pipe(p) => Some(p),
        _ => None,
    };
    Ok((id, p, f.clone()))
}

#[cfg(test)]
mod tests {
    use crate::kernel::tests::{call, kernel_with, NoFpu};
    use crate::kernel::{RunEnd, Step, Trap};
    use guest_mm::VirtAddr;
    use linux_abi::sysno as nr;

    /// pipe2 into the stack page; returns (read end, write end).
    fn make_pipe(k: &mut crate::kernel::Kernel, regs: &mut kvm_bindings::kvm_regs) -> (u64, u64) {
        let at = regs.rsp - 256;
        assert_eq!(call(k, regs, nr::PIPE2, [at, 0, 0, 0, 0, 0]), 0);
        let space = k.current_space().unwrap();
        let mut b = [0u8; 8];
        k.engine.read_user(space, VirtAddr::new(at), &mut b).split().0.unwrap();
        (u32::from_le_bytes(b[..4].try_into().unwrap()) as u64, u32::from_le_bytes(b[4..].try_into().unwrap()) as u64)
    }

    #[test]
    fn reading_a_pipe_only_the_reader_can_write_is_a_deadlock_report() {
        let (mut k, mut regs) = kernel_with("hello");
        let (r, _w) = make_pipe(&mut k, &mut regs);
        regs.rax = nr::READ;
        [regs.rdi, regs.rsi, regs.rdx] = [r, regs.rsp - 512, 10];
        let step = k.handle(Trap::Syscall { ret: 0x401000 }, &mut regs, &mut NoFpu).unwrap();
        match step {
            Step::Finished(RunEnd::Deadlock(why)) => assert!(why.contains("reads a pipe"), "{why}"),
            other => panic!("expected a deadlock, got {other:?}"),
        }
        let _ = k.take_pending().into_parts();
    }

    #[test]
    fn a_blocked_reader_runs_again_when_a_forked_writer_writes_and_sees_eof_when_it_exits() {
        let (mut k, mut regs) = kernel_with("hello");
        let (r, w) = make_pipe(&mut k, &mut regs);
        assert_eq!(call(&mut k, &mut regs, nr::FORK, [0; 6]), 2);
        // The parent closes its write end and reads: it blocks, the child runs.
        assert_eq!(call(&mut k, &mut regs, nr::CLOSE, [w, 0, 0, 0, 0, 0]), 0);
        let buf = regs.rsp - 512;
        regs.rax = nr::READ;
        [regs.rdi, regs.rsi, regs.rdx] = [r, buf, 10];
        k.handle(Trap::Syscall { ret: 0x401000 }, &mut regs, &mut NoFpu).unwrap();
        assert_eq!(k.current(), 2, "the child runs while the parent waits");
        let space = k.current_space().unwrap();
        k.engine.write_user(space, VirtAddr::new(buf), b"ping").split().0.unwrap();
        assert_eq!(call(&mut k, &mut regs, nr::WRITE, [w, buf, 4, 0, 0, 0]), 4);
        // The child exits: the parent's read runs again and gets the bytes.
        call(&mut k, &mut regs, nr::EXIT_GROUP, [0; 6]);
        assert_eq!(k.current(), 1);
        assert_eq!(regs.rax, nr::READ, "the read is rewound to run again");
        assert_eq!(call(&mut k, &mut regs, nr::READ, [r, buf, 10, 0, 0, 0]), 4);
        assert_eq!(call(&mut k, &mut regs, nr::READ, [r, buf, 10, 0, 0, 0]), 0, "no writer left: end of file");
        let _ = k.take_pending().into_parts();
    }

    #[test]
    fn pipe2_refuses_unknown_flags_and_a_bad_array_leaks_no_descriptor() {
        let (mut k, mut regs) = kernel_with("hello");
        assert_eq!(call(&mut k, &mut regs, nr::PIPE2, [0x1000, 0o1, 0, 0, 0, 0]), -22);
        assert_eq!(call(&mut k, &mut regs, nr::PIPE2, [8, 0, 0, 0, 0, 0]), -14);
        assert!(k.pipes.is_empty());
        // The next descriptor is still 3: nothing was left installed.
        assert_eq!(call(&mut k, &mut regs, nr::DUP, [0, 0, 0, 0, 0, 0]), 3);
    }
}
