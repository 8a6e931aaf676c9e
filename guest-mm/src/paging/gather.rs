//! The update batch: our mmu_gather.
//!
//! Owns the list of guest stores and TLB flushes that make a page-table change
//! visible to the MMU. Why it exists: on our development host KVM shadows the
//! guest page tables and only notices writes the *guest* makes to them; a host
//! write that changes or removes a present entry is never seen (see
//! ../shared/HOST-FACTS.md). So the engine writes every entry to guest RAM at
//! once (its own view is always current) and, whenever the old entry may have
//! been seen by the MMU (it was present), records a store of the new value here.
//! The guest shim replays the stores with ring-0 instructions and flushes the
//! TLB before ring 3 runs again. On hosts with EPT/NPT the same batch is merely
//! redundant, so it is correct everywhere.
//!
//! Invariants: stores are kept per slot, last value wins (it equals what the
//! engine wrote to guest RAM); a batch is consumed exactly once. Dropping a
//! non-empty batch is a bug and panics in debug builds, so tests catch it.

use crate::addr::{Frame, PhysAddr, VirtAddr};
use crate::space::AsId;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Above this many single pages of one space, one full flush is cheaper
/// (Linux's tlb_single_page_flush_ceiling).
pub const SINGLE_PAGE_FLUSH_CEILING: usize = 33;

/// A guest store the shim must perform: the 8-byte `value` at guest-physical `slot`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PteStore {
    pub slot: PhysAddr,
    pub value: u64,
}

/// TLB work that goes with the stores.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FlushPlan {
    /// Single pages whose translation changed, per address space.
    pub pages: Vec<(AsId, VirtAddr)>,
    /// Address spaces whose whole TLB must go (upper-level entries changed,
    /// or too many pages to name).
    pub spaces: Vec<AsId>,
}

impl FlushPlan {
    /// Whether address space `id` needs any flush.
    pub fn touches(&self, id: AsId) -> bool {
        self.spaces.contains(&id) || self.pages.iter().any(|(a, _)| *a == id)
    }
}

/// A multiply-rotate hash for the batch's slot and frame keys (one u64
/// each). The keys are table slots the engine itself allocated, not values a
/// guest chooses, so a DoS-resistant hash buys nothing here, and SipHash was
/// a visible share of a large fork.
#[derive(Default, Clone, Copy)]
pub struct SlotHasher(u64);

impl Hasher for SlotHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type BuildSlotHasher = BuildHasherDefault<SlotHasher>;

/// Pending page-table updates that the guest must apply before ring 3 runs again.
#[must_use = "PTE updates must be applied by the guest shim before ring 3 runs again"]
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct PteUpdates {
    stores: Vec<PteStore>,
    /// Position of each slot's store in `stores` (one store per slot).
    index: HashMap<PhysAddr, usize, BuildSlotHasher>,
    /// Table frames holding a pending store: `refresh` of a slot elsewhere
    /// (a fresh table, the common case) needs no lookup at all.
    tables: HashSet<Frame, BuildSlotHasher>,
    /// The table of the last store, which is in `tables` (a fast path;
    /// not part of snapshots: None is always a valid value).
    #[serde(skip)]
    last_table: Option<Frame>,
    flush: FlushPlan,
}

impl PteUpdates {
    pub fn new() -> Self {
        PteUpdates::default()
    }

    /// Room for `n` more stores (a fork knows how many entries it will change).
    pub(crate) fn reserve(&mut self, n: usize) {
        self.stores.reserve(n);
        self.index.reserve(n);
    }

    /// True when nothing needs to reach the guest.
    pub fn is_empty(&self) -> bool {
        self.stores.is_empty() && self.flush.pages.is_empty() && self.flush.spaces.is_empty()
    }

    /// Number of guest stores.
    pub fn store_count(&self) -> usize {
        self.stores.len()
    }

    pub(crate) fn store(&mut self, slot: PhysAddr, value: u64) {
        match self.index.entry(slot) {
            Entry::Occupied(i) => self.stores[*i.get()].value = value,
            Entry::Vacant(v) => {
                v.insert(self.stores.len());
                self.stores.push(PteStore { slot, value });
                // Consecutive stores are mostly in one table: skip the set then.
                let table = Frame::containing(slot);
                if self.last_table != Some(table) {
                    self.tables.insert(table);
                    self.last_table = Some(table);
                }
            }
        }
    }

    /// Keeps a pending store of `slot` equal to what the engine just wrote there,
    /// so that applying the batch never writes back an older value.
    pub(crate) fn refresh(&mut self, slot: PhysAddr, value: u64) {
        if !self.tables.contains(&Frame::containing(slot)) {
            return;
        }
        if let Some(&i) = self.index.get(&slot) {
            self.stores[i].value = value;
        }
    }

    pub(crate) fn flush_page(&mut self, space: AsId, va: VirtAddr) {
        if self.flush.spaces.contains(&space) {
            return;
        }
        self.flush.pages.push((space, va));
        if self.flush.pages.len() > SINGLE_PAGE_FLUSH_CEILING
            && self.flush.pages.iter().filter(|(a, _)| *a == space).count() > SINGLE_PAGE_FLUSH_CEILING
        {
            self.flush_space(space);
        }
    }

    pub(crate) fn flush_space(&mut self, space: AsId) {
        if !self.flush.spaces.contains(&space) {
            self.flush.spaces.push(space);
            self.flush.pages.retain(|(a, _)| *a != space);
        }
    }

    /// Folds `other` into this batch (later stores win).
    pub fn absorb(&mut self, mut other: PteUpdates) {
        if self.stores.is_empty() && self.flush.pages.is_empty() && self.flush.spaces.is_empty() {
            // Nothing to merge with (the common case: one operation's batch).
            std::mem::swap(self, &mut other);
            return;
        }
        let stores = std::mem::take(&mut other.stores);
        other.index.clear();
        other.tables.clear();
        other.last_table = None;
        let flush = std::mem::take(&mut other.flush);
        for s in stores {
            self.store(s.slot, s.value);
        }
        for s in flush.spaces {
            self.flush_space(s);
        }
        for (s, va) in flush.pages {
            self.flush_page(s, va);
        }
    }

    /// Consumes the batch: the stores in slot order, and the flush plan.
    /// The caller (the shim applier, or a test's model) is now responsible.
    pub fn into_parts(mut self) -> (Vec<PteStore>, FlushPlan) {
        let mut stores = std::mem::take(&mut self.stores);
        self.index.clear();
        self.tables.clear();
        self.last_table = None;
        // Mostly sorted already (the engine walks in address order).
        stores.sort_unstable_by_key(|s| s.slot);
        let flush = std::mem::take(&mut self.flush);
        (stores, flush)
    }
}

impl Drop for PteUpdates {
    fn drop(&mut self) {
        if cfg!(debug_assertions) && !std::thread::panicking() && !self.is_empty() {
            panic!("PteUpdates dropped with {} unapplied stores: a caller forgot to apply a batch", self.stores.len());
        }
    }
}

/// A value produced together with the PTE updates it requires.
#[must_use = "the result carries PTE updates that must reach the guest"]
#[derive(Debug)]
pub struct Outcome<T> {
    pub result: T,
    pub updates: PteUpdates,
}

impl<T> Outcome<T> {
    pub fn new(result: T, updates: PteUpdates) -> Self {
        Outcome { result, updates }
    }
    /// Splits into the result and the batch the caller must apply.
    pub fn split(self) -> (T, PteUpdates) {
        (self.result, self.updates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_store_to_same_slot_wins() {
        let mut u = PteUpdates::new();
        u.store(PhysAddr::new(0x1000), 1);
        u.store(PhysAddr::new(0x1000), 2);
        u.store(PhysAddr::new(0x0ff8), 3);
        let (stores, _) = u.into_parts();
        assert_eq!(stores, vec![PteStore { slot: PhysAddr::new(0x0ff8), value: 3 }, PteStore { slot: PhysAddr::new(0x1000), value: 2 }]);
    }

    #[test]
    fn many_single_page_flushes_become_one_full_flush() {
        let mut u = PteUpdates::new();
        for i in 0..=SINGLE_PAGE_FLUSH_CEILING as u64 {
            u.flush_page(AsId(1), VirtAddr::new(i << 12));
        }
        u.flush_page(AsId(2), VirtAddr::new(0));
        let (_, f) = u.into_parts();
        assert_eq!(f.spaces, vec![AsId(1)]);
        assert_eq!(f.pages, vec![(AsId(2), VirtAddr::new(0))]);
    }

    #[test]
    fn space_flush_subsumes_page_flushes() {
        let mut u = PteUpdates::new();
        let a = AsId(1);
        u.flush_page(a, VirtAddr::new(0x1000));
        u.flush_space(a);
        u.flush_page(a, VirtAddr::new(0x2000));
        let (_, f) = u.into_parts();
        assert_eq!(f.spaces, vec![a]);
        assert!(f.pages.is_empty());
    }

    #[test]
    #[should_panic(expected = "forgot to apply")]
    #[cfg(debug_assertions)]
    fn dropping_an_unapplied_batch_is_caught_in_debug_builds() {
        let mut u = PteUpdates::new();
        u.store(PhysAddr::new(0x1000), 1);
        drop(u);
    }
}
