//! brk: the program break, the heap exec puts after the bss.
//!
//! Mirrors mm/mmap.c SYSCALL_DEFINE1(brk), check_brk_limits and
//! do_brk_flags for a kernel without CONFIG_COMPAT_BRK (this host's): the
//! break never goes below start_brk; RLIMIT_DATA is tested first
//! (check_data_rlimit: heap plus data segment); a move within the same page
//! only records the new value; shrinking is always allowed unless the range
//! given back holds no VMA or a sealed one, and unmaps it (the contents are
//! gone); growing must pass get_unmapped_area(MAP_FIXED) (TASK_SIZE,
//! vm.mmap_min_addr), mlock_future_ok for a def_flags VM_LOCKED, keep a page
//! and the next VMA's vm_start_gap free above the new break, then
//! may_expand_vm and vm.max_map_count (do_brk_flags). The heap extends the
//! VMA just below the old break only if that VMA ends above start_brk and
//! could merge with the new range; otherwise a new VMA
//! (VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT | def_flags, anonymous, pgoff = its
//! page). Any failure leaves the break as it was, and brk returns the break.

use crate::addr::{VirtAddr, PAGE_SIZE, TASK_SIZE};
use crate::engine::Engine;
use crate::errno::Errno;
use crate::memory::PhysMemory;
use crate::ops::map;
use crate::paging::{Outcome, PteUpdates};
use crate::rlimit::check_data_rlimit;
use crate::space::AsId;
use crate::vma::{can_merge, Backing, VmFlags, Vma, STACK_GUARD_GAP};

/// VM_DATA_DEFAULT_FLAGS on x86-64 (without READ_IMPLIES_EXEC).
pub const VM_DATA_DEFAULT_FLAGS: VmFlags =
    VmFlags::READ.union(VmFlags::WRITE).union(VmFlags::MAYREAD).union(VmFlags::MAYWRITE).union(VmFlags::MAYEXEC);

/// PAGE_ALIGN with the kernel's unsigned wrap-around.
fn page_align(v: u64) -> u64 {
    v.wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1)
}

impl<M: PhysMemory> Engine<M> {
    /// Sets mm->start_brk and mm->brk (exec: the page-aligned end of the
    /// bss, or the kernel's chosen base for a static PIE).
    pub fn set_brk_base(&mut self, id: AsId, addr: VirtAddr) -> Result<(), Errno> {
        if !addr.is_page_aligned() || addr.as_u64() > TASK_SIZE {
            return Err(Errno::EINVAL);
        }
        let space = self.spaces.get_mut(&id).ok_or(Errno::ESRCH)?;
        space.start_brk = addr.as_u64();
        space.brk = addr.as_u64();
        Ok(())
    }

    /// Sets mm->start_data and mm->end_data (exec: the highest PT_LOAD's
    /// p_vaddr and the highest p_vaddr + p_filesz), which brk's RLIMIT_DATA
    /// test counts with the heap.
    pub fn set_data_segment(&mut self, id: AsId, start_data: u64, end_data: u64) -> Result<(), Errno> {
        let space = self.spaces.get_mut(&id).ok_or(Errno::ESRCH)?;
        space.start_data = start_data;
        space.end_data = end_data;
        Ok(())
    }

    /// Sets mm->def_flags' VM_LOCKED (and VM_LOCKONFAULT with `onfault`), as
    /// mlockall(MCL_FUTURE [| MCL_ONFAULT]) does, or clears them: later
    /// mappings and the heap are locked from the start.
    pub fn set_lock_future(&mut self, id: AsId, lock: bool, onfault: bool) -> Result<(), Errno> {
        let space = self.spaces.get_mut(&id).ok_or(Errno::ESRCH)?;
        space.def_flags.remove(VmFlags::LOCKED_MASK);
        if lock {
            space.def_flags |= VmFlags::LOCKED;
            if onfault {
                space.def_flags |= VmFlags::LOCKONFAULT;
            }
        }
        Ok(())
    }

    /// brk(2): returns the new break, or the unchanged one when the request
    /// is refused (Linux's brk never returns an error). An unknown space is 0.
    pub fn brk(&mut self, id: AsId, requested: u64) -> Outcome<u64> {
        let mut tlb = PteUpdates::new();
        let r = match self.spaces.get(&id) {
            None => 0,
            Some(space) => {
                let orig = space.brk;
                match self.do_brk(id, requested, &mut tlb) {
                    Ok(()) => requested,
                    Err(e) => {
                        tracing::trace!(?e, requested, "brk refused");
                        orig
                    }
                }
            }
        };
        Outcome::new(r, tlb)
    }

    fn do_brk(&mut self, id: AsId, brk: u64, tlb: &mut PteUpdates) -> Result<(), Errno> {
        let space = self.spaces.get(&id).ok_or(Errno::ESRCH)?;
        // Without CONFIG_COMPAT_BRK the minimum is start_brk.
        if brk < space.start_brk {
            return Err(Errno::EINVAL);
        }
        check_data_rlimit(space.rlimits.data.cur, brk, space.start_brk, space.end_data, space.start_data)?;
        let newbrk = page_align(brk);
        let oldbrk = page_align(space.brk);
        if oldbrk == newbrk {
            self.spaces.get_mut(&id).expect("checked").brk = brk;
            return Ok(());
        }
        if brk <= space.brk {
            return self.brk_shrink(id, brk, newbrk, oldbrk, tlb);
        }
        // check_brk_limits.
        let len = newbrk.wrapping_sub(oldbrk);
        self.get_unmapped_area(id, oldbrk, len, map::FIXED, false)?;
        let space = &self.spaces[&id];
        if !space.mlock_future_ok(space.def_flags, len) {
            return Err(Errno::EAGAIN);
        }
        // Only a VMA within stack_guard_gap of the expansion matters: the new
        // break must leave a page free below its vm_start_gap.
        let reach = newbrk.saturating_add(PAGE_SIZE).saturating_add(STACK_GUARD_GAP);
        if let Some(next) = space.vmas.find_from(VirtAddr::new(oldbrk)).filter(|n| n.start.as_u64() < reach) {
            if newbrk + PAGE_SIZE > next.start_gap() {
                return Err(Errno::ENOMEM);
            }
        }
        // vma_prev_limit(start_brk): the VMA right below the old break, if it
        // reaches above start_brk.
        let start_brk = space.start_brk;
        let brkvma = space.vmas.prev_of(VirtAddr::new(oldbrk)).filter(|p| p.end.as_u64() > start_brk).cloned();
        self.do_brk_flags(id, brkvma, oldbrk, len)?;
        let space = self.spaces.get_mut(&id).expect("checked");
        space.brk = brk;
        if space.def_flags.contains(VmFlags::LOCKED) {
            // mm_populate: failures are not reported.
            let _ = self.mm_populate(id, VirtAddr::new(oldbrk), VirtAddr::new(newbrk), tlb);
        }
        Ok(())
    }

    /// The shrinking half of brk: give back `[newbrk, oldbrk)`.
    fn brk_shrink(&mut self, id: AsId, brk: u64, newbrk: u64, oldbrk: u64, tlb: &mut PteUpdates) -> Result<(), Errno> {
        let space = &self.spaces[&id];
        let (s, e) = (VirtAddr::new(newbrk), VirtAddr::new(oldbrk));
        // "mapping intersects with an existing non-brk vma": nothing to unmap.
        let first = space.vmas.find_from(s).filter(|v| v.start < e).cloned().ok_or(Errno::EINVAL)?;
        // do_vmi_align_munmap: a sealed VMA refuses; splitting one VMA in
        // two needs room below vm.max_map_count.
        if first.start < s && e < first.end && space.vmas.len() >= self.config.limits.max_map_count {
            return Err(Errno::ENOMEM);
        }
        self.total_vma_room(usize::from(first.start < s && e < first.end))?;
        self.check_unmap_sealed(id, s, e)?;
        self.unmap_region(id, s, e, tlb).map_err(|_| Errno::ENOMEM)?;
        self.spaces.get_mut(&id).expect("checked").brk = brk;
        Ok(())
    }

    /// do_brk_flags: extend `brkvma` or add a new anonymous VMA at `addr`.
    fn do_brk_flags(&mut self, id: AsId, brkvma: Option<Vma>, addr: u64, len: u64) -> Result<(), Errno> {
        let space = &self.spaces[&id];
        let flags = VM_DATA_DEFAULT_FLAGS | VmFlags::ACCOUNT | space.def_flags;
        if !space.may_expand_vm(flags, len / PAGE_SIZE) {
            return Err(Errno::ENOMEM);
        }
        self.vm_enough_memory(len / PAGE_SIZE)?;
        if space.vmas.len() > self.config.limits.max_map_count {
            return Err(Errno::ENOMEM);
        }
        let (start, end) = (VirtAddr::new(addr), VirtAddr::new(addr + len));
        let new = Vma { start, end, flags, pgoff: addr / PAGE_SIZE, backing: Backing::Anon, anon: None };
        // vma_merge_new_range with just_expand: only the previous VMA.
        if let Some(prev) = brkvma.filter(|p| p.end == start && can_merge(p, &new)) {
            let v = self.spaces.get_mut(&id).expect("checked").vmas.get_mut(prev.start).expect("found above");
            v.end = end;
            return Ok(());
        }
        self.total_vma_room(1)?;
        self.spaces.get_mut(&id).expect("checked").vmas.insert(new);
        Ok(())
    }
}
