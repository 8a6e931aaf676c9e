//! File system calls: open/openat, close, read/write (and pread/pwrite),
//! lseek, unlink, memfd_create, ftruncate, fallocate.
//!
//! Owns argument checking in Linux's order with Linux's errno; data moves
//! through the engine's objects (see guest_mm::ops::fileio), so what write(2)
//! stores is what mmap shows. Paths and buffers come from guest memory and are
//! read through the engine with the process's permissions.

use super::fs::{Fd, FdKind, Vfs, PATH_MAX};
use super::{Console, Kernel};
use guest_mm::{Errno, ObjectId, PAGE_SIZE};
use std::io::Write;

pub const O_ACCMODE: u64 = 3;
pub const O_WRONLY: u64 = 1;
pub const O_RDWR: u64 = 2;
pub const O_CREAT: u64 = 0x40;
pub const O_EXCL: u64 = 0x80;
pub const O_TRUNC: u64 = 0x200;
pub const O_APPEND: u64 = 0x400;
pub const O_CLOEXEC: u64 = 0x80000;
pub const AT_FDCWD: i64 = -100;
pub const MFD_CLOEXEC: u64 = 1;
pub const MFD_ALLOW_SEALING: u64 = 2;
pub const FALLOC_FL_KEEP_SIZE: u64 = 1;
pub const FALLOC_FL_PUNCH_HOLE: u64 = 2;
/// Largest read or write copied at once (Linux also transfers partially).
const MAX_IO: u64 = 1 << 20;

type Ret = Result<u64, Errno>;

impl Kernel {
    /// Reads a NUL-terminated string of at most `max` bytes from user memory.
    pub(crate) fn read_cstr(&mut self, va: u64, max: usize) -> Result<String, Errno> {
        let mut out = Vec::new();
        let mut at = va;
        loop {
            // Never read past the current page: the string may end before an unmapped one.
            let n = (PAGE_SIZE - at % PAGE_SIZE) as usize;
            let mut buf = vec![0u8; n];
            self.read_user(at, &mut buf)?;
            if let Some(z) = buf.iter().position(|b| *b == 0) {
                out.extend_from_slice(&buf[..z]);
                break;
            }
            out.extend_from_slice(&buf);
            if out.len() > max {
                return Err(Errno::ENAMETOOLONG);
            }
            at = at.checked_add(n as u64).ok_or(Errno::EFAULT)?;
        }
        if out.len() >= max {
            return Err(Errno::ENAMETOOLONG);
        }
        String::from_utf8(out).map_err(|_| Errno::ENOENT)
    }

    fn fd(&self, n: u64) -> Result<Fd, Errno> {
        self.procs.get(&self.current()).ok_or(Errno::ESRCH)?.fds.get(n)
    }

    fn install_kind(&mut self, kind: FdKind) -> Ret {
        let pid = self.current();
        let n = self.procs.get_mut(&pid).ok_or(Errno::ESRCH)?.fds.install(Fd { kind, offset: 0, cloexec: false })?;
        Ok(n as u64)
    }

    /// /proc/self files: maps is a snapshot taken now (a sequential read
    /// from the start sees one consistent state, as with Linux's seq_file).
    fn open_proc(&mut self, name: &str, flags: u64) -> Option<Ret> {
        let file = name.strip_prefix("/proc/self/").or_else(|| name.strip_prefix("/proc/thread-self/"))?;
        if flags & O_ACCMODE != 0 {
            return Some(Err(Errno::EACCES));
        }
        let space = match self.current_space() {
            Some(s) => s,
            None => return Some(Err(Errno::ESRCH)),
        };
        Some(match file {
            "maps" => {
                let text = self.engine.maps(space, true).unwrap_or_default();
                self.install_kind(FdKind::Generated(text.into_bytes().into()))
            }
            "pagemap" => self.install_kind(FdKind::Pagemap),
            _ => Err(Errno::ENOENT),
        })
    }

    fn install_fd(&mut self, obj: ObjectId, read: bool, write: bool, append: bool, cloexec: bool) -> Ret {
        let pid = self.current();
        let fd = Fd { kind: FdKind::Object { obj, read, write, append }, offset: 0, cloexec };
        let n = self.procs.get_mut(&pid).ok_or(Errno::ESRCH)?.fds.install(fd)?;
        self.engine.hold_object(obj).map_err(|_| Errno::EBADF)?;
        Ok(n as u64)
    }

    pub(crate) fn sys_openat(&mut self, dirfd: u64, path: u64, flags: u64, _mode: u64) -> Ret {
        let name = self.read_cstr(path, PATH_MAX)?;
        if name.is_empty() {
            return Err(Errno::ENOENT);
        }
        if !name.starts_with('/') && dirfd as i64 != AT_FDCWD {
            // Only the one directory exists: any other dirfd is not a directory.
            self.fd(dirfd)?;
            return Err(Errno::ENOTDIR);
        }
        let acc = flags & O_ACCMODE;
        if acc == 3 {
            return Err(Errno::EINVAL);
        }
        if let Some(r) = self.open_proc(&Vfs::normalise(&name), flags) {
            return r;
        }
        let (read, write) = (acc != O_WRONLY, acc != 0);
        let obj = match self.vfs.lookup(&name) {
            Some(_) if flags & (O_CREAT | O_EXCL) == O_CREAT | O_EXCL => return Err(Errno::EEXIST),
            Some(o) => o,
            None if flags & O_CREAT != 0 => {
                let o = self.engine.create_file(&Vfs::normalise(&name), Vec::<u8>::new().into(), true);
                self.vfs.link(&name, o);
                o
            }
            None => return Err(Errno::ENOENT),
        };
        let object = self.engine.object(obj).ok_or(Errno::ENOENT)?;
        if object.is_revoked() {
            return Err(Errno::ENODEV);
        }
        if write && !object.may_write_shared() {
            return Err(Errno::EACCES);
        }
        if flags & O_TRUNC != 0 && write {
            let (r, u) = self.engine.truncate(obj, 0).split();
            self.pending.absorb(u);
            r?;
        }
        self.install_fd(obj, read, write, flags & O_APPEND != 0, flags & O_CLOEXEC != 0)
    }

    pub(crate) fn sys_close(&mut self, n: u64) -> Ret {
        let pid = self.current();
        let fd = self.procs.get_mut(&pid).ok_or(Errno::ESRCH)?.fds.remove(n)?;
        if let FdKind::Object { obj, .. } = fd.kind {
            let _ = self.engine.put_object(obj);
        }
        Ok(0)
    }

    pub(crate) fn sys_unlink(&mut self, path: u64) -> Ret {
        let name = self.read_cstr(path, PATH_MAX)?;
        // Device nodes live in /dev, which an unprivileged process may not
        // change (may_delete: no write permission on the directory).
        if name.starts_with("/dev/") && self.vfs.lookup(&name).is_some() {
            return Err(Errno::EACCES);
        }
        let obj = self.vfs.unlink(&name).ok_or(Errno::ENOENT)?;
        let _ = self.engine.put_object(obj);
        Ok(0)
    }

    pub(crate) fn sys_memfd_create(&mut self, name: u64, flags: u64) -> Ret {
        const MFD_NAME_MAX: usize = 249;
        if flags & !(MFD_CLOEXEC | MFD_ALLOW_SEALING) != 0 {
            return Err(Errno::EINVAL);
        }
        let n = self.read_cstr(name, MFD_NAME_MAX + 1).map_err(|e| if e == Errno::ENAMETOOLONG { Errno::EINVAL } else { e })?;
        let obj = self.engine.create_memfd(&n);
        let r = self.install_fd(obj, true, true, false, flags & MFD_CLOEXEC != 0);
        // The descriptor now holds the object; drop the creation handle.
        let _ = self.engine.put_object(obj);
        r
    }

    pub(crate) fn sys_ftruncate(&mut self, n: u64, len: u64) -> Ret {
        let fd = self.fd(n)?;
        let FdKind::Object { obj, write: true, .. } = fd.kind else { return Err(Errno::EINVAL) };
        if (len as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        let (r, u) = self.engine.truncate(obj, len).split();
        self.pending.absorb(u);
        r.map(|_| 0)
    }

    pub(crate) fn sys_fallocate(&mut self, n: u64, mode: u64, offset: u64, len: u64) -> Ret {
        let fd = self.fd(n)?;
        if (offset as i64) < 0 || (len as i64) <= 0 {
            return Err(Errno::EINVAL);
        }
        let FdKind::Object { obj, write: true, .. } = fd.kind else { return Err(Errno::EBADF) };
        match mode {
            m if m == FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE => {
                let (r, u) = self.engine.punch_hole(obj, offset, len).split();
                self.pending.absorb(u);
                r.map(|_| 0)
            }
            FALLOC_FL_PUNCH_HOLE => Err(Errno::EOPNOTSUPP),
            0 | FALLOC_FL_KEEP_SIZE => {
                let end = offset.checked_add(len).ok_or(Errno::EFBIG)?;
                let size = self.engine.object(obj).ok_or(Errno::EBADF)?.size;
                if mode == 0 && end > size {
                    let (r, u) = self.engine.truncate(obj, end).split();
                    self.pending.absorb(u);
                    r?;
                }
                Ok(0)
            }
            _ => Err(Errno::EOPNOTSUPP),
        }
    }

    /// read(2) / pread64(2): `at` is Some for pread.
    pub(crate) fn sys_read(&mut self, n: u64, buf: u64, len: u64, at: Option<u64>) -> Ret {
        let fd = self.fd(n)?;
        if at.is_some_and(|a| (a as i64) < 0) {
            return Err(Errno::EINVAL);
        }
        let len = len.min(MAX_IO) as usize;
        match fd.kind {
            FdKind::Console(0) => Ok(0),
            FdKind::Console(_) => Err(Errno::EBADF),
            FdKind::Generated(data) => {
                let off = at.unwrap_or(fd.offset).min(data.len() as u64) as usize;
                let got = len.min(data.len() - off);
                let got = self.write_user_prefix(buf, &data[off..off + got])?;
                if at.is_none() {
                    self.procs.get_mut(&self.current()).ok_or(Errno::ESRCH)?.fds.get_mut(n)?.offset = (off + got) as u64;
                }
                Ok(got as u64)
            }
            FdKind::Pagemap => {
                // 8 bytes per virtual page; reads must be whole entries.
                let off = at.unwrap_or(fd.offset);
                if !off.is_multiple_of(8) || !len.is_multiple_of(8) {
                    return Err(Errno::EINVAL);
                }
                let space = self.current_space().ok_or(Errno::ESRCH)?;
                let mut data = Vec::with_capacity(len);
                for i in 0..(len / 8) as u64 {
                    let page = off / 8 + i;
                    let va = guest_mm::VirtAddr::new(page.saturating_mul(PAGE_SIZE));
                    let e = if page < guest_mm::TASK_SIZE / PAGE_SIZE { self.engine.pagemap(space, va).unwrap_or(0) } else { 0 };
                    data.extend_from_slice(&e.to_le_bytes());
                }
                self.write_user(buf, &data)?;
                if at.is_none() {
                    self.procs.get_mut(&self.current()).ok_or(Errno::ESRCH)?.fds.get_mut(n)?.offset = off + len as u64;
                }
                Ok(len as u64)
            }
            FdKind::Object { read: false, .. } => Err(Errno::EBADF),
            FdKind::Object { obj, .. } => {
                let mut data = vec![0u8; len];
                let off = at.unwrap_or(fd.offset);
                let got = self.engine.read_object(obj, off, &mut data)?;
                let got = self.write_user_prefix(buf, &data[..got])?;
                if at.is_none() {
                    self.procs.get_mut(&self.current()).ok_or(Errno::ESRCH)?.fds.get_mut(n)?.offset = off + got as u64;
                }
                Ok(got as u64)
            }
        }
    }

    /// write(2) / pwrite64(2): `at` is Some for pwrite.
    pub(crate) fn sys_write(&mut self, n: u64, buf: u64, len: u64, at: Option<u64>) -> Ret {
        let fd = self.fd(n)?;
        if at.is_some_and(|a| (a as i64) < 0) {
            return Err(Errno::EINVAL);
        }
        let len = len.min(MAX_IO) as usize;
        let mut data = vec![0u8; len];
        match fd.kind {
            FdKind::Console(0) => Err(Errno::EBADF),
            FdKind::Console(c) => {
                // The console is a pipe on the host side (or a tty); pipe_write
                // copies the user buffer a page-sized chunk at a time and a
                // chunk that faults is not written: the count is the whole
                // chunks before it, EFAULT when there are none.
                let readable = self.read_user_prefix(buf, &mut data)?;
                let got = if readable == len { len } else { readable / PAGE_SIZE as usize * PAGE_SIZE as usize };
                if got == 0 && len > 0 {
                    return Err(Errno::EFAULT);
                }
                data.truncate(got);
                match &mut self.console {
                    Console::Inherit => {
                        let r = if c == 1 {
                            std::io::stdout().write_all(&data).and_then(|_| std::io::stdout().flush())
                        } else {
                            std::io::stderr().write_all(&data)
                        };
                        r.map_err(|_| Errno::EIO)?;
                    }
                    Console::Capture(out, err) => if c == 1 { out } else { err }.extend_from_slice(&data),
                }
                Ok(got as u64)
            }
            FdKind::Object { write: false, .. } | FdKind::Generated(_) | FdKind::Pagemap => Err(Errno::EBADF),
            FdKind::Object { obj, append, .. } => {
                let got = self.read_user_prefix(buf, &mut data)?;
                data.truncate(got);
                let size = self.engine.object(obj).ok_or(Errno::EBADF)?.size;
                let off = at.unwrap_or(if append { size } else { fd.offset });
                let put = self.engine.write_object(obj, off, &data)?;
                if at.is_none() {
                    self.procs.get_mut(&self.current()).ok_or(Errno::ESRCH)?.fds.get_mut(n)?.offset = off + put as u64;
                }
                Ok(put as u64)
            }
        }
    }

    pub(crate) fn sys_lseek(&mut self, n: u64, off: u64, whence: u64) -> Ret {
        let fd = self.fd(n)?;
        let size = match &fd.kind {
            FdKind::Object { obj, .. } => self.engine.object(*obj).ok_or(Errno::EBADF)?.size as i64,
            FdKind::Generated(d) => d.len() as i64,
            FdKind::Pagemap => (guest_mm::TASK_SIZE / PAGE_SIZE * 8) as i64,
            FdKind::Console(_) => return Err(Errno::ESPIPE),
        };
        let base = match whence {
            0 => 0,
            1 => fd.offset as i64,
            2 => size,
            _ => return Err(Errno::EINVAL),
        };
        let new = base.checked_add(off as i64).filter(|v| *v >= 0).ok_or(Errno::EINVAL)?;
        self.procs.get_mut(&self.current()).ok_or(Errno::ESRCH)?.fds.get_mut(n)?.offset = new as u64;
        Ok(new as u64)
    }

    /// The object and open mode behind a descriptor, for mmap.
    pub(crate) fn mmap_file(&self, n: u64) -> guest_mm::ops::mmap::MapFile {
        match self.fd(n) {
            Ok(Fd { kind: FdKind::Object { obj, read, write, .. }, .. }) => guest_mm::ops::mmap::MapFile::Open { obj, read, write },
            Ok(_) => guest_mm::ops::mmap::MapFile::Bad(Errno::ENODEV),
            Err(e) => guest_mm::ops::mmap::MapFile::Bad(e),
        }
    }
}
