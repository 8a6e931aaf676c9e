//! The model's own VMA boundaries, decided from its own state with Linux's
//! rules (mm/vma.c, mm/rmap.c), never read from the engine.
//!
//! Each mapped page carries `V`: the id of the VMA it belongs to (a VMA is
//! a maximal run of adjacent pages with one id), its vm_pgoff-derived offset
//! (the object page for file and shmem mappings; for private anonymous
//! memory the address's page number at creation, moved unchanged with a
//! faulted VMA), and its VMA's anon_vma (an id, and whether it was inherited
//! through fork: a non-singular anon_vma_chain).
//!
//! The rules:
//! - a new mapping is a new VMA, merged with its neighbours where
//!   vma_merge_new_range would (same flags and object, contiguous offsets,
//!   compatible anon_vmas; merging both ways also needs prev and next
//!   compatible);
//! - an operation that changes a range's VMA attributes (mprotect, madvise
//!   flag advice, mlock, the source of MREMAP_DONTUNMAP) splits each VMA it
//!   changes at the range's edges, then merges each changed piece with its
//!   neighbours (vma_merge_existing_range); a piece it does not change stays;
//! - munmap splits by leaving a hole; mremap moves a VMA as a copy (keeping
//!   its offsets and anon_vma; an unfaulted anonymous VMA takes the new
//!   address as its offset) merged at the destination, and grows one in place
//!   by extending it (and merging with the next VMA);
//! - anon_vma_prepare (a private write fault, a guard install in an
//!   anonymous VMA) gives a VMA an
//!   anon_vma, reusing a compatible neighbour's (next first, then prev) unless
//!   that one was inherited through fork; fork gives every child VMA that had
//!   one a new, inherited anon_vma (none for VM_WIPEONFORK).

use crate::reference::{Kind, Model, Pg, Space, P};
use crate::{ARENA, PAGES};
use guest_mm::PAGE_SIZE;

/// A page's VMA: see the module header.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct V {
    pub(crate) id: u32,
    pub(crate) pgoff: u64,
    pub(crate) anon: Option<Anon>,
}

/// An anon_vma.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Anon {
    pub(crate) id: u32,
    pub(crate) forked: bool,
}

/// What a VMA maps: private anonymous memory, or an object shared or private.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Class {
    Anon,
    Shared(usize),
    Private(usize),
}

fn class(p: &Pg) -> Class {
    match p.kind {
        Kind::Anon { .. } => Class::Anon,
        Kind::Shared { obj, .. } => Class::Shared(obj),
        Kind::Private { obj, .. } => Class::Private(obj),
    }
}

/// The VMA flags the model has, but for the access bits: VM_DONTCOPY,
/// VM_WIPEONFORK, VM_LOCKED, VM_LOCKONFAULT, VM_ACCOUNT.
type Flags = (bool, bool, bool, bool, bool);

fn flags(p: &Pg) -> Flags {
    (p.dontfork, p.wipeonfork, p.locked, p.onfault, p.account)
}

/// Everything of a page that belongs to its VMA (a change of it is a change of the VMA).
fn attrs(p: &Pg) -> (P, Flags, Class, Option<Anon>) {
    (p.prot, flags(p), class(p), p.v.anon)
}

/// The offset a new private anonymous page at arena page `page` gets.
pub(crate) fn anon_pgoff(page: usize) -> u64 {
    ARENA / PAGE_SIZE + page as u64
}

/// is_mergeable_anon_vma: equal, or one has none and the other was not inherited.
fn anon_mergeable(a: Option<Anon>, b: Option<Anon>) -> bool {
    match (a, b) {
        (None, None) => true,
        (None, Some(x)) | (Some(x), None) => !x.forked,
        (Some(x), Some(y)) => x.id == y.id,
    }
}

/// Whether the VMA ending with page `l` and the one starting with page `r`
/// (adjacent) may be one VMA (can_vma_merge_after/before).
fn can_merge(l: &Pg, r: &Pg) -> bool {
    l.prot == r.prot && flags(l) == flags(r) && class(l) == class(r) && l.v.pgoff + 1 == r.v.pgoff && anon_mergeable(l.v.anon, r.v.anon)
}

/// anon_vma_compatible: like `can_merge` but ignoring the access bits and anon_vmas.
fn anon_compatible(l: &Pg, r: &Pg) -> bool {
    flags(l) == flags(r) && class(l) == class(r) && l.v.pgoff + 1 == r.v.pgoff
}

/// The VMA containing page `i` of `space`, as [lo, hi).
fn vma_at(space: &Space, i: usize) -> Option<(usize, usize)> {
    let id = space[i]?.v.id;
    let same = |j: usize| space[j].is_some_and(|p| p.v.id == id);
    let mut lo = i;
    while lo > 0 && same(lo - 1) {
        lo -= 1;
    }
    let mut hi = i + 1;
    while hi < PAGES && same(hi) {
        hi += 1;
    }
    Some((lo, hi))
}

/// Every VMA of `space`, in order.
fn vma_list(space: &Space) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < PAGES {
        match vma_at(space, i) {
            Some(r) => {
                out.push(r);
                i = r.1;
            }
            None => i += 1,
        }
    }
    out
}

impl Model {
    pub(crate) fn fresh_vma(&mut self) -> u32 {
        self.next_vma += 1;
        self.next_vma
    }

    /// The VMA containing page `i` of space `s`, as [lo, hi).
    pub(crate) fn vma_at(&self, s: usize, i: usize) -> Option<(usize, usize)> {
        vma_at(&self.spaces[s], i)
    }

    /// Every VMA of space `s`, in order.
    pub(crate) fn vma_list(&self, s: usize) -> Vec<(usize, usize)> {
        vma_list(&self.spaces[s])
    }

    fn pg(&self, s: usize, i: usize) -> Pg {
        self.spaces[s][i].expect("a mapped page")
    }

    pub(crate) fn set(&mut self, s: usize, (lo, hi): (usize, usize), f: impl Fn(&mut V)) {
        for i in lo..hi {
            if let Some(p) = &mut self.spaces[s][i] {
                f(&mut p.v);
            }
        }
    }

    /// Makes VMAs `a` and `b` (adjacent, `a` first) one; the anon_vma is the
    /// first one's, else the second's. The result gets a fresh id: the parts
    /// of a split VMA keep its id, and must never look like one VMA again.
    fn join(&mut self, s: usize, a: (usize, usize), b: (usize, usize)) -> (usize, usize) {
        let (pa, pb) = (self.pg(s, a.0), self.pg(s, b.0));
        let id = self.fresh_vma();
        let anon = pa.v.anon.or(pb.v.anon);
        let whole = (a.0, b.1);
        self.set(s, whole, |v| {
            v.id = id;
            v.anon = anon;
        });
        whole
    }

    /// [lo, hi) is a new VMA (its pages are placed, with offsets and
    /// anon_vma): a fresh id, then vma_merge_new_range.
    pub(crate) fn new_vma(&mut self, s: usize, lo: usize, hi: usize) {
        let id = self.fresh_vma();
        self.set(s, (lo, hi), |v| v.id = id);
        let new = (lo, hi);
        let prev = (lo > 0 && self.spaces[s][lo - 1].is_some_and(|p| can_merge(&p, &self.pg(s, lo))))
            .then(|| self.vma_at(s, lo - 1).expect("mapped"));
        let next = (hi < PAGES && self.spaces[s][hi].is_some_and(|n| can_merge(&self.pg(s, hi - 1), &n)))
            .then(|| self.vma_at(s, hi).expect("mapped"))
            .filter(|n| {
                prev.is_none_or(|p| {
                    let (pa, na) = (self.pg(s, p.0).v.anon, self.pg(s, n.0).v.anon);
                    pa.is_none() || na.is_none() || pa == na
                })
            });
        let mut cur = new;
        if let Some(p) = prev {
            cur = self.join(s, p, cur);
        }
        if let Some(n) = next {
            self.join(s, cur, n);
        }
    }

    /// A copy of a VMA placed at [lo, hi) by mremap (pages moved or
    /// extended there, with their offsets and anon_vma): an unfaulted
    /// anonymous VMA takes the new address as its offset; then it is merged
    /// as a new VMA.
    pub(crate) fn placed_copy(&mut self, s: usize, lo: usize, hi: usize) {
        let first = self.pg(s, lo);
        if class(&first) == Class::Anon && first.v.anon.is_none() {
            for i in lo..hi {
                if let Some(p) = &mut self.spaces[s][i] {
                    p.v.pgoff = anon_pgoff(i);
                }
            }
        }
        self.new_vma(s, lo, hi);
    }

    /// After an operation changed VMA attributes in [lo, hi) (`before`: the
    /// space before it): each changed piece of a VMA becomes its own VMA,
    /// merged with its neighbours. A new anon_vma alone (anon_vma_prepare)
    /// is no change; one dropped by MREMAP_DONTUNMAP is, and that source is
    /// changed in place, without merges (`dontunmap`).
    pub(crate) fn modified_with(&mut self, s: usize, before: &Space, lo: usize, hi: usize, dontunmap: bool) {
        let anon_counts = dontunmap;
        // Linux changes one VMA after another, so a piece's neighbours still
        // have their old attributes when it merges: roll the range back and
        // apply the change again piece by piece.
        let after = self.spaces[s];
        let put = |into: &mut Pg, from: &Pg| {
            into.prot = from.prot;
            (into.dontfork, into.wipeonfork, into.locked, into.onfault, into.account) = flags(from);
            if anon_counts {
                into.v.anon = from.v.anon;
            }
        };
        for (p, b) in self.spaces[s][lo..hi].iter_mut().zip(&before[lo..hi]) {
            if let (Some(p), Some(b)) = (p, b) {
                put(p, b);
            }
        }
        for (a, b) in vma_list(before) {
            let (plo, phi) = (a.max(lo), b.min(hi));
            if plo >= phi {
                continue;
            }
            let changed = (plo..phi).any(|i| match (before[i], after[i]) {
                (Some(x), Some(y)) => {
                    let (a, b) = (attrs(&x), attrs(&y));
                    (a.0, a.1, a.2) != (b.0, b.1, b.2) || (anon_counts && a.3 != b.3)
                }
                _ => false,
            });
            for (p, n) in self.spaces[s][plo..phi].iter_mut().zip(&after[plo..phi]) {
                if let (Some(p), Some(n)) = (p, n) {
                    put(p, n);
                }
            }
            if !changed || (plo..phi).any(|i| self.spaces[s][i].is_none()) {
                continue;
            }
            let id = self.fresh_vma();
            self.set(s, (plo, phi), |v| v.id = id);
            if dontunmap {
                continue;
            }
            // vma_merge_existing_range: with prev, then with next.
            let mut cur = (plo, phi);
            if plo > 0 && self.spaces[s][plo - 1].is_some_and(|p| can_merge(&p, &self.pg(s, plo))) {
                let p = self.vma_at(s, plo - 1).expect("mapped");
                cur = self.join(s, p, cur);
            }
            self.merge_next(s, cur);
        }
    }

    /// `modified_with`, anon_vma changes not counting.
    pub(crate) fn modified(&mut self, s: usize, before: &Space, lo: usize, hi: usize) {
        self.modified_with(s, before, lo, hi, false);
    }

    /// Merges VMA `cur` with the next one if they may merge (also
    /// vma_merge_extend after an in-place mremap growth).
    pub(crate) fn merge_next(&mut self, s: usize, cur: (usize, usize)) {
        let hi = cur.1;
        if hi < PAGES && self.spaces[s][hi].is_some_and(|n| can_merge(&self.pg(s, hi - 1), &n)) {
            let n = self.vma_at(s, hi).expect("mapped");
            self.join(s, cur, n);
        }
    }

    /// anon_vma_prepare for the VMA of page `i`.
    pub(crate) fn anon_prepare(&mut self, s: usize, i: usize) {
        let Some((lo, hi)) = self.vma_at(s, i) else { return };
        if self.pg(s, lo).v.anon.is_some() {
            return;
        }
        let reusable = |a: Option<Anon>| a.filter(|x| !x.forked);
        let from_next = (hi < PAGES)
            .then(|| self.spaces[s][hi])
            .flatten()
            .filter(|n| anon_compatible(&self.pg(s, hi - 1), n))
            .and_then(|n| reusable(n.v.anon));
        let from_prev = (lo > 0)
            .then(|| self.spaces[s][lo - 1])
            .flatten()
            .filter(|p| anon_compatible(p, &self.pg(s, lo)))
            .and_then(|p| reusable(p.v.anon));
        let anon = match from_next.or(from_prev) {
            Some(a) => a,
            None => {
                self.next_anon += 1;
                Anon { id: self.next_anon, forked: false }
            }
        };
        self.set(s, (lo, hi), |v| v.anon = Some(anon));
    }

    /// A write fault that reached the fault handler in page `i` (private
    /// mappings get an anon_vma for their copies).
    pub(crate) fn write_fault(&mut self, s: usize, i: usize) {
        if self.spaces[s][i].is_some_and(|p| !matches!(p.kind, Kind::Shared { .. })) {
            self.anon_prepare(s, i);
        }
    }

    /// dup_mmap for child space `c`: each VMA that had an anon_vma gets a
    /// new, inherited one; VM_WIPEONFORK VMAs start without.
    pub(crate) fn forked(&mut self, c: usize) {
        for r in self.vma_list(c) {
            let p = self.pg(c, r.0);
            let anon = match p.v.anon {
                Some(_) if !p.wipeonfork => {
                    self.next_anon += 1;
                    Some(Anon { id: self.next_anon, forked: true })
                }
                _ => None,
            };
            self.set(c, r, |v| v.anon = anon);
        }
    }
}
