//! Calls on names: mkdir, rmdir, unlink, rename, link, symlink, readlink,
//! chdir, getcwd, access, chmod, chown, truncate, utimensat
//! (fs/namei.c do_mkdirat, do_rmdir, do_unlinkat, do_renameat2, do_linkat,
//! do_symlinkat; fs/stat.c do_readlinkat; fs/open.c do_faccessat, chmod_common,
//! chown_common, do_sys_truncate, fs/d_path.c getcwd; fs/utimes.c).
//!
//! Each call walks to the directory holding the last component, then checks
//! in Linux's order: the kind of last component (".", "..", "/"), what is
//! there (EEXIST, ENOENT, ENOTDIR, EISDIR, ENOTEMPTY), the file systems
//! (EXDEV, EBUSY for mount points), permissions (EACCES, EPERM with the
//! sticky rule), and only then changes the namespace.

use super::open::{path_in, start_at};
use super::{ok, Args, Ctx, SysResult};
use crate::kernel::fs::inode::{Data, Dir as DirNode, Ino, Node};
use crate::kernel::fs::procfs::{ProcNode, Shape};
use crate::kernel::fs::FileKind;
use crate::kernel::fs::{Access, Follow, Found, Last};
use guest_mm::Errno;
use linux_abi::fcntl::*;
use linux_abi::stat::{S_IFMT, S_IFREG, S_ISGID, S_ISUID, S_ISVTX};

/// RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT.
const RENAME_NOREPLACE: u64 = 1;
const RENAME_EXCHANGE: u64 = 2;
const RENAME_WHITEOUT: u64 = 4;
/// utimensat's special tv_nsec values.
const UTIME_NOW: i64 = (1 << 30) - 1;
const UTIME_OMIT: i64 = (1 << 30) - 2;

/// The directory (an inode) and last name of `path` for calls that change
/// names; a procfs directory cannot be changed.
fn parent(cx: &mut Ctx<'_>, dirfd: i32, path: &str) -> Result<(Ino, Last, bool), Errno> {
    let start = start_at(cx, dirfd, path)?;
    let p = cx.k.walk_parent(&start, path)?;
    match p.dir {
        Found::Ino(i) => Ok((i, p.last, p.trailing_slash)),
        // procfs directories take no new names (ENOENT, as the lookup fails).
        _ => Err(Errno::ENOENT),
    }
}

fn child(cx: &mut Ctx<'_>, dir: Ino, name: &str) -> Option<Ino> {
    cx.k.vfs.child(dir, name)
}

fn is_dir(cx: &Ctx<'_>, ino: Ino) -> bool {
    cx.k.vfs.get(ino).is_some_and(|i| i.is_dir())
}

/// Whether `ino` is the root of a mounted file system (or "/").
fn is_mount_root(cx: &Ctx<'_>, ino: Ino) -> bool {
    let Some(i) = cx.k.vfs.get(ino) else { return false };
    match i.dir() {
        Some(d) => d.parent == ino || cx.k.vfs.get(d.parent).is_some_and(|p| p.sb != i.sb),
        None => matches!(i.node, Node::ProcRoot),
    }
}

/// Forgets a dead inode's object, or marks a file that lost its last name
/// "(deleted)" in maps.
fn after_remove(cx: &mut Ctx<'_>, dead: Option<guest_mm::ObjectId>, victim: Ino) {
    if let Some(o) = dead {
        let _ = cx.k.engine.put_object(o);
        return;
    }
    if let Some(i) = cx.k.vfs.get(victim) {
        if let (0, Node::File(Data::Object(o))) = (i.nlink, &i.node) {
            let o = *o;
            if let Some(name) = cx.k.engine.object(o).map(|x| x.name.clone()) {
                cx.k.engine.rename_object(o, format!("{name} (deleted)"));
            }
        }
    }
}

/// Memory-window device nodes are the VMM's (hot-plug puts and keeps them,
/// docs/unplug.md): the guest may not remove or rename them, as an
/// unprivileged process may not change /dev (EACCES).
fn vmm_managed(cx: &Ctx<'_>, ino: Ino) -> Result<(), Errno> {
    match cx.k.vfs.get(ino).map(|i| &i.node) {
        Some(Node::Char(crate::kernel::fs::Device::Window(_))) => Err(Errno::EACCES),
        _ => Ok(()),
    }
}

fn do_mkdir(cx: &mut Ctx<'_>, dirfd: i32, path: u64, mode: u32) -> SysResult {
    let name = cx.read_path(path)?;
    let (dir, last, _) = parent(cx, dirfd, &name)?;
    let Last::Name(n) = last else { return Err(Errno::EEXIST) };
    if child(cx, dir, &n).is_some() {
        return Err(Errno::EEXIST);
    }
    let c = cx.proc().creds.clone();
    cx.k.vfs.may_create(dir, &c)?;
    let perm = mode & (0o777 | S_ISVTX) & !cx.proc().umask;
    let now = cx.k.now();
    cx.k.vfs.create(dir, &n, Node::Dir(DirNode::new(dir, &n, None)), perm, &c, now)?;
    ok(0)
}

pub(super) fn mkdir(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_mkdir(cx, AT_FDCWD as i32, a.ptr(0), a.uint(1))
}

pub(super) fn mkdirat(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_mkdir(cx, a.int(0), a.ptr(1), a.uint(2))
}

fn do_rmdir(cx: &mut Ctx<'_>, dirfd: i32, path: u64) -> SysResult {
    let name = cx.read_path(path)?;
    let (dir, last, _) = parent(cx, dirfd, &name)?;
    let n = match last {
        Last::Name(n) => n,
        Last::Dot => return Err(Errno::EINVAL),
        Last::DotDot => return Err(Errno::ENOTEMPTY),
        Last::Root => return Err(Errno::EBUSY),
    };
    let victim = child(cx, dir, &n).ok_or(Errno::ENOENT)?;
    if !is_dir(cx, victim) {
        return Err(Errno::ENOTDIR);
    }
    let c = cx.proc().creds.clone();
    cx.k.vfs.may_delete(dir, victim, &c)?;
    if is_mount_root(cx, victim) {
        return Err(Errno::EBUSY);
    }
    if !cx.k.vfs.entries_from(victim, 2).is_empty() {
        return Err(Errno::ENOTEMPTY);
    }
    let now = cx.k.now();
    let dead = cx.k.vfs.remove_entry(dir, &n, now);
    after_remove(cx, dead, victim);
    ok(0)
}

pub(super) fn rmdir(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_rmdir(cx, AT_FDCWD as i32, a.ptr(0))
}

fn do_unlink(cx: &mut Ctx<'_>, dirfd: i32, path: u64) -> SysResult {
    let name = cx.read_path(path)?;
    let (dir, last, trailing) = parent(cx, dirfd, &name)?;
    let Last::Name(n) = last else { return Err(Errno::EISDIR) };
    let victim = child(cx, dir, &n).ok_or(Errno::ENOENT)?;
    if trailing {
        return Err(if is_dir(cx, victim) { Errno::EISDIR } else { Errno::ENOTDIR });
    }
    let c = cx.proc().creds.clone();
    cx.k.vfs.may_delete(dir, victim, &c)?;
    vmm_managed(cx, victim)?;
    if is_dir(cx, victim) {
        return Err(Errno::EISDIR);
    }
    let now = cx.k.now();
    let dead = cx.k.vfs.remove_entry(dir, &n, now);
    after_remove(cx, dead, victim);
    ok(0)
}

pub(super) fn unlink(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_unlink(cx, AT_FDCWD as i32, a.ptr(0))
}

pub(super) fn unlinkat(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let flags = a.int(2) as u32 as u64;
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & AT_REMOVEDIR != 0 {
        do_rmdir(cx, a.int(0), a.ptr(1))
    } else {
        do_unlink(cx, a.int(0), a.ptr(1))
    }
}

fn do_rename(cx: &mut Ctx<'_>, olddfd: i32, old: u64, newdfd: i32, new: u64, flags: u64) -> SysResult {
    if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & RENAME_NOREPLACE != 0 && flags & (RENAME_EXCHANGE | RENAME_WHITEOUT) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & RENAME_EXCHANGE != 0 && flags & RENAME_WHITEOUT != 0 {
        return Err(Errno::EINVAL);
    }
    let old_name = cx.read_path(old)?;
    let new_name = cx.read_path(new)?;
    let (od, olast, otrail) = parent(cx, olddfd, &old_name)?;
    let (nd, nlast, ntrail) = parent(cx, newdfd, &new_name)?;
    let Last::Name(on) = olast else { return Err(Errno::EBUSY) };
    let Last::Name(nn) = nlast else { return Err(if flags & RENAME_NOREPLACE != 0 { Errno::EEXIST } else { Errno::EBUSY }) };
    if cx.k.vfs.get(od).map(|i| i.sb) != cx.k.vfs.get(nd).map(|i| i.sb) {
        return Err(Errno::EXDEV);
    }
    let src = child(cx, od, &on).ok_or(Errno::ENOENT)?;
    let dst = child(cx, nd, &nn);
    if flags & RENAME_EXCHANGE != 0 && dst.is_none() {
        return Err(Errno::ENOENT);
    }
    if flags & RENAME_NOREPLACE != 0 && dst.is_some() {
        return Err(Errno::EEXIST);
    }
    let src_dir = is_dir(cx, src);
    let exchange = flags & RENAME_EXCHANGE != 0;
    if !src_dir && (otrail || (ntrail && !exchange)) {
        return Err(Errno::ENOTDIR);
    }
    if let Some(d) = dst {
        if exchange && !is_dir(cx, d) && (ntrail || otrail) {
            return Err(Errno::ENOTDIR);
        }
    }
    // The source may not be an ancestor of the target (and vice versa for
    // an exchange): EINVAL; the reverse, ENOTEMPTY.
    if src_dir && cx.k.vfs.is_within(nd, src) {
        return Err(Errno::EINVAL);
    }
    if let Some(d) = dst {
        if d == src {
            return ok(0);
        }
        if exchange && is_dir(cx, d) && cx.k.vfs.is_within(od, d) {
            return Err(Errno::EINVAL);
        }
        if !exchange {
            if src_dir && !is_dir(cx, d) {
                return Err(Errno::ENOTDIR);
            }
            if !src_dir && is_dir(cx, d) {
                return Err(Errno::EISDIR);
            }
        }
        if is_dir(cx, d) && cx.k.vfs.is_within(od, d) {
            return Err(Errno::ENOTEMPTY);
        }
    }
    let c = cx.proc().creds.clone();
    cx.k.vfs.may_delete(od, src, &c)?;
    vmm_managed(cx, src)?;
    if let Some(d) = dst {
        vmm_managed(cx, d)?;
    }
    match dst {
        Some(d) => cx.k.vfs.may_delete(nd, d, &c)?,
        None => cx.k.vfs.may_create(nd, &c)?,
    }
    // A directory moving to another parent needs write permission on itself
    // (its ".." changes).
    if od != nd {
        if src_dir {
            cx.k.vfs.permission(src, &c, Access::WRITE)?;
        }
        if let Some(d) = dst.filter(|d| exchange && is_dir(cx, *d)) {
            cx.k.vfs.permission(d, &c, Access::WRITE)?;
        }
    }
    if is_mount_root(cx, src) || dst.is_some_and(|d| is_mount_root(cx, d)) {
        return Err(Errno::EBUSY);
    }
    if let Some(d) = dst.filter(|d| !exchange && is_dir(cx, *d)) {
        if !cx.k.vfs.entries_from(d, 2).is_empty() {
            return Err(Errno::ENOTEMPTY);
        }
    }
    let now = cx.k.now();
    let new_path = path_in(cx, &Found::Ino(nd), &nn);
    let old_path = path_in(cx, &Found::Ino(od), &on);
    if exchange {
        let d = dst.expect("checked above");
        cx.k.vfs.exchange(od, &on, nd, &nn, now)?;
        rename_object(cx, d, &old_path);
    } else if let Some(d) = dst {
        let dead = cx.k.vfs.remove_entry(nd, &nn, now);
        after_remove(cx, dead, d);
        cx.k.vfs.move_entry(od, &on, nd, &nn, now)?;
    } else {
        cx.k.vfs.move_entry(od, &on, nd, &nn, now)?;
    }
    rename_object(cx, src, &new_path);
    if flags & RENAME_WHITEOUT != 0 {
        // shmem_whiteout: a 0:0 character device of mode 0 takes the old
        // name (unprivileged since Linux 5.8).
        let dev = Node::Char(crate::kernel::fs::Device::Whiteout);
        cx.k.vfs.create(od, &on, dev, 0, &c, now)?;
    }
    ok(0)
}

/// The object of a renamed file shows its new path in maps.
fn rename_object(cx: &mut Ctx<'_>, ino: Ino, path: &str) {
    if let Some(Node::File(Data::Object(o))) = cx.k.vfs.get(ino).map(|i| i.node.clone()) {
        cx.k.engine.rename_object(o, path.to_string());
    }
}

pub(super) fn rename(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_rename(cx, AT_FDCWD as i32, a.ptr(0), AT_FDCWD as i32, a.ptr(1), 0)
}

pub(super) fn renameat(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_rename(cx, a.int(0), a.ptr(1), a.int(2), a.ptr(3), 0)
}

pub(super) fn renameat2(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_rename(cx, a.int(0), a.ptr(1), a.int(2), a.ptr(3), a.uint(4) as u64)
}

fn do_link(cx: &mut Ctx<'_>, olddfd: i32, old: u64, newdfd: i32, new: u64, flags: u64) -> SysResult {
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let old_name = cx.read_path(old)?;
    let start = start_at(cx, olddfd, &old_name)?;
    let follow = if flags & AT_SYMLINK_FOLLOW != 0 { Follow::Yes } else { Follow::No };
    let src = match cx.k.walk(&start, &old_name, follow)? {
        Found::Ino(i) => i,
        _ => return Err(Errno::EXDEV),
    };
    let new_name = cx.read_path(new)?;
    let (nd, last, _) = parent(cx, newdfd, &new_name)?;
    let Last::Name(n) = last else { return Err(Errno::EEXIST) };
    if child(cx, nd, &n).is_some() {
        return Err(Errno::EEXIST);
    }
    if cx.k.vfs.get(nd).map(|i| i.sb) != cx.k.vfs.get(src).map(|i| i.sb) {
        return Err(Errno::EXDEV);
    }
    let c = cx.proc().creds.clone();
    cx.k.vfs.may_create(nd, &c)?;
    if is_dir(cx, src) {
        return Err(Errno::EPERM);
    }
    // fs.protected_hardlinks (on by default): only the owner, or someone
    // who may read and write a regular file that is not set-id, may link it.
    let i = cx.k.vfs.get(src).ok_or(Errno::ENOENT)?;
    if i.uid != c.fsuid {
        let setid = i.mode & S_ISUID != 0 || i.mode & (S_ISGID | 0o010) == S_ISGID | 0o010;
        if i.mode & S_IFMT != S_IFREG || setid || cx.k.vfs.permission(src, &c, Access::READ.with(Access::WRITE)).is_err() {
            return Err(Errno::EPERM);
        }
    }
    if i.nlink == 0 {
        // Linking a file that lost its names (O_TMPFILE is the exception,
        // through AT_EMPTY_PATH, which needs CAP_DAC_READ_SEARCH here).
        return Err(Errno::ENOENT);
    }
    let now = cx.k.now();
    cx.k.vfs.add_link(nd, &n, src, now)?;
    ok(0)
}

pub(super) fn link(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_link(cx, AT_FDCWD as i32, a.ptr(0), AT_FDCWD as i32, a.ptr(1), 0)
}

pub(super) fn linkat(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_link(cx, a.int(0), a.ptr(1), a.int(2), a.ptr(3), a.uint(4) as u64)
}

fn do_symlink(cx: &mut Ctx<'_>, target: u64, newdfd: i32, path: u64) -> SysResult {
    let target = cx.read_path(target)?;
    let name = cx.read_path(path)?;
    let (dir, last, _) = parent(cx, newdfd, &name)?;
    let Last::Name(n) = last else { return Err(Errno::EEXIST) };
    if child(cx, dir, &n).is_some() {
        return Err(Errno::EEXIST);
    }
    let c = cx.proc().creds.clone();
    cx.k.vfs.may_create(dir, &c)?;
    let now = cx.k.now();
    cx.k.vfs.create(dir, &n, Node::Symlink(target), 0o777, &c, now)?;
    ok(0)
}

pub(super) fn symlink(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_symlink(cx, a.ptr(0), AT_FDCWD as i32, a.ptr(1))
}

pub(super) fn symlinkat(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_symlink(cx, a.ptr(0), a.int(1), a.ptr(2))
}

/// What readlink of /proc/PID/fd/N shows for a description (d_path, or
/// the anonymous and pipe inode forms).
pub(super) fn description_path(cx: &Ctx<'_>, id: crate::kernel::fs::FileId) -> String {
    let Some(f) = cx.k.files.get(id) else { return String::new() };
    if let Some(ino) = f.inode {
        if let Some(p) = cx.k.vfs.dir_path(ino) {
            return p;
        }
    }
    match &f.kind {
        FileKind::Object(o) => cx.k.engine.object(*o).map(|o| o.name.clone()).unwrap_or_default(),
        FileKind::Console(s) => match cx.k.console_info.kind(*s) {
            crate::kernel::fs::console::HostKind::Pipe => format!("pipe:[{}]", 1 + s.fd()),
            crate::kernel::fs::console::HostKind::Tty => "/dev/pts/0".into(),
            crate::kernel::fs::console::HostKind::Socket => format!("socket:[{}]", 1 + s.fd()),
            _ => "/dev/null".into(),
        },
        FileKind::Pidfd { .. } => "anon_inode:[pidfd]".into(),
        FileKind::Pipe(p) => super::pipe::link_name(*p),
        FileKind::Dev(d) => format!("/dev/{}", format!("{d:?}").to_lowercase()),
        FileKind::Maps { .. } => format!("/proc/{}/maps", cx.pid()),
        FileKind::Smaps { .. } => format!("/proc/{}/smaps", cx.pid()),
        FileKind::Pagemap => format!("/proc/{}/pagemap", cx.pid()),
        FileKind::ClearRefs => format!("/proc/{}/clear_refs", cx.pid()),
        _ => "anon_inode:[unknown]".into(),
    }
}

fn do_readlink(cx: &mut Ctx<'_>, dirfd: i32, path: u64, buf: u64, size: i32) -> SysResult {
    let name = cx.read_path(path)?;
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    let start = start_at(cx, dirfd, &name)?;
    let target = match cx.k.walk(&start, &name, Follow::No)? {
        Found::Ino(i) => match cx.k.vfs.get(i).map(|i| &i.node) {
            Some(Node::Symlink(t)) => t.clone(),
            _ => return Err(Errno::EINVAL),
        },
        Found::Proc(n) => match &n {
            ProcNode::SelfLink | ProcNode::ThreadSelf | ProcNode::MountsLink => n.link_text(cx.k).unwrap_or_default(),
            ProcNode::Exe(p) => cx.k.procs.get(p).ok_or(Errno::ENOENT)?.exe.clone(),
            ProcNode::Cwd(p) => {
                let cwd = cx.k.procs.get(p).ok_or(Errno::ENOENT)?.cwd;
                cx.k.vfs.dir_path(cwd).unwrap_or_else(|| "/ (deleted)".into())
            }
            ProcNode::RootLink(_) => "/".into(),
            ProcNode::Fd(p, n) => {
                let e = cx.k.procs.get(p).ok_or(Errno::ENOENT)?.fds.get(*n as u32).map_err(|_| Errno::ENOENT)?;
                description_path(cx, e.file)
            }
            _ => return Err(Errno::EINVAL),
        },
        Found::File(_) => return Err(Errno::EINVAL),
    };
    let n = target.len().min(size as usize);
    cx.write_user(buf, &target.as_bytes()[..n])?;
    ok(n as u64)
}

pub(super) fn readlink(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_readlink(cx, AT_FDCWD as i32, a.ptr(0), a.ptr(1), a.int(2))
}

pub(super) fn readlinkat(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_readlink(cx, a.int(0), a.ptr(1), a.ptr(2), a.int(3))
}

/// Makes `ino` the working directory (search permission needed).
fn set_cwd(cx: &mut Ctx<'_>, ino: Ino) -> SysResult {
    if !is_dir(cx, ino) {
        return Err(Errno::ENOTDIR);
    }
    let c = cx.proc().creds.clone();
    cx.k.vfs.permission(ino, &c, Access::EXEC)?;
    cx.k.vfs.hold(ino);
    let old = std::mem::replace(&mut cx.proc_mut().cwd, ino);
    cx.k.put_inode(old);
    ok(0)
}

pub(super) fn chdir(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let name = cx.read_path(a.ptr(0))?;
    let start = start_at(cx, AT_FDCWD as i32, &name)?;
    match cx.k.walk(&start, &name, Follow::Yes)? {
        Found::Ino(i) => set_cwd(cx, i),
        // A working directory inside procfs is not kept (not done).
        Found::Proc(n) if n.shape() == Shape::Dir => Err(Errno::EACCES),
        _ => Err(Errno::ENOTDIR),
    }
}

pub(super) fn fchdir(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (_, f) = super::fd::file(cx, a.fd(0))?;
    match f.inode {
        Some(i) => set_cwd(cx, i),
        None => Err(Errno::ENOTDIR),
    }
}

/// getcwd(2): ENOENT when the directory was removed, ERANGE when the
/// buffer cannot hold the path and its NUL.
pub(super) fn getcwd(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let cwd = cx.proc().cwd;
    let path = cx.k.vfs.dir_path(cwd).ok_or(Errno::ENOENT)?;
    let mut b = path.into_bytes();
    b.push(0);
    if a.ulong(1) < b.len() as u64 {
        return Err(Errno::ERANGE);
    }
    cx.write_user(a.ptr(0), &b)?;
    ok(b.len() as u64)
}

/// What a path names for calls with AT_* flags (AT_EMPTY_PATH: the descriptor itself).
pub(super) fn lookup_at(cx: &mut Ctx<'_>, dirfd: i32, path: u64, flags: u64) -> Result<Found, Errno> {
    let follow = if flags & AT_SYMLINK_NOFOLLOW != 0 { Follow::No } else { Follow::Yes };
    let name = if path == 0 && flags & AT_EMPTY_PATH != 0 { Vec::new() } else { cx.read_cstr(path, crate::kernel::fs::PATH_MAX)? };
    if name.is_empty() {
        if flags & AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        if dirfd as i64 == AT_FDCWD {
            return Ok(Found::Ino(cx.proc().cwd));
        }
        let (id, f) = super::fd::file(cx, dirfd as u32)?;
        return Ok(match (&f.kind, f.inode) {
            (FileKind::ProcDir(n), _) => Found::Proc(n.clone()),
            (_, Some(i)) => Found::Ino(i),
            _ => Found::File(id),
        });
    }
    let name = String::from_utf8_lossy(&name).into_owned();
    let start = start_at(cx, dirfd, &name)?;
    cx.k.walk(&start, &name, follow)
}

fn do_access(cx: &mut Ctx<'_>, dirfd: i32, path: u64, mode: u32, flags: u64) -> SysResult {
    if mode & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let found = lookup_at(cx, dirfd, path, flags)?;
    if mode == 0 {
        return ok(0);
    }
    // access(2) checks with the real ids unless AT_EACCESS.
    let mut c = cx.proc().creds.clone();
    if flags & AT_EACCESS == 0 {
        c.fsuid = c.uid;
        c.fsgid = c.gid;
    }
    match found {
        Found::Ino(i) => cx.k.vfs.permission(i, &c, Access(mode))?,
        Found::Proc(n) => {
            let (uid, _) = n.owner(cx.k);
            let bits = if c.fsuid == uid { n.mode() >> 6 } else { n.mode() } & 7;
            if bits & mode != mode {
                return Err(Errno::EACCES);
            }
        }
        Found::File(_) => {}
    }
    ok(0)
}

pub(super) fn access(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_access(cx, AT_FDCWD as i32, a.ptr(0), a.uint(1), 0)
}

pub(super) fn faccessat(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_access(cx, a.int(0), a.ptr(1), a.uint(2), 0)
}

pub(super) fn faccessat2(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_access(cx, a.int(0), a.ptr(1), a.uint(2), a.uint(3) as u64)
}

/// chmod_common: only the owner; S_ISGID dropped for a group the caller is not in.
fn chmod_found(cx: &mut Ctx<'_>, found: Found, mode: u32) -> SysResult {
    let Found::Ino(ino) = found else { return Err(Errno::EPERM) };
    let c = cx.proc().creds.clone();
    let now = cx.k.now();
    let i = cx.k.vfs.get_mut(ino).ok_or(Errno::ENOENT)?;
    if i.uid != c.fsuid {
        return Err(Errno::EPERM);
    }
    if matches!(i.node, Node::Symlink(_)) {
        return Err(Errno::EOPNOTSUPP);
    }
    let mut m = mode & 0o7777;
    if i.gid != c.fsgid && !c.groups.contains(&i.gid) {
        m &= !S_ISGID;
    }
    i.mode = (i.mode & S_IFMT) | m;
    i.ctime = now;
    ok(0)
}

pub(super) fn chmod(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let f = lookup_at(cx, AT_FDCWD as i32, a.ptr(0), 0)?;
    chmod_found(cx, f, a.uint(1))
}

pub(super) fn fchmod(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (_, f) = super::fd::file(cx, a.fd(0))?;
    if f.kind == FileKind::Path {
        return Err(Errno::EBADF);
    }
    let found = f.inode.map_or(Found::File(crate::kernel::fs::FileId(0)), Found::Ino);
    chmod_found(cx, found, a.uint(1))
}

pub(super) fn fchmodat(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let f = lookup_at(cx, a.int(0), a.ptr(1), 0)?;
    chmod_found(cx, f, a.uint(2))
}

pub(super) fn fchmodat2(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let flags = a.uint(3) as u64;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let f = lookup_at(cx, a.int(0), a.ptr(1), flags)?;
    chmod_found(cx, f, a.uint(2))
}

/// chown_common without CAP_CHOWN: the owner may only keep the uid and
/// give the file one of its own groups; set-id bits of a non-directory go.
fn chown_found(cx: &mut Ctx<'_>, found: Found, uid: u32, gid: u32) -> SysResult {
    let Found::Ino(ino) = found else { return Err(Errno::EPERM) };
    let c = cx.proc().creds.clone();
    let now = cx.k.now();
    let i = cx.k.vfs.get_mut(ino).ok_or(Errno::ENOENT)?;
    let new_uid = if uid == u32::MAX { i.uid } else { uid };
    let new_gid = if gid == u32::MAX { i.gid } else { gid };
    // chown_ok and chgrp_ok: the owner may "change" the uid to itself and
    // the group to its own or one of its groups.
    if uid != u32::MAX && (c.fsuid != i.uid || new_uid != i.uid) {
        return Err(Errno::EPERM);
    }
    if gid != u32::MAX && (c.fsuid != i.uid || (new_gid != i.gid && new_gid != c.fsgid && !c.groups.contains(&new_gid))) {
        return Err(Errno::EPERM);
    }
    if uid != u32::MAX || gid != u32::MAX {
        if !i.is_dir() {
            i.mode &= !S_ISUID;
            if i.mode & 0o010 != 0 {
                i.mode &= !S_ISGID;
            }
        }
        i.uid = new_uid;
        i.gid = new_gid;
        i.ctime = now;
    }
    ok(0)
}

pub(super) fn chown(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let f = lookup_at(cx, AT_FDCWD as i32, a.ptr(0), 0)?;
    chown_found(cx, f, a.uint(1), a.uint(2))
}

pub(super) fn lchown(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let f = lookup_at(cx, AT_FDCWD as i32, a.ptr(0), AT_SYMLINK_NOFOLLOW)?;
    chown_found(cx, f, a.uint(1), a.uint(2))
}

pub(super) fn fchown(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (_, f) = super::fd::file(cx, a.fd(0))?;
    if f.kind == FileKind::Path {
        return Err(Errno::EBADF);
    }
    let found = f.inode.map_or(Found::File(crate::kernel::fs::FileId(0)), Found::Ino);
    chown_found(cx, found, a.uint(1), a.uint(2))
}

pub(super) fn fchownat(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let flags = a.uint(4) as u64;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let f = lookup_at(cx, a.int(0), a.ptr(1), flags)?;
    chown_found(cx, f, a.uint(2), a.uint(3))
}

pub(super) fn truncate(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let name = cx.read_path(a.ptr(0))?;
    let len = a.long(1);
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let start = start_at(cx, AT_FDCWD as i32, &name)?;
    let Found::Ino(ino) = cx.k.walk(&start, &name, Follow::Yes)? else { return Err(Errno::EACCES) };
    let i = cx.k.vfs.get(ino).ok_or(Errno::ENOENT)?;
    if i.is_dir() {
        return Err(Errno::EISDIR);
    }
    if !matches!(i.node, Node::File(_)) {
        return Err(Errno::EINVAL);
    }
    let c = cx.proc().creds.clone();
    cx.k.vfs.permission(ino, &c, Access::WRITE)?;
    let path = name.clone();
    let obj = cx.k.file_object(ino, &path)?;
    super::file::grow_ok(cx, obj, len as u64)?;
    let old = cx.k.engine.object(obj).map(|o| o.size);
    let (r, u) = cx.k.engine.truncate(obj, len as u64).split();
    cx.k.pending.absorb(u);
    r?;
    // truncate(2) asks for no times; shmem_setattr moves mtime and ctime
    // when the size changed.
    if old != Some(len as u64) {
        cx.k.touch_times(ino);
    }
    ok(0)
}

pub(super) fn utimensat(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let flags = a.uint(3) as u64;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let mut times = [(0i64, UTIME_NOW), (0, UTIME_NOW)];
    if a.ptr(2) != 0 {
        let mut b = [0u8; 32];
        cx.read_user(a.ptr(2), &mut b)?;
        for (k, t) in times.iter_mut().enumerate() {
            let s = i64::from_le_bytes(b[k * 16..k * 16 + 8].try_into().expect("8 bytes"));
            let ns = i64::from_le_bytes(b[k * 16 + 8..k * 16 + 16].try_into().expect("8 bytes"));
            if ns != UTIME_NOW && ns != UTIME_OMIT && !(0..1_000_000_000).contains(&ns) {
                return Err(Errno::EINVAL);
            }
            *t = (s, ns);
        }
    }
    // utimensat(fd, NULL, ...) is futimens on the descriptor.
    let found = if a.ptr(1) == 0 {
        if a.int(0) as i64 == AT_FDCWD {
            return Err(Errno::EFAULT);
        }
        lookup_at(cx, a.int(0), 0, AT_EMPTY_PATH)?
    } else {
        lookup_at(cx, a.int(0), a.ptr(1), flags)?
    };
    if times.iter().all(|t| t.1 == UTIME_OMIT) {
        return ok(0);
    }
    let Found::Ino(ino) = found else { return Err(Errno::EPERM) };
    let c = cx.proc().creds.clone();
    let i = cx.k.vfs.get(ino).ok_or(Errno::ENOENT)?;
    let to_now = times.iter().all(|t| t.1 == UTIME_NOW || t.1 == UTIME_OMIT);
    if i.uid != c.fsuid {
        if !to_now {
            return Err(Errno::EPERM);
        }
        cx.k.vfs.permission(ino, &c, Access::WRITE)?;
    }
    let now = cx.k.now();
    let i = cx.k.vfs.get_mut(ino).ok_or(Errno::ENOENT)?;
    for (k, t) in times.iter().enumerate() {
        let v = match t.1 {
            UTIME_OMIT => continue,
            UTIME_NOW => now,
            _ => *t,
        };
        if k == 0 {
            i.atime = v;
        } else {
            i.mtime = v;
        }
    }
    i.ctime = now;
    ok(0)
}
