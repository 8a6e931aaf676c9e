//! Memory objects and their page caches.
//!
//! Owns every object a VMA can map besides private anonymous memory:
//! - shmem: memfd_create objects and MAP_SHARED|MAP_ANONYMOUS regions; their
//!   pages exist only in the page cache (holes read as zero);
//! - files the VMM provides (program images, test files): named, opened
//!   read-only or read-write, contents supplied by the host; pages are read
//!   into the cache on first use;
//! - device windows: a fixed run of guest-physical frames outside the RAM pool
//!   (a memory window device), which can be revoked.
//!
//! An object records its size, its cached pages (index -> frame) and how many
//! handles (open file descriptors) the process layer holds. VMAs refer to
//! objects by id; the engine releases an object when no handle and no VMA
//! refers to it any more.
//!
//! Invariants: cached page indexes are below the size in pages; every cached
//! frame is a pool frame whose use is `Cache { obj, index }`.

use crate::addr::{pages_in, Frame, PAGE_SIZE};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// Identity of a memory object.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct ObjectId(pub u32);

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "obj#{}", self.0)
    }
}

/// State of a device window.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DeviceState {
    Plugged,
    /// Unplugged: every mapping was revoked; the frames must never be mapped again.
    Revoked,
}

/// What an object is.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum ObjectKind {
    /// memfd or shared anonymous memory.
    Shmem,
    /// A host-provided file. `writable` says whether it was opened for writing,
    /// which decides VM_MAYWRITE for MAP_SHARED mappings of it.
    File { data: Arc<[u8]>, writable: bool },
    /// A device memory window: `pages` frames starting at `base`.
    Device { base: Frame, pages: u64, state: DeviceState },
}

/// One memory object.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct MemObject {
    pub kind: ObjectKind,
    /// Path shown in maps, e.g. "/memfd:buf (deleted)" or "/dev/zero (deleted)".
    pub name: String,
    /// Size in bytes (for files and shmem, what ftruncate set).
    pub size: u64,
    /// Inode number shown in maps.
    pub inode: u64,
    cache: BTreeMap<u64, Frame>,
    /// Open handles held by the process layer.
    pub handles: u32,
}

impl MemObject {
    pub fn size_pages(&self) -> u64 {
        pages_in(self.size).unwrap_or(u64::MAX)
    }

    /// The cached frame for page `index`.
    pub fn cached(&self, index: u64) -> Option<Frame> {
        self.cache.get(&index).copied()
    }

    /// Cached pages with index in `[lo, hi)`.
    pub fn cached_range(&self, lo: u64, hi: u64) -> Vec<(u64, Frame)> {
        if lo >= hi {
            return Vec::new();
        }
        self.cache.range(lo..hi).map(|(i, f)| (*i, *f)).collect()
    }

    pub fn cached_count(&self) -> usize {
        self.cache.len()
    }

    pub(crate) fn insert_cached(&mut self, index: u64, f: Frame) {
        self.cache.insert(index, f);
    }

    pub(crate) fn remove_cached(&mut self, index: u64) -> Option<Frame> {
        self.cache.remove(&index)
    }

    /// Initial contents of page `index` for a file (zero past the data).
    pub fn file_page(&self, index: u64) -> Option<&[u8]> {
        let ObjectKind::File { data, .. } = &self.kind else {
            return None;
        };
        let start = usize::try_from(index.checked_mul(PAGE_SIZE)?).ok()?;
        if start >= data.len() {
            return None;
        }
        let end = (start + PAGE_SIZE as usize).min(data.len());
        Some(&data[start..end])
    }

    /// The device frame for page `index` of a plugged device.
    pub fn device_frame(&self, index: u64) -> Option<Frame> {
        match self.kind {
            ObjectKind::Device { base, pages, state: DeviceState::Plugged } if index < pages => Some(Frame::new(base.number() + index)),
            _ => None,
        }
    }

    pub fn is_device(&self) -> bool {
        matches!(self.kind, ObjectKind::Device { .. })
    }

    pub fn is_revoked(&self) -> bool {
        matches!(self.kind, ObjectKind::Device { state: DeviceState::Revoked, .. })
    }

    /// Whether MAP_SHARED mappings may be writable (the file was opened for writing).
    pub fn may_write_shared(&self) -> bool {
        match &self.kind {
            ObjectKind::Shmem | ObjectKind::Device { .. } => true,
            ObjectKind::File { writable, .. } => *writable,
        }
    }
}

/// All objects.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ObjectTable {
    objects: BTreeMap<ObjectId, MemObject>,
    next: u32,
}

impl ObjectTable {
    pub fn new() -> Self {
        ObjectTable::default()
    }

    /// Adds an object with one handle.
    pub fn create(&mut self, kind: ObjectKind, name: String, size: u64) -> ObjectId {
        self.next += 1;
        let id = ObjectId(self.next);
        // Inode numbers: distinct per object, stable for a run (like tmpfs's).
        let inode = 1000 + self.next as u64;
        self.objects.insert(id, MemObject { kind, name, size, inode, cache: BTreeMap::new(), handles: 1 });
        id
    }

    pub fn get(&self, id: ObjectId) -> Option<&MemObject> {
        self.objects.get(&id)
    }

    pub fn get_mut(&mut self, id: ObjectId) -> Option<&mut MemObject> {
        self.objects.get_mut(&id)
    }

    /// Removes the object record; the caller has already released its frames.
    pub fn remove(&mut self, id: ObjectId) -> Option<MemObject> {
        self.objects.remove(&id)
    }

    pub fn iter(&self) -> impl Iterator<Item = (ObjectId, &MemObject)> + '_ {
        self.objects.iter().map(|(k, v)| (*k, v))
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_pages_come_from_data_and_end_at_eof() {
        let mut t = ObjectTable::new();
        let data: Arc<[u8]> = vec![7u8; 5000].into();
        let id = t.create(ObjectKind::File { data, writable: false }, "/f".into(), 5000);
        let o = t.get(id).unwrap();
        assert_eq!(o.size_pages(), 2);
        assert_eq!(o.file_page(0).unwrap().len(), 4096);
        assert_eq!(o.file_page(1).unwrap().len(), 904);
        assert!(o.file_page(2).is_none());
        assert!(!o.may_write_shared());
    }
}
