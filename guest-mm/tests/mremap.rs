//! mremap: shrink, expand in place, expand by moving, FIXED, DONTUNMAP,
//! markers, and seed 001's rule that the destination is checked like mmap's.
mod common;

use common::*;
use guest_mm::ops::map;
use guest_mm::ops::mmap::MmapArgs;
use guest_mm::ops::mremap::{MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE};
use guest_mm::sim::SimCpu;
use guest_mm::vma::Prot;
use guest_mm::{AsId, Engine, Errno, SiCode, VirtAddr, PAGE_SIZE};

const P: u64 = PAGE_SIZE;

fn setup() -> (Engine<Mem>, SimCpu, AsId) {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    (e, cpu, s)
}

fn anon_at(e: &mut Engine<Mem>, cpu: &mut SimCpu, s: AsId, addr: u64, pages: u64) -> VirtAddr {
    let a = MmapArgs {
        addr,
        flags: map::PRIVATE | map::ANONYMOUS | if addr != 0 { map::FIXED } else { 0 },
        ..MmapArgs::anon(pages * P, Prot::READ | Prot::WRITE)
    };
    applied!(cpu, e, e.mmap(s, a)).unwrap()
}

fn fill(e: &mut Engine<Mem>, cpu: &mut SimCpu, s: AsId, a: VirtAddr, pages: u64) {
    for i in 0..pages {
        cpu.write_u8(e, s, a.add(i * P), i as u8 + 1).unwrap();
    }
}

fn check(e: &mut Engine<Mem>, cpu: &mut SimCpu, s: AsId, a: VirtAddr, pages: u64) {
    for i in 0..pages {
        assert_eq!(cpu.read_u8(e, s, a.add(i * P)).unwrap(), Ok(i as u8 + 1), "page {i} at {a}");
    }
}

#[test]
fn shrink_unmaps_the_tail() {
    let (mut e, mut cpu, s) = setup();
    let a = anon_at(&mut e, &mut cpu, s, 0, 4);
    fill(&mut e, &mut cpu, s, a, 4);
    assert_eq!(applied!(cpu, e, e.mremap(s, a.as_u64(), 4 * P, 2 * P, 0, 0)), Ok(a));
    check(&mut e, &mut cpu, s, a, 2);
    assert_eq!(cpu.read_u8(&mut e, s, a.add(2 * P)).unwrap().unwrap_err().code, SiCode::SegvMaperr);
}

#[test]
fn expand_in_place_when_the_space_after_is_free() {
    let (mut e, mut cpu, s) = setup();
    let a = anon_at(&mut e, &mut cpu, s, 0x1000_0000, 2);
    fill(&mut e, &mut cpu, s, a, 2);
    assert_eq!(applied!(cpu, e, e.mremap(s, a.as_u64(), 2 * P, 4 * P, 0, 0)), Ok(a));
    check(&mut e, &mut cpu, s, a, 2);
    assert_eq!(cpu.read_u8(&mut e, s, a.add(3 * P)).unwrap(), Ok(0));
    assert_eq!(e.space(s).unwrap().vmas().len(), 1);
}

#[test]
fn expand_over_a_neighbour_needs_maymove_and_moves_the_data() {
    let (mut e, mut cpu, s) = setup();
    let a = anon_at(&mut e, &mut cpu, s, 0x1000_0000, 2);
    anon_at(&mut e, &mut cpu, s, 0x1000_0000 + 2 * P, 1);
    fill(&mut e, &mut cpu, s, a, 2);
    assert_eq!(applied!(cpu, e, e.mremap(s, a.as_u64(), 2 * P, 4 * P, 0, 0)), Err(Errno::ENOMEM));
    let b = applied!(cpu, e, e.mremap(s, a.as_u64(), 2 * P, 4 * P, MREMAP_MAYMOVE, 0)).unwrap();
    assert_ne!(a, b);
    check(&mut e, &mut cpu, s, b, 2);
    assert_eq!(cpu.read_u8(&mut e, s, a).unwrap().unwrap_err().code, SiCode::SegvMaperr, "the old range is gone");
}

#[test]
fn fixed_move_replaces_the_destination_and_rejects_overlap() {
    let (mut e, mut cpu, s) = setup();
    let a = anon_at(&mut e, &mut cpu, s, 0x1000_0000, 3);
    let d = anon_at(&mut e, &mut cpu, s, 0x2000_0000, 3);
    fill(&mut e, &mut cpu, s, a, 3);
    let f = MREMAP_MAYMOVE | MREMAP_FIXED;
    assert_eq!(applied!(cpu, e, e.mremap(s, a.as_u64(), 3 * P, 3 * P, f, a.as_u64() + P)), Err(Errno::EINVAL), "overlap");
    assert_eq!(
        applied!(cpu, e, e.mremap(s, a.as_u64(), 3 * P, 3 * P, MREMAP_FIXED, d.as_u64())),
        Err(Errno::EINVAL),
        "FIXED needs MAYMOVE"
    );
    assert_eq!(applied!(cpu, e, e.mremap(s, a.as_u64(), 3 * P, 3 * P, f, d.as_u64())), Ok(d));
    check(&mut e, &mut cpu, s, d, 3);
}

#[test]
fn dontunmap_leaves_an_empty_source() {
    let (mut e, mut cpu, s) = setup();
    let a = anon_at(&mut e, &mut cpu, s, 0x1000_0000, 2);
    fill(&mut e, &mut cpu, s, a, 2);
    let b = applied!(cpu, e, e.mremap(s, a.as_u64(), 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0)).unwrap();
    check(&mut e, &mut cpu, s, b, 2);
    assert_eq!(cpu.read_u8(&mut e, s, a).unwrap(), Ok(0), "the source stays mapped, with fresh zero pages");
    assert_eq!(
        applied!(cpu, e, e.mremap(s, b.as_u64(), 2 * P, 3 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0)),
        Err(Errno::EINVAL),
        "DONTUNMAP cannot resize"
    );
}

#[test]
fn guard_markers_move_with_their_pages_and_stay_at_offsets_on_expand() {
    let (mut e, mut cpu, s) = setup();
    let a = anon_at(&mut e, &mut cpu, s, 0x1000_0000, 4);
    applied!(cpu, e, e.madvise(s, a.as_u64() + P, P, guest_mm::ops::madvise::MADV_GUARD_INSTALL)).unwrap();
    let b = applied!(cpu, e, e.mremap(s, a.as_u64(), 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED, 0x3000_0000)).unwrap();
    assert_eq!(cpu.read_u8(&mut e, s, b.add(P)).unwrap().unwrap_err().code, SiCode::SegvMaperr, "the guard moved");
    assert_eq!(cpu.read_u8(&mut e, s, b).unwrap(), Ok(0));
    let c = applied!(cpu, e, e.mremap(s, b.as_u64(), 4 * P, 8 * P, MREMAP_MAYMOVE, 0)).unwrap();
    assert_eq!(cpu.read_u8(&mut e, s, c.add(P)).unwrap().unwrap_err().code, SiCode::SegvMaperr, "still at its offset");
    assert_eq!(cpu.read_u8(&mut e, s, c.add(6 * P)).unwrap(), Ok(0));
}

/// Seed 001: mremap may only grow into or move to a range mmap would accept.
#[test]
fn destination_is_checked_like_mmap() {
    let (mut e, mut cpu, s) = setup();
    let top = guest_mm::TASK_SIZE - 2 * P;
    let a = anon_at(&mut e, &mut cpu, s, top, 2);
    // Growing past TASK_SIZE in place is impossible and without MAYMOVE fails.
    assert_eq!(applied!(cpu, e, e.mremap(s, a.as_u64(), 2 * P, 4 * P, 0, 0)), Err(Errno::ENOMEM));
    // Moving below mmap_min_addr is refused as mmap(MAP_FIXED) would be.
    let b = anon_at(&mut e, &mut cpu, s, 0, 1);
    assert_eq!(applied!(cpu, e, e.mremap(s, b.as_u64(), P, P, MREMAP_MAYMOVE | MREMAP_FIXED, 0)), Err(Errno::EPERM));
    // Beyond the user range: EINVAL from the parameter check.
    assert_eq!(applied!(cpu, e, e.mremap(s, b.as_u64(), P, P, MREMAP_MAYMOVE | MREMAP_FIXED, guest_mm::TASK_SIZE)), Err(Errno::EINVAL));
    e.check_invariants().unwrap();
}

#[test]
fn hostile_arguments_get_errors_not_panics() {
    let (mut e, mut cpu, s) = setup();
    let a = anon_at(&mut e, &mut cpu, s, 0, 2);
    for (addr, old, new, flags, na) in [
        (a.as_u64() + 1, P, P, 0, 0),
        (a.as_u64(), P, 0, 0, 0),
        (a.as_u64(), P, u64::MAX, MREMAP_MAYMOVE, 0),
        (a.as_u64(), u64::MAX, P, 0, 0),
        (a.as_u64(), P, P, 0x80, 0),
        (!0xfff, P, 2 * P, MREMAP_MAYMOVE, 0),
        (a.as_u64(), P, P, MREMAP_MAYMOVE | MREMAP_FIXED, !0xfff),
        (0, 0, P, MREMAP_MAYMOVE, 0),
    ] {
        let r = applied!(cpu, e, e.mremap(s, addr, old, new, flags, na));
        assert!(r.is_err(), "mremap({addr:#x}, {old:#x}, {new:#x}, {flags:#x}, {na:#x}) = {r:?}");
    }
}

// The rules below were checked on the host kernel (Linux 6.18) with the same
// steps as a scenario under `vmm diff`; the page model (tests/model) decides
// them from its own VMA boundaries too.

/// Two adjacent VMAs that cannot merge (different protection): a range that
/// starts in the first and runs past its end may not be resized (vma_lookup
/// finds the first; old_len > vm_end - addr is EFAULT, with or without
/// MAYMOVE, FIXED or not), but moved at the same size it may (every VMA in
/// it moves).
#[test]
fn resizing_a_range_that_crosses_a_vma_end_is_efault() {
    let (mut e, mut cpu, s) = setup();
    let base = 0x1000_0000;
    let a = anon_at(&mut e, &mut cpu, s, base, 2);
    let ro = MmapArgs { addr: base + 2 * P, flags: map::PRIVATE | map::ANONYMOUS | map::FIXED, ..MmapArgs::anon(2 * P, Prot::READ) };
    applied!(cpu, e, e.mmap(s, ro)).unwrap();
    fill(&mut e, &mut cpu, s, a, 2);
    assert_eq!(e.space(s).unwrap().vmas().len(), 2);
    for (new, flags, to) in [(5 * P, MREMAP_MAYMOVE, 0), (5 * P, 0, 0), (6 * P, MREMAP_MAYMOVE | MREMAP_FIXED, 0x2000_0000)] {
        assert_eq!(applied!(cpu, e, e.mremap(s, a.as_u64(), 3 * P, new, flags, to)), Err(Errno::EFAULT), "new {new:#x} flags {flags:#x}");
    }
    check(&mut e, &mut cpu, s, a, 2);
    // Same size, moved: both VMAs go.
    let f = MREMAP_MAYMOVE | MREMAP_FIXED;
    assert_eq!(applied!(cpu, e, e.mremap(s, a.as_u64(), 3 * P, 3 * P, f, 0x2000_0000)), Ok(VirtAddr::new(0x2000_0000)));
    check(&mut e, &mut cpu, s, VirtAddr::new(0x2000_0000), 2);
    assert_eq!(cpu.read_u8(&mut e, s, a).unwrap().unwrap_err().code, SiCode::SegvMaperr);
    e.check_invariants().unwrap();
}

/// In-place growth needs the range to end at its VMA's end and free room
/// after it up to the new end: growing a prefix, or one page into the next
/// VMA, is ENOMEM without MAYMOVE; a suffix grows its VMA; growing exactly
/// up to the next VMA keeps the address, the data and one VMA.
#[test]
fn growth_in_place_needs_the_vma_end_and_room_up_to_the_next_vma() {
    let (mut e, mut cpu, s) = setup();
    let base = 0x1000_0000;
    let a = anon_at(&mut e, &mut cpu, s, base, 4);
    let ro = MmapArgs { addr: base + 8 * P, flags: map::PRIVATE | map::ANONYMOUS | map::FIXED, ..MmapArgs::anon(P, Prot::READ) };
    applied!(cpu, e, e.mmap(s, ro)).unwrap();
    fill(&mut e, &mut cpu, s, a, 4);
    assert_eq!(applied!(cpu, e, e.mremap(s, a.as_u64(), 2 * P, 3 * P, 0, 0)), Err(Errno::ENOMEM), "a prefix of the VMA");
    assert_eq!(applied!(cpu, e, e.mremap(s, a.as_u64() + P, 3 * P, 4 * P, 0, 0)), Ok(a.add(P)), "a suffix grows in place");
    assert_eq!(applied!(cpu, e, e.mremap(s, a.as_u64(), 5 * P, 9 * P, 0, 0)), Err(Errno::ENOMEM), "one page into the next VMA");
    assert_eq!(applied!(cpu, e, e.mremap(s, a.as_u64(), 5 * P, 8 * P, 0, 0)), Ok(a), "exactly up to the next VMA");
    check(&mut e, &mut cpu, s, a, 4);
    assert_eq!(cpu.read_u8(&mut e, s, a.add(7 * P)).unwrap(), Ok(0), "the new tail is fresh");
    let vmas: Vec<(u64, u64)> = e.space(s).unwrap().vmas().iter().map(|v| (v.start.as_u64(), v.end.as_u64())).collect();
    assert_eq!(vmas, vec![(base, base + 8 * P), (base + 8 * P, base + 9 * P)]);
    e.check_invariants().unwrap();
}
