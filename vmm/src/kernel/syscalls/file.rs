//! File calls: open/openat/creat, unlink/unlinkat, memfd_create, ftruncate,
//! fallocate, fstat/newfstatat, readlink/readlinkat.
//!
//! Argument checks come in Linux's order with Linux's errno (fs/open.c,
//! fs/namei.c, fs/stat.c, mm/memfd.c); data moves through the engine's
//! objects, so what write(2) stores is what mmap shows. The namespace is the
//! flat one of `kernel::fs` (no directories before issue 12).

use super::{fd, ok, Args, Ctx, SysResult};
use crate::kernel::fs::{FileKind, Vfs};
use guest_mm::objects::ObjectKind;
use guest_mm::{Errno, ObjectId};
use linux_abi::fcntl::*;
use linux_abi::mman::{MFD_ALLOW_SEALING, MFD_CLOEXEC, MFD_EXEC, MFD_HUGETLB, MFD_NAME_MAX, MFD_NOEXEC_SEAL};
use linux_abi::stat::{makedev, Stat, S_IFCHR, S_IFREG};

/// What F_GETFL reports for a file opened with `flags`: the open-only flags
/// are gone and O_LARGEFILE is forced on 64-bit (do_sys_openat2, do_dentry_open).
fn status_flags(flags: u64) -> u64 {
    (flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC)) | O_LARGEFILE
}

/// The /proc/sys values the guest can read (issue 12 brings the rest of
/// procfs): what the guest's kernel uses, each as its sysctl prints it.
fn sysctl(cx: &Ctx<'_>, name: &str) -> Option<String> {
    let limits = &cx.k.engine.config().limits;
    Some(match name {
        "vm/mmap_min_addr" => limits.dac_mmap_min_addr.to_string(),
        "vm/max_map_count" => limits.max_map_count.to_string(),
        // The heuristic (OVERCOMMIT_GUESS), the only mode the engine has.
        "vm/overcommit_memory" => "0".into(),
        "kernel/pid_max" => crate::kernel::PID_MAX.to_string(),
        "kernel/threads-max" => cx.k.max_procs.to_string(),
        // The pipe limits `fs::pipe` applies (the defaults; not writable here).
        "fs/pipe-max-size" => linux_abi::pipe::PIPE_MAX_SIZE.to_string(),
        "fs/pipe-user-pages-soft" => linux_abi::pipe::PIPE_USER_PAGES_SOFT.to_string(),
        "fs/pipe-user-pages-hard" => "0".into(),
        _ => return None,
    })
}

/// /proc/self files and /proc/sys values. maps is generated at open and by
/// every read from offset 0 (as Linux's seq_file); /proc/sys values are
/// read-only here (writing a sysctl is not implemented: EACCES).
fn open_proc(cx: &mut Ctx<'_>, name: &str, flags: u64) -> Option<Result<i32, Errno>> {
    let kind = if let Some(s) = name.strip_prefix("/proc/sys/") {
        let Some(v) = sysctl(cx, s) else { return Some(Err(Errno::ENOENT)) };
        FileKind::Generated(format!("{v}\n").into_bytes().into())
    } else {
        let file = name.strip_prefix("/proc/self/").or_else(|| name.strip_prefix("/proc/thread-self/"))?;
        let space = cx.space();
        match file {
            // Mode 0200: only a write-only open is permitted (no capabilities).
            "clear_refs" if flags & O_ACCMODE != O_WRONLY => return Some(Err(Errno::EACCES)),
            "clear_refs" => return Some(fd::install(cx, FileKind::ClearRefs, status_flags(flags), flags & O_CLOEXEC != 0)),
            "maps" => FileKind::Maps { space, data: cx.k.engine.maps(space, true).unwrap_or_default().into_bytes().into() },
            "pagemap" => FileKind::Pagemap,
            _ => return Some(Err(Errno::ENOENT)),
        }
    };
    if flags & O_ACCMODE != O_RDONLY {
        return Some(Err(Errno::EACCES));
    }
    Some(fd::install(cx, kind, status_flags(flags), flags & O_CLOEXEC != 0))
}

fn do_open(cx: &mut Ctx<'_>, dirfd: i32, path: u64, flags: u64) -> SysResult {
    let name = cx.read_path(path)?;
    if !name.starts_with('/') && dirfd as i64 != AT_FDCWD {
        // Only the one directory exists: any other dirfd is not a directory.
        cx.proc().fds.get(dirfd as u32)?;
        return Err(Errno::ENOTDIR);
    }
    let acc = flags & O_ACCMODE;
    if acc == 3 {
        return Err(Errno::EINVAL);
    }
    if let Some(r) = open_proc(cx, &Vfs::normalise(&name), flags) {
        return r.map(|n| super::Control::Return(n as u64));
    }
    let write = acc != O_RDONLY;
    let obj = match cx.k.vfs.lookup(&name) {
        Some(_) if flags & (O_CREAT | O_EXCL) == O_CREAT | O_EXCL => return Err(Errno::EEXIST),
        Some(o) => o,
        None if flags & O_CREAT != 0 => {
            let o = cx.k.engine.create_file(&Vfs::normalise(&name), Vec::<u8>::new().into(), true);
            cx.k.vfs.link(&name, o);
            o
        }
        None => return Err(Errno::ENOENT),
    };
    if flags & O_DIRECTORY != 0 {
        return Err(Errno::ENOTDIR);
    }
    let object = cx.k.engine.object(obj).ok_or(Errno::ENOENT)?;
    if object.is_revoked() {
        return Err(Errno::ENODEV);
    }
    if write && !object.may_write_shared() {
        return Err(Errno::EACCES);
    }
    if flags & O_TRUNC != 0 && write {
        let (r, u) = cx.k.engine.truncate(obj, 0).split();
        cx.k.pending.absorb(u);
        r?;
    }
    cx.k.engine.hold_object(obj).map_err(|_| Errno::EBADF)?;
    match fd::install(cx, FileKind::Object(obj), status_flags(flags), flags & O_CLOEXEC != 0) {
        Ok(n) => ok(n as u64),
        Err(e) => {
            let _ = cx.k.engine.put_object(obj);
            Err(e)
        }
    }
}

pub(super) fn open(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_open(cx, AT_FDCWD as i32, a.ptr(0), a.int(1) as u32 as u64)
}

pub(super) fn openat(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_open(cx, a.int(0), a.ptr(1), a.int(2) as u32 as u64)
}

pub(super) fn creat(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_open(cx, AT_FDCWD as i32, a.ptr(0), O_CREAT | O_WRONLY | O_TRUNC)
}

fn do_unlink(cx: &mut Ctx<'_>, path: u64) -> SysResult {
    let name = cx.read_path(path)?;
    // Device nodes live in /dev, which an unprivileged process may not
    // change (may_delete: no write permission on the directory).
    if name.starts_with("/dev/") && cx.k.vfs.lookup(&name).is_some() {
        return Err(Errno::EACCES);
    }
    let obj = cx.k.vfs.unlink(&name).ok_or(Errno::ENOENT)?;
    let _ = cx.k.engine.put_object(obj);
    ok(0)
}

pub(super) fn unlink(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_unlink(cx, a.ptr(0))
}

pub(super) fn unlinkat(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let flags = a.int(2) as u32 as u64;
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & AT_REMOVEDIR != 0 {
        let name = cx.read_path(a.ptr(1))?;
        // There are no directories yet: a file is not one, nothing else exists.
        return Err(if cx.k.vfs.lookup(&name).is_some() { Errno::ENOTDIR } else { Errno::ENOENT });
    }
    do_unlink(cx, a.ptr(1))
}

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
fn grow_ok(cx: &mut Ctx<'_>, obj: ObjectId, new_size: u64) -> Result<(), Errno> {
    let size = cx.k.engine.object(obj).ok_or(Errno::EBADF)?.size;
    let limit = cx.proc().rlimit(linux_abi::resource::RLIMIT_FSIZE);
    if new_size > size && limit != linux_abi::resource::RLIM_INFINITY && new_size > limit {
        cx.k.send_xfsz();
        return Err(Errno::EFBIG);
    }
    Ok(())
}

/// The made-up device of the guest's files (an anonymous block device, as tmpfs has).
const FILES_DEV: u64 = makedev(0, 0x2a);

/// fstat of an object: a regular file (memfds are unlinked: nlink 0), or a
/// character device for a memory window.
fn stat_object(cx: &Ctx<'_>, obj: ObjectId) -> Result<Stat, Errno> {
    let o = cx.k.engine.object(obj).ok_or(Errno::EBADF)?;
    let c = &cx.proc().creds;
    let (mode, nlink, rdev) = match &o.kind {
        ObjectKind::Device { .. } => (S_IFCHR | 0o600, 1, makedev(10, 200)),
        ObjectKind::Shmem if o.name.starts_with("/memfd:") => (S_IFREG | 0o777, 0, 0),
        ObjectKind::Shmem => (S_IFREG | 0o600, 0, 0),
        ObjectKind::File { writable: true, .. } => (S_IFREG | 0o644, cx.k.vfs.links(obj), 0),
        ObjectKind::File { writable: false, .. } => (S_IFREG | 0o444, cx.k.vfs.links(obj), 0),
    };
    let size = o.size as i64;
    Ok(Stat {
        dev: FILES_DEV,
        ino: o.inode,
        nlink,
        mode,
        uid: c.fsuid,
        gid: c.fsgid,
        rdev,
        size,
        blksize: 4096,
        blocks: (size + 4095) / 4096 * 8,
        ..Default::default()
    })
}

fn stat_fd(cx: &Ctx<'_>, n: u32) -> Result<Stat, Errno> {
    let (id, f) = fd::file(cx, n)?;
    match f.kind.clone() {
        FileKind::Console(s) => Ok(cx.k.console_info.stat(s)),
        FileKind::Object(obj) => stat_object(cx, obj),
        FileKind::Pipe(pipe) => Ok(super::pipe::stat(cx, pipe)),
        // A pidfs inode: no file type bits, mode 0700.
        FileKind::Pidfd { .. } => Ok(Stat {
            dev: makedev(0, 0xd),
            ino: 0x2000 + id.0,
            nlink: 1,
            mode: 0o700,
            uid: cx.proc().creds.euid,
            gid: cx.proc().creds.egid,
            blksize: 4096,
            ..Default::default()
        }),
        // procfs files: read-only, or write-only for clear_refs.
        k @ (FileKind::Generated(_) | FileKind::Maps { .. } | FileKind::Pagemap | FileKind::ClearRefs) => Ok(Stat {
            dev: makedev(0, 0x16),
            ino: 0x1000 + id.0,
            nlink: 1,
            mode: S_IFREG | if k == FileKind::ClearRefs { 0o200 } else { 0o444 },
            uid: cx.proc().creds.euid,
            gid: cx.proc().creds.egid,
            blksize: 1024,
            ..Default::default()
        }),
    }
}

pub(super) fn fstat(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let st = stat_fd(cx, a.fd(0))?;
    cx.write_user(a.ptr(1), &st.to_bytes())?;
    ok(0)
}

pub(super) fn newfstatat(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let flags = a.int(3) as u32 as u64;
    // vfs_fstatat: an empty (or, since 6.11, NULL) path with AT_EMPTY_PATH
    // on a descriptor is fstat, whatever the other flags.
    let name = if a.ptr(1) == 0 && flags & AT_EMPTY_PATH != 0 { Vec::new() } else { cx.read_cstr(a.ptr(1), super::super::fs::PATH_MAX)? };
    let st = if name.is_empty() && flags & AT_EMPTY_PATH != 0 && a.int(0) >= 0 {
        stat_fd(cx, a.fd(0))?
    } else if flags & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE) != 0 {
        return Err(Errno::EINVAL);
    } else if name.is_empty() {
        // No AT_EMPTY_PATH, or the current directory: there is no directory
        // object in the flat namespace yet.
        return Err(Errno::ENOENT);
    } else {
        let name = String::from_utf8_lossy(&name).into_owned();
        if !name.starts_with('/') && a.int(0) as i64 != AT_FDCWD {
            cx.proc().fds.get(a.fd(0))?;
            return Err(Errno::ENOTDIR);
        }
        let obj = cx.k.vfs.lookup(&name).ok_or(Errno::ENOENT)?;
        stat_object(cx, obj)?
    };
    cx.write_user(a.ptr(2), &st.to_bytes())?;
    ok(0)
}

fn do_readlink(cx: &mut Ctx<'_>, path: u64, buf: u64, size: i32) -> SysResult {
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    let name = cx.read_path(path)?;
    let target = match name.as_str() {
        "/proc/self/exe" | "/proc/thread-self/exe" => cx.proc().exe.clone(),
        fd if super::pipe::fd_link(cx, fd).is_some() => super::pipe::fd_link(cx, fd).unwrap_or_default(),
        other if cx.k.vfs.lookup(other).is_some() => return Err(Errno::EINVAL),
        _ => return Err(Errno::ENOENT),
    };
    let n = target.len().min(size as usize);
    cx.write_user(buf, &target.as_bytes()[..n])?;
    ok(n as u64)
}

pub(super) fn readlink(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_readlink(cx, a.ptr(0), a.ptr(1), a.int(2))
}

pub(super) fn readlinkat(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_readlink(cx, a.ptr(1), a.ptr(2), a.int(3))
}

/// getcwd(2): the flat namespace's one directory, "/" (issue 12 brings
/// directories). ERANGE when the buffer cannot hold it with its NUL.
pub(super) fn getcwd(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    const CWD: &[u8] = b"/\0";
    if a.ulong(1) < CWD.len() as u64 {
        return Err(Errno::ERANGE);
    }
    cx.write_user(a.ptr(0), CWD)?;
    ok(CWD.len() as u64)
}

/// umask(2): the new mask is the argument's permission bits (S_IRWXUGO);
/// returns the old one. (Files created with O_CREAT do not record a mode
/// yet: the VFS of issue 12 applies the mask.)
pub(super) fn umask(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let old = cx.proc().umask;
    cx.proc_mut().umask = a.uint(0) & 0o777;
    ok(old as u64)
}
