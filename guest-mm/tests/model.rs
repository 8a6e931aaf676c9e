//! Random operation sequences against the engine and, in lockstep, against a
//! page-level reference model with Linux 6.18 semantics.
//!
//! The model knows nothing of VMAs, page tables or frames. Per process it
//! keeps, for each page of a 32-page arena, whether it is mapped, with which
//! protection and VMA flags (DONTFORK, WIPEONFORK, LOCKED, LOCKONFAULT),
//! whether a guard marker sits there, and what the page is: private anonymous
//! memory (its test byte), a page of a shared object (memfd, read-only file
//! or MAP_SHARED|MAP_ANONYMOUS shmem; contents live in the object), or a page
//! of a private file mapping with an optional COW copy. Each step runs on both
//! sides and the syscall results (value or errno) must agree; after every step
//! the engine must pass `check_invariants()`, its VMAs must be uniform in
//! everything the model tracks per page, and (in most cases, see `Sweep`)
//! every page of every process must read through the simulated MMU exactly as
//! the model predicts: the value, or the signal with its si_code. Each case
//! ends with a pwrite to every memfd page, a write to every page of every
//! process, read-backs after both, and a teardown that must return every frame.
//!
//! VMA boundaries are the engine's business (Linux does not promise merges),
//! so the few decisions that depend on them (mremap's EFAULT when a range
//! crosses the end of a VMA, in-place expansion, per-VMA population in
//! mprotect) read the engine's VMA list from before the operation; the
//! uniformity check keeps that list honest.
//!
//! A failure prints the steps run so far with their results, then proptest's
//! minimal failing case. `MODEL_LOG=1` prints the steps of every case.
mod common;

use common::*;
use guest_mm::frames::FrameCounts;
use guest_mm::ops::madvise::{
    MADV_DOFORK, MADV_DONTFORK, MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_GUARD_INSTALL, MADV_GUARD_REMOVE, MADV_KEEPONFORK,
    MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_REMOVE, MADV_WIPEONFORK,
};
use guest_mm::ops::map;
use guest_mm::ops::mlock::MLOCK_ONFAULT;
use guest_mm::ops::mmap::{MapFile, MmapArgs};
use guest_mm::ops::mremap::{MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE};
use guest_mm::paging::Outcome;
use guest_mm::sim::SimCpu;
use guest_mm::vma::{Backing, Prot, VmFlags};
use guest_mm::{AsId, Engine, Errno, FaultAround, ObjectId, SiCode, Signal, VirtAddr, PAGE_SIZE};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// First page of the arena: 16 pages below a 2 MiB boundary, so the arena
/// spans two leaf tables (fault-around must not cross the boundary).
const ARENA: u64 = 0x1000_0000 - 16 * PAGE_SIZE;
/// Pages in the arena.
const PAGES: usize = 32;
/// Most processes alive at once.
const MAX_PROCS: usize = 3;
/// memfds in play (objects 0 and 1); object 2 is a read-only file, and
/// objects 3.. are created by MAP_SHARED|MAP_ANONYMOUS mappings.
const MEMFDS: usize = 2;
/// The read-only file.
const FILE: usize = 2;
/// Pages of the read-only file (the last one partial, ending after `OFF`).
const FILE_PAGES: u64 = 6;
/// Largest memfd size, in pages.
const MAX_OBJ_PAGES: u64 = 12;
/// The byte of each page the test writes and reads.
const OFF: u64 = 0x7a5;

fn va(page: usize) -> VirtAddr {
    VirtAddr::new(ARENA + page as u64 * PAGE_SIZE)
}

fn bytes(pages: usize) -> u64 {
    pages as u64 * PAGE_SIZE
}

// ---------------------------------------------------------------------------
// The model.

/// A protection the test uses (PROT_EXEC and write-only are not generated).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum P {
    None,
    R,
    RW,
}

impl P {
    fn prot(self) -> Prot {
        match self {
            P::None => Prot::empty(),
            P::R => Prot::READ,
            P::RW => Prot::READ | Prot::WRITE,
        }
    }
}

/// What a mapped page is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// Private anonymous memory: `None` = never written since it was zero-filled.
    Anon { val: Option<u8> },
    /// Page `idx` of object `obj`, MAP_SHARED.
    Shared { obj: usize, idx: u64 },
    /// Page `idx` of object `obj`, MAP_PRIVATE; `cow` = this process's private copy.
    Private { obj: usize, idx: u64, cow: Option<u8> },
}

/// One mapped page of one process.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Pg {
    prot: P,
    kind: Kind,
    /// A guard marker (MADV_GUARD_INSTALL) sits in the page table.
    guard: bool,
    /// VM_DONTCOPY (MADV_DONTFORK).
    dontfork: bool,
    /// VM_WIPEONFORK.
    wipeonfork: bool,
    /// VM_LOCKED (mlock).
    locked: bool,
    /// VM_LOCKONFAULT (mlock2(MLOCK_ONFAULT)): locked, but never populated.
    onfault: bool,
}

impl Pg {
    fn new(prot: P, kind: Kind) -> Self {
        Pg { prot, kind, guard: false, dontfork: false, wipeonfork: false, locked: false, onfault: false }
    }

    /// The page `k` pages further in the same VMA, freshly added by mremap.
    fn extended(self, k: u64) -> Self {
        let kind = match self.kind {
            Kind::Anon { .. } => Kind::Anon { val: None },
            Kind::Shared { obj, idx } => Kind::Shared { obj, idx: idx + k },
            Kind::Private { obj, idx, .. } => Kind::Private { obj, idx: idx + k, cow: None },
        };
        Pg { kind, guard: false, ..self }
    }

    /// MADV_DONTNEED (and the zap of guard installation): private contents go.
    fn discard(&mut self) {
        match &mut self.kind {
            Kind::Anon { val } => *val = None,
            Kind::Private { cow, .. } => *cow = None,
            Kind::Shared { .. } => {}
        }
    }

    fn is_shared(&self) -> bool {
        matches!(self.kind, Kind::Shared { .. })
    }
}

type Space = [Option<Pg>; PAGES];

/// A memory object: size in pages, the test byte of each page that is not
/// zero, and whether MAP_SHARED mappings may write it (opened for writing).
#[derive(Clone, Debug)]
struct Obj {
    pages: u64,
    data: BTreeMap<u64, u8>,
    writable: bool,
}

/// The test byte of page `k` of the read-only file.
fn file_byte(k: u64) -> u8 {
    0xa0 + k as u8
}

/// The signal an access gets: (signal, si_code).
type Sig = (Signal, SiCode);

const MAPERR: Sig = (Signal::SIGSEGV, SiCode::SegvMaperr);
const ACCERR: Sig = (Signal::SIGSEGV, SiCode::SegvAccerr);
const BUSERR: Sig = (Signal::SIGBUS, SiCode::BusAdrerr);

/// Why population (GUP) stopped at a page.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Stop {
    /// No VMA.
    Hole,
    /// The VMA does not allow the access (check_vma_flags).
    Prot,
    /// The fault would raise a signal (guard marker, beyond end of file).
    Fault,
}

#[derive(Clone, Debug)]
struct Model {
    spaces: Vec<Space>,
    objs: Vec<Obj>,
}

impl Model {
    fn obj_byte(&self, obj: usize, idx: u64) -> u8 {
        self.objs[obj].data.get(&idx).copied().unwrap_or(0)
    }

    /// What a read of the test byte of `page` gives.
    fn read(&self, s: usize, page: usize) -> Result<u8, Sig> {
        let Some(pg) = self.spaces[s][page] else { return Err(MAPERR) };
        // access_error (the VMA) comes before the page table (guard markers).
        if pg.prot == P::None {
            return Err(ACCERR);
        }
        if pg.guard {
            return Err(MAPERR);
        }
        match pg.kind {
            Kind::Anon { val } => Ok(val.unwrap_or(0)),
            Kind::Private { cow: Some(v), .. } => Ok(v),
            Kind::Shared { obj, idx } | Kind::Private { obj, idx, cow: None } => {
                if idx >= self.objs[obj].pages {
                    Err(BUSERR)
                } else {
                    Ok(self.obj_byte(obj, idx))
                }
            }
        }
    }

    /// A write of `v` to the test byte of `page`.
    fn write(&mut self, s: usize, page: usize, v: u8) -> Result<(), Sig> {
        let Some(pg) = self.spaces[s][page] else { return Err(MAPERR) };
        if pg.prot != P::RW {
            return Err(ACCERR);
        }
        if pg.guard {
            return Err(MAPERR);
        }
        let kind = match pg.kind {
            Kind::Anon { .. } => Kind::Anon { val: Some(v) },
            Kind::Private { obj, idx, cow: Some(_) } => Kind::Private { obj, idx, cow: Some(v) },
            Kind::Private { obj, idx, cow: None } => {
                if idx >= self.objs[obj].pages {
                    return Err(BUSERR);
                }
                Kind::Private { obj, idx, cow: Some(v) }
            }
            Kind::Shared { obj, idx } => {
                if idx >= self.objs[obj].pages {
                    return Err(BUSERR);
                }
                self.objs[obj].data.insert(idx, v);
                return Ok(());
            }
        };
        self.spaces[s][page] = Some(Pg { kind, ..pg });
        Ok(())
    }

    /// GUP on one page (populate, mlock): faults it in for `write` or read.
    fn populate_one(&mut self, s: usize, page: usize, write: bool) -> Result<(), Stop> {
        let Some(pg) = self.spaces[s][page] else { return Err(Stop::Hole) };
        let allowed = if write { pg.prot == P::RW } else { pg.prot != P::None };
        if !allowed {
            return Err(Stop::Prot);
        }
        if pg.guard {
            return Err(Stop::Fault);
        }
        match pg.kind {
            Kind::Anon { .. } | Kind::Private { cow: Some(_), .. } => Ok(()),
            Kind::Shared { obj, idx } => {
                if idx >= self.objs[obj].pages {
                    Err(Stop::Fault)
                } else {
                    Ok(())
                }
            }
            Kind::Private { obj, idx, cow: None } => {
                if idx >= self.objs[obj].pages {
                    return Err(Stop::Fault);
                }
                if write {
                    // Breaking COW now: the copy freezes today's object contents.
                    let v = self.obj_byte(obj, idx);
                    self.spaces[s][page] = Some(Pg { kind: Kind::Private { obj, idx, cow: Some(v) }, ..pg });
                }
                Ok(())
            }
        }
    }

    /// populate_vma_page_range / __mm_populate for a locked range: a private
    /// writable mapping is faulted for writing, anything else for reading;
    /// stops at the first failure.
    fn populate_locked(&mut self, s: usize, lo: usize, hi: usize) -> Result<(), Stop> {
        for i in lo..hi {
            let Some(pg) = self.spaces[s][i] else { return Err(Stop::Hole) };
            if pg.onfault {
                // populate_vma_page_range: VM_LOCKONFAULT VMAs are never populated.
                continue;
            }
            let write = pg.prot == P::RW && !pg.is_shared();
            self.populate_one(s, i, write)?;
        }
        Ok(())
    }

    fn map(&mut self, s: usize, lo: usize, hi: usize, f: impl Fn(usize) -> Pg) {
        for i in lo..hi {
            self.spaces[s][i] = Some(f(i - lo));
        }
    }

    fn unmap(&mut self, s: usize, lo: usize, hi: usize) {
        for i in lo..hi {
            self.spaces[s][i] = None;
        }
    }

    /// mprotect: VMA by VMA, stopping with ENOMEM at the first hole. A private
    /// locked VMA that becomes writable is populated for writing
    /// (mprotect_fixup), errors ignored.
    fn mprotect(&mut self, s: usize, lo: usize, hi: usize, prot: P, vmas: &[(usize, usize)]) -> Result<(), Errno> {
        let mut i = lo;
        while i < hi {
            let Some(pg) = self.spaces[s][i] else { return Err(Errno::ENOMEM) };
            if let Kind::Shared { obj, .. } = pg.kind {
                // A MAP_SHARED mapping of a file opened read-only has no VM_MAYWRITE.
                if prot == P::RW && !self.objs[obj].writable {
                    return Err(Errno::EACCES);
                }
            }
            let (_, vend) = vma_containing(vmas, i).expect("a mapped page lies in a VMA (checked every step)");
            let end = vend.min(hi);
            let populate = pg.locked && !pg.onfault && pg.prot != P::RW && !pg.is_shared() && prot == P::RW;
            for j in i..end {
                if let Some(p) = &mut self.spaces[s][j] {
                    p.prot = prot;
                }
            }
            if populate {
                for j in i..end {
                    if self.populate_one(s, j, true).is_err() {
                        break;
                    }
                }
            }
            i = end;
        }
        Ok(())
    }

    /// madvise: the advice applies to the mapped parts; a hole makes the call
    /// return ENOMEM at the end; a VMA that refuses the advice stops the walk.
    /// MADV_POPULATE_* stop at the first hole (ENOMEM), unsuitable VMA (EINVAL)
    /// or page that cannot be faulted (EFAULT).
    fn madvise(&mut self, s: usize, lo: usize, hi: usize, adv: Adv) -> Result<(), Errno> {
        if let Adv::PopulateRead | Adv::PopulateWrite = adv {
            for i in lo..hi {
                match self.populate_one(s, i, adv == Adv::PopulateWrite) {
                    Ok(()) => {}
                    Err(Stop::Hole) => return Err(Errno::ENOMEM),
                    Err(Stop::Prot) => return Err(Errno::EINVAL),
                    Err(Stop::Fault) => return Err(Errno::EFAULT),
                }
            }
            return Ok(());
        }
        let mut hole = false;
        for i in lo..hi {
            let Some(mut pg) = self.spaces[s][i] else {
                hole = true;
                continue;
            };
            match adv {
                Adv::DontNeed | Adv::GuardInstall | Adv::Remove if pg.locked => return Err(Errno::EINVAL),
                Adv::DontNeed | Adv::DontNeedLocked => pg.discard(),
                Adv::GuardInstall => {
                    pg.discard();
                    pg.guard = true;
                }
                Adv::GuardRemove => pg.guard = false,
                Adv::DontFork => pg.dontfork = true,
                Adv::DoFork => pg.dontfork = false,
                Adv::WipeOnFork => match pg.kind {
                    Kind::Anon { .. } => pg.wipeonfork = true,
                    _ => return Err(Errno::EINVAL),
                },
                Adv::KeepOnFork => pg.wipeonfork = false,
                Adv::Remove => match pg.kind {
                    Kind::Anon { .. } => return Err(Errno::EINVAL),
                    Kind::Private { .. } => return Err(Errno::EACCES),
                    Kind::Shared { obj, .. } if !self.objs[obj].writable => return Err(Errno::EACCES),
                    Kind::Shared { obj, idx } => {
                        self.objs[obj].data.remove(&idx);
                    }
                },
                Adv::PopulateRead | Adv::PopulateWrite => unreachable!("handled above"),
            }
            self.spaces[s][i] = Some(pg);
        }
        if hole {
            Err(Errno::ENOMEM)
        } else {
            Ok(())
        }
    }

    /// mlock: VMA flags first (ENOMEM at a hole, nothing populated), then the
    /// range is populated; a failure there is ENOMEM (EFAULT translated).
    fn mlock(&mut self, s: usize, lo: usize, hi: usize, lock: bool, onfault: bool) -> Result<(), Errno> {
        for i in lo..hi {
            let Some(pg) = &mut self.spaces[s][i] else { return Err(Errno::ENOMEM) };
            pg.locked = lock;
            pg.onfault = onfault;
        }
        if lock && !onfault {
            for i in lo..hi {
                if self.spaces[s][i].is_some_and(|p| p.prot == P::None) {
                    return Err(Errno::ENOMEM);
                }
                let pg = self.spaces[s][i].expect("checked above");
                self.populate_one(s, i, pg.prot == P::RW && !pg.is_shared()).map_err(|_| Errno::ENOMEM)?;
            }
        }
        Ok(())
    }

    /// ftruncate: pages beyond the new end go, private COW copies included.
    fn truncate(&mut self, obj: usize, pages: u64) {
        if pages < self.objs[obj].pages {
            self.objs[obj].data.retain(|i, _| *i < pages);
            for space in &mut self.spaces {
                for pg in space.iter_mut().flatten() {
                    if let Kind::Private { obj: o, idx, cow } = &mut pg.kind {
                        if *o == obj && *idx >= pages {
                            *cow = None;
                        }
                    }
                }
            }
        }
        self.objs[obj].pages = pages;
    }

    /// fork: DONTCOPY pages are absent, WIPEONFORK pages start empty (no guard
    /// either), everything else is inherited; mlock is not.
    fn fork(&mut self, s: usize) {
        let mut child = self.spaces[s];
        for pg in child.iter_mut() {
            *pg = match *pg {
                Some(p) if p.dontfork => None,
                Some(p) if p.wipeonfork => Some(Pg { kind: Kind::Anon { val: None }, guard: false, locked: false, onfault: false, ..p }),
                Some(p) => Some(Pg { locked: false, onfault: false, ..p }),
                None => None,
            };
        }
        self.spaces.push(child);
    }
}

/// What an mremap without a new address did in the model.
enum Resized {
    /// Failed, or resized in place.
    Done(Result<VirtAddr, Errno>),
    /// Moved elsewhere, with these pages.
    Moved(Vec<Option<Pg>>),
}

fn vma_containing(vmas: &[(usize, usize)], page: usize) -> Option<(usize, usize)> {
    vmas.iter().copied().find(|(s, e)| *s <= page && page < *e)
}

// ---------------------------------------------------------------------------
// Operations.

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Adv {
    DontNeed,
    DontNeedLocked,
    GuardInstall,
    GuardRemove,
    DontFork,
    DoFork,
    WipeOnFork,
    KeepOnFork,
    PopulateRead,
    PopulateWrite,
    Remove,
}

impl Adv {
    fn value(self) -> u64 {
        match self {
            Adv::DontNeed => MADV_DONTNEED,
            Adv::DontNeedLocked => MADV_DONTNEED_LOCKED,
            Adv::GuardInstall => MADV_GUARD_INSTALL,
            Adv::GuardRemove => MADV_GUARD_REMOVE,
            Adv::DontFork => MADV_DONTFORK,
            Adv::DoFork => MADV_DOFORK,
            Adv::WipeOnFork => MADV_WIPEONFORK,
            Adv::KeepOnFork => MADV_KEEPONFORK,
            Adv::PopulateRead => MADV_POPULATE_READ,
            Adv::PopulateWrite => MADV_POPULATE_WRITE,
            Adv::Remove => MADV_REMOVE,
        }
    }
}

/// An extra mmap flag.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Extra {
    Plain,
    /// MAP_POPULATE: faulted in at once (write faults for private writable
    /// mappings), failures ignored.
    Populate,
    /// MAP_LOCKED: VM_LOCKED, and populated as with MAP_POPULATE.
    Locked,
}

impl Extra {
    fn flags(self) -> u64 {
        match self {
            Extra::Plain => 0,
            Extra::Populate => map::POPULATE,
            Extra::Locked => map::LOCKED,
        }
    }
}

/// One step. `p` picks a live process (modulo their number); `at`/`len` are
/// arena pages (clipped to the arena when run).
#[derive(Copy, Clone, Debug)]
enum Op {
    /// mmap(MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED or MAP_FIXED_NOREPLACE).
    MmapAnon {
        p: u8,
        at: u8,
        len: u8,
        prot: P,
        noreplace: bool,
        extra: Extra,
    },
    /// mmap(MAP_SHARED|MAP_ANONYMOUS|MAP_FIXED): a new shmem object.
    MmapSharedAnon {
        p: u8,
        at: u8,
        len: u8,
        prot: P,
    },
    /// mmap(MAP_FIXED) of a memfd or of the read-only file.
    MmapObj {
        p: u8,
        at: u8,
        len: u8,
        prot: P,
        obj: u8,
        off: u8,
        shared: bool,
        extra: Extra,
    },
    Munmap {
        p: u8,
        at: u8,
        len: u8,
    },
    Mprotect {
        p: u8,
        at: u8,
        len: u8,
        prot: P,
    },
    Madvise {
        p: u8,
        at: u8,
        len: u8,
        adv: Adv,
    },
    Mlock {
        p: u8,
        at: u8,
        len: u8,
    },
    Munlock {
        p: u8,
        at: u8,
        len: u8,
    },
    /// mlock2(MLOCK_ONFAULT).
    MlockOnFault {
        p: u8,
        at: u8,
        len: u8,
    },
    /// mremap(MAYMOVE|FIXED), same size: every VMA in the range moves, gaps kept.
    Move {
        p: u8,
        at: u8,
        len: u8,
        to: u8,
    },
    /// mremap(MAYMOVE|FIXED) with a new size.
    MoveResize {
        p: u8,
        at: u8,
        old: u8,
        new: u8,
        to: u8,
    },
    /// mremap without a new address: shrink, or grow in place if there is
    /// room; else ENOMEM, or with MREMAP_MAYMOVE a move to where the engine
    /// places it (outside the arena: checked there, then unmapped).
    Resize {
        p: u8,
        at: u8,
        old: u8,
        new: u8,
        maymove: bool,
    },
    Truncate {
        obj: u8,
        pages: u8,
    },
    PunchHole {
        obj: u8,
        first: u8,
        len: u8,
    },
    Fork {
        p: u8,
    },
    Exit {
        p: u8,
    },
    Write {
        p: u8,
        page: u8,
    },
    Read {
        p: u8,
        page: u8,
    },
    /// copy_to_user of one byte (a read(2) into the page).
    KernelWrite {
        p: u8,
        page: u8,
    },
    /// copy_from_user of one byte (a write(2) from the page).
    KernelRead {
        p: u8,
        page: u8,
    },
    /// pwrite(2) of one byte to a memfd or the read-only file.
    Pwrite {
        obj: u8,
        page: u8,
    },
    /// pread(2) of one byte.
    Pread {
        obj: u8,
        page: u8,
    },
    /// mremap(MAYMOVE|FIXED|DONTUNMAP): the pages move, the source stays mapped, empty.
    MoveDontUnmap {
        p: u8,
        at: u8,
        len: u8,
        to: u8,
    },
    /// mremap(addr, 0, new, MAYMOVE|FIXED, to): a second mapping of a shared
    /// mapping's pages (EINVAL for private mappings).
    Duplicate {
        p: u8,
        at: u8,
        new: u8,
        to: u8,
    },
}

/// How often every page is read back.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Sweep {
    /// After every step (the default).
    EveryStep,
    /// Only at the end: reading everything maps everything, so these cases
    /// keep write faults on never-touched entries (do_anonymous_page,
    /// do_cow_fault) in play.
    AtEnd,
}

#[derive(Clone, Debug)]
struct Case {
    anon_around: u32,
    file_around: u32,
    sweep: Sweep,
    sizes: [u8; MEMFDS],
    /// The first steps: mmaps laying out the arena in process 0.
    layout: Vec<Op>,
    ops: Vec<Op>,
}

fn prot_strategy() -> impl Strategy<Value = P> {
    prop_oneof![1 => Just(P::None), 2 => Just(P::R), 4 => Just(P::RW)]
}

fn extra_strategy() -> impl Strategy<Value = Extra> {
    prop_oneof![8 => Just(Extra::Plain), 1 => Just(Extra::Populate), 1 => Just(Extra::Locked)]
}

fn adv_strategy() -> impl Strategy<Value = Adv> {
    prop_oneof![
        4 => Just(Adv::DontNeed),
        1 => Just(Adv::DontNeedLocked),
        4 => Just(Adv::GuardInstall),
        3 => Just(Adv::GuardRemove),
        2 => Just(Adv::DontFork),
        1 => Just(Adv::DoFork),
        2 => Just(Adv::WipeOnFork),
        1 => Just(Adv::KeepOnFork),
        2 => Just(Adv::PopulateRead),
        2 => Just(Adv::PopulateWrite),
        1 => Just(Adv::Remove),
    ]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let p = || 0u8..MAX_PROCS as u8;
    let at = || 0u8..PAGES as u8;
    let len = || 1u8..=8;
    prop_oneof![
        5 => (p(), at(), len(), prot_strategy(), prop::bool::weighted(0.2), extra_strategy())
            .prop_map(|(p, at, len, prot, noreplace, extra)| Op::MmapAnon { p, at, len, prot, noreplace, extra }),
        1 => (p(), at(), len(), prot_strategy()).prop_map(|(p, at, len, prot)| Op::MmapSharedAnon { p, at, len, prot }),
        5 => (p(), at(), len(), prot_strategy(), 0u8..3, 0u8..8, any::<bool>(), extra_strategy())
            .prop_map(|(p, at, len, prot, obj, off, shared, extra)| Op::MmapObj { p, at, len, prot, obj, off, shared, extra }),
        2 => (p(), at(), len()).prop_map(|(p, at, len)| Op::Munmap { p, at, len }),
        3 => (p(), at(), len(), prot_strategy()).prop_map(|(p, at, len, prot)| Op::Mprotect { p, at, len, prot }),
        6 => (p(), at(), len(), adv_strategy()).prop_map(|(p, at, len, adv)| Op::Madvise { p, at, len, adv }),
        1 => (p(), at(), len()).prop_map(|(p, at, len)| Op::Mlock { p, at, len }),
        1 => (p(), at(), len()).prop_map(|(p, at, len)| Op::Munlock { p, at, len }),
        1 => (p(), at(), len()).prop_map(|(p, at, len)| Op::MlockOnFault { p, at, len }),
        2 => (p(), at(), len(), at()).prop_map(|(p, at, len, to)| Op::Move { p, at, len, to }),
        2 => (p(), at(), len(), len(), at()).prop_map(|(p, at, old, new, to)| Op::MoveResize { p, at, old, new, to }),
        2 => (p(), at(), len(), len(), any::<bool>()).prop_map(|(p, at, old, new, maymove)| Op::Resize { p, at, old, new, maymove }),
        2 => (0u8..MEMFDS as u8, 0u8..=MAX_OBJ_PAGES as u8).prop_map(|(obj, pages)| Op::Truncate { obj, pages }),
        1 => (0u8..MEMFDS as u8, 0u8..MAX_OBJ_PAGES as u8, len()).prop_map(|(obj, first, len)| Op::PunchHole { obj, first, len }),
        2 => p().prop_map(|p| Op::Fork { p }),
        1 => p().prop_map(|p| Op::Exit { p }),
        10 => (p(), at()).prop_map(|(p, page)| Op::Write { p, page }),
        3 => (p(), at()).prop_map(|(p, page)| Op::Read { p, page }),
        2 => (p(), at()).prop_map(|(p, page)| Op::KernelWrite { p, page }),
        1 => (p(), at()).prop_map(|(p, page)| Op::KernelRead { p, page }),
        2 => (0u8..=FILE as u8, 0u8..(MAX_OBJ_PAGES + 2) as u8).prop_map(|(obj, page)| Op::Pwrite { obj, page }),
        1 => (0u8..=FILE as u8, 0u8..(MAX_OBJ_PAGES + 2) as u8).prop_map(|(obj, page)| Op::Pread { obj, page }),
        1 => (p(), at(), len(), at()).prop_map(|(p, at, len, to)| Op::MoveDontUnmap { p, at, len, to }),
        1 => (p(), at(), len(), at()).prop_map(|(p, at, new, to)| Op::Duplicate { p, at, new, to }),
    ]
}

/// A first layout: each 8-page block of the arena in process 0 is left empty
/// or mapped (anonymous or a memfd, private or shared), so that later steps
/// mostly meet mapped memory, VMA boundaries and a few holes.
fn layout_strategy() -> impl Strategy<Value = Vec<Op>> {
    let block = prop_oneof![
        1 => Just(None),
        3 => prot_strategy().prop_map(|prot| Some((prot, None))),
        3 => (prot_strategy(), 0u8..3, 0u8..8, any::<bool>()).prop_map(|(prot, obj, off, shared)| Some((prot, Some((obj, off, shared))))),
    ];
    [block.clone(), block.clone(), block.clone(), block].prop_map(|blocks| {
        blocks
            .iter()
            .enumerate()
            .filter_map(|(k, b)| {
                let (at, len) = (8 * k as u8, 8);
                b.map(|(prot, memfd)| match memfd {
                    None => Op::MmapAnon { p: 0, at, len, prot, noreplace: false, extra: Extra::Plain },
                    Some((obj, off, shared)) => Op::MmapObj { p: 0, at, len, prot, obj, off, shared, extra: Extra::Plain },
                })
            })
            .collect()
    })
}

fn case_strategy() -> impl Strategy<Value = Case> {
    (
        prop_oneof![Just(1u32), Just(4), Just(16)],
        prop_oneof![Just(1u32), Just(4), Just(16)],
        prop_oneof![3 => Just(Sweep::EveryStep), 1 => Just(Sweep::AtEnd)],
        [0u8..=MAX_OBJ_PAGES as u8, 0u8..=MAX_OBJ_PAGES as u8],
        layout_strategy(),
        prop::collection::vec(op_strategy(), 1..=40),
    )
        .prop_map(|(anon_around, file_around, sweep, sizes, layout, ops)| Case { anon_around, file_around, sweep, sizes, layout, ops })
}

/// `[at, at + len)` clipped to the arena.
fn range(at: u8, len: u8) -> (usize, usize) {
    let lo = at as usize % PAGES;
    (lo, (lo + len.max(1) as usize).min(PAGES))
}

// ---------------------------------------------------------------------------
// The lockstep runner.

type Check = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            return Err(format!($($arg)*));
        }
    };
}

struct Run {
    e: Engine<Mem>,
    cpu: SimCpu,
    /// Address spaces, parallel to `m.spaces`.
    ids: Vec<AsId>,
    /// Engine objects, parallel to `m.objs`.
    objs: Vec<ObjectId>,
    m: Model,
    next_val: u8,
    /// Frame counts of the fresh engine, before any space or object existed.
    baseline: FrameCounts,
}

impl Run {
    fn new(anon_around: u32, file_around: u32, sizes: [u8; MEMFDS]) -> Result<Self, String> {
        let mut e = engine_with(2, FaultAround { file_pages: file_around, anon_pages: anon_around });
        let baseline = e.frame_counts();
        let mut cpu = SimCpu::new();
        let s = space(&mut e, &mut cpu);
        let mut objs = Vec::new();
        let mut mobjs = Vec::new();
        for (k, size) in sizes.iter().enumerate() {
            let o = e.create_memfd(&format!("model{k}"));
            let (r, u) = e.truncate(o, *size as u64 * PAGE_SIZE).split();
            cpu.mmu.apply(e.memory(), u);
            r.map_err(|err| format!("truncate at set-up: {err:?}"))?;
            objs.push(o);
            mobjs.push(Obj { pages: *size as u64, data: BTreeMap::new(), writable: true });
        }
        let mut data = vec![0u8; ((FILE_PAGES - 1) * PAGE_SIZE + 0x800) as usize];
        let mut fdata = BTreeMap::new();
        for k in 0..FILE_PAGES {
            data[(k * PAGE_SIZE + OFF) as usize] = file_byte(k);
            fdata.insert(k, file_byte(k));
        }
        objs.push(e.create_file("/model-file", data.into(), false));
        mobjs.push(Obj { pages: FILE_PAGES, data: fdata, writable: false });
        Ok(Run { e, cpu, ids: vec![s], objs, m: Model { spaces: vec![[None; PAGES]], objs: mobjs }, next_val: 0, baseline })
    }

    /// Applies an outcome's batch as the guest shim would.
    fn settle<T>(&mut self, o: Outcome<T>) -> T {
        let (r, u) = o.split();
        self.cpu.mmu.apply(self.e.memory(), u);
        r
    }

    fn proc(&self, p: u8) -> usize {
        p as usize % self.ids.len()
    }

    fn value(&mut self) -> u8 {
        self.next_val = self.next_val % 255 + 1;
        self.next_val
    }

    /// The engine's VMAs of space `s`, as arena page ranges.
    fn vmas(&self, s: usize) -> Vec<(usize, usize)> {
        let space = self.e.space(self.ids[s]).expect("live space");
        space
            .vmas()
            .iter()
            .map(|v| (((v.start.as_u64() - ARENA) / PAGE_SIZE) as usize, ((v.end.as_u64() - ARENA) / PAGE_SIZE) as usize))
            .collect()
    }

    fn read(&mut self, s: usize, page: usize) -> Result<Result<u8, Sig>, String> {
        self.read_at(s, va(page))
    }

    /// Reads the test byte of the page at `page_va` of process `s`.
    fn read_at(&mut self, s: usize, page_va: VirtAddr) -> Result<Result<u8, Sig>, String> {
        let addr = page_va.add(OFF);
        match self.cpu.read_u8(&mut self.e, self.ids[s], addr) {
            Ok(Ok(v)) => Ok(Ok(v)),
            Ok(Err(sig)) => {
                ensure!(sig.addr == addr, "signal {sig} reported at the wrong address (expected {addr})");
                Ok(Err((sig.signal, sig.code)))
            }
            Err(err) => Err(format!("read of {page_va} in process {s}: engine error {err}")),
        }
    }

    fn write(&mut self, s: usize, page: usize, v: u8) -> Result<Result<(), Sig>, String> {
        let addr = va(page).add(OFF);
        match self.cpu.write_u8(&mut self.e, self.ids[s], addr, v) {
            Ok(None) => Ok(Ok(())),
            Ok(Some(sig)) => {
                ensure!(sig.addr == addr, "signal {sig} reported at the wrong address (expected {addr})");
                Ok(Err((sig.signal, sig.code)))
            }
            Err(err) => Err(format!("write of page {page} in process {s}: engine error {err}")),
        }
    }

    /// Runs one step on both sides; returns a short description of what happened.
    fn step(&mut self, op: Op) -> Result<String, String> {
        fn same<T: std::fmt::Debug + PartialEq>(what: &str, got: T, want: T) -> Result<String, String> {
            if got == want {
                Ok(format!("{got:?}"))
            } else {
                Err(format!("{what}: engine returned {got:?}, model expects {want:?}"))
            }
        }
        match op {
            Op::MmapAnon { p, at, len, prot, noreplace, extra } => {
                let s = self.proc(p);
                let (lo, hi) = range(at, len);
                let fixed = if noreplace { map::FIXED_NOREPLACE } else { map::FIXED };
                let args = MmapArgs {
                    addr: va(lo).as_u64(),
                    flags: map::PRIVATE | map::ANONYMOUS | fixed | extra.flags(),
                    ..MmapArgs::anon(bytes(hi - lo), prot.prot())
                };
                let got = self.e.mmap(self.ids[s], args);
                let got = self.settle(got);
                let want = if noreplace && (lo..hi).any(|i| self.m.spaces[s][i].is_some()) {
                    Err(Errno::EEXIST)
                } else {
                    self.m.map(s, lo, hi, |_| Pg { locked: extra == Extra::Locked, ..Pg::new(prot, Kind::Anon { val: None }) });
                    Ok(va(lo))
                };
                same("mmap", got, want)
            }
            Op::MmapSharedAnon { p, at, len, prot } => {
                let s = self.proc(p);
                let (lo, hi) = range(at, len);
                let args = MmapArgs {
                    addr: va(lo).as_u64(),
                    flags: map::SHARED | map::ANONYMOUS | map::FIXED,
                    ..MmapArgs::anon(bytes(hi - lo), prot.prot())
                };
                let got = self.e.mmap(self.ids[s], args);
                let got = self.settle(got);
                same("mmap", got, Ok(va(lo)))?;
                // The engine names the new shmem object; the model gets its twin.
                let vma = self.e.space(self.ids[s]).and_then(|sp| sp.vmas().find(va(lo)).cloned());
                let Some(Backing::Object(o)) = vma.as_ref().map(|v| v.backing) else {
                    return Err(format!("no object behind the new shared anonymous mapping: {vma:?}"));
                };
                let obj = self.objs.len();
                self.objs.push(o);
                self.m.objs.push(Obj { pages: (hi - lo) as u64, data: BTreeMap::new(), writable: true });
                self.m.map(s, lo, hi, |k| Pg::new(prot, Kind::Shared { obj, idx: k as u64 }));
                Ok(format!("Ok, object {obj}"))
            }
            Op::MmapObj { p, at, len, prot, obj, off, shared, extra } => {
                let s = self.proc(p);
                let (lo, hi) = range(at, len);
                let obj = obj as usize % (FILE + 1);
                let writable = self.m.objs[obj].writable;
                let args = MmapArgs {
                    addr: va(lo).as_u64(),
                    len: bytes(hi - lo),
                    prot: prot.prot().bits(),
                    flags: if shared { map::SHARED } else { map::PRIVATE } | map::FIXED | extra.flags(),
                    file: MapFile::Open { obj: self.objs[obj], read: true, write: writable },
                    offset: off as u64 * PAGE_SIZE,
                };
                let got = self.e.mmap(self.ids[s], args);
                let got = self.settle(got);
                let want = if shared && prot == P::RW && !writable {
                    Err(Errno::EACCES)
                } else {
                    self.m.map(s, lo, hi, |k| {
                        let idx = off as u64 + k as u64;
                        let kind = if shared { Kind::Shared { obj, idx } } else { Kind::Private { obj, idx, cow: None } };
                        Pg { locked: extra == Extra::Locked, ..Pg::new(prot, kind) }
                    });
                    if extra != Extra::Plain {
                        // mm_populate ignores errors; the walk ends at the first page it cannot fault.
                        let _ = self.m.populate_locked(s, lo, hi);
                    }
                    Ok(va(lo))
                };
                same("mmap", got, want)
            }
            Op::Munmap { p, at, len } => {
                let s = self.proc(p);
                let (lo, hi) = range(at, len);
                let got = self.e.munmap(self.ids[s], va(lo).as_u64(), bytes(hi - lo));
                let got = self.settle(got);
                self.m.unmap(s, lo, hi);
                same("munmap", got, Ok(()))
            }
            Op::Mprotect { p, at, len, prot } => {
                let s = self.proc(p);
                let (lo, hi) = range(at, len);
                let vmas = self.vmas(s);
                let got = self.e.mprotect(self.ids[s], va(lo).as_u64(), bytes(hi - lo), prot.prot().bits());
                let got = self.settle(got);
                let want = self.m.mprotect(s, lo, hi, prot, &vmas);
                same("mprotect", got, want)
            }
            Op::Madvise { p, at, len, adv } => {
                let s = self.proc(p);
                let (lo, hi) = range(at, len);
                let got = self.e.madvise(self.ids[s], va(lo).as_u64(), bytes(hi - lo), adv.value());
                let got = self.settle(got);
                let want = self.m.madvise(s, lo, hi, adv);
                same("madvise", got, want)
            }
            Op::Mlock { p, at, len } | Op::Munlock { p, at, len } | Op::MlockOnFault { p, at, len } => {
                let s = self.proc(p);
                let (lo, hi) = range(at, len);
                let (start, n) = (va(lo).as_u64(), bytes(hi - lo));
                let (got, want) = match op {
                    Op::Mlock { .. } => (self.e.mlock(self.ids[s], start, n), self.m.mlock(s, lo, hi, true, false)),
                    Op::MlockOnFault { .. } => (self.e.mlock2(self.ids[s], start, n, MLOCK_ONFAULT), self.m.mlock(s, lo, hi, true, true)),
                    _ => (self.e.munlock(self.ids[s], start, n), self.m.mlock(s, lo, hi, false, false)),
                };
                let got = self.settle(got);
                same("mlock", got, want)
            }
            Op::Move { p, at, len, to } => {
                let s = self.proc(p);
                let (lo, hi) = range(at, len);
                let n = hi - lo;
                let to = to as usize % (PAGES - n + 1);
                let flags = MREMAP_MAYMOVE | MREMAP_FIXED;
                let got = self.e.mremap(self.ids[s], va(lo).as_u64(), bytes(n), bytes(n), flags, va(to).as_u64());
                let got = self.settle(got);
                if to < hi && lo < to + n {
                    // check_mremap_params: the ranges must not overlap.
                    return same("mremap", got, Err(Errno::EINVAL));
                }
                // remap_move: no gap allowed at the start; every VMA in the
                // range moves by the same distance (gaps between them are
                // kept, and the destination of a gap is left alone).
                let want = if self.m.spaces[s][lo].is_none() {
                    Err(Errno::EFAULT)
                } else {
                    let src: Vec<Option<Pg>> = self.m.spaces[s][lo..hi].to_vec();
                    for (k, pg) in src.into_iter().enumerate() {
                        if let Some(pg) = pg {
                            self.m.spaces[s][to + k] = Some(pg);
                            self.m.spaces[s][lo + k] = None;
                        }
                    }
                    Ok(va(to))
                };
                same("mremap", got, want)
            }
            Op::MoveResize { p, at, old, new, to } => {
                let s = self.proc(p);
                let (lo, old_end) = range(at, old);
                let old = old_end - lo;
                let new = (new.max(1) as usize).min(PAGES);
                let to = to as usize % (PAGES - new + 1);
                let vma = vma_containing(&self.vmas(s), lo);
                let flags = MREMAP_MAYMOVE | MREMAP_FIXED;
                let got = self.e.mremap(self.ids[s], va(lo).as_u64(), bytes(old), bytes(new), flags, va(to).as_u64());
                let got = self.settle(got);
                if to < old_end && lo < to + new {
                    return same("mremap", got, Err(Errno::EINVAL));
                }
                let want = self.model_move_resize(s, lo, old, new, to, vma);
                same("mremap", got, want)
            }
            Op::Resize { p, at, old, new, maymove } => {
                let s = self.proc(p);
                let (lo, old_end) = range(at, old);
                let old = old_end - lo;
                let new = (new.max(1) as usize).min(PAGES - lo);
                let vma = vma_containing(&self.vmas(s), lo);
                let flags = if maymove { MREMAP_MAYMOVE } else { 0 };
                let got = self.e.mremap(self.ids[s], va(lo).as_u64(), bytes(old), bytes(new), flags, 0);
                let got = self.settle(got);
                match self.model_resize(s, lo, old, new, vma, maymove) {
                    Resized::Done(want) => same("mremap", got, want),
                    Resized::Moved(pages) => self.check_moved_away(s, got, pages, old),
                }
            }
            Op::Truncate { obj, pages } => {
                let obj = obj as usize % MEMFDS;
                let pages = (pages as u64).min(MAX_OBJ_PAGES);
                let got = self.e.truncate(self.objs[obj], pages * PAGE_SIZE);
                let got = self.settle(got);
                self.m.truncate(obj, pages);
                same("ftruncate", got, Ok(()))
            }
            Op::PunchHole { obj, first, len } => {
                let obj = obj as usize % MEMFDS;
                let (first, len) = (first as u64, len.max(1) as u64);
                let got = self.e.punch_hole(self.objs[obj], first * PAGE_SIZE, len * PAGE_SIZE);
                let got = self.settle(got);
                self.m.objs[obj].data.retain(|i, _| *i < first || *i >= first + len);
                same("fallocate(PUNCH_HOLE)", got, Ok(()))
            }
            Op::Fork { p } => {
                if self.ids.len() >= MAX_PROCS {
                    return Ok("skipped (enough processes)".into());
                }
                let s = self.proc(p);
                let got = self.e.fork(self.ids[s]);
                let child = self.settle(got).map_err(|err| format!("fork: {err:?}"))?;
                self.ids.push(child);
                self.m.fork(s);
                Ok(format!("child is process {}", self.ids.len() - 1))
            }
            Op::Exit { p } => {
                if self.ids.len() <= 1 {
                    return Ok("skipped (last process)".into());
                }
                let s = self.proc(p);
                self.e.destroy_space(self.ids[s]).map_err(|err| format!("destroy_space: {err}"))?;
                self.ids.remove(s);
                self.m.spaces.remove(s);
                Ok(format!("process {s} exited"))
            }
            Op::Write { p, page } => {
                let s = self.proc(p);
                let page = page as usize % PAGES;
                let v = self.value();
                let got = self.write(s, page, v)?;
                let want = self.m.write(s, page, v);
                same(&format!("write of {v:#x}"), got, want)
            }
            Op::Read { p, page } => {
                let s = self.proc(p);
                let page = page as usize % PAGES;
                let got = self.read(s, page)?;
                same("read", got, self.m.read(s, page))
            }
            Op::KernelWrite { p, page } => {
                // The kernel's access faults like the process's would, but a
                // fault it cannot resolve is EFAULT instead of a signal.
                let s = self.proc(p);
                let page = page as usize % PAGES;
                let v = self.value();
                let got = self.e.write_user(self.ids[s], va(page).add(OFF), &[v]);
                let got = self.settle(got);
                let want = self.m.write(s, page, v).map_err(|_| Errno::EFAULT);
                same(&format!("copy_to_user of {v:#x}"), got, want)
            }
            Op::KernelRead { p, page } => {
                let s = self.proc(p);
                let page = page as usize % PAGES;
                let mut b = [0u8];
                let got = self.e.read_user(self.ids[s], va(page).add(OFF), &mut b);
                let got = self.settle(got).map(|()| b[0]);
                same("copy_from_user", got, self.m.read(s, page).map_err(|_| Errno::EFAULT))
            }
            Op::Pwrite { obj, page } => {
                let obj = obj as usize % (FILE + 1);
                let v = self.value();
                let got = self.e.write_object(self.objs[obj], page as u64 * PAGE_SIZE + OFF, &[v]);
                let o = &mut self.m.objs[obj];
                let want = if o.writable {
                    // Through the page cache: every shared mapping and every
                    // private one without its own copy sees it; the file grows.
                    o.data.insert(page as u64, v);
                    o.pages = o.pages.max(page as u64 + 1);
                    Ok(1)
                } else {
                    Err(Errno::EBADF)
                };
                same(&format!("pwrite of {v:#x}"), got, want)
            }
            Op::Pread { obj, page } => {
                let obj = obj as usize % (FILE + 1);
                let mut b = [0u8];
                let got = self.e.read_object(self.objs[obj], page as u64 * PAGE_SIZE + OFF, &mut b).map(|n| (n, b[0]));
                let o = &self.m.objs[obj];
                // Sizes are whole pages except the file's (which ends after OFF) and
                // memfds grown by pwrite (which end just after a test byte).
                let want = if (page as u64) < o.pages { Ok((1, self.m.obj_byte(obj, page as u64))) } else { Ok((0, 0)) };
                same("pread", got, want)
            }
            Op::Duplicate { p, at, new, to } => {
                let s = self.proc(p);
                let lo = at as usize % PAGES;
                let new = (new.max(1) as usize).min(PAGES);
                let to = to as usize % (PAGES - new + 1);
                let flags = MREMAP_MAYMOVE | MREMAP_FIXED;
                let got = self.e.mremap(self.ids[s], va(lo).as_u64(), 0, bytes(new), flags, va(to).as_u64());
                let got = self.settle(got);
                // The empty old range [lo, lo) overlaps the new one only strictly inside it.
                if to < lo && lo < to + new {
                    return same("mremap", got, Err(Errno::EINVAL));
                }
                let want = match self.m.spaces[s][lo] {
                    None => Err(Errno::EFAULT),
                    Some(Pg { kind: Kind::Anon { .. } | Kind::Private { .. }, .. }) => Err(Errno::EINVAL),
                    Some(first) => {
                        // The destination is unmapped first; the source must survive that.
                        self.m.unmap(s, to, to + new);
                        if to == lo {
                            Err(Errno::EFAULT)
                        } else {
                            for k in 0..new {
                                self.m.spaces[s][to + k] = Some(first.extended(k as u64));
                            }
                            Ok(va(to))
                        }
                    }
                };
                same("mremap", got, want)
            }
            Op::MoveDontUnmap { p, at, len, to } => {
                let s = self.proc(p);
                let (lo, hi) = range(at, len);
                let n = hi - lo;
                let to = to as usize % (PAGES - n + 1);
                let flags = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP;
                let got = self.e.mremap(self.ids[s], va(lo).as_u64(), bytes(n), bytes(n), flags, va(to).as_u64());
                let got = self.settle(got);
                if to < hi && lo < to + n {
                    return same("mremap", got, Err(Errno::EINVAL));
                }
                let want = if self.m.spaces[s][lo].is_none() {
                    Err(Errno::EFAULT)
                } else {
                    let src: Vec<Option<Pg>> = self.m.spaces[s][lo..hi].to_vec();
                    for (k, pg) in src.into_iter().enumerate() {
                        if let Some(pg) = pg {
                            self.m.spaces[s][to + k] = Some(pg);
                            // The entries (markers too) went; the VMA stays, unlocked.
                            let mut left = pg.extended(0);
                            left.locked = false;
                            left.onfault = false;
                            self.m.spaces[s][lo + k] = Some(left);
                        }
                    }
                    Ok(va(to))
                };
                same("mremap", got, want)
            }
        }
    }

    /// mremap(MAYMOVE|FIXED) with old != new: one VMA (check_prep_vma), the
    /// destination unmapped first, a shrink unmaps the tail of the source
    /// (across VMAs), then the rest moves; a grown tail is fresh and, if
    /// locked, populated.
    fn model_move_resize(
        &mut self,
        s: usize,
        lo: usize,
        old: usize,
        new: usize,
        to: usize,
        vma: Option<(usize, usize)>,
    ) -> Result<VirtAddr, Errno> {
        if old == new {
            // Same size: remap_move, as in Op::Move.
            let Some(_) = vma else { return Err(Errno::EFAULT) };
            let src: Vec<Option<Pg>> = self.m.spaces[s][lo..lo + old].to_vec();
            for (k, pg) in src.into_iter().enumerate() {
                if let Some(pg) = pg {
                    self.m.spaces[s][to + k] = Some(pg);
                    self.m.spaces[s][lo + k] = None;
                }
            }
            return Ok(va(to));
        }
        let Some((_, vend)) = vma else { return Err(Errno::EFAULT) };
        let moved = old.min(new);
        if moved > vend - lo {
            return Err(Errno::EFAULT);
        }
        let first = self.m.spaces[s][lo].expect("a VMA is there");
        self.m.unmap(s, to, to + new);
        if new < old {
            self.m.unmap(s, lo + new, lo + old);
        }
        for k in 0..moved {
            self.m.spaces[s][to + k] = self.m.spaces[s][lo + k].take();
        }
        for k in moved..new {
            self.m.spaces[s][to + k] = Some(first.extended(k as u64));
        }
        if new > old && first.locked && !first.onfault {
            let _ = self.m.populate_locked(s, to + old, to + new);
        }
        Ok(va(to))
    }

    /// mremap without a new address: EFAULT without a VMA at the address; a
    /// shrink unmaps the tail (across VMAs); a grow needs the range to end at
    /// its VMA's end and free room after it, else ENOMEM or, with
    /// MREMAP_MAYMOVE, a move of the range (and its new tail) elsewhere.
    fn model_resize(&mut self, s: usize, lo: usize, old: usize, new: usize, vma: Option<(usize, usize)>, maymove: bool) -> Resized {
        let Some((_, vend)) = vma else { return Resized::Done(Err(Errno::EFAULT)) };
        if new <= old {
            self.m.unmap(s, lo + new, lo + old);
            return Resized::Done(Ok(va(lo)));
        }
        if old > vend - lo {
            return Resized::Done(Err(Errno::EFAULT));
        }
        let room = lo + old == vend && (vend..lo + new).all(|i| self.m.spaces[s][i].is_none());
        if !room && !maymove {
            return Resized::Done(Err(Errno::ENOMEM));
        }
        if !room {
            let first = self.m.spaces[s][lo].expect("a VMA is there");
            let mut pages = Vec::new();
            for k in 0..new {
                pages.push(if k < old { self.m.spaces[s][lo + k].take() } else { Some(first.extended(k as u64)) });
            }
            return Resized::Moved(pages);
        }
        let last = self.m.spaces[s][vend - 1].expect("a VMA is there");
        for (k, i) in (vend..lo + new).enumerate() {
            self.m.spaces[s][i] = Some(last.extended(k as u64 + 1));
        }
        if last.locked && !last.onfault {
            let _ = self.m.populate_locked(s, vend, lo + new);
        }
        Resized::Done(Ok(va(lo)))
    }

    /// After a move to an address the engine chose: it must lie outside the
    /// arena; its pages (the moved ones, then the new tail, populated if the
    /// VMA is mlocked) must read as the model says; then it is unmapped, so
    /// the arena stays the whole world.
    fn check_moved_away(&mut self, s: usize, got: Result<VirtAddr, Errno>, pages: Vec<Option<Pg>>, old: usize) -> Result<String, String> {
        let to = got.map_err(|err| format!("mremap: engine returned {err:?}, model expects a move"))?;
        let end = to.as_u64() + bytes(pages.len());
        ensure!(to.is_page_aligned() && (end <= ARENA || to.as_u64() >= ARENA + bytes(PAGES)), "moved to {to}, inside the arena");
        // A scratch process in the model holds the moved pages while they are read.
        let scratch = self.m.spaces.len();
        let mut space: Space = [None; PAGES];
        space[..pages.len()].copy_from_slice(&pages);
        self.m.spaces.push(space);
        if pages[0].is_some_and(|pg| pg.locked && !pg.onfault) {
            let _ = self.m.populate_locked(scratch, old, pages.len());
        }
        let mut result = Ok(format!("moved to {to}"));
        for (k, pg) in pages.iter().enumerate() {
            let at = to.add(bytes(k));
            let got = self.read_at(s, at)?;
            let want = self.m.read(scratch, k);
            if got != want {
                result = Err(format!("moved page {k} at {at}: read gives {got:?}, model expects {want:?} ({pg:?})"));
                break;
            }
        }
        self.m.spaces.pop();
        let r = self.e.munmap(self.ids[s], to.as_u64(), bytes(pages.len()));
        let r = self.settle(r);
        ensure!(r == Ok(()), "munmap of the moved range: {r:?}");
        result
    }

    /// The engine's VMAs agree with the model: inside the arena, covering
    /// exactly the mapped pages, uniform in protection, flags and backing.
    fn check_vmas(&self) -> Check {
        for (s, id) in self.ids.iter().enumerate() {
            let space = self.e.space(*id).ok_or(format!("process {s} has no address space"))?;
            let mut covered = [false; PAGES];
            for v in space.vmas().iter() {
                let (start, end) = (v.start.as_u64(), v.end.as_u64());
                ensure!(start >= ARENA && end <= ARENA + bytes(PAGES), "process {s}: VMA {v:?} outside the arena");
                let (lo, hi) = (((start - ARENA) / PAGE_SIZE) as usize, ((end - ARENA) / PAGE_SIZE) as usize);
                for (i, c) in covered.iter_mut().enumerate().take(hi).skip(lo) {
                    *c = true;
                    let Some(pg) = self.m.spaces[s][i] else {
                        return Err(format!("process {s}: page {i} is in VMA {v:?} but the model has it unmapped"));
                    };
                    let f = v.flags;
                    let flags_ok = f.contains(VmFlags::READ) == (pg.prot != P::None)
                        && f.contains(VmFlags::WRITE) == (pg.prot == P::RW)
                        && !f.contains(VmFlags::EXEC)
                        && f.contains(VmFlags::DONTCOPY) == pg.dontfork
                        && f.contains(VmFlags::WIPEONFORK) == pg.wipeonfork
                        && f.contains(VmFlags::LOCKED) == pg.locked
                        && f.contains(VmFlags::LOCKONFAULT) == pg.onfault;
                    let backing_ok = match pg.kind {
                        Kind::Anon { .. } => v.backing == Backing::Anon && !f.contains(VmFlags::SHARED),
                        Kind::Shared { obj, idx } => {
                            v.backing == Backing::Object(self.objs[obj])
                                && f.contains(VmFlags::MAYSHARE)
                                && f.contains(VmFlags::SHARED) == self.m.objs[obj].writable
                                && v.pgoff_of(va(i)) == idx
                        }
                        Kind::Private { obj, idx, .. } => {
                            v.backing == Backing::Object(self.objs[obj]) && !f.contains(VmFlags::MAYSHARE) && v.pgoff_of(va(i)) == idx
                        }
                    };
                    ensure!(flags_ok && backing_ok, "process {s}: page {i} is in VMA {v:?} but the model has {pg:?}");
                }
            }
            for (i, c) in covered.iter().enumerate() {
                ensure!(
                    *c || self.m.spaces[s][i].is_none(),
                    "process {s}: page {i} is {:?} in the model but in no VMA",
                    self.m.spaces[s][i]
                );
            }
        }
        Ok(())
    }

    /// Every page of every process reads as the model says.
    fn sweep_reads(&mut self) -> Check {
        for s in 0..self.ids.len() {
            for i in 0..PAGES {
                let got = self.read(s, i)?;
                let want = self.m.read(s, i);
                ensure!(got == want, "process {s} page {i}: read gives {got:?}, model expects {want:?} ({:?})", self.m.spaces[s][i]);
            }
        }
        Ok(())
    }

    /// Every page of every process takes a write as the model says (then
    /// everything is read back, which also checks isolation between processes).
    fn sweep_writes(&mut self) -> Check {
        for s in 0..self.ids.len() {
            for i in 0..PAGES {
                let v = self.value();
                let got = self.write(s, i, v)?;
                let want = self.m.write(s, i, v);
                ensure!(got == want, "process {s} page {i}: write gives {got:?}, model expects {want:?}");
            }
        }
        self.sweep_reads()
    }

    /// pwrite(2) to every page of each memfd, then everything is read back:
    /// every shared mapping and every private one without its own copy of
    /// the page must see the new contents, the others must not.
    fn sweep_pwrites(&mut self) -> Check {
        for obj in 0..MEMFDS {
            for idx in 0..self.m.objs[obj].pages {
                let v = self.value();
                let got = self.e.write_object(self.objs[obj], idx * PAGE_SIZE + OFF, &[v]);
                ensure!(got == Ok(1), "pwrite to page {idx} of memfd {obj}: {got:?}");
                self.m.objs[obj].data.insert(idx, v);
            }
        }
        self.sweep_reads()
    }

    fn check(&mut self, sweep: bool) -> Check {
        self.e.check_invariants().map_err(|err| err.to_string())?;
        self.check_vmas()?;
        if sweep {
            self.sweep_reads()?;
            self.e.check_invariants().map_err(|err| format!("after the read sweep: {err}"))?;
        }
        Ok(())
    }

    /// Exit of every process and release of the memfds gives every frame back.
    fn teardown(mut self) -> Check {
        let before = self.baseline.clone();
        for id in std::mem::take(&mut self.ids) {
            self.e.destroy_space(id).map_err(|err| err.to_string())?;
            self.e.check_invariants().map_err(|err| err.to_string())?;
        }
        for o in self.objs.iter().take(FILE + 1).copied() {
            self.e.put_object(o).map_err(|err| err.to_string())?;
        }
        self.e.check_invariants().map_err(|err| err.to_string())?;
        let after = self.e.frame_counts();
        ensure!(after == before, "frames leaked: {before:?} at the start, {after:?} after everything exited");
        ensure!(self.e.objects().is_empty(), "objects left after everything exited");
        Ok(())
    }
}

/// Runs a case; on failure, says where, with the steps so far.
fn run_case(case: &Case) -> Result<(), TestCaseError> {
    let mut log = String::new();
    let fail = |log: &str, msg: String| TestCaseError::fail(format!("{msg}\n-- steps run --\n{log}"));
    let mut run = Run::new(case.anon_around, case.file_around, case.sizes).map_err(|m| fail(&log, m))?;
    run.check(true).map_err(|m| fail(&log, format!("at set-up: {m}")))?;
    for (n, op) in case.layout.iter().chain(&case.ops).enumerate() {
        let r = run.step(*op);
        let _ = writeln!(log, "{n:3}: {op:?} -> {}", r.as_ref().map_or_else(|e| format!("FAILED: {e}"), |s| s.clone()));
        r.map_err(|m| fail(&log, format!("step {n} ({op:?}): {m}")))?;
        run.check(case.sweep == Sweep::EveryStep).map_err(|m| fail(&log, format!("after step {n} ({op:?}): {m}")))?;
    }
    run.sweep_reads().map_err(|m| fail(&log, format!("final read sweep: {m}")))?;
    run.sweep_pwrites().map_err(|m| fail(&log, format!("final pwrite sweep: {m}")))?;
    run.sweep_writes().map_err(|m| fail(&log, format!("final write sweep: {m}")))?;
    run.e.check_invariants().map_err(|m| fail(&log, format!("after the final sweeps: {m}")))?;
    run.teardown().map_err(|m| fail(&log, format!("teardown: {m}")))?;
    if std::env::var("MODEL_LOG").is_ok() {
        eprintln!("{log}");
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        // Only tests/model.rs belongs to this test: no regression files.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_operation_sequences_match_the_page_model(case in case_strategy()) {
        run_case(&case)?;
    }
}

// ---------------------------------------------------------------------------
// Engine bugs the model found, one focused reproduction each.

/// A memfd of 8 pages, whose first `pages` pages are mapped MAP_SHARED
/// read-write and MAP_PRIVATE with `private_prot`.
fn shared_and_private(e: &mut Engine<Mem>, cpu: &mut SimCpu, s: AsId, pages: u64, private_prot: Prot) -> (ObjectId, VirtAddr, VirtAddr) {
    let f = e.create_memfd("bug");
    let (r, u) = e.truncate(f, 8 * PAGE_SIZE).split();
    cpu.mmu.apply(e.memory(), u);
    r.unwrap();
    let file = MapFile::Open { obj: f, read: true, write: true };
    let at =
        |addr: u64, flags: u64, prot: Prot| MmapArgs { addr, flags: flags | map::FIXED, file, ..MmapArgs::anon(pages * PAGE_SIZE, prot) };
    let shared = applied!(cpu, e, e.mmap(s, at(0x2000_0000, map::SHARED, Prot::READ | Prot::WRITE))).unwrap();
    let private = applied!(cpu, e, e.mmap(s, at(0x3000_0000, map::PRIVATE, private_prot))).unwrap();
    (f, shared, private)
}

/// mlock2(MLOCK_ONFAULT) then mprotect(PROT_READ|PROT_WRITE) of a private file
/// mapping: Linux's mprotect_fixup calls populate_vma_page_range, which does
/// nothing for VM_LOCKONFAULT, so no page is copied and the private mapping
/// keeps seeing the file's page until it writes. The engine write-faults the
/// range, so a later write through the shared mapping is not seen.
#[test]
fn mprotect_to_writable_does_not_populate_a_lockonfault_vma() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let (_, shared, private) = shared_and_private(&mut e, &mut cpu, s, 2, Prot::READ);
    applied!(cpu, e, e.mlock2(s, private.as_u64(), 2 * PAGE_SIZE, MLOCK_ONFAULT)).unwrap();
    applied!(cpu, e, e.mprotect(s, private.as_u64(), 2 * PAGE_SIZE, (Prot::READ | Prot::WRITE).bits())).unwrap();
    assert_eq!(cpu.write_u8(&mut e, s, shared, 7).unwrap(), None);
    assert_eq!(cpu.read_u8(&mut e, s, private).unwrap(), Ok(7), "the private page was copied by mprotect");
}

/// mremap growth of a VM_LOCKONFAULT private file mapping: do_mremap's
/// mm_populate of the new tail ends in populate_vma_page_range, which does
/// nothing for VM_LOCKONFAULT. The engine write-faults the tail.
#[test]
fn mremap_growth_does_not_populate_a_lockonfault_vma() {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let (f, _, private) = shared_and_private(&mut e, &mut cpu, s, 2, Prot::READ | Prot::WRITE);
    applied!(cpu, e, e.mlock2(s, private.as_u64(), 2 * PAGE_SIZE, MLOCK_ONFAULT)).unwrap();
    assert_eq!(applied!(cpu, e, e.mremap(s, private.as_u64(), 2 * PAGE_SIZE, 4 * PAGE_SIZE, 0, 0)), Ok(private));
    assert_eq!(e.write_object(f, 3 * PAGE_SIZE, &[9]), Ok(1));
    assert_eq!(cpu.read_u8(&mut e, s, private.add(3 * PAGE_SIZE)).unwrap(), Ok(9), "the new tail was copied by mremap");
}
