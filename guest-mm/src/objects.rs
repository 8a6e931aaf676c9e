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
    File { data: FileData, writable: bool },
    /// A device memory window: `pages` frames starting at `base`.
    Device { base: Frame, pages: u64, state: DeviceState },
}

/// The host-side contents of a file: the bytes the VMM provided, minus what
/// truncation and hole punching have since removed, plus the pages reclaim
/// wrote back. What the guest writes lives in page-cache frames; it reaches
/// this store only when reclaim evicts a dirty page (writeback), so a page
/// dropped from the cache never comes back with stale bytes.
///
/// Invariant: `stored` counts the `Some` entries of `patches`; patches of
/// provided pages are bounded by the provided data, written-back pages by
/// the engine-wide writeback budget (see reclaim).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FileData {
    bytes: Arc<[u8]>,
    /// Provided bytes at or past this offset are gone (the file was truncated).
    end: u64,
    /// Pages whose contents differ from the provided bytes: `None` reads
    /// zero (punched), `Some` is the page as it now reads.
    patches: BTreeMap<u64, Option<Box<[u8]>>>,
    stored: u64,
}

impl FileData {
    pub fn new(bytes: Arc<[u8]>) -> Self {
        let end = bytes.len() as u64;
        FileData { bytes, end, patches: BTreeMap::new(), stored: 0 }
    }

    /// Page `index` as it reads now, or None for zeroes.
    pub fn page(&self, index: u64) -> Option<&[u8]> {
        if let Some(p) = self.patches.get(&index) {
            return p.as_deref();
        }
        let start = index.checked_mul(PAGE_SIZE)?;
        if start >= self.end {
            return None;
        }
        let end = (start + PAGE_SIZE).min(self.end);
        self.bytes.get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
    }

    /// Pages held in host memory beyond the provided bytes.
    pub fn stored_pages(&self) -> u64 {
        self.stored
    }

    fn set(&mut self, index: u64, page: Option<Box<[u8]>>) {
        self.stored += u64::from(page.is_some());
        if let Some(Some(_)) = self.patches.insert(index, page) {
            self.stored -= 1;
        }
    }

    fn remove_from(&mut self, first: u64) {
        let gone = self.patches.split_off(&first);
        self.stored -= gone.values().filter(|p| p.is_some()).count() as u64;
    }

    /// Truncation to `size` bytes: nothing past it comes back.
    pub(crate) fn truncate(&mut self, size: u64) {
        self.end = self.end.min(size);
        let first_gone = pages_in(size).unwrap_or(u64::MAX);
        self.remove_from(first_gone);
        self.zero(size, first_gone.saturating_mul(PAGE_SIZE));
    }

    /// Pages `[first, last)` read zero from now on.
    pub(crate) fn forget_pages(&mut self, first: u64, last: u64) {
        let mut tail = self.patches.split_off(&first);
        let mut keep = tail.split_off(&last);
        self.stored -= tail.values().filter(|p| p.is_some()).count() as u64;
        self.patches.append(&mut keep);
        let have = pages_in(self.end).unwrap_or(0);
        for i in first..last.min(have) {
            self.patches.insert(i, None);
        }
    }

    /// Bytes `[from, to)`, within one page, read zero from now on.
    pub(crate) fn zero(&mut self, from: u64, to: u64) {
        if from >= to {
            return;
        }
        let index = from / PAGE_SIZE;
        let Some(cur) = self.page(index) else { return };
        let mut page = vec![0u8; PAGE_SIZE as usize];
        page[..cur.len()].copy_from_slice(cur);
        let lo = (from % PAGE_SIZE) as usize;
        let hi = (lo as u64 + (to - from)).min(PAGE_SIZE) as usize;
        page[lo..hi].fill(0);
        self.set(index, Some(page.into_boxed_slice()));
    }

    /// Writeback of a dirty page-cache page: page `index` reads `page` from
    /// now on (an all-zero page costs nothing).
    pub(crate) fn write_back(&mut self, index: u64, page: &[u8]) {
        let stored = page.iter().any(|b| *b != 0).then(|| Box::<[u8]>::from(page));
        self.set(index, stored);
    }
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
    /// memfd seals (F_SEAL_*; mm/memfd.c): a shmem object that is not a
    /// sealable memfd carries F_SEAL_SEAL.
    #[serde(default)]
    pub seals: u32,
    /// Cached pages written through write(2): their folio is dirty in
    /// Linux (shmem_write_end), so reclaim keeps them and smaps counts them
    /// dirty. Invariant: a subset of the cached indexes.
    #[serde(default)]
    written: std::collections::BTreeSet<u64>,
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
        self.written.remove(&index);
        self.cache.remove(&index)
    }

    /// Cached page `index` was written through write(2).
    pub(crate) fn mark_written(&mut self, index: u64) {
        if self.cache.contains_key(&index) {
            self.written.insert(index);
        }
    }

    /// Page `index` was written back (msync): clean again.
    pub(crate) fn clear_written(&mut self, index: u64) {
        self.written.remove(&index);
    }

    /// Whether cached page `index` was written through write(2).
    pub fn was_written(&self, index: u64) -> bool {
        self.written.contains(&index)
    }

    /// Contents of page `index` of a file when it is not cached (zero past the data).
    pub fn file_page(&self, index: u64) -> Option<&[u8]> {
        match &self.kind {
            ObjectKind::File { data, .. } => data.page(index),
            _ => None,
        }
    }

    pub(crate) fn file_data_mut(&mut self) -> Option<&mut FileData> {
        match &mut self.kind {
            ObjectKind::File { data, .. } => Some(data),
            _ => None,
        }
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
        self.objects.insert(
            id,
            MemObject {
                kind,
                name,
                size,
                inode,
                cache: BTreeMap::new(),
                handles: 1,
                seals: linux_abi::fcntl::F_SEAL_SEAL,
                written: Default::default(),
            },
        );
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

    /// Pages of file contents held in host memory by writeback and patches.
    pub fn stored_pages(&self) -> u64 {
        self.objects
            .values()
            .map(|o| match &o.kind {
                ObjectKind::File { data, .. } => data.stored_pages(),
                _ => 0,
            })
            .sum()
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
        let id = t.create(ObjectKind::File { data: FileData::new(data), writable: false }, "/f".into(), 5000);
        let o = t.get(id).unwrap();
        assert_eq!(o.size_pages(), 2);
        assert_eq!(o.file_page(0).unwrap().len(), 4096);
        assert_eq!(o.file_page(1).unwrap().len(), 904);
        assert!(o.file_page(2).is_none());
        assert!(!o.may_write_shared());
    }

    #[test]
    fn truncated_and_punched_file_bytes_never_come_back() {
        let mut d = FileData::new(vec![7u8; 3 * 4096].into());
        d.forget_pages(1, 2);
        assert!(d.page(1).is_none());
        d.zero(10, 20);
        assert_eq!(&d.page(0).unwrap()[8..22], &[7, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 7]);
        d.truncate(4096 + 100);
        assert!(d.page(1).is_none(), "still punched");
        assert!(d.page(2).is_none(), "past the end");
        d.truncate(50);
        assert_eq!(d.page(0).unwrap().iter().filter(|b| **b == 7).count(), 50 - 10);
        assert_eq!(d.stored_pages(), 1, "page 0, partly zeroed");
    }

    #[test]
    fn written_back_pages_read_back_until_truncated_or_punched() {
        let mut d = FileData::new(vec![1u8; 4096].into());
        d.write_back(5, &[9u8; 4096]);
        d.write_back(6, &[0u8; 4096]);
        assert_eq!(d.page(5).unwrap()[0], 9);
        assert!(d.page(6).is_none());
        assert_eq!(d.stored_pages(), 1);
        d.forget_pages(5, 6);
        assert!(d.page(5).is_none());
        assert_eq!(d.stored_pages(), 0);
        d.write_back(3, &[4u8; 4096]);
        d.truncate(4096);
        assert!(d.page(3).is_none());
        assert_eq!(d.stored_pages(), 0);
        assert_eq!(d.page(0).unwrap()[0], 1);
    }
}
