//! `tablestorm ROUNDS REGIONS [SLACK]`: recycles page-table frames across processes
//! under frame pressure and checks that no stale translation ever shows.
//!
//! The hazard (docs/ARCHITECTURE.md, "How live PTE changes reach the
//! guest"): KVM may keep its shadow of a page-table frame after the process
//! that used it exits; if the frame becomes a table again and KVM reuses
//! that shadow, ring 3 sees the old process's entries. The engine cleans such
//! frames with guest stores; this program makes it happen as often as it can:
//! - a memfd of REGIONS + 1 pages holds a tag per page (never zero);
//! - the parent fills the rest of guest RAM (a child first finds how much is
//!   free with MADV_POPULATE_WRITE until ENOMEM; the parent then populates
//!   that much, MADV_DONTFORK so children do not copy it), keeping REGIONS +
//!   SLACK pages free (default SLACK 32: a child's fork, stack copies and
//!   upper tables), so table allocations must take recycled frames;
//! - each round, child A maps memfd pages i and i+1 at slots 0 and 1 of its
//!   own 2 MiB region i (one leaf table each), reads every tag (present
//!   entries that KVM shadows) and exits without unmapping (its tables are
//!   freed as KVM last saw them); then child B maps fresh anonymous memory at
//!   slots 0 and 1 of REGIONS other regions (tables that must come from A's)
//!   and reads it: anything but zero is a stale translation to A's memfd page
//!   (B only reads: the zero page needs no frames). The next round swaps the
//!   areas.
//!
//! Exit status 0 when every read was right, 3 when a stale value was seen.
#![no_std]
#![no_main]

use ulib::{println, sys, Args};

const P: usize = sys::PAGE;
const REGION: usize = 2 << 20;
const MADV_POPULATE_WRITE: usize = 23;

fn tag(i: usize) -> u8 {
    0x80 | (i % 127) as u8
}

/// Where region `i` of child kind `b` starts in `round`: A and B use
/// disjoint areas, so B's tables are new tables, never A's own.
fn region(round: usize, b: bool, i: usize) -> usize {
    let area = if round.is_multiple_of(2) != b { 0x1000_0000_0000 } else { 0x2000_0000_0000 };
    area + ((round / 2) % 4) * 0x40_0000_0000 + i * REGION
}

/// Child A: maps memfd pages i and i+1 at slots 0 and 1 of region i, reads
/// both tags; exits without unmapping.
fn child_a(round: usize, regions: usize, fd: i32) -> i32 {
    for i in 0..regions {
        let va = region(round, false, i);
        // SAFETY: a fresh fixed mapping of memfd pages i, i+1, in an unused region.
        let r = unsafe { sys::mmap(va, 2 * P, sys::PROT_READ, sys::MAP_SHARED | sys::MAP_FIXED, fd, i * P) };
        if r != va as isize {
            println!("tablestorm: round {round}: A's mmap of region {i} -> {r}");
            return 1;
        }
        for k in 0..2 {
            // SAFETY: mapped just above.
            let v = unsafe { ((va + k * P) as *const u8).read_volatile() };
            if v != tag(i + k) {
                println!("tablestorm: round {round}: A reads {v:#x} in region {i}, memfd page {} holds {:#x}: STALE", i + k, tag(i + k));
                return 3;
            }
        }
    }
    0
}

/// Child B: two fresh anonymous pages per region, at the slots A used; both
/// must read zero. The first read faults (KVM links its shadow of the table
/// frame and refreshes that slot); the second goes through whatever KVM
/// still holds for slot 1.
fn child_b(round: usize, regions: usize) -> i32 {
    let mut stale = 0;
    for i in 0..regions {
        let va = region(round, true, i);
        // SAFETY: a fresh fixed mapping in an unused region.
        let r = unsafe {
            sys::mmap(va, 2 * P, sys::PROT_READ | sys::PROT_WRITE, sys::MAP_PRIVATE | sys::MAP_ANONYMOUS | sys::MAP_FIXED, -1, 0)
        };
        if r != va as isize {
            println!("tablestorm: round {round}: B's mmap of region {i} -> {r}");
            return 1;
        }
        for k in 0..2 {
            // SAFETY: mapped just above.
            let v = unsafe { ((va + k * P) as *const u8).read_volatile() };
            if v != 0 {
                if stale < 4 {
                    println!("tablestorm: round {round}: B reads {v:#x} at slot {k} of fresh anonymous region {i}: STALE (an old process's page)");
                }
                stale += 1;
            }
        }
    }
    if stale > 0 {
        println!("tablestorm: round {round}: {stale} stale reads in B");
        return 3;
    }
    0
}

fn run_child(f: impl FnOnce() -> i32) -> i32 {
    let pid = sys::fork();
    if pid == 0 {
        sys::exit(f());
    }
    if pid < 0 {
        println!("tablestorm: fork -> {pid}");
        return 1;
    }
    let (r, status) = sys::wait(pid);
    if r != pid {
        println!("tablestorm: wait -> {r}");
        return 1;
    }
    if status & 0x7f != 0 {
        println!("tablestorm: child killed by signal {}", status & 0x7f);
        return 1;
    }
    (status >> 8) & 0xff
}

#[no_mangle]
pub fn guest_main(args: &Args) -> i32 {
    let rounds = args.number(1).unwrap_or(8) as usize;
    let regions = (args.number(2).unwrap_or(128) as usize).clamp(1, 2048);
    let slack = regions + args.number(3).unwrap_or(32) as usize;
    // The memfd of tags.
    // SAFETY: the name is a NUL-terminated static string.
    let fd = unsafe { sys::syscall6(sys::SYS_MEMFD_CREATE, c"tags".as_ptr() as usize, 0, 0, 0, 0, 0) } as i32;
    // SAFETY: no memory is involved.
    let t = unsafe { sys::syscall6(sys::SYS_FTRUNCATE, fd as usize, (regions + 1) * P, 0, 0, 0, 0) };
    if fd < 0 || t != 0 {
        println!("tablestorm: memfd -> {fd}, ftruncate -> {t}");
        return 1;
    }
    // SAFETY: a fresh mapping chosen by the kernel.
    let tags = unsafe { sys::mmap(0, (regions + 1) * P, sys::PROT_READ | sys::PROT_WRITE, sys::MAP_SHARED, fd, 0) };
    if tags < 0 {
        println!("tablestorm: mmap of the tags -> {tags}");
        return 1;
    }
    for i in 0..=regions {
        // SAFETY: inside the mapping.
        unsafe { (tags as *mut u8).add(i * P).write_volatile(tag(i)) };
    }
    // SAFETY: the mapping is ours and no longer used.
    unsafe { sys::munmap(tags as usize, (regions + 1) * P) };
    // How much is free: a child populates until ENOMEM (or is killed for
    // lack of memory), reporting its progress in a shared page; its memory
    // comes back when it ends. Filling to exhaustion here would evict our
    // own text pages and leave nothing to fault them back in.
    // SAFETY: a fresh shared page chosen by the kernel.
    let report = unsafe { sys::mmap(0, P, sys::PROT_READ | sys::PROT_WRITE, sys::MAP_SHARED | sys::MAP_ANONYMOUS, -1, 0) };
    if report < 0 {
        println!("tablestorm: mmap of the report page -> {report}");
        return 1;
    }
    let report = report as *mut usize;
    // SAFETY: the shared page is ours.
    unsafe { report.write_volatile(0) };
    let fill_len = 1 << 30;
    let pid = sys::fork();
    if pid == 0 {
        // NORESERVE: more than the RAM may be mapped (overcommit), populated until ENOMEM.
        // SAFETY: a fresh mapping the kernel places.
        let probe = unsafe {
            sys::mmap(0, fill_len, sys::PROT_READ | sys::PROT_WRITE, sys::MAP_PRIVATE | sys::MAP_ANONYMOUS | sys::MAP_NORESERVE, -1, 0)
        } as usize;
        let mut done = 0;
        // SAFETY: our own fresh mapping.
        while done < fill_len && unsafe { sys::madvise(probe + done, 16 * P, MADV_POPULATE_WRITE) } == 0 {
            done += 16 * P;
            // SAFETY: the shared page.
            unsafe { report.write_volatile(done / P) };
        }
        sys::exit(0);
    }
    sys::wait(pid);
    // SAFETY: the shared page.
    let free = unsafe { report.read_volatile() };
    if free < slack + 64 {
        println!("tablestorm: only {free} pages free, {slack} needed as slack");
        return 1;
    }
    // SAFETY: a fresh mapping the kernel places.
    let fill = unsafe {
        sys::mmap(0, fill_len, sys::PROT_READ | sys::PROT_WRITE, sys::MAP_PRIVATE | sys::MAP_ANONYMOUS | sys::MAP_NORESERVE, -1, 0)
    } as usize;
    // SAFETY: our own fresh mapping.
    unsafe { sys::madvise(fill, fill_len, sys::MADV_DONTFORK) };
    let target = (free - slack) * P;
    let mut filled = 0;
    while filled < target {
        // SAFETY: as above.
        if unsafe { sys::madvise(fill + filled, (16 * P).min(target - filled), MADV_POPULATE_WRITE) } != 0 {
            break;
        }
        filled += (16 * P).min(target - filled);
    }
    println!("tablestorm: filled {} pages; {rounds} rounds of {regions} regions", filled / P);
    for round in 0..rounds {
        let a = run_child(|| child_a(round, regions, fd));
        if a != 0 {
            return a;
        }
        let b = run_child(|| child_b(round, regions));
        if b != 0 {
            return b;
        }
    }
    println!("tablestorm: {rounds} rounds, no stale translation");
    0
}
