//! guest-mm: a memory-management engine with Linux semantics for a microVM guest.
//!
//! The engine gives each guest process a Linux-faithful address space whose
//! page tables live in guest RAM and drive the real MMU. It reaches guest RAM
//! only through the bounds-checked [`memory::PhysMemory`] trait and has no KVM
//! dependency, so every test runs on plain host memory.
//!
//! Layers (each module's header says what it owns):
//! - [`addr`], [`errno`], [`signal`]: vocabulary types.
//! - [`memory`]: the guest-RAM trait.
//! - [`frames`]: the frame pool, reverse maps, zero page, shadow hazards.
//! - [`objects`]: shmem, files, device windows and their page caches.
//! - [`vma`]: VMAs, flags, split/merge, placement.
//! - [`paging`]: PTE encoding, the table tree, the update batch (mmu_gather).
//! - [`mapping`]: installing/clearing entries with exact reverse maps.
//! - [`fault`]: page-fault resolution.
//! - [`ops`]: mmap, munmap, mprotect, mremap, madvise, mlock, populate.
//! - [`revoke`]: revocation of device windows (hot-unplug, seed 004).
//! - [`uaccess`]: copy to and from a process's memory.
//! - [`nonlinear`]: remap_file_pages, nonlinear VMAs with per-page protection.
//! - [`reclaim`]: eviction of clean file pages (pool pressure, MADV_PAGEOUT).
//! - [`introspect`]: maps and pagemap; [`pagemap_scan`]: the PAGEMAP_SCAN walk.
//!   [`invariants`]: whole-engine checks.
//! - [`image`]: the engine's state without guest memory (VM checkpoints).
//!
//! Every operation that can change a live page-table entry returns an
//! [`paging::Outcome`] carrying a [`paging::PteUpdates`] batch: the guest shim
//! must apply it before ring 3 runs again (see `paging::gather` for why).
#![forbid(unsafe_code)]

pub mod addr;
pub mod cowvec;
pub mod engine;
pub mod errno;
pub mod fault;
pub mod fork;
pub mod frames;
pub mod image;
pub mod introspect;
pub mod invariants;
pub mod mapping;
pub mod memory;
pub mod nonlinear;
pub mod objects;
pub mod ops;
pub mod pagemap_scan;
pub mod paging;
pub mod reclaim;
pub mod revoke;
pub mod rlimit;
pub mod signal;
pub mod sim;
pub mod space;
pub mod uaccess;
pub mod vma;

pub use addr::{Frame, Page, PhysAddr, VirtAddr, PAGE_SIZE, TASK_SIZE};
pub use engine::{Engine, EngineConfig, EngineError, FaultAround, Limits};
pub use errno::{Errno, SysResult};
pub use fault::{AccessKind, FaultError, PageFault, Resolved};
pub use image::EngineImage;
pub use memory::PhysMemory;
pub use objects::ObjectId;
pub use paging::{Outcome, PteUpdates};
pub use rlimit::{Rlimit, Rlimits, RLIM_INFINITY};
pub use signal::{SiCode, SigFault, Signal};
pub use space::AsId;
