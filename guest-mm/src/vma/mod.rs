//! Virtual memory areas: one contiguous range with uniform flags and backing.
//!
//! Owns the `Vma` record and the rules deciding when two VMAs may merge, which
//! mirror mm/vma.c (is_mergeable_vma, is_mergeable_anon_vma, and the pgoff
//! contiguity of can_vma_merge_before/after). The ordered set of VMAs of an
//! address space lives in `tree`.

pub mod flags;
pub mod tree;

pub use flags::{Prot, VmFlags};
pub use tree::VmaTree;

use crate::addr::{VirtAddr, PAGE_SHIFT, PAGE_SIZE};
use crate::objects::ObjectId;

/// What memory a VMA maps.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Backing {
    /// Private anonymous memory (demand-zero).
    Anon,
    /// A memory object: shmem, a file, or a device window.
    Object(ObjectId),
}

/// Identity of an anon_vma, which decides merges of anonymous memory.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct AnonVmaId(pub u64);

/// A VMA's anon_vma: which one, and whether it was inherited through fork
/// (Linux: the VMA's anon_vma_chain is not singular). An inherited one blocks
/// merges with VMAs that have none (vma_had_uncowed_parents).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct AnonRef {
    pub id: AnonVmaId,
    pub forked: bool,
}

/// Linux's stack_guard_gap (mm/mmap.c, 256 pages unless the command line
/// says otherwise): kept free below a VM_GROWSDOWN VMA by placement, brk and
/// the stack's own growth.
pub const STACK_GUARD_GAP: u64 = 256 * PAGE_SIZE;

/// A virtual memory area.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Vma {
    pub start: VirtAddr,
    pub end: VirtAddr,
    pub flags: VmFlags,
    /// Page offset into the object (for anonymous memory: the address's page
    /// number at creation, as Linux sets vm_pgoff, which decides merges).
    pub pgoff: u64,
    pub backing: Backing,
    pub anon: Option<AnonRef>,
}

impl Vma {
    pub fn len(&self) -> u64 {
        self.end.distance_from(self.start)
    }
    pub fn is_empty(&self) -> bool {
        self.start >= self.end
    }
    pub fn pages(&self) -> u64 {
        self.len() >> PAGE_SHIFT
    }
    pub fn contains(&self, va: VirtAddr) -> bool {
        self.start <= va && va < self.end
    }
    pub fn is_anonymous(&self) -> bool {
        self.backing == Backing::Anon
    }
    pub fn is_shared(&self) -> bool {
        self.flags.contains(VmFlags::SHARED)
    }
    pub fn object(&self) -> Option<ObjectId> {
        match self.backing {
            Backing::Object(o) => Some(o),
            Backing::Anon => None,
        }
    }
    /// mseal: the VMA's layout and protection can no longer change.
    pub fn is_sealed(&self) -> bool {
        self.flags.contains(VmFlags::SEALED)
    }
    /// Linux's vm_start_gap: where the VMA's claim on the address space
    /// starts, stack_guard_gap below a VM_GROWSDOWN VMA (0 if that underflows).
    pub fn start_gap(&self) -> u64 {
        if self.flags.contains(VmFlags::GROWSDOWN) {
            self.start.as_u64().saturating_sub(STACK_GUARD_GAP)
        } else {
            self.start.as_u64()
        }
    }
    /// Object page index of `va` (linear mappings).
    pub fn pgoff_of(&self, va: VirtAddr) -> u64 {
        self.pgoff + (va.align_down().distance_from(self.start) / PAGE_SIZE)
    }

    /// The part `[start, end)` of this VMA (which must lie inside it).
    pub fn slice(&self, start: VirtAddr, end: VirtAddr) -> Vma {
        debug_assert!(self.start <= start && end <= self.end && start < end);
        Vma { start, end, pgoff: self.pgoff_of(start), ..self.clone() }
    }
}

/// Folds `from` into `into` after a merge: the union of the sticky flags,
/// and `from`'s anon_vma if `into` had none.
pub(crate) fn absorb(into: &mut Vma, from: &Vma) {
    into.flags |= from.flags & VmFlags::MERGE_IGNORED;
    if into.anon.is_none() {
        into.anon = from.anon;
    }
}

/// Linux's is_mergeable_anon_vma for a target and a source anon_vma.
pub fn anon_mergeable(tgt: Option<AnonRef>, src: Option<AnonRef>) -> bool {
    match (tgt, src) {
        (None, None) => true,
        (None, Some(s)) => !s.forked,
        (Some(t), None) => !t.forked,
        (Some(t), Some(s)) => t.id == s.id,
    }
}

/// Whether `left` and `right` (adjacent, in that order) may become one VMA:
/// equal flags and backing, contiguous offsets, compatible anon_vmas, and
/// neither is special (mm/vma.c can_vma_merge_after/before). "[heap]" and
/// "[stack]" are not names a VMA carries: maps derives them from the space's
/// brk and start_stack when it prints (introspect), so they never decide a merge.
pub fn can_merge(left: &Vma, right: &Vma) -> bool {
    left.end == right.start
        && !left.flags.intersects(VmFlags::SPECIAL)
        && (left.flags ^ right.flags).difference(VmFlags::MERGE_IGNORED).is_empty()
        && left.backing == right.backing
        && left.pgoff.checked_add(left.pages()) == Some(right.pgoff)
        && anon_mergeable(left.anon, right.anon)
}

/// Linux's anon_vma_compatible: may `b` (right after `a`) share `a`'s anon_vma?
/// Like can_merge but ignoring the access flags.
pub fn anon_compatible(a: &Vma, b: &Vma) -> bool {
    a.end == b.start
        && a.backing == b.backing
        && (a.flags ^ b.flags).difference(VmFlags::ACCESS | VmFlags::MERGE_IGNORED).is_empty()
        && a.pgoff.checked_add(a.pages()) == Some(b.pgoff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anon(start: u64, end: u64, flags: VmFlags) -> Vma {
        Vma { start: VirtAddr::new(start), end: VirtAddr::new(end), flags, pgoff: start >> PAGE_SHIFT, backing: Backing::Anon, anon: None }
    }

    #[test]
    fn adjacent_anon_with_same_flags_merge() {
        let rw = VmFlags::READ | VmFlags::WRITE;
        assert!(can_merge(&anon(0x1000, 0x2000, rw), &anon(0x2000, 0x3000, rw)));
        assert!(!can_merge(&anon(0x1000, 0x2000, rw), &anon(0x2000, 0x3000, VmFlags::READ)));
        assert!(!can_merge(&anon(0x1000, 0x2000, rw), &anon(0x3000, 0x4000, rw)));
    }

    #[test]
    fn different_anon_vmas_do_not_merge_and_forked_blocks_empty() {
        let rw = VmFlags::READ | VmFlags::WRITE;
        let mut a = anon(0x1000, 0x2000, rw);
        let mut b = anon(0x2000, 0x3000, rw);
        a.anon = Some(AnonRef { id: AnonVmaId(1), forked: false });
        b.anon = Some(AnonRef { id: AnonVmaId(2), forked: false });
        assert!(!can_merge(&a, &b));
        b.anon = None;
        assert!(can_merge(&a, &b));
        a.anon = Some(AnonRef { id: AnonVmaId(1), forked: true });
        assert!(!can_merge(&a, &b));
    }

    #[test]
    fn special_vmas_never_merge() {
        let f = VmFlags::READ | VmFlags::IO;
        assert!(!can_merge(&anon(0x1000, 0x2000, f), &anon(0x2000, 0x3000, f)));
    }
}
