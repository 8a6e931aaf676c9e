//! `vmm bench engine`: what the memory engine alone costs per operation,
//! against the host kernel making the same change to this process's own
//! address space, in the same run.
//!
//! Why: every memory syscall and fault of a guest program is resolved by the
//! engine on the host, so the engine's time is added to every exit that needs
//! it. The honest reference for that time is Linux doing the same work natively;
//! the target is engine <= host (printed, never asserted). No VM is involved:
//! the engine runs over plain host memory (vm-memory's `GuestMemoryMmap`),
//! exactly the `PhysMemory` path the vmm uses over its memfd guest RAM.
//!
//! Engine time is the call plus consuming its PTE batch (`into_parts`), since
//! building the batch is engine work; replaying it is the guest shim's and is
//! not counted. Host time includes the syscall entry and exit, which the
//! kernel cannot be timed without.
//!
//! Owns: the engine set-up for the measurements, the host-side counterparts
//! (raw libc calls, hence `unsafe`, one of the few files with it) and the
//! output. Measured, each figure a median of single-operation timings pooled
//! over `runs` rounds, each round giving each figure about 30 ms of wall time,
//! set-up included (forks get at least 10 samples a round):
//! - mmap + munmap of one anonymous page;
//! - mprotect of the middle of three touched pages to PROT_READ and back
//!   (split into three VMAs, merge back into one), the pair timed;
//! - MADV_GUARD_INSTALL of 1 and of 512 populated pages, only the madvise
//!   timed; the guards are removed and the pages rewritten between samples;
//! - fork with 64 MiB of touched anonymous memory: `engine.fork` against
//!   `fork()` whose child calls `_exit` at once; destroying the child space and
//!   `waitpid` are outside the timing. Every page is rewritten before each fork
//!   so that each fork write-protects all 16384 entries, as a first fork does.
//!
//! Fairness: host regions are MADV_NOHUGEPAGE so that both sides map 4 KiB
//! pages. The host forks run before the round's engine exists and before its
//! other host regions, because fork copies every anonymous mapping of this
//! process and the engine's touched RAM would double the work. The host fork
//! of the bare process (nothing touched) is reported too: it is the fixed
//! cost of a process (task, files, signal state) the engine does not have.

use super::{median_us, print};
use crate::error::VmmError;
use guest_mm::ops::madvise::{MADV_GUARD_INSTALL, MADV_GUARD_REMOVE, MADV_POPULATE_WRITE};
use guest_mm::ops::mmap::MmapArgs;
use guest_mm::vma::Prot;
use guest_mm::{AsId, Engine, EngineConfig, FaultAround, Frame, Limits, Outcome, SysResult, PAGE_SIZE};
use serde::Serialize;
use std::ptr;
use std::time::{Duration, Instant};
use vm_memory::{GuestAddress, GuestMemoryMmap};

type Mem = GuestMemoryMmap<()>;

/// Wall time each figure gets per round, set-up included.
const ROUND_BUDGET: Duration = Duration::from_millis(30);
/// Samples a figure gets per round even when one sample outlasts the budget.
const MIN_SAMPLES: usize = 5;
/// A fork sample takes longer than the budget (rewriting 64 MiB, reaping the
/// child) and forks vary more than the rest, so they get more.
const FORK_MIN_SAMPLES: usize = 10;
/// Enough for a stable median of a sub-microsecond operation; bounds memory.
const MAX_SAMPLES: usize = 200_000;
const PAGE: usize = PAGE_SIZE as usize;
/// The engine's guest RAM: 64 MiB touched, a fork child's tables, headroom.
const ENGINE_RAM: usize = 256 << 20;
const FORK_BYTES: usize = 64 << 20;
const GUARD_PAGES: usize = 512;
/// Anonymous fault-around of the engine (the vmm's default). It only changes
/// how the 64 MiB are populated, not the timed operations.
const ANON_FAULT_AROUND: u32 = 16;
const TARGET: f64 = 1.0;

#[derive(Serialize)]
struct Figure {
    op: &'static str,
    engine_us: f64,
    /// None when the host kernel refuses the operation.
    host_us: Option<f64>,
    /// engine_us / host_us.
    ratio: Option<f64>,
    target: f64,
    engine_samples: usize,
    host_samples: usize,
}

#[derive(Serialize)]
struct EngineBench {
    bench: &'static str,
    runs: u32,
    anon_fault_around: u32,
    fork_mib: usize,
    guard_pages: usize,
    /// Figures of an unoptimised build say nothing about the engine.
    debug_build: bool,
    host_fork_empty_us: f64,
    ops: Vec<Figure>,
}

/// Engine and host samples of one operation, pooled over the rounds.
struct Samples {
    op: &'static str,
    label: &'static str,
    engine: Vec<Duration>,
    host: Vec<Duration>,
    host_unsupported: bool,
}

impl Samples {
    fn new(op: &'static str, label: &'static str) -> Self {
        Samples { op, label, engine: Vec::new(), host: Vec::new(), host_unsupported: false }
    }

    fn figure(&mut self) -> Figure {
        let e = median_us(&mut self.engine);
        let h = (!self.host_unsupported && !self.host.is_empty()).then(|| median_us(&mut self.host));
        let ratio = h.filter(|h| *h > 0.0).map(|h| e / h);
        Figure {
            op: self.op,
            engine_us: e,
            host_us: h,
            ratio,
            target: TARGET,
            engine_samples: self.engine.len(),
            host_samples: self.host.len(),
        }
    }
}

/// "engine: mmap+munmap 1 page   0.85 us vs host 1.90 us = 0.45x (target <= 1.0)".
fn line(label: &str, f: &Figure) -> String {
    let head = format!("engine: {label:<28} {:>10.2} us vs host", f.engine_us);
    match (f.host_us, f.ratio) {
        (Some(h), Some(r)) => format!("{head} {h:>10.2} us = {r:.2}x (target <= {:.1})", f.target),
        _ => format!("{head} unsupported (madvise EINVAL)"),
    }
}

/// Repeats `one` (which returns the time of its timed part) for ROUND_BUDGET
/// of wall time and at least `min` times.
fn sample_n(out: &mut Vec<Duration>, min: usize, mut one: impl FnMut() -> Result<Duration, VmmError>) -> Result<(), VmmError> {
    let start = Instant::now();
    let mut n = 0;
    while n < min || (start.elapsed() < ROUND_BUDGET && n < MAX_SAMPLES) {
        out.push(one()?);
        n += 1;
    }
    Ok(())
}

fn sample(out: &mut Vec<Duration>, one: impl FnMut() -> Result<Duration, VmmError>) -> Result<(), VmmError> {
    sample_n(out, MIN_SAMPLES, one)
}

/// Consumes an engine outcome the way the engine-only figure defines it: the
/// batch is taken apart (its construction was engine work) but not applied.
fn done<T>(o: Outcome<SysResult<T>>, what: &str) -> Result<T, VmmError> {
    let (r, updates) = o.split();
    let _ = updates.into_parts();
    r.map_err(|e| VmmError::Bench(format!("engine {what} failed: {e:?}")))
}

fn new_engine() -> Result<Engine<Mem>, VmmError> {
    let mem = Mem::from_ranges(&[(GuestAddress(0), ENGINE_RAM)]).map_err(|e| VmmError::GuestMemory(e.to_string()))?;
    let config = EngineConfig {
        // Frame 0 stays out of the pool, as in the vmm, so no table or page is at physical 0.
        pool_first: Frame::new(1),
        pool_frames: (ENGINE_RAM / PAGE) as u64 - 1,
        kernel_entries: vec![],
        fault_around: FaultAround { file_pages: 16, anon_pages: ANON_FAULT_AROUND },
        limits: Limits::default(),
    };
    Engine::new(mem, config).map_err(|e| VmmError::Bench(format!("engine: {e}")))
}

fn new_space(eng: &mut Engine<Mem>) -> Result<AsId, VmmError> {
    let (r, updates) = eng.create_space().split();
    let _ = updates.into_parts();
    r.map_err(|e| VmmError::Bench(format!("engine create_space: {e}")))
}

/// A populated private RW anonymous mapping of `pages` in the engine.
fn engine_region(eng: &mut Engine<Mem>, s: AsId, pages: usize) -> Result<u64, VmmError> {
    let len = (pages * PAGE) as u64;
    let a = done(eng.mmap(s, MmapArgs::anon(len, Prot::READ | Prot::WRITE)), "mmap")?.as_u64();
    done(eng.madvise(s, a, len, MADV_POPULATE_WRITE), "MADV_POPULATE_WRITE")?;
    Ok(a)
}

fn host_err(what: &'static str) -> VmmError {
    VmmError::Host(what, std::io::Error::last_os_error())
}

/// A private RW anonymous mapping of this process, unmapped on drop.
struct HostMap {
    addr: *mut u8,
    len: usize,
}

impl HostMap {
    /// Maps `pages` and writes each.
    fn new(pages: usize) -> Result<Self, VmmError> {
        let len = pages * PAGE;
        // SAFETY: a fresh anonymous mapping at an address of the kernel's
        // choosing; no existing memory is affected.
        let p =
            unsafe { libc::mmap(ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0) };
        if p == libc::MAP_FAILED {
            return Err(host_err("mmap"));
        }
        let m = HostMap { addr: p.cast(), len };
        // The engine maps 4 KiB pages only: a huge page would let the host
        // copy or zap 512 entries as one.
        // SAFETY: advice on our own mapping; it changes no contents.
        if unsafe { libc::madvise(p, len, libc::MADV_NOHUGEPAGE) } != 0 {
            return Err(host_err("madvise(MADV_NOHUGEPAGE)"));
        }
        m.touch(pages);
        Ok(m)
    }

    /// Writes one byte to each of the first `pages`.
    fn touch(&self, pages: usize) {
        for i in 0..pages.min(self.len / PAGE) {
            // SAFETY: inside our live RW mapping; callers remove guard markers
            // before touching, so the store cannot fault.
            unsafe { ptr::write_volatile(self.addr.add(i * PAGE), 1) };
        }
    }

    /// madvise on the first `pages`; Err carries errno.
    fn madvise(&self, pages: usize, advice: i32) -> Result<(), i32> {
        // SAFETY: advice on our own mapping; guard install and remove only
        // change whether it may be accessed, which `touch` respects.
        let r = unsafe { libc::madvise(self.addr.cast(), pages * PAGE, advice) };
        if r == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
        }
    }
}

impl Drop for HostMap {
    fn drop(&mut self) {
        // SAFETY: we own the mapping and nothing refers to it any more.
        unsafe { libc::munmap(self.addr.cast(), self.len) };
    }
}

/// One host fork of this process, timed in the parent; the child exits at once.
fn host_fork() -> Result<Duration, VmmError> {
    let t = Instant::now();
    // SAFETY: the child only calls _exit, which is async-signal-safe, so
    // forking even a multithreaded process is sound.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: see above; nothing of the parent's state is touched.
        unsafe { libc::_exit(0) };
    }
    let dt = t.elapsed();
    if pid < 0 {
        return Err(host_err("fork"));
    }
    let mut status = 0;
    // SAFETY: waits for our own child; `status` is a valid out-pointer.
    if unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
        return Err(host_err("waitpid"));
    }
    Ok(dt)
}

/// MADV_GUARD_INSTALL of `pages` on the host, guards removed and pages
/// rewritten between samples. Marks the figure unsupported on EINVAL.
fn host_guard(m: &HostMap, pages: usize, s: &mut Samples) -> Result<(), VmmError> {
    if s.host_unsupported {
        return Ok(());
    }
    let (install, remove) = (MADV_GUARD_INSTALL as i32, MADV_GUARD_REMOVE as i32);
    match m.madvise(pages, install) {
        Ok(()) => {}
        Err(libc::EINVAL) => {
            s.host_unsupported = true;
            return Ok(());
        }
        Err(e) => return Err(VmmError::Host("madvise(MADV_GUARD_INSTALL)", std::io::Error::from_raw_os_error(e))),
    }
    let unguard = || {
        m.madvise(pages, remove).map_err(|e| VmmError::Host("madvise(MADV_GUARD_REMOVE)", std::io::Error::from_raw_os_error(e)))?;
        m.touch(pages);
        Ok::<(), VmmError>(())
    };
    unguard()?;
    sample(&mut s.host, || {
        let t = Instant::now();
        let r = m.madvise(pages, install);
        let dt = t.elapsed();
        r.map_err(|e| VmmError::Host("madvise(MADV_GUARD_INSTALL)", std::io::Error::from_raw_os_error(e)))?;
        unguard()?;
        Ok(dt)
    })
}

fn engine_guard(eng: &mut Engine<Mem>, sp: AsId, a: u64, pages: usize, out: &mut Vec<Duration>) -> Result<(), VmmError> {
    let len = (pages * PAGE) as u64;
    sample(out, || {
        let t = Instant::now();
        done(eng.madvise(sp, a, len, MADV_GUARD_INSTALL), "MADV_GUARD_INSTALL")?;
        let dt = t.elapsed();
        done(eng.madvise(sp, a, len, MADV_GUARD_REMOVE), "MADV_GUARD_REMOVE")?;
        done(eng.madvise(sp, a, len, MADV_POPULATE_WRITE), "MADV_POPULATE_WRITE")?;
        Ok(dt)
    })
}

pub fn command(runs: u32, json: bool) -> Result<i32, VmmError> {
    let runs = runs.max(1);
    let mut mmap = Samples::new("mmap_munmap_1_page", "mmap+munmap 1 page");
    let mut mprotect = Samples::new("mprotect_split_merge", "mprotect split+merge");
    let mut guard1 = Samples::new("guard_install_1_page", "guard install 1 page");
    let mut guard512 = Samples::new("guard_install_512_pages", "guard install 512 pages");
    let mut fork = Samples::new("fork_64_mib", "fork, 64 MiB touched");
    let mut fork_empty = Vec::new();
    let fork_pages = FORK_BYTES / PAGE;
    let (rw, ro) = ((Prot::READ | Prot::WRITE).bits(), Prot::READ.bits());
    for _ in 0..runs {
        // Host forks first: nothing but the process itself, then plus 64 MiB.
        sample(&mut fork_empty, host_fork)?;
        {
            let big = HostMap::new(fork_pages)?;
            sample_n(&mut fork.host, FORK_MIN_SAMPLES, || {
                // Rewriting makes every entry writable again, so each fork
                // write-protects all of them.
                big.touch(fork_pages);
                host_fork()
            })?;
        }

        let mut eng = new_engine()?;
        let sp = new_space(&mut eng)?;

        // mmap + munmap of one page.
        sample(&mut mmap.host, || {
            let t = Instant::now();
            // SAFETY: a fresh one-page anonymous mapping, unmapped at once; no
            // other memory is affected.
            let p = unsafe {
                libc::mmap(ptr::null_mut(), PAGE, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
            };
            // SAFETY: unmaps only what the line above mapped (a no-op EINVAL if it failed).
            let r = unsafe { libc::munmap(p, PAGE) };
            let dt = t.elapsed();
            if p == libc::MAP_FAILED || r != 0 {
                return Err(host_err("mmap/munmap"));
            }
            Ok(dt)
        })?;
        sample(&mut mmap.engine, || {
            let t = Instant::now();
            let a = done(eng.mmap(sp, MmapArgs::anon(PAGE_SIZE, Prot::READ | Prot::WRITE)), "mmap")?;
            done(eng.munmap(sp, a.as_u64(), PAGE_SIZE), "munmap")?;
            Ok(t.elapsed())
        })?;

        // mprotect of the middle page of three touched ones, and back.
        {
            let three = HostMap::new(3)?;
            // SAFETY: one page into a three-page mapping: in bounds.
            let mid = unsafe { three.addr.add(PAGE) }.cast::<libc::c_void>();
            sample(&mut mprotect.host, || {
                let t = Instant::now();
                // SAFETY: protection changes on our own mapping; nothing
                // accesses it while it is read-only.
                let r1 = unsafe { libc::mprotect(mid, PAGE, libc::PROT_READ) };
                // SAFETY: as above.
                let r2 = unsafe { libc::mprotect(mid, PAGE, libc::PROT_READ | libc::PROT_WRITE) };
                let dt = t.elapsed();
                if r1 != 0 || r2 != 0 {
                    return Err(host_err("mprotect"));
                }
                Ok(dt)
            })?;
        }
        let a3 = engine_region(&mut eng, sp, 3)?;
        sample(&mut mprotect.engine, || {
            let t = Instant::now();
            done(eng.mprotect(sp, a3 + PAGE_SIZE, PAGE_SIZE, ro), "mprotect")?;
            done(eng.mprotect(sp, a3 + PAGE_SIZE, PAGE_SIZE, rw), "mprotect")?;
            Ok(t.elapsed())
        })?;
        done(eng.munmap(sp, a3, 3 * PAGE_SIZE), "munmap")?;

        // Guard regions on populated memory.
        {
            let g = HostMap::new(GUARD_PAGES)?;
            host_guard(&g, 1, &mut guard1)?;
            host_guard(&g, GUARD_PAGES, &mut guard512)?;
        }
        let ag = engine_region(&mut eng, sp, GUARD_PAGES)?;
        engine_guard(&mut eng, sp, ag, 1, &mut guard1.engine)?;
        engine_guard(&mut eng, sp, ag, GUARD_PAGES, &mut guard512.engine)?;

        // fork of a space holding only the 64 MiB, as the host process holds little else.
        let fp = new_space(&mut eng)?;
        let af = engine_region(&mut eng, fp, fork_pages)?;
        sample_n(&mut fork.engine, FORK_MIN_SAMPLES, || {
            done(eng.madvise(fp, af, FORK_BYTES as u64, MADV_POPULATE_WRITE), "MADV_POPULATE_WRITE")?;
            let t = Instant::now();
            let child = done(eng.fork(fp), "fork")?;
            let dt = t.elapsed();
            eng.destroy_space(child).map_err(|e| VmmError::Bench(format!("engine destroy_space: {e}")))?;
            Ok(dt)
        })?;
        // Timings of a broken engine would mean nothing.
        eng.check_invariants().map_err(|e| VmmError::Bench(format!("engine invariants after the bench: {e:?}")))?;
    }

    let all = [&mut mmap, &mut mprotect, &mut guard1, &mut guard512, &mut fork];
    let mut lines = vec![
        format!("vmm bench engine: engine alone vs the host kernel in this process, medians over {runs} rounds"),
        format!("(anonymous fault-around {ANON_FAULT_AROUND} pages; host regions MADV_NOHUGEPAGE; engine batches built, not applied)"),
    ];
    if cfg!(debug_assertions) {
        lines.push("(debug build: the engine figures are not meaningful; use --release)".into());
    }
    let mut ops = Vec::new();
    for s in all {
        let f = s.figure();
        lines.push(line(s.label, &f));
        ops.push(f);
    }
    let empty = median_us(&mut fork_empty);
    lines.push(format!("(host fork with nothing touched: {empty:.2} us, the fixed cost of a process)"));
    let out = EngineBench {
        bench: "engine",
        runs,
        anon_fault_around: ANON_FAULT_AROUND,
        fork_mib: FORK_BYTES >> 20,
        guard_pages: GUARD_PAGES,
        debug_build: cfg!(debug_assertions),
        host_fork_empty_us: empty,
        ops,
    };
    print(json, &out, &lines);
    Ok(0)
}
