//! madvise: advice that changes VMA flags, drops pages, populates, or
//! installs and removes guard regions.
//!
//! Mirrors mm/madvise.c: is_valid_madvise (EINVAL for an unknown advice, an
//! unaligned start or a length that wraps; 0 for an empty range), the walk of
//! madvise_walk_vmas (the advice applies to the mapped parts of the range; a
//! hole makes the call return ENOMEM at the end; an error from one VMA stops
//! the walk with earlier VMAs already advised), and madvise_vma_behavior per
//! advice. Flag advice goes through vma_modify_flags (split, then merge).
//!
//! Guard regions (seed 003): MADV_GUARD_INSTALL refuses VM_SPECIAL, hugetlb
//! and VM_LOCKED VMAs (EINVAL), prepares an anon_vma as Linux 6.15+ does (so
//! fork copies the page tables, which also decides merges), marks the VMA
//! with our sticky MAYBE_GUARD flag, zaps whatever is mapped (private COW
//! copies included) and installs a guard marker per page. MADV_GUARD_REMOVE
//! (allowed on locked VMAs) clears guard markers only.

use crate::addr::{VirtAddr, PAGE_SIZE};
use crate::engine::Engine;
use crate::errno::{Errno, SysResult};
use crate::fault::FaultError;
use crate::frames::FrameUse;
use crate::mapping;
use crate::memory::PhysMemory;
use crate::paging::{Ctx, Outcome, Pte, PteFlags, PteKind, PteUpdates};
use crate::space::AsId;
use crate::vma::{VmFlags, Vma};

pub use linux_abi::mman::{
    MADV_COLD, MADV_COLLAPSE, MADV_DODUMP, MADV_DOFORK, MADV_DONTDUMP, MADV_DONTFORK, MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_FREE,
    MADV_GUARD_INSTALL, MADV_GUARD_REMOVE, MADV_HUGEPAGE, MADV_HWPOISON, MADV_KEEPONFORK, MADV_MERGEABLE, MADV_NOHUGEPAGE, MADV_NORMAL,
    MADV_PAGEOUT, MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_RANDOM, MADV_REMOVE, MADV_SEQUENTIAL, MADV_SOFT_OFFLINE, MADV_UNMERGEABLE,
    MADV_WILLNEED, MADV_WIPEONFORK,
};

/// madvise_behavior_valid. MADV_HWPOISON and MADV_SOFT_OFFLINE (100, 101)
/// exist only with CONFIG_MEMORY_FAILURE; the reference kernel (6.18 on
/// this host) is built without it, so they are unknown advice: EINVAL.
fn known(advice: u64) -> bool {
    matches!(advice, 0..=4 | 8..=25 | 102..=103)
}

/// can_madv_lru_vma: not locked, not a PFN map.
fn lru_ok(v: &Vma) -> bool {
    !v.flags.intersects(VmFlags::LOCKED | VmFlags::PFNMAP)
}

impl<M: PhysMemory> Engine<M> {
    /// madvise(2).
    pub fn madvise(&mut self, id: AsId, start: u64, len: u64, advice: u64) -> Outcome<SysResult<()>> {
        let mut tlb = PteUpdates::new();
        let r = self.do_madvise(id, start, len, advice, &mut tlb);
        Outcome::new(r, tlb)
    }

    fn do_madvise(&mut self, id: AsId, start: u64, len_in: u64, advice: u64, tlb: &mut PteUpdates) -> SysResult<()> {
        if !known(advice) || !start.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let len = len_in.checked_add(PAGE_SIZE - 1).map(|l| l & !(PAGE_SIZE - 1)).unwrap_or(0);
        if len_in != 0 && len == 0 {
            return Err(Errno::EINVAL);
        }
        let end = start.checked_add(len).ok_or(Errno::EINVAL)?;
        if end == start {
            return Ok(());
        }
        let (s, e) = (VirtAddr::new(start), VirtAddr::new(end));
        if matches!(advice, MADV_POPULATE_READ | MADV_POPULATE_WRITE) {
            return self.madvise_populate(id, s, e, advice == MADV_POPULATE_WRITE, tlb);
        }
        // madvise_walk_vmas.
        let mut unmapped = false;
        let mut at = s;
        loop {
            let Some(vma) = self.spaces.get(&id).ok_or(Errno::ESRCH)?.vmas.find_from(at).cloned() else {
                return Err(Errno::ENOMEM);
            };
            if at < vma.start {
                unmapped = true;
                at = vma.start;
                if at >= e {
                    break;
                }
            }
            let piece_end = vma.end.min(e);
            self.madvise_vma(id, &vma, at, piece_end, advice, tlb)?;
            at = piece_end;
            if at >= e {
                break;
            }
        }
        if unmapped {
            Err(Errno::ENOMEM)
        } else {
            Ok(())
        }
    }

    /// madvise_vma_behavior for `[start, end)` inside `vma`.
    fn madvise_vma(&mut self, id: AsId, vma: &Vma, start: VirtAddr, end: VirtAddr, advice: u64, tlb: &mut PteUpdates) -> SysResult<()> {
        // can_madvise_modify: discarding advice on sealed read-only anonymous memory.
        if !crate::ops::mseal::can_madvise_modify(vma, advice) {
            return Err(Errno::EPERM);
        }
        let f = vma.flags;
        let new = match advice {
            MADV_NORMAL => f - (VmFlags::SEQ_READ | VmFlags::RAND_READ),
            MADV_RANDOM => (f - VmFlags::SEQ_READ) | VmFlags::RAND_READ,
            MADV_SEQUENTIAL => (f - VmFlags::RAND_READ) | VmFlags::SEQ_READ,
            MADV_DONTFORK => f | VmFlags::DONTCOPY,
            MADV_DOFORK => {
                if f.contains(VmFlags::IO) {
                    return Err(Errno::EINVAL);
                }
                f - VmFlags::DONTCOPY
            }
            MADV_WIPEONFORK => {
                if !vma.is_anonymous() || f.contains(VmFlags::SHARED) {
                    return Err(Errno::EINVAL);
                }
                f | VmFlags::WIPEONFORK
            }
            MADV_KEEPONFORK => f - VmFlags::WIPEONFORK,
            MADV_DONTDUMP => f | VmFlags::DONTDUMP,
            MADV_DODUMP => {
                if f.intersects(VmFlags::SPECIAL) {
                    return Err(Errno::EINVAL);
                }
                f - VmFlags::DONTDUMP
            }
            MADV_MERGEABLE => {
                if f.intersects(VmFlags::SPECIAL | VmFlags::SHARED | VmFlags::MAYSHARE) {
                    f
                } else {
                    f | VmFlags::MERGEABLE
                }
            }
            MADV_UNMERGEABLE => f - VmFlags::MERGEABLE,
            MADV_HUGEPAGE => (f - VmFlags::NOHUGEPAGE) | VmFlags::HUGEPAGE,
            MADV_NOHUGEPAGE => (f - VmFlags::HUGEPAGE) | VmFlags::NOHUGEPAGE,
            MADV_WILLNEED | MADV_COLD | MADV_PAGEOUT => {
                // Readahead and reclaim hints: nothing to undo if ignored. Cold
                // and pageout are refused on locked and PFN-mapped VMAs.
                if advice != MADV_WILLNEED && !lru_ok(vma) {
                    return Err(Errno::EINVAL);
                }
                if advice == MADV_PAGEOUT {
                    // Clean file pages leave memory (reclaim.rs).
                    self.pageout_range(id, vma, start, end, tlb);
                }
                return Ok(());
            }
            MADV_COLLAPSE => return Err(Errno::EINVAL),
            MADV_DONTNEED | MADV_DONTNEED_LOCKED => return self.madvise_dontneed(id, vma, start, end, advice, tlb),
            MADV_FREE => return self.madvise_free(id, vma, start, end, tlb),
            MADV_REMOVE => return self.madvise_remove(vma, start, end, tlb),
            MADV_GUARD_INSTALL => return self.guard_install(id, vma, start, end, tlb),
            MADV_GUARD_REMOVE => return self.guard_remove(id, vma, start, end, tlb),
            _ => return Err(Errno::EINVAL),
        };
        if new != f {
            // madvise_update_vma: splitting may fail at the map count limit.
            self.split_room(id, vma, start, end)?;
            self.spaces.get_mut(&id).expect("checked").vmas.modify(start, end, |v| v.flags = new);
        }
        Ok(())
    }

    /// MADV_DONTNEED: drop the pages; markers stay (zap_page_range_single).
    fn madvise_dontneed(
        &mut self,
        id: AsId,
        vma: &Vma,
        start: VirtAddr,
        end: VirtAddr,
        advice: u64,
        tlb: &mut PteUpdates,
    ) -> SysResult<()> {
        let locked_ok = advice == MADV_DONTNEED_LOCKED;
        if vma.flags.intersects(VmFlags::PFNMAP) || (!locked_ok && vma.flags.contains(VmFlags::LOCKED)) {
            return Err(Errno::EINVAL);
        }
        if vma.flags.contains(VmFlags::NONLINEAR) {
            // Dropped pages keep their offset and protection as markers.
            return self.nonlinear_zap(id, vma, start, end, tlb);
        }
        self.zap_keep_markers(id, start, end, tlb)
    }

    pub(crate) fn zap_keep_markers(&mut self, id: AsId, start: VirtAddr, end: VirtAddr, tlb: &mut PteUpdates) -> SysResult<()> {
        let space = self.spaces.get_mut(&id).ok_or(Errno::ESRCH)?;
        let mut cx = Ctx { mem: &self.mem, frames: &mut self.frames, tlb };
        mapping::zap_range(&mut space.tables, start, end, mapping::ZapMode::KeepMarkers, &mut cx).map_err(|_| Errno::ENOMEM)?;
        Ok(())
    }

    /// MADV_FREE (lazyfree): only private anonymous memory. Exclusively mapped
    /// pages become clean; with no memory pressure they keep their contents,
    /// as on Linux; MADV_PAGEOUT discards the ones still clean. They are
    /// also write-protected, so that a later write faults and marks the page
    /// dirty again (the engine does not see the MMU set the dirty bit):
    /// Linux's reclaim then keeps it, and so does ours.
    fn madvise_free(&mut self, id: AsId, vma: &Vma, start: VirtAddr, end: VirtAddr, tlb: &mut PteUpdates) -> SysResult<()> {
        if !vma.is_anonymous() || !lru_ok(vma) {
            return Err(Errno::EINVAL);
        }
        let entries = self.spaces[&id].tables.entries_in(start, end);
        for e in entries {
            if let PteKind::Present { frame, flags } = e.pte.kind() {
                let exclusive = self.frames.use_of(frame) == Some(FrameUse::Anon) && self.frames.mapcount(frame) == 1;
                if exclusive && flags.contains(PteFlags::DIRTY) {
                    let clean = flags - PteFlags::DIRTY - PteFlags::WRITABLE;
                    self.set_entry(id, e.va, Pte::present(frame, clean), tlb).map_err(|_| Errno::ENOMEM)?;
                }
            }
        }
        Ok(())
    }

    /// MADV_REMOVE: punch a hole in the object behind a shared writable mapping.
    fn madvise_remove(&mut self, vma: &Vma, start: VirtAddr, end: VirtAddr, tlb: &mut PteUpdates) -> SysResult<()> {
        // A nonlinear range has no single file range to punch (pre-4.0 Linux
        // refused VM_NONLINEAR here the same way).
        if vma.flags.intersects(VmFlags::LOCKED | VmFlags::NONLINEAR) {
            return Err(Errno::EINVAL);
        }
        let obj = vma.object().ok_or(Errno::EINVAL)?;
        if !vma.flags.contains(VmFlags::SHARED) || !vma.flags.contains(VmFlags::MAYWRITE) {
            return Err(Errno::EACCES);
        }
        let offset = vma.pgoff_of(start) * PAGE_SIZE;
        let (r, u) = self.punch_hole(obj, offset, end.distance_from(start)).split();
        tlb.absorb(u);
        r
    }

    /// madvise_populate: fault the range in for reading or writing.
    fn madvise_populate(&mut self, id: AsId, start: VirtAddr, end: VirtAddr, write: bool, tlb: &mut PteUpdates) -> SysResult<()> {
        let mut at = start;
        while at < end {
            let Some(vma) = self.spaces.get(&id).ok_or(Errno::ESRCH)?.vmas.find(at).cloned() else {
                return Err(Errno::ENOMEM);
            };
            // check_vma_flags for FOLL_MADV_POPULATE.
            if vma.flags.intersects(VmFlags::IO | VmFlags::PFNMAP) || !vma.flags.is_accessible() {
                return Err(Errno::EINVAL);
            }
            let needed = if write { VmFlags::WRITE } else { VmFlags::READ };
            if !vma.flags.contains(needed) {
                return Err(Errno::EINVAL);
            }
            let hi = vma.end.min(end);
            match self.populate_pages(id, at, hi, write, tlb) {
                Ok(()) => {}
                Err(FaultError::Signal(_)) => return Err(Errno::EFAULT),
                Err(FaultError::OutOfMemory(_)) => return Err(Errno::ENOMEM),
                Err(_) => return Err(Errno::EFAULT),
            }
            at = hi;
        }
        Ok(())
    }

    /// madvise_guard_install.
    fn guard_install(&mut self, id: AsId, vma: &Vma, start: VirtAddr, end: VirtAddr, tlb: &mut PteUpdates) -> SysResult<()> {
        if vma.flags.intersects(VmFlags::SPECIAL | VmFlags::LOCKED) {
            return Err(Errno::EINVAL);
        }
        // As the reference kernel does (VM_MAYBE_GUARD, Linux 6.19's
        // madvise_guard_install): only an anonymous VMA gets an anon_vma; a
        // shmem or file VMA is marked VM_MAYBE_GUARD alone (which makes fork
        // copy its tables), so it still merges with its neighbours.
        if vma.backing == crate::vma::Backing::Anon {
            self.anon_vma_prepare(id, vma.start);
        }
        if !vma.flags.contains(VmFlags::MAYBE_GUARD) {
            // Sticky: set on the whole VMA without splitting it.
            if let Some(v) = self.spaces.get_mut(&id).and_then(|s| s.vmas.get_mut(vma.start)) {
                v.flags |= VmFlags::MAYBE_GUARD;
            }
        }
        let nonlinear = vma.flags.contains(VmFlags::NONLINEAR);
        let mut va = start;
        while va < end {
            let old = self.spaces.get(&id).ok_or(Errno::ESRCH)?.tables.get(va);
            if !old.is_guard() {
                // In a nonlinear VMA the guard keeps the page's offset and
                // protection, which MADV_GUARD_REMOVE gives back.
                let guard = if nonlinear {
                    let p = self.nonlinear_page(vma, va, old);
                    crate::nonlinear::offset_marker(crate::paging::MarkerKind::Guard, p.pgoff, p.prot)
                } else {
                    Pte::guard()
                };
                let space = self.spaces.get_mut(&id).ok_or(Errno::ESRCH)?;
                let mut cx = Ctx { mem: &self.mem, frames: &mut self.frames, tlb };
                mapping::replace(&mut space.tables, va, guard, &mut cx).map_err(|_| Errno::ENOMEM)?;
            }
            va = va.add(PAGE_SIZE);
        }
        Ok(())
    }

    /// madvise_guard_remove: clears guard markers, nothing else.
    fn guard_remove(&mut self, id: AsId, vma: &Vma, start: VirtAddr, end: VirtAddr, tlb: &mut PteUpdates) -> SysResult<()> {
        if vma.flags.intersects(VmFlags::SPECIAL) {
            return Err(Errno::EINVAL);
        }
        let space = self.spaces.get_mut(&id).ok_or(Errno::ESRCH)?;
        let mut cx = Ctx { mem: &self.mem, frames: &mut self.frames, tlb };
        for e in space.tables.entries_in(start, end) {
            if let crate::paging::PteKind::Marker(m) = e.pte.kind() {
                if m.kind == crate::paging::MarkerKind::Guard {
                    let back = match m.nonlinear {
                        Some(n) => Pte::marker(crate::paging::Marker { kind: crate::paging::MarkerKind::OffsetOnly, nonlinear: Some(n) }),
                        None => Pte::NONE,
                    };
                    space.tables.set(e.va, back, &mut cx).map_err(|_| Errno::ENOMEM)?;
                }
            }
        }
        Ok(())
    }
}
