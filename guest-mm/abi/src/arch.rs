//! x86-64 specifics: arch_prctl codes (arch/x86/include/uapi/asm/prctl.h),
//! the user address-space limit and the user segment selectors.

pub const ARCH_SET_GS: u64 = 0x1001;
pub const ARCH_SET_FS: u64 = 0x1002;
pub const ARCH_GET_FS: u64 = 0x1003;
pub const ARCH_GET_GS: u64 = 0x1004;
pub const ARCH_GET_CPUID: u64 = 0x1011;
pub const ARCH_SET_CPUID: u64 = 0x1012;
pub const ARCH_GET_XCOMP_SUPP: u64 = 0x1021;
pub const ARCH_GET_XCOMP_PERM: u64 = 0x1022;
pub const ARCH_REQ_XCOMP_PERM: u64 = 0x1023;
pub const ARCH_GET_XCOMP_GUEST_PERM: u64 = 0x1024;
pub const ARCH_REQ_XCOMP_GUEST_PERM: u64 = 0x1025;
pub const ARCH_MAP_VDSO_X32: u64 = 0x2001;
pub const ARCH_MAP_VDSO_32: u64 = 0x2002;
pub const ARCH_MAP_VDSO_64: u64 = 0x2003;
pub const ARCH_GET_UNTAG_MASK: u64 = 0x4001;
pub const ARCH_ENABLE_TAGGED_ADDR: u64 = 0x4002;
pub const ARCH_GET_MAX_TAG_BITS: u64 = 0x4003;
pub const ARCH_FORCE_TAGGED_SVA: u64 = 0x4004;
pub const ARCH_SHSTK_ENABLE: u64 = 0x5001;
pub const ARCH_SHSTK_DISABLE: u64 = 0x5002;
pub const ARCH_SHSTK_LOCK: u64 = 0x5003;
pub const ARCH_SHSTK_UNLOCK: u64 = 0x5004;
pub const ARCH_SHSTK_STATUS: u64 = 0x5005;
pub const ARCH_NAMES: &[(u64, &str)] = &[
    (ARCH_SET_GS, "ARCH_SET_GS"),
    (ARCH_SET_FS, "ARCH_SET_FS"),
    (ARCH_GET_FS, "ARCH_GET_FS"),
    (ARCH_GET_GS, "ARCH_GET_GS"),
    (ARCH_GET_CPUID, "ARCH_GET_CPUID"),
    (ARCH_SET_CPUID, "ARCH_SET_CPUID"),
    (ARCH_GET_XCOMP_SUPP, "ARCH_GET_XCOMP_SUPP"),
    (ARCH_GET_XCOMP_PERM, "ARCH_GET_XCOMP_PERM"),
    (ARCH_REQ_XCOMP_PERM, "ARCH_REQ_XCOMP_PERM"),
    (ARCH_GET_XCOMP_GUEST_PERM, "ARCH_GET_XCOMP_GUEST_PERM"),
    (ARCH_REQ_XCOMP_GUEST_PERM, "ARCH_REQ_XCOMP_GUEST_PERM"),
    (ARCH_MAP_VDSO_X32, "ARCH_MAP_VDSO_X32"),
    (ARCH_MAP_VDSO_32, "ARCH_MAP_VDSO_32"),
    (ARCH_MAP_VDSO_64, "ARCH_MAP_VDSO_64"),
    (ARCH_GET_UNTAG_MASK, "ARCH_GET_UNTAG_MASK"),
    (ARCH_ENABLE_TAGGED_ADDR, "ARCH_ENABLE_TAGGED_ADDR"),
    (ARCH_GET_MAX_TAG_BITS, "ARCH_GET_MAX_TAG_BITS"),
    (ARCH_FORCE_TAGGED_SVA, "ARCH_FORCE_TAGGED_SVA"),
    (ARCH_SHSTK_ENABLE, "ARCH_SHSTK_ENABLE"),
    (ARCH_SHSTK_DISABLE, "ARCH_SHSTK_DISABLE"),
    (ARCH_SHSTK_LOCK, "ARCH_SHSTK_LOCK"),
    (ARCH_SHSTK_UNLOCK, "ARCH_SHSTK_UNLOCK"),
    (ARCH_SHSTK_STATUS, "ARCH_SHSTK_STATUS"),
];

/// The end of the user address space with 4-level paging (TASK_SIZE_MAX).
pub const TASK_SIZE: u64 = 0x7fff_ffff_f000;
/// Linux's ELF_ET_DYN_BASE on x86-64: where PIE programs with an interpreter
/// and the break of static-pie programs go (DEFAULT_MAP_WINDOW / 3 * 2,
/// page-aligned up).
pub const ELF_ET_DYN_BASE: u64 = (TASK_SIZE / 3 * 2 + 4095) & !4095;

/// User segment selectors (Linux's GDT: __USER_CS, __USER_DS).
pub const USER_CS: u16 = 0x33;
pub const USER_DS: u16 = 0x2b;

/// Whether `va` is canonical for 48-bit virtual addresses.
pub const fn is_canonical(va: u64) -> bool {
    let top = va >> 47;
    top == 0 || top == 0x1_ffff
}
