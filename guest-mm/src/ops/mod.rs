//! The memory syscalls, with Linux's flags, checks and errno values.
//!
//! One module per syscall family; each is an `impl Engine` block that mirrors
//! the named Linux function. Argument values are untrusted: every combination
//! gets Linux's errno, never a panic. Where Linux applies a change VMA by VMA
//! and can fail half-way (mprotect, madvise over gaps), we do the same, since
//! the host kernel is the reference; each per-VMA step is itself atomic.

pub mod brk;
pub mod fileio;
pub mod madvise;
pub mod mincore;
pub mod mlock;
pub mod mmap;
pub mod mprotect;
pub mod mremap;
pub mod mseal;
pub mod msync;
pub mod munmap;
pub mod overcommit;
pub mod populate;
pub mod seals;
pub mod stack;
pub mod truncate;
pub mod vma_room;

use crate::addr::{VirtAddr, PAGE_SIZE};

/// mmap flags (include/uapi/linux/mman.h, asm-generic/mman-common.h, x86 values).
pub mod map {
    use linux_abi::mman;
    pub const SHARED: u64 = mman::MAP_SHARED;
    pub const PRIVATE: u64 = mman::MAP_PRIVATE;
    pub const SHARED_VALIDATE: u64 = mman::MAP_SHARED_VALIDATE;
    pub const TYPE: u64 = mman::MAP_TYPE;
    pub const FIXED: u64 = mman::MAP_FIXED;
    pub const ANONYMOUS: u64 = mman::MAP_ANONYMOUS;
    pub const BIT32: u64 = mman::MAP_32BIT;
    pub const GROWSDOWN: u64 = mman::MAP_GROWSDOWN;
    pub const DENYWRITE: u64 = mman::MAP_DENYWRITE;
    pub const EXECUTABLE: u64 = mman::MAP_EXECUTABLE;
    pub const LOCKED: u64 = mman::MAP_LOCKED;
    pub const NORESERVE: u64 = mman::MAP_NORESERVE;
    pub const POPULATE: u64 = mman::MAP_POPULATE;
    pub const NONBLOCK: u64 = mman::MAP_NONBLOCK;
    pub const STACK: u64 = mman::MAP_STACK;
    pub const HUGETLB: u64 = mman::MAP_HUGETLB;
    pub const SYNC: u64 = mman::MAP_SYNC;
    pub const FIXED_NOREPLACE: u64 = mman::MAP_FIXED_NOREPLACE;
    pub const UNINITIALIZED: u64 = mman::MAP_UNINITIALIZED;
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
