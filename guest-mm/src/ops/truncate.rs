//! ftruncate and hole punching of memory objects.
//!
//! Mirrors mm/truncate.c truncate_pagecache (unmap_mapping_range with
//! even_cows = 1: private COW copies beyond the new end of file go too, so a
//! later access gets SIGBUS) and shmem_fallocate(FALLOC_FL_PUNCH_HOLE)
//! (even_cows = 0: private copies survive, shared mappings refault zeroes),
//! on shmem and on writable files (as on filesystems that support it, ext4).
//! Guard and revoked markers are never removed by either (zap_details without
//! ZAP_FLAG_DROP_MARKER), which is what the guard-region tests check.

use crate::addr::{pages_in, PAGE_SIZE};
use crate::engine::Engine;
use crate::errno::{Errno, SysResult};
use crate::frames::FrameUse;
use crate::mapping;
use crate::memory::PhysMemory;
use crate::objects::{ObjectId, ObjectKind};
use crate::paging::{Ctx, Outcome, Pte, PteUpdates};
use crate::vma::Backing;

/// Largest file size (MAX_LFS_FILESIZE on 64-bit).
const MAX_SIZE: u64 = i64::MAX as u64;

impl<M: PhysMemory> Engine<M> {
    /// ftruncate(2) on object `obj` (the process layer checked the fd is
    /// open for writing; read-only files are refused here too).
    pub fn truncate(&mut self, obj: ObjectId, size: u64) -> Outcome<SysResult<()>> {
        let mut tlb = PteUpdates::new();
        let r = self.do_truncate(obj, size, &mut tlb);
        Outcome::new(r, tlb)
    }

    fn do_truncate(&mut self, obj: ObjectId, size: u64, tlb: &mut PteUpdates) -> SysResult<()> {
        let o = self.objects.get(obj).ok_or(Errno::EBADF)?;
        match &o.kind {
            ObjectKind::File { writable: false, .. } => return Err(Errno::EINVAL),
            ObjectKind::Device { .. } => return Err(Errno::EINVAL),
            _ => {}
        }
        if size > MAX_SIZE {
            return Err(Errno::EINVAL);
        }
        self.seal_check_resize(obj, size)?;
        let old = o.size;
        self.objects.get_mut(obj).expect("checked").size = size;
        if size < old {
            let first = pages_in(size).unwrap_or(u64::MAX);
            self.unmap_mapping_range(obj, first, u64::MAX, true, tlb);
            self.drop_cache_pages(obj, first, u64::MAX);
            self.zero_partial_page(obj, size);
            if let Some(d) = self.objects.get_mut(obj).and_then(|o| o.file_data_mut()) {
                d.truncate(size);
            }
        }
        Ok(())
    }

    /// fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) on a shmem object.
    pub fn punch_hole(&mut self, obj: ObjectId, offset: u64, len: u64) -> Outcome<SysResult<()>> {
        let mut tlb = PteUpdates::new();
        let r = (|| {
            let o = self.objects.get(obj).ok_or(Errno::EBADF)?;
            // tmpfs and ext4-like files punch holes; devices and read-only files do not.
            if !matches!(o.kind, ObjectKind::Shmem | ObjectKind::File { writable: true, .. }) {
                return Err(Errno::EOPNOTSUPP);
            }
            let end = offset.checked_add(len).filter(|e| *e <= MAX_SIZE).ok_or(Errno::EFBIG)?;
            if len == 0 {
                return Err(Errno::EINVAL);
            }
            // shmem_fallocate: a write-sealed memfd keeps its holes as they are.
            if super::seals::write_sealed(o.seals) {
                return Err(Errno::EPERM);
            }
            // Whole pages in the hole are dropped; partial pages are zeroed.
            let first = pages_in(offset).unwrap_or(u64::MAX);
            let last = end / PAGE_SIZE;
            if first < last {
                self.unmap_mapping_range(obj, first, last, false, &mut tlb);
                self.drop_cache_pages(obj, first, last);
                if let Some(d) = self.objects.get_mut(obj).and_then(|o| o.file_data_mut()) {
                    d.forget_pages(first, last);
                }
            }
            self.zero_range(obj, offset, (first * PAGE_SIZE).min(end));
            self.zero_range(obj, (last * PAGE_SIZE).max(offset), end);
            Ok(())
        })();
        Outcome::new(r, tlb)
    }

    /// Zaps, in every space, the entries mapping pages `[first, last)` of
    /// `obj`: its page-cache pages, and with `even_cows` private copies too.
    pub(crate) fn unmap_mapping_range(&mut self, obj: ObjectId, first: u64, last: u64, even_cows: bool, tlb: &mut PteUpdates) {
        let ids = self.space_ids();
        let mut nonlinear = Vec::new();
        for id in ids {
            let space = self.spaces.get_mut(&id).expect("listed");
            let vmas: Vec<_> = space.vmas.iter().filter(|v| v.backing == Backing::Object(obj)).cloned().collect();
            let mut cx = Ctx { mem: &self.mem, frames: &mut self.frames, tlb };
            for v in vmas {
                if v.flags.contains(crate::vma::VmFlags::NONLINEAR) {
                    nonlinear.push((id, v));
                    continue;
                }
                let lo = first.max(v.pgoff);
                let hi = last.min(v.pgoff.saturating_add(v.pages()));
                if lo >= hi {
                    continue;
                }
                let start = v.start.add((lo - v.pgoff) * PAGE_SIZE);
                let end = v.start.add((hi - v.pgoff) * PAGE_SIZE);
                for e in space.tables.entries_in(start, end) {
                    let Some(f) = e.pte.frame() else { continue };
                    let is_cache = matches!(cx.frames.use_of(f), Some(FrameUse::Cache { obj: o, .. }) if o == obj);
                    if is_cache || (even_cows && !v.is_shared()) {
                        let _ = mapping::replace(&mut space.tables, e.va, Pte::NONE, &mut cx);
                    }
                }
            }
        }
        // Nonlinear VMAs map any offset anywhere: every mapped page of the
        // object in [first, last) becomes an offset marker (a later access
        // refaults, and beyond end of file gets SIGBUS), as the old
        // unmap_mapping_range_list did for VM_NONLINEAR.
        for (id, v) in nonlinear {
            for e in self.spaces[&id].tables.entries_in(v.start, v.end) {
                let Some(f) = e.pte.frame() else { continue };
                let hit =
                    matches!(self.frames.use_of(f), Some(FrameUse::Cache { obj: o, index }) if o == obj && index >= first && index < last);
                if hit {
                    let m = self.dropped_entry(&v, e.va, e.pte);
                    let _ = self.set_entry(id, e.va, m, tlb);
                }
            }
        }
    }

    /// Removes pages `[first, last)` from `obj`'s cache and frees them.
    fn drop_cache_pages(&mut self, obj: ObjectId, first: u64, last: u64) {
        let Some(o) = self.objects.get_mut(obj) else { return };
        for (i, f) in o.cached_range(first, last) {
            o.remove_cached(i);
            if self.frames.mapcount(f) == 0 {
                self.frames.free_data(f);
            } else {
                // Still mapped somewhere (cannot happen after the unmap above);
                // hand it over as anonymous memory rather than leak it.
                self.frames.set_use(f, FrameUse::Anon);
            }
        }
    }

    /// Zeroes the cached bytes of `obj` beyond `size` in the page holding it.
    fn zero_partial_page(&mut self, obj: ObjectId, size: u64) {
        if !size.is_multiple_of(PAGE_SIZE) {
            self.zero_range(obj, size, (size / PAGE_SIZE + 1) * PAGE_SIZE);
        }
    }

    /// Zeroes bytes `[from, to)` of `obj` (within one page or less): in the
    /// cache, or in the file's provided bytes when the page is not cached.
    fn zero_range(&mut self, obj: ObjectId, from: u64, to: u64) {
        if from >= to {
            return;
        }
        let Some(o) = self.objects.get_mut(obj) else { return };
        let Some(f) = o.cached(from / PAGE_SIZE) else {
            if let Some(d) = o.file_data_mut() {
                d.zero(from, to);
            }
            return;
        };
        let off = from % PAGE_SIZE;
        let n = (to - from).min(PAGE_SIZE - off) as usize;
        let _ = self.mem.write(f.start().add(off), &vec![0u8; n]);
    }
}
