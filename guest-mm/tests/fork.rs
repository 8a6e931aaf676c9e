//! fork: COW isolation both ways, DONTCOPY, WIPEONFORK, exit frees, and
//! the parent's write-protection going through the batch.
mod common;

use common::*;
use guest_mm::ops::map;
use guest_mm::ops::mmap::MmapArgs;
use guest_mm::sim::SimCpu;
use guest_mm::vma::Prot;
use guest_mm::{Engine, SiCode, VirtAddr, PAGE_SIZE};

fn rw(e: &mut Engine<Mem>, cpu: &mut SimCpu, s: guest_mm::AsId, pages: u64, extra: u64) -> VirtAddr {
    let a = MmapArgs { flags: map::PRIVATE | map::ANONYMOUS | extra, ..MmapArgs::anon(pages * PAGE_SIZE, Prot::READ | Prot::WRITE) };
    applied!(cpu, e, e.mmap(s, a)).unwrap()
}

#[test]
fn fork_shares_pages_copy_on_write_in_both_directions() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let p = space(&mut e, &mut cpu);
    let a = rw(&mut e, &mut cpu, p, 4, 0);
    for i in 0..4 {
        cpu.write_u8(&mut e, p, a.add(i * PAGE_SIZE), 10 + i as u8).unwrap();
    }
    let c = applied!(cpu, e, e.fork(p)).unwrap();
    // Both see the old contents.
    assert_eq!(cpu.read_u8(&mut e, c, a).unwrap(), Ok(10));
    // The parent writes: the child must not see it (the parent's writable
    // entry was write-protected through the batch).
    cpu.write_u8(&mut e, p, a, 99).unwrap();
    assert_eq!(cpu.read_u8(&mut e, c, a).unwrap(), Ok(10));
    // The child writes another page: the parent must not see it.
    cpu.write_u8(&mut e, c, a.add(PAGE_SIZE), 77).unwrap();
    assert_eq!(cpu.read_u8(&mut e, p, a.add(PAGE_SIZE)).unwrap(), Ok(11));
    assert_eq!(cpu.read_u8(&mut e, p, a).unwrap(), Ok(99));
    e.check_invariants().unwrap();
    e.destroy_space(c).unwrap();
    e.check_invariants().unwrap();
    // With the child gone the parent owns its pages again: writes reuse in place.
    cpu.write_u8(&mut e, p, a.add(2 * PAGE_SIZE), 1).unwrap();
    assert_eq!(e.space(p).unwrap().stats().cow_copies, 1, "only the parent's first write copied");
}

#[test]
fn dontcopy_from_mmap_flag_or_madvise_is_absent_in_the_child() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let p = space(&mut e, &mut cpu);
    let a = rw(&mut e, &mut cpu, p, 2, map::DONTCOPY);
    cpu.write_u8(&mut e, p, a, 5).unwrap();
    let c = applied!(cpu, e, e.fork(p)).unwrap();
    let sig = cpu.read_u8(&mut e, c, a).unwrap().unwrap_err();
    assert_eq!(sig.code, SiCode::SegvMaperr, "the mapping does not exist in the child");
    assert_eq!(cpu.read_u8(&mut e, p, a).unwrap(), Ok(5));
}

#[test]
fn wipeonfork_child_sees_zeroes_and_locked_is_not_inherited() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let p = space(&mut e, &mut cpu);
    let a = rw(&mut e, &mut cpu, p, 2, 0);
    cpu.write_u8(&mut e, p, a, 5).unwrap();
    let (r, u) = e.madvise(p, a.as_u64(), 2 * PAGE_SIZE, guest_mm::ops::madvise::MADV_WIPEONFORK).split();
    cpu.mmu.apply(e.memory(), u);
    r.unwrap();
    applied!(cpu, e, e.mlock(p, a.as_u64(), PAGE_SIZE)).unwrap();
    let c = applied!(cpu, e, e.fork(p)).unwrap();
    assert_eq!(cpu.read_u8(&mut e, c, a).unwrap(), Ok(0));
    assert_eq!(cpu.read_u8(&mut e, p, a).unwrap(), Ok(5));
    let locked = |e: &Engine<Mem>, s| e.space(s).unwrap().vmas().iter().any(|v| v.flags.contains(guest_mm::vma::VmFlags::LOCKED));
    assert!(locked(&e, p) && !locked(&e, c));
    e.check_invariants().unwrap();
}

#[test]
fn shared_anonymous_memory_stays_shared_after_fork() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let p = space(&mut e, &mut cpu);
    let a = MmapArgs { flags: map::SHARED | map::ANONYMOUS, ..MmapArgs::anon(PAGE_SIZE, Prot::READ | Prot::WRITE) };
    let a = applied!(cpu, e, e.mmap(p, a)).unwrap();
    cpu.write_u8(&mut e, p, a, 1).unwrap();
    let c = applied!(cpu, e, e.fork(p)).unwrap();
    cpu.write_u8(&mut e, c, a, 2).unwrap();
    assert_eq!(cpu.read_u8(&mut e, p, a).unwrap(), Ok(2));
    e.destroy_space(c).unwrap();
    e.destroy_space(p).unwrap();
    e.check_invariants().unwrap();
    assert_eq!(e.objects().len(), 0, "the shared anonymous object went with its last mapping");
}
