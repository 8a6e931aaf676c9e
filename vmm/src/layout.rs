//! Where things live: guest-physical and kernel-virtual layout.
//!
//! Owns the fixed addresses shared by the host and the shim (the shim's link
//! address in guest-image/shim.ld must equal `DIRECT_BASE + SHIM_PA`).
//!
//! Guest-physical memory (guest RAM is one memfd-backed memslot from 0):
//! ```text
//! 0x000000  unused (null page)
//! 0x001000  kernel page tables: direct-map PDPT, trampoline PDPT/PD/PT
//! 0x005000  GDT, IDT, TSS, trampoline page
//! 0x009000  IST1 stack (exceptions), IST2 stack (#DF, NMI, #MC)
//! 0x010000  direct-map page directories (one per GiB of RAM)
//! 0x100000  the shim image, then its batch area
//! 0x200000  the engine's frame pool, to the end of RAM
//! ```
//! Kernel-virtual: all RAM is mapped supervisor-only at `DIRECT_BASE` with
//! 2 MiB pages (the shim runs there and reaches page-table frames there); the
//! syscall trampoline is one user-executable page at `TRAMPOLINE_VA`, where
//! Linux shows [vsyscall]. The user half is the engine's.

/// Base of the direct map of guest RAM (Linux's __PAGE_OFFSET for 4 levels).
pub const DIRECT_BASE: u64 = 0xffff_8880_0000_0000;
/// The page LSTAR points at; `syscall` from ring 3 arrives here.
pub const TRAMPOLINE_VA: u64 = 0xffff_ffff_ff60_0000;

pub const PDPT_DIRECT_PA: u64 = 0x1000;
pub const PDPT_TRAMP_PA: u64 = 0x2000;
pub const PD_TRAMP_PA: u64 = 0x3000;
pub const PT_TRAMP_PA: u64 = 0x4000;
pub const GDT_PA: u64 = 0x5000;
pub const IDT_PA: u64 = 0x6000;
pub const TSS_PA: u64 = 0x7000;
pub const TRAMPOLINE_PA: u64 = 0x8000;
/// IST1: every exception vector; the CPU pushes the frame at its top.
pub const IST1_TOP: u64 = 0xc000;
/// IST2: double fault, NMI, machine check, so a broken IST1 still reports.
pub const IST2_TOP: u64 = 0xd000;
/// Direct-map page directories: one page per GiB, up to `MAX_RAM`.
pub const PD_DIRECT_PA: u64 = 0x10000;
/// Where the shim image is loaded.
pub const SHIM_PA: u64 = 0x100000;
/// End of the region the shim image may occupy (batch area included).
pub const SHIM_END_PA: u64 = 0x200000;
/// First byte of the engine's frame pool.
pub const POOL_PA: u64 = 0x200000;

/// Smallest guest RAM we accept (kernel area plus a usable pool).
pub const MIN_RAM: u64 = 8 << 20;
/// Largest guest RAM the direct map covers (64 page directories).
pub const MAX_RAM: u64 = 64 << 30;

/// Offsets of the exception frame the CPU pushes on IST1 (no error code).
pub const FRAME_RIP: u64 = IST1_TOP - 40;
pub const FRAME_CS: u64 = IST1_TOP - 32;
pub const FRAME_RFLAGS: u64 = IST1_TOP - 24;
pub const FRAME_RSP: u64 = IST1_TOP - 16;
pub const FRAME_SS: u64 = IST1_TOP - 8;
/// The error code, for vectors that push one, sits below the frame.
pub const FRAME_ERROR: u64 = IST1_TOP - 48;

/// Kernel-virtual address of guest-physical `pa` (the direct map).
pub const fn kva(pa: u64) -> u64 {
    DIRECT_BASE + pa
}

/// Segment selectors, in Linux's GDT layout.
pub mod sel {
    pub const KERNEL_CS: u16 = 0x10;
    pub const KERNEL_DS: u16 = 0x18;
    pub const USER32_CS: u16 = 0x23;
    pub const USER_DS: u16 = 0x2b;
    pub const USER_CS: u16 = 0x33;
    pub const TSS: u16 = 0x40;
}
