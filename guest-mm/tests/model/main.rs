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
//! the engine must pass `check_invariants()`, its VMAs must be the model's
//! and uniform in everything the model tracks per page, and (in most cases, see `Sweep`)
//! every page of every process must read through the simulated MMU exactly as
//! the model predicts: the value, or the signal with its si_code. Each case
//! ends with a pwrite to every memfd page, a write to every page of every
//! process, read-backs after both, and a teardown that must return every frame.
//!
//! The model decides VMA boundaries itself (`vmas`: Linux's split and merge
//! rules, anon_vmas and VM_ACCOUNT included), and the decisions that depend
//! on them (mremap's EFAULT when a range crosses the end of a VMA, in-place
//! expansion, per-VMA population in mprotect) are made from its own state;
//! after every step the engine's VMA list must equal the model's. Two engine
//! divergences from Linux were found this way (mlock-merge-after-sigbus.scn,
//! mremap-dontunmap-no-merge.scn).
//!
//! A failure prints the steps run so far with their results, then proptest's
//! minimal failing case, and is saved in main.proptest-regressions (replayed
//! first on every run). Cases come from a fixed seed and from a rotating one,
//! both printed (common::seeds). `MODEL_LOG=1` prints the steps of every case.
#[path = "../common/mod.rs"]
mod common;
mod ops;
mod reference;
mod run;
mod vmas;

use common::seeds;
use common::*;
use guest_mm::ops::map;
use guest_mm::ops::mlock::MLOCK_ONFAULT;
use guest_mm::ops::mmap::{MapFile, MmapArgs};
use guest_mm::sim::SimCpu;
use guest_mm::vma::Prot;
use guest_mm::{AsId, Engine, ObjectId, VirtAddr, PAGE_SIZE};
use ops::{case_strategy, Case, Sweep};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use run::Run;
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

/// Cases per run: from the fixed seed, and from a rotating one (see common::seeds).
const FIXED_CASES: u32 = 3000;
const ROTATING_CASES: u32 = 1000;

proptest! {
    #![proptest_config(seeds::config("random_operation_sequences", "fixed", seeds::FIXED_SEED, seeds::cases(FIXED_CASES)))]

    #[test]
    fn random_operation_sequences_match_the_page_model(case in case_strategy()) {
        run_case(&case)?;
    }
}

proptest! {
    #![proptest_config(seeds::config("random_operation_sequences", "rotating", seeds::rotating_seed(), seeds::cases(ROTATING_CASES)))]

    #[test]
    fn random_operation_sequences_from_a_new_seed_match_the_page_model(case in case_strategy()) {
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
