//! One address space (Linux's mm_struct): its VMAs, its page tables, its limits.
//!
//! Owns the per-process memory state; the engine owns the set of spaces.
//! Invariants: every non-none leaf entry lies inside a VMA; entries are
//! within the VMA's protection (checked by `invariants`).

use crate::addr::VirtAddr;
use crate::paging::PageTables;
use crate::rlimit::Rlimits;
use crate::vma::{VmFlags, VmaTree};
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
    /// The page of the last fault if it was spurious, and how many spurious
    /// faults in a row it took (`handle_fault`: a translation KVM kept stale).
    #[serde(skip)]
    pub(crate) spurious: Option<(VirtAddr, u32)>,
    /// RLIMIT_STACK, RLIMIT_DATA, RLIMIT_MEMLOCK, RLIMIT_AS (rlimit.rs).
    pub(crate) rlimits: Rlimits,
    /// mm->start_brk, mm->brk: the heap (ops::brk). Both 0 until exec sets the base.
    pub(crate) start_brk: u64,
    pub(crate) brk: u64,
    /// mm->start_data, mm->end_data: the data segment, for brk's RLIMIT_DATA test.
    pub(crate) start_data: u64,
    pub(crate) end_data: u64,
    /// mm->start_stack: the VMA containing it is "[stack]" in maps.
    pub(crate) start_stack: u64,
    /// mm->def_flags: flags every new VMA gets (VM_LOCKED after mlockall(MCL_FUTURE)).
    pub(crate) def_flags: VmFlags,
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
    /// (mm->start_brk, mm->brk).
    pub fn brk_range(&self) -> (u64, u64) {
        (self.start_brk, self.brk)
    }
    /// mm->start_stack.
    pub fn start_stack(&self) -> u64 {
        self.start_stack
    }
}
