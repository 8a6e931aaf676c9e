//! Files for guest processes: a flat in-memory namespace and fd tables.
//!
//! Owns the names guest programs can open (files the VMM provides, files a
//! program creates with O_CREAT, later device nodes), and each process's file
//! descriptors: the console (0, 1, 2) and open memory objects with their open
//! mode and file offset. The data lives in the engine's objects (page cache),
//! so write(2) and mmap see the same bytes. Files are tmpfs-like: they live as
//! long as the VM, are never written back, and `unlink` only drops the name.

use guest_mm::{Errno, ObjectId};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a descriptor refers to.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FdKind {
    /// 0: reads return end of file. 1, 2: the VMM's stdout and stderr.
    Console(u8),
    /// An open memory object (file, memfd, device).
    Object { obj: ObjectId, read: bool, write: bool, append: bool },
    /// A generated read-only file (/proc/self/maps), captured when opened.
    Generated(Arc<[u8]>),
    /// /proc/self/pagemap of the opening process: 8 bytes per page.
    Pagemap,
}

/// One open file description (shared by dup'ed and inherited descriptors in
/// Linux; here each descriptor has its own offset, which our programs never
/// observe differently because none share offsets across processes).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fd {
    pub kind: FdKind,
    pub offset: u64,
    pub cloexec: bool,
}

/// A process's descriptors.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FdTable {
    fds: BTreeMap<i32, Fd>,
}

/// RLIMIT_NOFILE.
pub const MAX_FDS: i32 = 1024;

impl Default for FdTable {
    fn default() -> Self {
        let mut fds = BTreeMap::new();
        for i in 0..3 {
            fds.insert(i, Fd { kind: FdKind::Console(i as u8), offset: 0, cloexec: false });
        }
        FdTable { fds }
    }
}

impl FdTable {
    /// Installs `fd` at the lowest free number (EMFILE when full).
    pub fn install(&mut self, fd: Fd) -> Result<i32, Errno> {
        let n = (0..MAX_FDS).find(|n| !self.fds.contains_key(n)).ok_or(Errno::EMFILE)?;
        self.fds.insert(n, fd);
        Ok(n)
    }
    pub fn get(&self, n: u64) -> Result<Fd, Errno> {
        i32::try_from(n).ok().and_then(|n| self.fds.get(&n).cloned()).ok_or(Errno::EBADF)
    }
    pub fn get_mut(&mut self, n: u64) -> Result<&mut Fd, Errno> {
        i32::try_from(n).ok().and_then(|n| self.fds.get_mut(&n)).ok_or(Errno::EBADF)
    }
    pub fn remove(&mut self, n: u64) -> Result<Fd, Errno> {
        i32::try_from(n).ok().and_then(|n| self.fds.remove(&n)).ok_or(Errno::EBADF)
    }
    /// Objects held by the descriptors (to take or drop their handles).
    pub fn objects(&self) -> Vec<ObjectId> {
        self.fds
            .values()
            .filter_map(|f| match f.kind {
                FdKind::Object { obj, .. } => Some(obj),
                _ => None,
            })
            .collect()
    }
}

/// The namespace: path -> object.
#[derive(Clone, Default, Debug, serde::Serialize, serde::Deserialize)]
pub struct Vfs {
    names: BTreeMap<String, ObjectId>,
}

/// Longest path we accept (PATH_MAX).
pub const PATH_MAX: usize = 4096;

impl Vfs {
    /// Normalises a path: relative names live in "/" (the only directory).
    pub fn normalise(path: &str) -> String {
        let p = path.trim_start_matches("./");
        if p.starts_with('/') {
            p.to_string()
        } else {
            format!("/{p}")
        }
    }
    pub fn lookup(&self, path: &str) -> Option<ObjectId> {
        self.names.get(&Vfs::normalise(path)).copied()
    }
    pub fn link(&mut self, path: &str, obj: ObjectId) {
        self.names.insert(Vfs::normalise(path), obj);
    }
    pub fn unlink(&mut self, path: &str) -> Option<ObjectId> {
        self.names.remove(&Vfs::normalise(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_free_descriptor_is_used() {
        let mut t = FdTable::default();
        let f = Fd { kind: FdKind::Console(1), offset: 0, cloexec: false };
        assert_eq!(t.install(f.clone()), Ok(3));
        t.remove(1).unwrap();
        assert_eq!(t.install(f), Ok(1));
        assert_eq!(t.get(77), Err(Errno::EBADF));
        assert_eq!(t.get(u64::MAX), Err(Errno::EBADF));
    }

    #[test]
    fn relative_and_absolute_names_are_the_same_file() {
        let mut v = Vfs::default();
        v.link("data", ObjectId(3));
        assert_eq!(v.lookup("/data"), Some(ObjectId(3)));
        assert_eq!(v.lookup("./data"), Some(ObjectId(3)));
    }
}
