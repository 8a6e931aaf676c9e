//! Faults in nonlinear VMAs: the page's own protection decides.
//!
//! Mirrors the pre-4.0 do_nonlinear_fault (a pte_file entry: read the page at
//! the offset the entry remembers) with the seed's per-page protection check
//! in place of access_error's VMA-wide one: an access the page's protection
//! forbids gets SIGSEGV (SEGV_ACCERR) whether the page is present, dropped to
//! a marker, or was never touched. No fault-around: neighbouring entries point
//! at unrelated offsets.

use super::{mapped_entry, NonlinearPage};
use crate::addr::VirtAddr;
use crate::engine::Engine;
use crate::fault::{AccessKind, FaultError, PageFault, Resolved};
use crate::memory::PhysMemory;
use crate::paging::{MarkerKind, PteFlags, PteKind, PteUpdates};
use crate::signal::SigFault;
use crate::space::AsId;
use crate::vma::{Prot, Vma};

/// access_error for one page with protection `prot`. x86 cannot express
/// write-only or exec-only pages: any right implies read, as for VMAs.
fn page_access_error(pf: &PageFault, prot: Prot) -> bool {
    match pf.access {
        AccessKind::Write => !prot.contains(Prot::WRITE),
        AccessKind::Exec => !prot.contains(Prot::EXEC),
        AccessKind::Read => prot.is_empty(),
    }
}

impl<M: PhysMemory> Engine<M> {
    /// Resolves a fault at `pf.addr` inside nonlinear `vma`.
    pub(crate) fn nonlinear_fault(&mut self, id: AsId, vma: &Vma, pf: PageFault, tlb: &mut PteUpdates) -> Result<Resolved, FaultError> {
        let va = pf.addr;
        let page = va.align_down();
        let pte = self.spaces.get(&id).ok_or(FaultError::NoSuchSpace(id))?.tables.get(page);
        let NonlinearPage { pgoff, prot, .. } = self.nonlinear_page(vma, page, pte);
        if page_access_error(&pf, prot) {
            return Err(FaultError::Signal(SigFault::segv_accerr(va)));
        }
        match pte.kind() {
            PteKind::Marker(m) if m.kind == MarkerKind::Guard => Err(FaultError::Signal(SigFault::segv_maperr(va))),
            PteKind::Marker(m) if m.kind == MarkerKind::Revoked => Err(FaultError::Signal(SigFault::bus_adrerr(va))),
            PteKind::Present { frame, flags } => {
                let want = mapped_entry(vma, frame, prot);
                if pf.access == AccessKind::Write && !flags.contains(PteFlags::WRITABLE) && want.flags().contains(PteFlags::WRITABLE) {
                    self.set_entry(id, page, want, tlb)?;
                    Ok(Resolved { pages: 1 })
                } else {
                    tlb.flush_page(id, page);
                    Ok(Resolved { pages: 0 })
                }
            }
            PteKind::ProtNone { frame, .. } => {
                // Left from a PROT_NONE period; the page allows the access now.
                self.set_entry(id, page, mapped_entry(vma, frame, prot), tlb)?;
                Ok(Resolved { pages: 1 })
            }
            PteKind::None | PteKind::Marker(_) => self.nonlinear_read_in(id, vma, va, pgoff, prot, tlb),
        }
    }

    /// Maps page `pgoff` of the VMA's object at `va`'s page with protection `prot`.
    fn nonlinear_read_in(
        &mut self,
        id: AsId,
        vma: &Vma,
        va: VirtAddr,
        pgoff: u64,
        prot: Prot,
        tlb: &mut PteUpdates,
    ) -> Result<Resolved, FaultError> {
        let obj = vma.object().ok_or(FaultError::Broken("a nonlinear VMA without an object"))?;
        let o = self.objects.get(obj).ok_or(FaultError::Signal(SigFault::bus_adrerr(va)))?;
        if o.is_revoked() || pgoff >= o.size_pages() {
            return Err(FaultError::Signal(SigFault::bus_adrerr(va)));
        }
        let page = va.align_down();
        let f = self.cache_page_reclaiming(obj, pgoff, Some(&mut *tlb))?;
        self.set_entry(id, page, mapped_entry(vma, f, prot), tlb)?;
        Ok(Resolved { pages: 1 })
    }
}
