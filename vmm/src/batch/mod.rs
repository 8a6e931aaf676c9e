//! Turning an engine update batch into code the shim runs in ring 0.
//!
//! Owns the encoding of `PteUpdates` for the guest. On our host every ring-0
//! instruction is emulated (~0.7 us, memory operands ~1.2 us), so a batch is
//! written as straight-line code rather than data for a loop: per store
//! `movabs rax, value` (skipped when the value repeats) and
//! `mov [slot_kva], rax`; then `invlpg` per page of the running space, or a
//! CR3 reload when there are many; then the user's RAX is restored and `iretq`
//! returns to ring 3. A batch too large for the area is split into chunks that
//! end in `out BATCH_CONTINUE_PORT`, after which the host writes the next one.
//!
//! The code is only ever derived from engine-produced slot addresses (guest
//! page-table frames, mapped in the direct map) and values: nothing the guest
//! controls becomes an instruction.
//!
//! `for_entry` decides what an entry into the guest runs (the machine calls
//! it, and so do the tests): the stores, and a flush of the running space
//! only. Other spaces' flushes are left out on purpose: their next entry
//! loads their CR3, which flushes (the guest has no PCIDs and no global user
//! pages). On this host the flush is invisible (shadow paging keeps
//! translations coherent by itself); on EPT/NPT hosts it is what makes the
//! batch correct, so `tlb_model` runs these bytes against guest_mm::sim's
//! hardware-TLB model, with controls that strip the flush.

#[cfg(test)]
pub(crate) mod replay;
#[cfg(test)]
mod tlb_model;

use crate::layout::kva;
use guest_mm::paging::{PteStore, PteUpdates};
use guest_mm::AsId;

/// Port of the exit that asks for the next chunk of a large batch.
pub const BATCH_CONTINUE_PORT: u16 = 0xd0;
/// Above this many pages, one CR3 reload is cheaper than invlpg per page.
pub const MAX_INVLPG: usize = 16;

/// TLB work for the running address space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlbFlush {
    None,
    Pages(Vec<u64>),
    All,
}

struct Asm {
    code: Vec<u8>,
    rax: Option<u64>,
}

impl Asm {
    fn movabs_rax(&mut self, v: u64) {
        if self.rax != Some(v) {
            self.code.extend_from_slice(&[0x48, 0xb8]);
            self.code.extend_from_slice(&v.to_le_bytes());
            self.rax = Some(v);
        }
    }
    fn store_rax(&mut self, addr: u64) {
        self.code.extend_from_slice(&[0x48, 0xa3]);
        self.code.extend_from_slice(&addr.to_le_bytes());
    }
    fn invlpg_rax(&mut self) {
        self.code.extend_from_slice(&[0x0f, 0x01, 0x38]);
    }
    fn reload_cr3(&mut self) {
        // mov rax, cr3 ; mov cr3, rax
        self.code.extend_from_slice(&[0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8]);
        self.rax = None;
    }
    fn iretq(&mut self) {
        self.code.extend_from_slice(&[0x48, 0xcf]);
    }
    fn continue_exit(&mut self) {
        self.code.extend_from_slice(&[0xe6, BATCH_CONTINUE_PORT as u8]);
    }
}

/// The code an entry runs before ring 3.
#[derive(Debug)]
pub struct EntryBatch {
    /// Chunks in execution order; all but the last end in a continue exit.
    pub chunks: Vec<Vec<u8>>,
    pub stores: usize,
}

/// The kernel's pending `updates` as the code the next entry into `space`
/// runs, or None when ring 3 can be entered directly. `switched`: this entry
/// loads a new CR3; `force_full_flush`: the whole TLB must go first (after an
/// unplug, whatever the batch says).
pub fn for_entry(
    updates: PteUpdates,
    space: AsId,
    switched: bool,
    force_full_flush: bool,
    user_rax: u64,
    capacity: usize,
) -> Option<EntryBatch> {
    let (stores, flush) = updates.into_parts();
    if !force_full_flush && stores.is_empty() && !flush.touches(space) {
        return None;
    }
    let tlb = if force_full_flush || switched || flush.spaces.contains(&space) {
        TlbFlush::All
    } else {
        TlbFlush::Pages(flush.pages.iter().filter(|(a, _)| *a == space).map(|(_, va)| va.as_u64()).collect())
    };
    Some(EntryBatch { chunks: encode(&stores, &tlb, user_rax, capacity), stores: stores.len() })
}

/// Bytes one store takes at most.
const STORE_MAX: usize = 20;
/// Bytes the tail (flush + restore + iretq or continue) takes at most.
const TAIL_MAX: usize = 24;

/// Encodes the stores and flush into chunks of at most `capacity` bytes.
/// The last chunk restores `user_rax` and returns to ring 3.
pub fn encode(stores: &[PteStore], flush: &TlbFlush, user_rax: u64, capacity: usize) -> Vec<Vec<u8>> {
    let pages: &[u64] = match flush {
        TlbFlush::Pages(p) if p.len() <= MAX_INVLPG => p,
        _ => &[],
    };
    let full_flush = matches!(flush, TlbFlush::All) || matches!(flush, TlbFlush::Pages(p) if p.len() > MAX_INVLPG);
    let mut chunks = Vec::new();
    let mut a = Asm { code: Vec::new(), rax: None };
    for s in stores {
        if a.code.len() + STORE_MAX + 2 > capacity.saturating_sub(TAIL_MAX) {
            a.continue_exit();
            chunks.push(std::mem::take(&mut a.code));
            a.rax = None;
        }
        a.movabs_rax(s.value);
        a.store_rax(kva(s.slot.as_u64()));
    }
    for va in pages {
        if a.code.len() + 13 + 2 > capacity.saturating_sub(TAIL_MAX) {
            a.continue_exit();
            chunks.push(std::mem::take(&mut a.code));
            a.rax = None;
        }
        a.movabs_rax(*va);
        a.invlpg_rax();
    }
    if full_flush {
        a.reload_cr3();
    }
    a.rax = None;
    a.movabs_rax(user_rax);
    a.iretq();
    chunks.push(a.code);
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use guest_mm::PhysAddr;

    fn st(slot: u64, value: u64) -> PteStore {
        PteStore { slot: PhysAddr::new(slot), value }
    }

    #[test]
    fn one_store_with_invlpg() {
        let c = encode(&[st(0x3008, 0x1234_0065)], &TlbFlush::Pages(vec![0x40_1000]), 7, 4096);
        assert_eq!(c.len(), 1);
        let mut want = vec![0x48, 0xb8];
        want.extend_from_slice(&0x1234_0065u64.to_le_bytes());
        want.extend_from_slice(&[0x48, 0xa3]);
        want.extend_from_slice(&kva(0x3008).to_le_bytes());
        want.extend_from_slice(&[0x48, 0xb8]);
        want.extend_from_slice(&0x40_1000u64.to_le_bytes());
        want.extend_from_slice(&[0x0f, 0x01, 0x38]);
        want.extend_from_slice(&[0x48, 0xb8]);
        want.extend_from_slice(&7u64.to_le_bytes());
        want.extend_from_slice(&[0x48, 0xcf]);
        assert_eq!(c[0], want);
    }

    #[test]
    fn repeated_values_are_loaded_once_and_many_pages_reload_cr3() {
        let stores: Vec<_> = (0..40).map(|i| st(0x3000 + 8 * i, 0)).collect();
        let pages: Vec<u64> = (0..40).map(|i| 0x40_0000 + 0x1000 * i).collect();
        let c = encode(&stores, &TlbFlush::Pages(pages), 1, 8192);
        assert_eq!(c.len(), 1);
        let movabs = c[0].windows(2).filter(|w| w == &[0x48, 0xb8]).count();
        assert_eq!(movabs, 2, "one load of 0 and the final RAX restore");
        assert!(c[0].windows(3).any(|w| w == [0x0f, 0x22, 0xd8]), "CR3 reload");
    }

    #[test]
    fn large_batches_are_chunked_with_continue_exits() {
        let stores: Vec<_> = (0..100).map(|i| st(0x3000 + 8 * i, i)).collect();
        let c = encode(&stores, &TlbFlush::All, 1, 512);
        assert!(c.len() > 1);
        for chunk in &c[..c.len() - 1] {
            assert!(chunk.len() <= 512);
            assert_eq!(&chunk[chunk.len() - 2..], &[0xe6, BATCH_CONTINUE_PORT as u8]);
        }
        assert_eq!(&c.last().unwrap()[c.last().unwrap().len() - 2..], &[0x48, 0xcf]);
    }
}
