//! A model of the guest MMU on our host, for tests: KVM shadow paging as
//! ../shared/HOST-FACTS.md measured it.
//!
//! Owns nothing of the engine; it only reads guest RAM. The model caches every
//! present entry it walks, keyed by (table frame, slot), the way KVM keeps
//! shadow entries per guest page-table page:
//! - a host write to an entry the model has cached is NOT seen;
//! - a host write to an entry it has not cached (not present before) is seen;
//! - a guest store (what the shim does for an update batch) drops the cached
//!   entry of that slot, so the next walk reads the new value;
//! - nothing else (no invlpg, no CR3 reload) drops cached entries, and cached
//!   entries of a table frame outlive its use as a table.
//!
//! `SimCpu` runs accesses the way a guest program would: translate, and on a
//! fault ask the engine, apply its batch as the shim would, and retry. Tests
//! built on it fail if an engine path forgets a batch or reuses a table frame
//! without cleaning its stale shadow.

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

/// The shadow-paging model.
#[derive(Default, Debug)]
pub struct ShadowMmu {
    cache: HashMap<(Frame, usize), u64>,
    /// Guest stores applied so far (for assertions about batch sizes).
    pub guest_stores: u64,
}

impl ShadowMmu {
    pub fn new() -> Self {
        ShadowMmu::default()
    }

    fn entry<M: PhysMemory + ?Sized>(&mut self, mem: &M, table: Frame, slot: usize) -> u64 {
        if let Some(v) = self.cache.get(&(table, slot)) {
            return *v;
        }
        let v = mem.read_u64(table.start().add(slot as u64 * 8)).unwrap_or(0);
        if v & 1 != 0 {
            self.cache.insert((table, slot), v);
        }
        v
    }

    /// Translates a ring-3 access through the tables rooted at `cr3`.
    pub fn translate<M: PhysMemory + ?Sized>(
        &mut self,
        mem: &M,
        cr3: Frame,
        va: VirtAddr,
        access: AccessKind,
    ) -> Result<PhysAddr, MmuFault> {
        let mut table = cr3;
        let mut writable = true;
        let mut exec = true;
        for level in (1..=4u32).rev() {
            let slot = ((va.as_u64() >> (12 + 9 * (level - 1))) & 511) as usize;
            let e = self.entry(mem, table, slot);
            if e & 1 == 0 {
                return Err(MmuFault { present: false });
            }
            let f = PteFlags::from_bits_truncate(e);
            if !f.contains(PteFlags::USER) {
                return Err(MmuFault { present: true });
            }
            writable &= f.contains(PteFlags::WRITABLE);
            exec &= !f.contains(PteFlags::NO_EXECUTE);
            table = Frame::new((e & crate::paging::pte::FRAME_MASK) >> 12);
        }
        match access {
            AccessKind::Write if !writable => Err(MmuFault { present: true }),
            AccessKind::Exec if !exec => Err(MmuFault { present: true }),
            _ => Ok(table.start().add(va.page_offset())),
        }
    }

    /// Applies a batch the way the guest shim does: a guest store per entry
    /// (which drops the cached shadow entry). TLB flushes change nothing here.
    pub fn apply<M: PhysMemory + ?Sized>(&mut self, mem: &M, updates: PteUpdates) {
        let (stores, _flush) = updates.into_parts();
        for s in stores {
            let _ = mem.write_u64(s.slot, s.value);
            let table = Frame::containing(s.slot);
            let slot = ((s.slot.as_u64() & 0xfff) / 8) as usize;
            self.cache.remove(&(table, slot));
            self.guest_stores += 1;
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
    pub fn new() -> Self {
        SimCpu::default()
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
            match self.mmu.translate(engine.memory(), cr3, va, kind) {
                Ok(pa) => return Ok(Access::Done(pa)),
                Err(f) => {
                    self.faults += 1;
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
