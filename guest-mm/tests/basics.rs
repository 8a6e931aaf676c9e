//! First engine paths end to end through the simulated CPU: demand-zero,
//! zero page and COW, SIGSEGV codes, mprotect through the update batch,
//! munmap, and no leak on exit.
mod common;

use common::*;
use guest_mm::ops::mmap::MmapArgs;
use guest_mm::sim::SimCpu;
use guest_mm::vma::Prot;
use guest_mm::{Engine, SiCode, Signal, VirtAddr, PAGE_SIZE};

#[test]
fn anonymous_write_then_read_back() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let a = applied!(cpu, e, e.mmap(s, MmapArgs::anon(4 * PAGE_SIZE, Prot::READ | Prot::WRITE))).unwrap();
    for i in 0..4 {
        assert_eq!(cpu.write_u8(&mut e, s, a.add(i * PAGE_SIZE + 7), i as u8 + 1).unwrap(), None);
    }
    for i in 0..4 {
        assert_eq!(cpu.read_u8(&mut e, s, a.add(i * PAGE_SIZE + 7)).unwrap(), Ok(i as u8 + 1));
    }
    e.check_invariants().unwrap();
}

#[test]
fn read_fault_maps_zero_page_and_write_copies() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let a = applied!(cpu, e, e.mmap(s, MmapArgs::anon(PAGE_SIZE, Prot::READ | Prot::WRITE))).unwrap();
    assert_eq!(cpu.read_u8(&mut e, s, a).unwrap(), Ok(0));
    let pm = e.pagemap(s, a).unwrap();
    assert_ne!(pm & guest_mm::introspect::PM_PRESENT, 0);
    assert_eq!(pm & guest_mm::introspect::PM_MMAP_EXCLUSIVE, 0, "the zero page is not exclusive");
    // The write hits a present read-only entry: that change must go through the batch.
    assert_eq!(cpu.write_u8(&mut e, s, a, 9).unwrap(), None);
    assert_eq!(cpu.read_u8(&mut e, s, a).unwrap(), Ok(9));
    assert_ne!(e.pagemap(s, a).unwrap() & guest_mm::introspect::PM_MMAP_EXCLUSIVE, 0);
    e.check_invariants().unwrap();
}

#[test]
fn write_to_read_only_mapping_is_segv_accerr_at_the_address() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let a = applied!(cpu, e, e.mmap(s, MmapArgs::anon(PAGE_SIZE, Prot::READ))).unwrap();
    assert_eq!(cpu.read_u8(&mut e, s, a).unwrap(), Ok(0));
    let sig = cpu.write_u8(&mut e, s, a.add(5), 1).unwrap().unwrap();
    assert_eq!((sig.signal, sig.code, sig.addr), (Signal::SIGSEGV, SiCode::SegvAccerr, a.add(5)));
}

#[test]
fn access_outside_any_mapping_is_segv_maperr() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let sig = cpu.read_u8(&mut e, s, VirtAddr::new(0x1234_5000)).unwrap().unwrap_err();
    assert_eq!((sig.signal, sig.code), (Signal::SIGSEGV, SiCode::SegvMaperr));
    let sig = cpu.read_u8(&mut e, s, VirtAddr::new(0xffff_8000_0000_0000)).unwrap().unwrap_err();
    assert_eq!(sig.code, SiCode::SegvMaperr);
}

#[test]
fn mprotect_read_only_after_write_faults_through_the_batch() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let a = applied!(cpu, e, e.mmap(s, MmapArgs::anon(PAGE_SIZE, Prot::READ | Prot::WRITE))).unwrap();
    cpu.write_u8(&mut e, s, a, 7).unwrap();
    applied!(cpu, e, e.mprotect(s, a.as_u64(), PAGE_SIZE, Prot::READ.bits())).unwrap();
    let sig = cpu.write_u8(&mut e, s, a, 8).unwrap().expect("the write must fault");
    assert_eq!(sig.code, SiCode::SegvAccerr);
    assert_eq!(cpu.read_u8(&mut e, s, a).unwrap(), Ok(7));
}

/// The control for the test above: the same steps with the batch dropped
/// (the host changing a present entry alone) let the write through, which is
/// exactly the failure the batch exists to prevent.
#[test]
fn dropping_the_mprotect_batch_leaves_a_stale_writable_translation() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let a = applied!(cpu, e, e.mmap(s, MmapArgs::anon(PAGE_SIZE, Prot::READ | Prot::WRITE))).unwrap();
    cpu.write_u8(&mut e, s, a, 7).unwrap();
    let (r, updates) = e.mprotect(s, a.as_u64(), PAGE_SIZE, Prot::READ.bits()).split();
    r.unwrap();
    assert_eq!(updates.store_count(), 1);
    cpu.mmu.discard(updates);
    assert_eq!(cpu.write_u8(&mut e, s, a, 8).unwrap(), None, "the stale shadow entry still allows the write");
}

#[test]
fn munmap_then_access_is_maperr_and_exit_frees_everything() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let before = e.frame_counts();
    let s = space(&mut e, &mut cpu);
    let a = applied!(cpu, e, e.mmap(s, MmapArgs::anon(64 * PAGE_SIZE, Prot::READ | Prot::WRITE))).unwrap();
    for i in 0..64 {
        cpu.write_u8(&mut e, s, a.add(i * PAGE_SIZE), 1).unwrap();
    }
    applied!(cpu, e, e.munmap(s, a.as_u64(), 64 * PAGE_SIZE)).unwrap();
    let sig = cpu.read_u8(&mut e, s, a).unwrap().unwrap_err();
    assert_eq!(sig.code, SiCode::SegvMaperr);
    let b = applied!(cpu, e, e.mmap(s, MmapArgs::anon(8 * PAGE_SIZE, Prot::READ | Prot::WRITE))).unwrap();
    cpu.write_u8(&mut e, s, b, 1).unwrap();
    e.destroy_space(s).unwrap();
    e.check_invariants().unwrap();
    assert_eq!(e.frame_counts(), before, "every frame is back in the pool");
}

#[test]
fn recycled_table_frames_are_cleaned_before_reuse() {
    // Space 1 writes a page, then exits: its table frames are freed while the
    // shadow model still caches their entries. Space 2 then needs so many leaf
    // tables that the pool must hand it those frames again. Every read in
    // space 2 at the same table slot must see a fresh zero page; without the
    // hazard stores, a stale cached entry would hand it space 1's page.
    let mut e = engine_pool(64);
    let mut cpu = SimCpu::new();
    // The page stays alive in the file's page cache after space 1 is gone.
    let file = e.create_file("/secret", vec![0x5a; PAGE_SIZE as usize].into(), false);
    let s1 = space(&mut e, &mut cpu);
    let map_file = guest_mm::ops::mmap::MapFile::Open { obj: file, read: true, write: false };
    let args = MmapArgs { flags: guest_mm::ops::map::SHARED, file: map_file, ..MmapArgs::anon(PAGE_SIZE, Prot::READ) };
    let a = applied!(cpu, e, e.mmap(s1, args)).unwrap();
    assert_eq!(cpu.read_u8(&mut e, s1, a).unwrap(), Ok(0x5a));
    e.destroy_space(s1).unwrap();
    let s2 = space(&mut e, &mut cpu);
    let region = 2 << 20;
    let regions = 80u64;
    let len = regions * region;
    let base = (a.as_u64() & !(region - 1)) - (regions - 1) * region;
    let fixed = MmapArgs {
        addr: base,
        flags: guest_mm::ops::map::PRIVATE | guest_mm::ops::map::ANONYMOUS | guest_mm::ops::map::FIXED,
        ..MmapArgs::anon(len, Prot::READ)
    };
    applied!(cpu, e, e.mmap(s2, fixed)).unwrap();
    let mut reads = 0;
    for k in 0..regions {
        let va = VirtAddr::new(base + k * region + (a.as_u64() & (region - 1)));
        match cpu.read_u8(&mut e, s2, va) {
            Ok(v) => assert_eq!(v, Ok(0), "read {k} at {va} saw a stale page"),
            Err(guest_mm::FaultError::OutOfMemory(_)) => break,
            Err(other) => panic!("{other}"),
        }
        reads += 1;
        e.check_invariants().unwrap();
    }
    assert!(reads > 50, "only {reads} reads");
    assert!(cpu.mmu.guest_stores > 0, "the pool was recycled, so hazard stores were needed");
}

fn map_object(
    e: &mut Engine<Mem>,
    cpu: &mut SimCpu,
    s: guest_mm::AsId,
    obj: guest_mm::ObjectId,
    pages: u64,
    flags: u64,
    prot: Prot,
) -> VirtAddr {
    let file = guest_mm::ops::mmap::MapFile::Open { obj, read: true, write: true };
    let a = MmapArgs { flags, file, ..MmapArgs::anon(pages * PAGE_SIZE, prot) };
    applied!(cpu, e, e.mmap(s, a)).unwrap()
}

#[test]
fn truncation_makes_pages_beyond_eof_sigbus_even_private_copies() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let f = e.create_memfd("t");
    applied!(cpu, e, e.truncate(f, 4 * PAGE_SIZE)).unwrap();
    let shared = map_object(&mut e, &mut cpu, s, f, 4, guest_mm::ops::map::SHARED, Prot::READ | Prot::WRITE);
    let private = map_object(&mut e, &mut cpu, s, f, 4, guest_mm::ops::map::PRIVATE, Prot::READ | Prot::WRITE);
    for i in 0..4 {
        assert_eq!(cpu.write_u8(&mut e, s, shared.add(i * PAGE_SIZE), 0x11).unwrap(), None);
        assert_eq!(cpu.write_u8(&mut e, s, private.add(i * PAGE_SIZE + 1), 0x22).unwrap(), None);
    }
    assert_eq!(cpu.read_u8(&mut e, s, private.add(3 * PAGE_SIZE)).unwrap(), Ok(0x11), "the copy was taken after the shared write");
    applied!(cpu, e, e.truncate(f, PAGE_SIZE + 10)).unwrap();
    for base in [shared, private] {
        let sig = cpu.read_u8(&mut e, s, base.add(2 * PAGE_SIZE)).unwrap().unwrap_err();
        assert_eq!((sig.signal, sig.code), (Signal::SIGBUS, SiCode::BusAdrerr));
    }
    // The page holding the new end of file stays; its tail past EOF reads zero.
    assert_eq!(cpu.read_u8(&mut e, s, shared.add(PAGE_SIZE)).unwrap(), Ok(0x11));
    assert_eq!(cpu.read_u8(&mut e, s, private.add(PAGE_SIZE + 1)).unwrap(), Ok(0x22), "a private copy below EOF survives");
    assert_eq!(e.object(f).unwrap().cached_count(), 2);
    e.check_invariants().unwrap();
}

#[test]
fn hole_punch_zeroes_shared_pages_but_keeps_private_copies() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let f = e.create_memfd("h");
    applied!(cpu, e, e.truncate(f, 2 * PAGE_SIZE)).unwrap();
    let shared = map_object(&mut e, &mut cpu, s, f, 2, guest_mm::ops::map::SHARED, Prot::READ | Prot::WRITE);
    let private = map_object(&mut e, &mut cpu, s, f, 2, guest_mm::ops::map::PRIVATE, Prot::READ | Prot::WRITE);
    cpu.write_u8(&mut e, s, shared, 5).unwrap();
    cpu.write_u8(&mut e, s, private.add(1), 6).unwrap();
    applied!(cpu, e, e.punch_hole(f, 0, PAGE_SIZE)).unwrap();
    assert_eq!(cpu.read_u8(&mut e, s, shared).unwrap(), Ok(0));
    assert_eq!(cpu.read_u8(&mut e, s, private.add(1)).unwrap(), Ok(6));
    assert_eq!(cpu.read_u8(&mut e, s, private).unwrap(), Ok(5), "the private copy was taken before the punch");
}

/// vm.overcommit_memory=0: one accountable request larger than the RAM is
/// ENOMEM (mmap, brk, mprotect to writable, mremap growth); MAP_NORESERVE
/// and read-only private mappings are not charged.
#[test]
fn a_private_writable_request_larger_than_ram_is_enomem_unless_uncharged() {
    use guest_mm::ops::map;
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let ram = e.config().pool_frames * PAGE_SIZE;
    let rw = (Prot::READ | Prot::WRITE).bits();
    let big = |flags: u64, prot: u64| MmapArgs { addr: 0, len: 2 * ram, prot, flags, file: guest_mm::ops::mmap::MapFile::None, offset: 0 };
    assert_eq!(applied!(cpu, e, e.mmap(s, big(map::PRIVATE | map::ANONYMOUS, rw))), Err(guest_mm::Errno::ENOMEM));
    assert_eq!(applied!(cpu, e, e.mmap(s, big(map::SHARED | map::ANONYMOUS, rw))), Err(guest_mm::Errno::ENOMEM));
    let noreserve = applied!(cpu, e, e.mmap(s, big(map::PRIVATE | map::ANONYMOUS | map::NORESERVE, rw))).unwrap();
    applied!(cpu, e, e.munmap(s, noreserve.as_u64(), 2 * ram)).unwrap();
    let ro = applied!(cpu, e, e.mmap(s, big(map::PRIVATE | map::ANONYMOUS, Prot::READ.bits()))).unwrap();
    assert_eq!(applied!(cpu, e, e.mprotect(s, ro.as_u64(), 2 * ram, rw)), Err(guest_mm::Errno::ENOMEM), "becoming writable is charged");
    applied!(cpu, e, e.mprotect(s, ro.as_u64(), ram / 2, rw)).unwrap();
    applied!(cpu, e, e.munmap(s, ro.as_u64(), 2 * ram)).unwrap();
    let small = applied!(cpu, e, e.mmap(s, MmapArgs::anon(PAGE_SIZE, Prot::READ | Prot::WRITE))).unwrap();
    let grown = applied!(cpu, e, e.mremap(s, small.as_u64(), PAGE_SIZE, 2 * ram, 1, 0));
    assert_eq!(grown, Err(guest_mm::Errno::ENOMEM));
    e.check_invariants().unwrap();
}
