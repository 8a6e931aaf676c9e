//! The memory syscalls, with Linux's flags, checks and errno values.
//!
//! One module per syscall family; each is an `impl Engine` block that mirrors
//! the named Linux function. Argument values are untrusted: every combination
//! gets Linux's errno, never a panic. Where Linux applies a change VMA by VMA
//! and can fail half-way (mprotect, madvise over gaps), we do the same, since
//! the host kernel is the reference; each per-VMA step is itself atomic.

pub mod fileio;
pub mod madvise;
pub mod mlock;
pub mod mmap;
pub mod mprotect;
pub mod mremap;
pub mod munmap;
pub mod populate;
pub mod truncate;
pub mod vma_room;

use crate::addr::{VirtAddr, PAGE_SIZE};

/// mmap flags (include/uapi/linux/mman.h, asm-generic/mman-common.h, x86 values).
pub mod map {
    pub const SHARED: u64 = 0x01;
    pub const PRIVATE: u64 = 0x02;
    pub const SHARED_VALIDATE: u64 = 0x03;
    pub const TYPE: u64 = 0x0f;
    pub const FIXED: u64 = 0x10;
    pub const ANONYMOUS: u64 = 0x20;
    pub const BIT32: u64 = 0x40;
    pub const GROWSDOWN: u64 = 0x100;
    pub const DENYWRITE: u64 = 0x800;
    pub const EXECUTABLE: u64 = 0x1000;
    pub const LOCKED: u64 = 0x2000;
    pub const NORESERVE: u64 = 0x4000;
    pub const POPULATE: u64 = 0x8000;
    pub const NONBLOCK: u64 = 0x10000;
    pub const STACK: u64 = 0x20000;
    pub const HUGETLB: u64 = 0x40000;
    pub const SYNC: u64 = 0x80000;
    pub const FIXED_NOREPLACE: u64 = 0x100000;
    pub const UNINITIALIZED: u64 = 0x4000000;
    /// Flags MAP_SHARED silently accepts (LEGACY_MAP_MASK).
    pub const LEGACY_MASK: u64 = SHARED
        | PRIVATE
        | FIXED
        | ANONYMOUS
        | DENYWRITE
        | EXECUTABLE
        | UNINITIALIZED
        | GROWSDOWN
        | LOCKED
        | NORESERVE
        | POPULATE
        | NONBLOCK
        | STACK
        | HUGETLB;
    /// Our extension (seed 002): the mapping is VM_DONTCOPY from the moment
    /// it exists, so a fork racing with mmap+madvise can never copy it.
    /// Bit 32: Linux's mmap flags are an `int`, so no Linux flag can ever
    /// take this value; Linux itself ignores it for MAP_PRIVATE/MAP_SHARED.
    pub const DONTCOPY: u64 = 1 << 32;
    /// Our extension (seed 000): the mapping may get per-page protections
    /// through remap_file_pages(prot != 0). Bit 33, for the same reason.
    pub const PAGEPROT: u64 = 1 << 33;
}

/// Validates `[start, start + len)` as munmap/madvise-style user ranges do:
/// page-aligned start, length rounded up to pages, no wrap, below TASK_SIZE.
pub(crate) fn aligned_range(start: u64, len: u64) -> Option<(VirtAddr, VirtAddr)> {
    if !start.is_multiple_of(PAGE_SIZE) {
        return None;
    }
    let len = len.checked_add(PAGE_SIZE - 1)? & !(PAGE_SIZE - 1);
    let end = start.checked_add(len)?;
    Some((VirtAddr::new(start), VirtAddr::new(end)))
}
