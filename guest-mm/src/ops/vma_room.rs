//! VMA accounting: room for more VMAs in one space (vm.max_map_count, as
//! mmap_region and __split_vma check it) and in the whole engine
//! (`Limits::max_total_vmas`, our stand-in for the kernel memory that bounds
//! Linux's vm_area_structs).
//!
//! Invariant: every operation that adds VMAs (mmap, a split by munmap,
//! mprotect, madvise or mlock, mremap's move, fork) asks first and fails with
//! ENOMEM, changing nothing for that VMA, when there is no room.

use crate::addr::VirtAddr;
use crate::engine::Engine;
use crate::errno::Errno;
use crate::memory::PhysMemory;
use crate::space::AsId;
use crate::vma::Vma;

impl<M: PhysMemory> Engine<M> {
    /// VMAs of every space.
    pub(crate) fn total_vmas(&self) -> usize {
        self.spaces.values().map(|s| s.vmas.len()).sum()
    }

    /// Room for `extra` more VMAs in the engine as a whole.
    pub(crate) fn total_vma_room(&self, extra: usize) -> Result<(), Errno> {
        if extra > 0 && self.total_vmas().saturating_add(extra) > self.config.limits.max_total_vmas {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }

    /// Room to split `vma` at `start` and `end` (where they fall strictly
    /// inside it): __split_vma refuses at vm.max_map_count.
    pub(crate) fn split_room(&self, id: AsId, vma: &Vma, start: VirtAddr, end: VirtAddr) -> Result<(), Errno> {
        let splits = usize::from(vma.start < start) + usize::from(end < vma.end);
        if splits == 0 {
            return Ok(());
        }
        let count = self.spaces.get(&id).ok_or(Errno::ESRCH)?.vmas.len();
        if count + splits > self.config.limits.max_map_count {
            return Err(Errno::ENOMEM);
        }
        self.total_vma_room(splits)
    }
}
