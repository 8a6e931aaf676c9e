//! Page-fault resolution.
//!
//! Owns the decision for every user page fault: map something (demand-zero,
//! the zero page, a page-cache page, a COW copy, a device frame), or answer
//! with the signal Linux would send. Mirrors arch/x86/mm/fault.c
//! (do_user_addr_fault, access_error: SEGV_MAPERR vs SEGV_ACCERR) and
//! mm/memory.c (handle_pte_fault, do_anonymous_page, do_read_fault with
//! do_fault_around, do_cow_fault, do_shared_fault, do_wp_page, PTE markers).
//!
//! Batching: an anonymous fault populates an aligned block of
//! `FaultAround::anon_pages` (like an anonymous mTHP), and a file read fault
//! maps up to `file_pages` cached pages around it. Entries are made with the
//! Accessed bit set so KVM's shadow MMU prefetches neighbours on the retry,
//! which is what turns one exit into several mapped pages.

use crate::addr::{Frame, VirtAddr, PAGE_SIZE, TASK_SIZE};
use crate::engine::Engine;
use crate::frames::{FrameUse, OutOfFrames};
use crate::mapping;
use crate::memory::PhysMemory;
use crate::objects::ObjectId;
use crate::paging::{Ctx, MarkerKind, Outcome, PagingError, Pte, PteFlags, PteKind, PteUpdates};
use crate::signal::SigFault;
use crate::space::AsId;
use crate::vma::{anon_compatible, AnonRef, VmFlags, Vma};

/// Spurious faults in a row on one page after which the engine asks for a
/// shadow flush (one is normal: a TLB entry older than a change; its flush
/// follows with the fault's updates).
pub const SPURIOUS_BEFORE_FLUSH: u32 = 3;

/// The kind of access that faulted.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AccessKind {
    Read,
    Write,
    /// An instruction fetch.
    Exec,
}

/// A page fault as the CPU reported it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PageFault {
    /// CR2: the faulting address.
    pub addr: VirtAddr,
    pub access: AccessKind,
    /// Error-code bit P: the fault hit a present entry (a protection fault).
    pub present: bool,
}

impl PageFault {
    /// Decodes an x86 #PF error code (bit 0 P, bit 1 W, bit 4 I).
    pub fn from_error_code(addr: VirtAddr, code: u64) -> Self {
        let access = if code & 0x10 != 0 {
            AccessKind::Exec
        } else if code & 0x2 != 0 {
            AccessKind::Write
        } else {
            AccessKind::Read
        };
        PageFault { addr, access, present: code & 1 != 0 }
    }
}

/// A fault the engine did not resolve.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// The process gets this signal (Linux's answer).
    #[error("{0}")]
    Signal(SigFault),
    /// The pool has no frame left; Linux would invoke the OOM killer.
    #[error(transparent)]
    OutOfMemory(#[from] OutOfFrames),
    #[error("no address space {0:?}")]
    NoSuchSpace(AsId),
    #[error(transparent)]
    Internal(PagingError),
    #[error("engine state is inconsistent: {0}")]
    Broken(&'static str),
}

impl From<PagingError> for FaultError {
    fn from(e: PagingError) -> Self {
        match e {
            PagingError::OutOfFrames(o) => FaultError::OutOfMemory(o),
            e => FaultError::Internal(e),
        }
    }
}

/// A resolved fault.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// Pages newly mapped (0 for a spurious fault).
    pub pages: u32,
}

/// Leaf-table boundaries: fault-around never crosses one.
const TABLE_SPAN: u64 = 512 * PAGE_SIZE;

/// Hardware flags for a user page of a VMA (vm_get_page_prot).
pub(crate) fn leaf_flags(vm: VmFlags, writable: bool) -> PteFlags {
    let mut f = PteFlags::USER | PteFlags::ACCESSED;
    if writable {
        f |= PteFlags::WRITABLE | PteFlags::DIRTY;
    }
    if !vm.contains(VmFlags::EXEC) {
        f |= PteFlags::NO_EXECUTE;
    }
    f
}

/// Linux's access_error().
fn access_error(pf: &PageFault, vma: &Vma) -> bool {
    match pf.access {
        AccessKind::Write => !vma.flags.contains(VmFlags::WRITE),
        AccessKind::Read | AccessKind::Exec => pf.present || !vma.flags.is_accessible(),
    }
}

impl<M: PhysMemory> Engine<M> {
    /// Resolves a user page fault in space `id`, or says which signal it deserves.
    pub fn handle_fault(&mut self, id: AsId, pf: PageFault) -> Outcome<Result<Resolved, FaultError>> {
        let mut tlb = PteUpdates::new();
        let r = self.fault_in(id, pf, &mut tlb);
        let mut stale = false;
        if let Some(s) = self.spaces.get_mut(&id) {
            // A fault on a page whose entry already allows the access is
            // spurious: the MMU had a stale translation, which the flush
            // queued for it ends. The same page faulting spuriously again and
            // again means something else holds the stale one: on this host,
            // KVM's shadow of a table (../shared/HOST-FACTS.md), so drop all
            // shadows rather than let the guest spin.
            let page = pf.addr.align_down();
            s.spurious = match (&r, s.spurious) {
                (Ok(res), Some((p, n))) if res.pages == 0 && p == page => Some((page, n + 1)),
                (Ok(res), _) if res.pages == 0 => Some((page, 1)),
                _ => None,
            };
            if s.spurious.is_some_and(|(_, n)| n >= SPURIOUS_BEFORE_FLUSH) {
                s.spurious = None;
                stale = true;
            }
            match &r {
                Ok(res) => {
                    s.stats.faults += 1;
                    s.stats.pages_faulted += res.pages as u64;
                }
                Err(FaultError::Signal(_)) => s.stats.signals += 1,
                Err(_) => {}
            }
        }
        if stale {
            self.frames.request_shadow_flush();
        }
        Outcome::new(r, tlb)
    }

    pub(crate) fn fault_in(&mut self, id: AsId, pf: PageFault, tlb: &mut PteUpdates) -> Result<Resolved, FaultError> {
        let va = pf.addr;
        if va.as_u64() >= TASK_SIZE {
            return Err(FaultError::Signal(SigFault::segv_maperr(va)));
        }
        let space = self.spaces.get(&id).ok_or(FaultError::NoSuchSpace(id))?;
        let vma = match space.vmas.find(va).cloned() {
            Some(v) => v,
            // lock_mm_and_find_vma: below a stack, grow it (ops::stack).
            None => self.grow_stack_for_fault(id, va).ok_or(FaultError::Signal(SigFault::segv_maperr(va)))?,
        };
        let space = &self.spaces[&id];
        if vma.flags.contains(VmFlags::NONLINEAR) {
            // Each page has its own offset and protection (nonlinear::fault).
            return self.nonlinear_fault(id, &vma, pf, tlb);
        }
        if access_error(&pf, &vma) {
            return Err(FaultError::Signal(SigFault::segv_accerr(va)));
        }
        let page = va.align_down();
        let pte = space.tables.get(page);
        let write = pf.access == AccessKind::Write;
        match pte.kind() {
            PteKind::Marker(m) => match m.kind {
                MarkerKind::Guard => Err(FaultError::Signal(SigFault::segv_maperr(va))),
                MarkerKind::Revoked => Err(FaultError::Signal(SigFault::bus_adrerr(va))),
                MarkerKind::OffsetOnly => {
                    let (index, _) = m.nonlinear.expect("decoded OffsetOnly always carries an offset");
                    self.do_fault(id, &vma, va, index, write, tlb)
                }
            },
            PteKind::None => {
                if vma.is_anonymous() {
                    self.do_anonymous(id, &vma, va, write, tlb)
                } else {
                    self.do_fault(id, &vma, va, vma.pgoff_of(va), write, tlb)
                }
            }
            PteKind::ProtNone { frame, .. } => {
                // The VMA is accessible now (access_error passed): the entry is
                // left from a PROT_NONE period; map the page with today's rights.
                let flags = leaf_flags(vma.flags, vma.is_shared() && vma.flags.contains(VmFlags::WRITE));
                self.set_entry(id, page, Pte::present(frame, flags), tlb)?;
                Ok(Resolved { pages: 1 })
            }
            PteKind::Present { frame, flags } => {
                if write && !flags.contains(PteFlags::WRITABLE) {
                    self.do_wp_page(id, &vma, page, frame, tlb)
                } else {
                    // Spurious: the entry already allows the access (a stale
                    // translation). Make sure the TLB forgets the old one.
                    tlb.flush_page(id, page);
                    Ok(Resolved { pages: 0 })
                }
            }
        }
    }

    /// Writes one entry through the mapping layer.
    pub(crate) fn set_entry(&mut self, id: AsId, va: VirtAddr, pte: Pte, tlb: &mut PteUpdates) -> Result<Pte, PagingError> {
        let space = self.spaces.get_mut(&id).expect("caller checked the space");
        let mut cx = Ctx { mem: &self.mem, frames: &mut self.frames, tlb };
        mapping::replace(&mut space.tables, va, pte, &mut cx)
    }

    /// The aligned block of `n` pages around `va`, clipped to the VMA and to the leaf table.
    fn around(vma: &Vma, va: VirtAddr, n: u32) -> (VirtAddr, VirtAddr) {
        let n = (n.max(1) as u64).next_power_of_two();
        let bytes = n * PAGE_SIZE;
        let lo = (va.as_u64() & !(bytes - 1)).max(vma.start.as_u64()).max(va.as_u64() & !(TABLE_SPAN - 1));
        let hi = ((va.as_u64() & !(bytes - 1)) + bytes).min(vma.end.as_u64()).min((va.as_u64() & !(TABLE_SPAN - 1)) + TABLE_SPAN);
        (VirtAddr::new(lo), VirtAddr::new(hi))
    }

    /// do_anonymous_page: the zero page for reads, fresh zeroed frames for writes.
    fn do_anonymous(&mut self, id: AsId, vma: &Vma, va: VirtAddr, write: bool, tlb: &mut PteUpdates) -> Result<Resolved, FaultError> {
        let (lo, hi) = Self::around(vma, va, self.config.fault_around.anon_pages);
        let zero = self.frames.zero_frame();
        let target = va.align_down();
        let mut mapped = 0u32;
        if write {
            self.anon_vma_prepare(id, vma.start);
        }
        let mut p = lo;
        while p < hi {
            // The faulting entry is empty (we came here for that); neighbours
            // are filled only where nothing is mapped yet.
            if p == target || self.spaces[&id].tables.get(p).is_none() {
                let pte = if write {
                    let f = self.alloc_data_reclaiming(FrameUse::Anon, Some(&mut *tlb))?;
                    self.mem.zero_frame(f).map_err(|e| FaultError::Internal(e.into()))?;
                    Pte::present(f, leaf_flags(vma.flags, true))
                } else {
                    Pte::present(zero, leaf_flags(vma.flags, false))
                };
                self.set_entry(id, p, pte, tlb)?;
                mapped += 1;
            }
            p = p.add(PAGE_SIZE);
        }
        Ok(Resolved { pages: mapped })
    }

    /// anon_vma_prepare: gives the VMA an anon_vma, reusing a compatible
    /// neighbour's (next first, then prev) as find_mergeable_anon_vma does.
    pub(crate) fn anon_vma_prepare(&mut self, id: AsId, vma_start: VirtAddr) {
        let space = &self.spaces[&id];
        let Some(vma) = space.vmas.find(vma_start).cloned() else {
            return;
        };
        if vma.anon.is_some() {
            return;
        }
        let reusable = |n: &Vma| n.anon.filter(|a| !a.forked);
        let from_next = space.vmas.next_of(vma.end).filter(|n| anon_compatible(&vma, n)).and_then(reusable);
        let from_prev = || space.vmas.prev_of(vma.start).filter(|p| anon_compatible(p, &vma)).and_then(reusable);
        let anon = match from_next.or_else(from_prev) {
            Some(a) => a,
            None => AnonRef { id: self.new_anon_vma(), forked: false },
        };
        if let Some(v) = self.spaces.get_mut(&id).and_then(|s| s.vmas.get_mut(vma.start)) {
            v.anon = Some(anon);
        }
    }

    /// The page-cache frame of page `index` of `obj`, reading it in if needed
    /// (reclaiming only unmapped clean pages if the pool is empty).
    pub(crate) fn cache_page(&mut self, obj: ObjectId, index: u64) -> Result<Frame, FaultError> {
        self.cache_page_reclaiming(obj, index, None)
    }

    /// __do_fault and friends: a fault on a page of an object.
    fn do_fault(
        &mut self,
        id: AsId,
        vma: &Vma,
        va: VirtAddr,
        index: u64,
        write: bool,
        tlb: &mut PteUpdates,
    ) -> Result<Resolved, FaultError> {
        let obj = vma.object().expect("do_fault is for object-backed VMAs");
        let shared = vma.is_shared();
        if write && !shared {
            // do_cow_fault prepares the anon_vma before __do_fault looks at
            // the page, so a write beyond the end of file gives the VMA one
            // too (which changes what it may merge with; mlock-merge-after-
            // sigbus.scn, found by the page model's own VMA boundaries).
            self.anon_vma_prepare(id, vma.start);
        }
        let o = self.objects.get(obj).ok_or(FaultError::Signal(SigFault::bus_adrerr(va)))?;
        if o.is_revoked() || index >= o.size_pages() {
            return Err(FaultError::Signal(SigFault::bus_adrerr(va)));
        }
        let page = va.align_down();
        if write && !shared {
            // do_cow_fault: a private copy of the object's page.
            // The copy's frame first: reclaim for it must not take the source.
            let f = self.alloc_data_reclaiming(FrameUse::Anon, Some(&mut *tlb))?;
            let src = match self.cache_page_reclaiming(obj, index, Some(&mut *tlb)) {
                Ok(src) => src,
                Err(e) => {
                    self.frames.free_data(f);
                    return Err(e);
                }
            };
            self.mem.copy_frame(src, f).map_err(|e| FaultError::Internal(e.into()))?;
            self.set_entry(id, page, Pte::present(f, leaf_flags(vma.flags, true)), tlb)?;
            return Ok(Resolved { pages: 1 });
        }
        let f = self.cache_page_reclaiming(obj, index, Some(&mut *tlb))?;
        let writable = shared && vma.flags.contains(VmFlags::WRITE);
        self.set_entry(id, page, Pte::present(f, leaf_flags(vma.flags, writable)), tlb)?;
        let mut mapped = 1;
        if !write && !vma.flags.contains(VmFlags::NONLINEAR) {
            mapped += self.fault_around(id, vma, va, tlb)?;
        }
        Ok(Resolved { pages: mapped })
    }

    /// do_fault_around's window: from the fault's PTE index aligned down to
    /// `n` (but not before the VMA or the table), `n` pages on, clipped to the
    /// VMA and the table.
    fn fault_around_window(vma: &Vma, va: VirtAddr, n: u32) -> (VirtAddr, VirtAddr) {
        let bytes = (n.max(1) as u64).next_power_of_two() * PAGE_SIZE;
        let table = va.as_u64() & !(TABLE_SPAN - 1);
        let lo = (va.as_u64() & !(bytes - 1)).max(vma.start.as_u64()).max(table);
        let hi = (lo + bytes).min(vma.end.as_u64()).min(table + TABLE_SPAN);
        (VirtAddr::new(lo), VirtAddr::new(hi))
    }

    /// do_fault_around: maps neighbouring pages of the object that are in the
    /// page cache (files are read ahead into it first), never crossing the VMA,
    /// the leaf table, or end of file, and only over empty entries.
    fn fault_around(&mut self, id: AsId, vma: &Vma, va: VirtAddr, tlb: &mut PteUpdates) -> Result<u32, FaultError> {
        let n = self.config.fault_around.file_pages;
        if n <= 1 {
            return Ok(0);
        }
        let obj = vma.object().expect("object-backed");
        let (lo, hi) = Self::fault_around_window(vma, va, n);
        let size_pages = self.objects.get(obj).map_or(0, |o| o.size_pages());
        let readahead = self.objects.get(obj).is_some_and(|o| matches!(o.kind, crate::objects::ObjectKind::File { .. }));
        let writable = vma.is_shared() && vma.flags.contains(VmFlags::WRITE);
        let mut mapped = 0;
        let mut p = lo;
        while p < hi {
            let index = vma.pgoff_of(p);
            if p != va.align_down() && index < size_pages && self.spaces[&id].tables.get(p).is_none() {
                let cached = self.objects.get(obj).and_then(|o| o.cached(index).or_else(|| o.device_frame(index)));
                let f = match cached {
                    Some(f) => Some(f),
                    None if readahead => Some(self.cache_page(obj, index)?),
                    None => None,
                };
                if let Some(f) = f {
                    self.set_entry(id, p, Pte::present(f, leaf_flags(vma.flags, writable)), tlb)?;
                    mapped += 1;
                }
            }
            p = p.add(PAGE_SIZE);
        }
        Ok(mapped)
    }

    /// do_wp_page: a write to a present read-only entry of a writable VMA.
    fn do_wp_page(&mut self, id: AsId, vma: &Vma, page: VirtAddr, frame: Frame, tlb: &mut PteUpdates) -> Result<Resolved, FaultError> {
        let flags = leaf_flags(vma.flags, true);
        if vma.is_shared() {
            self.set_entry(id, page, Pte::present(frame, flags), tlb)?;
            return Ok(Resolved { pages: 1 });
        }
        let exclusive_anon = self.frames.use_of(frame) == Some(FrameUse::Anon) && self.frames.mapcount(frame) == 1;
        if exclusive_anon {
            // wp_can_reuse_anon_folio: nobody else maps it, reuse in place.
            self.set_entry(id, page, Pte::present(frame, flags), tlb)?;
            return Ok(Resolved { pages: 1 });
        }
        self.anon_vma_prepare(id, vma.start);
        // No batch: reclaim may then take only unmapped pages, never `frame`.
        let f = self.alloc_data_reclaiming(FrameUse::Anon, None)?;
        if frame == self.frames.zero_frame() {
            self.mem.zero_frame(f).map_err(|e| FaultError::Internal(e.into()))?;
        } else {
            self.mem.copy_frame(frame, f).map_err(|e| FaultError::Internal(e.into()))?;
            if let Some(s) = self.spaces.get_mut(&id) {
                s.stats.cow_copies += 1;
            }
        }
        self.set_entry(id, page, Pte::present(f, flags), tlb)?;
        Ok(Resolved { pages: 1 })
    }
}
