//! Revocation of device windows (seed 004): every mapping in every space
//! becomes SIGBUS, private copies stay, new mappings are refused, and the
//! batch is what makes it true for the MMU.
mod common;

use common::*;
use guest_mm::ops::map;
use guest_mm::ops::mmap::{MapFile, MmapArgs};
use guest_mm::revoke::RevokeError;
use guest_mm::sim::SimCpu;
use guest_mm::vma::Prot;
use guest_mm::{AsId, Engine, EngineConfig, Errno, FaultAround, Frame, Limits, ObjectId, SiCode, Signal, VirtAddr, PAGE_SIZE};
use vm_memory::{GuestAddress, GuestMemoryMmap};

/// Where the test device window lives: above the 16 MiB of RAM, outside the pool.
const WINDOW: u64 = 0x1_0000_0000;
const PAGES: u64 = 8;

fn engine_with_window() -> Engine<Mem> {
    let ram = 16u64 << 20;
    let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), ram as usize), (GuestAddress(WINDOW), (PAGES * PAGE_SIZE) as usize)])
        .unwrap();
    let config = EngineConfig {
        pool_first: Frame::new(1),
        pool_frames: (ram >> 12) - 1,
        kernel_entries: vec![],
        fault_around: FaultAround { file_pages: 16, anon_pages: 1 },
        limits: Limits::default(),
    };
    Engine::new(mem, config).unwrap()
}

fn setup() -> (Engine<Mem>, SimCpu, AsId, ObjectId) {
    let mut e = engine_with_window();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let dev = e.create_device("/dev/pmem0", Frame::new(WINDOW >> 12), PAGES);
    (e, cpu, s, dev)
}

fn map_dev(e: &mut Engine<Mem>, cpu: &mut SimCpu, s: AsId, dev: ObjectId, flags: u64, pages: u64) -> Result<VirtAddr, Errno> {
    let a = MmapArgs {
        addr: 0,
        len: pages * PAGE_SIZE,
        prot: (Prot::READ | Prot::WRITE).bits(),
        flags,
        file: MapFile::Open { obj: dev, read: true, write: true },
        offset: 0,
    };
    applied!(cpu, e, e.mmap(s, a))
}

fn revoke(e: &mut Engine<Mem>, cpu: &mut SimCpu, dev: ObjectId) -> guest_mm::revoke::RevokeReport {
    applied!(cpu, e, e.revoke_device(dev)).unwrap()
}

fn sigbus_at(r: Result<u8, guest_mm::SigFault>, va: VirtAddr) {
    let s = r.expect_err("the access must fault");
    assert_eq!((s.signal, s.code, s.addr), (Signal::SIGBUS, SiCode::BusAdrerr, va));
}

#[test]
fn access_after_revoke_is_sigbus_at_the_address_in_parent_and_forked_child() {
    let (mut e, mut cpu, p, dev) = setup();
    let a = map_dev(&mut e, &mut cpu, p, dev, map::SHARED, PAGES).unwrap();
    for i in 0..PAGES {
        assert_eq!(cpu.write_u8(&mut e, p, a.add(i * PAGE_SIZE + 5), 0x40 + i as u8).unwrap(), None);
    }
    let c = applied!(cpu, e, e.fork(p)).unwrap();
    assert_eq!(cpu.read_u8(&mut e, c, a.add(3 * PAGE_SIZE + 5)).unwrap(), Ok(0x43), "the child shares the device pages");
    let rep = revoke(&mut e, &mut cpu, dev);
    assert_eq!((rep.spaces, rep.vmas, rep.kept_copies), (2, 2, 0));
    assert!(rep.zapped >= PAGES, "every page the parent touched was zapped: {rep:?}");
    for s in [p, c] {
        for i in [0, 3, PAGES - 1] {
            let va = a.add(i * PAGE_SIZE + 123);
            sigbus_at(cpu.read_u8(&mut e, s, va).unwrap(), va);
            assert_eq!(cpu.write_u8(&mut e, s, va, 1).unwrap().map(|s| (s.signal, s.addr)), Some((Signal::SIGBUS, va)));
        }
    }
    e.check_invariants().unwrap();
}

#[test]
fn dropping_the_revoke_batch_leaves_a_stale_translation_to_the_device() {
    // The control: without the shim applying the batch, the MMU keeps
    // reaching the old backing. This is why revocation returns a batch.
    let (mut e, mut cpu, p, dev) = setup();
    let a = map_dev(&mut e, &mut cpu, p, dev, map::SHARED, 1).unwrap();
    cpu.write_u8(&mut e, p, a, 9).unwrap();
    let (r, u) = e.revoke_device(dev).split();
    r.unwrap();
    cpu.mmu.discard(u);
    assert_eq!(cpu.read_u8(&mut e, p, a).unwrap(), Ok(9), "a stale translation still reads the device");
}

#[test]
fn private_cow_copies_stay_readable_and_untouched_pages_are_sigbus() {
    let (mut e, mut cpu, p, dev) = setup();
    let s = map_dev(&mut e, &mut cpu, p, dev, map::SHARED, PAGES).unwrap();
    cpu.write_u8(&mut e, p, s, 0x11).unwrap();
    cpu.write_u8(&mut e, p, s.add(PAGE_SIZE), 0x22).unwrap();
    let a = map_dev(&mut e, &mut cpu, p, dev, map::PRIVATE, PAGES).unwrap();
    // Page 0 copied (written), page 1 only read (maps the device frame).
    cpu.write_u8(&mut e, p, a, 0x77).unwrap();
    assert_eq!(cpu.read_u8(&mut e, p, a.add(PAGE_SIZE)).unwrap(), Ok(0x22));
    let rep = revoke(&mut e, &mut cpu, dev);
    assert_eq!(rep.kept_copies, 1);
    assert_eq!(cpu.read_u8(&mut e, p, a).unwrap(), Ok(0x77), "the private copy is the process's memory");
    assert_eq!(cpu.write_u8(&mut e, p, a, 0x78).unwrap(), None, "and stays writable");
    sigbus_at(cpu.read_u8(&mut e, p, a.add(PAGE_SIZE)).unwrap(), a.add(PAGE_SIZE));
    sigbus_at(cpu.read_u8(&mut e, p, a.add(2 * PAGE_SIZE)).unwrap(), a.add(2 * PAGE_SIZE));
    // Writing a page never copied would need the device page: SIGBUS too.
    assert_eq!(cpu.write_u8(&mut e, p, a.add(4 * PAGE_SIZE), 1).unwrap().map(|s| s.signal), Some(Signal::SIGBUS));
    // A fork keeps both the copy and the revocation.
    let c = applied!(cpu, e, e.fork(p)).unwrap();
    assert_eq!(cpu.read_u8(&mut e, c, a).unwrap(), Ok(0x78));
    sigbus_at(cpu.read_u8(&mut e, c, a.add(PAGE_SIZE)).unwrap(), a.add(PAGE_SIZE));
    sigbus_at(cpu.read_u8(&mut e, c, s).unwrap(), s);
}

#[test]
fn new_mappings_reads_and_writes_of_a_revoked_device_fail() {
    let (mut e, mut cpu, p, dev) = setup();
    revoke(&mut e, &mut cpu, dev);
    assert_eq!(map_dev(&mut e, &mut cpu, p, dev, map::SHARED, 1), Err(Errno::ENODEV));
    assert_eq!(map_dev(&mut e, &mut cpu, p, dev, map::PRIVATE, 1), Err(Errno::ENODEV));
    let mut buf = [0u8; 4];
    assert_eq!(e.read_object(dev, 0, &mut buf), Err(Errno::EIO));
    assert_eq!(e.write_object(dev, 0, &buf), Err(Errno::EIO));
    e.check_invariants().unwrap();
}

#[test]
fn munmap_mprotect_and_madvise_of_revoked_ranges_still_work() {
    let (mut e, mut cpu, p, dev) = setup();
    let a = map_dev(&mut e, &mut cpu, p, dev, map::SHARED, PAGES).unwrap();
    for i in 0..PAGES {
        cpu.write_u8(&mut e, p, a.add(i * PAGE_SIZE), 1).unwrap();
    }
    revoke(&mut e, &mut cpu, dev);
    assert_eq!(applied!(cpu, e, e.mprotect(p, a.as_u64(), 2 * PAGE_SIZE, Prot::READ.bits())), Ok(()));
    // Write to a read-only revoked page: access_error comes first (SEGV_ACCERR), as for any read-only VMA.
    assert_eq!(cpu.write_u8(&mut e, p, a, 1).unwrap().map(|s| s.code), Some(SiCode::SegvAccerr));
    sigbus_at(cpu.read_u8(&mut e, p, a).unwrap(), a);
    assert_eq!(applied!(cpu, e, e.madvise(p, a.as_u64(), PAGES * PAGE_SIZE, 4)), Ok(()), "MADV_DONTNEED");
    sigbus_at(cpu.read_u8(&mut e, p, a.add(PAGE_SIZE)).unwrap(), a.add(PAGE_SIZE));
    assert_eq!(applied!(cpu, e, e.munmap(p, a.as_u64(), 2 * PAGE_SIZE)), Ok(()));
    assert_eq!(cpu.read_u8(&mut e, p, a).unwrap().unwrap_err().code, SiCode::SegvMaperr, "unmapped now");
    sigbus_at(cpu.read_u8(&mut e, p, a.add(2 * PAGE_SIZE)).unwrap(), a.add(2 * PAGE_SIZE));
    assert_eq!(applied!(cpu, e, e.munmap(p, a.as_u64(), PAGES * PAGE_SIZE)), Ok(()));
    e.check_invariants().unwrap();
    assert!(e.object(dev).is_some(), "the device object lives while a handle holds it");
    e.put_object(dev).unwrap();
    assert!(e.object(dev).is_none(), "no handle, no mapping: released");
}

#[test]
fn revoking_twice_or_a_non_device_is_refused_without_change() {
    let (mut e, mut cpu, p, dev) = setup();
    let memfd = e.create_memfd("x");
    let r = applied!(cpu, e, e.revoke_device(memfd));
    assert!(matches!(r, Err(RevokeError::NotADevice(_))));
    let r = applied!(cpu, e, e.revoke_device(ObjectId(999)));
    assert!(matches!(r, Err(RevokeError::NoSuchObject(_))));
    revoke(&mut e, &mut cpu, dev);
    let r = applied!(cpu, e, e.revoke_device(dev));
    assert!(matches!(r, Err(RevokeError::AlreadyRevoked(_))));
    let _ = p;
}

#[test]
fn a_replugged_device_at_a_new_window_maps_fresh_frames() {
    let (mut e, mut cpu, p, dev) = setup();
    let a = map_dev(&mut e, &mut cpu, p, dev, map::SHARED, 2).unwrap();
    cpu.write_u8(&mut e, p, a, 5).unwrap();
    revoke(&mut e, &mut cpu, dev);
    // The second device reuses the same window here (the vmm never does,
    // but the engine must not confuse the two objects' states).
    let dev2 = e.create_device("/dev/pmem1", Frame::new(WINDOW >> 12), PAGES);
    let b = map_dev(&mut e, &mut cpu, p, dev2, map::SHARED, 2).unwrap();
    assert_eq!(cpu.read_u8(&mut e, p, b).unwrap(), Ok(5));
    sigbus_at(cpu.read_u8(&mut e, p, a).unwrap(), a);
}
