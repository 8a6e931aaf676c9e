//! Memory-management values: mmap/mprotect/madvise/mremap/mlock/msync/mseal
//! arguments and memfd flags and seals (include/uapi/asm-generic/mman-common.h,
//! x86's asm/mman.h, linux/mman.h, linux/memfd.h, linux/fcntl.h).
//!
//! Our own extensions (MAP_DONTCOPY, MAP_PAGEPROT) are not Linux's and live
//! with the engine (guest_mm::ops::map).

pub const PROT_NONE: u64 = 0x0;
pub const PROT_READ: u64 = 0x1;
pub const PROT_WRITE: u64 = 0x2;
pub const PROT_EXEC: u64 = 0x4;
/// mprotect: extend the change to the start of a growsdown VMA.
pub const PROT_GROWSDOWN: u64 = 0x0100_0000;
/// mprotect: extend the change up (EINVAL on x86).
pub const PROT_GROWSUP: u64 = 0x0200_0000;
pub const PROT_NAMES: &[(u64, &str)] = &[
    (PROT_READ, "PROT_READ"),
    (PROT_WRITE, "PROT_WRITE"),
    (PROT_EXEC, "PROT_EXEC"),
    (PROT_GROWSDOWN, "PROT_GROWSDOWN"),
    (PROT_GROWSUP, "PROT_GROWSUP"),
];

pub const MAP_SHARED: u64 = 0x01;
pub const MAP_PRIVATE: u64 = 0x02;
pub const MAP_SHARED_VALIDATE: u64 = 0x03;
/// MAP_DROPPABLE (6.11): zero-fill on reclaim.
pub const MAP_DROPPABLE: u64 = 0x08;
pub const MAP_TYPE: u64 = 0x0f;
pub const MAP_FIXED: u64 = 0x10;
pub const MAP_ANONYMOUS: u64 = 0x20;
/// x86: below 2 GiB.
pub const MAP_32BIT: u64 = 0x40;
pub const MAP_GROWSDOWN: u64 = 0x100;
pub const MAP_DENYWRITE: u64 = 0x800;
pub const MAP_EXECUTABLE: u64 = 0x1000;
pub const MAP_LOCKED: u64 = 0x2000;
pub const MAP_NORESERVE: u64 = 0x4000;
pub const MAP_POPULATE: u64 = 0x8000;
pub const MAP_NONBLOCK: u64 = 0x10000;
pub const MAP_STACK: u64 = 0x20000;
pub const MAP_HUGETLB: u64 = 0x40000;
pub const MAP_SYNC: u64 = 0x80000;
pub const MAP_FIXED_NOREPLACE: u64 = 0x100000;
pub const MAP_UNINITIALIZED: u64 = 0x4000000;
/// Flags other than the type, for decoding (strace order).
pub const MAP_NAMES: &[(u64, &str)] = &[
    (MAP_FIXED, "MAP_FIXED"),
    (MAP_ANONYMOUS, "MAP_ANONYMOUS"),
    (MAP_32BIT, "MAP_32BIT"),
    (MAP_GROWSDOWN, "MAP_GROWSDOWN"),
    (MAP_DENYWRITE, "MAP_DENYWRITE"),
    (MAP_EXECUTABLE, "MAP_EXECUTABLE"),
    (MAP_LOCKED, "MAP_LOCKED"),
    (MAP_NORESERVE, "MAP_NORESERVE"),
    (MAP_POPULATE, "MAP_POPULATE"),
    (MAP_NONBLOCK, "MAP_NONBLOCK"),
    (MAP_STACK, "MAP_STACK"),
    (MAP_HUGETLB, "MAP_HUGETLB"),
    (MAP_SYNC, "MAP_SYNC"),
    (MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"),
    (MAP_UNINITIALIZED, "MAP_UNINITIALIZED"),
];
/// Names of the mapping type (the low four bits).
pub const MAP_TYPE_NAMES: &[(u64, &str)] = &[
    (MAP_SHARED, "MAP_SHARED"),
    (MAP_PRIVATE, "MAP_PRIVATE"),
    (MAP_SHARED_VALIDATE, "MAP_SHARED_VALIDATE"),
    (MAP_DROPPABLE, "MAP_DROPPABLE"),
];

pub const MADV_NORMAL: u64 = 0;
pub const MADV_RANDOM: u64 = 1;
pub const MADV_SEQUENTIAL: u64 = 2;
pub const MADV_WILLNEED: u64 = 3;
pub const MADV_DONTNEED: u64 = 4;
pub const MADV_FREE: u64 = 8;
pub const MADV_REMOVE: u64 = 9;
pub const MADV_DONTFORK: u64 = 10;
pub const MADV_DOFORK: u64 = 11;
pub const MADV_MERGEABLE: u64 = 12;
pub const MADV_UNMERGEABLE: u64 = 13;
pub const MADV_HUGEPAGE: u64 = 14;
pub const MADV_NOHUGEPAGE: u64 = 15;
pub const MADV_DONTDUMP: u64 = 16;
pub const MADV_DODUMP: u64 = 17;
pub const MADV_WIPEONFORK: u64 = 18;
pub const MADV_KEEPONFORK: u64 = 19;
pub const MADV_COLD: u64 = 20;
pub const MADV_PAGEOUT: u64 = 21;
pub const MADV_POPULATE_READ: u64 = 22;
pub const MADV_POPULATE_WRITE: u64 = 23;
pub const MADV_DONTNEED_LOCKED: u64 = 24;
pub const MADV_COLLAPSE: u64 = 25;
pub const MADV_HWPOISON: u64 = 100;
pub const MADV_SOFT_OFFLINE: u64 = 101;
pub const MADV_GUARD_INSTALL: u64 = 102;
pub const MADV_GUARD_REMOVE: u64 = 103;
pub const MADV_NAMES: &[(u64, &str)] = &[
    (MADV_NORMAL, "MADV_NORMAL"),
    (MADV_RANDOM, "MADV_RANDOM"),
    (MADV_SEQUENTIAL, "MADV_SEQUENTIAL"),
    (MADV_WILLNEED, "MADV_WILLNEED"),
    (MADV_DONTNEED, "MADV_DONTNEED"),
    (MADV_FREE, "MADV_FREE"),
    (MADV_REMOVE, "MADV_REMOVE"),
    (MADV_DONTFORK, "MADV_DONTFORK"),
    (MADV_DOFORK, "MADV_DOFORK"),
    (MADV_MERGEABLE, "MADV_MERGEABLE"),
    (MADV_UNMERGEABLE, "MADV_UNMERGEABLE"),
    (MADV_HUGEPAGE, "MADV_HUGEPAGE"),
    (MADV_NOHUGEPAGE, "MADV_NOHUGEPAGE"),
    (MADV_DONTDUMP, "MADV_DONTDUMP"),
    (MADV_DODUMP, "MADV_DODUMP"),
    (MADV_WIPEONFORK, "MADV_WIPEONFORK"),
    (MADV_KEEPONFORK, "MADV_KEEPONFORK"),
    (MADV_COLD, "MADV_COLD"),
    (MADV_PAGEOUT, "MADV_PAGEOUT"),
    (MADV_POPULATE_READ, "MADV_POPULATE_READ"),
    (MADV_POPULATE_WRITE, "MADV_POPULATE_WRITE"),
    (MADV_DONTNEED_LOCKED, "MADV_DONTNEED_LOCKED"),
    (MADV_COLLAPSE, "MADV_COLLAPSE"),
    (MADV_HWPOISON, "MADV_HWPOISON"),
    (MADV_SOFT_OFFLINE, "MADV_SOFT_OFFLINE"),
    (MADV_GUARD_INSTALL, "MADV_GUARD_INSTALL"),
    (MADV_GUARD_REMOVE, "MADV_GUARD_REMOVE"),
];

pub const MREMAP_MAYMOVE: u64 = 1;
pub const MREMAP_FIXED: u64 = 2;
pub const MREMAP_DONTUNMAP: u64 = 4;
pub const MREMAP_NAMES: &[(u64, &str)] =
    &[(MREMAP_MAYMOVE, "MREMAP_MAYMOVE"), (MREMAP_FIXED, "MREMAP_FIXED"), (MREMAP_DONTUNMAP, "MREMAP_DONTUNMAP")];

/// mlock2 flags.
pub const MLOCK_ONFAULT: u64 = 1;
/// mlockall flags.
pub const MCL_CURRENT: u64 = 1;
pub const MCL_FUTURE: u64 = 2;
pub const MCL_ONFAULT: u64 = 4;

/// msync flags.
pub const MS_ASYNC: u64 = 1;
pub const MS_INVALIDATE: u64 = 2;
pub const MS_SYNC: u64 = 4;
pub const MS_NAMES: &[(u64, &str)] = &[(MS_ASYNC, "MS_ASYNC"), (MS_INVALIDATE, "MS_INVALIDATE"), (MS_SYNC, "MS_SYNC")];

/// memfd_create flags.
pub const MFD_CLOEXEC: u64 = 0x1;
pub const MFD_ALLOW_SEALING: u64 = 0x2;
pub const MFD_HUGETLB: u64 = 0x4;
pub const MFD_NOEXEC_SEAL: u64 = 0x8;
pub const MFD_EXEC: u64 = 0x10;
pub const MFD_NAMES: &[(u64, &str)] = &[
    (MFD_CLOEXEC, "MFD_CLOEXEC"),
    (MFD_ALLOW_SEALING, "MFD_ALLOW_SEALING"),
    (MFD_HUGETLB, "MFD_HUGETLB"),
    (MFD_NOEXEC_SEAL, "MFD_NOEXEC_SEAL"),
    (MFD_EXEC, "MFD_EXEC"),
];
/// The longest memfd name (MFD_NAME_MAX_LEN: 255 - strlen("memfd:")).
pub const MFD_NAME_MAX: usize = 249;

/// File seals (F_ADD_SEALS / F_GET_SEALS).
pub const F_SEAL_SEAL: u64 = 0x1;
pub const F_SEAL_SHRINK: u64 = 0x2;
pub const F_SEAL_GROW: u64 = 0x4;
pub const F_SEAL_WRITE: u64 = 0x8;
pub const F_SEAL_FUTURE_WRITE: u64 = 0x10;
pub const F_SEAL_EXEC: u64 = 0x20;

/// Page size of x86-64.
pub const PAGE_SIZE: u64 = 4096;
