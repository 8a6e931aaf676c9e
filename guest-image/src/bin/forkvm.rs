//! `forkvm [MIB] [DIRTY_KIB] [check|pause|bench]`: fills MIB MiB, checkpoints the whole VM, then checksums and dirties memory.
//!
//! Before the checkpoint it maps MIB MiB (default 4) and fills every word
//! with a pattern. The checkpoint call (docs/vmfork.md) returns this VM's
//! index: a forked child's number, the reset loop's iteration, 0 in a plain
//! `vmm run` (natively on Linux the call fails with ENOSYS and we use 0).
//! Then, in `check` mode (the default), it prints a checksum of the whole
//! region *before* writing (equal in every child and every reset iteration
//! iff none of them sees another's writes), writes DIRTY_KIB KiB (default
//! 64) with an index-specific byte, verifies them, unmaps them (a page-table
//! change after the checkpoint) and exits 0. `pause` does
//! the same and then checkpoints again (the VMM keeps it there, alive);
//! `bench` skips the checksum (for `vmm bench fork`) and pauses after writing.
#![no_std]
#![no_main]

use ulib::{println, probe, sys, Args};

/// A page only mapped after the checkpoint (see guest_main).
const FRESH: u64 = 0x5000_0000_0000;

/// Linux's table ends below 1024; this number is ours (see docs/vmfork.md).
const SYS_VM_CHECKPOINT: usize = 0x564d_0001;

fn checkpoint() -> isize {
    // SAFETY: no memory is involved.
    unsafe { sys::syscall6(SYS_VM_CHECKPOINT, 0, 0, 0, 0, 0, 0) }
}

fn pattern(i: usize) -> u64 {
    (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5bd1_e995
}

fn checksum(words: &[u64]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for w in words {
        h = (h ^ w).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[derive(PartialEq, Eq)]
enum Mode {
    Check,
    Pause,
    Bench,
}

#[no_mangle]
pub fn guest_main(args: &Args) -> i32 {
    let mib = args.number(1).unwrap_or(4) as usize;
    let dirty_kib = args.number(2).unwrap_or(64) as usize;
    let mode = match args.get(3) {
        None | Some(b"check") => Mode::Check,
        Some(b"pause") => Mode::Pause,
        Some(b"bench") => Mode::Bench,
        Some(_) => {
            println!("forkvm: mode must be check, pause or bench");
            return 2;
        }
    };
    let len = mib << 20;
    if len == 0 || dirty_kib << 10 > len {
        println!("forkvm: need 0 < DIRTY_KIB <= MIB * 1024");
        return 2;
    }
    let base = sys::mmap_anon(len, sys::PROT_READ | sys::PROT_WRITE);
    if base < 0 {
        println!("forkvm: mmap of {mib} MiB failed: errno {}", -base);
        return 1;
    }
    // SAFETY: the mapping covers `len` bytes, is 8-byte aligned, and is ours alone.
    let words = unsafe { core::slice::from_raw_parts_mut(base as *mut u64, len / 8) };
    for (i, w) in words.iter_mut().enumerate() {
        *w = pattern(i);
    }
    println!("forkvm: prepared {mib} MiB");
    let r = checkpoint();
    let index = if r == -38 { 0 } else { r };
    if index < 0 {
        println!("forkvm: checkpoint failed: errno {}", -index);
        return 1;
    }
    if mode != Mode::Bench {
        println!("forkvm: index {index} checksum {:016x}", checksum(words));
        // A page no run has mapped before this point must fault; then map it.
        // A reset that left KVM's shadow of a previous run's mapping alive
        // would let this load succeed (vmfork::reset, ShadowFlush).
        if probe::install() != 0 {
            println!("forkvm: cannot install the fault probe");
            return 1;
        }
        if let Ok(v) = probe::load(FRESH) {
            println!("forkvm: index {index}: {FRESH:#x} reads {v} before anything mapped it (stale translation)");
            return 1;
        }
        // SAFETY: FRESH is a fixed address this program uses for nothing else.
        let p = unsafe {
            sys::mmap(
                FRESH as usize,
                sys::PAGE,
                sys::PROT_READ | sys::PROT_WRITE,
                sys::MAP_PRIVATE | sys::MAP_ANONYMOUS | sys::MAP_FIXED,
                -1,
                0,
            )
        };
        // Read only: the engine maps the shared zero page, which no reset
        // reverts, so only the page tables say whether FRESH is mapped.
        if p as u64 != FRESH || probe::load(FRESH) != Ok(0) {
            println!("forkvm: index {index}: cannot map and read {FRESH:#x}");
            return 1;
        }
    }
    let dirty = dirty_kib << 10;
    // SAFETY: `dirty` <= `len`; the region is ours.
    let bytes = unsafe { core::slice::from_raw_parts_mut(base as *mut u8, dirty) };
    let mark = (index as u8).wrapping_add(1);
    for b in bytes.iter_mut() {
        *b = mark;
    }
    if let Some(at) = bytes.iter().position(|b| *b != mark) {
        println!("forkvm: index {index}: byte {at} reads back wrong");
        return 1;
    }
    if mode != Mode::Bench {
        println!("forkvm: index {index} wrote {dirty_kib} KiB");
        // Change the page tables after the checkpoint too: a reset that left
        // KVM's shadow of them stale would show in the next run.
        // SAFETY: the first `dirty` bytes are ours and no longer used.
        if unsafe { sys::munmap(base as usize, dirty) } != 0 {
            println!("forkvm: munmap failed");
            return 1;
        }
    }
    if mode != Mode::Check {
        checkpoint();
    }
    0
}
