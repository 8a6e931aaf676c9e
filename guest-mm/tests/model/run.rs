//! The lockstep driver: `Run` applies each step to the engine (through the
//! simulated MMU) and to the model, compares the results, and checks VMAs,
//! page contents and frame accounting against the model.

use crate::common::{engine_with, space, Mem};
use crate::ops::{range, Extra, Op};
use crate::reference::{file_byte, Kind, Model, Obj, Pg, Resized, Sig, Space, P};
use crate::{bytes, va, ARENA, FILE, FILE_PAGES, MAX_OBJ_PAGES, MAX_PROCS, MEMFDS, OFF, PAGES};
use guest_mm::frames::FrameCounts;
use guest_mm::ops::map;
use guest_mm::ops::mlock::MLOCK_ONFAULT;
use guest_mm::ops::mmap::{MapFile, MmapArgs};
use guest_mm::ops::mremap::{MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE};
use guest_mm::paging::Outcome;
use guest_mm::sim::SimCpu;
use guest_mm::vma::{Backing, VmFlags};
use guest_mm::{AsId, Engine, Errno, FaultAround, ObjectId, VirtAddr, PAGE_SIZE};
use std::collections::BTreeMap;

type Check = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            return Err(format!($($arg)*));
        }
    };
}

pub(crate) struct Run {
    pub(crate) e: Engine<Mem>,
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
    pub(crate) fn new(anon_around: u32, file_around: u32, sizes: [u8; MEMFDS]) -> Result<Self, String> {
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
        Ok(Run {
            e,
            cpu,
            ids: vec![s],
            objs,
            m: Model { spaces: vec![[None; PAGES]], objs: mobjs, next_vma: 0, next_anon: 0 },
            next_val: 0,
            baseline,
        })
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
    pub(crate) fn step(&mut self, op: Op) -> Result<String, String> {
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
                    if extra != Extra::Plain {
                        // mm_populate: write faults (an anon_vma) for a writable mapping.
                        let _ = self.m.populate_locked(s, lo, hi);
                    }
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
                let got = self.e.mprotect(self.ids[s], va(lo).as_u64(), bytes(hi - lo), prot.prot().bits());
                let got = self.settle(got);
                let want = self.m.mprotect(s, lo, hi, prot);
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
                let want = self.model_remap_move(s, lo, hi, to, false);
                same("mremap", got, want)
            }
            Op::MoveResize { p, at, old, new, to } => {
                let s = self.proc(p);
                let (lo, old_end) = range(at, old);
                let old = old_end - lo;
                let new = (new.max(1) as usize).min(PAGES);
                let to = to as usize % (PAGES - new + 1);
                let vma = self.m.vma_at(s, lo);
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
                let vma = self.m.vma_at(s, lo);
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
                            self.m.placed_copy(s, to, to + new);
                            Ok(va(to))
                        }
                    }
                };
                same("mremap", got, want)
            }
            Op::Mincore { p, at, len } => {
                let s = self.proc(p);
                let (lo, hi) = range(at, len);
                let (got, u) = self.e.mincore(self.ids[s], va(lo).as_u64(), bytes(hi - lo)).split();
                if !u.is_empty() {
                    return Err("mincore changed entries".into());
                }
                let pages = &self.m.spaces[s][lo..hi];
                if pages.iter().any(|p| p.is_none()) {
                    return same("mincore", got.map(drop), Err(Errno::ENOMEM));
                }
                let v = got.map_err(|e| format!("mincore: engine returned {e:?} over mapped pages"))?;
                if v.len() != hi - lo {
                    return Err(format!("mincore: {} entries for {} pages", v.len(), hi - lo));
                }
                for (k, pg) in pages.iter().enumerate() {
                    let pg = pg.expect("checked above");
                    let want = match pg.kind {
                        _ if pg.guard && !pg.is_shared() && !matches!(pg.kind, Kind::Private { .. }) => Some(0),
                        Kind::Anon { val: Some(_) } | Kind::Private { cow: Some(_), .. } if !pg.guard => Some(1),
                        _ => None,
                    };
                    if want.is_some_and(|w| w != v[k]) {
                        return Err(format!("mincore: page {} is {} but the model has {pg:?}", lo + k, v[k]));
                    }
                }
                Ok(format!("{v:?}"))
            }
            Op::Msync { p, at, len, flags } => {
                let s = self.proc(p);
                let (lo, hi) = range(at, len);
                let flags = u64::from(flags);
                let got = self.e.msync(self.ids[s], va(lo).as_u64(), bytes(hi - lo), flags);
                let got = self.settle(got);
                let mut want = Ok(());
                for pg in &self.m.spaces[s][lo..hi] {
                    match pg {
                        None if flags == 1 => {
                            want = Err(Errno::ENOMEM);
                            break;
                        }
                        None => want = Err(Errno::ENOMEM),
                        Some(pg) if flags & 2 != 0 && pg.locked => {
                            want = Err(Errno::EBUSY);
                            break;
                        }
                        Some(_) => {}
                    }
                }
                if flags & 5 == 5 {
                    want = Err(Errno::EINVAL);
                }
                same("msync", got, want)
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
                let want = self.model_remap_move(s, lo, hi, to, true);
                same("mremap", got, want)
            }
        }
    }

    /// remap_move (MREMAP_FIXED without resizing): no gap allowed at the
    /// start; every VMA in [lo, hi) moves by the same distance, one after
    /// another (gaps between them are kept, and the destination of a gap is
    /// left alone), as a copy placed and merged at the destination. With
    /// MREMAP_DONTUNMAP the source stays, empty; its whole VMA unlocked and
    /// unaccounted (without its anon_vma when a whole VMA moved).
    fn model_remap_move(&mut self, s: usize, lo: usize, hi: usize, to: usize, dontunmap: bool) -> Result<VirtAddr, Errno> {
        if self.m.spaces[s][lo].is_none() {
            return Err(Errno::EFAULT);
        }
        let runs: Vec<(usize, usize)> = self.m.vma_list(s).into_iter().filter(|(a, b)| *a < hi && *b > lo).collect();
        for (a, b) in runs {
            let (plo, phi) = (a.max(lo), b.min(hi));
            // Relative to the VMA as it is now: moving an earlier one may
            // have cut this one at the destination.
            // The source VMA once the destination was unmapped (mremap_to
            // unmaps it first, which may cut the source VMA).
            let mut src = self.m.vma_at(s, plo).expect("inside a VMA");
            let (dlo, dhi) = (to + (plo - lo), to + (phi - lo));
            if dlo >= phi && dlo < src.1 {
                src.1 = dlo;
            }
            if dhi <= plo && dhi > src.0 {
                src.0 = dhi;
            }
            let whole = src == (plo, phi);
            let before = self.m.spaces[s];
            for (i, pg) in before.iter().enumerate().take(phi).skip(plo) {
                let pg = pg.expect("inside a VMA");
                self.m.spaces[s][to + (i - lo)] = Some(pg);
                self.m.spaces[s][i] = if dontunmap {
                    // The entries (markers too) went; the VMA stays.
                    let mut left = pg.extended(0);
                    if whole {
                        left.v.anon = None;
                    }
                    Some(left)
                } else {
                    None
                };
            }
            if dontunmap {
                // dontunmap_complete: VM_LOCKED, VM_LOCKONFAULT and VM_ACCOUNT
                // are cleared on the whole source VMA, which is not split,
                // even when only part of it moved (Linux 6.18).
                for i in src.0..src.1 {
                    if let Some(pg) = self.m.spaces[s][i].as_mut() {
                        pg.locked = false;
                        pg.onfault = false;
                        pg.account = false;
                    }
                }
                self.m.modified_with(s, &before, src.0, src.1, true);
            }
            self.m.placed_copy(s, to + (plo - lo), to + (phi - lo));
        }
        Ok(va(to))
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
            return self.model_remap_move(s, lo, lo + old, to, false);
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
        self.m.placed_copy(s, to, to + new);
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
        // vma_merge_extend: the grown VMA may now merge with the next one.
        let grown = self.m.vma_at(s, lo).expect("mapped");
        self.m.merge_next(s, grown);
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
                        && f.contains(VmFlags::LOCKONFAULT) == pg.onfault
                        && f.contains(VmFlags::ACCOUNT) == pg.account;
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
            // The boundaries: the model decides them itself (see `vmas`).
            let (engine, model) = (self.vmas(s), self.m.vma_list(s));
            ensure!(engine == model, "process {s}: the engine's VMAs (as arena pages) are {engine:?}, the model's {model:?}");
        }
        Ok(())
    }

    /// Every page of every process reads as the model says.
    pub(crate) fn sweep_reads(&mut self) -> Check {
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
    pub(crate) fn sweep_writes(&mut self) -> Check {
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
    pub(crate) fn sweep_pwrites(&mut self) -> Check {
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

    pub(crate) fn check(&mut self, sweep: bool) -> Check {
        self.e.check_invariants().map_err(|err| err.to_string())?;
        self.check_vmas()?;
        if sweep {
            self.sweep_reads()?;
            self.e.check_invariants().map_err(|err| format!("after the read sweep: {err}"))?;
        }
        Ok(())
    }

    /// Exit of every process and release of the memfds gives every frame back.
    pub(crate) fn teardown(mut self) -> Check {
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
