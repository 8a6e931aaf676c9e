//! brk(2) as Linux 6.18 answers it (mm/mmap.c; values checked against the
//! host kernel with a static C program, see docs/ARCHITECTURE.md): the heap
//! is private anonymous memory, so these run for the anonymous backing only.
mod common;

use common::*;
use guest_mm::ops::map;
use guest_mm::ops::mmap::{MapFile, MmapArgs};
use guest_mm::sim::SimCpu;
use guest_mm::vma::Prot;
use guest_mm::{AsId, Engine, Rlimit, SiCode, VirtAddr, PAGE_SIZE, TASK_SIZE};

/// The end of a program's bss (the heap starts here) and its data VMA below.
const BSS_END: u64 = 0x420000;

/// A space with a 6-page rw bss VMA ending at BSS_END and the break there.
fn program(e: &mut Engine<Mem>, cpu: &mut SimCpu) -> AsId {
    let s = space(e, cpu);
    let bss = MmapArgs { addr: BSS_END - 6 * PAGE_SIZE, flags: map::PRIVATE | map::ANONYMOUS | map::FIXED, ..rw(6) };
    applied!(cpu, e, e.mmap(s, bss)).unwrap();
    e.set_brk_base(s, VirtAddr::new(BSS_END)).unwrap();
    applied!(cpu, e, e.setup_arg_pages(s, TASK_SIZE, 100, false)).unwrap();
    e.set_start_stack(s, VirtAddr::new(TASK_SIZE - 100)).unwrap();
    s
}

fn rw(pages: u64) -> MmapArgs {
    MmapArgs::anon(pages * PAGE_SIZE, Prot::READ | Prot::WRITE)
}

fn brk(cpu: &mut SimCpu, e: &mut Engine<Mem>, s: AsId, v: u64) -> u64 {
    applied!(cpu, e, e.brk(s, v))
}

/// The maps lines as (start, end, perms, name).
fn maps(e: &Engine<Mem>, s: AsId) -> Vec<(u64, u64, String, String)> {
    e.maps(s, false)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("[stack]"))
        .map(|l| {
            let (range, rest) = l.split_once(' ').unwrap();
            let (a, b) = range.split_once('-').unwrap();
            let perms = rest[..4].to_string();
            let name = rest.split_whitespace().nth(4).unwrap_or("").to_string();
            (u64::from_str_radix(a, 16).unwrap(), u64::from_str_radix(b, 16).unwrap(), perms, name)
        })
        .collect()
}

#[test]
fn an_empty_heap_is_not_named_and_the_first_growth_does_not_merge_with_the_bss() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = program(&mut e, &mut cpu);
    assert_eq!(brk(&mut cpu, &mut e, s, 0), BSS_END);
    assert_eq!(maps(&e, s), vec![(BSS_END - 6 * PAGE_SIZE, BSS_END, "rw-p".into(), "".into())]);
    assert_eq!(brk(&mut cpu, &mut e, s, BSS_END + 1), BSS_END + 1);
    assert_eq!(
        maps(&e, s),
        vec![(BSS_END - 6 * PAGE_SIZE, BSS_END, "rw-p".into(), "".into()), (BSS_END, BSS_END + PAGE_SIZE, "rw-p".into(), "[heap]".into())]
    );
    assert_eq!(cpu.write_u8(&mut e, s, VirtAddr::new(BSS_END + 5), 1).unwrap(), None);
}

#[test]
fn growth_extends_the_heap_and_a_shrink_discards_what_it_gives_back() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = program(&mut e, &mut cpu);
    let h = BSS_END;
    assert_eq!(brk(&mut cpu, &mut e, s, h + 2 * PAGE_SIZE + 1), h + 2 * PAGE_SIZE + 1);
    assert_eq!(maps(&e, s)[1], (h, h + 3 * PAGE_SIZE, "rw-p".into(), "[heap]".into()));
    for i in 0..3 {
        assert_eq!(cpu.write_u8(&mut e, s, VirtAddr::new(h + i * PAGE_SIZE), 7).unwrap(), None);
    }
    // Within the same page: only the value changes.
    assert_eq!(brk(&mut cpu, &mut e, s, h + 2 * PAGE_SIZE + 10), h + 2 * PAGE_SIZE + 10);
    assert_eq!(maps(&e, s)[1].1, h + 3 * PAGE_SIZE);
    assert_eq!(brk(&mut cpu, &mut e, s, h + 10), h + 10);
    assert_eq!(maps(&e, s)[1], (h, h + PAGE_SIZE, "rw-p".into(), "[heap]".into()));
    let sig = cpu.read_u8(&mut e, s, VirtAddr::new(h + PAGE_SIZE)).unwrap().unwrap_err();
    assert_eq!(sig.code, SiCode::SegvMaperr);
    assert_eq!(brk(&mut cpu, &mut e, s, h + 2 * PAGE_SIZE), h + 2 * PAGE_SIZE);
    assert_eq!(cpu.read_u8(&mut e, s, VirtAddr::new(h + PAGE_SIZE)).unwrap(), Ok(0), "the contents beyond a shrink are gone");
    assert_eq!(cpu.read_u8(&mut e, s, VirtAddr::new(h)).unwrap(), Ok(7));
}

#[test]
fn requests_below_start_brk_or_beyond_the_address_space_leave_the_break() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = program(&mut e, &mut cpu);
    let h = BSS_END;
    assert_eq!(brk(&mut cpu, &mut e, s, h + PAGE_SIZE), h + PAGE_SIZE);
    for v in [h - 1, 0, u64::MAX, 0x7fff_ffff_f000, 0x8000_0000_0000, u64::MAX - PAGE_SIZE] {
        assert_eq!(brk(&mut cpu, &mut e, s, v), h + PAGE_SIZE, "brk({v:#x})");
    }
    assert_eq!(maps(&e, s).len(), 2);
}

#[test]
fn growth_keeps_a_page_free_below_the_next_mapping_and_the_guard_gap_below_a_stack() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = program(&mut e, &mut cpu);
    let h = BSS_END;
    let fixed = |addr: u64, flags: u64| MmapArgs { addr, flags: map::PRIVATE | map::ANONYMOUS | map::FIXED | flags, ..rw(1) };
    applied!(cpu, e, e.mmap(s, fixed(h + 20 * PAGE_SIZE, 0))).unwrap();
    assert_eq!(brk(&mut cpu, &mut e, s, h + 19 * PAGE_SIZE), h + 19 * PAGE_SIZE);
    assert_eq!(brk(&mut cpu, &mut e, s, h + 19 * PAGE_SIZE + 1), h + 19 * PAGE_SIZE);
    assert_eq!(brk(&mut cpu, &mut e, s, h + 21 * PAGE_SIZE), h + 19 * PAGE_SIZE);
    applied!(cpu, e, e.munmap(s, h + 20 * PAGE_SIZE, PAGE_SIZE)).unwrap();
    // A growing stack 300 pages up: the break stops a page below its guard gap.
    applied!(cpu, e, e.mmap(s, fixed(h + 300 * PAGE_SIZE, map::GROWSDOWN))).unwrap();
    assert_eq!(brk(&mut cpu, &mut e, s, h + 43 * PAGE_SIZE), h + 43 * PAGE_SIZE);
    assert_eq!(brk(&mut cpu, &mut e, s, h + 43 * PAGE_SIZE + 1), h + 43 * PAGE_SIZE);
}

#[test]
fn a_reprotected_heap_page_splits_the_heap_and_every_piece_is_named_heap() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = program(&mut e, &mut cpu);
    let h = BSS_END;
    assert_eq!(brk(&mut cpu, &mut e, s, h + 4 * PAGE_SIZE), h + 4 * PAGE_SIZE);
    applied!(cpu, e, e.mprotect(s, h + PAGE_SIZE, PAGE_SIZE, Prot::READ.bits())).unwrap();
    assert_eq!(brk(&mut cpu, &mut e, s, h + 6 * PAGE_SIZE), h + 6 * PAGE_SIZE);
    let m = maps(&e, s);
    assert_eq!(
        m[1..],
        [
            (h, h + PAGE_SIZE, "rw-p".into(), "[heap]".into()),
            (h + PAGE_SIZE, h + 2 * PAGE_SIZE, "r--p".into(), "[heap]".into()),
            (h + 2 * PAGE_SIZE, h + 6 * PAGE_SIZE, "rw-p".into(), "[heap]".into()),
        ]
    );
    applied!(cpu, e, e.mprotect(s, h + PAGE_SIZE, PAGE_SIZE, (Prot::READ | Prot::WRITE).bits())).unwrap();
    assert_eq!(maps(&e, s)[1], (h, h + 6 * PAGE_SIZE, "rw-p".into(), "[heap]".into()));
}

#[test]
fn a_shrink_over_a_range_without_mappings_is_refused() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = program(&mut e, &mut cpu);
    let h = BSS_END;
    assert_eq!(brk(&mut cpu, &mut e, s, h + 5 * PAGE_SIZE), h + 5 * PAGE_SIZE);
    applied!(cpu, e, e.munmap(s, h, 5 * PAGE_SIZE)).unwrap();
    assert_eq!(brk(&mut cpu, &mut e, s, h + PAGE_SIZE), h + 5 * PAGE_SIZE);
    assert_eq!(brk(&mut cpu, &mut e, s, h), h + 5 * PAGE_SIZE);
    // Growing from the old break still works and leaves the hole.
    assert_eq!(brk(&mut cpu, &mut e, s, h + 6 * PAGE_SIZE), h + 6 * PAGE_SIZE);
    assert_eq!(maps(&e, s)[1], (h + 5 * PAGE_SIZE, h + 6 * PAGE_SIZE, "rw-p".into(), "[heap]".into()));
}

#[test]
fn rlimit_data_counts_the_heap_and_the_data_segment_and_a_zero_limit_refuses_growth() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = program(&mut e, &mut cpu);
    let h = BSS_END;
    // An 8-page data segment: the heap may be 8 pages under a 16-page limit
    // (may_expand_vm counts the 6-page bss and the heap: 14 pages).
    e.set_data_segment(s, 0x400000, 0x408000).unwrap();
    let mut rl = e.rlimits(s).unwrap();
    rl.data = Rlimit::soft(16 * PAGE_SIZE);
    e.set_rlimits(s, rl).unwrap();
    assert_eq!(brk(&mut cpu, &mut e, s, h + 8 * PAGE_SIZE), h + 8 * PAGE_SIZE);
    assert_eq!(brk(&mut cpu, &mut e, s, h + 8 * PAGE_SIZE + 1), h + 8 * PAGE_SIZE, "8 heap pages + 8 data pages is the limit");
    // may_expand_vm counts data_vm: bss and heap together.
    e.set_data_segment(s, 0, 0).unwrap();
    assert_eq!(brk(&mut cpu, &mut e, s, h + 10 * PAGE_SIZE), h + 10 * PAGE_SIZE);
    assert_eq!(brk(&mut cpu, &mut e, s, h + 11 * PAGE_SIZE), h + 10 * PAGE_SIZE, "6 bss + 11 heap pages are over 16");
    rl.data = Rlimit::soft(0);
    e.set_rlimits(s, rl).unwrap();
    assert_eq!(brk(&mut cpu, &mut e, s, h + 11 * PAGE_SIZE), h + 10 * PAGE_SIZE);
    // A shrink is tested against the limit too (check_data_rlimit comes first).
    assert_eq!(brk(&mut cpu, &mut e, s, h + 2 * PAGE_SIZE), h + 10 * PAGE_SIZE);
}

#[test]
fn rlimit_as_and_the_mlock_limit_refuse_growth() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = program(&mut e, &mut cpu);
    let h = BSS_END;
    let mut rl = e.rlimits(s).unwrap();
    // The 6-page bss, the 33-page stack (4 KiB of arguments + 128 KiB) and 4 heap pages.
    rl.address_space = Rlimit::soft(43 * PAGE_SIZE);
    e.set_rlimits(s, rl).unwrap();
    assert_eq!(brk(&mut cpu, &mut e, s, h + 4 * PAGE_SIZE), h + 4 * PAGE_SIZE, "43 pages fit");
    assert_eq!(brk(&mut cpu, &mut e, s, h + 5 * PAGE_SIZE), h + 4 * PAGE_SIZE);
    rl.address_space = Rlimit::INFINITY;
    rl.memlock = Rlimit::soft(2 * PAGE_SIZE);
    e.set_rlimits(s, rl).unwrap();
    e.set_lock_future(s, true, false).unwrap();
    assert_eq!(brk(&mut cpu, &mut e, s, h + 6 * PAGE_SIZE), h + 6 * PAGE_SIZE, "2 pages to lock");
    assert_ne!(e.pagemap(s, VirtAddr::new(h + 5 * PAGE_SIZE)).unwrap() & guest_mm::introspect::PM_PRESENT, 0, "locked growth is populated");
    assert_eq!(brk(&mut cpu, &mut e, s, h + 7 * PAGE_SIZE), h + 6 * PAGE_SIZE, "the memlock limit is reached");
}

#[test]
fn a_sealed_heap_cannot_shrink_but_can_grow_beside_it() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = program(&mut e, &mut cpu);
    let h = BSS_END;
    assert_eq!(brk(&mut cpu, &mut e, s, h + 2 * PAGE_SIZE), h + 2 * PAGE_SIZE);
    applied!(cpu, e, e.mseal(s, h, 2 * PAGE_SIZE, 0)).unwrap();
    assert_eq!(brk(&mut cpu, &mut e, s, h + PAGE_SIZE), h + 2 * PAGE_SIZE);
    assert_eq!(brk(&mut cpu, &mut e, s, h + 3 * PAGE_SIZE), h + 3 * PAGE_SIZE);
    let m = maps(&e, s);
    assert_eq!(m.len(), 3, "the growth does not merge with the sealed VMA: {m:?}");
}

#[test]
fn fork_keeps_the_break_and_the_child_heap_grows_in_a_new_vma() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = program(&mut e, &mut cpu);
    let h = BSS_END;
    assert_eq!(brk(&mut cpu, &mut e, s, h + PAGE_SIZE), h + PAGE_SIZE);
    assert_eq!(cpu.write_u8(&mut e, s, VirtAddr::new(h), 3).unwrap(), None);
    let c = applied!(cpu, e, e.fork(s)).unwrap();
    assert_eq!(brk(&mut cpu, &mut e, c, 0), h + PAGE_SIZE);
    assert_eq!(brk(&mut cpu, &mut e, c, h + 2 * PAGE_SIZE), h + 2 * PAGE_SIZE);
    // The child's heap VMA has a forked anon_vma: the growth is a new VMA.
    assert_eq!(maps(&e, c).len(), 3);
    assert_eq!(brk(&mut cpu, &mut e, s, 0), h + PAGE_SIZE, "the parent's break is its own");
}

#[test]
fn a_static_pie_break_far_from_the_program_works_the_same() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let base = 0x5555_5555_5000;
    e.set_brk_base(s, VirtAddr::new(base)).unwrap();
    assert_eq!(e.set_brk_base(s, VirtAddr::new(base + 1)), Err(guest_mm::Errno::EINVAL));
    assert_eq!(brk(&mut cpu, &mut e, s, base + 3 * PAGE_SIZE), base + 3 * PAGE_SIZE);
    assert_eq!(maps(&e, s), vec![(base, base + 3 * PAGE_SIZE, "rw-p".into(), "[heap]".into())]);
    let file = e.create_file("f", vec![1u8; 4096].into(), false);
    let m = MmapArgs {
        addr: base + 10 * PAGE_SIZE,
        flags: map::PRIVATE | map::FIXED,
        file: MapFile::Open { obj: file, read: true, write: false },
        ..MmapArgs::anon(PAGE_SIZE, Prot::READ)
    };
    applied!(cpu, e, e.mmap(s, m)).unwrap();
    assert_eq!(brk(&mut cpu, &mut e, s, base + 10 * PAGE_SIZE), base + 3 * PAGE_SIZE, "no page left below the file");
}
