//! mremap: shrinking, expanding and moving mappings.
//!
//! Mirrors mm/mremap.c (6.x, after the vma_remap_struct refactor):
//! - check_mremap_params: unknown flags, unaligned address, zero or huge new
//!   length -> EINVAL; for a new address (MREMAP_FIXED or MREMAP_DONTUNMAP):
//!   it must fit below TASK_SIZE and be aligned, imply MREMAP_MAYMOVE, keep
//!   the size for DONTUNMAP, and not overlap the source (EINVAL);
//! - check_prep_vma: EFAULT without a VMA at the address or when the old
//!   range crosses the VMA end; duplicating a private mapping (old_len 0) is
//!   EINVAL; VM_DONTEXPAND/VM_PFNMAP refuse to grow (EFAULT) or to be moved
//!   with DONTUNMAP (EINVAL); the mlock limit (EAGAIN);
//! - seed 001: the range mremap expands into, or moves to, is checked exactly
//!   as mmap checks a new range: expand in place only over free space below
//!   TASK_SIZE; a move goes through the same get_unmapped_area as mmap
//!   (placement, TASK_SIZE, mmap_min_addr -> EPERM, MAP_FIXED);
//! - MREMAP_FIXED unmaps the destination first, as Linux does, even if the
//!   move then fails;
//! - move_vma: copy_vma (pgoff of an unfaulted anonymous VMA follows the new
//!   address; merge at the destination), move_page_tables (entries move with
//!   their frames, guard markers included), then the source is unmapped, or
//!   with DONTUNMAP kept empty;
//! - with MREMAP_FIXED and an unchanged size, several VMAs move at once,
//!   keeping the gaps between them (remap_move); a gap at the start, or at
//!   the first VMA ending early, is EFAULT.

use crate::addr::{VirtAddr, PAGE_SIZE, TASK_SIZE};
use crate::engine::Engine;
use crate::errno::{Errno, SysResult};
use crate::memory::PhysMemory;
use crate::ops::map;
use crate::paging::{Ctx, Outcome, Pte, PteUpdates};
use crate::space::AsId;
use crate::vma::{VmFlags, Vma};

pub use linux_abi::mman::{MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE};

fn page_align(v: u64) -> u64 {
    v.checked_add(PAGE_SIZE - 1).map_or(0, |x| x & !(PAGE_SIZE - 1))
}

/// The state of one remap (Linux's vma_remap_struct).
struct Remap {
    addr: u64,
    old_len: u64,
    new_len: u64,
    flags: u64,
    new_addr: u64,
}

impl Remap {
    fn implies_new_addr(&self) -> bool {
        self.flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) != 0
    }
}

impl<M: PhysMemory> Engine<M> {
    /// mremap(2). Returns the (possibly new) address.
    pub fn mremap(&mut self, id: AsId, addr: u64, old_len: u64, new_len: u64, flags: u64, new_addr: u64) -> Outcome<SysResult<VirtAddr>> {
        let mut tlb = PteUpdates::new();
        let mut r = Remap { addr, old_len: page_align(old_len), new_len: page_align(new_len), flags, new_addr };
        let res = self.do_mremap(id, &mut r, &mut tlb).map(VirtAddr::new);
        Outcome::new(res, tlb)
    }

    fn do_mremap(&mut self, id: AsId, r: &mut Remap, tlb: &mut PteUpdates) -> SysResult<u64> {
        // check_mremap_params.
        if r.flags & !(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP) != 0
            || !r.addr.is_multiple_of(PAGE_SIZE)
            || r.new_len == 0
            || r.new_len > TASK_SIZE
        {
            return Err(Errno::EINVAL);
        }
        if r.implies_new_addr() {
            if r.new_addr > TASK_SIZE - r.new_len || !r.new_addr.is_multiple_of(PAGE_SIZE) || r.flags & MREMAP_MAYMOVE == 0 {
                return Err(Errno::EINVAL);
            }
            if r.flags & MREMAP_DONTUNMAP != 0 && r.old_len != r.new_len {
                return Err(Errno::EINVAL);
            }
            let end_old = r.addr.saturating_add(r.old_len);
            if end_old > r.new_addr && r.new_addr + r.new_len > r.addr {
                return Err(Errno::EINVAL);
            }
        }
        if r.flags & MREMAP_FIXED != 0 && r.old_len == r.new_len {
            return self.remap_move(id, r, tlb);
        }
        let vma = self.spaces.get(&id).ok_or(Errno::ESRCH)?.vmas.find(VirtAddr::new(r.addr)).cloned().ok_or(Errno::EFAULT)?;
        self.check_prep_vma(id, r, &vma)?;
        if r.implies_new_addr() {
            self.mremap_to(id, r, tlb)
        } else {
            self.mremap_at(id, r, &vma, tlb)
        }
    }

    /// check_prep_vma.
    fn check_prep_vma(&self, id: AsId, r: &mut Remap, vma: &Vma) -> SysResult<()> {
        // If mseal()'d, mremap() is prohibited.
        if vma.is_sealed() {
            return Err(Errno::EPERM);
        }
        if !r.implies_new_addr() {
            r.new_addr = r.addr;
        }
        let expanding = r.new_len > r.old_len;
        if !(expanding || r.implies_new_addr()) {
            return Ok(());
        }
        if r.old_len == 0 && !vma.flags.intersects(VmFlags::SHARED | VmFlags::MAYSHARE) {
            return Err(Errno::EINVAL);
        }
        if r.flags & MREMAP_DONTUNMAP != 0 && vma.flags.intersects(VmFlags::DONTEXPAND | VmFlags::PFNMAP) {
            return Err(Errno::EINVAL);
        }
        let old_len = if r.new_len < r.old_len { r.new_len } else { r.old_len };
        if old_len > vma.end.as_u64() - r.addr {
            return Err(Errno::EFAULT);
        }
        // A shrink (done before any move) checks nothing more.
        if r.new_len == old_len {
            return Ok(());
        }
        let pgoff = vma.pgoff_of(VirtAddr::new(r.addr));
        if pgoff.checked_add(r.new_len / PAGE_SIZE).is_none() {
            return Err(Errno::EINVAL);
        }
        if vma.flags.intersects(VmFlags::DONTEXPAND | VmFlags::PFNMAP) {
            return Err(Errno::EFAULT);
        }
        let delta = r.new_len.abs_diff(r.old_len);
        let space = &self.spaces[&id];
        if !space.mlock_future_ok(vma.flags, delta) {
            return Err(Errno::EAGAIN);
        }
        if !space.may_expand_vm(vma.flags, delta / PAGE_SIZE) {
            return Err(Errno::ENOMEM);
        }
        if vma.flags.contains(VmFlags::ACCOUNT) && r.new_len > r.old_len {
            self.vm_enough_memory(delta / PAGE_SIZE)?;
        }
        Ok(())
    }

    /// mremap_at: resize without a new address.
    fn mremap_at(&mut self, id: AsId, r: &mut Remap, vma: &Vma, tlb: &mut PteUpdates) -> SysResult<u64> {
        if r.new_len == r.old_len {
            return Ok(r.addr);
        }
        if r.new_len < r.old_len {
            // shrink_vma: unmap the tail; crossing VMA boundaries is allowed.
            let (s, e) = (VirtAddr::new(r.addr + r.new_len), VirtAddr::new(r.addr + r.old_len));
            self.check_unmap_sealed(id, s, e)?;
            self.unmap_region(id, s, e, tlb).map_err(|_| Errno::ENOMEM)?;
            return Ok(r.addr);
        }
        // expand_vma: in place when [addr, addr+old_len) ends at the VMA end
        // and the space after it is free and valid (vma_expandable).
        let delta = r.new_len - r.old_len;
        if vma.end.as_u64() - r.addr == r.old_len && self.vma_expandable(id, vma, delta) {
            let new_end = vma.end.add(delta);
            self.expand_in_place(id, vma, new_end);
            if vma.flags.contains(VmFlags::LOCKED) {
                let _ = self.mm_populate(id, vma.end, new_end, tlb);
            }
            return Ok(r.addr);
        }
        if r.flags & MREMAP_MAYMOVE == 0 {
            return Err(Errno::ENOMEM);
        }
        self.vrm_set_new_addr(id, r, vma)?;
        self.move_vma(id, r, tlb)
    }

    /// vma_expandable: the grown range is free and passes get_unmapped_area(MAP_FIXED).
    fn vma_expandable(&self, id: AsId, vma: &Vma, delta: u64) -> bool {
        let Some(end) = vma.end.as_u64().checked_add(delta) else { return false };
        let space = &self.spaces[&id];
        if space.vmas.intersects(vma.end, VirtAddr::new(end)) {
            return false;
        }
        self.get_unmapped_area(id, vma.start.as_u64(), end - vma.start.as_u64(), map::FIXED, false).is_ok()
    }

    /// vma_merge_extend: the range after the VMA is merged as a new range
    /// whose prev is the VMA itself (and with the next VMA if compatible).
    fn expand_in_place(&mut self, id: AsId, vma: &Vma, new_end: VirtAddr) {
        let tail = Vma { start: vma.end, end: new_end, pgoff: vma.pgoff + vma.pages(), ..vma.clone() };
        self.spaces.get_mut(&id).expect("checked").vmas.merge_new(tail);
    }

    /// vrm_set_new_addr: place the destination as mmap would.
    fn vrm_set_new_addr(&self, id: AsId, r: &mut Remap, vma: &Vma) -> SysResult<()> {
        let mut flags = 0;
        if r.flags & MREMAP_FIXED != 0 {
            flags |= map::FIXED;
        }
        if vma.flags.contains(VmFlags::MAYSHARE) {
            flags |= map::SHARED;
        }
        let hint = if r.implies_new_addr() { r.new_addr } else { 0 };
        r.new_addr = self.get_unmapped_area(id, hint, r.new_len, flags, false)?.as_u64();
        Ok(())
    }

    /// mremap_to: move to (or near) a given address.
    fn mremap_to(&mut self, id: AsId, r: &mut Remap, tlb: &mut PteUpdates) -> SysResult<u64> {
        if r.flags & MREMAP_FIXED != 0 {
            let (s, e) = (VirtAddr::new(r.new_addr), VirtAddr::new(r.new_addr + r.new_len));
            self.check_unmap_sealed(id, s, e)?;
            self.unmap_region(id, s, e, tlb).map_err(|_| Errno::ENOMEM)?;
            if self.spaces[&id].vmas.find(VirtAddr::new(r.addr)).is_none() {
                return Err(Errno::EFAULT);
            }
        }
        if r.new_len < r.old_len {
            let (s, e) = (VirtAddr::new(r.addr + r.new_len), VirtAddr::new(r.addr + r.old_len));
            self.check_unmap_sealed(id, s, e)?;
            self.unmap_region(id, s, e, tlb).map_err(|_| Errno::ENOMEM)?;
            r.old_len = r.new_len;
        }
        let vma = self.spaces[&id].vmas.find(VirtAddr::new(r.addr)).cloned().ok_or(Errno::EFAULT)?;
        // MREMAP_DONTUNMAP expands by old_len since old_len == new_len.
        if r.flags & MREMAP_DONTUNMAP != 0 && !self.spaces[&id].may_expand_vm(vma.flags, r.old_len / PAGE_SIZE) {
            return Err(Errno::ENOMEM);
        }
        // vrm_charge: the copy DONTUNMAP leaves behind is charged too.
        if r.flags & MREMAP_DONTUNMAP != 0 && vma.flags.contains(VmFlags::ACCOUNT) {
            self.vm_enough_memory(r.old_len / PAGE_SIZE)?;
        }
        self.vrm_set_new_addr(id, r, &vma)?;
        self.move_vma(id, r, tlb)
    }

    /// remap_move: MREMAP_FIXED without resizing moves every VMA in the range.
    fn remap_move(&mut self, id: AsId, r: &mut Remap, tlb: &mut PteUpdates) -> SysResult<u64> {
        let (start, end) = (r.addr, r.addr.saturating_add(r.old_len));
        let vmas: Vec<Vma> =
            self.spaces.get(&id).ok_or(Errno::ESRCH)?.vmas.overlapping(VirtAddr::new(start), VirtAddr::new(end)).cloned().collect();
        let mut result = Err(Errno::EFAULT);
        let mut target = r.new_addr;
        let mut last_end = 0;
        for (i, vma) in vmas.iter().enumerate() {
            let addr = vma.start.as_u64().max(start);
            let len = end.min(vma.end.as_u64()) - addr;
            if i == 0 && start < vma.start.as_u64() {
                return Err(Errno::EFAULT);
            }
            let offset = if i == 0 { 0 } else { vma.start.as_u64() - last_end };
            last_end = vma.end.as_u64();
            let mut one = Remap { addr, old_len: len, new_len: len, flags: r.flags, new_addr: target + offset };
            // Re-read the VMA: earlier moves may have split or merged around it.
            let cur = self.spaces[&id].vmas.find(VirtAddr::new(addr)).cloned().ok_or(Errno::EFAULT)?;
            if cur.flags.intersects(VmFlags::SPECIAL) && (i > 0 || vma.end.as_u64() < end) {
                return Err(Errno::EFAULT);
            }
            self.check_prep_vma(id, &mut one, &cur)?;
            let got = self.mremap_to(id, &mut one, tlb)?;
            if i == 0 {
                result = Ok(got);
            }
            target = got + len;
        }
        result
    }

    /// move_vma: copy the VMA to `r.new_addr`, move its entries, then drop
    /// (or, with DONTUNMAP, empty) the source.
    fn move_vma(&mut self, id: AsId, r: &mut Remap, tlb: &mut PteUpdates) -> SysResult<u64> {
        let (old, new) = (VirtAddr::new(r.addr), VirtAddr::new(r.new_addr));
        // prep_move_vma (6.18): keep room below the map count limit.
        if self.spaces[&id].vmas.len() + 3 >= self.config.limits.max_map_count {
            return Err(Errno::ENOMEM);
        }
        self.total_vma_room(3)?;
        let vma = self.spaces[&id].vmas.find(old).cloned().ok_or(Errno::EFAULT)?;
        // copy_vma: an unfaulted anonymous VMA takes the new address as its
        // pgoff, to merge more easily there.
        let pgoff = if vma.is_anonymous() && vma.anon.is_none() { new.as_u64() / PAGE_SIZE } else { vma.pgoff_of(old) };
        let copy = Vma { start: new, end: new.add(r.new_len), pgoff, ..vma.clone() };
        if r.old_len == 0 {
            // Duplicating a shared mapping: a new VMA of the same object, nothing moves.
            self.unmap_region(id, new, copy.end, tlb).map_err(|_| Errno::ENOMEM)?;
            self.spaces.get_mut(&id).expect("checked").vmas.merge_new(copy);
            return Ok(r.new_addr);
        }
        self.unmap_region(id, new, copy.end, tlb).map_err(|_| Errno::ENOMEM)?;
        // move_page_tables: entries move with their frames (and markers).
        let moved: Vec<_> = self.spaces[&id].tables.entries_in(old, old.add(r.old_len));
        {
            let space = self.spaces.get_mut(&id).expect("checked");
            let mut cx = Ctx { mem: &self.mem, frames: &mut self.frames, tlb };
            for e in &moved {
                let to = new.add(e.va.distance_from(old));
                if let Some(f) = e.pte.frame() {
                    cx.frames.move_map(f, id, e.va.page(), to.page());
                }
                space.tables.set(to, e.pte, &mut cx).map_err(|_| Errno::ENOMEM)?;
                space.tables.set(e.va, Pte::NONE, &mut cx).map_err(|_| Errno::ENOMEM)?;
            }
        }
        if r.flags & MREMAP_DONTUNMAP != 0 {
            // dontunmap_complete: the source stays, empty; VM_LOCKED,
            // VM_LOCKONFAULT and VM_ACCOUNT are cleared on the whole source
            // VMA, which is not split (even when only part of it moved); when
            // all of it moved, its anon_vma goes with its pages.
            let whole = vma.start == old && vma.end == old.add(r.old_len);
            let space = self.spaces.get_mut(&id).expect("checked");
            if let Some(v) = space.vmas.get_mut(vma.start) {
                v.flags.remove(VmFlags::LOCKED_MASK | VmFlags::ACCOUNT);
                if whole {
                    v.anon = None;
                }
            }
        } else {
            // The entries already moved: unmapping the source frees nothing of theirs.
            let space = self.spaces.get_mut(&id).expect("checked");
            space.vmas.remove_range(old, old.add(r.old_len));
            let mut cx = Ctx { mem: &self.mem, frames: &mut self.frames, tlb };
            let floor = space.vmas.prev_of(old).map_or(VirtAddr::new(0), |p| p.end);
            let ceiling = space.vmas.next_of(old.add(r.old_len)).map_or(VirtAddr::new(TASK_SIZE), |n| n.start);
            space.tables.free_empty(floor, ceiling, &mut cx).map_err(|_| Errno::ENOMEM)?;
        }
        self.spaces.get_mut(&id).expect("checked").vmas.merge_new(copy);
        if vma.flags.contains(VmFlags::LOCKED) && r.new_len > r.old_len {
            let _ = self.mm_populate(id, new.add(r.old_len), new.add(r.new_len), tlb);
        }
        Ok(r.new_addr)
    }
}
