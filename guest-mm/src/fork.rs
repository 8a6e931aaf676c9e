//! Process-level fork: a child address space that shares pages copy-on-write.
//!
//! Mirrors kernel/fork.c dup_mmap and mm/memory.c copy_page_range:
//! - VM_DONTCOPY VMAs (MADV_DONTFORK, or our MAP_DONTCOPY set atomically at
//!   mmap time, seed 002) do not exist in the child;
//! - VM_WIPEONFORK VMAs exist but start empty (no page is copied, and no
//!   marker either: the child gets a clean slate);
//! - VM_LOCKED and VM_LOCKONFAULT are cleared in the child;
//! - anon_vma_fork: a child VMA whose parent VMA has an anon_vma gets a new
//!   anon_vma chained to the parent's (`forked`), which blocks some merges;
//! - page tables are copied only where a fault could not rebuild them
//!   (vma_needs_copy: an anon_vma, PFN maps, or possible guard markers);
//! - in a COW mapping (private, may write) every writable entry is write-
//!   protected in the parent and mapped read-only in the child; shared
//!   mappings keep their rights (marked clean in the child); markers (guard,
//!   revoked, nonlinear offsets) are copied.
//!
//! Write-protecting the parent changes present entries, so those changes go
//! into the returned batch.

use crate::engine::Engine;
use crate::errno::{Errno, SysResult};
use crate::mapping;
use crate::memory::PhysMemory;
use crate::paging::{Ctx, Outcome, Pte, PteFlags, PteKind, PteUpdates};
use crate::space::AsId;
use crate::vma::{AnonRef, VmFlags, Vma};

/// Linux's is_cow_mapping: private and allowed to become writable.
pub fn is_cow_mapping(f: VmFlags) -> bool {
    f & (VmFlags::SHARED | VmFlags::MAYWRITE) == VmFlags::MAYWRITE
}

impl<M: PhysMemory> Engine<M> {
    /// fork(2)'s memory half: returns the child's address space.
    pub fn fork(&mut self, parent: AsId) -> Outcome<SysResult<AsId>> {
        let mut tlb = PteUpdates::new();
        let r = self.do_fork(parent, &mut tlb);
        Outcome::new(r, tlb)
    }

    fn do_fork(&mut self, parent: AsId, tlb: &mut PteUpdates) -> SysResult<AsId> {
        let vmas: Vec<Vma> = self.spaces.get(&parent).ok_or(Errno::ESRCH)?.vmas.iter().cloned().collect();
        // dup_mmap allocates a vm_area_struct per VMA: ENOMEM when they do not fit.
        self.total_vma_room(vmas.len())?;
        let (r, u) = self.create_space().split();
        tlb.absorb(u);
        let child = r.map_err(|_| Errno::ENOMEM)?;
        // dup_mm copies the mm_struct: the mmap base, the heap and stack
        // bounds; the rlimits come with the process (copy_signal). def_flags
        // keeps only VM_NOHUGEPAGE (mm_init: mlockall is not inherited).
        let p = &self.spaces[&parent];
        let (base, rl, brk, data, stack, def) =
            (p.mmap_base, p.rlimits, (p.start_brk, p.brk), (p.start_data, p.end_data), p.start_stack, p.def_flags);
        let c = self.spaces.get_mut(&child).expect("just created");
        c.mmap_base = base;
        c.rlimits = rl;
        (c.start_brk, c.brk) = brk;
        (c.start_data, c.end_data) = data;
        c.start_stack = stack;
        c.def_flags = def & VmFlags::NOHUGEPAGE;
        for v in vmas.iter().filter(|v| !v.flags.contains(VmFlags::DONTCOPY)) {
            let wipe = v.flags.contains(VmFlags::WIPEONFORK);
            let mut c = v.clone();
            c.flags.remove(VmFlags::LOCKED_MASK);
            c.anon = if wipe { None } else { v.anon.map(|_| AnonRef { id: self.new_anon_vma(), forked: true }) };
            self.spaces.get_mut(&child).expect("just created").vmas.insert(c.clone());
            let needs_copy =
                v.anon.is_some() || v.flags.intersects(VmFlags::PFNMAP | VmFlags::MIXEDMAP | VmFlags::MAYBE_GUARD | VmFlags::NONLINEAR);
            if !wipe && needs_copy {
                if let Err(e) = self.copy_range(parent, child, v, tlb) {
                    // Out of frames for page tables: undo the child, as dup_mmap does.
                    let _ = self.destroy_space(child);
                    return Err(e);
                }
            }
        }
        Ok(child)
    }

    /// copy_pte_range for one VMA.
    fn copy_range(&mut self, parent: AsId, child: AsId, v: &Vma, tlb: &mut PteUpdates) -> SysResult<()> {
        let cow = is_cow_mapping(v.flags);
        let entries = self.spaces[&parent].tables.entries_in(v.start, v.end);
        if cow {
            tlb.reserve(entries.len());
        }
        for e in entries {
            let child_pte = match e.pte.kind() {
                PteKind::None => continue,
                PteKind::Marker(_) => e.pte,
                PteKind::ProtNone { .. } => e.pte,
                PteKind::Present { frame, flags } => {
                    let mut f = flags;
                    if cow && flags.contains(PteFlags::WRITABLE) {
                        // ptep_set_wrprotect in the parent: a change to a present entry.
                        let wp = Pte::present(frame, flags - PteFlags::WRITABLE);
                        self.set_entry(parent, e.va, wp, tlb).map_err(|_| Errno::ENOMEM)?;
                        f.remove(PteFlags::WRITABLE);
                    }
                    if v.is_shared() {
                        f.remove(PteFlags::DIRTY);
                    }
                    Pte::present(frame, f)
                }
            };
            let space = self.spaces.get_mut(&child).expect("child exists");
            let mut cx = Ctx { mem: &self.mem, frames: &mut self.frames, tlb };
            mapping::replace(&mut space.tables, e.va, child_pte, &mut cx).map_err(|_| Errno::ENOMEM)?;
        }
        Ok(())
    }
}
