//! Descriptor calls: close, dup, dup2, dup3, fcntl, ioctl (fs/file.c,
//! fs/fcntl.c, fs/ioctl.c; pagemap's own requests in `pagemap`), and the
//! helpers other families use to look up, install and release descriptors.

use super::{ok, Args, Ctx, SysResult};
use crate::kernel::fs::console::{HostKind, Stdio};
use crate::kernel::fs::file::{Owner, OwnerKind};
use crate::kernel::fs::{FdEntry, FileId, FileKind, OpenFile};
use crate::kernel::Kernel;
use guest_mm::ops::mmap::MapFile;
use guest_mm::Errno;
use linux_abi::fcntl::*;
use linux_abi::resource::RLIMIT_NOFILE;
use linux_abi::tty;

/// The description behind descriptor `n` of the current process.
pub(super) fn file<'a>(cx: &'a Ctx<'_>, n: u32) -> Result<(FileId, &'a OpenFile), Errno> {
    let e = cx.proc().fds.get(n)?;
    let f = cx.k.files.get(e.file).ok_or(Errno::EBADF)?;
    Ok((e.file, f))
}

/// Opens a description and installs a descriptor for it at the lowest free
/// number. The description is dropped again if no number is free.
pub(super) fn install(cx: &mut Ctx<'_>, kind: FileKind, flags: u64, cloexec: bool) -> Result<i32, Errno> {
    let limit = cx.proc().rlimit(RLIMIT_NOFILE);
    let n = cx.proc().fds.lowest_free(0, limit)?;
    let id = cx.k.files.open(kind, flags);
    cx.proc_mut().fds.replace(n, FdEntry { file: id, cloexec });
    Ok(n)
}

impl Kernel {
    /// Drops one reference to a description; the last one releases what
    /// the description held.
    pub(crate) fn release_file(&mut self, id: FileId) {
        if let Some(f) = self.files.release(id) {
            if let FileKind::Object(obj) = f.kind {
                let _ = self.engine.put_object(obj);
            }
            if let FileKind::Pipe(pipe) = f.kind {
                self.release_pipe_end(pipe, &f);
            }
            if let Some(ino) = f.inode {
                self.put_inode(ino);
            }
        }
    }
}

pub(super) fn close(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let e = cx.proc_mut().fds.remove(a.fd(0))?;
    cx.k.release_file(e.file);
    ok(0)
}

/// Puts a new descriptor for `old`'s description at the lowest number >= `min`.
fn dup_from(cx: &mut Ctx<'_>, old: u32, min: i32, cloexec: bool) -> Result<i32, Errno> {
    let e = cx.proc().fds.get(old)?;
    let limit = cx.proc().rlimit(RLIMIT_NOFILE);
    let n = cx.proc_mut().fds.install(FdEntry { file: e.file, cloexec }, min, limit)?;
    cx.k.files.hold(e.file);
    Ok(n)
}

pub(super) fn dup(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    ok(dup_from(cx, a.fd(0), 0, false)? as u64)
}

/// ksys_dup3 after its argument checks: `new` now names `old`'s description.
fn dup_to(cx: &mut Ctx<'_>, old: u32, new: u32, cloexec: bool) -> SysResult {
    let e = cx.proc().fds.get(old)?;
    cx.k.files.hold(e.file);
    if let Some(prev) = cx.proc_mut().fds.replace(new as i32, FdEntry { file: e.file, cloexec }) {
        cx.k.release_file(prev.file);
    }
    ok(new as u64)
}

pub(super) fn dup2(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (old, new) = (a.fd(0), a.fd(1));
    if old == new {
        cx.proc().fds.get(old)?;
        return ok(new as u64);
    }
    if new as u64 >= cx.proc().rlimit(RLIMIT_NOFILE) {
        return Err(Errno::EBADF);
    }
    dup_to(cx, old, new, false)
}

pub(super) fn dup3(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (old, new, flags) = (a.fd(0), a.fd(1), a.int(2) as u32 as u64);
    if flags & !O_CLOEXEC != 0 || old == new {
        return Err(Errno::EINVAL);
    }
    if new as u64 >= cx.proc().rlimit(RLIMIT_NOFILE) {
        return Err(Errno::EBADF);
    }
    dup_to(cx, old, new, flags & O_CLOEXEC != 0)
}

/// The status flags F_SETFL may change (SETFL_MASK).
const SETFL_MASK: u64 = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | FASYNC;

pub(super) fn fcntl(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let n = a.fd(0);
    let (id, f) = file(cx, n)?;
    let flags = f.flags;
    let arg = a.ulong(2);
    let nofile = cx.proc().rlimit(RLIMIT_NOFILE);
    match a.uint(1) as u64 {
        cmd @ (F_DUPFD | F_DUPFD_CLOEXEC) => {
            if arg >= nofile {
                return Err(Errno::EINVAL);
            }
            ok(dup_from(cx, n, arg as i32, cmd == F_DUPFD_CLOEXEC)? as u64)
        }
        F_GETFD => ok(if cx.proc().fds.get(n)?.cloexec { FD_CLOEXEC } else { 0 }),
        F_SETFD => {
            cx.proc_mut().fds.get_mut(n)?.cloexec = arg & FD_CLOEXEC != 0;
            ok(0)
        }
        F_GETFL => ok(flags),
        F_SETFL => {
            let f = cx.k.files.get_mut(id).ok_or(Errno::EBADF)?;
            f.flags = (arg & SETFL_MASK) | (f.flags & !SETFL_MASK);
            ok(0)
        }
        // f_getown: a process group reads as its negative id.
        F_GETOWN => {
            let o = cx.k.files.get(id).ok_or(Errno::EBADF)?.owner;
            ok(if o.kind == OwnerKind::Group { -(o.pid as i64) as u64 } else { o.pid as u64 })
        }
        // f_setown: negative means a process group.
        F_SETOWN => {
            let who = a.int(2);
            if who == i32::MIN {
                return Err(Errno::EINVAL);
            }
            let kind = if who < 0 { OwnerKind::Group } else { OwnerKind::Process };
            set_owner(cx, id, Owner { kind, pid: who.unsigned_abs() })
        }
        F_GETOWN_EX => {
            let o = cx.k.files.get(id).ok_or(Errno::EBADF)?.owner;
            let kind = match o.kind {
                OwnerKind::Thread => F_OWNER_TID,
                OwnerKind::Process => F_OWNER_PID,
                OwnerKind::Group => F_OWNER_PGRP,
            };
            let mut b = [0u8; 8];
            b[..4].copy_from_slice(&kind.to_le_bytes());
            b[4..].copy_from_slice(&o.pid.to_le_bytes());
            cx.write_user(arg, &b)?;
            ok(0)
        }
        F_SETOWN_EX => {
            let mut b = [0u8; 8];
            cx.read_user(arg, &mut b)?;
            let kind = match i32::from_le_bytes(b[..4].try_into().expect("4 bytes")) {
                F_OWNER_TID => OwnerKind::Thread,
                F_OWNER_PID => OwnerKind::Process,
                F_OWNER_PGRP => OwnerKind::Group,
                _ => return Err(Errno::EINVAL),
            };
            let pid = i32::from_le_bytes(b[4..].try_into().expect("4 bytes"));
            if pid < 0 {
                return Err(Errno::ESRCH);
            }
            set_owner(cx, id, Owner { kind, pid: pid as u32 })
        }
        // memfd_fcntl: the open mode first (EPERM), then the seal bits, then
        // whether the file is a memfd at all (EINVAL).
        F_ADD_SEALS => {
            let writable = cx.k.files.get(id).ok_or(Errno::EBADF)?.writable();
            if !writable {
                return Err(Errno::EPERM);
            }
            let seals = a.uint(2);
            if seals & !linux_abi::fcntl::F_ALL_SEALS != 0 {
                return Err(Errno::EINVAL);
            }
            let obj = memfd_of(cx, id)?;
            cx.k.engine.add_seals(obj, seals)?;
            ok(0)
        }
        F_GET_SEALS => {
            let obj = memfd_of(cx, id)?;
            ok(cx.k.engine.seals(obj).ok_or(Errno::EINVAL)? as u64)
        }
        F_GETSIG => ok(cx.k.files.get(id).ok_or(Errno::EBADF)?.owner_signal as u64),
        // valid_signal: 0 (SIGIO) up to _NSIG.
        F_SETSIG => {
            let sig = a.int(2) as u32;
            if sig > linux_abi::signal::NSIG as u32 {
                return Err(Errno::EINVAL);
            }
            cx.k.files.get_mut(id).ok_or(Errno::EBADF)?.owner_signal = sig;
            ok(0)
        }
        cmd @ (F_GETPIPE_SZ | F_SETPIPE_SZ) => super::pipe::fcntl(cx, id, cmd, arg),
        _ => Err(Errno::EINVAL),
    }
}

/// The memfd behind a description (memfd_file_seals_ptr), else EINVAL.
fn memfd_of(cx: &Ctx<'_>, id: FileId) -> Result<guest_mm::ObjectId, Errno> {
    match cx.k.files.get(id).map(|f| &f.kind) {
        Some(FileKind::Object(obj)) => {
            let o = cx.k.engine.object(*obj).ok_or(Errno::EINVAL)?;
            if matches!(o.kind, guest_mm::objects::ObjectKind::Shmem) && o.name.starts_with("/memfd:") {
                Ok(*obj)
            } else {
                Err(Errno::EINVAL)
            }
        }
        _ => Err(Errno::EINVAL),
    }
}

/// __f_setown after f_setown's lookup: a pid that names nothing is ESRCH
/// (0 clears the owner).
fn set_owner(cx: &mut Ctx<'_>, id: FileId, owner: Owner) -> SysResult {
    let exists = match owner.kind {
        _ if owner.pid == 0 => true,
        OwnerKind::Group => cx.k.procs.values().any(|p| p.pgid == owner.pid),
        OwnerKind::Thread | OwnerKind::Process => cx.k.procs.contains_key(&owner.pid),
    };
    if !exists {
        return Err(Errno::ESRCH);
    }
    cx.k.files.get_mut(id).ok_or(Errno::EBADF)?.owner = owner;
    ok(0)
}

pub(super) fn ioctl(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let n = a.fd(0);
    let (id, f) = file(cx, n)?;
    let kind = f.kind.clone();
    let request = a.uint(1) as u64;
    match request {
        tty::FIOCLEX | tty::FIONCLEX => {
            cx.proc_mut().fds.get_mut(n)?.cloexec = request == tty::FIOCLEX;
            return ok(0);
        }
        tty::FIONBIO => {
            let mut b = [0u8; 4];
            cx.read_user(a.ptr(2), &mut b)?;
            let on = i32::from_le_bytes(b) != 0;
            let f = cx.k.files.get_mut(id).ok_or(Errno::EBADF)?;
            f.flags = if on { f.flags | O_NONBLOCK } else { f.flags & !O_NONBLOCK };
            return ok(0);
        }
        _ => {}
    }
    match kind {
        FileKind::Console(s) => console_ioctl(cx, s, request, a.ptr(2)),
        FileKind::Pipe(pipe) if request == tty::FIONREAD => super::pipe::fionread(cx, pipe, a.ptr(2)),
        // do_vfs_ioctl: pagemap is a regular file of size 0, so FIONREAD
        // says 0 - f_pos (as an int); the rest is the file's own ioctl.
        FileKind::Pagemap if request == tty::FIONREAD => {
            let pos = cx.k.files.get(id).map_or(0, |f| f.offset);
            cx.write_u32(a.ptr(2), pos.wrapping_neg() as u32)?;
            ok(0)
        }
        FileKind::Pagemap => super::pagemap::pagemap_ioctl(cx, request, a.ptr(2)),
        FileKind::Object(obj) if request == tty::FIONREAD => {
            let size = cx.k.engine.object(obj).ok_or(Errno::EBADF)?.size;
            let pos = cx.k.files.get(id).map_or(0, |f| f.offset);
            let left = size.saturating_sub(pos).min(i32::MAX as u64) as u32;
            cx.write_u32(a.ptr(2), left)?;
            ok(0)
        }
        _ => Err(Errno::ENOTTY),
    }
}

/// Terminal requests on the console: answered by the host terminal when the
/// VMM's descriptor is one, ENOTTY otherwise (as Linux answers for a pipe).
fn console_ioctl(cx: &mut Ctx<'_>, s: Stdio, request: u64, arg: u64) -> SysResult {
    if cx.k.console_info.kind(s) != HostKind::Tty {
        return Err(Errno::ENOTTY);
    }
    let len = match request {
        tty::TCGETS => tty::TERMIOS_SIZE,
        tty::TIOCGWINSZ => tty::WINSIZE_SIZE,
        _ => return Err(Errno::ENOTTY),
    };
    let data = cx.k.console.tty_query(s, request, len)?;
    cx.write_user(arg, &data)?;
    ok(0)
}

/// Whether descriptor `n` is /dev/zero (whose mappings are anonymous).
pub(super) fn is_dev_zero(cx: &Ctx<'_>, n: u32) -> bool {
    matches!(file(cx, n), Ok((_, f)) if f.kind == FileKind::Dev(crate::kernel::fs::Device::Zero))
}

/// The object and open mode behind a descriptor, for mmap.
pub(super) fn map_file(cx: &Ctx<'_>, n: u32) -> MapFile {
    match file(cx, n) {
        Ok((_, f)) => match f.kind {
            FileKind::Object(obj) => MapFile::Open { obj, read: f.readable(), write: f.writable() },
            _ => MapFile::Bad(Errno::ENODEV),
        },
        Err(e) => MapFile::Bad(e),
    }
}
