//! memfd seals (mm/memfd.c, mm/shmem.c): what each seal refuses, with the
//! answers the host kernel gave for the same calls (tests/abi/memfd.c
//! compares the whole set with Linux through the microVM).
mod common;

use common::*;
use guest_mm::ops::map;
use guest_mm::ops::mmap::{MapFile, MmapArgs};
use guest_mm::sim::SimCpu;
use guest_mm::vma::Prot;
use guest_mm::{Errno, PAGE_SIZE};
use linux_abi::fcntl::{F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE};

const P: u64 = PAGE_SIZE;

fn shared(f: guest_mm::ObjectId, prot: Prot) -> MmapArgs {
    MmapArgs { addr: 0, len: P, prot: prot.bits(), flags: map::SHARED, file: MapFile::Open { obj: f, read: true, write: true }, offset: 0 }
}

#[test]
fn a_write_seal_waits_for_writable_shared_mappings_then_refuses_writes_and_writable_maps() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let f = e.create_memfd("sealed");
    assert_eq!(e.add_seals(f, F_SEAL_WRITE), Err(Errno::EPERM), "a memfd without MFD_ALLOW_SEALING starts with F_SEAL_SEAL");
    e.allow_sealing(f);
    applied!(cpu, e, e.truncate(f, 2 * P)).unwrap();
    let w = applied!(cpu, e, e.mmap(s, shared(f, Prot::READ | Prot::WRITE))).unwrap();
    assert_eq!(e.add_seals(f, F_SEAL_WRITE), Err(Errno::EBUSY));
    applied!(cpu, e, e.munmap(s, w.as_u64(), P)).unwrap();
    e.add_seals(f, F_SEAL_WRITE).unwrap();
    assert_eq!(e.write_object(f, 0, b"x"), Err(Errno::EPERM));
    assert_eq!(applied!(cpu, e, e.mmap(s, shared(f, Prot::READ | Prot::WRITE))).map(drop), Err(Errno::EPERM));
    let r = applied!(cpu, e, e.mmap(s, shared(f, Prot::READ))).unwrap();
    assert_eq!(applied!(cpu, e, e.mprotect(s, r.as_u64(), P, (Prot::READ | Prot::WRITE).bits())), Err(Errno::EACCES));
    assert_eq!(applied!(cpu, e, e.punch_hole(f, 0, P)), Err(Errno::EPERM));
    e.check_invariants().unwrap();
}

#[test]
fn size_seals_refuse_shrinking_and_growing_and_a_write_past_the_end_is_cut() {
    let mut e = engine();
    let f = e.create_memfd("sized");
    e.allow_sealing(f);
    e.truncate(f, P).split().0.unwrap();
    e.add_seals(f, F_SEAL_SHRINK | F_SEAL_GROW).unwrap();
    assert_eq!(e.truncate(f, P / 2).split().0, Err(Errno::EPERM));
    assert_eq!(e.truncate(f, 2 * P).split().0, Err(Errno::EPERM));
    e.truncate(f, P).split().0.unwrap();
    assert_eq!(e.write_object(f, P - 2, b"abcd"), Ok(2), "the part before the end is written");
    assert_eq!(e.write_object(f, P, b"abcd"), Err(Errno::EPERM));
    e.add_seals(f, F_SEAL_SEAL).unwrap();
    assert_eq!(e.add_seals(f, F_SEAL_WRITE), Err(Errno::EPERM));
    assert_eq!(e.add_seals(f, 0x100), Err(Errno::EINVAL));
    assert_eq!(e.seals(f), Some(F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW));
}
