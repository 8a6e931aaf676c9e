//! mincore(2) (mm/mincore.c) with the answers the host kernel gave for the
//! same steps: argument errors, holes, and what is resident for anonymous
//! memory (untouched, zero page, written, guard markers, PROT_NONE) and for
//! shmem and files (the page cache, whoever mapped the page).
mod common;

use common::*;
use guest_mm::ops::madvise::{MADV_DONTNEED, MADV_GUARD_INSTALL, MADV_PAGEOUT};
use guest_mm::ops::map;
use guest_mm::ops::mmap::{MapFile, MmapArgs};
use guest_mm::sim::SimCpu;
use guest_mm::vma::Prot;
use guest_mm::{AsId, Engine, Errno, ObjectId, VirtAddr, PAGE_SIZE, TASK_SIZE};

const P: u64 = PAGE_SIZE;

fn mc(e: &Engine<Mem>, s: AsId, a: u64, len: u64) -> Result<String, Errno> {
    let (r, u) = e.mincore(s, a, len).split();
    assert!(u.is_empty());
    r.map(|v| v.iter().map(|b| char::from(b'0' + b)).collect())
}

fn anon(cpu: &mut SimCpu, e: &mut Engine<Mem>, s: AsId, pages: u64, prot: Prot) -> u64 {
    applied!(cpu, e, e.mmap(s, MmapArgs::anon(pages * P, prot))).unwrap().as_u64()
}

fn shared(cpu: &mut SimCpu, e: &mut Engine<Mem>, s: AsId, obj: ObjectId, pages: u64, flags: u64, prot: Prot) -> u64 {
    let a = MmapArgs { flags, file: MapFile::Open { obj, read: true, write: true }, ..MmapArgs::anon(pages * P, prot) };
    applied!(cpu, e, e.mmap(s, a)).unwrap().as_u64()
}

#[test]
fn mincore_argument_errors_are_linuxs() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let a = anon(&mut cpu, &mut e, s, 8, Prot::READ | Prot::WRITE);
    assert_eq!(mc(&e, s, a + 1, P), Err(Errno::EINVAL));
    assert_eq!(mc(&e, s, 0x1000, 0), Ok(String::new()), "an empty range checks no mapping");
    assert_eq!(mc(&e, s, 0x10000, P), Err(Errno::ENOMEM));
    assert_eq!(mc(&e, s, TASK_SIZE, P), Err(Errno::ENOMEM));
    assert_eq!(mc(&e, s, a, u64::MAX), Err(Errno::ENOMEM));
    assert_eq!(mc(&e, s, a, P + 1), Ok("00".into()), "a partial page counts");
    applied!(cpu, e, e.munmap(s, a + 5 * P, P)).unwrap();
    assert_eq!(mc(&e, s, a, 8 * P), Err(Errno::ENOMEM));
}

#[test]
fn anonymous_pages_are_resident_once_mapped_and_guard_markers_are_not() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let a = anon(&mut cpu, &mut e, s, 8, Prot::READ | Prot::WRITE);
    assert_eq!(cpu.read_u8(&mut e, s, VirtAddr::new(a + P)).unwrap(), Ok(0));
    assert_eq!(cpu.write_u8(&mut e, s, VirtAddr::new(a + 2 * P), 1).unwrap(), None);
    assert_eq!(mc(&e, s, a, 8 * P), Ok("01100000".into()));
    applied!(cpu, e, e.madvise(s, a + 2 * P, 2 * P, MADV_GUARD_INSTALL)).unwrap();
    assert_eq!(mc(&e, s, a, 5 * P), Ok("01000".into()));
    applied!(cpu, e, e.mprotect(s, a, 2 * P, 0)).unwrap();
    assert_eq!(mc(&e, s, a, 5 * P), Ok("01000".into()), "PROT_NONE keeps the page");
    let q = MmapArgs { flags: map::PRIVATE | map::ANONYMOUS | map::POPULATE, ..MmapArgs::anon(4 * P, Prot::READ) };
    let q = applied!(cpu, e, e.mmap(s, q)).unwrap().as_u64();
    assert_eq!(mc(&e, s, q, 4 * P), Ok("1111".into()));
}

#[test]
fn shmem_and_file_pages_are_resident_while_in_the_page_cache() {
    for file in [false, true] {
        let mut e = engine();
        let mut cpu = SimCpu::new();
        let s = space(&mut e, &mut cpu);
        let f = if file { e.create_file("m", vec![0u8; 8 * 4096].into(), true) } else { e.create_memfd("m") };
        applied!(cpu, e, e.truncate(f, 8 * P)).unwrap();
        let m = shared(&mut cpu, &mut e, s, f, 8, map::SHARED, Prot::READ | Prot::WRITE);
        assert_eq!(cpu.write_u8(&mut e, s, VirtAddr::new(m), 1).unwrap(), None);
        if file {
            // A file read fault maps around (readahead): only check the pages touched.
            assert_eq!(&mc(&e, s, m, P).unwrap(), "1");
            continue;
        }
        assert_eq!(cpu.read_u8(&mut e, s, VirtAddr::new(m + P)).unwrap(), Ok(0));
        assert_eq!(e.write_object(f, 3 * P, b"x"), Ok(1));
        assert_eq!(mc(&e, s, m, 8 * P), Ok("11010000".into()));
        // A private mapping of the same object sees the same page cache.
        let p = shared(&mut cpu, &mut e, s, f, 8, map::PRIVATE, Prot::READ);
        assert_eq!(mc(&e, s, p, 8 * P), Ok("11010000".into()));
        applied!(cpu, e, e.madvise(s, m + 3 * P, P, MADV_GUARD_INSTALL)).unwrap();
        assert_eq!(mc(&e, s, m, 5 * P), Ok("11010".into()), "a guard marker over a cached page");
        applied!(cpu, e, e.madvise(s, m, P, MADV_DONTNEED)).unwrap();
        assert_eq!(mc(&e, s, m, 2 * P), Ok("11".into()));
        applied!(cpu, e, e.madvise(s, m, P, MADV_PAGEOUT)).unwrap();
        assert_eq!(mc(&e, s, m, 2 * P), Ok("11".into()), "shmem stays in memory without swap");
        applied!(cpu, e, e.truncate(f, 2 * P + 1)).unwrap();
        assert_eq!(mc(&e, s, m, 4 * P), Ok("1100".into()), "nothing past the end");
    }
}

#[test]
fn shared_anonymous_memory_is_shmem() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let a = MmapArgs { flags: map::SHARED | map::ANONYMOUS, ..MmapArgs::anon(4 * P, Prot::READ | Prot::WRITE) };
    let a = applied!(cpu, e, e.mmap(s, a)).unwrap().as_u64();
    assert_eq!(cpu.write_u8(&mut e, s, VirtAddr::new(a + P), 1).unwrap(), None);
    assert_eq!(cpu.read_u8(&mut e, s, VirtAddr::new(a + 2 * P)).unwrap(), Ok(0));
    assert_eq!(mc(&e, s, a, 4 * P), Ok("0110".into()));
    applied!(cpu, e, e.mprotect(s, a, 4 * P, 0)).unwrap();
    assert_eq!(mc(&e, s, a, 4 * P), Ok("0110".into()));
}
