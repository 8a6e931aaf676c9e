//! Guard regions (seed 003, mm/madvise.c madvise_guard_install/remove), run
//! for every backing the way Linux's guard-regions selftest does: private
//! anonymous memory, a MAP_SHARED shmem object and a MAP_SHARED host file.
//! The same rules are checked against the real kernel by the scenario corpus
//! (tests/scenarios/guard-*.scn); these run on plain memory with invariants
//! checked after every step.
mod common;

use common::*;
use guest_mm::introspect::{PM_GUARD_REGION, PM_PRESENT};
use guest_mm::ops::madvise::*;
use guest_mm::ops::map;
use guest_mm::ops::mmap::{MapFile, MmapArgs};
use guest_mm::ops::mremap::MREMAP_MAYMOVE;
use guest_mm::sim::SimCpu;
use guest_mm::vma::{Prot, VmFlags};
use guest_mm::{AsId, Engine, Errno, ObjectId, SiCode, Signal, VirtAddr, PAGE_SIZE};
use std::sync::Arc;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Backing {
    Anon,
    Shmem,
    File,
}

const ALL: [Backing; 3] = [Backing::Anon, Backing::Shmem, Backing::File];
const RW: Prot = Prot::READ.union(Prot::WRITE);

/// The first byte of page `k` of the file fixture.
fn file_byte(k: u64) -> u8 {
    b'a' + (k % 26) as u8
}

struct World {
    e: Engine<Mem>,
    cpu: SimCpu,
    s: AsId,
    backing: Backing,
    obj: Option<ObjectId>,
}

impl World {
    fn new(backing: Backing, pages: u64) -> Self {
        let mut e = engine();
        let mut cpu = SimCpu::new();
        let s = space(&mut e, &mut cpu);
        let obj = match backing {
            Backing::Anon => None,
            Backing::Shmem => {
                let f = e.create_memfd("guard");
                applied!(cpu, e, e.truncate(f, pages * PAGE_SIZE)).unwrap();
                Some(f)
            }
            Backing::File => {
                let data: Vec<u8> = (0..pages * PAGE_SIZE).map(|i| if i % PAGE_SIZE == 0 { file_byte(i / PAGE_SIZE) } else { 0 }).collect();
                Some(e.create_file("guard.bin", Arc::from(data), true))
            }
        };
        World { e, cpu, s, backing, obj }
    }

    /// Maps `pages` pages at file offset `pgoff` the way the selftest does:
    /// private anonymous, or MAP_SHARED of the object.
    fn map(&mut self, pages: u64, pgoff: u64, prot: Prot) -> VirtAddr {
        self.map_flags(pages, pgoff, prot, 0, 0)
    }

    fn map_flags(&mut self, pages: u64, pgoff: u64, prot: Prot, extra: u64, addr: u64) -> VirtAddr {
        let a = match self.obj {
            None => MmapArgs { addr, flags: map::PRIVATE | map::ANONYMOUS | extra, ..MmapArgs::anon(pages * PAGE_SIZE, prot) },
            Some(obj) => MmapArgs {
                addr,
                flags: map::SHARED | extra,
                file: MapFile::Open { obj, read: true, write: true },
                offset: pgoff * PAGE_SIZE,
                ..MmapArgs::anon(pages * PAGE_SIZE, prot)
            },
        };
        applied!(self.cpu, self.e, self.e.mmap(self.s, a)).unwrap()
    }

    fn madvise(&mut self, a: VirtAddr, pages: u64, advice: u64) -> Result<(), Errno> {
        applied!(self.cpu, self.e, self.e.madvise(self.s, a.as_u64(), pages * PAGE_SIZE, advice))
    }

    fn write(&mut self, va: VirtAddr, v: u8) -> Result<(), (Signal, SiCode, VirtAddr)> {
        match self.cpu.write_u8(&mut self.e, self.s, va, v).unwrap() {
            None => Ok(()),
            Some(sig) => Err((sig.signal, sig.code, sig.addr)),
        }
    }

    fn read_in(&mut self, s: AsId, va: VirtAddr) -> Result<u8, (Signal, SiCode, VirtAddr)> {
        let r = self.cpu.read_u8(&mut self.e, s, va).unwrap();
        self.e.check_invariants().unwrap();
        r.map_err(|sig| (sig.signal, sig.code, sig.addr))
    }

    fn read(&mut self, va: VirtAddr) -> Result<u8, (Signal, SiCode, VirtAddr)> {
        self.read_in(self.s, va)
    }

    fn vma_count(&self) -> usize {
        self.e.maps(self.s, false).unwrap().lines().count()
    }

    /// Reading page `k` must give SIGSEGV/SEGV_MAPERR at that address, and so
    /// must writing it where the VMA allows writes (elsewhere the VMA check
    /// comes first: SEGV_ACCERR, as x86's access_error decides).
    fn assert_guarded(&mut self, a: VirtAddr, k: u64) {
        let va = a.add(k * PAGE_SIZE + 3);
        assert_eq!(self.read(va), Err((Signal::SIGSEGV, SiCode::SegvMaperr, va)), "{:?}: page {k} should be a guard", self.backing);
        let writable = self.e.space(self.s).unwrap().vmas().find(va).unwrap().flags.contains(VmFlags::WRITE);
        let code = if writable { SiCode::SegvMaperr } else { SiCode::SegvAccerr };
        assert_eq!(self.write(va, 1), Err((Signal::SIGSEGV, code, va)));
        assert_ne!(self.e.pagemap(self.s, a.add(k * PAGE_SIZE)).unwrap() & PM_GUARD_REGION, 0, "pagemap bit 58");
    }

    fn assert_accessible(&mut self, a: VirtAddr, k: u64) {
        assert!(self.read(a.add(k * PAGE_SIZE)).is_ok(), "{:?}: page {k} should be accessible", self.backing);
        assert_eq!(self.e.pagemap(self.s, a.add(k * PAGE_SIZE)).unwrap() & PM_GUARD_REGION, 0);
    }

    /// What page `k` holds when nothing wrote it (or after its private copy is dropped).
    fn pristine(&self, k: u64) -> u8 {
        match self.backing {
            Backing::File => file_byte(k),
            _ => 0,
        }
    }
}

#[test]
fn install_zaps_populated_pages_and_access_is_segv_maperr() {
    for b in ALL {
        let mut w = World::new(b, 10);
        let a = w.map(10, 0, RW);
        for k in 0..10 {
            w.write(a.add(k * PAGE_SIZE), 0x40 + k as u8).unwrap();
        }
        w.madvise(a.add(2 * PAGE_SIZE), 3, MADV_GUARD_INSTALL).unwrap();
        assert_eq!(w.e.pagemap(w.s, a.add(2 * PAGE_SIZE)).unwrap() & PM_PRESENT, 0, "{b:?}: installing zapped the page");
        for k in 2..5 {
            w.assert_guarded(a, k);
        }
        for k in [0, 1, 5, 9] {
            assert_eq!(w.read(a.add(k * PAGE_SIZE)), Ok(0x40 + k as u8));
        }
        w.madvise(a.add(2 * PAGE_SIZE), 3, MADV_GUARD_REMOVE).unwrap();
        // Anonymous contents were zapped with the page; shared contents live in the object.
        let want = if b == Backing::Anon { 0 } else { 0x42 };
        assert_eq!(w.read(a.add(2 * PAGE_SIZE)), Ok(want), "{b:?}");
        w.assert_accessible(a, 3);
    }
}

#[test]
fn guard_on_read_only_mapping_installs_and_removes() {
    for b in ALL {
        let mut w = World::new(b, 4);
        let a = w.map(4, 0, Prot::READ);
        assert_eq!(w.read(a.add(PAGE_SIZE)), Ok(w.pristine(1)));
        w.madvise(a.add(PAGE_SIZE), 1, MADV_GUARD_INSTALL).unwrap();
        w.assert_guarded(a, 1);
        w.madvise(a, 4, MADV_GUARD_REMOVE).unwrap();
        let p = w.pristine(1);
        assert_eq!(w.read(a.add(PAGE_SIZE)), Ok(p));
    }
}

#[test]
fn guards_survive_mprotect_split_and_merge() {
    for b in ALL {
        let mut w = World::new(b, 10);
        let a = w.map(10, 0, RW);
        w.madvise(a.add(4 * PAGE_SIZE), 2, MADV_GUARD_INSTALL).unwrap();
        let vmas_before = w.vma_count();
        applied!(w.cpu, w.e, w.e.mprotect(w.s, a.add(3 * PAGE_SIZE).as_u64(), 4 * PAGE_SIZE, Prot::READ.bits())).unwrap();
        assert_eq!(w.vma_count(), vmas_before + 2, "{b:?}: mprotect of the middle splits");
        w.assert_guarded(a, 4);
        w.assert_guarded(a, 5);
        applied!(w.cpu, w.e, w.e.mprotect(w.s, a.as_u64(), 10 * PAGE_SIZE, RW.bits())).unwrap();
        assert_eq!(w.vma_count(), vmas_before, "{b:?}: restoring merges back");
        w.assert_guarded(a, 4);
        w.assert_guarded(a, 5);
        w.assert_accessible(a, 6);
    }
}

#[test]
fn guards_survive_dontneed_and_anonymous_free() {
    for b in ALL {
        let mut w = World::new(b, 8);
        let a = w.map(8, 0, RW);
        for k in 0..8 {
            w.write(a.add(k * PAGE_SIZE), b'y').unwrap();
        }
        w.madvise(a.add(2 * PAGE_SIZE), 2, MADV_GUARD_INSTALL).unwrap();
        w.madvise(a, 8, MADV_DONTNEED).unwrap();
        w.assert_guarded(a, 2);
        w.assert_guarded(a, 3);
        let want = if b == Backing::Anon { 0 } else { b'y' };
        assert_eq!(w.read(a), Ok(want), "{b:?}: DONTNEED drops anonymous pages only");
        if b == Backing::Anon {
            w.madvise(a, 8, MADV_FREE).unwrap();
            w.assert_guarded(a, 2);
        } else {
            assert_eq!(w.madvise(a, 8, MADV_FREE), Err(Errno::EINVAL), "MADV_FREE is for private anonymous memory only");
        }
    }
}

#[test]
fn guards_survive_truncation_and_hole_punch() {
    for b in [Backing::Shmem, Backing::File] {
        let mut w = World::new(b, 10);
        let obj = w.obj.unwrap();
        let a = w.map(10, 0, RW);
        for k in 0..10 {
            w.write(a.add(k * PAGE_SIZE + 1), b'x').unwrap();
        }
        w.madvise(a, 10, MADV_GUARD_INSTALL).unwrap();
        applied!(w.cpu, w.e, w.e.truncate(obj, 0)).unwrap();
        for k in 0..10 {
            w.assert_guarded(a, k);
        }
        applied!(w.cpu, w.e, w.e.truncate(obj, 10 * PAGE_SIZE)).unwrap();
        w.madvise(a.add(3 * PAGE_SIZE), 4, MADV_GUARD_REMOVE).unwrap();
        assert_eq!(w.read(a.add(3 * PAGE_SIZE + 1)), Ok(0), "{b:?}: truncated then regrown reads zero");
        w.write(a.add(5 * PAGE_SIZE), 7).unwrap();
        applied!(w.cpu, w.e, w.e.punch_hole(obj, 0, 10 * PAGE_SIZE)).unwrap();
        w.assert_guarded(a, 2);
        w.assert_guarded(a, 7);
        assert_eq!(w.read(a.add(5 * PAGE_SIZE)), Ok(0), "{b:?}: the punched page reads zero");
    }
}

#[test]
fn munmap_clears_guards_for_a_new_mapping() {
    for b in ALL {
        let mut w = World::new(b, 4);
        let a = w.map(4, 0, RW);
        w.madvise(a, 4, MADV_GUARD_INSTALL).unwrap();
        applied!(w.cpu, w.e, w.e.munmap(w.s, a.as_u64(), 4 * PAGE_SIZE)).unwrap();
        let again = w.map_flags(4, 0, RW, map::FIXED, a.as_u64());
        assert_eq!(again, a);
        for k in 0..4 {
            w.assert_accessible(a, k);
        }
    }
}

#[test]
fn mremap_move_keeps_guards_expand_keeps_offsets_shrink_drops_the_cut() {
    for b in ALL {
        let mut w = World::new(b, 10);
        let a = w.map(5, 0, RW);
        w.madvise(a.add(PAGE_SIZE), 1, MADV_GUARD_INSTALL).unwrap();
        w.madvise(a.add(4 * PAGE_SIZE), 1, MADV_GUARD_INSTALL).unwrap();
        // Reserve a destination, then move there.
        let dest = w.map(5, 0, Prot::empty());
        let moved = applied!(
            w.cpu,
            w.e,
            w.e.mremap(w.s, a.as_u64(), 5 * PAGE_SIZE, 5 * PAGE_SIZE, MREMAP_MAYMOVE | guest_mm::ops::mremap::MREMAP_FIXED, dest.as_u64())
        )
        .unwrap();
        assert_eq!(moved, dest);
        w.assert_guarded(moved, 1);
        w.assert_guarded(moved, 4);
        w.assert_accessible(moved, 0);
        // Expand (may move): the guards keep their offsets, the new tail is accessible.
        let grown = applied!(w.cpu, w.e, w.e.mremap(w.s, moved.as_u64(), 5 * PAGE_SIZE, 8 * PAGE_SIZE, MREMAP_MAYMOVE, 0)).unwrap();
        w.assert_guarded(grown, 1);
        w.assert_guarded(grown, 4);
        w.assert_accessible(grown, 6);
        // Shrink below the second guard: it goes with the cut part.
        let shrunk = applied!(w.cpu, w.e, w.e.mremap(w.s, grown.as_u64(), 8 * PAGE_SIZE, 3 * PAGE_SIZE, 0, 0)).unwrap();
        assert_eq!(shrunk, grown);
        let regrown = applied!(w.cpu, w.e, w.e.mremap(w.s, shrunk.as_u64(), 3 * PAGE_SIZE, 5 * PAGE_SIZE, MREMAP_MAYMOVE, 0)).unwrap();
        w.assert_guarded(regrown, 1);
        w.assert_accessible(regrown, 4);
    }
}

#[test]
fn fork_copies_guards_and_the_childs_remove_is_its_own() {
    for b in ALL {
        let mut w = World::new(b, 4);
        let a = w.map(4, 0, RW);
        w.write(a, 9).unwrap();
        w.madvise(a.add(2 * PAGE_SIZE), 1, MADV_GUARD_INSTALL).unwrap();
        let child = applied!(w.cpu, w.e, w.e.fork(w.s)).unwrap();
        let va = a.add(2 * PAGE_SIZE);
        assert_eq!(w.read_in(child, va), Err((Signal::SIGSEGV, SiCode::SegvMaperr, va)), "{b:?}: the child inherits the guard");
        assert_eq!(w.read_in(child, a), Ok(9));
        applied!(w.cpu, w.e, w.e.madvise(child, va.as_u64(), PAGE_SIZE, MADV_GUARD_REMOVE)).unwrap();
        assert!(w.read_in(child, va).is_ok());
        w.assert_guarded(a, 2);
        w.e.destroy_space(child).unwrap();
        w.e.check_invariants().unwrap();
    }
}

#[test]
fn fork_does_not_copy_guards_into_wipeonfork_ranges() {
    let mut w = World::new(Backing::Anon, 4);
    let a = w.map(4, 0, RW);
    w.write(a, 5).unwrap();
    w.madvise(a.add(PAGE_SIZE), 1, MADV_GUARD_INSTALL).unwrap();
    w.madvise(a, 4, MADV_WIPEONFORK).unwrap();
    let child = applied!(w.cpu, w.e, w.e.fork(w.s)).unwrap();
    assert_eq!(w.read_in(child, a), Ok(0), "wiped");
    assert_eq!(w.read_in(child, a.add(PAGE_SIZE)), Ok(0), "no guard in the child's wiped range");
    w.assert_guarded(a, 1);
    assert_eq!(w.read(a), Ok(5));
}

#[test]
fn install_on_mlocked_range_is_einval_but_remove_is_allowed() {
    for b in ALL {
        let mut w = World::new(b, 10);
        let a = w.map(10, 0, RW);
        let (s, len) = (w.s, 10 * PAGE_SIZE);
        applied!(w.cpu, w.e, w.e.mlock(s, a.as_u64(), len)).unwrap();
        assert_eq!(w.madvise(a, 10, MADV_GUARD_INSTALL), Err(Errno::EINVAL), "{b:?}");
        w.assert_accessible(a, 1);
        applied!(w.cpu, w.e, w.e.munlock(s, a.as_u64(), len)).unwrap();
        w.madvise(a, 5, MADV_GUARD_INSTALL).unwrap();
        w.assert_guarded(a, 4);
        applied!(w.cpu, w.e, w.e.mlock(s, a.add(5 * PAGE_SIZE).as_u64(), 5 * PAGE_SIZE)).unwrap();
        w.madvise(a, 10, MADV_GUARD_REMOVE).unwrap();
        w.assert_accessible(a, 1);
        w.assert_accessible(a, 7);
    }
}

#[test]
fn populate_over_a_guard_is_efault() {
    for b in ALL {
        let mut w = World::new(b, 4);
        let a = w.map(4, 0, RW);
        w.madvise(a.add(2 * PAGE_SIZE), 1, MADV_GUARD_INSTALL).unwrap();
        assert_eq!(w.madvise(a, 4, MADV_POPULATE_READ), Err(Errno::EFAULT), "{b:?}");
        assert_eq!(w.madvise(a, 4, MADV_POPULATE_WRITE), Err(Errno::EFAULT), "{b:?}");
        assert_eq!(w.madvise(a, 2, MADV_POPULATE_WRITE), Ok(()), "{b:?}: below the guard populates");
    }
}

#[test]
fn range_with_a_gap_applies_to_what_is_mapped_and_returns_enomem() {
    for b in ALL {
        let mut w = World::new(b, 6);
        let a = w.map(6, 0, RW);
        applied!(w.cpu, w.e, w.e.munmap(w.s, a.add(2 * PAGE_SIZE).as_u64(), 2 * PAGE_SIZE)).unwrap();
        assert_eq!(w.madvise(a, 6, MADV_GUARD_INSTALL), Err(Errno::ENOMEM), "{b:?}");
        for k in [0, 1, 4, 5] {
            w.assert_guarded(a, k);
        }
        assert_eq!(w.madvise(a, 6, MADV_GUARD_REMOVE), Err(Errno::ENOMEM), "{b:?}");
        for k in [0, 1, 4, 5] {
            w.assert_accessible(a, k);
        }
    }
}

#[test]
fn remove_on_a_private_file_mapping_drops_the_cow_copies() {
    for b in [Backing::Shmem, Backing::File] {
        let mut w = World::new(b, 4);
        let obj = w.obj.unwrap();
        let args =
            MmapArgs { flags: map::PRIVATE, file: MapFile::Open { obj, read: true, write: true }, ..MmapArgs::anon(4 * PAGE_SIZE, RW) };
        let p = applied!(w.cpu, w.e, w.e.mmap(w.s, args)).unwrap();
        for k in 0..4 {
            w.write(p.add(k * PAGE_SIZE), b'c').unwrap();
        }
        w.madvise(p.add(PAGE_SIZE), 2, MADV_GUARD_INSTALL).unwrap();
        w.madvise(p, 4, MADV_GUARD_REMOVE).unwrap();
        for k in 1..3 {
            let want = w.pristine(k);
            assert_eq!(w.read(p.add(k * PAGE_SIZE)), Ok(want), "{b:?}: page {k} is the object's again");
        }
        assert_eq!(w.read(p), Ok(b'c'), "{b:?}: an unguarded copy stays");
    }
}

#[test]
fn guard_markers_are_freed_with_the_space() {
    for b in ALL {
        let mut w = World::new(b, 64);
        let a = w.map(64, 0, RW);
        for k in 0..64 {
            w.write(a.add(k * PAGE_SIZE), 1).unwrap();
        }
        w.madvise(a, 64, MADV_GUARD_INSTALL).unwrap();
        let s = w.s;
        w.e.destroy_space(s).unwrap();
        w.e.check_invariants().unwrap();
        assert!(w.e.space(s).is_none());
    }
}
