//! The auxiliary vector's keys (include/uapi/linux/auxvec.h and x86's
//! asm/auxvec.h), in the order Linux's create_elf_tables writes them.

pub const AT_NULL: u64 = 0;
pub const AT_IGNORE: u64 = 1;
pub const AT_EXECFD: u64 = 2;
pub const AT_PHDR: u64 = 3;
pub const AT_PHENT: u64 = 4;
pub const AT_PHNUM: u64 = 5;
pub const AT_PAGESZ: u64 = 6;
pub const AT_BASE: u64 = 7;
pub const AT_FLAGS: u64 = 8;
pub const AT_ENTRY: u64 = 9;
pub const AT_NOTELF: u64 = 10;
pub const AT_UID: u64 = 11;
pub const AT_EUID: u64 = 12;
pub const AT_GID: u64 = 13;
pub const AT_EGID: u64 = 14;
pub const AT_PLATFORM: u64 = 15;
pub const AT_HWCAP: u64 = 16;
pub const AT_CLKTCK: u64 = 17;
pub const AT_SECURE: u64 = 23;
pub const AT_BASE_PLATFORM: u64 = 24;
pub const AT_RANDOM: u64 = 25;
pub const AT_HWCAP2: u64 = 26;
pub const AT_RSEQ_FEATURE_SIZE: u64 = 27;
pub const AT_RSEQ_ALIGN: u64 = 28;
pub const AT_HWCAP3: u64 = 29;
pub const AT_HWCAP4: u64 = 30;
pub const AT_EXECFN: u64 = 31;
pub const AT_SYSINFO_EHDR: u64 = 33;
pub const AT_MINSIGSTKSZ: u64 = 51;

/// Key names, for decoding.
pub const AT_NAMES: &[(u64, &str)] = &[
    (AT_NULL, "AT_NULL"),
    (AT_IGNORE, "AT_IGNORE"),
    (AT_EXECFD, "AT_EXECFD"),
    (AT_PHDR, "AT_PHDR"),
    (AT_PHENT, "AT_PHENT"),
    (AT_PHNUM, "AT_PHNUM"),
    (AT_PAGESZ, "AT_PAGESZ"),
    (AT_BASE, "AT_BASE"),
    (AT_FLAGS, "AT_FLAGS"),
    (AT_ENTRY, "AT_ENTRY"),
    (AT_NOTELF, "AT_NOTELF"),
    (AT_UID, "AT_UID"),
    (AT_EUID, "AT_EUID"),
    (AT_GID, "AT_GID"),
    (AT_EGID, "AT_EGID"),
    (AT_PLATFORM, "AT_PLATFORM"),
    (AT_HWCAP, "AT_HWCAP"),
    (AT_CLKTCK, "AT_CLKTCK"),
    (AT_SECURE, "AT_SECURE"),
    (AT_BASE_PLATFORM, "AT_BASE_PLATFORM"),
    (AT_RANDOM, "AT_RANDOM"),
    (AT_HWCAP2, "AT_HWCAP2"),
    (AT_RSEQ_FEATURE_SIZE, "AT_RSEQ_FEATURE_SIZE"),
    (AT_RSEQ_ALIGN, "AT_RSEQ_ALIGN"),
    (AT_EXECFN, "AT_EXECFN"),
    (AT_SYSINFO_EHDR, "AT_SYSINFO_EHDR"),
    (AT_MINSIGSTKSZ, "AT_MINSIGSTKSZ"),
];

/// AT_HWCAP2 bits on x86.
pub const HWCAP2_RING3MWAIT: u64 = 1 << 0;
pub const HWCAP2_FSGSBASE: u64 = 1 << 1;
