//! Nonlinear mappings (seed 000): remap_file_pages on MAP_PAGEPROT mappings
//! keeps one VMA whose entries carry offsets and per-page protections through
//! DONTNEED, reclaim (pool pressure and MADV_PAGEOUT), fork, mremap,
//! truncation and device revocation; and the Linux emulation otherwise.
mod common;

use common::*;
use guest_mm::ops::madvise::{MADV_DONTNEED, MADV_PAGEOUT};
use guest_mm::ops::map;
use guest_mm::ops::mmap::{MapFile, MmapArgs};
use guest_mm::ops::mremap::MREMAP_MAYMOVE;
use guest_mm::sim::SimCpu;
use guest_mm::vma::Prot;
use guest_mm::{AsId, Engine, EngineConfig, Errno, FaultAround, Frame, Limits, ObjectId, SiCode, VirtAddr, PAGE_SIZE};
use std::sync::Arc;
use vm_memory::{GuestAddress, GuestMemoryMmap};

const RW: u64 = 3;

/// A read-write file of `pages` pages, page i filled with i + 1.
fn file(e: &mut Engine<Mem>, pages: u64) -> ObjectId {
    let mut data = vec![0u8; (pages * PAGE_SIZE) as usize];
    for (i, p) in data.chunks_mut(PAGE_SIZE as usize).enumerate() {
        p.fill(i as u8 + 1);
    }
    e.create_file("/nl", Arc::from(data), true)
}

fn map_obj(e: &mut Engine<Mem>, cpu: &mut SimCpu, s: AsId, obj: ObjectId, pages: u64, extra: u64) -> VirtAddr {
    let a = MmapArgs {
        addr: 0,
        len: pages * PAGE_SIZE,
        prot: RW,
        flags: map::SHARED | extra,
        file: MapFile::Open { obj, read: true, write: true },
        offset: 0,
    };
    applied!(cpu, e, e.mmap(s, a)).unwrap()
}

fn page(a: VirtAddr, i: u64) -> VirtAddr {
    a.add(i * PAGE_SIZE)
}

fn read(e: &mut Engine<Mem>, cpu: &mut SimCpu, s: AsId, va: VirtAddr) -> Result<u8, SiCode> {
    let r = cpu.read_u8(e, s, va).unwrap().map_err(|f| f.code);
    e.check_invariants().unwrap();
    r
}

fn write(e: &mut Engine<Mem>, cpu: &mut SimCpu, s: AsId, va: VirtAddr, v: u8) -> Result<(), SiCode> {
    let r = cpu.write_u8(e, s, va, v).unwrap().map_or(Ok(()), |f| Err(f.code));
    e.check_invariants().unwrap();
    r
}

/// Page 1 of an 8-page nonlinear mapping shows offset 5 read-only, page 2
/// offset 0 read-write, page 3 offset 6 with no access at all.
fn scattered(e: &mut Engine<Mem>, cpu: &mut SimCpu, s: AsId, obj: ObjectId) -> VirtAddr {
    let a = map_obj(e, cpu, s, obj, 8, map::PAGEPROT);
    applied!(cpu, e, e.remap_file_pages(s, page(a, 1).as_u64(), PAGE_SIZE, Prot::READ.bits(), 5, 0)).unwrap();
    applied!(cpu, e, e.remap_file_pages(s, page(a, 2).as_u64(), PAGE_SIZE, 0, 0, 0)).unwrap();
    applied!(cpu, e, e.remap_file_pages(s, page(a, 3).as_u64(), PAGE_SIZE, 0, 6, 0)).unwrap();
    applied!(cpu, e, e.mprotect(s, page(a, 3).as_u64(), PAGE_SIZE, 0)).unwrap();
    a
}

/// What every test below checks after its disruption: offsets and
/// protections as `scattered` left them (page 3 is PROT_NONE since the
/// mprotect split it off as its own VMA).
fn check_scattered(e: &mut Engine<Mem>, cpu: &mut SimCpu, s: AsId, a: VirtAddr) {
    assert_eq!(write(e, cpu, s, page(a, 1), 9), Err(SiCode::SegvAccerr), "page 1 is read-only");
    assert_eq!(read(e, cpu, s, page(a, 1)), Ok(6), "page 1 shows offset 5");
    assert_eq!(write(e, cpu, s, page(a, 1), 9), Err(SiCode::SegvAccerr), "page 1 is read-only, also when present");
    assert_eq!(read(e, cpu, s, page(a, 2)), Ok(1), "page 2 shows offset 0");
    assert_eq!(read(e, cpu, s, page(a, 3)), Err(SiCode::SegvAccerr), "page 3 allows nothing");
    assert_eq!(read(e, cpu, s, page(a, 4)), Ok(5), "page 4 is linear");
}

#[test]
fn remap_keeps_one_vma_and_each_page_its_offset() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let obj = file(&mut e, 16);
    let a = map_obj(&mut e, &mut cpu, s, obj, 8, map::PAGEPROT);
    for (i, off) in [(0, 7u64), (1, 3), (2, 12), (5, 0)] {
        applied!(cpu, e, e.remap_file_pages(s, page(a, i).as_u64(), PAGE_SIZE, 0, off, 0)).unwrap();
    }
    assert_eq!(e.space(s).unwrap().vmas().len(), 1, "{}", e.maps(s, false).unwrap());
    for (i, want) in [(0, 8), (1, 4), (2, 13), (3, 4), (5, 1)] {
        assert_eq!(read(&mut e, &mut cpu, s, page(a, i)), Ok(want), "page {i}");
    }
    let offs: Vec<u64> = e.nonlinear_pages(s, a, page(a, 6)).iter().map(|p| p.unwrap().pgoff).collect();
    assert_eq!(offs, vec![7, 3, 12, 3, 4, 0]);
    // pagemap carries the offset (our extension) present or not.
    assert_eq!(e.pagemap(s, page(a, 2)).unwrap() & guest_mm::introspect::PM_PFRAME_MASK, 12);
    assert_eq!(e.pagemap(s, page(a, 6)).unwrap() & guest_mm::introspect::PM_PFRAME_MASK, 6);
}

#[test]
fn per_page_protection_holds_after_dontneed() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let obj = file(&mut e, 16);
    let a = scattered(&mut e, &mut cpu, s, obj);
    check_scattered(&mut e, &mut cpu, s, a);
    applied!(cpu, e, e.madvise(s, a.as_u64(), 8 * PAGE_SIZE, MADV_DONTNEED)).unwrap();
    assert!(e.nonlinear_pages(s, a, page(a, 8)).iter().all(|p| !p.unwrap().mapped), "everything was dropped");
    check_scattered(&mut e, &mut cpu, s, a);
}

#[test]
fn per_page_protection_holds_after_pageout_and_pressure_reclaim() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let obj = file(&mut e, 16);
    let a = scattered(&mut e, &mut cpu, s, obj);
    check_scattered(&mut e, &mut cpu, s, a);
    let cached = e.object(obj).unwrap().cached_count();
    applied!(cpu, e, e.madvise(s, a.as_u64(), 8 * PAGE_SIZE, MADV_PAGEOUT)).unwrap();
    assert!(e.object(obj).unwrap().cached_count() < cached, "clean file pages left the cache");
    check_scattered(&mut e, &mut cpu, s, a);
    let n = applied!(cpu, e, e.reclaim(usize::MAX));
    assert!(n > 0);
    assert_eq!(e.object(obj).unwrap().cached_count(), 0, "every clean page can go");
    check_scattered(&mut e, &mut cpu, s, a);
}

#[test]
fn reclaim_writes_dirty_file_pages_back_and_never_drops_shmem() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let obj = file(&mut e, 4);
    let a = map_obj(&mut e, &mut cpu, s, obj, 4, 0);
    assert_eq!(read(&mut e, &mut cpu, s, page(a, 0)), Ok(1));
    write(&mut e, &mut cpu, s, page(a, 1), 0x42).unwrap();
    let memfd = e.create_memfd("m");
    let _ = applied!(cpu, e, e.truncate(memfd, 4 * PAGE_SIZE));
    let m = map_obj(&mut e, &mut cpu, s, memfd, 4, 0);
    write(&mut e, &mut cpu, s, m, 7).unwrap();
    applied!(cpu, e, e.madvise(s, a.as_u64(), 4 * PAGE_SIZE, MADV_PAGEOUT)).unwrap();
    applied!(cpu, e, e.madvise(s, m.as_u64(), 4 * PAGE_SIZE, MADV_PAGEOUT)).unwrap();
    let _ = applied!(cpu, e, e.reclaim(usize::MAX));
    assert!(e.object(obj).unwrap().cached(1).is_none(), "the dirty file page was written back and went");
    assert!(e.object(obj).unwrap().cached(0).is_none(), "the clean one goes");
    assert_eq!(e.object(memfd).unwrap().cached_count(), 1, "shmem has no backing store");
    assert_eq!(read(&mut e, &mut cpu, s, page(a, 1)), Ok(0x42), "written-back bytes refault");
    assert_eq!(e.objects().stored_pages(), 1);
    assert_eq!(read(&mut e, &mut cpu, s, m), Ok(7));
}

#[test]
fn a_full_pool_evicts_clean_file_pages_and_nonlinear_pages_refault_right() {
    let mut e = engine_pool(64);
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let obj = file(&mut e, 48);
    let a = scattered(&mut e, &mut cpu, s, obj);
    check_scattered(&mut e, &mut cpu, s, a);
    // Read the whole file through a second (linear) mapping, then fill the
    // rest of the pool with anonymous memory: allocations must reclaim.
    let b = map_obj(&mut e, &mut cpu, s, obj, 48, 0);
    for i in 0..48 {
        assert_eq!(read(&mut e, &mut cpu, s, page(b, i)), Ok(i as u8 + 1));
    }
    let anon = applied!(cpu, e, e.mmap(s, MmapArgs::anon(40 * PAGE_SIZE, Prot::READ | Prot::WRITE))).unwrap();
    for i in 0..40 {
        write(&mut e, &mut cpu, s, page(anon, i), 0xaa).unwrap();
    }
    assert!(e.object(obj).unwrap().cached_count() < 48, "pressure evicted file pages");
    check_scattered(&mut e, &mut cpu, s, a);
    for i in 0..40 {
        assert_eq!(read(&mut e, &mut cpu, s, page(anon, i)), Ok(0xaa), "anonymous memory is never dropped");
    }
}

#[test]
fn fork_child_inherits_offsets_and_protections() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let obj = file(&mut e, 16);
    let a = scattered(&mut e, &mut cpu, s, obj);
    // Half present, half dropped when the child is made.
    assert_eq!(read(&mut e, &mut cpu, s, page(a, 1)), Ok(6));
    let c = applied!(cpu, e, e.fork(s)).unwrap();
    check_scattered(&mut e, &mut cpu, c, a);
    applied!(cpu, e, e.madvise(c, a.as_u64(), 8 * PAGE_SIZE, MADV_DONTNEED)).unwrap();
    check_scattered(&mut e, &mut cpu, c, a);
    check_scattered(&mut e, &mut cpu, s, a);
}

#[test]
fn mremap_move_and_expand_keep_offsets_and_protections() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let obj = file(&mut e, 16);
    let a = scattered(&mut e, &mut cpu, s, obj);
    assert_eq!(read(&mut e, &mut cpu, s, page(a, 1)), Ok(6));
    // Pages 0..3 are one VMA (page 3 was split off by mprotect): move it.
    let b = applied!(cpu, e, e.mremap(s, a.as_u64(), 3 * PAGE_SIZE, 6 * PAGE_SIZE, MREMAP_MAYMOVE, 0)).unwrap();
    assert_ne!(a, b, "page 3's VMA is in the way: the VMA moved");
    assert_eq!(write(&mut e, &mut cpu, s, page(b, 1), 9), Err(SiCode::SegvAccerr));
    assert_eq!(read(&mut e, &mut cpu, s, page(b, 1)), Ok(6));
    assert_eq!(read(&mut e, &mut cpu, s, page(b, 2)), Ok(1));
    assert_eq!(read(&mut e, &mut cpu, s, page(b, 4)), Ok(5), "the expansion is linear");
    applied!(cpu, e, e.madvise(s, b.as_u64(), 6 * PAGE_SIZE, MADV_DONTNEED)).unwrap();
    assert_eq!(write(&mut e, &mut cpu, s, page(b, 1), 9), Err(SiCode::SegvAccerr));
    assert_eq!(read(&mut e, &mut cpu, s, page(b, 1)), Ok(6));
}

#[test]
fn truncation_below_remapped_offsets_is_sigbus_wherever_they_sit() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let obj = file(&mut e, 16);
    let a = map_obj(&mut e, &mut cpu, s, obj, 4, map::PAGEPROT);
    applied!(cpu, e, e.remap_file_pages(s, a.as_u64(), PAGE_SIZE, 0, 12, 0)).unwrap();
    assert_eq!(read(&mut e, &mut cpu, s, a), Ok(13));
    applied!(cpu, e, e.truncate(obj, 8 * PAGE_SIZE)).unwrap();
    assert_eq!(read(&mut e, &mut cpu, s, a), Err(SiCode::BusAdrerr));
    assert_eq!(read(&mut e, &mut cpu, s, page(a, 1)), Ok(2));
    assert_eq!(e.nonlinear_pages(s, a, page(a, 1))[0].unwrap().pgoff, 12, "the offset is remembered");
}

#[test]
fn prot_needs_the_opt_in_and_valid_bits() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let obj = file(&mut e, 4);
    let linear = map_obj(&mut e, &mut cpu, s, obj, 4, 0);
    let r = applied!(cpu, e, e.remap_file_pages(s, linear.as_u64(), PAGE_SIZE, Prot::READ.bits(), 1, 0));
    assert_eq!(r, Err(Errno::EINVAL), "prot != 0 without MAP_PAGEPROT is Linux's EINVAL");
    let nl = map_obj(&mut e, &mut cpu, s, obj, 4, map::PAGEPROT);
    let r = applied!(cpu, e, e.remap_file_pages(s, nl.as_u64(), PAGE_SIZE, 0x10, 1, 0));
    assert_eq!(r, Err(Errno::EINVAL));
    let r = applied!(cpu, e, e.remap_file_pages(s, nl.as_u64(), 5 * PAGE_SIZE, 0, 1, 0));
    assert_eq!(r, Err(Errno::EINVAL), "the range must lie in the VMA");
    let r = applied!(cpu, e, e.remap_file_pages(s, nl.as_u64(), PAGE_SIZE, 0, 1 << 41, 0));
    assert_eq!(r, Err(Errno::EINVAL), "offsets a marker cannot hold");
    // The emulation splits; the extension does not.
    applied!(cpu, e, e.remap_file_pages(s, linear.as_u64(), PAGE_SIZE, 0, 2, 0)).unwrap();
    applied!(cpu, e, e.remap_file_pages(s, nl.as_u64(), PAGE_SIZE, 0, 2, 0)).unwrap();
    assert_eq!(e.space(s).unwrap().vmas().len(), 3, "{}", e.maps(s, false).unwrap());
    assert_eq!(read(&mut e, &mut cpu, s, linear), Ok(3));
    assert_eq!(read(&mut e, &mut cpu, s, nl), Ok(3));
}

#[test]
fn revoked_device_pages_of_a_nonlinear_mapping_are_sigbus() {
    // 8 MiB of memory: a 1024-frame pool, the device at frames 1500..1504.
    let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 8 << 20)]).unwrap();
    let config = EngineConfig {
        pool_first: Frame::new(1),
        pool_frames: 1024,
        kernel_entries: vec![],
        fault_around: FaultAround { file_pages: 16, anon_pages: 1 },
        limits: Limits::default(),
    };
    let mut e = Engine::new(mem, config).unwrap();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let dev = e.create_device("/dev/win", Frame::new(1500), 4);
    let a = map_obj(&mut e, &mut cpu, s, dev, 4, map::PAGEPROT);
    for i in 0..4 {
        write(&mut e, &mut cpu, s, page(a, i), 10 + i as u8).unwrap();
    }
    applied!(cpu, e, e.remap_file_pages(s, a.as_u64(), PAGE_SIZE, Prot::READ.bits(), 3, 0)).unwrap();
    assert_eq!(read(&mut e, &mut cpu, s, a), Ok(13));
    applied!(cpu, e, e.madvise(s, page(a, 1).as_u64(), PAGE_SIZE, MADV_DONTNEED)).unwrap();
    applied!(cpu, e, e.revoke_device(dev)).unwrap();
    for i in 0..4 {
        assert_eq!(read(&mut e, &mut cpu, s, page(a, i)), Err(SiCode::BusAdrerr), "page {i}");
    }
    assert_eq!(e.nonlinear_pages(s, a, page(a, 1))[0].unwrap().pgoff, 3, "revoked markers keep the offset");
    let r = applied!(cpu, e, e.remap_file_pages(s, page(a, 2).as_u64(), PAGE_SIZE, 0, 0, 0));
    assert_eq!(r, Ok(()));
    assert_eq!(read(&mut e, &mut cpu, s, page(a, 2)), Err(SiCode::BusAdrerr), "remapping a revoked device cannot reach it");
}

#[test]
fn per_page_exec_permission_holds_after_dontneed_and_fork() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let obj = file(&mut e, 4);
    let args = MmapArgs {
        addr: 0,
        len: 4 * PAGE_SIZE,
        prot: 7,
        flags: map::SHARED | map::PAGEPROT,
        file: MapFile::Open { obj, read: true, write: true },
        offset: 0,
    };
    let a = applied!(cpu, e, e.mmap(s, args)).unwrap();
    let rx = (Prot::READ | Prot::EXEC).bits();
    applied!(cpu, e, e.remap_file_pages(s, page(a, 1).as_u64(), PAGE_SIZE, Prot::READ.bits(), 3, 0)).unwrap();
    applied!(cpu, e, e.remap_file_pages(s, page(a, 2).as_u64(), PAGE_SIZE, rx, 2, 0)).unwrap();
    let exec = |e: &mut Engine<Mem>, cpu: &mut SimCpu, s: AsId, va: VirtAddr| -> Result<(), SiCode> {
        let r = match cpu.access(e, s, va, guest_mm::AccessKind::Exec).unwrap() {
            guest_mm::sim::Access::Done(_) => Ok(()),
            guest_mm::sim::Access::Signal(f) => Err(f.code),
        };
        e.check_invariants().unwrap();
        r
    };
    for round in 0..2 {
        assert_eq!(exec(&mut e, &mut cpu, s, page(a, 1)), Err(SiCode::SegvAccerr), "round {round}: read-only page");
        assert_eq!(read(&mut e, &mut cpu, s, page(a, 1)), Ok(4), "round {round}: offset 3 reads");
        assert_eq!(exec(&mut e, &mut cpu, s, page(a, 2)), Ok(()), "round {round}: read-exec page");
        assert_eq!(write(&mut e, &mut cpu, s, page(a, 2), 9), Err(SiCode::SegvAccerr), "round {round}");
        assert_eq!(exec(&mut e, &mut cpu, s, page(a, 0)), Ok(()), "round {round}: untouched pages keep the VMA's rights");
        applied!(cpu, e, e.madvise(s, a.as_u64(), 4 * PAGE_SIZE, MADV_DONTNEED)).unwrap();
    }
    let child = applied!(cpu, e, e.fork(s)).unwrap();
    assert_eq!(exec(&mut e, &mut cpu, child, page(a, 1)), Err(SiCode::SegvAccerr), "the child inherits the protection");
    assert_eq!(exec(&mut e, &mut cpu, child, page(a, 2)), Ok(()));
}

#[test]
fn mlock_populates_nonlinear_pages_at_their_offsets_and_keeps_their_protection() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let obj = file(&mut e, 8);
    let a = scattered(&mut e, &mut cpu, s, obj);
    applied!(cpu, e, e.madvise(s, a.as_u64(), 8 * PAGE_SIZE, MADV_DONTNEED)).unwrap();
    // Page 3's own protection is none: population stops there with EFAULT,
    // which mlock reports as ENOMEM, as it does at a PROT_NONE VMA
    // (__mm_populate without ignore_errors); the pages before it are in.
    let r = applied!(cpu, e, e.mlock(s, a.as_u64(), 8 * PAGE_SIZE));
    assert_eq!(r, Err(Errno::ENOMEM));
    let present: Vec<bool> = (0..8).map(|i| e.pagemap(s, page(a, i)).unwrap() & guest_mm::introspect::PM_PRESENT != 0).collect();
    assert_eq!(present, [true, true, true, false, false, false, false, false]);
    // Locking the accessible pages only succeeds and populates them.
    applied!(cpu, e, e.mlock(s, a.as_u64(), 3 * PAGE_SIZE)).unwrap();
    applied!(cpu, e, e.mlock(s, page(a, 4).as_u64(), 4 * PAGE_SIZE)).unwrap();
    assert!((4..8).all(|i| e.pagemap(s, page(a, i)).unwrap() & guest_mm::introspect::PM_PRESENT != 0));
    check_scattered(&mut e, &mut cpu, s, a);
}
