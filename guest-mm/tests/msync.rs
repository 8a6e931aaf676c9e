//! msync(2) (mm/msync.c) with the answers the host kernel gave for the same
//! calls, and MS_SYNC's writeback of shared file pages (a no-op for shmem).
mod common;

use common::*;
use guest_mm::ops::map;
use guest_mm::ops::mmap::{MapFile, MmapArgs};
use guest_mm::ops::msync::{MS_ASYNC, MS_INVALIDATE, MS_SYNC};
use guest_mm::sim::SimCpu;
use guest_mm::vma::Prot;
use guest_mm::{Errno, VirtAddr, PAGE_SIZE};

const P: u64 = PAGE_SIZE;

#[test]
fn msync_errors_and_holes_are_reported_as_linux_does() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let a = applied!(cpu, e, e.mmap(s, MmapArgs::anon(8 * P, Prot::READ | Prot::WRITE))).unwrap().as_u64();
    let cases: &[(u64, u64, u64, Result<(), Errno>)] = &[
        (a, P, 8, Err(Errno::EINVAL)),
        (a, P, MS_ASYNC | MS_SYNC, Err(Errno::EINVAL)),
        (a + 1, P, 0, Err(Errno::EINVAL)),
        (a, P, (1 << 32) | MS_SYNC, Ok(())),
        (a, u64::MAX, MS_SYNC, Ok(())),
        (a, 0, 0, Ok(())),
        (u64::MAX - P + 1, 2 * P, 0, Err(Errno::ENOMEM)),
        (0x10000, P, MS_SYNC, Err(Errno::ENOMEM)),
        (0x10000, P, MS_ASYNC, Err(Errno::ENOMEM)),
        (0x7fff_ffff_f000, P, 0, Err(Errno::ENOMEM)),
        (0x8000_0000_0000, P, 0, Err(Errno::ENOMEM)),
    ];
    for &(start, len, flags, want) in cases {
        assert_eq!(applied!(cpu, e, e.msync(s, start, len, flags)), want, "msync({start:#x}, {len:#x}, {flags:#x})");
    }
    applied!(cpu, e, e.munmap(s, a + 2 * P, P)).unwrap();
    for flags in [MS_ASYNC, MS_SYNC, 0, MS_ASYNC | MS_INVALIDATE] {
        assert_eq!(applied!(cpu, e, e.msync(s, a, 8 * P, flags)), Err(Errno::ENOMEM));
    }
    applied!(cpu, e, e.mlock(s, a, P)).unwrap();
    assert_eq!(applied!(cpu, e, e.msync(s, a, P, MS_INVALIDATE)), Err(Errno::EBUSY));
    assert_eq!(applied!(cpu, e, e.msync(s, a, P, MS_SYNC)), Ok(()));
    assert_eq!(applied!(cpu, e, e.msync(s, a + P, P, MS_INVALIDATE)), Ok(()));
    assert_eq!(applied!(cpu, e, e.msync(s, a, 8 * P, MS_INVALIDATE | MS_SYNC)), Err(Errno::EBUSY));
}

#[test]
fn ms_sync_writes_dirty_shared_file_pages_back_and_leaves_them_mapped() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let f = e.create_file("data", vec![1u8; 4 * 4096].into(), true);
    let m = MmapArgs {
        flags: map::SHARED,
        file: MapFile::Open { obj: f, read: true, write: true },
        ..MmapArgs::anon(4 * P, Prot::READ | Prot::WRITE)
    };
    let m = applied!(cpu, e, e.mmap(s, m)).unwrap().as_u64();
    assert_eq!(cpu.write_u8(&mut e, s, VirtAddr::new(m + P + 3), 9).unwrap(), None);
    assert_eq!(e.object(f).unwrap().file_page(1).unwrap()[3], 1, "not written back yet");
    assert_eq!(applied!(cpu, e, e.msync(s, m, 4 * P, MS_ASYNC)), Ok(()));
    assert_eq!(e.object(f).unwrap().file_page(1).unwrap()[3], 1, "MS_ASYNC starts nothing here");
    assert_eq!(applied!(cpu, e, e.msync(s, m, 4 * P, MS_SYNC)), Ok(()));
    assert_eq!(e.object(f).unwrap().file_page(1).unwrap()[3], 9);
    assert_ne!(e.pagemap(s, VirtAddr::new(m + P)).unwrap() & guest_mm::introspect::PM_PRESENT, 0, "still mapped");
    assert_eq!(cpu.read_u8(&mut e, s, VirtAddr::new(m + P + 3)).unwrap(), Ok(9));
    // A private mapping's copies are not the file's.
    let p = MmapArgs {
        flags: map::PRIVATE,
        file: MapFile::Open { obj: f, read: true, write: true },
        ..MmapArgs::anon(4 * P, Prot::READ | Prot::WRITE)
    };
    let p = applied!(cpu, e, e.mmap(s, p)).unwrap().as_u64();
    assert_eq!(cpu.write_u8(&mut e, s, VirtAddr::new(p + 2 * P), 5).unwrap(), None);
    assert_eq!(applied!(cpu, e, e.msync(s, p, 4 * P, MS_SYNC)), Ok(()));
    assert_eq!(e.object(f).unwrap().file_page(2).unwrap()[0], 1);
}

#[test]
fn ms_sync_of_shmem_succeeds_and_changes_nothing() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let f = e.create_memfd("m");
    applied!(cpu, e, e.truncate(f, 4 * P)).unwrap();
    let m = MmapArgs {
        flags: map::SHARED,
        file: MapFile::Open { obj: f, read: true, write: true },
        ..MmapArgs::anon(4 * P, Prot::READ | Prot::WRITE)
    };
    let m = applied!(cpu, e, e.mmap(s, m)).unwrap().as_u64();
    assert_eq!(cpu.write_u8(&mut e, s, VirtAddr::new(m), 9).unwrap(), None);
    assert_eq!(applied!(cpu, e, e.msync(s, m, 4 * P, MS_SYNC | MS_INVALIDATE)), Ok(()));
    assert_eq!(cpu.read_u8(&mut e, s, VirtAddr::new(m)).unwrap(), Ok(9));
}
