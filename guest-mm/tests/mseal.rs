//! mseal(2) (mm/mseal.c, Linux 6.10+ as on 6.18) and what sealed VMAs
//! refuse, with the answers the host kernel gave for the same steps; run for
//! every backing where the rule applies (anonymous, shmem, file).
mod common;

use common::*;
use guest_mm::ops::madvise::*;
use guest_mm::ops::map;
use guest_mm::ops::mmap::{MapFile, MmapArgs};
use guest_mm::ops::mremap::{MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE};
use guest_mm::sim::SimCpu;
use guest_mm::vma::{Prot, VmFlags};
use guest_mm::{AsId, Engine, Errno, VirtAddr, PAGE_SIZE};

const P: u64 = PAGE_SIZE;

#[derive(Copy, Clone, Debug)]
enum Backing {
    Anon,
    Shmem,
    File,
}

const ALL: [Backing; 3] = [Backing::Anon, Backing::Shmem, Backing::File];

struct T {
    e: Engine<Mem>,
    cpu: SimCpu,
    s: AsId,
    file: MapFile,
}

impl T {
    fn new(b: Backing) -> T {
        let mut e = engine();
        let mut cpu = SimCpu::new();
        let s = space(&mut e, &mut cpu);
        let file = match b {
            Backing::Anon => MapFile::None,
            Backing::Shmem => {
                let f = e.create_memfd("seal");
                applied!(cpu, e, e.truncate(f, 64 * P)).unwrap();
                MapFile::Open { obj: f, read: true, write: true }
            }
            Backing::File => MapFile::Open { obj: e.create_file("seal", vec![7u8; 64 * 4096].into(), true), read: true, write: true },
        };
        T { e, cpu, s, file }
    }

    /// `pages` of the backing with `prot` (MAP_SHARED for objects, as the scenarios map them).
    fn map(&mut self, pages: u64, prot: Prot) -> u64 {
        let flags = match self.file {
            MapFile::None => map::PRIVATE | map::ANONYMOUS,
            _ => map::SHARED,
        };
        let a = MmapArgs { flags, file: self.file, ..MmapArgs::anon(pages * P, prot) };
        let (cpu, e) = (&mut self.cpu, &mut self.e);
        applied!(cpu, e, e.mmap(self.s, a)).unwrap().as_u64()
    }

    fn seal(&mut self, a: u64, len: u64) -> Result<(), Errno> {
        let (cpu, e) = (&mut self.cpu, &mut self.e);
        applied!(cpu, e, e.mseal(self.s, a, len, 0))
    }

    fn vmas(&self, a: u64, pages: u64) -> Vec<(u64, u64, bool)> {
        self.e
            .space(self.s)
            .unwrap()
            .vmas()
            .overlapping(VirtAddr::new(a), VirtAddr::new(a + pages * P))
            .map(|v| ((v.start.as_u64() - a) / P, (v.end.as_u64() - a) / P, v.is_sealed()))
            .collect()
    }
}

#[test]
fn mseal_checks_its_arguments_as_linux_does() {
    let mut t = T::new(Backing::Anon);
    let a = t.map(8, Prot::READ | Prot::WRITE);
    let s = t.s;
    let mut ms = |a: u64, l: u64, f: u64| {
        let (cpu, e) = (&mut t.cpu, &mut t.e);
        applied!(cpu, e, e.mseal(s, a, l, f))
    };
    assert_eq!(ms(a, P, 1), Err(Errno::EINVAL));
    assert_eq!(ms(a + 1, P, 0), Err(Errno::EINVAL));
    assert_eq!(ms(a, u64::MAX, 0), Err(Errno::EINVAL));
    assert_eq!(ms(a, u64::MAX - 4094, 0), Err(Errno::EINVAL));
    assert_eq!(ms(a, 0, 0), Ok(()));
    assert_eq!(ms(a + 100_000 * P, 0, 0), Ok(()));
    assert_eq!(ms(a - P, 2 * P, 0), Err(Errno::ENOMEM));
    assert_eq!(ms(0x7fff_ffff_f000, P, 0), Err(Errno::ENOMEM));
    assert_eq!(ms(u64::MAX - P + 1, P, 0), Err(Errno::EINVAL));
    assert_eq!(t.vmas(a, 8), vec![(0, 8, false)], "a failed mseal seals nothing");
    assert_eq!(t.seal(a + 2 * P, 2 * P - 100), Ok(()));
    assert_eq!(t.vmas(a, 8), vec![(0, 2, false), (2, 4, true), (4, 8, false)]);
    applied!(t.cpu, t.e, t.e.munmap(t.s, a + 6 * P, P)).unwrap();
    assert_eq!(t.seal(a + 5 * P, 2 * P), Err(Errno::ENOMEM), "a gap in the range");
    assert_eq!(t.seal(a + 6 * P, P), Err(Errno::ENOMEM));
    assert_eq!(t.vmas(a, 8), vec![(0, 2, false), (2, 4, true), (4, 6, false), (7, 8, false)]);
}

#[test]
fn sealed_vmas_refuse_mprotect_munmap_map_fixed_and_mremap_on_every_backing() {
    for b in ALL {
        let mut t = T::new(b);
        let a = t.map(8, Prot::READ | Prot::WRITE);
        t.seal(a + 2 * P, 2 * P).unwrap();
        let (s, cpu, e) = (t.s, &mut t.cpu, &mut t.e);
        // mprotect goes VMA by VMA: the unsealed part before is changed.
        assert_eq!(applied!(cpu, e, e.mprotect(s, a, 4 * P, Prot::READ.bits())), Err(Errno::EPERM), "{b:?}");
        assert!(!e.space(s).unwrap().vmas().find(VirtAddr::new(a)).unwrap().flags.contains(VmFlags::WRITE));
        assert_eq!(applied!(cpu, e, e.mprotect(s, a + 2 * P, P, (Prot::READ | Prot::WRITE).bits())), Err(Errno::EPERM));
        assert_eq!(applied!(cpu, e, e.munmap(s, a + 3 * P, 2 * P)), Err(Errno::EPERM));
        assert_eq!(applied!(cpu, e, e.munmap(s, a, 3 * P)), Err(Errno::EPERM));
        let fixed = MmapArgs { addr: a + P, flags: map::PRIVATE | map::ANONYMOUS | map::FIXED, ..MmapArgs::anon(2 * P, Prot::READ) };
        assert_eq!(applied!(cpu, e, e.mmap(s, fixed)), Err(Errno::EPERM));
        for (old, new, flags, to) in [
            (P, 2 * P, 0, 0),
            (P, P / 2, 0, 0),
            (2 * P, P, 0, 0),
            (P, P, MREMAP_MAYMOVE | MREMAP_FIXED, a + 6 * P),
            (P, P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0),
        ] {
            assert_eq!(
                applied!(cpu, e, e.mremap(s, a + 2 * P, old, new, flags, to)),
                Err(Errno::EPERM),
                "{b:?} mremap {old} {new} {flags}"
            );
        }
        assert_eq!(applied!(cpu, e, e.mremap(s, a + 5 * P, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, a + 2 * P)), Err(Errno::EPERM));
        assert_eq!(applied!(cpu, e, e.mremap(s, a + P, P, 2 * P, 0, 0)), Err(Errno::ENOMEM), "no room to grow in place");
        // MAP_FIXED from a+1: the first VMA was split at a+1 before the refusal, as in Linux.
        assert_eq!(t.vmas(a, 8), vec![(0, 1, false), (1, 2, false), (2, 4, true), (4, 8, false)], "{b:?}");
        // mlock and munlock are allowed; the seal stays through fork.
        let (s, cpu, e) = (t.s, &mut t.cpu, &mut t.e);
        assert_eq!(applied!(cpu, e, e.mlock(s, a + 2 * P, P)), Ok(()));
        assert_eq!(applied!(cpu, e, e.munlock(s, a + 2 * P, P)), Ok(()));
        let c = applied!(cpu, e, e.fork(s)).unwrap();
        assert_eq!(applied!(cpu, e, e.munmap(c, a + 2 * P, P)), Err(Errno::EPERM));
        assert_eq!(cpu.write_u8(e, s, VirtAddr::new(a + 2 * P), 4).unwrap(), None, "sealed memory stays writable");
    }
}

#[test]
fn sealing_merges_with_sealed_neighbours() {
    let mut t = T::new(Backing::Anon);
    let m = t.map(4, Prot::READ | Prot::WRITE);
    t.seal(m, P).unwrap();
    t.seal(m + 2 * P, P).unwrap();
    assert_eq!(t.vmas(m, 4), vec![(0, 1, true), (1, 2, false), (2, 3, true), (3, 4, false)]);
    t.seal(m + P, P).unwrap();
    assert_eq!(t.vmas(m, 4), vec![(0, 3, true), (3, 4, false)]);
    assert_eq!(t.seal(m, 3 * P), Ok(()), "sealing again is a no-op");
}

/// The advice that answers EPERM on a sealed read-only anonymous VMA (the host's list).
const DISCARD: [u64; 7] = [MADV_DONTNEED, MADV_FREE, MADV_REMOVE, MADV_DONTFORK, MADV_WIPEONFORK, MADV_DONTNEED_LOCKED, MADV_GUARD_INSTALL];

#[test]
fn discarding_advice_is_refused_on_sealed_read_only_anonymous_memory_only() {
    for prot in [Prot::READ, Prot::empty()] {
        let mut t = T::new(Backing::Anon);
        let a = t.map(4, prot);
        t.seal(a, 4 * P).unwrap();
        let (s, cpu, e) = (t.s, &mut t.cpu, &mut t.e);
        for adv in (0..=25).chain(100..=103) {
            let r = applied!(cpu, e, e.madvise(s, a, P, adv));
            if DISCARD.contains(&adv) {
                assert_eq!(r, Err(Errno::EPERM), "{prot:?} advice {adv}");
            } else {
                assert_ne!(r, Err(Errno::EPERM), "{prot:?} advice {adv}");
            }
        }
    }
    // Writable sealed anonymous memory, and shmem or files however mapped, are fine.
    for b in ALL {
        for prot in [Prot::READ, Prot::READ | Prot::WRITE] {
            if matches!(b, Backing::Anon) && prot == Prot::READ {
                continue;
            }
            let mut t = T::new(b);
            let a = t.map(4, prot);
            t.seal(a, 4 * P).unwrap();
            let (s, cpu, e) = (t.s, &mut t.cpu, &mut t.e);
            for adv in DISCARD {
                assert_ne!(applied!(cpu, e, e.madvise(s, a, P, adv)), Err(Errno::EPERM), "{b:?} {prot:?} advice {adv}");
            }
        }
    }
}

#[test]
fn madvise_stops_at_the_sealed_vma_after_advising_the_ones_before() {
    let mut t = T::new(Backing::Anon);
    let a = t.map(4, Prot::READ | Prot::WRITE);
    let (s, cpu, e) = (t.s, &mut t.cpu, &mut t.e);
    assert_eq!(cpu.write_u8(e, s, VirtAddr::new(a), 5).unwrap(), None);
    applied!(cpu, e, e.mprotect(s, a + 2 * P, 2 * P, Prot::READ.bits())).unwrap();
    applied!(cpu, e, e.mseal(s, a + 2 * P, 2 * P, 0)).unwrap();
    assert_eq!(applied!(cpu, e, e.madvise(s, a, 4 * P, MADV_DONTNEED)), Err(Errno::EPERM));
    assert_eq!(cpu.read_u8(e, s, VirtAddr::new(a)).unwrap(), Ok(0), "the first VMA was zapped");
}
