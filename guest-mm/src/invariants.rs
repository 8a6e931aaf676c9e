//! Whole-engine consistency checks, run after every step in tests.
//!
//! Owns `check_invariants()`: VMA order and non-overlap, guest page tables
//! equal to the engine's mirror, every entry inside a VMA and within its
//! protection, every frame's reverse map equal to the entries that map it, no
//! leaked frame, object caches within their size, frames outside the pool
//! mapped only as frames of a plugged device window (never a revoked one);
//! in nonlinear VMAs every mapped entry maps a page of the VMA's object with
//! hardware rights within its own (SOFT) protection, and no entry outside
//! them carries an offset or SOFT bits.
//!
//! "Merged where mergeable" is deliberately not a whole-engine invariant:
//! Linux does not guarantee it. dup_mmap copies VMAs without merging, so
//! after fork two neighbours that differed only in VM_LOCKED (cleared in the
//! child) stay two VMAs, and the host kernel shows two maps lines. The VMA
//! tree attempts a merge on exactly the paths Linux does (vma::tree), and
//! the oracle comparison of maps lines checks the result.

use crate::addr::{Frame, Page};
use crate::engine::Engine;
use crate::frames::FrameUse;
use crate::memory::PhysMemory;
use crate::paging::{PteFlags, PteKind};
use crate::space::AsId;
use crate::vma::VmFlags;
use std::collections::{BTreeMap, BTreeSet};

/// A broken invariant, with what was found.
#[derive(Debug, thiserror::Error)]
#[error("invariant broken: {0}")]
pub struct InvariantViolation(pub String);

impl<M: PhysMemory> Engine<M> {
    /// Walks the whole engine and checks every invariant.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        let err = |s: String| InvariantViolation(s);
        self.frames.check().map_err(err)?;
        let zero = self.frames.zero_frame();
        let mut mapped: BTreeMap<Frame, BTreeSet<(AsId, Page)>> = BTreeMap::new();
        let mut tables: BTreeSet<Frame> = BTreeSet::new();
        for (id, s) in &self.spaces {
            s.vmas.check().map_err(|e| err(format!("{id:?}: {e}")))?;
            s.tables.check(&self.mem).map_err(|e| err(format!("{id:?}: {e}")))?;
            for f in s.tables.table_frames() {
                if !matches!(self.frames.use_of(f), Some(FrameUse::PageTable { owner, .. }) if owner == *id) {
                    return Err(err(format!("{id:?}: table frame {f:?} has use {:?}", self.frames.use_of(f))));
                }
                tables.insert(f);
            }
            for v in s.vmas.iter() {
                let nonlinear = v.flags.contains(VmFlags::NONLINEAR);
                for e in s.tables.entries_in(v.start, v.end) {
                    if !nonlinear {
                        let carries = match e.pte.kind() {
                            PteKind::Marker(m) => m.nonlinear.is_some(),
                            PteKind::Present { flags, .. } | PteKind::ProtNone { flags, .. } => {
                                flags.intersects(PteFlags::SOFT_READ | PteFlags::SOFT_WRITE | PteFlags::SOFT_EXEC)
                            }
                            PteKind::None => false,
                        };
                        if carries {
                            return Err(err(format!(
                                "{id:?}: entry {:?} at {:?} carries a nonlinear offset or protection in a linear VMA",
                                e.pte, e.va
                            )));
                        }
                    }
                    let (frame, flags, present) = match e.pte.kind() {
                        PteKind::Present { frame, flags } => (frame, flags, true),
                        PteKind::ProtNone { frame, flags } => (frame, flags, false),
                        _ => continue,
                    };
                    if nonlinear {
                        self.check_nonlinear_entry(*id, v, e.va, frame, flags, present).map_err(err)?;
                        if frame != zero && self.frames.contains(frame) {
                            mapped.entry(frame).or_default().insert((*id, e.va.page()));
                        }
                        continue;
                    }
                    if present {
                        if flags.contains(PteFlags::WRITABLE) && !v.flags.contains(VmFlags::WRITE) {
                            return Err(err(format!("{id:?}: writable entry at {:?} in VMA without VM_WRITE", e.va)));
                        }
                        if !flags.contains(PteFlags::NO_EXECUTE) && !v.flags.contains(VmFlags::EXEC) {
                            return Err(err(format!("{id:?}: executable entry at {:?} in VMA without VM_EXEC", e.va)));
                        }
                        if !v.flags.is_accessible() {
                            return Err(err(format!("{id:?}: present entry at {:?} in a PROT_NONE VMA", e.va)));
                        }
                        if flags.contains(PteFlags::WRITABLE) && !v.is_shared() && frame == zero {
                            return Err(err(format!("{id:?}: the zero page is mapped writable at {:?}", e.va)));
                        }
                    }
                    if frame != zero && self.frames.contains(frame) {
                        mapped.entry(frame).or_default().insert((*id, e.va.page()));
                    } else if frame != zero {
                        // Outside the pool: only a frame of the plugged device
                        // window this VMA maps (never one of a revoked device).
                        let dev = v.object().and_then(|o| self.objects.get(o)).and_then(|o| match o.kind {
                            crate::objects::ObjectKind::Device { base, pages, state } => Some((base, pages, state)),
                            _ => None,
                        });
                        match dev {
                            Some((base, pages, crate::objects::DeviceState::Plugged))
                                if frame.number() >= base.number() && frame.number() - base.number() < pages => {}
                            Some((_, _, crate::objects::DeviceState::Revoked)) => {
                                return Err(err(format!("{id:?}: {frame:?} of a revoked device is still mapped at {:?}", e.va)))
                            }
                            _ => {
                                return Err(err(format!(
                                    "{id:?}: {frame:?} at {:?} is neither a pool frame nor one of this VMA's device",
                                    e.va
                                )))
                            }
                        }
                    }
                }
            }
            // Entries outside every VMA.
            let all = s.tables.entries_in(crate::addr::VirtAddr::new(0), crate::addr::VirtAddr::new(crate::addr::TASK_SIZE));
            for e in all {
                if s.vmas.find(e.va).is_none() {
                    return Err(err(format!("{id:?}: entry {:?} at {:?} outside every VMA", e.pte, e.va)));
                }
            }
        }
        for (f, use_, rmap) in self.frames.iter() {
            let want: BTreeSet<(AsId, Page)> = rmap.iter().copied().collect();
            if want.len() != rmap.len() {
                return Err(err(format!("{f:?}: duplicate reverse-map entries {rmap:?}")));
            }
            let got = mapped.remove(&f).unwrap_or_default();
            if got != want {
                return Err(err(format!("{f:?} ({use_:?}): reverse map {want:?} but mapped by {got:?}")));
            }
            match use_ {
                FrameUse::Anon if rmap.is_empty() => return Err(err(format!("{f:?}: anonymous frame with no mapping (leaked)"))),
                FrameUse::Cache { obj, index } => match self.objects.get(obj) {
                    Some(o) if o.cached(index) == Some(f) => {}
                    _ => return Err(err(format!("{f:?}: cache frame of {obj:?}[{index}] not in that cache"))),
                },
                FrameUse::PageTable { .. } if !tables.contains(&f) => {
                    return Err(err(format!("{f:?}: page-table frame belongs to no table (leaked)")))
                }
                _ => {}
            }
        }
        if let Some((f, who)) = mapped.into_iter().next() {
            return Err(err(format!("{f:?} is mapped by {who:?} but is not an in-use pool frame")));
        }
        for (id, o) in self.objects.iter() {
            let size = o.size_pages();
            if let Some((i, _)) = o.cached_range(size, u64::MAX).first() {
                return Err(err(format!("{id:?}: cached page {i} beyond size {size} pages")));
            }
            if o.handles == 0 && !self.object_is_mapped(id) {
                return Err(err(format!("{id:?}: object with no handle and no mapping was not released")));
            }
        }
        Ok(())
    }

    /// A mapped entry of a nonlinear VMA: a page of the VMA's object, with
    /// hardware rights within the page's own protection (SOFT bits).
    fn check_nonlinear_entry(
        &self,
        id: AsId,
        v: &crate::vma::Vma,
        va: crate::addr::VirtAddr,
        frame: Frame,
        flags: PteFlags,
        present: bool,
    ) -> Result<(), String> {
        if self.frame_pgoff(v, frame).is_none() {
            return Err(format!("{id:?}: nonlinear entry at {va:?} maps {frame:?}, not a page of the VMA's object"));
        }
        let prot = crate::nonlinear::prot_of_soft(flags);
        if present {
            if prot.is_empty() {
                return Err(format!("{id:?}: present nonlinear entry at {va:?} whose page allows nothing"));
            }
            if flags.contains(PteFlags::WRITABLE) && !prot.contains(crate::vma::Prot::WRITE) {
                return Err(format!("{id:?}: writable nonlinear entry at {va:?} of a page without PROT_WRITE"));
            }
            if !flags.contains(PteFlags::NO_EXECUTE) && !prot.contains(crate::vma::Prot::EXEC) {
                return Err(format!("{id:?}: executable nonlinear entry at {va:?} of a page without PROT_EXEC"));
            }
        }
        Ok(())
    }
}
