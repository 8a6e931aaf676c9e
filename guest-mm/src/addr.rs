//! Addresses, pages and frames.
//!
//! Owns the distinct newtypes for guest-virtual addresses (`VirtAddr`),
//! guest-physical addresses (`PhysAddr`), virtual page numbers (`Page`) and
//! physical frame numbers (`Frame`). Constructors that need alignment check it;
//! arithmetic that can overflow is checked, because most values come from a
//! hostile guest.

use std::fmt;

/// Bytes in a base page.
pub const PAGE_SIZE: u64 = linux_abi::mman::PAGE_SIZE;
/// log2(PAGE_SIZE).
pub const PAGE_SHIFT: u32 = 12;

/// One past the highest user address: Linux's TASK_SIZE_MAX for 4-level paging
/// (the last page below 2^47 is left unmapped, as Linux does).
pub const TASK_SIZE: u64 = linux_abi::arch::TASK_SIZE;

/// A guest-virtual address.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct VirtAddr(u64);

/// A guest-physical address.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct PhysAddr(u64);

/// A guest-virtual page number (address >> 12).
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct Page(u64);

/// A guest-physical frame number (address >> 12).
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct Frame(u64);

impl VirtAddr {
    /// Any 64-bit value; it may be unaligned or non-canonical.
    pub const fn new(v: u64) -> Self {
        VirtAddr(v)
    }
    /// The address if it is page-aligned.
    pub const fn page_aligned(v: u64) -> Option<Self> {
        if v.is_multiple_of(PAGE_SIZE) {
            Some(VirtAddr(v))
        } else {
            None
        }
    }
    pub const fn as_u64(self) -> u64 {
        self.0
    }
    pub const fn is_page_aligned(self) -> bool {
        self.0.is_multiple_of(PAGE_SIZE)
    }
    /// The page containing this address.
    pub const fn page(self) -> Page {
        Page(self.0 >> PAGE_SHIFT)
    }
    /// Offset within its page.
    pub const fn page_offset(self) -> u64 {
        self.0 % PAGE_SIZE
    }
    /// Rounded down to its page.
    pub const fn align_down(self) -> Self {
        VirtAddr(self.0 & !(PAGE_SIZE - 1))
    }
    /// Rounded up to a page boundary, None on overflow.
    pub const fn align_up(self) -> Option<Self> {
        match self.0.checked_add(PAGE_SIZE - 1) {
            Some(v) => Some(VirtAddr(v & !(PAGE_SIZE - 1))),
            None => None,
        }
    }
    pub const fn checked_add(self, n: u64) -> Option<Self> {
        match self.0.checked_add(n) {
            Some(v) => Some(VirtAddr(v)),
            None => None,
        }
    }
    pub const fn checked_sub(self, n: u64) -> Option<Self> {
        match self.0.checked_sub(n) {
            Some(v) => Some(VirtAddr(v)),
            None => None,
        }
    }
    /// Adds `n`; callers use it only where the result is known to fit.
    pub const fn add(self, n: u64) -> Self {
        VirtAddr(self.0 + n)
    }
    /// Bytes from `other` up to `self` (`self >= other`).
    pub const fn distance_from(self, other: VirtAddr) -> u64 {
        self.0 - other.0
    }
    /// Whether the address is canonical for 4-level paging.
    pub const fn is_canonical(self) -> bool {
        let top = self.0 >> 47;
        top == 0 || top == (1 << 17) - 1
    }
}

impl PhysAddr {
    pub const fn new(v: u64) -> Self {
        PhysAddr(v)
    }
    pub const fn as_u64(self) -> u64 {
        self.0
    }
    pub const fn frame(self) -> Frame {
        Frame(self.0 >> PAGE_SHIFT)
    }
    pub const fn add(self, n: u64) -> Self {
        PhysAddr(self.0 + n)
    }
}

impl Page {
    pub const fn new(n: u64) -> Self {
        Page(n)
    }
    pub const fn number(self) -> u64 {
        self.0
    }
    pub const fn start(self) -> VirtAddr {
        VirtAddr(self.0 << PAGE_SHIFT)
    }
    pub const fn next(self) -> Page {
        Page(self.0 + 1)
    }
    pub const fn add(self, n: u64) -> Page {
        Page(self.0 + n)
    }
}

impl Frame {
    pub const fn new(n: u64) -> Self {
        Frame(n)
    }
    pub const fn number(self) -> u64 {
        self.0
    }
    pub const fn start(self) -> PhysAddr {
        PhysAddr(self.0 << PAGE_SHIFT)
    }
    /// The frame holding `pa`.
    pub const fn containing(pa: PhysAddr) -> Frame {
        Frame(pa.0 >> PAGE_SHIFT)
    }
}

impl fmt::Debug for VirtAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "va:{:#x}", self.0)
    }
}
impl fmt::Display for VirtAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}
impl fmt::Debug for PhysAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pa:{:#x}", self.0)
    }
}
impl fmt::Display for PhysAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}
impl fmt::Debug for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "page:{:#x}", self.0 << PAGE_SHIFT)
    }
}
impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "frame:{:#x}", self.0)
    }
}

/// Number of pages in `len` bytes, rounded up; None on overflow.
pub const fn pages_in(len: u64) -> Option<u64> {
    match len.checked_add(PAGE_SIZE - 1) {
        Some(v) => Some(v >> PAGE_SHIFT),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_aligned_rejects_unaligned() {
        assert!(VirtAddr::page_aligned(0x1000).is_some());
        assert!(VirtAddr::page_aligned(0x1001).is_none());
    }

    #[test]
    fn align_up_detects_overflow() {
        assert_eq!(VirtAddr::new(u64::MAX).align_up(), None);
        assert_eq!(VirtAddr::new(1).align_up(), Some(VirtAddr::new(PAGE_SIZE)));
    }

    #[test]
    fn canonical_boundaries() {
        assert!(VirtAddr::new(0x7fff_ffff_ffff).is_canonical());
        assert!(!VirtAddr::new(0x8000_0000_0000).is_canonical());
        assert!(VirtAddr::new(0xffff_8000_0000_0000).is_canonical());
    }
}
