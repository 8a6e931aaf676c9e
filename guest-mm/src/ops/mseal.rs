//! mseal: sealing VMAs against changes, and the checks the other
//! operations make against sealed VMAs.
//!
//! Mirrors mm/mseal.c (Linux 6.10+ as on 6.18): do_mseal (flags must be 0,
//! start page-aligned, length rounded up to pages, a length that rounds to 0
//! or an end that wraps is EINVAL, an empty range is 0; any unmapped page in
//! the range is ENOMEM and nothing is sealed), mseal_apply (VMA by VMA,
//! vma_modify_flags: split at the edges and merge with sealed neighbours; a
//! VMA already sealed is left alone). VM_SEALED survives fork and is kept
//! by splits and merges like any flag.
//!
//! The checks elsewhere, as the host kernel answers them (EPERM):
//! - munmap, and what unmaps on the way (mmap MAP_FIXED, mremap's
//!   destination and shrink, brk's shrink): vms_gather_munmap_vmas refuses a
//!   sealed VMA in the range, after it has already split the first VMA at
//!   the start when that one is not sealed (the split stays);
//! - mprotect: mprotect_fixup, VMA by VMA (earlier VMAs keep their change);
//! - mremap: check_prep_vma, on the source VMA;
//! - madvise: can_madvise_modify, VMA by VMA before any other check of the
//!   advice: the discarding advice (MADV_DONTNEED, MADV_DONTNEED_LOCKED,
//!   MADV_FREE, MADV_REMOVE, MADV_DONTFORK, MADV_WIPEONFORK,
//!   MADV_GUARD_INSTALL) on a sealed anonymous VMA (no file, not shared)
//!   that is not writable.
//!
//! mlock, munlock and the other advice are allowed.

use crate::addr::{VirtAddr, PAGE_SIZE};
use crate::engine::Engine;
use crate::errno::{Errno, SysResult};
use crate::memory::PhysMemory;
use crate::ops::madvise::{
    MADV_DONTFORK, MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_FREE, MADV_GUARD_INSTALL, MADV_REMOVE, MADV_WIPEONFORK,
};
use crate::paging::{Outcome, PteUpdates};
use crate::space::AsId;
use crate::vma::{VmFlags, Vma};

/// Linux's is_discard: the advice that can drop a VMA's contents.
fn is_discard(advice: u64) -> bool {
    matches!(advice, MADV_FREE | MADV_DONTNEED | MADV_DONTNEED_LOCKED | MADV_REMOVE | MADV_DONTFORK | MADV_WIPEONFORK | MADV_GUARD_INSTALL)
}

/// can_madvise_modify: may `advice` apply to `vma`?
pub(crate) fn can_madvise_modify(vma: &Vma, advice: u64) -> bool {
    if !vma.is_sealed() || !is_discard(advice) {
        return true;
    }
    // File-backed mappings (shared anonymous memory has a shmem file), and
    // mappings the process could write anyway, are fine.
    if !vma.is_anonymous() || vma.flags.contains(VmFlags::SHARED) {
        return true;
    }
    vma.flags.contains(VmFlags::WRITE)
}

impl<M: PhysMemory> Engine<M> {
    /// mseal(2).
    pub fn mseal(&mut self, id: AsId, start: u64, len: u64, flags: u64) -> Outcome<SysResult<()>> {
        let r = self.do_mseal(id, start, len, flags);
        // Sealing changes no entry.
        Outcome::new(r, PteUpdates::new())
    }

    fn do_mseal(&mut self, id: AsId, start: u64, len_in: u64, flags: u64) -> SysResult<()> {
        if flags != 0 || !start.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let len = len_in.wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
        if len_in != 0 && len == 0 {
            return Err(Errno::EINVAL);
        }
        let end = start.checked_add(len).ok_or(Errno::EINVAL)?;
        if end == start {
            return Ok(());
        }
        let (s, e) = (VirtAddr::new(start), VirtAddr::new(end));
        let space = self.spaces.get(&id).ok_or(Errno::ESRCH)?;
        // range_contains_unmapped.
        if !space.vmas.covers(s, e) {
            return Err(Errno::ENOMEM);
        }
        // mseal_apply.
        let mut at = s;
        while at < e {
            let vma = self.spaces[&id].vmas.find(at).cloned().ok_or(Errno::ENOMEM)?;
            let piece_end = vma.end.min(e);
            if !vma.is_sealed() {
                // vma_modify_flags: splitting may fail at the map count limit.
                self.split_room(id, &vma, at, piece_end)?;
                self.spaces.get_mut(&id).expect("checked").vmas.modify(at, piece_end, |v| v.flags |= VmFlags::SEALED);
            }
            at = piece_end;
        }
        Ok(())
    }

    /// The sealing half of vms_gather_munmap_vmas for unmapping `[start,
    /// end)`: EPERM if a sealed VMA lies in the range. As in Linux, the first
    /// VMA, when it is not sealed and starts before `start`, has already been
    /// split there (if the map count allows) when the refusal comes.
    pub(crate) fn check_unmap_sealed(&mut self, id: AsId, start: VirtAddr, end: VirtAddr) -> SysResult<()> {
        let space = self.spaces.get(&id).ok_or(Errno::ESRCH)?;
        if !space.vmas.overlapping(start, end).any(|v| v.is_sealed()) {
            return Ok(());
        }
        if let Some(first) = space.vmas.find(start).filter(|v| v.start < start && !v.is_sealed()).cloned() {
            let room = !(end < first.end && space.vmas.len() >= self.config.limits.max_map_count) && self.total_vma_room(1).is_ok();
            if room {
                self.spaces.get_mut(&id).expect("checked").vmas.split_at(start);
            }
        }
        Err(Errno::EPERM)
    }
}
