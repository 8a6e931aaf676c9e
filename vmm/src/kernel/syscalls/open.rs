//! open, openat, creat: from a path and flags to a new descriptor
//! (fs/open.c build_open_flags and do_sys_openat2, fs/namei.c path_openat,
//! open_last_lookups, do_open, may_open).
//!
//! The order of checks is Linux's: the flags (EINVAL), the path (EFAULT,
//! ENAMETOOLONG, ENOENT for an empty one), the walk to the last component's
//! directory, then the last component: created with O_CREAT (EEXIST with
//! O_EXCL; the mode less the umask), a symbolic link followed unless
//! O_NOFOLLOW (ELOOP), a directory refused for writing (EISDIR) or required
//! by O_DIRECTORY (ENOTDIR), permission for the access asked (EACCES), then
//! O_TRUNC. O_PATH opens only the name; O_TMPFILE makes a nameless file in a
//! directory. procfs files are generated here at open.

use super::{fd, ok, Args, Ctx, SysResult};
use crate::kernel::fs::inode::{Data, Device, Node};
use crate::kernel::fs::procfs::{self, PidFile, ProcNode, Shape, SYSCTLS};
use crate::kernel::fs::FileKind;
use crate::kernel::fs::{Access, Follow, Found, Last};
use guest_mm::Errno;
use linux_abi::fcntl::*;

/// What F_GETFL reports for a file opened with `flags`: the open-only flags
/// are gone and O_LARGEFILE is forced on 64-bit (do_sys_openat2, do_dentry_open).
pub(super) fn status_flags(flags: u64) -> u64 {
    (flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC)) | O_LARGEFILE
}

/// Where a walk of `path` given with `dirfd` starts (the working directory
/// for AT_FDCWD; a directory descriptor's directory; EBADF, ENOTDIR).
pub(super) fn start_at(cx: &Ctx<'_>, dirfd: i32, path: &str) -> Result<Found, Errno> {
    if path.starts_with('/') {
        return Ok(Found::Ino(cx.k.vfs.root));
    }
    if dirfd as i64 == AT_FDCWD {
        return Ok(Found::Ino(cx.proc().cwd));
    }
    let (_, f) = fd::file(cx, dirfd as u32)?;
    match (&f.kind, f.inode) {
        (FileKind::ProcDir(n), _) => Ok(Found::Proc(n.clone())),
        (_, Some(ino)) if cx.k.vfs.get(ino).is_some_and(|i| i.is_dir()) => Ok(Found::Ino(ino)),
        _ => Err(Errno::ENOTDIR),
    }
}

/// The canonical path of `name` in directory `dir` (what maps shows).
pub(super) fn path_in(cx: &Ctx<'_>, dir: &Found, name: &str) -> String {
    let base = match dir {
        Found::Ino(i) => cx.k.vfs.dir_path(*i).unwrap_or_default(),
        _ => String::new(),
    };
    if base.ends_with('/') {
        format!("{base}{name}")
    } else {
        format!("{base}/{name}")
    }
}

/// The last component resolved for open: what it names (None: nothing
/// yet, with O_CREAT it is made there), the directory holding it and its
/// canonical path.
struct Resolved {
    found: Option<Found>,
    dir: Found,
    name: Option<String>,
    path: String,
}

/// open_last_lookups: walks to the last component, following a final
/// symbolic link unless told not to (or O_CREAT|O_EXCL), up to 40 links.
fn resolve(cx: &mut Ctx<'_>, dirfd: i32, path: &str, flags: u64) -> Result<Resolved, Errno> {
    let mut start = start_at(cx, dirfd, path)?;
    let mut path = path.to_string();
    let follow = flags & O_NOFOLLOW == 0 && flags & (O_CREAT | O_EXCL) != O_CREAT | O_EXCL;
    for _ in 0..=crate::kernel::fs::path::MAX_SYMLINKS {
        let p = cx.k.walk_parent(&start, &path)?;
        let name = match &p.last {
            Last::Name(n) => n.clone(),
            _ => {
                if flags & O_CREAT != 0 {
                    return Err(Errno::EISDIR);
                }
                let f = cx.k.walk(&start, &path, Follow::Yes)?;
                return Ok(Resolved { path: path.clone(), found: Some(f), dir: p.dir, name: None });
            }
        };
        let canonical = path_in(cx, &p.dir, &name);
        let child = match cx.k.walk(&p.dir, &name, Follow::No) {
            Ok(c) => Some(c),
            Err(Errno::ENOENT) => None,
            Err(e) => return Err(e),
        };
        if let Some(c) = &child {
            if follow || p.trailing_slash {
                if let Some(Node::Symlink(t)) = match c {
                    Found::Ino(i) => cx.k.vfs.get(*i).map(|i| &i.node),
                    _ => None,
                } {
                    start = p.dir.clone();
                    path = if p.trailing_slash { format!("{t}/") } else { t.clone() };
                    continue;
                }
                if let Found::Proc(n) = c {
                    if n.shape() == Shape::Link {
                        let f = cx.k.walk(&p.dir, &name, Follow::Yes)?;
                        return Ok(Resolved { found: Some(f), dir: p.dir, name: Some(name), path: canonical });
                    }
                }
            } else if flags & O_PATH == 0 && is_symlink(cx, c) {
                // O_NOFOLLOW (or O_CREAT|O_EXCL) on a symbolic link.
                return Err(if flags & O_CREAT != 0 { Errno::EEXIST } else { Errno::ELOOP });
            }
        }
        if p.trailing_slash && flags & O_CREAT != 0 {
            return Err(Errno::EISDIR);
        }
        if child.is_some() && p.trailing_slash {
            let f = cx.k.walk(&p.dir, &format!("{name}/"), Follow::Yes)?;
            return Ok(Resolved { found: Some(f), dir: p.dir, name: Some(name), path: canonical });
        }
        return Ok(Resolved { found: child, dir: p.dir, name: Some(name), path: canonical });
    }
    Err(Errno::ELOOP)
}

fn is_symlink(cx: &Ctx<'_>, f: &Found) -> bool {
    match f {
        Found::Ino(i) => matches!(cx.k.vfs.get(*i).map(|i| &i.node), Some(Node::Symlink(_))),
        Found::Proc(n) => n.shape() == Shape::Link,
        Found::File(_) => false,
    }
}

pub(super) fn do_open(cx: &mut Ctx<'_>, dirfd: i32, path: u64, flags: u64, mode: u64) -> SysResult {
    // build_open_flags.
    let tmpfile = flags & O_TMPFILE == O_TMPFILE;
    if flags & (O_TMPFILE & !O_DIRECTORY) != 0 && !tmpfile {
        return Err(Errno::EINVAL);
    }
    if tmpfile && (flags & O_CREAT != 0 || flags & O_ACCMODE == O_RDONLY) {
        return Err(Errno::EINVAL);
    }
    let flags = if flags & O_PATH != 0 { flags & (O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC) } else { flags };
    let name = cx.read_path(path)?;
    let cloexec = flags & O_CLOEXEC != 0;
    if tmpfile {
        return open_tmpfile(cx, dirfd, &name, flags, mode);
    }
    let r = match resolve(cx, dirfd, &name, flags) {
        // /proc/self/exe is a magic link to the program's file itself: a
        // program whose path is not in the namespace (`vmm run --elf`
        // without --root) is still opened through it.
        Err(Errno::ENOENT) if (name == "/proc/self/exe" || name == "/proc/thread-self/exe") && flags & O_NOFOLLOW == 0 => {
            return open_exe_file(cx, flags);
        }
        r => r?,
    };
    if r.found.is_none() {
        if let Some(text) = crate::kernel::fs::sysfs::file(&r.path) {
            return open_sysfs(cx, text, flags, cloexec);
        }
    }
    let found = match r.found {
        Some(f) => {
            if flags & (O_CREAT | O_EXCL) == O_CREAT | O_EXCL {
                return Err(Errno::EEXIST);
            }
            f
        }
        None if flags & O_CREAT != 0 => {
            let Found::Ino(dir) = r.dir else { return Err(Errno::EACCES) };
            let name = r.name.ok_or(Errno::EISDIR)?;
            let c = cx.proc().creds.clone();
            cx.k.vfs.may_create(dir, &c)?;
            let sb = cx.k.vfs.get(dir).ok_or(Errno::ENOENT)?.sb;
            let obj = cx.k.new_file_data(sb, &r.path);
            let perm = mode as u32 & 0o7777 & !cx.proc().umask;
            let now = cx.k.now();
            match cx.k.vfs.create(dir, &name, Node::File(Data::Object(obj)), perm, &c, now) {
                Ok(ino) => {
                    // A new file is opened with the access asked, whatever its mode.
                    return open_inode(cx, ino, &r.path, flags, cloexec, false);
                }
                Err(e) => {
                    let _ = cx.k.engine.put_object(obj);
                    return Err(e);
                }
            }
        }
        None => return Err(Errno::ENOENT),
    };
    if flags & O_PATH != 0 {
        let inode = match found {
            Found::Ino(i) => Some(i),
            _ => None,
        };
        if flags & O_DIRECTORY != 0 && !found_is_dir(cx, &found) {
            return Err(Errno::ENOTDIR);
        }
        if let Some(i) = inode {
            cx.k.vfs.hold(i);
        }
        let kind = match found {
            Found::Proc(n) if n.shape() == Shape::Dir => FileKind::ProcDir(n),
            _ => FileKind::Path,
        };
        return install(cx, kind, status_flags(flags), cloexec, inode);
    }
    match found {
        Found::Ino(ino) => open_inode(cx, ino, &r.path, flags, cloexec, true),
        Found::Proc(n) => open_proc(cx, n, flags),
        Found::File(id) => reopen(cx, id, flags),
    }
}

/// A sysfs attribute (`fs::sysfs`): read-only text, mode 0444 here.
fn open_sysfs(cx: &mut Ctx<'_>, text: String, flags: u64, cloexec: bool) -> SysResult {
    if flags & O_CREAT != 0 && flags & O_EXCL != 0 {
        return Err(Errno::EEXIST);
    }
    if flags & O_DIRECTORY != 0 {
        return Err(Errno::ENOTDIR);
    }
    if flags & O_ACCMODE != O_RDONLY || flags & O_TRUNC != 0 {
        return Err(Errno::EACCES);
    }
    install(cx, FileKind::Generated(text.into_bytes().into()), status_flags(flags), cloexec, None)
}

fn found_is_dir(cx: &Ctx<'_>, f: &Found) -> bool {
    match f {
        Found::Ino(i) => cx.k.vfs.get(*i).is_some_and(|i| i.is_dir()),
        Found::Proc(n) => n.shape() == Shape::Dir,
        Found::File(id) => cx.k.files.get(*id).and_then(|f| f.inode).and_then(|i| cx.k.vfs.get(i)).is_some_and(|i| i.is_dir()),
    }
}

/// Installs a description holding `inode` (already held for it).
/// The running program's file (mm->exe_file) opened through
/// /proc/self/exe: read-only (a running program is not opened for writing:
/// ETXTBSY, deny_write_access).
fn open_exe_file(cx: &mut Ctx<'_>, flags: u64) -> SysResult {
    let obj = cx.proc().exe_obj.ok_or(Errno::ENOENT)?;
    if flags & O_ACCMODE != O_RDONLY || flags & O_TRUNC != 0 {
        return Err(Errno::ETXTBSY);
    }
    cx.k.engine.hold_object(obj).map_err(|_| Errno::ENOENT)?;
    // install puts the handle back if no descriptor is free.
    install(cx, FileKind::Object(obj), status_flags(flags), flags & O_CLOEXEC != 0, None)
}

fn install(cx: &mut Ctx<'_>, kind: FileKind, flags: u64, cloexec: bool, inode: Option<crate::kernel::fs::Ino>) -> SysResult {
    let limit = cx.proc().rlimit(linux_abi::resource::RLIMIT_NOFILE);
    let n = match cx.proc().fds.lowest_free(0, limit) {
        Ok(n) => n,
        Err(e) => {
            if let FileKind::Object(o) = kind {
                let _ = cx.k.engine.put_object(o);
            }
            if let Some(i) = inode {
                cx.k.put_inode(i);
            }
            return Err(e);
        }
    };
    let id = cx.k.files.open_inode(kind, flags, inode);
    cx.proc_mut().fds.replace(n, crate::kernel::fs::FdEntry { file: id, cloexec });
    ok(n as u64)
}

/// may_open and do_dentry_open for an inode.
fn open_inode(cx: &mut Ctx<'_>, ino: crate::kernel::fs::Ino, path: &str, flags: u64, cloexec: bool, check: bool) -> SysResult {
    let acc = flags & O_ACCMODE;
    // Access mode 3 asks for read and write permission and gives neither.
    let write = acc != O_RDONLY;
    let i = cx.k.vfs.get(ino).ok_or(Errno::ENOENT)?;
    let node = i.node.clone();
    if flags & O_DIRECTORY != 0 && !i.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if i.is_dir() && (write || flags & O_CREAT != 0) {
        return Err(Errno::EISDIR);
    }
    if check {
        let mut want = Access(0);
        if acc != O_WRONLY {
            want = want.with(Access::READ);
        }
        if acc == O_ACCMODE {
            want = want.with(Access::WRITE);
        }
        if write || flags & O_TRUNC != 0 {
            want = want.with(Access::WRITE);
        }
        let c = cx.proc().creds.clone();
        cx.k.vfs.permission(ino, &c, want)?;
    }
    let kind = match node {
        Node::Dir(_) => FileKind::Dir,
        Node::ProcRoot => FileKind::ProcDir(ProcNode::Root),
        Node::Symlink(_) => return Err(Errno::ELOOP),
        // No controlling terminal; a whiteout's 0:0 has no driver.
        Node::Char(Device::Tty | Device::Whiteout) => return Err(Errno::ENXIO),
        Node::Char(Device::Window(_)) | Node::File(_) => {
            let obj = cx.k.file_object(ino, path)?;
            let object = cx.k.engine.object(obj).ok_or(Errno::ENOENT)?;
            if object.is_revoked() {
                return Err(Errno::ENODEV);
            }
            if write && !object.may_write_shared() {
                return Err(Errno::EACCES);
            }
            // deny_write_access: a program some process runs is not opened
            // for writing.
            if (write || flags & O_TRUNC != 0) && cx.k.procs.values().any(|p| p.exe_obj == Some(obj)) {
                return Err(Errno::ETXTBSY);
            }
            // O_TRUNC truncates whatever the access mode (handle_truncate).
            if flags & O_TRUNC != 0 && matches!(node, Node::File(_)) {
                let (r, u) = cx.k.engine.truncate(obj, 0).split();
                cx.k.pending.absorb(u);
                r?;
            }
            cx.k.engine.hold_object(obj).map_err(|_| Errno::EBADF)?;
            FileKind::Object(obj)
        }
        Node::Char(d) => FileKind::Dev(d),
    };
    cx.k.vfs.hold(ino);
    install(cx, kind, status_flags(flags), cloexec, Some(ino))
}

/// O_TMPFILE: a nameless regular file in the directory `path` names.
fn open_tmpfile(cx: &mut Ctx<'_>, dirfd: i32, path: &str, flags: u64, mode: u64) -> SysResult {
    let start = start_at(cx, dirfd, path)?;
    let Found::Ino(dir) = cx.k.walk(&start, path, Follow::Yes)? else { return Err(Errno::EOPNOTSUPP) };
    let d = cx.k.vfs.get(dir).ok_or(Errno::ENOENT)?;
    if !d.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if !d.sb.is_shmem() && d.sb != crate::kernel::fs::Sb::Root {
        return Err(Errno::EOPNOTSUPP);
    }
    let sb = d.sb;
    let c = cx.proc().creds.clone();
    cx.k.vfs.permission(dir, &c, Access::WRITE.with(Access::EXEC))?;
    let name = format!("{}/#{} (deleted)", cx.k.vfs.dir_path(dir).unwrap_or_default().trim_end_matches('/'), cx.k.vfs.len());
    let obj = cx.k.new_file_data(sb, &name);
    let perm = mode as u32 & 0o7777 & !cx.proc().umask;
    let now = cx.k.now();
    let ino = cx.k.vfs.create_unnamed(dir, Data::Object(obj), perm, &c, now)?;
    open_inode(cx, ino, &name, flags & !O_DIRECTORY, flags & O_CLOEXEC != 0, false)
}

/// Opening /proc/PID/fd/N: a new description of what the descriptor refers to.
fn reopen(cx: &mut Ctx<'_>, id: crate::kernel::fs::FileId, flags: u64) -> SysResult {
    let f = cx.k.files.get(id).ok_or(Errno::ENOENT)?.clone();
    let cloexec = flags & O_CLOEXEC != 0;
    if let Some(ino) = f.inode {
        let path = match &f.kind {
            FileKind::Object(o) => cx.k.engine.object(*o).map(|o| o.name.clone()).unwrap_or_default(),
            _ => String::new(),
        };
        return open_inode(cx, ino, &path, flags, cloexec, true);
    }
    match f.kind {
        FileKind::Console(s) => install(cx, FileKind::Console(s), status_flags(flags), cloexec, None),
        FileKind::Object(o) => {
            cx.k.engine.hold_object(o).map_err(|_| Errno::ENOENT)?;
            install(cx, FileKind::Object(o), status_flags(flags), cloexec, None)
        }
        // Anonymous inodes (pidfds) cannot be reopened.
        _ => Err(Errno::ENXIO),
    }
}

/// procfs files: generated at open (maps again at each read from offset 0).
fn open_proc(cx: &mut Ctx<'_>, n: ProcNode, flags: u64) -> SysResult {
    let acc = flags & O_ACCMODE;
    let cloexec = flags & O_CLOEXEC != 0;
    if n.shape() == Shape::Dir {
        if acc != O_RDONLY {
            return Err(Errno::EISDIR);
        }
        return install(cx, FileKind::ProcDir(n), status_flags(flags), cloexec, None);
    }
    if flags & O_DIRECTORY != 0 {
        return Err(Errno::ENOTDIR);
    }
    // Permission: the node's mode for its owner, others get the other bits.
    let (uid, _) = n.owner(cx.k);
    let perm = n.mode();
    let bits = if cx.proc().creds.fsuid == uid { perm >> 6 } else { perm } & 7;
    let need = match acc {
        O_RDONLY => 4,
        O_WRONLY => 2,
        _ => 6,
    };
    if bits & need != need {
        return Err(Errno::EACCES);
    }
    let kind = match n {
        ProcNode::PidFile(pid, f) => {
            let space = cx.k.procs.get(&pid).map(|p| p.space).ok_or(Errno::ESRCH)?;
            match f {
                PidFile::ClearRefs => FileKind::ClearRefs,
                PidFile::Pagemap if pid == cx.pid() => FileKind::Pagemap,
                // Another process's pagemap needs ptrace access.
                PidFile::Pagemap => return Err(Errno::EACCES),
                PidFile::Maps => FileKind::Maps { space, data: cx.k.engine.maps(space, true).unwrap_or_default().into_bytes().into() },
                other => FileKind::Generated(cx.k.proc_text(pid, other).into_bytes().into()),
            }
        }
        ProcNode::Fdinfo(pid, fdn) => FileKind::Generated(cx.k.fdinfo_text(pid, fdn).ok_or(Errno::ENOENT)?.into_bytes().into()),
        ProcNode::Top(t) => FileKind::Generated(cx.k.top_text(t).into_bytes().into()),
        ProcNode::Sysctl(i) => {
            if acc != O_RDONLY {
                // Writing a sysctl is not implemented (and needs privilege for these).
                return Err(Errno::EACCES);
            }
            let v = procfs::sysctl(cx.k, SYSCTLS[i]).ok_or(Errno::ENOENT)?;
            FileKind::Generated(format!("{v}\n").into_bytes().into())
        }
        _ => return Err(Errno::ENOENT),
    };
    if acc != O_RDONLY && kind != FileKind::ClearRefs {
        return Err(Errno::EACCES);
    }
    install(cx, kind, status_flags(flags), cloexec, None)
}

pub(super) fn open(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_open(cx, AT_FDCWD as i32, a.ptr(0), a.int(1) as u32 as u64, a.uint(2) as u64)
}

pub(super) fn openat(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_open(cx, a.int(0), a.ptr(1), a.int(2) as u32 as u64, a.uint(3) as u64)
}

pub(super) fn creat(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_open(cx, AT_FDCWD as i32, a.ptr(0), O_CREAT | O_WRONLY | O_TRUNC, a.uint(1) as u64)
}
