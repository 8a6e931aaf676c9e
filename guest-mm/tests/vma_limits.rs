//! VMA limits: vm.max_map_count for every operation that splits VMAs, and the
//! engine-wide VMA budget (`Limits::max_total_vmas`) that bounds the host
//! memory a guest can pin in VMAs by forking many-VMA spaces.
mod common;

use common::*;
use guest_mm::ops::mmap::MmapArgs;
use guest_mm::sim::SimCpu;
use guest_mm::vma::Prot;
use guest_mm::{AsId, Engine, EngineConfig, Errno, FaultAround, Frame, Limits, PAGE_SIZE};
use vm_memory::{GuestAddress, GuestMemoryMmap};

const P: u64 = PAGE_SIZE;

fn limited(max_map_count: usize, max_total_vmas: usize) -> Engine<Mem> {
    let bytes = 16u64 << 20;
    let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), bytes as usize)]).unwrap();
    let config = EngineConfig {
        pool_first: Frame::new(1),
        pool_frames: (bytes >> 12) - 1,
        kernel_entries: vec![],
        fault_around: FaultAround { file_pages: 16, anon_pages: 1 },
        limits: Limits { max_map_count, max_total_vmas, ..Limits::default() },
    };
    Engine::new(mem, config).unwrap()
}

fn vmas(e: &Engine<Mem>, s: AsId) -> usize {
    e.space(s).unwrap().vmas().len()
}

#[test]
fn mprotect_madvise_and_mlock_splits_stop_at_max_map_count_with_enomem() {
    const MAX: usize = 16;
    let mut e = limited(MAX, usize::MAX);
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let a = applied!(cpu, e, e.mmap(s, MmapArgs::anon(64 * P, Prot::READ | Prot::WRITE))).unwrap().as_u64();
    // Every other page read-only: each call splits off one or two VMAs.
    let mut refused = None;
    for i in 0..32 {
        match applied!(cpu, e, e.mprotect(s, a + (2 * i + 1) * P, P, Prot::READ.bits())) {
            Ok(_) => assert!(vmas(&e, s) <= MAX),
            Err(err) => {
                refused = Some((i, err, vmas(&e, s)));
                break;
            }
        }
    }
    let (i, err, count) = refused.expect("splitting 64 pages must reach a 16-VMA limit");
    assert_eq!(err, Errno::ENOMEM, "at call {i}");
    assert!(count <= MAX && count + 2 > MAX, "refused with {count} VMAs");
    // The same limit holds for madvise and mlock splits in the last big VMA.
    let last = a + 60 * P;
    assert_eq!(applied!(cpu, e, e.madvise(s, last, P, 10)).map(|_| ()), Err(Errno::ENOMEM), "MADV_DONTFORK split");
    assert_eq!(applied!(cpu, e, e.mlock(s, last, P)).map(|_| ()), Err(Errno::ENOMEM), "mlock split");
    assert!(vmas(&e, s) <= MAX);
    // A change that needs no split still works at the limit.
    assert_eq!(applied!(cpu, e, e.mprotect(s, a + P, P, (Prot::READ | Prot::WRITE).bits())).map(|_| ()), Ok(()));
}

#[test]
fn fork_and_mmap_fail_with_enomem_beyond_the_engines_total_vma_budget() {
    let mut e = limited(65530, 24);
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let a = applied!(cpu, e, e.mmap(s, MmapArgs::anon(20 * P, Prot::READ))).unwrap().as_u64();
    for i in 0..4 {
        applied!(cpu, e, e.mprotect(s, a + (4 * i + 1) * P, P, 0)).unwrap();
    }
    let n = vmas(&e, s);
    assert!((8..=12).contains(&n), "{n} VMAs");
    let child = applied!(cpu, e, e.fork(s)).expect("two copies fit in 24");
    assert_eq!(applied!(cpu, e, e.fork(s)), Err(Errno::ENOMEM), "a third copy does not");
    // New VMAs anywhere count against the same budget.
    let mut last = Ok(());
    for _ in 0..24 {
        last = applied!(cpu, e, e.mmap(child, MmapArgs::anon(P, Prot::READ | Prot::EXEC))).map(|_| ());
        if last.is_err() {
            break;
        }
        applied!(cpu, e, e.mmap(child, MmapArgs::anon(P, Prot::empty()))).ok();
    }
    assert_eq!(last, Err(Errno::ENOMEM));
    assert!(vmas(&e, s) + vmas(&e, child) <= 24);
    // Ending a space frees its share.
    e.destroy_space(child).unwrap();
    applied!(cpu, e, e.fork(s)).expect("room again after the child is gone");
}
