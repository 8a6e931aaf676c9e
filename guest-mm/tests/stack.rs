//! Growing stacks (mm/mmap.c expand_downwards, acct_stack_growth) and the
//! guard gap placement keeps free below them, with the answers the host
//! kernel gave for the same steps (MAP_GROWSDOWN is private anonymous only:
//! Linux refuses it for shared and file mappings with EINVAL).
mod common;

use common::*;
use guest_mm::ops::map;
use guest_mm::ops::mmap::{MapFile, MmapArgs};
use guest_mm::sim::SimCpu;
use guest_mm::vma::{Prot, VmFlags};
use guest_mm::{AsId, Engine, Errno, Rlimit, SiCode, VirtAddr, PAGE_SIZE, TASK_SIZE};

const BASE: u64 = 0x2000_0000_0000;
const GAP: u64 = 256 * PAGE_SIZE;

fn fixed(addr: u64, pages: u64, prot: Prot, flags: u64) -> MmapArgs {
    MmapArgs { addr, flags: map::PRIVATE | map::ANONYMOUS | map::FIXED | flags, ..MmapArgs::anon(pages * PAGE_SIZE, prot) }
}

fn hint(addr: u64) -> MmapArgs {
    MmapArgs { addr, ..MmapArgs::anon(PAGE_SIZE, Prot::READ) }
}

fn rw() -> Prot {
    Prot::READ | Prot::WRITE
}

fn vma_at(e: &Engine<Mem>, s: AsId, va: u64) -> Option<(u64, u64)> {
    e.space(s).unwrap().vmas().find(VirtAddr::new(va)).map(|v| (v.start.as_u64(), v.end.as_u64()))
}

#[test]
fn a_fault_below_a_growsdown_mapping_grows_it_to_the_faulting_page() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let g = BASE + 1024 * PAGE_SIZE;
    applied!(cpu, e, e.mmap(s, fixed(g, 4, rw(), map::GROWSDOWN))).unwrap();
    assert_eq!(cpu.write_u8(&mut e, s, VirtAddr::new(g - PAGE_SIZE), 1).unwrap(), None);
    assert_eq!(cpu.read_u8(&mut e, s, VirtAddr::new(g - 10 * PAGE_SIZE + 5)).unwrap(), Ok(0));
    assert_eq!(vma_at(&e, s, g), Some((g - 10 * PAGE_SIZE, g + 4 * PAGE_SIZE)));
    let v = e.space(s).unwrap().vmas().find(VirtAddr::new(g)).unwrap().clone();
    assert_eq!(v.pgoff, (g - 10 * PAGE_SIZE) / PAGE_SIZE, "vm_pgoff follows the start");
    assert!(v.anon.is_some());
}

#[test]
fn growth_stops_at_the_guard_gap_of_an_accessible_mapping_below() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let g = BASE + 1024 * PAGE_SIZE;
    applied!(cpu, e, e.mmap(s, fixed(g, 4, rw(), map::GROWSDOWN))).unwrap();
    let o = g - 300 * PAGE_SIZE;
    applied!(cpu, e, e.mmap(s, fixed(o, 1, Prot::READ, 0))).unwrap();
    // Growth to o + 1 page + 256 pages is allowed, one page more is not.
    let sig = cpu.write_u8(&mut e, s, VirtAddr::new(o + GAP), 1).unwrap().unwrap();
    assert_eq!(sig.code, SiCode::SegvMaperr);
    assert_eq!(cpu.write_u8(&mut e, s, VirtAddr::new(o + PAGE_SIZE + GAP), 1).unwrap(), None);
    assert_eq!(vma_at(&e, s, g), Some((o + PAGE_SIZE + GAP, g + 4 * PAGE_SIZE)));
}

#[test]
fn an_inaccessible_or_growing_mapping_below_does_not_stop_growth() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let g = BASE + 1024 * PAGE_SIZE;
    applied!(cpu, e, e.mmap(s, fixed(g, 1, rw(), map::GROWSDOWN))).unwrap();
    applied!(cpu, e, e.mmap(s, fixed(g - 3 * PAGE_SIZE, 1, Prot::empty(), 0))).unwrap();
    assert_eq!(cpu.write_u8(&mut e, s, VirtAddr::new(g - 2 * PAGE_SIZE), 1).unwrap(), None);
    assert_eq!(vma_at(&e, s, g), Some((g - 2 * PAGE_SIZE, g + PAGE_SIZE)));
    let h = BASE + 4000 * PAGE_SIZE;
    applied!(cpu, e, e.mmap(s, fixed(h, 1, rw(), map::GROWSDOWN))).unwrap();
    applied!(cpu, e, e.mmap(s, fixed(h - 3 * PAGE_SIZE, 1, rw(), map::GROWSDOWN))).unwrap();
    assert_eq!(cpu.write_u8(&mut e, s, VirtAddr::new(h - PAGE_SIZE), 1).unwrap(), None);
}

#[test]
fn an_access_the_grown_vma_does_not_allow_is_accerr_after_growing() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let r = BASE + 4000 * PAGE_SIZE;
    applied!(cpu, e, e.mmap(s, fixed(r, 1, Prot::READ, map::GROWSDOWN))).unwrap();
    let sig = cpu.write_u8(&mut e, s, VirtAddr::new(r - PAGE_SIZE), 1).unwrap().unwrap();
    assert_eq!(sig.code, SiCode::SegvAccerr);
    assert_eq!(vma_at(&e, s, r), Some((r - PAGE_SIZE, r + PAGE_SIZE)));
    let n = BASE + 6000 * PAGE_SIZE;
    applied!(cpu, e, e.mmap(s, fixed(n, 1, Prot::empty(), map::GROWSDOWN))).unwrap();
    let sig = cpu.read_u8(&mut e, s, VirtAddr::new(n - PAGE_SIZE)).unwrap().unwrap_err();
    assert_eq!(sig.code, SiCode::SegvAccerr);
    assert_eq!(vma_at(&e, s, n), Some((n - PAGE_SIZE, n + PAGE_SIZE)));
}

#[test]
fn rlimit_stack_rlimit_as_and_mmap_min_addr_bound_growth() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let mut rl = e.rlimits(s).unwrap();
    rl.stack = Rlimit::soft(64 * PAGE_SIZE);
    e.set_rlimits(s, rl).unwrap();
    let q = BASE + 9000 * PAGE_SIZE;
    applied!(cpu, e, e.mmap(s, fixed(q, 1, rw(), map::GROWSDOWN))).unwrap();
    assert_eq!(cpu.write_u8(&mut e, s, VirtAddr::new(q - 63 * PAGE_SIZE), 1).unwrap(), None);
    assert_eq!(cpu.write_u8(&mut e, s, VirtAddr::new(q - 64 * PAGE_SIZE), 1).unwrap().unwrap().code, SiCode::SegvMaperr);
    rl.stack = Rlimit::INFINITY;
    rl.address_space = Rlimit::soft(70 * PAGE_SIZE);
    e.set_rlimits(s, rl).unwrap();
    assert_eq!(cpu.write_u8(&mut e, s, VirtAddr::new(q - 69 * PAGE_SIZE), 1).unwrap(), None);
    assert_eq!(cpu.write_u8(&mut e, s, VirtAddr::new(q - 70 * PAGE_SIZE), 1).unwrap().unwrap().code, SiCode::SegvMaperr);
    // Not below mmap_min_addr (65536 here), even with room.
    rl.address_space = Rlimit::INFINITY;
    e.set_rlimits(s, rl).unwrap();
    applied!(cpu, e, e.mmap(s, fixed(0x11000, 1, rw(), map::GROWSDOWN))).unwrap();
    assert_eq!(cpu.write_u8(&mut e, s, VirtAddr::new(0x10000), 1).unwrap(), None);
    assert_eq!(cpu.write_u8(&mut e, s, VirtAddr::new(0xf000), 1).unwrap().unwrap().code, SiCode::SegvMaperr);
}

#[test]
fn a_locked_stack_grows_within_the_memlock_limit() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let mut rl = e.rlimits(s).unwrap();
    rl.memlock = Rlimit::soft(4 * PAGE_SIZE);
    e.set_rlimits(s, rl).unwrap();
    let q = BASE + 9000 * PAGE_SIZE;
    applied!(cpu, e, e.mmap(s, fixed(q, 2, rw(), map::GROWSDOWN | map::LOCKED))).unwrap();
    assert_eq!(cpu.write_u8(&mut e, s, VirtAddr::new(q - 2 * PAGE_SIZE), 1).unwrap(), None);
    assert_eq!(cpu.write_u8(&mut e, s, VirtAddr::new(q - 3 * PAGE_SIZE), 1).unwrap().unwrap().code, SiCode::SegvMaperr);
}

#[test]
fn hinted_mappings_are_refused_in_the_guard_gap_and_fixed_ones_are_not() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let g = BASE + 1024 * PAGE_SIZE;
    applied!(cpu, e, e.mmap(s, fixed(g, 4, rw(), map::GROWSDOWN))).unwrap();
    let placed = applied!(cpu, e, e.mmap(s, hint(g - PAGE_SIZE))).unwrap();
    assert_ne!(placed.as_u64(), g - PAGE_SIZE);
    let placed = applied!(cpu, e, e.mmap(s, hint(g - GAP))).unwrap();
    assert_ne!(placed.as_u64(), g - GAP, "a page at the bottom of the gap still reaches into it");
    assert_eq!(applied!(cpu, e, e.mmap(s, hint(g - GAP - PAGE_SIZE))).unwrap().as_u64(), g - GAP - PAGE_SIZE);
    assert_eq!(applied!(cpu, e, e.mmap(s, fixed(g - 2 * PAGE_SIZE, 1, Prot::READ, 0))).unwrap().as_u64(), g - 2 * PAGE_SIZE);
}

#[test]
fn the_top_down_search_leaves_the_guard_gap_below_a_stack_at_the_top() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let base = e.space(s).unwrap().vmas().len();
    assert_eq!(base, 0);
    // A growsdown mapping at the top of the mmap area, then a placed one.
    let first = applied!(cpu, e, e.mmap(s, MmapArgs::anon(PAGE_SIZE, Prot::READ))).unwrap();
    let top = first.as_u64() + PAGE_SIZE;
    applied!(cpu, e, e.munmap(s, first.as_u64(), PAGE_SIZE)).unwrap();
    applied!(cpu, e, e.mmap(s, fixed(top - PAGE_SIZE, 1, rw(), map::GROWSDOWN))).unwrap();
    let next = applied!(cpu, e, e.mmap(s, MmapArgs::anon(PAGE_SIZE, Prot::READ))).unwrap();
    assert_eq!(next.as_u64(), top - PAGE_SIZE - GAP - PAGE_SIZE);
}

#[test]
fn the_exec_stack_is_the_argument_pages_plus_128k_growing_down_with_linux_flags() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let start = applied!(cpu, e, e.setup_arg_pages(s, TASK_SIZE, 300, false)).unwrap();
    assert_eq!(start.as_u64(), 0x7fff_fffd_e000, "as setarch -R shows for a small program");
    e.set_start_stack(s, VirtAddr::new(TASK_SIZE - 300)).unwrap();
    let v = e.space(s).unwrap().vmas().find(start).unwrap().clone();
    let want =
        VmFlags::GROWSDOWN | VmFlags::READ | VmFlags::WRITE | VmFlags::MAYREAD | VmFlags::MAYWRITE | VmFlags::MAYEXEC | VmFlags::ACCOUNT;
    assert_eq!(v.flags, want);
    assert!(e.maps(s, false).unwrap().contains("7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]"));
    // It grows on faults below it, up to RLIMIT_STACK (8 MiB).
    assert_eq!(cpu.write_u8(&mut e, s, VirtAddr::new(start.as_u64() - 100 * PAGE_SIZE), 1).unwrap(), None);
    assert_eq!(cpu.write_u8(&mut e, s, VirtAddr::new(TASK_SIZE - (8 << 20)), 1).unwrap(), None);
    let sig = cpu.write_u8(&mut e, s, VirtAddr::new(TASK_SIZE - (8 << 20) - 1), 1).unwrap().unwrap();
    assert_eq!(sig.code, SiCode::SegvMaperr);
    // Executable when PT_GNU_STACK asks; capped by a small RLIMIT_STACK; refused over a mapping.
    let s2 = space(&mut e, &mut cpu);
    let mut rl = e.rlimits(s2).unwrap();
    rl.stack = Rlimit::soft(8 * PAGE_SIZE + 5);
    e.set_rlimits(s2, rl).unwrap();
    let start = applied!(cpu, e, e.setup_arg_pages(s2, TASK_SIZE, 300, true)).unwrap();
    assert_eq!(start.as_u64(), TASK_SIZE - 8 * PAGE_SIZE);
    assert!(e.space(s2).unwrap().vmas().find(start).unwrap().flags.contains(VmFlags::EXEC));
    assert_eq!(applied!(cpu, e, e.setup_arg_pages(s2, TASK_SIZE, 300, false)), Err(Errno::ENOMEM));
}

#[test]
fn growsdown_is_refused_for_shared_and_file_mappings() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let shared = MmapArgs { flags: map::SHARED | map::ANONYMOUS | map::GROWSDOWN, ..MmapArgs::anon(PAGE_SIZE, Prot::READ) };
    assert_eq!(applied!(cpu, e, e.mmap(s, shared)), Err(Errno::EINVAL));
    let f = e.create_memfd("g");
    applied!(cpu, e, e.truncate(f, PAGE_SIZE)).unwrap();
    let file = MmapArgs {
        flags: map::PRIVATE | map::GROWSDOWN,
        file: MapFile::Open { obj: f, read: true, write: true },
        ..MmapArgs::anon(PAGE_SIZE, Prot::READ)
    };
    assert_eq!(applied!(cpu, e, e.mmap(s, file)), Err(Errno::EINVAL));
}

#[test]
fn a_forked_child_stack_grows_on_its_own() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let g = BASE + 1024 * PAGE_SIZE;
    applied!(cpu, e, e.mmap(s, fixed(g, 1, rw(), map::GROWSDOWN))).unwrap();
    let c = applied!(cpu, e, e.fork(s)).unwrap();
    assert_eq!(cpu.write_u8(&mut e, c, VirtAddr::new(g - 5 * PAGE_SIZE), 1).unwrap(), None);
    assert_eq!(vma_at(&e, c, g), Some((g - 5 * PAGE_SIZE, g + PAGE_SIZE)));
    assert_eq!(vma_at(&e, s, g), Some((g, g + PAGE_SIZE)));
}

#[test]
fn exec_arguments_beyond_a_quarter_of_rlimit_stack_are_e2big_and_the_stack_stays_above_mmap_min_addr() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    // bprm_stack_limits: min(3/4 of _STK_LIM, RLIMIT_STACK / 4) = 2 MiB under the default 8 MiB.
    assert_eq!(applied!(cpu, e, e.setup_arg_pages(s, TASK_SIZE, (2 << 20) + 1, false)), Err(Errno::E2BIG));
    assert_eq!(applied!(cpu, e, e.setup_arg_pages(s, TASK_SIZE, u64::MAX, false)), Err(Errno::E2BIG));
    assert!(e.space(s).unwrap().vmas().is_empty(), "a refused stack leaves no VMA");
    // ... but never below ARG_MAX (32 pages), however small RLIMIT_STACK is.
    let mut rl = e.rlimits(s).unwrap();
    rl.stack = Rlimit::soft(4 * PAGE_SIZE);
    e.set_rlimits(s, rl).unwrap();
    assert_eq!(applied!(cpu, e, e.setup_arg_pages(s, TASK_SIZE, 32 * PAGE_SIZE + 1, false)), Err(Errno::E2BIG));
    assert!(applied!(cpu, e, e.setup_arg_pages(s, TASK_SIZE, 32 * PAGE_SIZE, false)).is_ok());
    // A top so low that the argument pages would reach below mmap_min_addr.
    let s2 = space(&mut e, &mut cpu);
    assert_eq!(applied!(cpu, e, e.setup_arg_pages(s2, 0x10000, 2 * PAGE_SIZE, false)), Err(Errno::ENOMEM));
    e.check_invariants().unwrap();
}
