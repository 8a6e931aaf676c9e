//! PAGEMAP_SCAN's walk on the engine (guest_mm::pagemap_scan): categories of
//! present, zero-page, guard and absent pages, the masks, the bounce buffer
//! and max_pages stopping the walk with walk_end, PM_SCAN_CHECK_WPASYNC and
//! PM_SCAN_WP_MATCHING, and a scan of the whole user half over a huge
//! reservation visiting only what is populated. The ioctl itself is compared
//! with the host kernel by tests/abi/pagemap_scan.c.
mod common;

use common::*;
use guest_mm::ops::madvise::MADV_GUARD_INSTALL;
use guest_mm::ops::map;
use guest_mm::ops::mmap::MmapArgs;
use guest_mm::pagemap_scan::{PageRegion, ScanQuery, ScanState};
use guest_mm::sim::SimCpu;
use guest_mm::vma::Prot;
use guest_mm::{AsId, Engine, Errno, VirtAddr, PAGE_SIZE};
use linux_abi::pagemap::*;

const ALL: u64 = PM_SCAN_CATEGORIES;

fn query(mask: u64, inverted: u64, anyof: u64, ret: u64) -> ScanQuery {
    ScanQuery {
        flags: 0,
        max_pages: u64::MAX,
        category_inverted: inverted,
        category_mask: mask,
        category_anyof_mask: anyof,
        return_mask: ret,
    }
}

/// Pages 0-1 written, 2 read (zero page), 3 untouched, 4 a guard marker, 5-7 untouched.
fn layout() -> (Engine<Mem>, AsId, u64) {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let a = applied!(cpu, e, e.mmap(s, MmapArgs::anon(8 * PAGE_SIZE, Prot::READ | Prot::WRITE))).unwrap();
    cpu.write_u8(&mut e, s, a, 1).unwrap();
    cpu.write_u8(&mut e, s, a.add(PAGE_SIZE), 1).unwrap();
    assert_eq!(cpu.read_u8(&mut e, s, a.add(2 * PAGE_SIZE)).unwrap(), Ok(0));
    applied!(cpu, e, e.madvise(s, a.as_u64() + 4 * PAGE_SIZE, PAGE_SIZE, MADV_GUARD_INSTALL)).unwrap();
    (e, s, a.as_u64())
}

fn regions(base: u64, st: &ScanState) -> Vec<(u64, u64, u64)> {
    st.filled().iter().map(|r: &PageRegion| ((r.start - base) / PAGE_SIZE, (r.end - base) / PAGE_SIZE, r.categories)).collect()
}

#[test]
fn each_page_gets_its_categories_and_runs_merge() {
    let (e, s, a) = layout();
    let mut st = ScanState::new(query(0, 0, 0, ALL), 64);
    e.pagemap_scan_walk(s, a, a + 8 * PAGE_SIZE, &mut st).unwrap();
    let p = PAGE_IS_PRESENT | PAGE_IS_WRITTEN;
    assert_eq!(
        regions(a, &st),
        [
            (0, 2, p),
            (2, 3, p | PAGE_IS_PFNZERO),
            (3, 4, PAGE_IS_WRITTEN),
            (4, 5, PAGE_IS_SWAPPED | PAGE_IS_WRITTEN | PAGE_IS_GUARD),
            (5, 8, PAGE_IS_WRITTEN)
        ]
    );
    assert_eq!(st.walk_end, 0, "a walk that ends normally leaves walk_end alone");
}

#[test]
fn masks_select_and_return_mask_merges() {
    let (e, s, a) = layout();
    let end = a + 8 * PAGE_SIZE;
    let mut st = ScanState::new(query(0, 0, PAGE_IS_GUARD | PAGE_IS_PFNZERO, PAGE_IS_GUARD), 64);
    e.pagemap_scan_walk(s, a, end, &mut st).unwrap();
    assert_eq!(regions(a, &st), [(2, 3, 0), (4, 5, PAGE_IS_GUARD)]);
    let mut st = ScanState::new(query(PAGE_IS_PRESENT, PAGE_IS_PRESENT, 0, PAGE_IS_PRESENT), 64);
    e.pagemap_scan_walk(s, a, end, &mut st).unwrap();
    assert_eq!(regions(a, &st), [(3, 8, 0)], "absent pages, their categories masked to nothing, merge");
    let mut st = ScanState::new(query(PAGE_IS_WPALLOWED, 0, 0, ALL), 64);
    e.pagemap_scan_walk(s, a, end, &mut st).unwrap();
    assert!(st.filled().is_empty(), "no VMA allows write-protection");
}

#[test]
fn a_full_buffer_or_max_pages_stops_the_walk_at_walk_end() {
    let (e, s, a) = layout();
    let end = a + 8 * PAGE_SIZE;
    let mut st = ScanState::new(query(PAGE_IS_PRESENT, 0, 0, ALL), 1);
    assert_eq!(e.pagemap_scan_walk(s, a, end, &mut st), Err(Errno::ENOSPC));
    assert_eq!((regions(a, &st), (st.walk_end - a) / PAGE_SIZE), (vec![(0, 2, PAGE_IS_PRESENT | PAGE_IS_WRITTEN)], 2));
    let mut q = query(PAGE_IS_PRESENT, 0, 0, PAGE_IS_PRESENT);
    q.max_pages = 2;
    let mut st = ScanState::new(q, 64);
    assert_eq!(e.pagemap_scan_walk(s, a, end, &mut st), Err(Errno::ENOSPC));
    assert_eq!(regions(a, &st), [(0, 2, PAGE_IS_PRESENT)]);
    assert_eq!((st.walk_end - a) / PAGE_SIZE, 2, "stopped at the next page it would report");
    assert_eq!(st.found_pages, 2);
}

#[test]
fn wp_flags_refuse_or_skip_every_vma() {
    let (e, s, a) = layout();
    let mut q = query(0, 0, 0, ALL);
    q.flags = PM_SCAN_CHECK_WPASYNC;
    assert_eq!(e.pagemap_scan_walk(s, a, a + PAGE_SIZE, &mut ScanState::new(q, 8)), Err(Errno::EPERM));
    q.flags = PM_SCAN_WP_MATCHING;
    let mut st = ScanState::new(q, 8);
    e.pagemap_scan_walk(s, a, a + 8 * PAGE_SIZE, &mut st).unwrap();
    assert!(st.filled().is_empty());
    // No VMA in the range: nothing to refuse.
    q.flags = PM_SCAN_CHECK_WPASYNC;
    assert_eq!(e.pagemap_scan_walk(s, a + 64 * PAGE_SIZE, a + 65 * PAGE_SIZE, &mut ScanState::new(q, 8)), Ok(()));
}

#[test]
fn a_huge_reservation_is_walked_by_what_it_holds() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    // 64 TiB of PROT_NONE address space with two pages populated in it.
    let mut m = MmapArgs::anon(1 << 46, Prot::empty());
    m.flags |= map::NORESERVE;
    let r = applied!(cpu, e, e.mmap(s, m)).unwrap().as_u64();
    let mut w = MmapArgs::anon(PAGE_SIZE, Prot::READ | Prot::WRITE);
    w.flags |= map::FIXED;
    for at in [r + (1 << 40), r + (1 << 45)] {
        w.addr = at;
        applied!(cpu, e, e.mmap(s, w)).unwrap();
        cpu.write_u8(&mut e, s, VirtAddr::new(at), 1).unwrap();
    }
    let mut st = ScanState::new(query(PAGE_IS_PRESENT, 0, 0, PAGE_IS_PRESENT), 16);
    e.pagemap_scan_walk(s, 0, 0x7fff_ffff_f000, &mut st).unwrap();
    let got: Vec<u64> = st.filled().iter().map(|p| p.start - r).collect();
    assert_eq!(got, [1 << 40, 1 << 45]);
}
