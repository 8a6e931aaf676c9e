//! Reclaim of page-cache pages of files (clean, or written back first).
//!
//! Owns the decision which cached pages may leave guest RAM and the unmapping
//! that goes with it. Mirrors the file side of mm/vmscan.c shrink_folio_list
//! (try_to_unmap, then drop a clean folio from its mapping) and
//! mm/madvise.c madvise_cold_or_pageout_pte_range for MADV_PAGEOUT.
//!
//! Rules:
//! - Only pages of files are candidates. A page is clean when its bytes
//!   equal what a refault would read back (the file's contents as the host
//!   holds them, zero past them). A dirty page is written back first (its
//!   bytes go to the file's host-side contents, `objects::FileData`), as
//!   pageout() would, within a writeback budget of as many pages as the
//!   pool has, so a guest cannot move unbounded data into host memory; past
//!   the budget dirty pages stay. Dirty shmem pages are never evicted:
//!   without swap they have no backing store (Linux keeps them too when
//!   there is no swap); clean ones (never written: zeros, not written by
//!   write(2)) are dropped as Linux drops a clean folio.
//!   Device frames are not pool frames and never move.
//! - Unmapping: a linear entry becomes none; an entry of a nonlinear VMA
//!   becomes an offset marker with its offset and protection, so the page
//!   refaults at the right offset with the right protection.
//! - Under pool pressure (an allocation failed) unmapped clean pages go
//!   first; mapped ones only when the caller has a PTE batch to carry the
//!   unmapping to the guest.
//! - MADV_PAGEOUT unmaps the page-cache pages mapped in its range that
//!   nothing else maps (Linux skips folios with a mapcount above 1): file
//!   pages then leave memory, dirty shmem pages stay cached (no swap) and
//!   fault back in, clean shmem pages leave;
//!   MADV_COLD only deactivates in Linux, which has no observable effect, and
//!   is accepted without doing anything.

use crate::addr::{Frame, PAGE_SIZE};
use crate::engine::Engine;
use crate::fault::FaultError;
use crate::frames::{FrameUse, OutOfFrames};
use crate::memory::PhysMemory;
use crate::nonlinear::is_nonlinear;
use crate::objects::{ObjectId, ObjectKind};
use crate::paging::{Pte, PteUpdates};
use crate::space::AsId;
use crate::vma::Vma;

/// How many pages one pressure-driven reclaim tries to free.
pub const RECLAIM_BATCH: usize = 32;

impl<M: PhysMemory> Engine<M> {
    /// Whether cached page `index` of `obj` in `frame` equals what a refault
    /// would read: only such a page can be dropped without losing data.
    fn page_is_clean(&self, obj: ObjectId, index: u64, frame: Frame) -> bool {
        let Some(o) = self.objects.get(obj) else { return false };
        if !matches!(o.kind, ObjectKind::File { .. }) {
            return false;
        }
        let mut now = [0u8; PAGE_SIZE as usize];
        if self.mem.read(frame.start(), &mut now).is_err() {
            return false;
        }
        let mut orig = [0u8; PAGE_SIZE as usize];
        if let Some(d) = o.file_page(index) {
            orig[..d.len()].copy_from_slice(d);
        }
        now == orig
    }

    /// Whether shmem page `index` in `frame` is clean, as Linux's folio
    /// would be: never written. The engine maps a writable shared page with
    /// its dirty bit set (it does not see the MMU set it), so a write
    /// through a mapping is told by the contents: a page that was never
    /// written holds zeros. (A page written with zeros through a mapping is
    /// dirty in Linux and dropped here.) write(2) marks pages written.
    fn shmem_page_is_clean(&self, obj: ObjectId, index: u64, frame: Frame) -> bool {
        if self.objects.get(obj).is_none_or(|o| o.was_written(index)) {
            return false;
        }
        let mut now = [0u8; PAGE_SIZE as usize];
        self.mem.read(frame.start(), &mut now).is_ok() && now.iter().all(|b| *b == 0)
    }

    /// Whether page `index` of `obj` in `frame` may be dropped: it is clean,
    /// or it is a dirty file page that was just written back.
    fn make_evictable(&mut self, obj: ObjectId, index: u64, frame: Frame) -> bool {
        if self.page_is_clean(obj, index, frame) {
            return true;
        }
        if self.objects.stored_pages() >= self.frames.total() {
            return false;
        }
        let mut page = [0u8; PAGE_SIZE as usize];
        if self.mem.read(frame.start(), &mut page).is_err() {
            return false;
        }
        match self.objects.get_mut(obj).and_then(|o| o.file_data_mut()) {
            Some(d) => {
                d.write_back(index, &page);
                true
            }
            None => false,
        }
    }

    /// Unmaps `frame` from every entry that maps it and drops it from its
    /// object's cache. The caller checked it is a clean file page.
    fn evict(&mut self, obj: ObjectId, index: u64, frame: Frame, tlb: &mut PteUpdates) -> bool {
        let rmap: Vec<(AsId, crate::addr::Page)> = self.frames.rmap(frame).to_vec();
        for (id, page) in rmap {
            let va = page.start();
            let Some(space) = self.spaces.get(&id) else { return false };
            let pte = space.tables.get(va);
            let new = match space.vmas.find(va) {
                Some(v) if is_nonlinear(v) => {
                    let v: Vma = v.clone();
                    self.dropped_entry(&v, va, pte)
                }
                _ => Pte::NONE,
            };
            if self.set_entry(id, va, new, tlb).is_err() {
                return false;
            }
        }
        if self.frames.mapcount(frame) != 0 {
            return false;
        }
        if let Some(o) = self.objects.get_mut(obj) {
            o.remove_cached(index);
        }
        self.frames.free_data(frame);
        true
    }

    /// Writes back the dirty cached pages `[first, last]` of a file (msync
    /// MS_SYNC, vfs_fsync_range): their bytes become the file's host-side
    /// contents, within the writeback budget; the pages stay cached and
    /// mapped. Shmem has no backing store: nothing to do, as shmem_fsync.
    pub(crate) fn writeback_range(&mut self, obj: ObjectId, first: u64, last: u64) {
        let Some(o) = self.objects.get(obj) else { return };
        if !matches!(o.kind, ObjectKind::File { .. }) {
            return;
        }
        for (index, frame) in o.cached_range(first, last.saturating_add(1)) {
            if self.make_evictable(obj, index, frame) {
                // Written back: the folio is clean again.
                if let Some(o) = self.objects.get_mut(obj) {
                    o.clear_written(index);
                }
            }
        }
    }

    /// Frees up to `want` clean file pages; mapped ones only with a batch.
    /// Returns how many were freed.
    pub(crate) fn reclaim_clean(&mut self, want: usize, mut tlb: Option<&mut PteUpdates>) -> usize {
        let mut unmapped = Vec::new();
        let mut mapped = Vec::new();
        for (f, use_, rmap) in self.frames.iter() {
            if let FrameUse::Cache { obj, index } = use_ {
                if rmap.is_empty() {
                    unmapped.push((obj, index, f));
                } else if tlb.is_some() {
                    mapped.push((obj, index, f));
                }
            }
        }
        let mut freed = 0;
        for (obj, index, f) in unmapped.into_iter().chain(mapped) {
            if freed >= want {
                break;
            }
            if !self.make_evictable(obj, index, f) {
                continue;
            }
            let ok = match tlb.as_deref_mut() {
                Some(t) => self.evict(obj, index, f, t),
                None => {
                    let mut none = PteUpdates::new();
                    let ok = self.evict(obj, index, f, &mut none);
                    // An unmapped page needs no guest store: the batch stays
                    // empty (dropping a non-empty one panics in debug builds).
                    drop(none);
                    ok
                }
            };
            if ok {
                freed += 1;
            }
        }
        freed
    }

    /// Reclaims up to `pages` clean file pages now, as memory pressure would.
    /// Returns how many went, and the batch unmapping them.
    pub fn reclaim(&mut self, pages: usize) -> crate::paging::Outcome<usize> {
        let mut tlb = PteUpdates::new();
        let n = self.reclaim_clean(pages, Some(&mut tlb));
        crate::paging::Outcome::new(n, tlb)
    }

    /// A data frame, reclaiming clean file pages when the pool is empty.
    pub(crate) fn alloc_data_reclaiming(&mut self, use_: FrameUse, tlb: Option<&mut PteUpdates>) -> Result<Frame, OutOfFrames> {
        match self.frames.alloc_data(use_) {
            Ok(f) => Ok(f),
            Err(e) => {
                if self.reclaim_clean(RECLAIM_BATCH, tlb) == 0 {
                    return Err(e);
                }
                self.frames.alloc_data(use_)
            }
        }
    }

    /// MADV_PAGEOUT on `[start, end)` of `vma` (madvise_cold_or_pageout_pte_range
    /// then reclaim_pages): every page-cache page mapped here and nowhere
    /// else (mapcount 1: a page mapped twice, even in this space, is
    /// skipped) is unmapped, as try_to_unmap does before pageout. A file page
    /// then leaves memory (written back first if dirty); a dirty shmem page
    /// stays in the page cache, since without swap pageout cannot write it
    /// anywhere, and faults back in with its data; a clean one is dropped. Anonymous pages stay
    /// mapped (no swap: add_to_swap fails before they are unmapped).
    pub(crate) fn pageout_range(
        &mut self,
        id: AsId,
        vma: &Vma,
        start: crate::addr::VirtAddr,
        end: crate::addr::VirtAddr,
        tlb: &mut PteUpdates,
    ) {
        let Some(obj) = vma.object() else {
            self.discard_lazyfree(id, start, end, tlb);
            return;
        };
        for e in self.spaces[&id].tables.entries_in(start, end) {
            let Some(f) = e.pte.frame() else { continue };
            let Some(FrameUse::Cache { obj: o, index }) = self.frames.use_of(f) else { continue };
            if o != obj || self.frames.rmap(f).len() != 1 {
                continue;
            }
            let shmem = matches!(self.objects.get(o).map(|x| &x.kind), Some(ObjectKind::Shmem));
            if shmem && self.shmem_page_is_clean(o, index, f) {
                // shrink_folio_list drops a clean shmem folio from the page
                // cache like a clean file folio; a refault reads a hole.
                self.evict(o, index, f, tlb);
            } else if shmem {
                let new = if is_nonlinear(vma) { self.dropped_entry(vma, e.va, e.pte) } else { Pte::NONE };
                let _ = self.set_entry(id, e.va, new, tlb);
            } else if self.make_evictable(o, index, f) {
                self.evict(o, index, f, tlb);
            }
        }
    }

    /// MADV_PAGEOUT of anonymous memory: without swap only lazily freed
    /// pages can go. madvise_pageout drains the LRU batches first, so a page
    /// MADV_FREE left clean and nothing wrote since (its PTE is clean: a
    /// write faults on the write-protected entry and dirties it) is
    /// discarded by shrink_folio_list; a later access sees zeros. Pages
    /// mapped more than once are skipped, as for page-cache pages.
    fn discard_lazyfree(&mut self, id: AsId, start: crate::addr::VirtAddr, end: crate::addr::VirtAddr, tlb: &mut PteUpdates) {
        for e in self.spaces[&id].tables.entries_in(start, end) {
            let crate::paging::PteKind::Present { frame, flags } = e.pte.kind() else { continue };
            let lazy = self.frames.use_of(frame) == Some(FrameUse::Anon)
                && self.frames.mapcount(frame) == 1
                && !flags.contains(crate::paging::PteFlags::DIRTY);
            if lazy {
                let _ = self.zap_keep_markers(id, e.va, e.va.add(PAGE_SIZE), tlb);
            }
        }
    }

    /// The page-cache frame of page `index` of `obj`, reading it in if
    /// needed; under pressure clean file pages are reclaimed for it.
    pub(crate) fn cache_page_reclaiming(&mut self, obj: ObjectId, index: u64, tlb: Option<&mut PteUpdates>) -> Result<Frame, FaultError> {
        let o = self.objects.get(obj).ok_or(FaultError::Broken("a VMA maps an object that does not exist"))?;
        if let Some(f) = o.device_frame(index) {
            return Ok(f);
        }
        if let Some(f) = o.cached(index) {
            return Ok(f);
        }
        let f = self.alloc_data_reclaiming(FrameUse::Cache { obj, index }, tlb)?;
        let o = self.objects.get(obj).ok_or(FaultError::Broken("object vanished while reading a page"))?;
        let mut page = [0u8; PAGE_SIZE as usize];
        if let Some(data) = o.file_page(index) {
            page[..data.len()].copy_from_slice(data);
        }
        self.mem.write(f.start(), &page).map_err(|e| FaultError::Internal(e.into()))?;
        if let Some(o) = self.objects.get_mut(obj) {
            o.insert_cached(index, f);
        }
        Ok(f)
    }
}
