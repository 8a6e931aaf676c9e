//! The reference model: per process, each arena page's protection, VMA flags,
//! guard marker and contents (anonymous, shared object page, or private file
//! page with an optional COW copy), plus the memory objects themselves, with
//! the Linux semantics of every operation the test runs.

use crate::ops::Adv;
use crate::vmas::{anon_pgoff, V};
use crate::PAGES;
use guest_mm::vma::Prot;
use guest_mm::{Errno, SiCode, Signal, VirtAddr};
use std::collections::BTreeMap;

/// A protection the test uses (PROT_EXEC and write-only are not generated).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum P {
    None,
    R,
    RW,
}

impl P {
    pub(crate) fn prot(self) -> Prot {
        match self {
            P::None => Prot::empty(),
            P::R => Prot::READ,
            P::RW => Prot::READ | Prot::WRITE,
        }
    }
}

/// What a mapped page is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Private anonymous memory: `None` = never written since it was zero-filled.
    Anon { val: Option<u8> },
    /// Page `idx` of object `obj`, MAP_SHARED.
    Shared { obj: usize, idx: u64 },
    /// Page `idx` of object `obj`, MAP_PRIVATE; `cow` = this process's private copy.
    Private { obj: usize, idx: u64, cow: Option<u8> },
}

/// One mapped page of one process.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pg {
    pub(crate) prot: P,
    pub(crate) kind: Kind,
    /// A guard marker (MADV_GUARD_INSTALL) sits in the page table.
    pub(crate) guard: bool,
    /// VM_DONTCOPY (MADV_DONTFORK).
    pub(crate) dontfork: bool,
    /// VM_WIPEONFORK.
    pub(crate) wipeonfork: bool,
    /// VM_LOCKED (mlock).
    pub(crate) locked: bool,
    /// VM_LOCKONFAULT (mlock2(MLOCK_ONFAULT)): locked, but never populated.
    pub(crate) onfault: bool,
    /// VM_ACCOUNT: private writable memory is charged (mmap, mprotect to writable).
    pub(crate) account: bool,
    /// Its VMA (the model's own boundaries, see `vmas`).
    pub(crate) v: V,
}

impl Pg {
    pub(crate) fn new(prot: P, kind: Kind) -> Self {
        Pg { prot, kind, guard: false, dontfork: false, wipeonfork: false, locked: false, onfault: false, account: false, v: V::default() }
    }

    /// The page `k` pages further in the same VMA, freshly added by mremap.
    pub(crate) fn extended(self, k: u64) -> Self {
        let kind = match self.kind {
            Kind::Anon { .. } => Kind::Anon { val: None },
            Kind::Shared { obj, idx } => Kind::Shared { obj, idx: idx + k },
            Kind::Private { obj, idx, .. } => Kind::Private { obj, idx: idx + k, cow: None },
        };
        Pg { kind, guard: false, v: V { pgoff: self.v.pgoff + k, ..self.v }, ..self }
    }

    /// MADV_DONTNEED (and the zap of guard installation): private contents go.
    fn discard(&mut self) {
        match &mut self.kind {
            Kind::Anon { val } => *val = None,
            Kind::Private { cow, .. } => *cow = None,
            Kind::Shared { .. } => {}
        }
    }

    pub(crate) fn is_shared(&self) -> bool {
        matches!(self.kind, Kind::Shared { .. })
    }
}

pub(crate) type Space = [Option<Pg>; PAGES];

/// A memory object: size in pages, the test byte of each page that is not
/// zero, and whether MAP_SHARED mappings may write it (opened for writing).
#[derive(Clone, Debug)]
pub(crate) struct Obj {
    pub(crate) pages: u64,
    pub(crate) data: BTreeMap<u64, u8>,
    pub(crate) writable: bool,
}

/// The test byte of page `k` of the read-only file.
pub(crate) fn file_byte(k: u64) -> u8 {
    0xa0 + k as u8
}

/// The signal an access gets: (signal, si_code).
pub(crate) type Sig = (Signal, SiCode);

const MAPERR: Sig = (Signal::SIGSEGV, SiCode::SegvMaperr);
const ACCERR: Sig = (Signal::SIGSEGV, SiCode::SegvAccerr);
const BUSERR: Sig = (Signal::SIGBUS, SiCode::BusAdrerr);

/// Why population (GUP) stopped at a page.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// No VMA.
    Hole,
    /// The VMA does not allow the access (check_vma_flags).
    Prot,
    /// The fault would raise a signal (guard marker, beyond end of file).
    Fault,
}

#[derive(Clone, Debug)]
pub(crate) struct Model {
    pub(crate) spaces: Vec<Space>,
    pub(crate) objs: Vec<Obj>,
    /// Last VMA and anon_vma ids handed out (see `vmas`).
    pub(crate) next_vma: u32,
    pub(crate) next_anon: u32,
}

impl Model {
    pub(crate) fn obj_byte(&self, obj: usize, idx: u64) -> u8 {
        self.objs[obj].data.get(&idx).copied().unwrap_or(0)
    }

    /// What a read of the test byte of `page` gives.
    pub(crate) fn read(&self, s: usize, page: usize) -> Result<u8, Sig> {
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
    pub(crate) fn write(&mut self, s: usize, page: usize, v: u8) -> Result<(), Sig> {
        let Some(pg) = self.spaces[s][page] else { return Err(MAPERR) };
        if pg.prot != P::RW {
            return Err(ACCERR);
        }
        if pg.guard {
            return Err(MAPERR);
        }
        // The fault handler is reached: a private mapping gets its anon_vma
        // (do_cow_fault prepares it before __do_fault finds the end of file).
        self.write_fault(s, page);
        let pg = self.spaces[s][page].expect("checked above");
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
        if write {
            self.write_fault(s, page);
        }
        let pg = self.spaces[s][page].expect("checked above");
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
    pub(crate) fn populate_locked(&mut self, s: usize, lo: usize, hi: usize) -> Result<(), Stop> {
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

    /// A new mapping of [lo, hi): a new VMA (see `vmas`).
    pub(crate) fn map(&mut self, s: usize, lo: usize, hi: usize, f: impl Fn(usize) -> Pg) {
        for i in lo..hi {
            let mut pg = f(i - lo);
            let pgoff = match pg.kind {
                Kind::Anon { .. } => anon_pgoff(i),
                Kind::Shared { idx, .. } | Kind::Private { idx, .. } => idx,
            };
            pg.v = V { id: 0, pgoff, anon: None };
            // accountable_mapping: private and writable.
            pg.account = pg.prot == P::RW && !pg.is_shared();
            self.spaces[s][i] = Some(pg);
        }
        self.new_vma(s, lo, hi);
    }

    pub(crate) fn unmap(&mut self, s: usize, lo: usize, hi: usize) {
        // A VMA cut in two (__split_vma) is two VMAs: the part after the
        // hole gets its own id, or a later fill of the hole (mremap growing
        // the first part in place) would join them without a merge.
        let split = lo > 0
            && lo < hi
            && hi < PAGES
            && matches!((self.spaces[s][lo - 1], self.spaces[s][hi]), (Some(a), Some(b)) if a.v.id == b.v.id);
        if split {
            let (_, end) = self.vma_at(s, hi).expect("mapped");
            let id = self.fresh_vma();
            self.set(s, (hi, end), |v| v.id = id);
        }
        for i in lo..hi {
            self.spaces[s][i] = None;
        }
    }

    /// mprotect: VMA by VMA (the model's own), stopping with ENOMEM at the
    /// first hole. Each VMA's changed part is split off and merged (see
    /// `vmas`); then a private locked VMA that became writable is populated
    /// for writing (mprotect_fixup), errors ignored.
    pub(crate) fn mprotect(&mut self, s: usize, lo: usize, hi: usize, prot: P) -> Result<(), Errno> {
        let mut i = lo;
        while i < hi {
            let Some(pg) = self.spaces[s][i] else { return Err(Errno::ENOMEM) };
            if let Kind::Shared { obj, .. } = pg.kind {
                // A MAP_SHARED mapping of a file opened read-only has no VM_MAYWRITE.
                if prot == P::RW && !self.objs[obj].writable {
                    return Err(Errno::EACCES);
                }
            }
            let (_, vend) = self.vma_at(s, i).expect("a mapped page lies in a VMA");
            let end = vend.min(hi);
            let populate = pg.locked && !pg.onfault && pg.prot != P::RW && !pg.is_shared() && prot == P::RW;
            // VM_ACCOUNT: charged when private memory becomes writable,
            // dropped when an unfaulted anonymous VMA stops being writable;
            // an unchanged protection changes nothing (mprotect_fixup).
            let account = if prot == pg.prot {
                pg.account
            } else if prot == P::RW {
                pg.account || (pg.prot != P::RW && !pg.is_shared())
            } else {
                pg.account && !(matches!(pg.kind, Kind::Anon { .. }) && pg.v.anon.is_none())
            };
            let before = self.spaces[s];
            for j in i..end {
                if let Some(p) = &mut self.spaces[s][j] {
                    p.prot = prot;
                    p.account = account;
                }
            }
            self.modified(s, &before, i, end);
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
    pub(crate) fn madvise(&mut self, s: usize, lo: usize, hi: usize, adv: Adv) -> Result<(), Errno> {
        let before = self.spaces[s];
        let r = self.madvise_pages(s, lo, hi, adv);
        // Flag advice splits and merges VMAs (madvise_update_vma).
        self.modified(s, &before, lo, hi);
        r
    }

    fn madvise_pages(&mut self, s: usize, lo: usize, hi: usize, adv: Adv) -> Result<(), Errno> {
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
                    // madvise_guard_install prepares the anon_vma of an
                    // anonymous VMA (vma_is_anonymous) first.
                    if matches!(pg.kind, Kind::Anon { .. }) {
                        self.anon_prepare(s, i);
                    }
                    pg.v.anon = self.spaces[s][i].expect("mapped").v.anon;
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
    pub(crate) fn mlock(&mut self, s: usize, lo: usize, hi: usize, lock: bool, onfault: bool) -> Result<(), Errno> {
        let before = self.spaces[s];
        let mut hole = false;
        for i in lo..hi {
            let Some(pg) = &mut self.spaces[s][i] else {
                hole = true;
                break;
            };
            pg.locked = lock;
            pg.onfault = onfault;
        }
        self.modified(s, &before, lo, hi);
        if hole {
            return Err(Errno::ENOMEM);
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
    pub(crate) fn truncate(&mut self, obj: usize, pages: u64) {
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
    pub(crate) fn fork(&mut self, s: usize) {
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
        self.forked(self.spaces.len() - 1);
    }
}

/// What an mremap without a new address did in the model.
pub(crate) enum Resized {
    /// Failed, or resized in place.
    Done(Result<VirtAddr, Errno>),
    /// Moved elsewhere, with these pages.
    Moved(Vec<Option<Pg>>),
}
