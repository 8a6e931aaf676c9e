//! /proc/pid/pagemap: the bits of a pagemap entry (fs/proc/task_mmu.c,
//! Documentation/admin-guide/mm/pagemap.rst) and the PAGEMAP_SCAN ioctl
//! (include/uapi/linux/fs.h: struct pm_scan_arg, struct page_region, the
//! PAGE_IS_* categories and the PM_SCAN_* flags).

/// pagemap bits 0-54: the page frame number (zero for unprivileged readers).
pub const PM_PFRAME_MASK: u64 = (1 << 55) - 1;
/// pagemap bit 55: soft-dirty.
pub const PM_SOFT_DIRTY: u64 = 1 << 55;
/// pagemap bit 56: the page is mapped exclusively.
pub const PM_MMAP_EXCLUSIVE: u64 = 1 << 56;
/// pagemap bit 57: userfaultfd write-protected.
pub const PM_UFFD_WP: u64 = 1 << 57;
/// pagemap bit 58: a guard region marker.
pub const PM_GUARD_REGION: u64 = 1 << 58;
/// pagemap bit 61: a file page or shared anonymous page.
pub const PM_FILE: u64 = 1 << 61;
/// pagemap bit 62: a swap entry (any non-present, non-none entry: markers too).
pub const PM_SWAP: u64 = 1 << 62;
/// pagemap bit 63: present.
pub const PM_PRESENT: u64 = 1 << 63;

/// _IOWR('f', 16, struct pm_scan_arg)
pub const PAGEMAP_SCAN: u64 = (3 << 30) | ((PM_SCAN_ARG_SIZE as u64) << 16) | ((b'f' as u64) << 8) | 16;

/// sizeof(struct pm_scan_arg): twelve u64 fields.
pub const PM_SCAN_ARG_SIZE: usize = 96;
/// Offsets of struct pm_scan_arg's fields.
pub mod pm_scan_arg {
    pub const SIZE: usize = 0;
    pub const FLAGS: usize = 8;
    pub const START: usize = 16;
    pub const END: usize = 24;
    pub const WALK_END: usize = 32;
    pub const VEC: usize = 40;
    pub const VEC_LEN: usize = 48;
    pub const MAX_PAGES: usize = 56;
    pub const CATEGORY_INVERTED: usize = 64;
    pub const CATEGORY_MASK: usize = 72;
    pub const CATEGORY_ANYOF_MASK: usize = 80;
    pub const RETURN_MASK: usize = 88;
}
/// sizeof(struct page_region): start, end, categories (u64 each).
pub const PAGE_REGION_SIZE: usize = 24;

pub const PAGE_IS_WPALLOWED: u64 = 1 << 0;
pub const PAGE_IS_WRITTEN: u64 = 1 << 1;
pub const PAGE_IS_FILE: u64 = 1 << 2;
pub const PAGE_IS_PRESENT: u64 = 1 << 3;
pub const PAGE_IS_SWAPPED: u64 = 1 << 4;
pub const PAGE_IS_PFNZERO: u64 = 1 << 5;
pub const PAGE_IS_HUGE: u64 = 1 << 6;
pub const PAGE_IS_SOFT_DIRTY: u64 = 1 << 7;
pub const PAGE_IS_GUARD: u64 = 1 << 8;
/// PM_SCAN_CATEGORIES: every category a mask may name.
pub const PM_SCAN_CATEGORIES: u64 = PAGE_IS_WPALLOWED
    | PAGE_IS_WRITTEN
    | PAGE_IS_FILE
    | PAGE_IS_PRESENT
    | PAGE_IS_SWAPPED
    | PAGE_IS_PFNZERO
    | PAGE_IS_HUGE
    | PAGE_IS_SOFT_DIRTY
    | PAGE_IS_GUARD;

/// Write-protect the matching pages (userfaultfd write-protect, async mode).
pub const PM_SCAN_WP_MATCHING: u64 = 1 << 0;
/// Fail (EPERM) on a VMA without async userfaultfd write-protection.
pub const PM_SCAN_CHECK_WPASYNC: u64 = 1 << 1;
/// PM_SCAN_FLAGS: every flag the ioctl accepts.
pub const PM_SCAN_FLAGS: u64 = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;

/// PAGEMAP_WALK_SIZE >> PAGE_SHIFT: the kernel's bounce buffer of regions
/// holds at most this many (one PMD's worth of pages).
pub const PAGEMAP_SCAN_BOUNCE_REGIONS: u64 = 512;

pub const PAGE_IS_NAMES: &[(u64, &str)] = &[
    (PAGE_IS_WPALLOWED, "PAGE_IS_WPALLOWED"),
    (PAGE_IS_WRITTEN, "PAGE_IS_WRITTEN"),
    (PAGE_IS_FILE, "PAGE_IS_FILE"),
    (PAGE_IS_PRESENT, "PAGE_IS_PRESENT"),
    (PAGE_IS_SWAPPED, "PAGE_IS_SWAPPED"),
    (PAGE_IS_PFNZERO, "PAGE_IS_PFNZERO"),
    (PAGE_IS_HUGE, "PAGE_IS_HUGE"),
    (PAGE_IS_SOFT_DIRTY, "PAGE_IS_SOFT_DIRTY"),
    (PAGE_IS_GUARD, "PAGE_IS_GUARD"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagemap_scan_is_iowr_f_16_of_96_bytes() {
        assert_eq!(PAGEMAP_SCAN, 0xc060_6610);
        assert_eq!(pm_scan_arg::RETURN_MASK + 8, PM_SCAN_ARG_SIZE);
        assert_eq!(PM_SCAN_CATEGORIES, 0x1ff);
    }
}
