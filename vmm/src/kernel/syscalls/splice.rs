//! vmsplice, splice, tee and sendfile (fs/splice.c, fs/read_write.c
//! do_sendfile).
//!
//! Buffers are copied where Linux passes page references: vmsplice copies
//! the user's bytes when it is called (what a reader sees since Linux pins
//! the pages read-only and breaks COW first: a later write by a *forked*
//! sharer never shows; a later write by the vmsplicing process itself does
//! show in Linux and does not here), splice and tee copy buffers between
//! pipes keeping their page offsets and packet boundaries, so the number of
//! slots each takes is Linux's. A file spliced into a pipe is copied too,
//! where Linux puts the page-cache page itself in the pipe: a write to the
//! file before the pipe is read shows in Linux and not here. A file spliced
//! into a pipe takes one buffer
//! per page it touches (filemap/shmem splice_read: at the file offset's
//! place in its page); a generated /proc file is read into fresh pages
//! (copy_splice_read). Waits are `Wait::Pipe`, after which the call runs
//! again: each call sleeps only before it moved anything.

use super::pipe::{pipe_fd, UserIo};
use super::{ok, Args, Control, Ctx, SysResult};
use crate::kernel::fs::console::{HostKind, Stdio};
use crate::kernel::fs::pipe::{PipeId, PAGE};
use crate::kernel::fs::{FileId, FileKind, OpenFile};
use crate::kernel::process::{PipeDir, Wait};
use crate::kernel::Kernel;
use guest_mm::Errno;
use linux_abi::fcntl::{MAX_RW_COUNT, O_APPEND, O_NONBLOCK};
use linux_abi::pipe::{SPLICE_F_ALL, SPLICE_F_NONBLOCK};
use linux_abi::resource::{RLIMIT_FSIZE, RLIM_INFINITY};

/// A wait or an error when a pipe cannot be used now: EAGAIN without
/// blocking, -ERESTARTSYS with a signal pending, else the sleep.
fn wait_or(cx: &Ctx<'_>, pipe: PipeId, dir: PipeDir, nonblock: bool) -> SysResult {
    if nonblock {
        return Err(Errno::EAGAIN);
    }
    if cx.proc().sig.deliverable() != 0 {
        return Err(Errno::ERESTARTSYS);
    }
    Ok(Control::Block(Wait::Pipe { pipe, dir }))
}

fn readers(cx: &Ctx<'_>, p: PipeId) -> u32 {
    cx.k.pipes.get(p).map_or(0, |p| p.readers)
}

fn writers(cx: &Ctx<'_>, p: PipeId) -> u32 {
    cx.k.pipes.get(p).map_or(0, |p| p.writers)
}

fn full(cx: &Ctx<'_>, p: PipeId) -> bool {
    cx.k.pipes.get(p).is_some_and(|p| p.full())
}

fn empty(cx: &Ctx<'_>, p: PipeId) -> bool {
    cx.k.pipes.get(p).is_none_or(|p| p.is_empty())
}

/// wait_for_space: EPIPE with SIGPIPE when no reader is left; a free slot
/// or the wait.
fn wait_for_space(cx: &mut Ctx<'_>, pipe: PipeId, nonblock: bool) -> Result<Option<SysResult>, Errno> {
    if readers(cx, pipe) == 0 {
        cx.k.send_sigpipe();
        return Err(Errno::EPIPE);
    }
    if full(cx, pipe) {
        return Ok(Some(wait_or(cx, pipe, PipeDir::Write, nonblock)));
    }
    Ok(None)
}

/// ipipe_prep: data in the input pipe, or no writer left (then 0 moves).
fn ipipe_prep(cx: &Ctx<'_>, pipe: PipeId, nonblock: bool) -> Option<SysResult> {
    if !empty(cx, pipe) {
        return None;
    }
    if cx.proc().sig.deliverable() != 0 {
        return Some(Err(Errno::ERESTARTSYS));
    }
    if writers(cx, pipe) == 0 {
        return None;
    }
    if nonblock {
        return Some(Err(Errno::EAGAIN));
    }
    Some(Ok(Control::Block(Wait::Pipe { pipe, dir: PipeDir::Read })))
}

/// opipe_prep: a free slot in the output pipe.
fn opipe_prep(cx: &mut Ctx<'_>, pipe: PipeId, nonblock: bool) -> Option<SysResult> {
    if !full(cx, pipe) {
        return None;
    }
    if readers(cx, pipe) == 0 {
        cx.k.send_sigpipe();
        return Some(Err(Errno::EPIPE));
    }
    Some(wait_or(cx, pipe, PipeDir::Write, nonblock))
}

pub(super) fn vmsplice(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (n, iov, nr_segs, flags) = (a.fd(0), a.ptr(1), a.ulong(2), a.uint(3) as u64);
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let (_, pipe, f) = pipe_fd(cx, n)?;
    // vmsplice_type: the write end takes user pages, the read end gives.
    let to_pipe = if f.writable() {
        true
    } else if f.readable() {
        false
    } else {
        return Err(Errno::EBADF);
    };
    let segs = super::rw::import_iovec(cx, iov, nr_segs)?;
    if segs.iter().all(|s| s.1 == 0) {
        return ok(0);
    }
    let pipe = pipe.ok_or(Errno::EBADF)?;
    let nonblock = flags & SPLICE_F_NONBLOCK != 0;
    let space = cx.space();
    if to_pipe {
        if let Some(r) = wait_for_space(cx, pipe, nonblock)? {
            return r;
        }
        // iter_to_pipe: a buffer per page of each segment, until the pipe is
        // full or a page cannot be had (EFAULT if it is the first).
        let mut total = 0u64;
        for (base, len) in segs {
            let mut at = base;
            let end = base + len as u64;
            while at < end {
                let start = (at % PAGE as u64) as usize;
                let n = (PAGE - start).min((end - at) as usize);
                let mut data = vec![0u8; n];
                let got = cx.read_user_prefix(at, &mut data).unwrap_or(0);
                if got < n {
                    return if total > 0 { ok(total) } else { Err(Errno::EFAULT) };
                }
                if readers(cx, pipe) == 0 {
                    cx.k.send_sigpipe();
                    return if total > 0 { ok(total) } else { Err(Errno::EPIPE) };
                }
                if !cx.k.pipes.push(pipe, start, data) {
                    return if total > 0 { ok(total) } else { Err(Errno::EAGAIN) };
                }
                total += n as u64;
                at += n as u64;
            }
        }
        return ok(total);
    }
    // vmsplice_to_user: __splice_from_pipe with pipe_to_user.
    if cx.proc().sig.deliverable() != 0 {
        return Err(Errno::ERESTARTSYS);
    }
    if empty(cx, pipe) {
        if writers(cx, pipe) == 0 {
            return ok(0);
        }
        return wait_or(cx, pipe, PipeDir::Read, nonblock);
    }
    let total: usize = segs.iter().map(|s| s.1).sum();
    let Kernel { engine, pending, pipes, .. } = &mut *cx.k;
    let mut io = UserIo::new(engine, pending, space, segs);
    let mut fault = false;
    let done = pipes.drain(pipe, total, &mut |data| {
        use crate::kernel::fs::pipe::Iter;
        let n = io.copy_to(data);
        // pipe_to_user: a buffer not copied whole is EFAULT, nothing of it consumed.
        if n < data.len() {
            fault = true;
            0
        } else {
            n
        }
    });
    if done == 0 && fault {
        return Err(Errno::EFAULT);
    }
    ok(done as u64)
}

/// The bytes of a file that a splice into a pipe reads, at most `len` from
/// `pos`, as (offset in its page, bytes) buffers. EINVAL for files
/// without splice_read.
fn file_pages(cx: &mut Ctx<'_>, kind: &FileKind, pos: u64, len: usize) -> Result<Vec<(usize, Vec<u8>)>, Errno> {
    let mut out = Vec::new();
    match kind {
        FileKind::Object(obj) => {
            let size = cx.k.engine.object(*obj).ok_or(Errno::EBADF)?.size;
            let mut at = pos;
            let end = pos.saturating_add(len as u64).min(size);
            while at < end {
                let start = (at % PAGE as u64) as usize;
                let n = (PAGE - start).min((end - at) as usize);
                let mut data = vec![0u8; n];
                let got = cx.k.engine.read_object(*obj, at, &mut data)?;
                data.truncate(got);
                if got == 0 {
                    break;
                }
                out.push((start, data));
                at += got as u64;
            }
        }
        FileKind::Generated(data) | FileKind::Maps { data, .. } => {
            let from = (pos.min(data.len() as u64)) as usize;
            let to = from + len.min(data.len() - from);
            for chunk in data[from..to].chunks(PAGE) {
                out.push((0, chunk.to_vec()));
            }
        }
        _ => return Err(Errno::EINVAL),
    }
    Ok(out)
}

/// splice_file_to_pipe: wait_for_space, then do_splice_read (at most the
/// free slots' worth). Returns the bytes and the new position.
fn file_to_pipe(
    cx: &mut Ctx<'_>,
    f: &OpenFile,
    pos: u64,
    pipe: PipeId,
    len: usize,
    nonblock: bool,
) -> Result<Result<u64, SysResult>, Errno> {
    if let Some(r) = wait_for_space(cx, pipe, nonblock)? {
        return Ok(Err(r));
    }
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    if len == 0 {
        return Ok(Ok(0));
    }
    let p = cx.k.pipes.get(pipe).ok_or(Errno::EBADF)?;
    let room = (p.capacity() / PAGE - p.occupancy()) * PAGE;
    let len = len.min(room);
    verify_area(pos as i64, len as u64)?;
    let len = len.min(MAX_RW_COUNT as usize);
    let mut done = 0u64;
    for (off, data) in file_pages(cx, &f.kind, pos, len)? {
        let n = data.len() as u64;
        if !cx.k.pipes.push(pipe, off, data) {
            break;
        }
        done += n;
    }
    Ok(Ok(done))
}

/// rw_verify_area for a regular file: a negative count or position, or an
/// end past the largest loff_t, is EINVAL.
fn verify_area(pos: i64, count: u64) -> Result<(), Errno> {
    if (count as i64) < 0 || pos < 0 || pos.checked_add(count as i64).is_none() {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Writes `data` to a file that is not a pipe at `pos` (the write side of
/// splice and sendfile); Ok(bytes taken).
fn write_file(k: &mut Kernel, kind: &FileKind, pos: u64, data: &[u8]) -> Result<usize, Errno> {
    match kind {
        // generic_write_check_limits: SIGXFSZ and EFBIG at RLIMIT_FSIZE, a
        // write that would cross it cut there.
        FileKind::Object(obj) => {
            let limit = k.procs.get(&k.current).map_or(RLIM_INFINITY, |p| p.rlimit(RLIMIT_FSIZE));
            let n = if limit == RLIM_INFINITY {
                data.len()
            } else if pos >= limit {
                k.send_xfsz();
                return Err(Errno::EFBIG);
            } else {
                data.len().min((limit - pos) as usize)
            };
            k.engine.write_object(*obj, pos, &data[..n])
        }
        FileKind::Console(s @ (Stdio::Out | Stdio::Err)) => match k.console.write(*s, data) {
            Ok(()) => Ok(data.len()),
            Err(Errno::EPIPE) => {
                k.send_sigpipe();
                Err(Errno::EPIPE)
            }
            Err(e) => Err(e),
        },
        _ => Err(Errno::EINVAL),
    }
}

/// do_splice_from with iter_file_splice_write: what the pipe holds (up to
/// `len`) into the file, waiting only while nothing has moved.
fn pipe_to_file(
    cx: &mut Ctx<'_>,
    pipe: PipeId,
    out: &OpenFile,
    pos: u64,
    len: usize,
    nonblock: bool,
) -> Result<Result<u64, SysResult>, Errno> {
    if cx.proc().sig.deliverable() != 0 {
        return Err(Errno::ERESTARTSYS);
    }
    if empty(cx, pipe) {
        if writers(cx, pipe) == 0 {
            return Ok(Ok(0));
        }
        return Ok(Err(wait_or(cx, pipe, PipeDir::Read, nonblock)));
    }
    let kind = out.kind.clone();
    let mut err = None;
    let mut at = pos;
    // The buffers' bytes up to `len`, written in order; what the file took
    // is then consumed from the pipe.
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut want = len;
    for b in cx.k.pipes.get(pipe).into_iter().flat_map(|p| p.bufs()) {
        if want == 0 {
            break;
        }
        let n = b.data.len().min(want);
        chunks.push(b.data[..n].to_vec());
        want -= n;
    }
    let mut took = 0usize;
    for c in &chunks {
        match write_file(cx.k, &kind, at, c) {
            Ok(n) => {
                took += n;
                at += n as u64;
                if n < c.len() {
                    break;
                }
            }
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    let mut left = took;
    cx.k.pipes.drain(pipe, took, &mut |d| {
        let n = d.len().min(left);
        left -= n;
        n
    });
    match err {
        Some(e) if took == 0 => Err(e),
        _ => Ok(Ok(took as u64)),
    }
}

/// Reads a loff_t argument.
fn read_off(cx: &mut Ctx<'_>, at: u64) -> Result<i64, Errno> {
    Ok(cx.read_u64(at)? as i64)
}

fn set_pos(cx: &mut Ctx<'_>, id: FileId, pos: u64) {
    if let Some(f) = cx.k.files.get_mut(id) {
        f.offset = pos;
    }
}

/// Whether pread-style offsets work on the description (FMODE_PREAD).
fn preadable(cx: &Ctx<'_>, f: &OpenFile) -> bool {
    match &f.kind {
        FileKind::Console(s) => !cx.k.console_info.kind(*s).is_stream(),
        FileKind::Pidfd { .. } | FileKind::Pipe(_) => false,
        _ => true,
    }
}

pub(super) fn splice(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (fd_in, off_in, fd_out, off_out, len, flags) = (a.fd(0), a.ptr(1), a.fd(2), a.ptr(3), a.ulong(4) as usize, a.uint(5) as u64);
    if len == 0 {
        return ok(0);
    }
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let (in_id, ipipe, fin) = pipe_fd(cx, fd_in)?;
    let (out_id, opipe, fout) = pipe_fd(cx, fd_out)?;
    // __do_splice: offsets are for files only; then they are read.
    if (ipipe.is_some() && off_in != 0) || (opipe.is_some() && off_out != 0) {
        return Err(Errno::ESPIPE);
    }
    let user_out = if off_out != 0 { Some(read_off(cx, off_out)?) } else { None };
    let user_in = if off_in != 0 { Some(read_off(cx, off_in)?) } else { None };
    // do_splice.
    if !fin.readable() || !fout.writable() {
        return Err(Errno::EBADF);
    }
    let mut nonblock = flags & SPLICE_F_NONBLOCK != 0;
    match (ipipe, opipe) {
        (Some(ip), Some(op)) => {
            if ip == op {
                return Err(Errno::EINVAL);
            }
            nonblock |= (fin.flags | fout.flags) & O_NONBLOCK != 0;
            if let Some(r) = ipipe_prep(cx, ip, nonblock) {
                return r;
            }
            if let Some(r) = opipe_prep(cx, op, nonblock) {
                return r;
            }
            if readers(cx, op) == 0 {
                cx.k.send_sigpipe();
                return Err(Errno::EPIPE);
            }
            if empty(cx, ip) && writers(cx, ip) == 0 {
                return ok(0);
            }
            ok(cx.k.pipes.splice(ip, op, len) as u64)
        }
        (Some(ip), None) => {
            let pos = match user_out {
                Some(_) if !preadable(cx, &fout) => return Err(Errno::EINVAL),
                Some(p) => p,
                None => fout.offset as i64,
            };
            if fout.flags & O_APPEND != 0 {
                return Err(Errno::EINVAL);
            }
            verify_area(pos, len as u64)?;
            nonblock |= fin.flags & O_NONBLOCK != 0;
            let n = match pipe_to_file(cx, ip, &fout, pos as u64, len, nonblock)? {
                Ok(n) => n,
                Err(r) => return r,
            };
            let end = pos as u64 + n;
            match user_out {
                Some(_) => cx.write_u64(off_out, end)?,
                None if !matches!(fout.kind, FileKind::Console(_)) => set_pos(cx, out_id, end),
                None => {}
            }
            ok(n)
        }
        (None, Some(op)) => {
            let pos = match user_in {
                Some(_) if !preadable(cx, &fin) => return Err(Errno::EINVAL),
                Some(p) => p,
                None => fin.offset as i64,
            };
            nonblock |= fout.flags & O_NONBLOCK != 0;
            if pos < 0 {
                return Err(Errno::EINVAL);
            }
            let n = match file_to_pipe(cx, &fin, pos as u64, op, len, nonblock)? {
                Ok(n) => n,
                Err(r) => return r,
            };
            let end = pos as u64 + n;
            match user_in {
                Some(_) => cx.write_u64(off_in, end)?,
                None => set_pos(cx, in_id, end),
            }
            ok(n)
        }
        // The console's stdout or stderr is a pipe on the host: Linux's
        // splice_file_to_pipe into it, here a write of what the file gives.
        (None, None) if console_pipe(cx, &fout).is_some() => {
            let pos = match user_in {
                Some(_) if !preadable(cx, &fin) => return Err(Errno::EINVAL),
                Some(p) => p,
                None => fin.offset as i64,
            };
            if pos < 0 {
                return Err(Errno::EINVAL);
            }
            verify_area(pos, len.min(HOST_PIPE_ROOM) as u64)?;
            let n = file_to_console(cx, &fin, &fout, pos as u64, len.min(HOST_PIPE_ROOM))?;
            let end = pos as u64 + n;
            match user_in {
                Some(_) => cx.write_u64(off_in, end)?,
                None => set_pos(cx, in_id, end),
            }
            ok(n)
        }
        (None, None) => Err(Errno::EINVAL),
    }
}

/// What a splice into an empty host pipe of the default size can take
/// (do_splice_read's limit of the pipe's free slots): the console's host
/// pipe is drained by someone else, whose pace the guest cannot know.
const HOST_PIPE_ROOM: usize = linux_abi::pipe::PIPE_DEF_BUFFERS * PAGE;

/// The console stream behind `f` when it is a pipe on the host (so that
/// Linux would treat the descriptor as a pipe in splice and tee).
fn console_pipe(cx: &Ctx<'_>, f: &OpenFile) -> Option<Stdio> {
    match f.kind {
        FileKind::Console(s @ (Stdio::Out | Stdio::Err)) if cx.k.console_info.kind(s) == HostKind::Pipe && f.writable() => Some(s),
        _ => None,
    }
}

/// A file's bytes from `pos` (at most `len`) written to the console.
fn file_to_console(cx: &mut Ctx<'_>, fin: &OpenFile, fout: &OpenFile, pos: u64, len: usize) -> Result<u64, Errno> {
    if !fin.readable() {
        return Err(Errno::EBADF);
    }
    let mut done = 0u64;
    for (_, data) in file_pages(cx, &fin.kind, pos, len)? {
        match write_file(cx.k, &fout.kind, 0, &data) {
            Ok(n) => done += n as u64,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done)
}

pub(super) fn tee(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (fd_in, fd_out, len, flags) = (a.fd(0), a.fd(1), a.ulong(2) as usize, a.uint(3) as u64);
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return ok(0);
    }
    let (_, ipipe, fin) = pipe_fd(cx, fd_in)?;
    let (_, opipe, fout) = pipe_fd(cx, fd_out)?;
    if !fin.readable() || !fout.writable() {
        return Err(Errno::EBADF);
    }
    let ip = ipipe.ok_or(Errno::EINVAL)?;
    let Some(op) = opipe else {
        // The console is a pipe on the host: link_pipe into it, here a
        // write of copies of the buffers (nothing consumed).
        if console_pipe(cx, &fout).is_none() {
            return Err(Errno::EINVAL);
        }
        let nonblock = flags & SPLICE_F_NONBLOCK != 0 || fin.flags & O_NONBLOCK != 0;
        if let Some(r) = ipipe_prep(cx, ip, nonblock) {
            return r;
        }
        let mut want = len.min(HOST_PIPE_ROOM);
        let mut copies = Vec::new();
        for b in cx.k.pipes.get(ip).into_iter().flat_map(|p| p.bufs()) {
            if want == 0 {
                break;
            }
            let n = b.data.len().min(want);
            copies.push(b.data[..n].to_vec());
            want -= n;
        }
        let mut done = 0u64;
        for c in copies {
            match write_file(cx.k, &fout.kind, 0, &c) {
                Ok(n) => done += n as u64,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        return ok(done);
    };
    if ip == op {
        return Err(Errno::EINVAL);
    }
    let nonblock = flags & SPLICE_F_NONBLOCK != 0 || (fin.flags | fout.flags) & O_NONBLOCK != 0;
    if let Some(r) = ipipe_prep(cx, ip, nonblock) {
        return r;
    }
    if let Some(r) = opipe_prep(cx, op, nonblock) {
        return r;
    }
    // link_pipe.
    if readers(cx, op) == 0 {
        cx.k.send_sigpipe();
        return Err(Errno::EPIPE);
    }
    ok(cx.k.pipes.tee(ip, op, len) as u64)
}

/// do_sendfile: from a readable file at `ppos` (or its offset) to a pipe
/// (splice_file_to_pipe) or another file (do_splice_direct).
fn do_sendfile(cx: &mut Ctx<'_>, out_fd: u32, in_fd: u32, ppos: Option<i64>, count: u64) -> Result<(Result<u64, SysResult>, i64), Errno> {
    let (in_id, ipipe, fin) = pipe_fd(cx, in_fd)?;
    if !fin.readable() {
        return Err(Errno::EBADF);
    }
    let pos = match ppos {
        None => fin.offset as i64,
        Some(_) if !preadable(cx, &fin) => return Err(Errno::ESPIPE),
        Some(p) => p,
    };
    if ipipe.is_none() {
        verify_area(pos, count)?;
    } else if (count as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let count = count.min(MAX_RW_COUNT) as usize;
    let (out_id, opipe, fout) = pipe_fd(cx, out_fd)?;
    if !fout.writable() {
        return Err(Errno::EBADF);
    }
    let r = match opipe {
        Some(op) => file_to_pipe(cx, &fin, pos as u64, op, count, fout.flags & O_NONBLOCK != 0)?,
        None => {
            verify_area(fout.offset as i64, count as u64)?;
            if fout.flags & O_APPEND != 0 {
                return Err(Errno::EINVAL);
            }
            // splice_direct_to_actor: read and write a pipe's worth at a
            // time until the count or the end of the input.
            let mut out_pos = fout.offset;
            let mut done = 0u64;
            let mut err = None;
            'copy: while (done as usize) < count {
                let want = (count - done as usize).min(HOST_PIPE_ROOM);
                let pages = match file_pages(cx, &fin.kind, pos as u64 + done, want) {
                    Ok(p) => p,
                    Err(e) => {
                        err = Some(e);
                        break;
                    }
                };
                let got: usize = pages.iter().map(|p| p.1.len()).sum();
                for (_, data) in pages {
                    match write_file(cx.k, &fout.kind, out_pos, &data) {
                        Ok(n) => {
                            done += n as u64;
                            out_pos += n as u64;
                            if n < data.len() {
                                break 'copy;
                            }
                        }
                        Err(e) => {
                            err = Some(e);
                            break 'copy;
                        }
                    }
                }
                if got < want {
                    break;
                }
            }
            if let (Some(e), 0) = (err, done) {
                return Err(e);
            }
            if done > 0 && !matches!(fout.kind, FileKind::Console(_)) {
                set_pos(cx, out_id, out_pos);
            }
            Ok(done)
        }
    };
    let end = match &r {
        Ok(n) => pos + *n as i64,
        Err(_) => pos,
    };
    if let (Ok(n), None) = (&r, ppos) {
        if *n > 0 {
            set_pos(cx, in_id, end as u64);
        }
    }
    Ok((r, end))
}

/// sendfile(out_fd, in_fd, offset, count): `offset`, when given, is read
/// first and always written back.
pub(super) fn sendfile(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (out_fd, in_fd, off, count) = (a.fd(0), a.fd(1), a.ptr(2), a.ulong(3));
    if off == 0 {
        return match do_sendfile(cx, out_fd, in_fd, None, count)?.0 {
            Ok(n) => ok(n),
            Err(r) => r,
        };
    }
    let pos = read_off(cx, off)?;
    let r = do_sendfile(cx, out_fd, in_fd, Some(pos), count);
    let end = r.as_ref().map_or(pos, |(_, e)| *e);
    cx.write_u64(off, end as u64)?;
    match r?.0 {
        Ok(n) => ok(n),
        Err(r) => r,
    }
}
