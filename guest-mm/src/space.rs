//! One address space (Linux's mm_struct): its VMAs, its page tables, its limits.
//!
//! Owns the per-process memory state; the engine owns the set of spaces.
//! Invariants: every non-none leaf entry lies inside a VMA; entries are
//! within the VMA's protection (checked by `invariants`).

use crate::addr::VirtAddr;
use crate::paging::PageTables;
use crate::vma::VmaTree;
use std::fmt;

/// Identity of an address space.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct AsId(pub u32);

impl fmt::Debug for AsId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "as#{}", self.0)
    }
}

/// Counters of one address space.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SpaceStats {
    /// Faults resolved (including ones that mapped several pages).
    pub faults: u64,
    /// Pages mapped by fault handling, fault-around included.
    pub pages_faulted: u64,
    /// Copy-on-write breaks that copied a page.
    pub cow_copies: u64,
    /// Faults answered with a signal.
    pub signals: u64,
}

/// A guest process's address space.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct AddressSpace {
    pub(crate) id: AsId,
    pub(crate) vmas: VmaTree,
    pub(crate) tables: PageTables,
    /// Top of the top-down mmap area (Linux's mmap_base).
    pub(crate) mmap_base: VirtAddr,
    pub(crate) stats: SpaceStats,
}

impl AddressSpace {
    pub fn id(&self) -> AsId {
        self.id
    }
    pub fn vmas(&self) -> &VmaTree {
        &self.vmas
    }
    pub fn tables(&self) -> &PageTables {
        &self.tables
    }
    pub fn stats(&self) -> &SpaceStats {
        &self.stats
    }
}
