//! File calls on descriptors that change a file's data: memfd_create,
//! ftruncate, fallocate; and umask.
//!
//! Argument checks come in Linux's order with Linux's errno (fs/open.c,
//! mm/memfd.c); data moves through the engine's objects, so what write(2)
//! stores is what mmap shows.

use super::{fd, ok, Args, Ctx, SysResult};
use crate::kernel::fs::FileKind;
use guest_mm::{Errno, ObjectId};
use linux_abi::fcntl::*;
use linux_abi::mman::{MFD_ALLOW_SEALING, MFD_CLOEXEC, MFD_EXEC, MFD_HUGETLB, MFD_NAME_MAX, MFD_NOEXEC_SEAL};

pub(super) fn memfd_create(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let flags = a.uint(1) as u64;
    if flags & !(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MFD_EXEC != 0 && flags & MFD_NOEXEC_SEAL != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MFD_HUGETLB != 0 {
        // No hugetlbfs in the guest.
        return Err(Errno::EINVAL);
    }
    let n = cx.read_cstr(a.ptr(0), MFD_NAME_MAX + 1).map_err(|e| if e == Errno::ENAMETOOLONG { Errno::EINVAL } else { e })?;
    let obj = cx.k.engine.create_memfd(&String::from_utf8_lossy(&n));
    // MFD_NOEXEC_SEAL starts sealable with F_SEAL_EXEC; MFD_ALLOW_SEALING
    // with no seal; otherwise F_SEAL_SEAL (memfd_create).
    if flags & MFD_NOEXEC_SEAL != 0 {
        if let Some(o) = cx.k.engine.object_mut_seals(obj) {
            *o = linux_abi::fcntl::F_SEAL_EXEC;
        }
    } else if flags & MFD_ALLOW_SEALING != 0 {
        cx.k.engine.allow_sealing(obj);
    }
    let r = fd::install(cx, FileKind::Object(obj), O_RDWR | O_LARGEFILE, flags & MFD_CLOEXEC != 0);
    if r.is_err() {
        let _ = cx.k.engine.put_object(obj);
    }
    ok(r? as u64)
}

/// The object behind a descriptor open for writing (ftruncate, fallocate).
fn writable_object(cx: &Ctx<'_>, n: u32, not_writable: Errno) -> Result<ObjectId, Errno> {
    let (_, f) = fd::file(cx, n)?;
    match f.kind {
        FileKind::Object(obj) if f.writable() => Ok(obj),
        _ => Err(not_writable),
    }
}

pub(super) fn ftruncate(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let len = a.long(1);
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let obj = writable_object(cx, a.fd(0), Errno::EINVAL)?;
    grow_ok(cx, obj, len as u64)?;
    let (r, u) = cx.k.engine.truncate(obj, len as u64).split();
    cx.k.pending.absorb(u);
    r?;
    // do_sys_ftruncate asks for ATTR_MTIME | ATTR_CTIME: both move, whether
    // the size changed or not.
    if let Some(ino) = fd::file(cx, a.fd(0)).ok().and_then(|(_, f)| f.inode) {
        cx.k.touch_times(ino);
    }
    ok(0)
}

pub(super) fn fallocate(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (mode, offset, len) = (a.int(1) as u32 as u64, a.long(2), a.long(3));
    if offset < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    let (offset, len) = (offset as u64, len as u64);
    let obj = writable_object(cx, a.fd(0), Errno::EBADF)?;
    match mode {
        m if m == FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE => {
            let (r, u) = cx.k.engine.punch_hole(obj, offset, len).split();
            cx.k.pending.absorb(u);
            r?;
            ok(0)
        }
        FALLOC_FL_PUNCH_HOLE => Err(Errno::EOPNOTSUPP),
        0 | FALLOC_FL_KEEP_SIZE => {
            let end = offset.checked_add(len).ok_or(Errno::EFBIG)?;
            let size = cx.k.engine.object(obj).ok_or(Errno::EBADF)?.size;
            if mode == 0 && end > size {
                grow_ok(cx, obj, end)?;
                let (r, u) = cx.k.engine.truncate(obj, end).split();
                cx.k.pending.absorb(u);
                r?;
            }
            ok(0)
        }
        _ => Err(Errno::EOPNOTSUPP),
    }
}

/// inode_newsize_ok: growing a file past RLIMIT_FSIZE is SIGXFSZ and EFBIG.
pub(super) fn grow_ok(cx: &mut Ctx<'_>, obj: ObjectId, new_size: u64) -> Result<(), Errno> {
    let size = cx.k.engine.object(obj).ok_or(Errno::EBADF)?.size;
    let limit = cx.proc().rlimit(linux_abi::resource::RLIMIT_FSIZE);
    if new_size > size && limit != linux_abi::resource::RLIM_INFINITY && new_size > limit {
        cx.k.send_xfsz();
        return Err(Errno::EFBIG);
    }
    Ok(())
}

/// umask(2): the new mask is the argument's permission bits (S_IRWXUGO);
/// returns the old one. open, mkdir and O_TMPFILE apply it.
pub(super) fn umask(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let old = cx.proc().umask;
    cx.proc_mut().umask = a.uint(0) & 0o777;
    ok(old as u64)
}
