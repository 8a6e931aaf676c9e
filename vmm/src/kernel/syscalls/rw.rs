//! Data calls: read, write, pread64, pwrite64, readv, writev, preadv,
//! pwritev, lseek (fs/read_write.c).
//!
//! Linux's order of checks: the descriptor (EBADF), its open mode (EBADF),
//! the position for p* calls (EINVAL before anything, ESPIPE for streams),
//! the iovec array (EINVAL for more than UIO_MAXIOV or a negative length,
//! EFAULT), access_ok of every buffer (EFAULT), then the transfer, which may
//! end short at the first byte it cannot copy. The file offset lives in the
//! open file description, shared with every dup'ed or inherited descriptor.

use super::{fd, ok, Args, Ctx, SysResult};
use crate::kernel::fs::console::Stdio;
use crate::kernel::fs::{Device, FileId, FileKind};
use guest_mm::{Errno, PAGE_SIZE, TASK_SIZE};
use linux_abi::fcntl::{IOVEC_SIZE, MAX_RW_COUNT, O_APPEND, SEEK_CUR, SEEK_DATA, SEEK_END, SEEK_HOLE, SEEK_SET, UIO_MAXIOV};

/// Largest buffer moved through the host at once; longer transfers are
/// done in pieces (the result is the same: Linux moves partially too).
const CHUNK: usize = 1 << 20;

/// x86-64 access_ok: the range lies in the user half without wrapping.
pub(super) fn access_ok(addr: u64, len: u64) -> bool {
    addr.checked_add(len).is_some_and(|end| end <= TASK_SIZE)
}

/// Which side of a transfer.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Dir {
    Read,
    Write,
}

/// The description behind `n`: id, kind, offset, status flags, and whether
/// its open mode allows `dir`.
fn lookup(cx: &Ctx<'_>, n: u32, dir: Dir) -> Result<(FileId, FileKind, u64, u64, bool), Errno> {
    let (id, f) = fd::file(cx, n)?;
    let allowed = match dir {
        Dir::Read => f.readable(),
        Dir::Write => f.writable(),
    };
    Ok((id, f.kind.clone(), f.offset, f.flags, allowed))
}

/// Whether p* calls and lseek work (FMODE_PREAD/FMODE_LSEEK).
fn seekable(cx: &Ctx<'_>, kind: &FileKind) -> bool {
    match kind {
        FileKind::Console(s) => !cx.k.console_info.kind(*s).is_stream(),
        FileKind::Pidfd { .. } | FileKind::Pipe(_) => false,
        _ => true,
    }
}

/// Reads up to `len` bytes at `off` of the file into user memory at `buf`.
fn read_at(cx: &mut Ctx<'_>, kind: &FileKind, off: u64, buf: u64, len: usize) -> Result<usize, Errno> {
    match kind {
        // pidfs has no read (FMODE_CAN_READ unset); clear_refs neither.
        FileKind::Pidfd { .. } | FileKind::ClearRefs => Err(Errno::EINVAL),
        FileKind::Dir | FileKind::ProcDir(_) => Err(Errno::EISDIR),
        FileKind::Path => Err(Errno::EBADF),
        FileKind::Dev(d) => read_dev(cx, *d, buf, len),
        // Pipes move through `pipe::read` (rw dispatches before this).
        FileKind::Pipe(_) => Err(Errno::EINVAL),
        FileKind::Console(Stdio::In) => {
            // Only what is there: a later segment of a readv does not wait.
            if len == 0 || !cx.k.console.input_ready() {
                return Ok(0);
            }
            // Consume no more input than the buffer can take: pipe_read
            // leaves in the pipe what it could not copy. Writing the buffer's
            // own bytes back finds its writable prefix without changing it.
            let mut old = vec![0u8; len.min(CHUNK)];
            let readable = cx.read_user_prefix(buf, &mut old)?;
            let room = if readable == 0 { 0 } else { cx.write_user_prefix(buf, &old[..readable])? };
            if room == 0 {
                return Err(Errno::EFAULT);
            }
            let mut data = vec![0u8; room];
            let n = cx.k.console.read_input(&mut data)?;
            cx.write_user_prefix(buf, &data[..n])
        }
        // Reading stdout/stderr opened read-write (a terminal): end of file too.
        FileKind::Console(_) => Ok(0),
        FileKind::Generated(data) | FileKind::Maps { data, .. } | FileKind::Smaps { data, .. } => {
            let off = off.min(data.len() as u64) as usize;
            let n = len.min(data.len() - off);
            let data = data.clone();
            cx.write_user_prefix(buf, &data[off..off + n])
        }
        FileKind::Pagemap => {
            // 8 bytes per virtual page; reads must be whole entries.
            if !off.is_multiple_of(8) || !len.is_multiple_of(8) {
                return Err(Errno::EINVAL);
            }
            let space = cx.space();
            let mut data = Vec::with_capacity(len);
            for i in 0..(len / 8) as u64 {
                let page = off / 8 + i;
                let va = guest_mm::VirtAddr::new(page.saturating_mul(PAGE_SIZE));
                let e = if page < TASK_SIZE / PAGE_SIZE { cx.k.engine.pagemap(space, va).unwrap_or(0) } else { 0 };
                data.extend_from_slice(&e.to_le_bytes());
            }
            // pagemap_read: a copy_to_user that faults fails the whole read
            // with EFAULT (the bytes before the fault stay written, the
            // offset does not move), never a short count.
            match cx.write_user_prefix(buf, &data)? {
                n if n < data.len() => Err(Errno::EFAULT),
                n => Ok(n),
            }
        }
        FileKind::Object(obj) => {
            let mut done = 0;
            while done < len {
                let n = (len - done).min(CHUNK);
                let mut data = vec![0u8; n];
                let got = cx.k.engine.read_object(*obj, off + done as u64, &mut data)?;
                let put = match cx.write_user_prefix(buf + done as u64, &data[..got]) {
                    Ok(p) => p,
                    Err(e) if done == 0 => return Err(e),
                    Err(_) => 0,
                };
                done += put;
                if put < n {
                    break;
                }
            }
            Ok(done)
        }
    }
}

/// Reads of /dev/null (end of file), zero and full (zeros), random and
/// urandom (the guest's random bytes) (drivers/char/mem.c, random.c).
fn read_dev(cx: &mut Ctx<'_>, d: Device, buf: u64, len: usize) -> Result<usize, Errno> {
    let n = len.min(CHUNK);
    let mut data = vec![0u8; n];
    match d {
        Device::Null | Device::Tty | Device::Window(_) | Device::Whiteout => return Ok(0),
        Device::Zero | Device::Full => {}
        Device::Random | Device::Urandom => cx.k.rng.fill(&mut data),
    }
    cx.write_user_prefix(buf, &data)
}

/// Writes up to `len` bytes from user memory at `buf` to the file at `off`.
fn write_at(cx: &mut Ctx<'_>, kind: &FileKind, off: u64, buf: u64, len: usize) -> Result<usize, Errno> {
    match kind {
        // clear_refs_write: at most 12 bytes are looked at, an int in 1..=5
        // (CLEAR_REFS_ALL..CLEAR_REFS_MM_HIWATER_RSS); the whole count is taken.
        FileKind::ClearRefs => {
            let mut b = vec![0u8; len.min(12)];
            cx.read_user(buf, &mut b)?;
            let text = String::from_utf8_lossy(&b);
            let t = text.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\0');
            match t.parse::<i32>() {
                Ok(1..=5) => Ok(len),
                _ => Err(Errno::EINVAL),
            }
        }
        // Pipes move through `pipe::write` (rw dispatches before this).
        FileKind::Pidfd { .. } | FileKind::Pipe(_) => Err(Errno::EINVAL),
        // Directories cannot be opened for writing; O_PATH descriptors do no I/O.
        FileKind::Dir | FileKind::ProcDir(_) | FileKind::Path => Err(Errno::EBADF),
        // null, zero, random and urandom take everything; full is full.
        FileKind::Dev(Device::Full) => Err(Errno::ENOSPC),
        FileKind::Dev(_) => Ok(len),
        FileKind::Console(s) => {
            // The console is a pipe on the host side (or a tty); pipe_write
            // copies the user buffer a page-sized chunk at a time and a chunk
            // that faults is not written: the count is the whole chunks
            // before it, EFAULT when there are none.
            let mut data = vec![0u8; len.min(CHUNK)];
            let readable = cx.read_user_prefix(buf, &mut data)?;
            let n = data.len();
            let got = if readable == n { n } else { readable / PAGE_SIZE as usize * PAGE_SIZE as usize };
            if got == 0 && n > 0 {
                return Err(Errno::EFAULT);
            }
            match cx.k.console.write(*s, &data[..got]) {
                Ok(()) => Ok(got),
                Err(Errno::EPIPE) => {
                    cx.k.send_sigpipe();
                    Err(Errno::EPIPE)
                }
                Err(e) => Err(e),
            }
        }
        FileKind::Generated(_) | FileKind::Maps { .. } | FileKind::Smaps { .. } | FileKind::Pagemap => Err(Errno::EBADF),
        FileKind::Object(obj) => {
            let mut done = 0;
            while done < len {
                let mut data = vec![0u8; (len - done).min(CHUNK)];
                let got = match cx.read_user_prefix(buf + done as u64, &mut data) {
                    Ok(g) => g,
                    Err(e) if done == 0 => return Err(e),
                    Err(_) => 0,
                };
                let put = cx.k.engine.write_object(*obj, off + done as u64, &data[..got])?;
                done += put;
                if put < data.len() {
                    break;
                }
            }
            Ok(done)
        }
    }
}

/// Where a write lands: the end of the object for O_APPEND.
fn write_pos(cx: &Ctx<'_>, kind: &FileKind, pos: u64, flags: u64) -> u64 {
    match kind {
        FileKind::Object(obj) if flags & O_APPEND != 0 => cx.k.engine.object(*obj).map_or(pos, |o| o.size),
        _ => pos,
    }
}

fn set_offset(cx: &mut Ctx<'_>, id: FileId, off: u64) {
    if let Some(f) = cx.k.files.get_mut(id) {
        f.offset = off;
    }
}

/// One user buffer of a transfer.
use super::pipe::Seg;

/// Transfers the segments in order, stopping at the first short one.
fn transfer(cx: &mut Ctx<'_>, dir: Dir, kind: &FileKind, mut pos: u64, segs: &[Seg]) -> Result<(usize, u64), Errno> {
    let mut total = 0;
    for &(buf, len) in segs {
        let r = match dir {
            Dir::Read => read_at(cx, kind, pos, buf, len),
            Dir::Write => write_at(cx, kind, pos, buf, len),
        };
        let n = match r {
            Ok(n) => n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        total += n;
        pos += n as u64;
        if n < len {
            break;
        }
    }
    Ok((total, pos))
}

/// read/write/readv/writev and their p* forms. `at` is the position of a
/// p* call (already checked non-negative).
fn rw(cx: &mut Ctx<'_>, dir: Dir, n: u32, segs: Segs, at: Option<u64>) -> SysResult {
    let (id, kind, offset, flags, allowed) = lookup(cx, n, dir)?;
    // ksys_pread64 & co: a stream has no position (before the mode check).
    if at.is_some() && !seekable(cx, &kind) {
        return Err(Errno::ESPIPE);
    }
    if !allowed {
        return Err(Errno::EBADF);
    }
    let segs = match segs {
        Segs::One(buf, len) => {
            // vfs_read/vfs_write: access_ok of the whole count, then the clamp.
            if !access_ok(buf, len) {
                return Err(Errno::EFAULT);
            }
            vec![(buf, len.min(MAX_RW_COUNT) as usize)]
        }
        Segs::Iov(vec, count) => import_iovec(cx, vec, count)?,
    };
    if let FileKind::Pipe(pipe) = kind {
        return match dir {
            Dir::Read => super::pipe::read(cx, pipe, flags, segs),
            Dir::Write => super::pipe::write(cx, pipe, flags, segs),
        };
    }
    let start = match dir {
        Dir::Write => write_pos(cx, &kind, at.unwrap_or(offset), flags),
        Dir::Read => at.unwrap_or(offset),
    };
    // seq_file: every read walks the mappings as they are now, after what the
    // reader was already given.
    let kind = match kind {
        FileKind::Maps { space, data } if dir == Dir::Read => {
            let now = cx.k.engine.maps(space, true).unwrap_or_default();
            let fresh = FileKind::Maps { space, data: crate::kernel::fs::file::continue_maps(&data, start as usize, &now).into() };
            if let Some(f) = cx.k.files.get_mut(id) {
                f.kind = fresh.clone();
            }
            fresh
        }
        FileKind::Smaps { space, .. } if dir == Dir::Read && start == 0 => {
            let fresh = FileKind::Smaps { space, data: cx.k.engine.smaps(space, true).unwrap_or_default().into_bytes().into() };
            if let Some(f) = cx.k.files.get_mut(id) {
                f.kind = fresh.clone();
            }
            fresh
        }
        k => k,
    };
    // rw_verify_area: the end of the range must not overflow a loff_t.
    let total: u64 = segs.iter().map(|s| s.1 as u64).sum();
    if matches!(kind, FileKind::Object(_)) && (start as i64).checked_add(total as i64).is_none_or(|e| e < 0) {
        return Err(Errno::EINVAL);
    }
    let segs = if dir == Dir::Write && matches!(kind, FileKind::Object(_)) { fsize_limit(cx, start, segs)? } else { segs };
    // A read of the console's stdin with nothing there yet: EAGAIN for a
    // non-blocking descriptor, else the process sleeps until there is.
    if dir == Dir::Read && kind == FileKind::Console(Stdio::In) && segs.iter().any(|s| s.1 > 0) && !cx.k.console.input_ready() {
        if flags & linux_abi::fcntl::O_NONBLOCK != 0 {
            return Err(Errno::EAGAIN);
        }
        return Ok(super::Control::Block(crate::kernel::process::Wait::Input));
    }
    let (done, end) = transfer(cx, dir, &kind, start, &segs)?;
    if at.is_none() && !matches!(kind, FileKind::Console(_)) {
        set_offset(cx, id, end);
    }
    // file_update_time: a write that stored something moves mtime and ctime.
    if dir == Dir::Write && done > 0 {
        if let Some(ino) = cx.k.files.get(id).and_then(|f| f.inode) {
            cx.k.touch_times(ino);
        }
    }
    ok(done as u64)
}

/// generic_write_check_limits: a write at or past RLIMIT_FSIZE is SIGXFSZ
/// and EFBIG; one that would cross it is cut at it.
fn fsize_limit(cx: &mut Ctx<'_>, pos: u64, mut segs: Vec<Seg>) -> Result<Vec<Seg>, Errno> {
    let limit = cx.proc().rlimit(linux_abi::resource::RLIMIT_FSIZE);
    if limit == linux_abi::resource::RLIM_INFINITY {
        return Ok(segs);
    }
    if pos >= limit {
        cx.k.send_xfsz();
        return Err(Errno::EFBIG);
    }
    let mut room = (limit - pos) as usize;
    for s in segs.iter_mut() {
        s.1 = s.1.min(room);
        room -= s.1;
    }
    segs.retain(|s| s.1 > 0);
    Ok(segs)
}

/// The buffers of a call: one, or an iovec array in user memory.
enum Segs {
    One(u64, u64),
    Iov(u64, u64),
}

/// import_iovec: validates and reads the iovec array; lengths are clamped so
/// that the total stays within MAX_RW_COUNT.
pub(super) fn import_iovec(cx: &mut Ctx<'_>, vec: u64, count: u64) -> Result<Vec<Seg>, Errno> {
    if count > UIO_MAXIOV {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; count as usize * IOVEC_SIZE];
    cx.read_user(vec, &mut raw)?;
    let mut segs = Vec::with_capacity(count as usize);
    let mut total: u64 = 0;
    for iov in raw.chunks_exact(IOVEC_SIZE) {
        let base = u64::from_le_bytes(iov[..8].try_into().expect("8 bytes"));
        let mut len = u64::from_le_bytes(iov[8..].try_into().expect("8 bytes"));
        if (len as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        if !access_ok(base, len) {
            return Err(Errno::EFAULT);
        }
        if len > MAX_RW_COUNT - total {
            len = MAX_RW_COUNT - total;
        }
        total += len;
        segs.push((base, len as usize));
    }
    Ok(segs)
}

pub(super) fn read(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    rw(cx, Dir::Read, a.fd(0), Segs::One(a.ptr(1), a.ulong(2)), None)
}

pub(super) fn write(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    rw(cx, Dir::Write, a.fd(0), Segs::One(a.ptr(1), a.ulong(2)), None)
}

/// The position of a p* call: EINVAL when negative, before the descriptor.
fn position(v: i64) -> Result<u64, Errno> {
    u64::try_from(v).map_err(|_| Errno::EINVAL)
}

pub(super) fn pread64(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let at = position(a.long(3))?;
    rw(cx, Dir::Read, a.fd(0), Segs::One(a.ptr(1), a.ulong(2)), Some(at))
}

pub(super) fn pwrite64(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let at = position(a.long(3))?;
    rw(cx, Dir::Write, a.fd(0), Segs::One(a.ptr(1), a.ulong(2)), Some(at))
}

pub(super) fn readv(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    rw(cx, Dir::Read, a.fd(0), Segs::Iov(a.ptr(1), a.ulong(2)), None)
}

pub(super) fn writev(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    rw(cx, Dir::Write, a.fd(0), Segs::Iov(a.ptr(1), a.ulong(2)), None)
}

pub(super) fn preadv(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let at = position(a.long(3))?;
    rw(cx, Dir::Read, a.fd(0), Segs::Iov(a.ptr(1), a.ulong(2)), Some(at))
}

pub(super) fn pwritev(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let at = position(a.long(3))?;
    rw(cx, Dir::Write, a.fd(0), Segs::Iov(a.ptr(1), a.ulong(2)), Some(at))
}

pub(super) fn lseek(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (id, f) = fd::file(cx, a.fd(0))?;
    let (kind, cur) = (f.kind.clone(), f.offset as i64);
    let (off, whence) = (a.long(1), a.uint(2) as u64);
    if whence > SEEK_HOLE {
        return Err(Errno::EINVAL);
    }
    if !seekable(cx, &kind) {
        return Err(Errno::ESPIPE);
    }
    let new = match &kind {
        // /dev/null and other character devices the console may be: always 0.
        FileKind::Console(_) => 0,
        FileKind::Pidfd { .. } | FileKind::Pipe(_) => return Err(Errno::ESPIPE),
        FileKind::Path => return Err(Errno::EBADF),
        // null, zero, full and random: always 0 (null_lseek, noop_llseek).
        FileKind::Dev(_) => 0,
        // dcache_dir_lseek / offset_dir_llseek: SEEK_SET and SEEK_CUR to a
        // position >= 0.
        FileKind::Dir | FileKind::ProcDir(_) => match whence {
            SEEK_SET => off,
            SEEK_CUR => cur.checked_add(off).ok_or(Errno::EINVAL)?,
            _ => return Err(Errno::EINVAL),
        },
        // noop_llseek.
        FileKind::ClearRefs => cur,
        // seq_lseek and mem_lseek: SEEK_SET and SEEK_CUR only.
        FileKind::Generated(_) | FileKind::Maps { .. } | FileKind::Smaps { .. } | FileKind::Pagemap => match whence {
            SEEK_SET => off,
            SEEK_CUR => cur.checked_add(off).ok_or(Errno::EINVAL)?,
            _ => return Err(Errno::EINVAL),
        },
        FileKind::Object(obj) => {
            let size = cx.k.engine.object(*obj).ok_or(Errno::EBADF)?.size as i64;
            match whence {
                SEEK_SET => off,
                SEEK_CUR => cur.checked_add(off).ok_or(Errno::EINVAL)?,
                SEEK_END => size.checked_add(off).ok_or(Errno::EINVAL)?,
                // generic_file_llseek_size: the whole file is data, its end the only hole.
                SEEK_DATA if off < 0 || off >= size => return Err(Errno::ENXIO),
                SEEK_DATA => off,
                SEEK_HOLE if off < 0 || off >= size => return Err(Errno::ENXIO),
                _ => size,
            }
        }
    };
    if new < 0 {
        return Err(Errno::EINVAL);
    }
    set_offset(cx, id, new as u64);
    ok(new as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_ok_is_the_user_half_without_wrapping() {
        assert!(access_ok(0x1000, 0x1000));
        assert!(access_ok(TASK_SIZE - 8, 8));
        assert!(!access_ok(TASK_SIZE - 8, 9));
        assert!(!access_ok(u64::MAX - 4, 16));
        assert!(access_ok(0, 0));
    }
}
