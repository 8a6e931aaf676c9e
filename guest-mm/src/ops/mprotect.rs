//! mprotect: changing the protection of mappings.
//!
//! Mirrors mm/mprotect.c do_mprotect_pkey (checks, the VMA-by-VMA walk that
//! stops with ENOMEM at a hole or EACCES at a VMA whose VM_MAY* bits forbid
//! the change, leaving earlier VMAs changed, as Linux does), mprotect_fixup
//! (VM_ACCOUNT rules, vma_modify_flags: split and merge) and
//! change_protection (rewrite present entries; PROT_NONE keeps pages mapped as
//! PROTNONE entries; markers are untouched, so guard regions survive).

use crate::addr::VirtAddr;
use crate::engine::Engine;
use crate::errno::{Errno, SysResult};
use crate::fault::leaf_flags;
use crate::frames::FrameUse;
use crate::memory::PhysMemory;
use crate::paging::{Outcome, Pte, PteFlags, PteKind, PteUpdates};
use crate::space::AsId;
use crate::vma::{Prot, VmFlags, Vma};

impl<M: PhysMemory> Engine<M> {
    /// mprotect(2).
    pub fn mprotect(&mut self, id: AsId, start: u64, len: u64, prot: u64) -> Outcome<SysResult<()>> {
        let mut tlb = PteUpdates::new();
        let r = self.do_mprotect(id, start, len, prot, &mut tlb);
        Outcome::new(r, tlb)
    }

    fn do_mprotect(&mut self, id: AsId, start: u64, len: u64, prot: u64, tlb: &mut PteUpdates) -> SysResult<()> {
        let grows = prot & (Prot::GROWSDOWN | Prot::GROWSUP).bits();
        let prot = prot & !(Prot::GROWSDOWN | Prot::GROWSUP).bits();
        if grows == (Prot::GROWSDOWN | Prot::GROWSUP).bits() {
            return Err(Errno::EINVAL);
        }
        if !start.is_multiple_of(crate::addr::PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(());
        }
        let len = len.checked_add(crate::addr::PAGE_SIZE - 1).map(|l| l & !(crate::addr::PAGE_SIZE - 1)).unwrap_or(0);
        let end = start.wrapping_add(len);
        if len == 0 || end <= start {
            return Err(Errno::ENOMEM);
        }
        // arch_validate_prot: only READ, WRITE, EXEC (and PROT_SEM) are known.
        if prot & !(Prot::READ | Prot::WRITE | Prot::EXEC).bits() & !0x8 != 0 {
            return Err(Errno::EINVAL);
        }
        let prot = Prot::from_bits_truncate(prot) & (Prot::READ | Prot::WRITE | Prot::EXEC);
        let space = self.spaces.get(&id).ok_or(Errno::ESRCH)?;
        let (mut s, mut e) = (VirtAddr::new(start), VirtAddr::new(end));
        let first = space.vmas.find_from(s).filter(|v| v.start < e).cloned().ok_or(Errno::ENOMEM)?;
        if grows & Prot::GROWSDOWN.bits() != 0 {
            s = first.start;
            if !first.flags.contains(VmFlags::GROWSDOWN) {
                return Err(Errno::EINVAL);
            }
        } else {
            if first.start > s {
                return Err(Errno::ENOMEM);
            }
            if grows & Prot::GROWSUP.bits() != 0 {
                // x86 has no VM_GROWSUP.
                e = first.end;
                let _ = e;
                return Err(Errno::EINVAL);
            }
        }
        let mut at = s;
        while at < e {
            let Some(vma) = self.spaces[&id].vmas.find(at).cloned() else {
                return Err(Errno::ENOMEM);
            };
            let mut newflags = prot.vm_flags() | (vma.flags - VmFlags::ACCESS);
            // VM_MAY* bits are the access bits shifted up by four.
            let may = VmFlags::from_bits_truncate((newflags.bits() >> 4) & VmFlags::ACCESS.bits());
            if !(newflags & VmFlags::ACCESS).difference(may).is_empty() {
                return Err(Errno::EACCES);
            }
            let piece_end = vma.end.min(e);
            self.mprotect_fixup(id, &vma, at, piece_end, &mut newflags, tlb)?;
            at = piece_end;
        }
        Ok(())
    }

    /// mprotect_fixup for `[start, end)` of `vma`.
    fn mprotect_fixup(
        &mut self,
        id: AsId,
        vma: &Vma,
        start: VirtAddr,
        end: VirtAddr,
        newflags: &mut VmFlags,
        tlb: &mut PteUpdates,
    ) -> SysResult<()> {
        // A sealed VMA refuses even a change to what it already has (ops::mseal).
        if vma.is_sealed() {
            return Err(Errno::EPERM);
        }
        let old = vma.flags;
        if *newflags == old {
            if old.contains(VmFlags::NONLINEAR) {
                // Same VMA flags, but per-page protections in the range are
                // still reset to them (docs/nonlinear.md).
                self.nonlinear_change_protection(id, vma, start, end, tlb);
            }
            return Ok(());
        }
        if newflags.contains(VmFlags::WRITE) && !old.intersects(VmFlags::ACCOUNT | VmFlags::WRITE | VmFlags::SHARED | VmFlags::NORESERVE) {
            // The private mapping becomes writable: it is charged now.
            self.vm_enough_memory(end.distance_from(start) / crate::addr::PAGE_SIZE)?;
        }
        // vma_modify_flags: splitting may fail at the map count limit.
        self.split_room(id, vma, start, end)?;
        if newflags.contains(VmFlags::WRITE) {
            if !old.intersects(VmFlags::ACCOUNT | VmFlags::WRITE | VmFlags::SHARED | VmFlags::NORESERVE) {
                *newflags |= VmFlags::ACCOUNT;
            }
        } else if old.contains(VmFlags::ACCOUNT) && vma.is_anonymous() && vma.anon.is_none() {
            newflags.remove(VmFlags::ACCOUNT);
        }
        let nf = *newflags;
        self.spaces.get_mut(&id).expect("checked").vmas.modify(start, end, |v| v.flags = nf);
        let updated = self.spaces[&id].vmas.find(start).cloned().expect("just modified");
        self.change_protection(id, &updated, start, end, tlb);
        // A private locked VMA becoming writable is populated for writing now.
        // (populate_vma_page_range does nothing for VM_LOCKONFAULT.)
        if old & (VmFlags::WRITE | VmFlags::SHARED | VmFlags::LOCKED) == VmFlags::LOCKED
            && nf.contains(VmFlags::WRITE)
            && !nf.contains(VmFlags::LOCKONFAULT)
        {
            let _ = self.populate_pages(id, start, end, true, tlb);
        }
        Ok(())
    }

    /// change_protection: rewrites the entries of `[start, end)` for `vma`'s flags.
    pub(crate) fn change_protection(&mut self, id: AsId, vma: &Vma, start: VirtAddr, end: VirtAddr, tlb: &mut PteUpdates) {
        if vma.flags.contains(VmFlags::NONLINEAR) {
            return self.nonlinear_change_protection(id, vma, start, end, tlb);
        }
        let entries = self.spaces[&id].tables.entries_in(start, end);
        for e in entries {
            let (frame, old_flags) = match e.pte.kind() {
                PteKind::Present { frame, flags } | PteKind::ProtNone { frame, flags } => (frame, flags),
                _ => continue,
            };
            let new = if !vma.flags.is_accessible() {
                Pte::protnone(frame, old_flags)
            } else {
                let writable = vma.flags.contains(VmFlags::WRITE) && self.can_write_in_place(vma, frame, e.pte);
                let mut f = leaf_flags(vma.flags, writable);
                if !writable {
                    f.remove(PteFlags::DIRTY);
                    f |= old_flags & PteFlags::DIRTY;
                }
                Pte::present(frame, f)
            };
            if new != e.pte {
                let _ = self.set_entry(id, e.va, new, tlb);
            }
        }
    }

    /// Whether a page may be mapped writable without a fault: shared
    /// mappings always, private ones only for an exclusive anonymous page
    /// (can_change_pte_writable).
    fn can_write_in_place(&self, vma: &Vma, frame: crate::addr::Frame, _old: Pte) -> bool {
        if vma.is_shared() {
            return true;
        }
        self.frames.use_of(frame) == Some(FrameUse::Anon) && self.frames.mapcount(frame) == 1
    }
}
