//! Inodes: what a name in the guest's file systems refers to.
//!
//! Owns the kinds of node (directory, regular file, symbolic link, device,
//! the procfs mount point), their attributes as stat(2) shows them, and the
//! file systems (`Sb`, Linux's super blocks) they belong to. A regular file's
//! pages are an engine object (the page cache), created when the file is
//! first opened or mapped; until then a file imported from the host root is
//! only its host path. A directory lists its entries with a cookie each, the
//! stable readdir position of Linux's simple_offset directories (tmpfs since
//! 6.6), so a directory reads in creation order and a reader's position
//! survives entries being added or removed.
//!
//! Invariants: a directory's `nlink` is 2 plus its subdirectories; every
//! entry's cookie is below the directory's `next_cookie` and unique in it;
//! an inode is alive while it has a name (`nlink > 0`) or a holder (`refs`:
//! open descriptions, working directories).

use guest_mm::ObjectId;
use linux_abi::stat::{makedev, S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// An inode number (st_ino), unique in the VM, never reused.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Ino(pub u64);

/// The mounted file systems. Their places are fixed at boot (`Vfs::new`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Sb {
    /// "/": the imported host root (read-only below, written in memory above)
    /// or, without `--root`, an empty in-memory root.
    Root,
    /// tmpfs at /tmp.
    Tmp,
    /// tmpfs at /dev/shm.
    Shm,
    /// devtmpfs at /dev.
    Dev,
    /// procfs at /proc.
    Proc,
    /// sysfs at /sys.
    Sys,
}

impl Sb {
    pub const ALL: [Sb; 6] = [Sb::Root, Sb::Dev, Sb::Shm, Sb::Proc, Sb::Sys, Sb::Tmp];

    /// st_dev: an anonymous device per mount, as Linux gives virtual file systems.
    pub fn dev(self) -> u64 {
        makedev(
            0,
            match self {
                Sb::Root => 0x20,
                Sb::Dev => 0x05,
                Sb::Shm => 0x18,
                Sb::Proc => 0x16,
                Sb::Sys => 0x15,
                Sb::Tmp => 0x21,
            },
        )
    }

    /// Where it is mounted.
    pub fn mount_point(self) -> &'static str {
        match self {
            Sb::Root => "/",
            Sb::Tmp => "/tmp",
            Sb::Shm => "/dev/shm",
            Sb::Dev => "/dev",
            Sb::Proc => "/proc",
            Sb::Sys => "/sys",
        }
    }

    /// The file system type /proc/mounts names.
    pub fn fstype(self) -> &'static str {
        match self {
            Sb::Root | Sb::Tmp | Sb::Shm => "tmpfs",
            Sb::Dev => "devtmpfs",
            Sb::Proc => "proc",
            Sb::Sys => "sysfs",
        }
    }

    /// The mount options /proc/mounts shows.
    pub fn options(self) -> &'static str {
        match self {
            Sb::Root => "rw,relatime",
            Sb::Tmp => "rw,nosuid,nodev,relatime",
            Sb::Shm => "rw,nosuid,nodev,relatime",
            Sb::Dev => "rw,nosuid,relatime,mode=755",
            Sb::Proc | Sb::Sys => "rw,nosuid,nodev,noexec,relatime",
        }
    }

    /// statfs f_type (include/uapi/linux/magic.h).
    pub fn magic(self) -> u64 {
        match self {
            Sb::Root | Sb::Tmp | Sb::Shm | Sb::Dev => 0x0102_1994, // TMPFS_MAGIC
            Sb::Proc => 0x9fa0,                                    // PROC_SUPER_MAGIC
            Sb::Sys => 0x6265_6572,                                // SYSFS_MAGIC
        }
    }

    /// Whether regular files here are shmem (tmpfs): their mappings are
    /// shmem mappings, as on Linux.
    pub fn is_shmem(self) -> bool {
        matches!(self, Sb::Tmp | Sb::Shm)
    }
}

/// A character device of devtmpfs.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Device {
    Null,
    Zero,
    Full,
    Random,
    Urandom,
    /// /dev/tty: the controlling terminal (the guest's session has none).
    Tty,
    /// A hot-pluggable memory window (docs/unplug.md).
    Window(ObjectId),
    /// A whiteout (RENAME_WHITEOUT): a 0:0 character device, mode 0.
    Whiteout,
}

impl Device {
    /// st_rdev, as drivers/char/mem.c and tty register them.
    pub fn rdev(self) -> u64 {
        match self {
            Device::Null => makedev(1, 3),
            Device::Zero => makedev(1, 5),
            Device::Full => makedev(1, 7),
            Device::Random => makedev(1, 8),
            Device::Urandom => makedev(1, 9),
            Device::Tty => makedev(5, 0),
            Device::Window(_) => makedev(10, 200),
            Device::Whiteout => makedev(0, 0),
        }
    }
}

/// Where a regular file's bytes are.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Data {
    /// A file of the imported root not yet opened: its host path and size.
    Host { path: PathBuf, size: u64 },
    /// An engine object (its page cache): the inode holds one handle.
    Object(ObjectId),
}

/// One directory entry.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    pub ino: Ino,
    /// The readdir position (offsets 0 and 1 are "." and "..").
    pub cookie: u64,
}

/// A directory.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Dir {
    pub entries: BTreeMap<String, Entry>,
    /// The parent and this directory's name in it (the root is its own parent).
    pub parent: Ino,
    pub name: String,
    /// A directory of the imported root whose host entries are not read yet.
    pub lower: Option<PathBuf>,
    pub next_cookie: u64,
}

impl Dir {
    pub fn new(parent: Ino, name: &str, lower: Option<PathBuf>) -> Dir {
        Dir { entries: BTreeMap::new(), parent, name: name.to_string(), lower, next_cookie: 2 }
    }

    /// Adds an entry at the end of the readdir order.
    pub fn add(&mut self, name: &str, ino: Ino) {
        let cookie = self.next_cookie;
        self.next_cookie += 1;
        self.entries.insert(name.to_string(), Entry { ino, cookie });
    }

    /// The entries from readdir position `pos` on, in order.
    pub fn from_cookie(&self, pos: u64) -> Vec<(String, Entry)> {
        let mut v: Vec<_> = self.entries.iter().filter(|(_, e)| e.cookie >= pos).map(|(n, e)| (n.clone(), *e)).collect();
        v.sort_by_key(|(_, e)| e.cookie);
        v
    }
}

/// What an inode is.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Node {
    Dir(Dir),
    File(Data),
    Symlink(String),
    Char(Device),
    /// The root of procfs: what lies below is generated (`procfs`).
    ProcRoot,
}

/// A timestamp (seconds, nanoseconds).
pub type Time = (i64, i64);

/// One inode.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Inode {
    pub node: Node,
    /// File type and permission bits (st_mode).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub sb: Sb,
    pub atime: Time,
    pub mtime: Time,
    pub ctime: Time,
    /// Open descriptions and working directories holding it.
    pub refs: u32,
}

impl Inode {
    pub fn kind(&self) -> u32 {
        self.mode & S_IFMT
    }
    pub fn is_dir(&self) -> bool {
        self.kind() == S_IFDIR
    }
    pub fn dir(&self) -> Option<&Dir> {
        match &self.node {
            Node::Dir(d) => Some(d),
            _ => None,
        }
    }
    pub fn dir_mut(&mut self) -> Option<&mut Dir> {
        match &mut self.node {
            Node::Dir(d) => Some(d),
            _ => None,
        }
    }
    /// The file type bits a node of this kind has.
    pub fn type_of(node: &Node) -> u32 {
        match node {
            Node::Dir(_) | Node::ProcRoot => S_IFDIR,
            Node::File(_) => S_IFREG,
            Node::Symlink(_) => S_IFLNK,
            Node::Char(_) => S_IFCHR,
        }
    }
    /// d_type for getdents64 (DT_* is the file type >> 12).
    pub fn d_type(&self) -> u8 {
        (self.kind() >> 12) as u8
    }
}
