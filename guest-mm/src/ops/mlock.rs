//! mlock, mlock2 and munlock.
//!
//! Mirrors mm/mlock.c: do_mlock (can_do_mlock -> EPERM when RLIMIT_MEMLOCK is
//! 0; the start is aligned down and the length grown to cover it; the limit
//! counts pages already locked in the range only once), apply_vma_lock_flags
//! (VMA by VMA, ENOMEM at the first hole with earlier VMAs already changed),
//! mlock_fixup (VM_SPECIAL VMAs are silently left alone; vma_modify_flags
//! splits and merges) and __mm_populate (locked pages are faulted in, except
//! with MLOCK_ONFAULT; a population error EFAULT becomes ENOMEM and ENOMEM
//! becomes EAGAIN, as __mlock_posix_error_return does). The guest runs
//! unprivileged: no CAP_IPC_LOCK.

use crate::addr::{VirtAddr, PAGE_SIZE};
use crate::engine::Engine;
use crate::errno::{Errno, SysResult};
use crate::fault::FaultError;
use crate::memory::PhysMemory;
use crate::paging::{Outcome, PteUpdates};
use crate::space::AsId;
use crate::vma::VmFlags;

pub use linux_abi::mman::MLOCK_ONFAULT;

impl<M: PhysMemory> Engine<M> {
    /// mlock(2).
    pub fn mlock(&mut self, id: AsId, start: u64, len: u64) -> Outcome<SysResult<()>> {
        self.mlock2(id, start, len, 0)
    }

    /// mlock2(2).
    pub fn mlock2(&mut self, id: AsId, start: u64, len: u64, flags: u64) -> Outcome<SysResult<()>> {
        let mut tlb = PteUpdates::new();
        let r = if flags & !MLOCK_ONFAULT != 0 {
            Err(Errno::EINVAL)
        } else {
            let vm = if flags & MLOCK_ONFAULT != 0 { VmFlags::LOCKED | VmFlags::LOCKONFAULT } else { VmFlags::LOCKED };
            self.do_mlock(id, start, len, Some(vm), &mut tlb)
        };
        Outcome::new(r, tlb)
    }

    /// munlock(2).
    pub fn munlock(&mut self, id: AsId, start: u64, len: u64) -> Outcome<SysResult<()>> {
        let mut tlb = PteUpdates::new();
        let r = self.do_mlock(id, start, len, None, &mut tlb);
        Outcome::new(r, tlb)
    }

    fn do_mlock(&mut self, id: AsId, start: u64, len: u64, lock: Option<VmFlags>, tlb: &mut PteUpdates) -> SysResult<()> {
        let memlock = self.spaces.get(&id).ok_or(Errno::ESRCH)?.rlimits.memlock.cur;
        if lock.is_some() && memlock == 0 {
            return Err(Errno::EPERM);
        }
        // PAGE_ALIGN(len + offset_in_page(start)) wraps like the kernel's
        // unsigned arithmetic: a length of -1 becomes 0 (a successful no-op).
        let off = start % PAGE_SIZE;
        let len = len.wrapping_add(off).wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
        let start = start - off;
        let space = self.spaces.get(&id).ok_or(Errno::ESRCH)?;
        // The RLIMIT_MEMLOCK check comes before apply_vma_lock_flags looks
        // at a wrapping end, so an absurd mlock length is ENOMEM, not EINVAL.
        if lock.is_some() {
            let limit = memlock / PAGE_SIZE;
            let count_end = start.saturating_add(len).min(crate::addr::TASK_SIZE);
            let already: u64 = space
                .vmas
                .overlapping(VirtAddr::new(start), VirtAddr::new(count_end.max(start)))
                .filter(|v| v.flags.contains(VmFlags::LOCKED))
                .map(|v| (v.end.as_u64().min(count_end) - v.start.as_u64().max(start)) / PAGE_SIZE)
                .sum();
            let locked = len / PAGE_SIZE + self.locked_pages(id);
            if locked > limit && locked - already > limit {
                return Err(Errno::ENOMEM);
            }
        }
        let end = start.checked_add(len).ok_or(Errno::EINVAL)?;
        if end == start {
            return Ok(());
        }
        // apply_vma_lock_flags: the VMA at `start` must exist.
        if space.vmas.find(VirtAddr::new(start)).is_none() {
            return Err(Errno::ENOMEM);
        }
        let (s, e) = (VirtAddr::new(start), VirtAddr::new(end));
        let mut at = s;
        while at < e {
            let Some(vma) = self.spaces[&id].vmas.find(at).cloned() else {
                return Err(Errno::ENOMEM);
            };
            let piece_end = vma.end.min(e);
            let newflags = (vma.flags - VmFlags::LOCKED_MASK) | lock.unwrap_or(VmFlags::empty());
            if newflags != vma.flags && !vma.flags.intersects(VmFlags::SPECIAL) {
                // mlock_fixup: splitting may fail at the map count limit.
                self.split_room(id, &vma, at, piece_end)?;
                self.spaces.get_mut(&id).expect("checked").vmas.modify(at, piece_end, |v| v.flags = newflags);
            }
            at = piece_end;
        }
        if lock == Some(VmFlags::LOCKED) {
            return self.mm_populate(id, s, e, tlb);
        }
        Ok(())
    }

    /// __mm_populate for locked ranges, with mlock's errno translation.
    pub(crate) fn mm_populate(&mut self, id: AsId, start: VirtAddr, end: VirtAddr, tlb: &mut PteUpdates) -> SysResult<()> {
        let mut at = start;
        while at < end {
            let Some(vma) = self.spaces.get(&id).and_then(|s| s.vmas.find_from(at).cloned()) else { break };
            if vma.start >= end {
                break;
            }
            let lo = vma.start.max(at);
            let hi = vma.end.min(end);
            // populate_vma_page_range: VM_LOCKONFAULT pages are locked as they fault.
            if !vma.flags.intersects(VmFlags::IO | VmFlags::PFNMAP | VmFlags::LOCKONFAULT) {
                // populate_vma_page_range: an inaccessible VMA is EFAULT (so ENOMEM).
                if !vma.flags.is_accessible() {
                    return Err(Errno::ENOMEM);
                }
                let write = vma.flags & (VmFlags::WRITE | VmFlags::SHARED) == VmFlags::WRITE;
                match self.populate_pages(id, lo, hi, write, tlb) {
                    Ok(()) => {}
                    Err(FaultError::OutOfMemory(_)) => return Err(Errno::EAGAIN),
                    Err(_) => return Err(Errno::ENOMEM),
                }
            }
            at = hi;
        }
        Ok(())
    }
}
