//! Files for guest processes: the namespace, open file descriptions and
//! descriptor tables.
//!
//! Owns the names guest programs can open (files the VMM provides, files a
//! program creates with O_CREAT, device nodes), the open file descriptions
//! (`file`: what a descriptor refers to, its offset and status flags, shared
//! by dup'ed and inherited descriptors as in Linux), each process's
//! descriptor table (`fdtable`), and the console (`console`: the VMM's own
//! stdin, stdout and stderr). The data of files lives in the engine's
//! objects (page cache), so write(2) and mmap see the same bytes. Files are
//! tmpfs-like: they live as long as the VM, are never written back, and
//! `unlink` only drops the name. The namespace is flat: a relative name
//! lives in "/" (directories come with the VFS of issue 12).

pub mod console;
pub mod fdtable;
pub mod file;
pub mod pipe;

pub use fdtable::{FdEntry, FdTable};
pub use file::{FileId, FileKind, FileTable, OpenFile};

use guest_mm::ObjectId;
use std::collections::BTreeMap;

/// The namespace: path -> object.
#[derive(Clone, Default, Debug, serde::Serialize, serde::Deserialize)]
pub struct Vfs {
    names: BTreeMap<String, ObjectId>,
}

/// Longest path we accept (PATH_MAX).
pub const PATH_MAX: usize = linux_abi::fcntl::PATH_MAX;

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
    /// How many names an object has (its nlink).
    pub fn links(&self, obj: ObjectId) -> u64 {
        self.names.values().filter(|o| **o == obj).count() as u64
    }
    pub fn unlink(&mut self, path: &str) -> Option<ObjectId> {
        self.names.remove(&Vfs::normalise(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_absolute_names_are_the_same_file() {
        let mut v = Vfs::default();
        v.link("data", ObjectId(3));
        assert_eq!(v.lookup("/data"), Some(ObjectId(3)));
        assert_eq!(v.lookup("./data"), Some(ObjectId(3)));
    }
}
