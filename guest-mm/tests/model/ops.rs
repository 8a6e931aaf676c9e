//! The operations a case is made of (`Op` and its parameters), how often a
//! case reads everything back (`Sweep`), and the proptest strategies that
//! generate cases.

use crate::reference::P;
use crate::{FILE, MAX_OBJ_PAGES, MAX_PROCS, MEMFDS, PAGES};
use guest_mm::ops::madvise::{
    MADV_DOFORK, MADV_DONTFORK, MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_GUARD_INSTALL, MADV_GUARD_REMOVE, MADV_KEEPONFORK,
    MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_REMOVE, MADV_WIPEONFORK,
};
use guest_mm::ops::map;
use proptest::prelude::*;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Adv {
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
    pub(crate) fn value(self) -> u64 {
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
pub(crate) enum Extra {
    Plain,
    /// MAP_POPULATE: faulted in at once (write faults for private writable
    /// mappings), failures ignored.
    Populate,
    /// MAP_LOCKED: VM_LOCKED, and populated as with MAP_POPULATE.
    Locked,
}

impl Extra {
    pub(crate) fn flags(self) -> u64 {
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
pub(crate) enum Op {
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
    /// mincore(2): ENOMEM at a hole; written private pages are resident,
    /// guarded anonymous pages are not.
    Mincore {
        p: u8,
        at: u8,
        len: u8,
    },
    /// msync(2) with MS_ASYNC, MS_SYNC or MS_INVALIDATE (flags 1, 4, 2).
    Msync {
        p: u8,
        at: u8,
        len: u8,
        flags: u8,
    },
}

/// How often every page is read back.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Sweep {
    /// After every step (the default).
    EveryStep,
    /// Only at the end: reading everything maps everything, so these cases
    /// keep write faults on never-touched entries (do_anonymous_page,
    /// do_cow_fault) in play.
    AtEnd,
}

#[derive(Clone, Debug)]
pub(crate) struct Case {
    pub(crate) anon_around: u32,
    pub(crate) file_around: u32,
    pub(crate) sweep: Sweep,
    pub(crate) sizes: [u8; MEMFDS],
    /// The first steps: mmaps laying out the arena in process 0.
    pub(crate) layout: Vec<Op>,
    pub(crate) ops: Vec<Op>,
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
        1 => (p(), at(), len()).prop_map(|(p, at, len)| Op::Mincore { p, at, len }),
        1 => (p(), at(), len(), prop_oneof![Just(1u8), Just(2), Just(4), Just(0), Just(6)])
            .prop_map(|(p, at, len, flags)| Op::Msync { p, at, len, flags }),
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

pub(crate) fn case_strategy() -> impl Strategy<Value = Case> {
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
pub(crate) fn range(at: u8, len: u8) -> (usize, usize) {
    let lo = at as usize % PAGES;
    (lo, (lo + len.max(1) as usize).min(PAGES))
}
