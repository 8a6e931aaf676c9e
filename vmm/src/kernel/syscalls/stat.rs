//! stat, lstat, fstat, newfstatat, statx, statfs, fstatfs and getdents64
//! (fs/stat.c, fs/statfs.c, fs/readdir.c; tmpfs's shmem_getattr and
//! simple_offset readdir; procfs's proc_pid_getattr).
//!
//! Attributes come from the inode (mode, owner, links, times), the size and
//! blocks from the engine object behind a regular file (for tmpfs, blocks
//! count the pages present, as shmem does). Descriptors without an inode
//! (memfds, the console, pidfds, procfs files) answer as their Linux
//! counterparts do.

use super::open::start_at;
use super::{fd, ok, Args, Ctx, SysResult};
use crate::kernel::fs::inode::{Data, Device, Ino, Node, Sb};
use crate::kernel::fs::procfs::{ProcNode, Shape};
use crate::kernel::fs::{FileId, FileKind, Follow, Found};
use guest_mm::objects::ObjectKind;
use guest_mm::{Errno, ObjectId};
use linux_abi::fcntl::*;
use linux_abi::stat::{major, makedev, minor, Stat, S_IFCHR, S_IFDIR, S_IFREG};

/// tmpfs's BOGO_DIRENT_SIZE: a directory's st_size grows by this per entry.
const BOGO_DIRENT_SIZE: i64 = 20;

/// The made-up device of files the VMM provides without a name (memfds).
const ANON_DEV: u64 = makedev(0, 1);

fn blocks_of(bytes: i64) -> i64 {
    (bytes + 511) / 512
}

/// fstat of an object without an inode: a memfd (nlink 0) or shmem.
fn stat_object(cx: &Ctx<'_>, obj: ObjectId) -> Result<Stat, Errno> {
    let o = cx.k.engine.object(obj).ok_or(Errno::EBADF)?;
    let c = &cx.proc().creds;
    let (mode, rdev) = match &o.kind {
        ObjectKind::Device { .. } => (S_IFCHR | 0o600, makedev(10, 200)),
        ObjectKind::Shmem if o.name.starts_with("/memfd:") => (S_IFREG | 0o777, 0),
        ObjectKind::Shmem => (S_IFREG | 0o600, 0),
        ObjectKind::File { writable, .. } => (S_IFREG | if *writable { 0o644 } else { 0o444 }, 0),
    };
    let size = o.size as i64;
    let blocks = (o.cached_count() as i64) * 8;
    Ok(Stat {
        dev: ANON_DEV,
        ino: o.inode,
        nlink: 0,
        mode,
        uid: c.fsuid,
        gid: c.fsgid,
        rdev,
        size,
        blksize: 4096,
        blocks,
        ..Default::default()
    })
}

/// Stat of an inode.
pub(super) fn stat_inode(cx: &Ctx<'_>, ino: Ino) -> Result<Stat, Errno> {
    let i = cx.k.vfs.get(ino).ok_or(Errno::ENOENT)?;
    let (size, blocks, rdev) = match &i.node {
        Node::Dir(d) => ((d.entries.len() as i64 + 2) * BOGO_DIRENT_SIZE, 0, 0),
        Node::ProcRoot => (0, 0, 0),
        Node::Symlink(t) => (t.len() as i64, 0, 0),
        Node::File(Data::Host { size, .. }) => (*size as i64, blocks_of(*size as i64 + 4095) / 8 * 8, 0),
        Node::File(Data::Object(o)) => {
            let o = cx.k.engine.object(*o).ok_or(Errno::ENOENT)?;
            let size = o.size as i64;
            let blocks = if i.sb.is_shmem() { o.cached_count() as i64 * 8 } else { (size + 4095) / 4096 * 8 };
            (size, blocks, 0)
        }
        Node::Char(d) => (0, 0, d.rdev()),
    };
    Ok(Stat {
        dev: i.sb.dev(),
        ino: ino.0,
        nlink: i.nlink as u64,
        mode: i.mode,
        uid: i.uid,
        gid: i.gid,
        rdev,
        size,
        blksize: 4096,
        blocks,
        atime: i.atime,
        mtime: i.mtime,
        ctime: i.ctime,
    })
}

fn stat_proc(cx: &Ctx<'_>, n: &ProcNode) -> Stat {
    let (uid, gid) = n.owner(cx.k);
    let nlink = match n.shape() {
        // pid_entry_nlink: 2 + the directories of tgid_base_stuff (task, fd,
        // map_files, fdinfo, ns, net, attr), whether or not we have them all.
        _ if matches!(n, ProcNode::Pid(_)) => 9,
        Shape::Dir => 2 + n.list(cx.k).iter().filter(|(_, c)| c.shape() == Shape::Dir).count() as u64,
        _ => 1,
    };
    let now = cx.k.now();
    Stat {
        dev: Sb::Proc.dev(),
        ino: n.ino().0,
        nlink,
        mode: n.mode(),
        uid,
        gid,
        blksize: 1024,
        atime: now,
        mtime: now,
        ctime: now,
        ..Default::default()
    }
}

/// fstat of a description.
pub(super) fn stat_file(cx: &Ctx<'_>, id: FileId) -> Result<Stat, Errno> {
    let f = cx.k.files.get(id).ok_or(Errno::EBADF)?;
    if let Some(ino) = f.inode {
        return stat_inode(cx, ino);
    }
    match f.kind.clone() {
        FileKind::Console(s) => Ok(cx.k.console_info.stat(s)),
        FileKind::Object(obj) => stat_object(cx, obj),
        FileKind::ProcDir(n) => Ok(stat_proc(cx, &n)),
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
        FileKind::Dev(d) => Ok(Stat {
            dev: Sb::Dev.dev(),
            ino: 0x3000 + id.0,
            nlink: 1,
            mode: S_IFCHR | 0o666,
            rdev: d.rdev(),
            blksize: 4096,
            ..Default::default()
        }),
        // procfs files: read-only, or write-only for clear_refs.
        k @ (FileKind::Generated(_) | FileKind::Maps { .. } | FileKind::Smaps { .. } | FileKind::Pagemap | FileKind::ClearRefs) => {
            Ok(Stat {
                dev: Sb::Proc.dev(),
                ino: 0x1000 + id.0,
                nlink: 1,
                mode: S_IFREG | if k == FileKind::ClearRefs { 0o200 } else { 0o444 },
                uid: cx.proc().creds.euid,
                gid: cx.proc().creds.egid,
                blksize: 1024,
                ..Default::default()
            })
        }
        FileKind::Dir | FileKind::Path => Err(Errno::EBADF),
    }
}

/// Stat of what a walk found.
pub(super) fn stat_found(cx: &Ctx<'_>, f: &Found) -> Result<Stat, Errno> {
    match f {
        Found::Ino(i) => stat_inode(cx, *i),
        Found::Proc(n) => Ok(stat_proc(cx, n)),
        Found::File(id) => stat_file(cx, *id),
    }
}

fn stat_path(cx: &mut Ctx<'_>, dirfd: i32, path: u64, flags: u64) -> Result<Stat, Errno> {
    let found = super::namei::lookup_at(cx, dirfd, path, flags)?;
    stat_found(cx, &found)
}

pub(super) fn stat(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let st = stat_path(cx, AT_FDCWD as i32, a.ptr(0), 0)?;
    cx.write_user(a.ptr(1), &st.to_bytes())?;
    ok(0)
}

pub(super) fn lstat(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let st = stat_path(cx, AT_FDCWD as i32, a.ptr(0), AT_SYMLINK_NOFOLLOW)?;
    cx.write_user(a.ptr(1), &st.to_bytes())?;
    ok(0)
}

pub(super) fn fstat(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (id, _) = fd::file(cx, a.fd(0))?;
    let st = stat_file(cx, id)?;
    cx.write_user(a.ptr(1), &st.to_bytes())?;
    ok(0)
}

pub(super) fn newfstatat(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let flags = a.int(3) as u32 as u64;
    // vfs_fstatat: an empty (or, since 6.11, NULL) path with AT_EMPTY_PATH
    // on a descriptor is fstat, whatever the other flags.
    if flags & AT_EMPTY_PATH != 0 && a.int(0) >= 0 {
        let empty = a.ptr(1) == 0 || cx.read_cstr(a.ptr(1), crate::kernel::fs::PATH_MAX)?.is_empty();
        if empty {
            let (id, _) = fd::file(cx, a.fd(0))?;
            let st = stat_file(cx, id)?;
            cx.write_user(a.ptr(2), &st.to_bytes())?;
            return ok(0);
        }
    }
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE) != 0 {
        return Err(Errno::EINVAL);
    }
    let st = stat_path(cx, a.int(0), a.ptr(1), flags)?;
    cx.write_user(a.ptr(2), &st.to_bytes())?;
    ok(0)
}

/// STATX_* bits: the basic stats, and the mount id.
const STATX_BASIC_STATS: u32 = 0x7ff;
const STATX_MNT_ID: u32 = 0x1000;
const STATX_RESERVED: u32 = 0x8000_0000;
const STATX_SIZE: usize = 256;

pub(super) fn statx(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let flags = a.int(2) as u32 as u64;
    let mask = a.uint(3);
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE) != 0
        || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE
    {
        return Err(Errno::EINVAL);
    }
    if mask & STATX_RESERVED != 0 {
        return Err(Errno::EINVAL);
    }
    let found = super::namei::lookup_at(cx, a.int(0), a.ptr(1), flags)?;
    let st = stat_found(cx, &found)?;
    let mnt = match &found {
        Found::Ino(i) => cx.k.vfs.get(*i).map_or(0, |i| i.sb as u64 + 20),
        Found::Proc(_) => Sb::Proc as u64 + 20,
        Found::File(_) => 0,
    };
    let mut b = [0u8; STATX_SIZE];
    let mut put = |off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
    put(0, &(STATX_BASIC_STATS | STATX_MNT_ID).to_le_bytes());
    put(4, &(st.blksize as u32).to_le_bytes());
    put(16, &(st.nlink as u32).to_le_bytes());
    put(20, &st.uid.to_le_bytes());
    put(24, &st.gid.to_le_bytes());
    put(28, &(st.mode as u16).to_le_bytes());
    put(32, &st.ino.to_le_bytes());
    put(40, &(st.size as u64).to_le_bytes());
    put(48, &(st.blocks as u64).to_le_bytes());
    for (off, t) in [(64, st.atime), (96, st.ctime), (112, st.mtime)] {
        put(off, &t.0.to_le_bytes());
        put(off + 8, &(t.1 as u32).to_le_bytes());
    }
    put(128, &major(st.rdev).to_le_bytes());
    put(132, &minor(st.rdev).to_le_bytes());
    put(136, &major(st.dev).to_le_bytes());
    put(140, &minor(st.dev).to_le_bytes());
    put(144, &mnt.to_le_bytes());
    cx.write_user(a.ptr(4), &b)?;
    ok(0)
}

/// struct statfs for a file system (shmem_statfs, proc's simple_statfs).
fn statfs_of(cx: &Ctx<'_>, sb: Sb) -> [u8; 120] {
    let total = cx.k.engine.frames().total();
    let free = cx.k.engine.frames().free_count();
    // tmpfs's default size and inode limits: half of RAM (in pages).
    let (blocks, bfree, files, ffree) = if sb.is_shmem() || sb == Sb::Root {
        (total / 2, (free / 2).min(total / 2), total / 2, (total / 2).saturating_sub(cx.k.vfs.len() as u64))
    } else {
        (0, 0, 0, 0)
    };
    let bsize: i64 = 4096;
    // ST_NOSUID 2, ST_NODEV 4, ST_NOEXEC 8, ST_RELATIME 0x400.
    let flags: i64 = 0x20
        | match sb {
            Sb::Root => 0x400,
            Sb::Tmp | Sb::Shm => 0x400 | 2 | 4,
            Sb::Dev => 0x400 | 2,
            Sb::Proc | Sb::Sys => 0x400 | 2 | 4 | 8,
        };
    let mut b = [0u8; 120];
    let mut put = |off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
    put(0, &(sb.magic() as i64).to_le_bytes());
    put(8, &bsize.to_le_bytes());
    put(16, &blocks.to_le_bytes());
    put(24, &bfree.to_le_bytes());
    put(32, &bfree.to_le_bytes());
    put(40, &files.to_le_bytes());
    put(48, &ffree.to_le_bytes());
    put(64, &255i64.to_le_bytes());
    put(72, &bsize.to_le_bytes());
    put(80, &flags.to_le_bytes());
    b
}

fn sb_of(cx: &Ctx<'_>, f: &Found) -> Sb {
    match f {
        Found::Ino(i) => cx.k.vfs.get(*i).map_or(Sb::Root, |i| i.sb),
        Found::Proc(_) => Sb::Proc,
        Found::File(id) => match cx.k.files.get(*id).map(|f| (&f.kind, f.inode)) {
            Some((_, Some(i))) => cx.k.vfs.get(i).map_or(Sb::Root, |i| i.sb),
            Some((FileKind::Object(_), None)) => Sb::Shm,
            _ => Sb::Root,
        },
    }
}

pub(super) fn statfs(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let name = cx.read_path(a.ptr(0))?;
    let start = start_at(cx, AT_FDCWD as i32, &name)?;
    let f = cx.k.walk(&start, &name, Follow::Yes)?;
    let b = statfs_of(cx, sb_of(cx, &f));
    cx.write_user(a.ptr(1), &b)?;
    ok(0)
}

pub(super) fn fstatfs(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (id, f) = fd::file(cx, a.fd(0))?;
    let found = match (&f.kind, f.inode) {
        (FileKind::ProcDir(n), _) => Found::Proc(n.clone()),
        (_, Some(i)) => Found::Ino(i),
        _ => Found::File(id),
    };
    let b = statfs_of(cx, sb_of(cx, &found));
    cx.write_user(a.ptr(1), &b)?;
    ok(0)
}

/// One linux_dirent64 record.
fn dirent(ino: u64, next: u64, d_type: u8, name: &str) -> Vec<u8> {
    let reclen = (19 + name.len() + 1).div_ceil(8) * 8;
    let mut r = vec![0u8; reclen];
    r[0..8].copy_from_slice(&ino.to_le_bytes());
    r[8..16].copy_from_slice(&next.to_le_bytes());
    r[16..18].copy_from_slice(&(reclen as u16).to_le_bytes());
    r[18] = d_type;
    r[19..19 + name.len()].copy_from_slice(name.as_bytes());
    r
}

/// getdents64: entries from the description's position, as many whole
/// records as fit (EINVAL if not even one does); the position moves past
/// the last one returned.
pub(super) fn getdents64(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (id, f) = fd::file(cx, a.fd(0))?;
    let pos = f.offset;
    let count = a.uint(2) as usize;
    let (kind, inode) = (f.kind.clone(), f.inode);
    // (name, ino, d_type, position after it)
    let mut list: Vec<(String, u64, u8, u64)> = Vec::new();
    match (&kind, inode) {
        (FileKind::Dir, Some(dir)) => {
            let d = cx.k.vfs.get(dir).ok_or(Errno::ENOENT)?;
            if d.nlink == 0 {
                return ok(0);
            }
            let parent = d.dir().map_or(dir, |d| d.parent);
            if pos == 0 {
                list.push((".".into(), dir.0, 4, 1));
            }
            if pos <= 1 {
                list.push(("..".into(), parent.0, 4, 2));
            }
            for (name, e) in cx.k.vfs.entries_from(dir, pos.max(2)) {
                let Some(t) = cx.k.vfs.get(e.ino).map(d_type_of) else { continue };
                let ino = e.ino.0;
                list.push((name, ino, t, e.cookie + 1));
            }
        }
        (FileKind::ProcDir(n), _) => {
            let entries = n.list(cx.k);
            let parent = n.parent().map_or(cx.k.vfs.root.0, |p| p.ino().0);
            let all = [(".".to_string(), n.ino().0, 4u8), ("..".to_string(), parent, 4)]
                .into_iter()
                .chain(entries.into_iter().map(|(name, c)| (name, c.ino().0, (c.mode() >> 12) as u8)));
            for (i, (name, ino, t)) in all.enumerate() {
                if i as u64 >= pos {
                    list.push((name, ino, t, i as u64 + 1));
                }
            }
        }
        _ => return Err(Errno::ENOTDIR),
    }
    let mut out = Vec::new();
    let mut new_pos = pos;
    for (name, ino, t, next) in list {
        let r = dirent(ino, next, t, &name);
        if out.len() + r.len() > count {
            if out.is_empty() {
                return Err(Errno::EINVAL);
            }
            break;
        }
        out.extend_from_slice(&r);
        new_pos = next;
    }
    if !out.is_empty() {
        cx.write_user(a.ptr(1), &out)?;
    }
    if let Some(f) = cx.k.files.get_mut(id) {
        f.offset = new_pos;
    }
    if let Some(dir) = inode {
        let now = cx.k.now();
        if let Some(i) = cx.k.vfs.get_mut(dir) {
            i.atime = now;
        }
    }
    ok(out.len() as u64)
}

fn d_type_of(i: &crate::kernel::fs::inode::Inode) -> u8 {
    match i.node {
        Node::ProcRoot => (S_IFDIR >> 12) as u8,
        Node::Char(Device::Window(_)) | Node::Char(_) => (S_IFCHR >> 12) as u8,
        _ => i.d_type(),
    }
}
