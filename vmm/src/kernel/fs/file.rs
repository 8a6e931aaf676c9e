//! Open file descriptions (Linux's struct file): what a descriptor refers
//! to, its file offset and its status flags.
//!
//! Owns the table of descriptions with their reference counts. Descriptors
//! (in each process's `FdTable`) name a description by `FileId`; dup, fork
//! and F_DUPFD share one description, so they share its offset and its
//! O_APPEND/O_NONBLOCK flags, as in Linux. A description goes away with its
//! last descriptor; the caller then releases what it held (an engine object).
//! Ids are never reused within a VM's life, and the table is plain data so
//! that checkpoints keep the sharing.

use super::console::Stdio;
use guest_mm::ObjectId;
use linux_abi::fcntl::{O_ACCMODE, O_RDONLY, O_WRONLY};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Identity of an open file description.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct FileId(pub u64);

/// What a description refers to.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FileKind {
    /// The VMM's stdin, stdout or stderr.
    Console(Stdio),
    /// A memory object (file, memfd, device window).
    Object(ObjectId),
    /// A generated read-only file (/proc/self/maps), captured when opened.
    Generated(Arc<[u8]>),
    /// /proc/self/pagemap of the reading process: 8 bytes per page.
    Pagemap,
}

/// One open file description.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpenFile {
    pub kind: FileKind,
    pub offset: u64,
    /// The access mode and status flags (O_APPEND, O_NONBLOCK, ...) as
    /// F_GETFL reports them.
    pub flags: u64,
    /// Who gets SIGIO/SIGURG for it (F_SETOWN, F_SETOWN_EX), and which
    /// signal (F_SETSIG; 0 means SIGIO). Recorded and reported; no I/O here
    /// generates those signals yet.
    pub owner: Owner,
    pub owner_signal: u32,
    refs: u32,
}

/// A description's owner (Linux's struct fown_struct): a pid of a kind.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Owner {
    pub kind: OwnerKind,
    /// 0: no owner.
    pub pid: u32,
}

/// Linux's pid types for an owner.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OwnerKind {
    /// PIDTYPE_PID (F_OWNER_TID): one thread; what an unset owner reads as.
    #[default]
    Thread,
    /// PIDTYPE_TGID (F_OWNER_PID; F_SETOWN with a positive pid).
    Process,
    /// PIDTYPE_PGID (F_OWNER_PGRP; F_SETOWN with a negative pid).
    Group,
}

impl OpenFile {
    pub fn readable(&self) -> bool {
        self.flags & O_ACCMODE != O_WRONLY
    }
    pub fn writable(&self) -> bool {
        self.flags & O_ACCMODE != O_RDONLY
    }
}

/// All open file descriptions of the VM.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct FileTable {
    files: BTreeMap<FileId, OpenFile>,
    next: u64,
}

impl FileTable {
    /// A new description with one reference.
    pub fn open(&mut self, kind: FileKind, flags: u64) -> FileId {
        self.next += 1;
        let id = FileId(self.next);
        self.files.insert(id, OpenFile { kind, offset: 0, flags, owner: Owner::default(), owner_signal: 0, refs: 1 });
        id
    }

    pub fn get(&self, id: FileId) -> Option<&OpenFile> {
        self.files.get(&id)
    }

    pub fn get_mut(&mut self, id: FileId) -> Option<&mut OpenFile> {
        self.files.get_mut(&id)
    }

    /// Another reference (dup, fork).
    pub fn hold(&mut self, id: FileId) {
        if let Some(f) = self.files.get_mut(&id) {
            f.refs += 1;
        }
    }

    /// Drops a reference; returns the description when it was the last.
    #[must_use = "the last reference's object must be released"]
    pub fn release(&mut self, id: FileId) -> Option<OpenFile> {
        let f = self.files.get_mut(&id)?;
        f.refs -= 1;
        if f.refs == 0 {
            self.files.remove(&id)
        } else {
            None
        }
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_lives_until_its_last_reference() {
        let mut t = FileTable::default();
        let id = t.open(FileKind::Pagemap, O_RDONLY);
        t.hold(id);
        assert!(t.release(id).is_none());
        t.get_mut(id).unwrap().offset = 9;
        assert_eq!(t.release(id).map(|f| f.offset), Some(9));
        assert!(t.get(id).is_none() && t.is_empty());
    }
}
