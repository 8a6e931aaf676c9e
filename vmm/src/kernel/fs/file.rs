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
use super::inode::{Device, Ino};
use super::procfs::ProcNode;
use guest_mm::ObjectId;
use linux_abi::fcntl::{O_ACCMODE, O_RDONLY, O_RDWR, O_WRONLY};
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
    /// A generated read-only file whose contents are fixed when opened
    /// (/proc/sys values).
    Generated(Arc<[u8]>),
    /// /proc/PID/maps of a space, read as Linux's seq_file produces it: each
    /// read continues the walk over the mappings as they are at that read,
    /// after the last line it started (`continue_maps`); `data` is the text
    /// the reader has been given so far plus what it is about to get.
    Maps { space: guest_mm::AsId, data: Arc<[u8]> },
    /// /proc/PID/smaps of a space: generated at open and by every read from
    /// offset 0; a read further on continues that text (Linux's seq_file
    /// continues the walk per record; readers that read the file through in
    /// one pass, as every smaps reader does, see the same).
    Smaps { space: guest_mm::AsId, data: Arc<[u8]> },
    /// /proc/self/pagemap of the reading process: 8 bytes per page.
    Pagemap,
    /// /proc/self/clear_refs: write-only; a write of a valid type (1-5) is
    /// accepted and has nothing to clear here (no soft-dirty bits, as on the
    /// reference host without CONFIG_MEM_SOFT_DIRTY; no young bits or RSS
    /// high-water mark are kept).
    ClearRefs,
    /// A pidfd (pidfd_open): refers to process `pid` (a thread group here:
    /// there are no threads yet).
    Pidfd { pid: u32 },
    /// A directory (its inode is the description's `inode`): getdents64
    /// reads it; read(2) is EISDIR.
    Dir,
    /// A procfs directory.
    ProcDir(ProcNode),
    /// A character device of /dev (null, zero, full, random, urandom).
    Dev(Device),
    /// An O_PATH descriptor: names a file without opening it (fs/open.c
    /// do_o_path); read, write, mmap and ioctl are EBADF.
    Path,
    /// One end of a pipe (`fs::pipe`); which end is the description's
    /// access mode (O_RDONLY or O_WRONLY), as in Linux.
    Pipe(super::pipe::PipeId),
}

/// The maps text a read at byte `pos` continues with, as seq_file makes it
/// (fs/seq_file.c seq_read_iter with task_mmu.c's m_start/m_next): a line
/// the reader has started comes from the walk that produced it (seq_file's
/// buffer); every later line comes from the mappings `fresh` shows now, from
/// the end address of the last line already produced. At 0 it is `fresh`.
pub fn continue_maps(old: &[u8], pos: usize, fresh: &str) -> Vec<u8> {
    let pos = pos.min(old.len());
    let at_line_start = pos == 0 || old[pos - 1] == b'\n';
    let keep = if at_line_start { pos } else { old[pos..].iter().position(|&b| b == b'\n').map_or(old.len(), |i| pos + i + 1) };
    let kept = &old[..keep];
    // The end address of the last kept line ("start-end perms ...").
    let last_end = kept
        .split(|&b| b == b'\n')
        .rfind(|l| !l.is_empty())
        .and_then(|l| std::str::from_utf8(l).ok())
        .and_then(|l| l.split_once('-'))
        .and_then(|(_, rest)| u64::from_str_radix(rest.split(' ').next().unwrap_or(""), 16).ok())
        .unwrap_or(0);
    let mut out = kept.to_vec();
    for line in fresh.split_inclusive('\n') {
        let start = line.split('-').next().and_then(|s| u64::from_str_radix(s, 16).ok()).unwrap_or(0);
        if keep == 0 || start >= last_end {
            out.extend_from_slice(line.as_bytes());
        }
    }
    out
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
    /// The inode opened, for files opened by name (the holder of one inode
    /// reference while the description lives).
    #[serde(default)]
    pub inode: Option<Ino>,
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
    /// FMODE_READ: O_RDONLY or O_RDWR (access mode 3 gives neither).
    pub fn readable(&self) -> bool {
        matches!(self.flags & O_ACCMODE, O_RDONLY | O_RDWR)
    }
    /// FMODE_WRITE: O_WRONLY or O_RDWR.
    pub fn writable(&self) -> bool {
        matches!(self.flags & O_ACCMODE, O_WRONLY | O_RDWR)
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
        self.open_inode(kind, flags, None)
    }

    /// A new description of an inode opened by name (the caller holds the
    /// inode for it).
    pub fn open_inode(&mut self, kind: FileKind, flags: u64, inode: Option<Ino>) -> FileId {
        self.next += 1;
        let id = FileId(self.next);
        self.files.insert(id, OpenFile { kind, offset: 0, flags, owner: Owner::default(), owner_signal: 0, inode, refs: 1 });
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

    /// Every description.
    pub fn iter(&self) -> impl Iterator<Item = (FileId, &OpenFile)> + '_ {
        self.files.iter().map(|(k, v)| (*k, v))
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

    const A: &str = "1000-2000 r--p 0 00:00 0\n5000-6000 rw-p 0 00:00 0\n";

    #[test]
    fn maps_reads_continue_over_the_mappings_as_they_are_now() {
        let now = "1000-2000 r--p 0 00:00 0\n3000-4000 rw-p 0 00:00 0\n5000-7000 rw-p 0 00:00 0\n";
        // From the start: all of it as it is now.
        assert_eq!(continue_maps(A.as_bytes(), 0, now), now.as_bytes());
        // Inside the first line: that line as it was, then what lies after its end now.
        assert_eq!(continue_maps(A.as_bytes(), 3, now), now.as_bytes());
        // At the start of the second line: fresh lines from 0x2000 on.
        assert_eq!(continue_maps(A.as_bytes(), 25, now), now.as_bytes());
        // Inside the second line: it stays as it was (5000-6000), and a mapping
        // that starts before its end (5000-7000) is not shown again.
        let r = continue_maps(A.as_bytes(), 30, now);
        assert_eq!(String::from_utf8(r).unwrap(), A);
        // Everything read: only mappings above the last end are new.
        let more = "1000-2000 r--p 0 00:00 0\n9000-a000 rw-p 0 00:00 0\n";
        assert_eq!(String::from_utf8(continue_maps(A.as_bytes(), A.len(), more)).unwrap(), format!("{A}9000-a000 rw-p 0 00:00 0\n"));
    }

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
