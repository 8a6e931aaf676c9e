//! A model of the guest MMU, for tests: KVM's shadow paging as
//! ../shared/HOST-FACTS.md measured it on our host, a hardware TLB as on bare
//! metal or KVM with EPT/NPT, or both at once (the default).
//!
//! Owns nothing of the engine; it only reads (and, for guest stores, writes)
//! guest RAM. Two caches, each enabled by the [`MmuModel`]:
//!
//! Shadow entries (KVM shadow paging, this host). The model caches every
//! present entry it walks, keyed by (table frame, slot), the way KVM keeps
//! shadow entries per guest page-table page:
//! - a host write to an entry the model has cached is NOT seen;
//! - a host write to an entry it has not cached (not present before) is seen;
//! - a guest store (what the shim does for an update batch) drops the cached
//!   entry of that slot, so the next walk reads the new value;
//! - nothing else (no invlpg, no CR3 reload) drops cached entries, and cached
//!   entries of a table frame outlive its use as a table.
//!
//! A hardware TLB (bare metal; VMX with EPT, SVM with NPT), one per CPU: walks
//! read guest RAM, so host writes are seen by the walk, but a walk's result
//! is kept until the CPU is told to forget it, as the SDM (vol. 3, 4.10)
//! allows:
//! - leaf translations per virtual page (frame and rights), and the
//!   paging-structure caches (an upper-level entry's next table and rights,
//!   per address prefix); not-present entries are never cached;
//! - `invlpg` drops the page's translation and every paging-structure entry;
//!   a CR3 load (a switch of address space, or a reload) drops everything
//!   (no PCIDs, no global user pages: as the VMM sets up the guest);
//! - a page fault drops what was cached for the faulting address (so a stale
//!   entry with fewer rights than the tables heals by faulting once, the
//!   "spurious fault" Linux also relies on);
//! - nothing else does: a stale translation with *more* rights than the
//!   tables, or to a frame the tables no longer map, keeps working.
//!
//! On this host a dropped flush is invisible (shadow paging keeps
//! translations coherent by itself, HOST-FACTS); on EPT/NPT hosts the flush is
//! what makes a batch correct. So tests run `MmuModel::Both` by default: a
//! change reaches ring 3 only when its batch has both the guest store and the
//! flush, which is what the engine must produce to be right on every host.
//!
//! `SimCpu` runs accesses the way a guest program would: load CR3 for the
//! space, translate, and on a fault ask the engine, apply its batch as the
//! shim would, and retry. Tests built on it fail if an engine path forgets a
//! store or a flush, or reuses a table frame without cleaning its stale shadow.

use crate::addr::{Frame, PhysAddr, VirtAddr};
use crate::engine::Engine;
use crate::fault::{AccessKind, FaultError, PageFault};
use crate::memory::PhysMemory;
use crate::paging::{PteFlags, PteUpdates};
use crate::signal::SigFault;
use crate::space::AsId;
use std::collections::HashMap;

/// A simulated #PF.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MmuFault {
    pub present: bool,
}

/// Which MMU the model is.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum MmuModel {
    /// KVM shadow paging as on this host: stale shadow entries until a guest
    /// store; flushes change nothing.
    KvmShadow,
    /// A hardware TLB (bare metal, EPT/NPT): walks see host writes; cached
    /// translations stay until invlpg, a CR3 load or a fault at the address.
    Hardware,
    /// Both caches: what a batch must satisfy to be correct on every host.
    #[default]
    Both,
}

impl MmuModel {
    fn shadows(self) -> bool {
        matches!(self, MmuModel::KvmShadow | MmuModel::Both)
    }
    fn has_tlb(self) -> bool {
        matches!(self, MmuModel::Hardware | MmuModel::Both)
    }
}

/// A cached walk result: where the next level (or the page) is, and the
/// rights accumulated down to it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Cached {
    frame: Frame,
    writable: bool,
    exec: bool,
}

/// One CPU's TLB and paging-structure caches (see the module header).
#[derive(Clone, Debug, Default)]
pub struct Tlb {
    /// Leaf translations by virtual page number.
    pages: HashMap<u64, Cached>,
    /// Upper-level entries by (level of the entry, address prefix it covers).
    upper: HashMap<(u32, u64), Cached>,
}

/// The address bits an entry at `level` translates: the key of its cache.
fn prefix(va: VirtAddr, level: u32) -> u64 {
    va.as_u64() >> (12 + 9 * (level - 1))
}

impl Tlb {
    /// `invlpg va`: the page's translation and every paging-structure entry go.
    pub fn invlpg(&mut self, va: VirtAddr) {
        self.pages.remove(&prefix(va, 1));
        self.upper.clear();
    }

    /// A CR3 load: everything goes.
    pub fn flush_all(&mut self) {
        self.pages.clear();
        self.upper.clear();
    }

    /// A page fault at `va` drops what was cached for that address.
    fn fault_at(&mut self, va: VirtAddr) {
        self.pages.remove(&prefix(va, 1));
        for level in 2..=4 {
            self.upper.remove(&(level, prefix(va, level)));
        }
    }

    /// Cached translations, leaf and upper (for assertions).
    pub fn len(&self) -> usize {
        self.pages.len() + self.upper.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The MMU model (the name is historical: it started as the shadow-paging model).
#[derive(Default, Debug)]
pub struct ShadowMmu {
    model: MmuModel,
    cache: HashMap<(Frame, usize), u64>,
    tlb: Tlb,
    /// The address space whose root CR3 holds.
    loaded: Option<(AsId, Frame)>,
    /// Guest stores applied so far (for assertions about batch sizes).
    pub guest_stores: u64,
    /// `invlpg`s and CR3 loads executed (switches included).
    pub invlpgs: u64,
    pub cr3_loads: u64,
}

impl ShadowMmu {
    /// The default model: shadow paging and a hardware TLB at once.
    pub fn new() -> Self {
        ShadowMmu::default()
    }

    pub fn with_model(model: MmuModel) -> Self {
        ShadowMmu { model, ..ShadowMmu::default() }
    }

    pub fn model(&self) -> MmuModel {
        self.model
    }

    /// The space whose root is in CR3.
    pub fn loaded(&self) -> Option<AsId> {
        self.loaded.map(|(id, _)| id)
    }

    /// Puts space `id` (root `cr3`) in CR3; a change of CR3 is a CR3 load.
    pub fn load(&mut self, id: AsId, cr3: Frame) {
        if self.loaded != Some((id, cr3)) {
            self.loaded = Some((id, cr3));
            self.reload_cr3();
        }
    }

    /// `mov cr3, cr3`: the whole TLB goes (the shadow entries stay).
    pub fn reload_cr3(&mut self) {
        self.tlb.flush_all();
        self.cr3_loads += 1;
    }

    /// `invlpg va` in the loaded space.
    pub fn invlpg(&mut self, va: VirtAddr) {
        self.tlb.invlpg(va);
        self.invlpgs += 1;
    }

    /// A ring-0 store of `value` to the entry at `slot` (what the shim does):
    /// KVM sees it and drops its shadow of that slot. The TLB is not touched.
    pub fn guest_store<M: PhysMemory + ?Sized>(&mut self, mem: &M, slot: PhysAddr, value: u64) {
        let _ = mem.write_u64(slot, value);
        let table = Frame::containing(slot);
        let index = ((slot.as_u64() & 0xfff) / 8) as usize;
        self.cache.remove(&(table, index));
        self.guest_stores += 1;
    }

    /// The CPU's TLB (for assertions).
    pub fn tlb(&self) -> &Tlb {
        &self.tlb
    }

    fn entry<M: PhysMemory + ?Sized>(&mut self, mem: &M, table: Frame, slot: usize) -> u64 {
        if self.model.shadows() {
            if let Some(v) = self.cache.get(&(table, slot)) {
                return *v;
            }
        }
        let v = mem.read_u64(table.start().add(slot as u64 * 8)).unwrap_or(0);
        if v & 1 != 0 && self.model.shadows() {
            self.cache.insert((table, slot), v);
        }
        v
    }

    /// Translates a ring-3 access through the tables rooted at `cr3` (which
    /// the caller has loaded, see `load`).
    pub fn translate<M: PhysMemory + ?Sized>(
        &mut self,
        mem: &M,
        cr3: Frame,
        va: VirtAddr,
        access: AccessKind,
    ) -> Result<PhysAddr, MmuFault> {
        let tlb = self.model.has_tlb();
        let check = |c: Cached| match access {
            AccessKind::Write if !c.writable => Err(MmuFault { present: true }),
            AccessKind::Exec if !c.exec => Err(MmuFault { present: true }),
            _ => Ok(c.frame.start().add(va.page_offset())),
        };
        if tlb {
            if let Some(c) = self.tlb.pages.get(&prefix(va, 1)) {
                return check(*c);
            }
        }
        // Resume the walk below the deepest cached upper-level entry.
        let mut at = Cached { frame: cr3, writable: true, exec: true };
        let mut level = 4u32;
        if tlb {
            for l in 2..=4u32 {
                if let Some(c) = self.tlb.upper.get(&(l, prefix(va, l))) {
                    at = *c;
                    level = l - 1;
                    break;
                }
            }
        }
        loop {
            let slot = (prefix(va, level) & 511) as usize;
            let e = self.entry(mem, at.frame, slot);
            if e & 1 == 0 {
                return Err(MmuFault { present: false });
            }
            let f = PteFlags::from_bits_truncate(e);
            if !f.contains(PteFlags::USER) {
                return Err(MmuFault { present: true });
            }
            at = Cached {
                frame: Frame::new((e & crate::paging::pte::FRAME_MASK) >> 12),
                writable: at.writable && f.contains(PteFlags::WRITABLE),
                exec: at.exec && !f.contains(PteFlags::NO_EXECUTE),
            };
            if level == 1 {
                if tlb {
                    self.tlb.pages.insert(prefix(va, 1), at);
                }
                return check(at);
            }
            if tlb {
                self.tlb.upper.insert((level, prefix(va, level)), at);
            }
            level -= 1;
        }
    }

    /// What the CPU does on taking a #PF at `va`: forget that address.
    pub fn fault_at(&mut self, va: VirtAddr) {
        self.tlb.fault_at(va);
    }

    /// Applies a batch the way the guest shim does: a guest store per entry,
    /// then the flush of the loaded space (invlpg per page, or a CR3 reload).
    /// Flushes of other spaces need nothing: loading their CR3 flushes.
    pub fn apply<M: PhysMemory + ?Sized>(&mut self, mem: &M, updates: PteUpdates) {
        let (stores, flush) = updates.into_parts();
        for s in stores {
            self.guest_store(mem, s.slot, s.value);
        }
        let Some(id) = self.loaded() else { return };
        if flush.spaces.contains(&id) {
            self.reload_cr3();
        } else {
            for (_, va) in flush.pages.iter().filter(|(a, _)| *a == id) {
                self.invlpg(*va);
            }
        }
    }

    /// Applies a batch's stores but drops its flush: a shim without its
    /// invlpg/CR3 reload (for control tests).
    pub fn apply_without_flush<M: PhysMemory + ?Sized>(&mut self, mem: &M, updates: PteUpdates) {
        let (stores, _flush) = updates.into_parts();
        for s in stores {
            self.guest_store(mem, s.slot, s.value);
        }
    }

    /// Drops a batch without applying it: what a buggy host-only path would do.
    pub fn discard(&mut self, updates: PteUpdates) {
        let _ = updates.into_parts();
    }
}

/// What a simulated access ended with.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// The access went through at this guest-physical address.
    Done(PhysAddr),
    /// The process got this signal.
    Signal(SigFault),
}

/// A simulated vCPU running one address space at a time.
#[derive(Default)]
pub struct SimCpu {
    pub mmu: ShadowMmu,
    /// Exits taken (faults forwarded to the engine).
    pub faults: u64,
}

impl SimCpu {
    /// A CPU with the default model (shadow paging and a hardware TLB).
    pub fn new() -> Self {
        SimCpu::default()
    }

    pub fn with_model(model: MmuModel) -> Self {
        SimCpu { mmu: ShadowMmu::with_model(model), faults: 0 }
    }

    /// Performs one access as ring 3 of space `id` would.
    pub fn access<M: PhysMemory>(
        &mut self,
        engine: &mut Engine<M>,
        id: AsId,
        va: VirtAddr,
        kind: AccessKind,
    ) -> Result<Access, FaultError> {
        for _ in 0..8 {
            let cr3 = engine.root(id).ok_or(FaultError::NoSuchSpace(id))?;
            self.mmu.load(id, cr3);
            match self.mmu.translate(engine.memory(), cr3, va, kind) {
                Ok(pa) => return Ok(Access::Done(pa)),
                Err(f) => {
                    self.faults += 1;
                    self.mmu.fault_at(va);
                    let (r, updates) = engine.handle_fault(id, PageFault { addr: va, access: kind, present: f.present }).split();
                    self.mmu.apply(engine.memory(), updates);
                    match r {
                        Ok(_) => {}
                        Err(FaultError::Signal(s)) => return Ok(Access::Signal(s)),
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Err(FaultError::Broken("the same access faulted 8 times in a row"))
    }

    /// Writes a byte as ring 3 would; returns the signal if the access faulted.
    pub fn write_u8<M: PhysMemory>(
        &mut self,
        engine: &mut Engine<M>,
        id: AsId,
        va: VirtAddr,
        v: u8,
    ) -> Result<Option<SigFault>, FaultError> {
        match self.access(engine, id, va, AccessKind::Write)? {
            Access::Done(pa) => {
                engine.memory().write(pa, &[v]).map_err(|e| FaultError::Internal(e.into()))?;
                Ok(None)
            }
            Access::Signal(s) => Ok(Some(s)),
        }
    }

    /// Reads a byte as ring 3 would.
    pub fn read_u8<M: PhysMemory>(&mut self, engine: &mut Engine<M>, id: AsId, va: VirtAddr) -> Result<Result<u8, SigFault>, FaultError> {
        match self.access(engine, id, va, AccessKind::Read)? {
            Access::Done(pa) => {
                let mut b = [0u8];
                engine.memory().read(pa, &mut b).map_err(|e| FaultError::Internal(e.into()))?;
                Ok(Ok(b[0]))
            }
            Access::Signal(s) => Ok(Err(s)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guest RAM: frame 1 = PML4, 2 = PDPT, 3 = PD, 4 = PT, 5 and 6 = pages.
    fn tables() -> (vm_memory::GuestMemoryMmap<()>, Frame) {
        let mem = vm_memory::GuestMemoryMmap::<()>::from_ranges(&[(vm_memory::GuestAddress(0), 8 << 12)]).unwrap();
        let link = |f: u64| (f << 12) | 0x7;
        for (table, next) in [(1u64, 2u64), (2, 3), (3, 4)] {
            mem.write_u64(PhysAddr::new(table << 12), link(next)).unwrap();
        }
        mem.write_u64(PhysAddr::new(4 << 12), link(5)).unwrap();
        (mem, Frame::new(1))
    }

    const VA: VirtAddr = VirtAddr::new(0);

    fn remap_to_page_6(mem: &vm_memory::GuestMemoryMmap<()>) {
        mem.write_u64(PhysAddr::new(4 << 12), (6 << 12) | 0x7).unwrap();
    }

    #[test]
    fn a_hardware_tlb_keeps_a_translation_until_invlpg() {
        let (mem, cr3) = tables();
        let mut mmu = ShadowMmu::with_model(MmuModel::Hardware);
        mmu.load(AsId(1), cr3);
        assert_eq!(mmu.translate(&mem, cr3, VA, AccessKind::Read), Ok(PhysAddr::new(5 << 12)));
        remap_to_page_6(&mem);
        assert_eq!(mmu.translate(&mem, cr3, VA, AccessKind::Read), Ok(PhysAddr::new(5 << 12)), "stale until flushed");
        mmu.invlpg(VA);
        assert_eq!(mmu.translate(&mem, cr3, VA, AccessKind::Read), Ok(PhysAddr::new(6 << 12)));
    }

    #[test]
    fn a_cr3_load_flushes_the_tlb_but_not_kvm_shadow_entries() {
        for (model, after) in [(MmuModel::Hardware, 6u64), (MmuModel::KvmShadow, 5), (MmuModel::Both, 5)] {
            let (mem, cr3) = tables();
            let mut mmu = ShadowMmu::with_model(model);
            mmu.load(AsId(1), cr3);
            mmu.translate(&mem, cr3, VA, AccessKind::Read).unwrap();
            remap_to_page_6(&mem);
            mmu.reload_cr3();
            assert_eq!(mmu.translate(&mem, cr3, VA, AccessKind::Read), Ok(PhysAddr::new(after << 12)), "{model:?}");
        }
    }

    #[test]
    fn both_models_need_the_guest_store_and_the_flush() {
        let (mem, cr3) = tables();
        let mut mmu = ShadowMmu::new();
        mmu.load(AsId(1), cr3);
        mmu.translate(&mem, cr3, VA, AccessKind::Read).unwrap();
        // A guest store alone: the TLB still has the old translation.
        mmu.guest_store(&mem, PhysAddr::new(4 << 12), (6 << 12) | 0x7);
        assert_eq!(mmu.translate(&mem, cr3, VA, AccessKind::Read), Ok(PhysAddr::new(5 << 12)));
        mmu.invlpg(VA);
        assert_eq!(mmu.translate(&mem, cr3, VA, AccessKind::Read), Ok(PhysAddr::new(6 << 12)));
    }

    #[test]
    fn a_fault_drops_the_faulting_address_and_upper_entries_are_cached() {
        let (mem, cr3) = tables();
        let mut mmu = ShadowMmu::with_model(MmuModel::Hardware);
        mmu.load(AsId(1), cr3);
        mmu.translate(&mem, cr3, VA, AccessKind::Read).unwrap();
        assert_eq!(mmu.tlb().len(), 4, "one leaf and three paging-structure entries");
        // The PD entry is cleared by the host: the cached PDE still leads to the old leaf table.
        mem.write_u64(PhysAddr::new(3 << 12), 0).unwrap();
        let other = VirtAddr::new(0x1000);
        mem.write_u64(PhysAddr::new((4 << 12) + 8), (6 << 12) | 0x7).unwrap();
        assert_eq!(mmu.translate(&mem, cr3, other, AccessKind::Read), Ok(PhysAddr::new(6 << 12)));
        mmu.fault_at(other);
        assert_eq!(mmu.translate(&mem, cr3, other, AccessKind::Read), Err(MmuFault { present: false }));
    }
}
