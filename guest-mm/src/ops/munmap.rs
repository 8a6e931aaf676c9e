//! munmap: removing mappings.
//!
//! Mirrors mm/vma.c do_vmi_munmap / do_vmi_align_munmap: split the VMAs at the
//! edges, zap every entry in the range (guard markers included: munmap clears
//! guard regions), free the page tables the range no longer needs
//! (free_pgtables), drop the VMAs. Remaining neighbours are not merged. A
//! sealed VMA in the range makes it EPERM (ops::mseal).

use super::aligned_range;
use crate::addr::{VirtAddr, TASK_SIZE};
use crate::engine::Engine;
use crate::errno::{Errno, SysResult};
use crate::mapping::{self, ZapMode};
use crate::memory::PhysMemory;
use crate::paging::{Ctx, Outcome, PagingError, PteUpdates};
use crate::space::AsId;

impl<M: PhysMemory> Engine<M> {
    /// munmap(2).
    pub fn munmap(&mut self, id: AsId, start: u64, len: u64) -> Outcome<SysResult<()>> {
        let mut tlb = PteUpdates::new();
        let r = self.do_munmap(id, start, len, &mut tlb);
        Outcome::new(r, tlb)
    }

    fn do_munmap(&mut self, id: AsId, start: u64, len: u64, tlb: &mut PteUpdates) -> SysResult<()> {
        if start > TASK_SIZE || len > TASK_SIZE - start {
            return Err(Errno::EINVAL);
        }
        let (s, e) = aligned_range(start, len).ok_or(Errno::EINVAL)?;
        if s == e {
            return Err(Errno::EINVAL);
        }
        let space = self.spaces.get(&id).ok_or(Errno::ESRCH)?;
        // Splitting a VMA in the middle adds one: refuse at the map count limit.
        let splits = space.vmas.find(s).is_some_and(|v| v.start < s && e < v.end);
        if splits && space.vmas.len() >= self.config.limits.max_map_count {
            return Err(Errno::ENOMEM);
        }
        self.total_vma_room(usize::from(splits))?;
        // A sealed VMA in the range refuses (ops::mseal).
        self.check_unmap_sealed(id, s, e)?;
        self.unmap_region(id, s, e, tlb).map_err(|_| Errno::ENOMEM)
    }

    /// Removes all VMAs and entries in `[start, end)` of a space.
    pub(crate) fn unmap_region(&mut self, id: AsId, start: VirtAddr, end: VirtAddr, tlb: &mut PteUpdates) -> Result<(), PagingError> {
        let Some(space) = self.spaces.get_mut(&id) else {
            return Ok(());
        };
        if !space.vmas.intersects(start, end) {
            return Ok(());
        }
        let removed = space.vmas.remove_range(start, end);
        let mut cx = Ctx { mem: &self.mem, frames: &mut self.frames, tlb };
        for v in &removed {
            mapping::zap_range(&mut space.tables, v.start, v.end, ZapMode::All, &mut cx)?;
        }
        // free_pgtables: only tables no remaining VMA needs.
        let floor = space.vmas.prev_of(start).map_or(VirtAddr::new(0), |p| p.end);
        let ceiling = space.vmas.next_of(end).map_or(VirtAddr::new(TASK_SIZE), |n| n.start);
        space.tables.free_empty(floor.max(VirtAddr::new(0)), ceiling, &mut cx)?;
        for o in removed.iter().filter_map(|v| v.object()) {
            self.maybe_release_object(o);
        }
        Ok(())
    }
}
