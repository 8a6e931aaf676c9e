//! Populating ranges: MAP_POPULATE, mlock, MADV_POPULATE_READ/WRITE.
//!
//! Mirrors mm/gup.c populate_vma_page_range / faultin_page: each page is
//! faulted as a write if the mapping is private and writable (breaking COW
//! now), as a read otherwise. A page that cannot be faulted stops the walk
//! with the fault's outcome.

use crate::addr::{VirtAddr, PAGE_SIZE};
use crate::engine::Engine;
use crate::fault::{AccessKind, FaultError, PageFault};
use crate::memory::PhysMemory;
use crate::paging::{PteFlags, PteUpdates};
use crate::space::AsId;
use crate::vma::VmFlags;

impl<M: PhysMemory> Engine<M> {
    /// Faults in every page of `[start, end)` that is not yet mapped for the
    /// access populate would make. Skips inaccessible VMAs as Linux does.
    pub(crate) fn populate_range(&mut self, id: AsId, start: VirtAddr, end: VirtAddr, tlb: &mut PteUpdates) -> Result<(), FaultError> {
        let mut va = start;
        while va < end {
            let Some(vma) = self.spaces.get(&id).and_then(|s| s.vmas.find(va).cloned()) else {
                va = va.add(PAGE_SIZE);
                continue;
            };
            let write = vma.flags & (VmFlags::WRITE | VmFlags::SHARED) == VmFlags::WRITE;
            let stop = vma.end.min(end);
            if vma.flags.is_accessible() {
                self.populate_pages(id, va, stop, write, tlb)?;
            }
            va = stop;
        }
        Ok(())
    }

    /// Faults each page of `[start, end)` (inside one VMA) for `write` or read access.
    pub(crate) fn populate_pages(
        &mut self,
        id: AsId,
        start: VirtAddr,
        end: VirtAddr,
        write: bool,
        tlb: &mut PteUpdates,
    ) -> Result<(), FaultError> {
        let mut va = start;
        while va < end {
            let pte = self.spaces[&id].tables.get(va);
            let done = pte.is_present() && (!write || pte.flags().contains(PteFlags::WRITABLE));
            if !done {
                let access = if write { AccessKind::Write } else { AccessKind::Read };
                self.fault_in(id, PageFault { addr: va, access, present: pte.is_present() }, tlb)?;
            }
            va = va.add(PAGE_SIZE);
        }
        Ok(())
    }
}
