//! Files for guest processes: the file systems, open file descriptions and
//! descriptor tables.
//!
//! Layers, from names to bytes (docs/filesystems.md):
//! - `vfs` and `inode`: the namespace, every inode of the mounted file
//!   systems ("/" imported from the host or empty, devtmpfs at /dev, tmpfs
//!   at /tmp and /dev/shm, procfs at /proc, sysfs at /sys), and the calls
//!   that change names;
//! - `path`: walking a path to what it names (symbolic links, "..",
//!   permissions, procfs's magic links);
//! - `procfs`: the generated files of /proc; `sysfs`: the few files of /sys
//!   (transparent huge pages);
//! - `file`: open file descriptions (what a descriptor refers to, its
//!   offset and status flags, shared by dup'ed and inherited descriptors as
//!   in Linux), and `fdtable`, each process's descriptors;
//! - `console`: the VMM's own stdin, stdout and stderr.
//!
//! The data of regular files lives in the engine's objects (page cache), so
//! write(2) and mmap see the same bytes, and truncation, hole punching,
//! reclaim and revocation work on them as on any object. Files in tmpfs are
//! shmem objects; files of "/" are file objects whose host bytes are read
//! when first opened.

pub mod console;
pub mod fdtable;
pub mod file;
pub mod inode;
pub mod path;
pub mod pipe;
pub mod procfs;
pub mod proctext;
pub mod sysfs;
pub mod vfs;

pub use fdtable::{FdEntry, FdTable};
pub use file::{FileId, FileKind, FileTable, OpenFile};
pub use inode::{Data, Device, Ino, Node, Sb};
pub use path::{Follow, Found, Last, Parent};
pub use vfs::{Access, Vfs};

use super::Kernel;
use guest_mm::{Errno, ObjectId};

/// Longest path we accept (PATH_MAX).
pub const PATH_MAX: usize = linux_abi::fcntl::PATH_MAX;

impl Kernel {
    /// Drops an inode reference; a dead inode's object handle is put.
    pub(crate) fn put_inode(&mut self, ino: Ino) {
        if let Some(o) = self.vfs.put(ino) {
            let _ = self.engine.put_object(o);
        }
    }

    /// The file's data changed (write, truncate): mtime and ctime become now
    /// (file_update_time; setattr with ATTR_MTIME | ATTR_CTIME).
    pub(crate) fn touch_times(&mut self, ino: Ino) {
        let now = self.now();
        if let Some(i) = self.vfs.get_mut(ino) {
            i.mtime = now;
            i.ctime = now;
        }
    }

    /// The engine object of a regular file, made on first use: an imported
    /// host file's bytes are read now (EIO if the host cannot read them).
    pub(crate) fn file_object(&mut self, ino: Ino, path: &str) -> Result<ObjectId, Errno> {
        let i = self.vfs.get(ino).ok_or(Errno::ENOENT)?;
        match &i.node {
            Node::File(Data::Object(o)) => Ok(*o),
            Node::File(Data::Host { path: host, .. }) => {
                let bytes = std::fs::read(host).map_err(|_| Errno::EIO)?;
                let o = self.engine.create_file(path, bytes.into(), true);
                if let Some(i) = self.vfs.get_mut(ino) {
                    i.node = Node::File(Data::Object(o));
                }
                Ok(o)
            }
            Node::Char(Device::Window(o)) => Ok(*o),
            _ => Err(Errno::EINVAL),
        }
    }

    /// A new regular file's data: shmem in tmpfs (its mappings are shmem
    /// mappings, as on Linux), a file object elsewhere.
    pub(crate) fn new_file_data(&mut self, sb: Sb, path: &str) -> ObjectId {
        if sb.is_shmem() {
            self.engine.create_shmem_file(path)
        } else {
            self.engine.create_file(path, Vec::<u8>::new().into(), true)
        }
    }
}
