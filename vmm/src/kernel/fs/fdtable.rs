//! A process's descriptor table: descriptor numbers -> open file
//! descriptions, with the close-on-exec flag per descriptor.
//!
//! Owns number allocation (the lowest free number at or above a minimum,
//! below the process's RLIMIT_NOFILE, as alloc_fd does) and the per-
//! descriptor flag. The descriptions themselves are in the kernel's
//! `FileTable`; this table only names them, so a caller that adds or drops
//! an entry also holds or releases the description.

use super::file::FileId;
use guest_mm::Errno;
use std::collections::BTreeMap;

/// One descriptor.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FdEntry {
    pub file: FileId,
    pub cloexec: bool,
}

/// A process's descriptors.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct FdTable {
    fds: BTreeMap<i32, FdEntry>,
}

/// The most descriptors a process can ever have (Linux's fs.nr_open).
pub const NR_OPEN: u64 = 1 << 20;

impl FdTable {
    /// The lowest free number >= `min` below `limit`, or EMFILE.
    pub fn lowest_free(&self, min: i32, limit: u64) -> Result<i32, Errno> {
        let mut n = min;
        for (&k, _) in self.fds.range(min..) {
            if k != n {
                break;
            }
            n += 1;
        }
        if (n as u64) < limit.min(NR_OPEN) {
            Ok(n)
        } else {
            Err(Errno::EMFILE)
        }
    }

    /// Installs `e` at the lowest free number >= `min` (EMFILE when full).
    pub fn install(&mut self, e: FdEntry, min: i32, limit: u64) -> Result<i32, Errno> {
        let n = self.lowest_free(min, limit)?;
        self.fds.insert(n, e);
        Ok(n)
    }

    /// Puts `e` at `n`, returning what was there (dup2).
    pub fn replace(&mut self, n: i32, e: FdEntry) -> Option<FdEntry> {
        self.fds.insert(n, e)
    }

    /// The descriptor `n` (an `unsigned int fd` argument), or EBADF.
    pub fn get(&self, n: u32) -> Result<FdEntry, Errno> {
        i32::try_from(n).ok().and_then(|n| self.fds.get(&n).copied()).ok_or(Errno::EBADF)
    }

    pub fn get_mut(&mut self, n: u32) -> Result<&mut FdEntry, Errno> {
        i32::try_from(n).ok().and_then(|n| self.fds.get_mut(&n)).ok_or(Errno::EBADF)
    }

    pub fn remove(&mut self, n: u32) -> Result<FdEntry, Errno> {
        i32::try_from(n).ok().and_then(|n| self.fds.remove(&n)).ok_or(Errno::EBADF)
    }

    /// Every descriptor, in number order.
    pub fn iter(&self) -> impl Iterator<Item = (i32, FdEntry)> + '_ {
        self.fds.iter().map(|(n, e)| (*n, *e))
    }

    /// Removes every descriptor (exit), returning them.
    pub fn take_all(&mut self) -> Vec<FdEntry> {
        std::mem::take(&mut self.fds).into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(id: u64) -> FdEntry {
        FdEntry { file: FileId(id), cloexec: false }
    }

    #[test]
    fn lowest_free_descriptor_is_used_and_the_limit_holds() {
        let mut t = FdTable::default();
        for i in 0..3 {
            assert_eq!(t.install(e(i), 0, 1024), Ok(i as i32));
        }
        t.remove(1).unwrap();
        assert_eq!(t.install(e(9), 0, 1024), Ok(1));
        assert_eq!(t.install(e(9), 10, 1024), Ok(10));
        assert_eq!(t.install(e(9), 0, 4), Ok(3));
        assert_eq!(t.install(e(9), 0, 4), Err(Errno::EMFILE));
        assert_eq!(t.get(77), Err(Errno::EBADF));
        assert_eq!(t.get(u32::MAX), Err(Errno::EBADF));
    }
}
