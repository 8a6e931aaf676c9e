//! True nonlinear file mappings with per-page protection (seed 000).
//!
//! Owns what an entry of a nonlinear VMA (VM_NONLINEAR, which only mmap with
//! our MAP_PAGEPROT creates) means, and the operations that must keep that
//! meaning when a page leaves memory. Mirrors the pre-4.0 Linux design
//! (mm/fremap.c, pte_file entries, zap_pte keeping the offset) plus the
//! seed's per-page protection, not today's emulation (see `remap` and
//! docs/nonlinear.md for which path a call takes).
//!
//! What an entry of a nonlinear VMA stands for (page offset, protection):
//! - none: the linear offset (`vma.pgoff_of(va)`) with the VMA's protection;
//! - a marker with `HAS_PGOFF` (OffsetOnly, Guard or Revoked): the offset and
//!   protection it carries;
//! - present or PROTNONE: the frame's page of the object, protection in the
//!   SOFT_READ/WRITE/EXEC bits (hardware bits are derived from them).
//!
//! Invariants (checked by `check_invariants`): every present or PROTNONE
//! entry of a nonlinear VMA maps a page of the VMA's own object and its
//! hardware rights never exceed its SOFT bits; a page whose protection
//! allows nothing is PROTNONE, never present. Entries of other VMAs never
//! carry an offset or SOFT bits. Dropping a page (DONTNEED, reclaim,
//! truncation, guard install) turns it into a marker with its offset and
//! protection, never into none, so where it points and what it allows
//! survive.

pub mod fault;
pub mod remap;

use crate::addr::{Frame, VirtAddr};
use crate::engine::Engine;
use crate::fault::leaf_flags;
use crate::frames::FrameUse;
use crate::memory::PhysMemory;
use crate::objects::ObjectKind;
use crate::paging::{Marker, MarkerKind, PageProt, Pte, PteFlags, PteKind};
use crate::space::AsId;
use crate::vma::{Prot, VmFlags, Vma};

/// SOFT_READ/WRITE/EXEC sit at bits 9..11 in PROT_READ/WRITE/EXEC order.
const SOFT_SHIFT: u32 = 9;
const RWX: Prot = Prot::READ.union(Prot::WRITE).union(Prot::EXEC);

/// The SOFT_* bits of a present or PROTNONE entry for `prot`.
pub(crate) fn soft_bits(prot: Prot) -> PteFlags {
    PteFlags::from_bits_truncate((prot & RWX).bits() << SOFT_SHIFT)
}

/// The protection recorded in an entry's SOFT_* bits.
pub(crate) fn prot_of_soft(flags: PteFlags) -> Prot {
    Prot::from_bits_truncate(flags.bits() >> SOFT_SHIFT) & RWX
}

pub(crate) fn page_prot(p: Prot) -> PageProt {
    PageProt((p & RWX).bits() as u8)
}

pub(crate) fn prot_of_page(p: PageProt) -> Prot {
    Prot::from_bits_truncate(p.0 as u64) & RWX
}

/// The entry that maps `frame` for a nonlinear page with protection `prot`:
/// present with hardware rights derived from `prot` (writes only in a shared
/// VMA, which every nonlinear VMA is), or PROTNONE when `prot` allows nothing.
pub(crate) fn mapped_entry(vma: &Vma, frame: Frame, prot: Prot) -> Pte {
    let soft = soft_bits(prot);
    if prot.is_empty() {
        return Pte::protnone(frame, soft);
    }
    let writable = vma.is_shared() && prot.contains(Prot::WRITE);
    Pte::present(frame, leaf_flags(prot.vm_flags(), writable) | soft)
}

/// The marker that remembers a page of a nonlinear VMA that is not in memory.
pub(crate) fn offset_marker(kind: MarkerKind, pgoff: u64, prot: Prot) -> Pte {
    Pte::marker(Marker { kind, nonlinear: Some((pgoff, page_prot(prot))) })
}

/// The VMA's own protection as a `Prot`.
pub(crate) fn vma_prot(vma: &Vma) -> Prot {
    Prot::from_vm(vma.flags)
}

/// Whether `vma` is a true nonlinear mapping.
pub fn is_nonlinear(vma: &Vma) -> bool {
    vma.flags.contains(VmFlags::NONLINEAR)
}

/// What one page of a nonlinear VMA stands for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct NonlinearPage {
    /// Page offset in the object.
    pub pgoff: u64,
    /// The page's own protection.
    pub prot: Prot,
    /// Whether a frame is mapped (present or PROTNONE).
    pub mapped: bool,
}

impl<M: PhysMemory> Engine<M> {
    /// The object page offset of `frame` as mapped by a VMA of `vma`'s object.
    pub(crate) fn frame_pgoff(&self, vma: &Vma, frame: Frame) -> Option<u64> {
        let obj = vma.object()?;
        match self.frames.use_of(frame) {
            Some(FrameUse::Cache { obj: o, index }) if o == obj => Some(index),
            Some(_) => None,
            None => match self.objects.get(obj)?.kind {
                ObjectKind::Device { base, pages, .. } => {
                    let i = frame.number().checked_sub(base.number())?;
                    (i < pages).then_some(i)
                }
                _ => None,
            },
        }
    }

    /// The offset and protection entry `pte` at `va` of nonlinear `vma` stands for.
    pub(crate) fn nonlinear_page(&self, vma: &Vma, va: VirtAddr, pte: Pte) -> NonlinearPage {
        let linear = NonlinearPage { pgoff: vma.pgoff_of(va), prot: vma_prot(vma), mapped: false };
        match pte.kind() {
            PteKind::None => linear,
            PteKind::Marker(m) => match m.nonlinear {
                Some((pgoff, p)) => NonlinearPage { pgoff, prot: prot_of_page(p), mapped: false },
                None => linear,
            },
            PteKind::Present { frame, flags } | PteKind::ProtNone { frame, flags } => {
                NonlinearPage { pgoff: self.frame_pgoff(vma, frame).unwrap_or(linear.pgoff), prot: prot_of_soft(flags), mapped: true }
            }
        }
    }

    /// The pages of `[start, end)` of a nonlinear VMA in space `id`: offset
    /// and protection of each (the per-page view pagemap reports).
    pub fn nonlinear_pages(&self, id: AsId, start: VirtAddr, end: VirtAddr) -> Vec<Option<NonlinearPage>> {
        let Some(space) = self.spaces.get(&id) else { return Vec::new() };
        let mut out = Vec::new();
        let mut va = start.align_down();
        while va < end {
            let page = space.vmas.find(va).filter(|v| is_nonlinear(v)).map(|v| self.nonlinear_page(v, va, space.tables.get(va)));
            out.push(page);
            va = va.add(crate::addr::PAGE_SIZE);
        }
        out
    }

    /// The entry that replaces a mapped page of a nonlinear VMA when the page
    /// leaves memory: an OffsetOnly marker with its offset and protection.
    pub(crate) fn dropped_entry(&self, vma: &Vma, va: VirtAddr, pte: Pte) -> Pte {
        let p = self.nonlinear_page(vma, va, pte);
        offset_marker(MarkerKind::OffsetOnly, p.pgoff, p.prot)
    }

    /// MADV_DONTNEED (and other page drops) on `[start, end)` of a nonlinear
    /// VMA: mapped pages become offset markers; markers and none stay.
    pub(crate) fn nonlinear_zap(
        &mut self,
        id: AsId,
        vma: &Vma,
        start: VirtAddr,
        end: VirtAddr,
        tlb: &mut crate::paging::PteUpdates,
    ) -> crate::errno::SysResult<()> {
        let entries = self.spaces.get(&id).ok_or(crate::errno::Errno::ESRCH)?.tables.entries_in(start, end);
        for e in entries {
            if e.pte.maps_frame() {
                let m = self.dropped_entry(vma, e.va, e.pte);
                self.set_entry(id, e.va, m, tlb).map_err(|_| crate::errno::Errno::ENOMEM)?;
            }
        }
        Ok(())
    }

    /// change_protection for a nonlinear VMA (our mprotect rule, see
    /// docs/nonlinear.md): every page in `[start, end)` takes the VMA's new
    /// protection; per-page protections there are replaced, offsets kept.
    pub(crate) fn nonlinear_change_protection(
        &mut self,
        id: AsId,
        vma: &Vma,
        start: VirtAddr,
        end: VirtAddr,
        tlb: &mut crate::paging::PteUpdates,
    ) {
        let prot = vma_prot(vma);
        let entries = self.spaces[&id].tables.entries_in(start, end);
        for e in entries {
            let new = match e.pte.kind() {
                PteKind::None => continue,
                PteKind::Marker(m) => match m.nonlinear {
                    Some((pgoff, _)) => offset_marker(m.kind, pgoff, prot),
                    None => continue,
                },
                PteKind::Present { frame, .. } | PteKind::ProtNone { frame, .. } => mapped_entry(vma, frame, prot),
            };
            if new != e.pte {
                let _ = self.set_entry(id, e.va, new, tlb);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_bits_follow_prot_bits_and_round_trip() {
        assert_eq!(soft_bits(Prot::READ), PteFlags::SOFT_READ);
        assert_eq!(soft_bits(Prot::WRITE), PteFlags::SOFT_WRITE);
        assert_eq!(soft_bits(Prot::EXEC), PteFlags::SOFT_EXEC);
        for bits in 0..8 {
            let p = Prot::from_bits_truncate(bits);
            assert_eq!(prot_of_soft(soft_bits(p) | PteFlags::PRESENT | PteFlags::WRITABLE), p);
        }
    }
}
