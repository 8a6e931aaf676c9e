//! `vmm bench nonlinear`: remap 10,000 scattered pages of a 64 MiB object
//! inside one mapping, then touch them; the engine's true nonlinear mapping
//! (MAP_PAGEPROT) against the host kernel's emulation doing the same, in the
//! same run.
//!
//! Why: Linux since 4.0 emulates remap_file_pages with one VMA per remapped
//! piece (an mmap(MAP_FIXED) each), which is what the seed's nonlinear
//! mappings were meant to avoid. Reported: VMAs covering the mapping after the
//! remaps (target: 1 for the engine), the time of all remaps (target: engine
//! <= host) and the time of touching every remapped page once.
//!
//! Set-up, identical on both sides: a 64 MiB shmem object (memfd) whose pages
//! all exist (written once: page i starts with the little-endian u32 i), one
//! MAP_SHARED mapping of all of it, and 10,000 distinct virtual pages, each
//! remapped to a pseudo-random offset (a fixed LCG, so the same in every run).
//! Engine side: the engine over plain host memory (as `vmm bench engine`),
//! no VM; a remap's time includes consuming its PTE batch. Touch: on the host
//! a load from each page (the emulation populated them: MAP_POPULATE); in the
//! engine `sim::SimCpu` reads through the guest page tables exactly as the MMU
//! would, faulting into the engine where an entry is not present. Every
//! touched value is checked against the offset it should show, on both sides.
//! Each figure is the median over `runs` rounds.
//!
//! Owns: the set-up, the host-side raw libc calls (hence `unsafe`) and the output.

use super::{median_us, print};
use crate::error::VmmError;
use guest_mm::ops::map;
use guest_mm::ops::mmap::{MapFile, MmapArgs};
use guest_mm::sim::SimCpu;
use guest_mm::{Engine, EngineConfig, FaultAround, Frame, Limits, VirtAddr, PAGE_SIZE};
use serde::Serialize;
use std::time::{Duration, Instant};
use vm_memory::{GuestAddress, GuestMemoryMmap};

type Mem = GuestMemoryMmap<()>;

const PAGE: usize = PAGE_SIZE as usize;
const OBJECT_BYTES: usize = 64 << 20;
const OBJECT_PAGES: usize = OBJECT_BYTES / PAGE;
const REMAPS: usize = 10_000;
/// Guest RAM for the engine: the object's pages, tables and headroom.
const ENGINE_RAM: usize = 96 << 20;

#[derive(Serialize)]
struct NonlinearBench {
    bench: &'static str,
    runs: u32,
    object_mib: usize,
    remapped_pages: usize,
    debug_build: bool,
    engine_vmas: usize,
    host_vmas: usize,
    engine_remap_ms: f64,
    host_remap_ms: f64,
    /// engine / host; target <= 1.
    remap_ratio: f64,
    engine_touch_ms: f64,
    host_touch_ms: f64,
    touch_ratio: f64,
}

/// Which virtual page gets which offset: distinct pages, pseudo-random offsets.
fn plan() -> Vec<(usize, usize)> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (x >> 33) as usize
    };
    let mut pages: Vec<usize> = (0..OBJECT_PAGES).collect();
    for i in (1..pages.len()).rev() {
        pages.swap(i, next() % (i + 1));
    }
    pages.truncate(REMAPS);
    pages.into_iter().map(|p| (p, next() % OBJECT_PAGES)).collect()
}

fn err(what: &str) -> VmmError {
    VmmError::Bench(format!("bench nonlinear: {what}"))
}

struct Round {
    vmas: usize,
    remap: Duration,
    touch: Duration,
}

fn engine_round(plan: &[(usize, usize)]) -> Result<Round, VmmError> {
    let mem = Mem::from_ranges(&[(GuestAddress(0), ENGINE_RAM)]).map_err(|e| VmmError::GuestMemory(e.to_string()))?;
    let config = EngineConfig {
        pool_first: Frame::new(1),
        pool_frames: (ENGINE_RAM / PAGE) as u64 - 1,
        kernel_entries: vec![],
        fault_around: FaultAround::default(),
        limits: Limits::default(),
    };
    let mut eng = Engine::new(mem, config).map_err(|e| err(&e.to_string()))?;
    let mut cpu = SimCpu::new();
    let (r, u) = eng.create_space().split();
    cpu.mmu.apply(eng.memory(), u);
    let s = r.map_err(|e| err(&e.to_string()))?;
    let obj = eng.create_memfd("bench");
    let (r, u) = eng.truncate(obj, OBJECT_BYTES as u64).split();
    cpu.mmu.apply(eng.memory(), u);
    r.map_err(|e| err(&format!("ftruncate {e:?}")))?;
    let mut page = vec![0u8; PAGE];
    for i in 0..OBJECT_PAGES {
        page[..4].copy_from_slice(&(i as u32).to_le_bytes());
        eng.write_object(obj, (i * PAGE) as u64, &page).map_err(|e| err(&format!("write {e:?}")))?;
    }
    let args = MmapArgs {
        addr: 0,
        len: OBJECT_BYTES as u64,
        prot: 3,
        flags: map::SHARED | map::PAGEPROT,
        file: MapFile::Open { obj, read: true, write: true },
        offset: 0,
    };
    let (r, u) = eng.mmap(s, args).split();
    cpu.mmu.apply(eng.memory(), u);
    let base = r.map_err(|e| err(&format!("mmap {e:?}")))?;
    let t = Instant::now();
    for &(p, off) in plan {
        let (r, u) = eng.remap_file_pages(s, base.as_u64() + (p * PAGE) as u64, PAGE_SIZE, 0, off as u64, 0).split();
        let _ = u.into_parts();
        r.map_err(|e| err(&format!("remap {e:?}")))?;
    }
    let remap = t.elapsed();
    let vmas = eng.space(s).map_or(0, |sp| sp.vmas().overlapping(base, base.add(OBJECT_BYTES as u64)).count());
    // The batches were taken apart above, not applied: the simulated MMU
    // starts from the tables as the engine left them.
    let mut cpu = SimCpu::new();
    let t = Instant::now();
    for &(p, off) in plan {
        let va: VirtAddr = base.add((p * PAGE) as u64);
        let b = cpu.read_u8(&mut eng, s, va).map_err(|e| err(&e.to_string()))?.map_err(|f| err(&format!("touch: {f}")))?;
        if b != off as u8 {
            return Err(err(&format!("engine page {p} shows {b:#x}, expected offset {off}")));
        }
    }
    let touch = t.elapsed();
    Ok(Round { vmas, remap, touch })
}

fn host_round(plan: &[(usize, usize)]) -> Result<Round, VmmError> {
    // SAFETY: memfd_create with a NUL-terminated name; the fd is closed below.
    let fd = unsafe { libc::memfd_create(c"bench-nonlinear".as_ptr(), 0) };
    if fd < 0 {
        return Err(err("memfd_create"));
    }
    let mut page = vec![0u8; PAGE];
    let mut ok = true;
    for i in 0..OBJECT_PAGES {
        page[..4].copy_from_slice(&(i as u32).to_le_bytes());
        // SAFETY: writes PAGE bytes from a live buffer to our own fd.
        ok &= unsafe { libc::pwrite(fd, page.as_ptr().cast(), PAGE, (i * PAGE) as libc::off_t) } == PAGE as isize;
    }
    // SAFETY: a fresh shared mapping of our own memfd; unmapped below.
    let base = unsafe { libc::mmap(std::ptr::null_mut(), OBJECT_BYTES, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd, 0) };
    if !ok || base == libc::MAP_FAILED {
        // SAFETY: closing our own fd.
        unsafe { libc::close(fd) };
        return Err(err("host set-up"));
    }
    let base = base as usize;
    let t = Instant::now();
    let mut failed = false;
    for &(p, off) in plan {
        // SAFETY: remaps pages inside our own mapping; nothing else uses it.
        failed |= unsafe { libc::syscall(libc::SYS_remap_file_pages, base + p * PAGE, PAGE, 0, off, 0) } != 0;
    }
    let remap = t.elapsed();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let vmas = maps
        .lines()
        .filter_map(|l| l.split('-').next().and_then(|s| usize::from_str_radix(s, 16).ok()))
        .filter(|s| *s >= base && *s < base + OBJECT_BYTES)
        .count();
    let t = Instant::now();
    let mut bad = None;
    for &(p, off) in plan {
        // SAFETY: the page lies in our mapping, which stays mapped until the munmap below.
        let b = unsafe { std::ptr::read_volatile((base + p * PAGE) as *const u8) };
        if b != off as u8 {
            bad = Some((p, b, off));
        }
    }
    let touch = t.elapsed();
    // SAFETY: unmapping and closing what we created above.
    unsafe {
        libc::munmap(base as *mut libc::c_void, OBJECT_BYTES);
        libc::close(fd);
    }
    if failed {
        return Err(err("host remap_file_pages failed"));
    }
    if let Some((p, b, off)) = bad {
        return Err(err(&format!("host page {p} shows {b:#x}, expected offset {off}")));
    }
    Ok(Round { vmas, remap, touch })
}

pub fn command(runs: u32, json: bool) -> Result<i32, VmmError> {
    let plan = plan();
    let (mut er, mut et, mut hr, mut ht) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut ev, mut hv) = (0, 0);
    for _ in 0..runs.max(1) {
        let h = host_round(&plan)?;
        let e = engine_round(&plan)?;
        hv = h.vmas;
        ev = e.vmas;
        hr.push(h.remap);
        ht.push(h.touch);
        er.push(e.remap);
        et.push(e.touch);
    }
    let ms = |v: &mut Vec<Duration>| median_us(v) / 1000.0;
    let (erm, etm, hrm, htm) = (ms(&mut er), ms(&mut et), ms(&mut hr), ms(&mut ht));
    let out = NonlinearBench {
        bench: "nonlinear",
        runs,
        object_mib: OBJECT_BYTES >> 20,
        remapped_pages: REMAPS,
        debug_build: cfg!(debug_assertions),
        engine_vmas: ev,
        host_vmas: hv,
        engine_remap_ms: erm,
        host_remap_ms: hrm,
        remap_ratio: erm / hrm,
        engine_touch_ms: etm,
        host_touch_ms: htm,
        touch_ratio: etm / htm,
    };
    let lines = vec![
        format!("nonlinear: {REMAPS} scattered pages of a {} MiB object remapped in one mapping", OBJECT_BYTES >> 20),
        format!("  VMAs   engine {ev:>6}        host kernel {hv:>6}            (target: engine 1)"),
        format!("  remap  engine {erm:>8.2} ms   host kernel {hrm:>8.2} ms   = {:.2}x (target <= 1.0)", erm / hrm),
        format!("  touch  engine {etm:>8.2} ms   host kernel {htm:>8.2} ms   = {:.2}x", etm / htm),
    ];
    print(json, &out, &lines);
    Ok(0)
}
