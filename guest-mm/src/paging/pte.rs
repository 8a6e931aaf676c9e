//! Page-table entries: x86-64 hardware bits plus our software encodings.
//!
//! Owns the bit layout of every entry the engine writes to guest page tables.
//! A present entry (P=1) is a hardware translation. A non-present entry (P=0)
//! is ignored by the MMU, so its other bits are ours; we use them like Linux
//! uses swap entries and PTE markers:
//!
//! ```text
//!  P=1                      hardware translation (frame in bits 12..51)
//!  P=0, PROTNONE=1          a page mapped in a PROT_NONE range (frame kept), as Linux's _PAGE_PROTNONE
//!  P=0, PROTNONE=0, !=0     a marker: kind in bits 1..3, optional nonlinear file offset
//!  0                        none
//! ```
//!
//! Marker layout (P=0, PROTNONE=0):
//! - bits 1..3: kind: 0 = none-but-offset (nonlinear page not in memory),
//!   1 = guard (MADV_GUARD_INSTALL), 2 = revoked (device memory gone).
//! - bit 4 (`HAS_PGOFF`): the entry carries a nonlinear file offset and protection.
//! - bits 9..11: that page's own protection (read, write, exec) when `HAS_PGOFF`.
//! - bits 12..51: the page offset in the file when `HAS_PGOFF`.
//!
//! Invariant: a marker never has PRESENT or PROTNONE set, so neither the MMU nor
//! our own decoding can mistake it for a translation.

use crate::addr::Frame;
use bitflags::bitflags;
use std::fmt;

bitflags! {
    /// Bits of an x86-64 page-table entry, hardware and software.
    #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
    pub struct PteFlags: u64 {
        /// Hardware: the entry is a valid translation.
        const PRESENT = 1 << 0;
        /// Hardware: writes are allowed (if every level allows them).
        const WRITABLE = 1 << 1;
        /// Hardware: ring 3 may access (if every level allows it).
        const USER = 1 << 2;
        /// Hardware: write-through caching.
        const WRITE_THROUGH = 1 << 3;
        /// Hardware: caching disabled.
        const NO_CACHE = 1 << 4;
        /// Hardware, set by the MMU: the page was accessed. KVM prefetches
        /// neighbouring entries only when this is set, so fault-around sets it.
        const ACCESSED = 1 << 5;
        /// Hardware, set by the MMU: the page was written.
        const DIRTY = 1 << 6;
        /// Hardware: in a PDE/PDPTE, a large page (PAT bit in a PTE; unused).
        const HUGE = 1 << 7;
        /// Hardware when present (global, unused by us). Software when not
        /// present: PROTNONE, the page stays mapped in a PROT_NONE range.
        const GLOBAL_OR_PROTNONE = 1 << 8;
        /// Software, present or marker: per-page protection READ of a nonlinear page.
        const SOFT_READ = 1 << 9;
        /// Software, present or marker: per-page protection WRITE of a nonlinear page.
        const SOFT_WRITE = 1 << 10;
        /// Software, present or marker: per-page protection EXEC of a nonlinear page.
        const SOFT_EXEC = 1 << 11;
        /// Hardware: instruction fetches are not allowed (needs EFER.NXE).
        const NO_EXECUTE = 1 << 63;
    }
}

/// Mask of the physical frame number in an entry.
pub const FRAME_MASK: u64 = 0x000f_ffff_ffff_f000;
const MARKER_KIND_SHIFT: u32 = 1;
const MARKER_KIND_MASK: u64 = 0b111 << MARKER_KIND_SHIFT;
const MARKER_HAS_PGOFF: u64 = 1 << 4;
const SOFT_PROT_SHIFT: u32 = 9;
const SOFT_PROT_MASK: u64 = 0b111 << SOFT_PROT_SHIFT;
/// Largest file page offset a marker can carry (40 bits).
pub const MAX_MARKER_PGOFF: u64 = FRAME_MASK >> 12;

/// What a marker stands for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum MarkerKind {
    /// Nothing but a remembered nonlinear offset (the page is not in memory).
    OffsetOnly,
    /// A guard region page: any access is SIGSEGV (SEGV_MAPERR), as Linux's
    /// PTE_MARKER_GUARD.
    Guard,
    /// A page of revoked device memory: any access is SIGBUS (BUS_ADRERR).
    Revoked,
}

/// A per-page protection carried by a nonlinear entry (PROT_READ/WRITE/EXEC bits).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct PageProt(pub u8);

/// A software marker in a non-present entry.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Marker {
    pub kind: MarkerKind,
    /// For pages of a nonlinear mapping: file page offset and own protection.
    pub nonlinear: Option<(u64, PageProt)>,
}

/// A decoded entry.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PteKind {
    None,
    /// A hardware translation.
    Present {
        frame: Frame,
        flags: PteFlags,
    },
    /// A page that stays mapped while its range is PROT_NONE.
    ProtNone {
        frame: Frame,
        flags: PteFlags,
    },
    Marker(Marker),
}

/// A raw page-table entry value.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Default)]
pub struct Pte(u64);

impl Pte {
    pub const NONE: Pte = Pte(0);

    /// Wraps a raw value read from a page table.
    pub const fn from_raw(v: u64) -> Self {
        Pte(v)
    }
    pub const fn raw(self) -> u64 {
        self.0
    }
    pub const fn is_none(self) -> bool {
        self.0 == 0
    }
    pub const fn is_present(self) -> bool {
        self.0 & PteFlags::PRESENT.bits() != 0
    }
    /// Present or PROT_NONE: a page is mapped here (what Linux's pte_present means).
    pub const fn maps_frame(self) -> bool {
        self.is_present() || self.0 & PteFlags::GLOBAL_OR_PROTNONE.bits() != 0
    }
    pub fn flags(self) -> PteFlags {
        PteFlags::from_bits_truncate(self.0)
    }
    /// The frame of a present or PROT_NONE entry.
    pub fn frame(self) -> Option<Frame> {
        if self.maps_frame() {
            Some(Frame::new((self.0 & FRAME_MASK) >> 12))
        } else {
            None
        }
    }

    /// A present translation of `frame` with `flags` (PRESENT is added).
    pub fn present(frame: Frame, flags: PteFlags) -> Self {
        Pte(((frame.number() << 12) & FRAME_MASK) | (flags | PteFlags::PRESENT).bits())
    }

    /// A PROT_NONE entry that keeps `frame` mapped; `soft` keeps software bits.
    pub fn protnone(frame: Frame, soft: PteFlags) -> Self {
        let keep = soft & (PteFlags::SOFT_READ | PteFlags::SOFT_WRITE | PteFlags::SOFT_EXEC | PteFlags::DIRTY);
        Pte(((frame.number() << 12) & FRAME_MASK) | (keep | PteFlags::GLOBAL_OR_PROTNONE).bits())
    }

    /// A marker entry. Offsets above `MAX_MARKER_PGOFF` cannot be encoded;
    /// callers validate offsets before building markers (see remap checks).
    pub fn marker(m: Marker) -> Self {
        let kind: u64 = match m.kind {
            MarkerKind::OffsetOnly => 0,
            MarkerKind::Guard => 1,
            MarkerKind::Revoked => 2,
        };
        let mut v = kind << MARKER_KIND_SHIFT;
        if let Some((pgoff, prot)) = m.nonlinear {
            v |= MARKER_HAS_PGOFF | ((pgoff << 12) & FRAME_MASK) | (((prot.0 as u64) << SOFT_PROT_SHIFT) & SOFT_PROT_MASK);
        }
        Pte(v)
    }

    pub fn guard() -> Self {
        Pte::marker(Marker { kind: MarkerKind::Guard, nonlinear: None })
    }

    /// Decodes the entry. Values we never write (a kind of 3..7, or offset bits
    /// without HAS_PGOFF) decode as `None` so a corrupted entry cannot be
    /// mistaken for a marker with meaning.
    pub fn kind(self) -> PteKind {
        let v = self.0;
        if v == 0 {
            return PteKind::None;
        }
        let flags = self.flags();
        if self.is_present() {
            return PteKind::Present { frame: Frame::new((v & FRAME_MASK) >> 12), flags };
        }
        if flags.contains(PteFlags::GLOBAL_OR_PROTNONE) {
            return PteKind::ProtNone { frame: Frame::new((v & FRAME_MASK) >> 12), flags };
        }
        let kind = match (v & MARKER_KIND_MASK) >> MARKER_KIND_SHIFT {
            0 => MarkerKind::OffsetOnly,
            1 => MarkerKind::Guard,
            2 => MarkerKind::Revoked,
            _ => return PteKind::None,
        };
        let nonlinear = if v & MARKER_HAS_PGOFF != 0 {
            Some(((v & FRAME_MASK) >> 12, PageProt(((v & SOFT_PROT_MASK) >> SOFT_PROT_SHIFT) as u8)))
        } else {
            None
        };
        if kind == MarkerKind::OffsetOnly && nonlinear.is_none() {
            return PteKind::None;
        }
        PteKind::Marker(Marker { kind, nonlinear })
    }

    pub fn is_guard(self) -> bool {
        matches!(self.kind(), PteKind::Marker(Marker { kind: MarkerKind::Guard, .. }))
    }

    /// The same entry with `add` set and `remove` cleared.
    pub fn with_flags(self, add: PteFlags, remove: PteFlags) -> Self {
        Pte((self.0 | add.bits()) & !remove.bits())
    }
}

impl fmt::Debug for Pte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pte({:#x}: {:?})", self.0, self.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn present_round_trips_frame_and_flags() {
        let p = Pte::present(Frame::new(0x1234), PteFlags::USER | PteFlags::WRITABLE | PteFlags::NO_EXECUTE);
        match p.kind() {
            PteKind::Present { frame, flags } => {
                assert_eq!(frame, Frame::new(0x1234));
                assert!(flags.contains(PteFlags::USER | PteFlags::WRITABLE | PteFlags::NO_EXECUTE));
            }
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn markers_are_never_present() {
        for kind in [MarkerKind::Guard, MarkerKind::Revoked, MarkerKind::OffsetOnly] {
            let m = Marker { kind, nonlinear: Some((0xabcdef, PageProt(5))) };
            let p = Pte::marker(m);
            assert!(!p.is_present());
            assert!(!p.maps_frame());
            assert_eq!(p.kind(), PteKind::Marker(m));
        }
        assert!(Pte::guard().is_guard());
        assert_eq!(Pte::guard().kind(), PteKind::Marker(Marker { kind: MarkerKind::Guard, nonlinear: None }));
    }

    #[test]
    fn protnone_keeps_frame_but_is_not_present() {
        let p = Pte::protnone(Frame::new(77), PteFlags::DIRTY);
        assert!(!p.is_present());
        assert!(p.maps_frame());
        assert_eq!(p.frame(), Some(Frame::new(77)));
    }

    #[test]
    fn unknown_marker_kinds_decode_as_none() {
        assert_eq!(Pte::from_raw(7 << 1).kind(), PteKind::None);
        assert_eq!(Pte::from_raw(0x5000).kind(), PteKind::None);
    }
}
