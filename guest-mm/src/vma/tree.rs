//! The ordered, non-overlapping set of VMAs of one address space.
//!
//! Owns lookup, splitting, removal and the two merge procedures of mm/vma.c:
//! `merge_new` (vma_merge_new_range: a new range next to existing VMAs, used by
//! mmap and by mremap's destination) and `modify` (vma_modify: change part of
//! existing VMAs, splitting as needed, then merge with the neighbours as
//! vma_merge_existing_range would). Placement of new mappings (get_unmapped_area)
//! lives here too, since it is a search over the gaps.
//!
//! Invariants: VMAs are sorted, non-empty, page-aligned and disjoint.

use super::{absorb, can_merge, Vma};
use crate::addr::VirtAddr;
use std::collections::BTreeMap;
use std::ops::Bound;

/// All VMAs of an address space, keyed by start address.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct VmaTree {
    map: BTreeMap<u64, Vma>,
}

impl VmaTree {
    pub fn new() -> Self {
        VmaTree::default()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Vma> + '_ {
        self.map.values()
    }

    /// The VMA containing `va`.
    pub fn find(&self, va: VirtAddr) -> Option<&Vma> {
        self.map.range(..=va.as_u64()).next_back().map(|(_, v)| v).filter(|v| v.contains(va))
    }

    /// The first VMA ending above `va` (Linux's find_vma).
    pub fn find_from(&self, va: VirtAddr) -> Option<&Vma> {
        if let Some(v) = self.find(va) {
            return Some(v);
        }
        self.map.range((Bound::Excluded(va.as_u64()), Bound::Unbounded)).next().map(|(_, v)| v)
    }

    /// The VMA ending at or below `va`, nearest to it.
    pub fn prev_of(&self, va: VirtAddr) -> Option<&Vma> {
        self.map.range(..va.as_u64()).next_back().map(|(_, v)| v).filter(|v| v.end <= va)
    }

    /// The VMA starting at or above `va`, nearest to it.
    pub fn next_of(&self, va: VirtAddr) -> Option<&Vma> {
        self.map.range(va.as_u64()..).next().map(|(_, v)| v)
    }

    /// VMAs overlapping `[start, end)`, in order.
    pub fn overlapping(&self, start: VirtAddr, end: VirtAddr) -> impl Iterator<Item = &Vma> + '_ {
        let first = self.find(start).map_or(start.as_u64(), |v| v.start.as_u64());
        self.map.range(first..end.as_u64()).map(|(_, v)| v).filter(move |v| v.end > start)
    }

    /// Whether any VMA overlaps `[start, end)`.
    pub fn intersects(&self, start: VirtAddr, end: VirtAddr) -> bool {
        self.overlapping(start, end).next().is_some()
    }

    /// Whether `[start, end)` is entirely covered by VMAs, without holes.
    pub fn covers(&self, start: VirtAddr, end: VirtAddr) -> bool {
        let mut at = start;
        for v in self.overlapping(start, end) {
            if v.start > at {
                return false;
            }
            at = v.end;
            if at >= end {
                return true;
            }
        }
        at >= end
    }

    /// Inserts a VMA that overlaps nothing.
    pub fn insert(&mut self, v: Vma) {
        debug_assert!(!v.is_empty() && !self.intersects(v.start, v.end), "inserting overlapping {v:?}");
        self.map.insert(v.start.as_u64(), v);
    }

    /// Removes and returns the VMA starting at `start`.
    pub fn remove_at(&mut self, start: VirtAddr) -> Option<Vma> {
        self.map.remove(&start.as_u64())
    }

    /// The VMA starting at `start`.
    pub fn get(&self, start: VirtAddr) -> Option<&Vma> {
        self.map.get(&start.as_u64())
    }

    /// Mutable access to the VMA starting at `start`.
    pub fn get_mut(&mut self, start: VirtAddr) -> Option<&mut Vma> {
        self.map.get_mut(&start.as_u64())
    }

    /// Splits the VMA strictly containing `at` into `[start, at)` and `[at, end)`.
    pub fn split_at(&mut self, at: VirtAddr) {
        let Some(v) = self.find(at).cloned() else {
            return;
        };
        if v.start == at {
            return;
        }
        let right = v.slice(at, v.end);
        let left = self.map.get_mut(&v.start.as_u64()).expect("found above");
        left.end = at;
        self.map.insert(at.as_u64(), right);
    }

    /// Removes everything in `[start, end)`, splitting VMAs that straddle the
    /// edges; returns the removed pieces in order.
    pub fn remove_range(&mut self, start: VirtAddr, end: VirtAddr) -> Vec<Vma> {
        self.split_at(start);
        self.split_at(end);
        let keys: Vec<u64> = self.map.range(start.as_u64()..end.as_u64()).map(|(k, _)| *k).collect();
        keys.into_iter().filter_map(|k| self.map.remove(&k)).collect()
    }

    /// Places `new` (whose range is free) and merges it with its neighbours
    /// where Linux would (vma_merge_new_range). Returns the start of the VMA
    /// that now contains the new range.
    pub fn merge_new(&mut self, new: Vma) -> VirtAddr {
        let (start, end) = (new.start, new.end);
        let prev = self.prev_of(start).filter(|p| p.end == start && can_merge(p, &new)).cloned();
        // can_vma_merge_right: merging both ways also needs prev and next compatible.
        let next = self
            .next_of(end)
            .filter(|n| n.start == end && can_merge(&new, n))
            .filter(|n| prev.as_ref().is_none_or(|p| p.anon.is_none() || n.anon.is_none() || p.anon == n.anon))
            .cloned();
        match (prev, next) {
            (Some(p), Some(n)) => {
                self.map.remove(&n.start.as_u64());
                let pv = self.map.get_mut(&p.start.as_u64()).expect("prev exists");
                pv.end = n.end;
                absorb(pv, &new);
                absorb(pv, &n);
                p.start
            }
            (Some(p), None) => {
                let pv = self.map.get_mut(&p.start.as_u64()).expect("prev exists");
                pv.end = end;
                absorb(pv, &new);
                p.start
            }
            (None, Some(n)) => {
                let mut nv = self.map.remove(&n.start.as_u64()).expect("next exists");
                nv.start = start;
                nv.pgoff = new.pgoff;
                absorb(&mut nv, &new);
                self.map.insert(start.as_u64(), nv);
                start
            }
            (None, None) => {
                self.insert(new);
                start
            }
        }
    }

    /// Applies `change` to the parts of VMAs inside `[start, end)` (which must
    /// be fully covered), splitting at the edges, then merges each changed
    /// piece with its neighbours where Linux's vma_merge_existing_range would.
    /// Returns how many pieces were changed.
    pub fn modify(&mut self, start: VirtAddr, end: VirtAddr, change: impl FnMut(&mut Vma)) -> usize {
        self.modify_pieces(start, end, change, true)
    }

    /// `modify` without the merges: each changed piece stays a VMA of its own
    /// (what vm_flags_clear on an already split VMA leaves, as mremap's
    /// dontunmap_complete does).
    pub fn modify_without_merging(&mut self, start: VirtAddr, end: VirtAddr, change: impl FnMut(&mut Vma)) -> usize {
        self.modify_pieces(start, end, change, false)
    }

    fn modify_pieces(&mut self, start: VirtAddr, end: VirtAddr, mut change: impl FnMut(&mut Vma), merge: bool) -> usize {
        let pieces: Vec<Vma> = self.overlapping(start, end).cloned().collect();
        let mut count = 0;
        for orig in pieces {
            let lo = orig.start.max(start);
            let hi = orig.end.min(end);
            let mut changed = orig.slice(lo, hi);
            change(&mut changed);
            if changed == orig.slice(lo, hi) {
                continue;
            }
            count += 1;
            self.split_at(lo);
            self.split_at(hi);
            self.map.insert(lo.as_u64(), changed);
            if merge {
                self.merge_around(lo);
            }
        }
        count
    }

    /// Merges the VMA starting at `at` with its previous and next neighbours
    /// when allowed. Linux attempts this only for the range an operation
    /// changed, which is why it is not a global normalisation.
    fn merge_around(&mut self, at: VirtAddr) {
        let Some(mid) = self.map.get(&at.as_u64()).cloned() else { return };
        let mut start = mid.start;
        if let Some(p) = self.prev_of(mid.start).filter(|p| can_merge(p, &mid)).cloned() {
            self.map.remove(&mid.start.as_u64());
            let pv = self.map.get_mut(&p.start.as_u64()).expect("prev exists");
            pv.end = mid.end;
            absorb(pv, &mid);
            start = p.start;
        }
        let cur = self.map.get(&start.as_u64()).cloned().expect("current exists");
        if let Some(n) = self.next_of(cur.end).filter(|n| can_merge(&cur, n)).cloned() {
            self.map.remove(&n.start.as_u64());
            let cv = self.map.get_mut(&start.as_u64()).expect("current exists");
            cv.end = n.end;
            absorb(cv, &n);
        }
    }

    /// Highest free range of `len` bytes inside `[low, high)` (top-down placement,
    /// Linux's unmapped_area_topdown). A VM_GROWSDOWN VMA claims its guard gap
    /// too (vm_start_gap): unmapped_area_topdown retries below it when the gap
    /// it found reaches into it, which is the same as treating it as taken.
    pub fn gap_topdown(&self, len: u64, low: u64, high: u64) -> Option<VirtAddr> {
        if len == 0 || high < low || high - low < len {
            return None;
        }
        let mut ceiling = high;
        let reach = high.saturating_add(super::STACK_GUARD_GAP);
        for v in self.map.range(..reach).rev().map(|(_, v)| v) {
            let vend = v.end.as_u64();
            if vend <= ceiling && ceiling - vend >= len {
                let cand = ceiling - len;
                if cand >= low {
                    return Some(VirtAddr::new(cand));
                }
                return None;
            }
            ceiling = ceiling.min(v.start_gap());
            if ceiling < low.saturating_add(len) {
                return None;
            }
        }
        if ceiling >= low + len {
            Some(VirtAddr::new(ceiling - len))
        } else {
            None
        }
    }

    /// Lowest free range of `len` bytes inside `[low, high)` (bottom-up
    /// placement, Linux's unmapped_area): a gap is refused when the VMA right
    /// after it is a growing stack whose guard gap it would reach into.
    pub fn gap_bottomup(&self, len: u64, low: u64, high: u64) -> Option<VirtAddr> {
        if len == 0 || high < low || high - low < len {
            return None;
        }
        let mut floor = low;
        for v in self.map.values() {
            if v.end.as_u64() <= floor {
                continue;
            }
            if v.start_gap() >= floor.saturating_add(len) {
                break;
            }
            floor = v.end.as_u64();
        }
        if floor.checked_add(len).is_some_and(|e| e <= high) {
            Some(VirtAddr::new(floor))
        } else {
            None
        }
    }

    /// Checks order, alignment and disjointness.
    pub fn check(&self) -> Result<(), String> {
        let mut last_end = 0u64;
        for (k, v) in &self.map {
            if *k != v.start.as_u64() {
                return Err(format!("VMA {v:?} keyed at {k:#x}"));
            }
            if v.is_empty() || !v.start.is_page_aligned() || !v.end.is_page_aligned() {
                return Err(format!("VMA {v:?} is empty or unaligned"));
            }
            if v.start.as_u64() < last_end {
                return Err(format!("VMA {v:?} overlaps the previous one (ending {last_end:#x})"));
            }
            last_end = v.end.as_u64();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vma::{Backing, VmFlags};

    const RW: VmFlags = VmFlags::READ.union(VmFlags::WRITE);

    fn anon(start: u64, end: u64, flags: VmFlags) -> Vma {
        Vma { start: VirtAddr::new(start), end: VirtAddr::new(end), flags, pgoff: start >> 12, backing: Backing::Anon, anon: None }
    }

    fn ranges(t: &VmaTree) -> Vec<(u64, u64)> {
        t.iter().map(|v| (v.start.as_u64(), v.end.as_u64())).collect()
    }

    #[test]
    fn new_mapping_merges_with_both_neighbours() {
        let mut t = VmaTree::new();
        t.merge_new(anon(0x1000, 0x2000, RW));
        t.merge_new(anon(0x3000, 0x4000, RW));
        t.merge_new(anon(0x2000, 0x3000, RW));
        assert_eq!(ranges(&t), vec![(0x1000, 0x4000)]);
        t.check().unwrap();
    }

    #[test]
    fn mprotect_middle_splits_vma_and_restoring_merges_back() {
        let mut t = VmaTree::new();
        t.merge_new(anon(0x1000, 0x5000, RW));
        t.modify(VirtAddr::new(0x2000), VirtAddr::new(0x3000), |v| v.flags = VmFlags::READ);
        assert_eq!(ranges(&t), vec![(0x1000, 0x2000), (0x2000, 0x3000), (0x3000, 0x5000)]);
        t.modify(VirtAddr::new(0x2000), VirtAddr::new(0x3000), |v| v.flags = RW);
        assert_eq!(ranges(&t), vec![(0x1000, 0x5000)]);
        t.check().unwrap();
    }

    #[test]
    fn remove_range_splits_edges() {
        let mut t = VmaTree::new();
        t.merge_new(anon(0x1000, 0x5000, RW));
        let gone = t.remove_range(VirtAddr::new(0x2000), VirtAddr::new(0x3000));
        assert_eq!(gone.len(), 1);
        assert_eq!(ranges(&t), vec![(0x1000, 0x2000), (0x3000, 0x5000)]);
        assert_eq!(t.find(VirtAddr::new(0x3000)).unwrap().pgoff, 3);
    }

    #[test]
    fn gaps_are_found_from_the_top_and_the_bottom() {
        let mut t = VmaTree::new();
        t.merge_new(anon(0x10000, 0x20000, RW));
        assert_eq!(t.gap_topdown(0x1000, 0x1000, 0x20000), Some(VirtAddr::new(0xf000)));
        assert_eq!(t.gap_topdown(0x1000, 0x1000, 0x30000), Some(VirtAddr::new(0x2f000)));
        assert_eq!(t.gap_bottomup(0x10000, 0x1000, 0x40000), Some(VirtAddr::new(0x20000)));
        assert_eq!(t.gap_bottomup(0x1000, 0x1000, 0x40000), Some(VirtAddr::new(0x1000)));
        assert!(t.covers(VirtAddr::new(0x10000), VirtAddr::new(0x20000)));
        assert!(!t.covers(VirtAddr::new(0xf000), VirtAddr::new(0x20000)));
    }
}
