//! `pmem MODE ...`: uses a memory-window device (/dev/pmem0): `hammer ROUNDS [fork]` loops over every page (0 = forever); `chain PROCS PAGES` maps PAGES pages in PROCS processes, then the last unplugs it; `ckpt [UNPLUG_INDEX]` checkpoints the VM with the window mapped, then each VM writes its index into it.
//!
//! `ckpt`: before the checkpoint (docs/vmfork.md) it maps the whole window
//! and sets a parent mark (byte 1024 = 0x50). After it, the VM with index i
//! (a forked child's number; 0 in a plain run or a restore) prints which
//! index slots (byte 8*j for j < 64) are already non-zero and the parent
//! mark, then writes i+1 into slot i. The VM whose index is UNPLUG_INDEX
//! then unplugs the device and touches the window again: SIGBUS must kill it.
#![no_std]
#![no_main]

use ulib::{println, sys, Args};

const P: usize = sys::PAGE;
const SYS_LSEEK: usize = 8;
/// Our extension: unplug(name) (vmm/src/kernel/sys_dev.rs).
const SYS_VMM_UNPLUG: usize = 0x7f01;
/// Our extension: the whole-VM checkpoint (docs/vmfork.md).
const SYS_VM_CHECKPOINT: usize = 0x564d_0001;
const SLOTS: usize = 64;
const MARK_AT: usize = 1024;
const O_RDWR: usize = 2;

/// Opens /dev/pmem0 and maps `pages` of it shared (0 = all). Exits 3 when
/// the device is not there (already unplugged: ENODEV).
fn map(pages: usize) -> (usize, usize) {
    // SAFETY: plain system calls on our own descriptor and a fresh mapping.
    unsafe {
        let fd = sys::syscall6(sys::SYS_OPENAT, -100isize as usize, c"/dev/pmem0".as_ptr() as usize, O_RDWR, 0, 0, 0);
        if fd < 0 {
            println!("pmem: open /dev/pmem0 -> {fd}");
            sys::exit(3);
        }
        let size = sys::syscall6(SYS_LSEEK, fd as usize, 0, 2, 0, 0, 0);
        let len = if pages == 0 { size as usize } else { pages * P };
        let a = sys::mmap(0, len, sys::PROT_READ | sys::PROT_WRITE, sys::MAP_SHARED, fd as i32, 0);
        if a < 0 {
            println!("pmem: mmap -> {a}");
            sys::exit(3);
        }
        (a as usize, len)
    }
}

/// One round: a store and a load on every page.
fn round(a: usize, len: usize, i: usize) -> u8 {
    let mut sum = 0u8;
    let mut off = (i * 64) % P;
    while off < len {
        // SAFETY: inside our mapping; a revoked page raises SIGBUS, which kills us (the point).
        unsafe {
            core::ptr::write_volatile((a + off) as *mut u8, i as u8);
            sum = sum.wrapping_add(core::ptr::read_volatile((a + off) as *const u8));
        }
        off += P;
    }
    sum
}

fn hammer(a: usize, len: usize, rounds: usize) {
    let mut i = 0usize;
    while rounds == 0 || i < rounds {
        core::hint::black_box(round(a, len, i));
        i += 1;
    }
}

#[no_mangle]
pub fn guest_main(args: &Args) -> i32 {
    match args.get(1) {
        Some(b"hammer") => {
            let rounds = args.number(2).unwrap_or(0) as usize;
            let (a, len) = map(0);
            println!("pmem: mapped {len} bytes at {a:#x}");
            if args.get(3) == Some(b"fork") {
                let pid = sys::fork();
                if pid == 0 {
                    hammer(a, len, rounds);
                    println!("pmem: child loop finished");
                    sys::exit(0);
                }
                let (_, status) = sys::wait(pid);
                println!("pmem: child status {status:#x}");
            }
            hammer(a, len, rounds);
            println!("pmem: loop finished");
            0
        }
        Some(b"chain") => {
            let procs = args.number(2).unwrap_or(1).max(1) as usize;
            let pages = args.number(3).unwrap_or(1).max(1) as usize;
            let (a, len) = map(pages);
            core::hint::black_box(round(a, len, 0));
            for k in 1..procs {
                let pid = sys::fork();
                if pid != 0 {
                    // Process k-1 waits; k goes on (touching its copy of the mapping).
                    sys::wait(pid);
                    core::hint::black_box(round(a, len, k));
                    sys::exit(0);
                }
                core::hint::black_box(round(a, len, k));
            }
            // The last process: every process now maps the device; unplug it.
            // SAFETY: a plain system call with a static string.
            let r = unsafe { sys::syscall6(SYS_VMM_UNPLUG, c"pmem0".as_ptr() as usize, 0, 0, 0, 0, 0) };
            println!("pmem: unplug -> {r}");
            0
        }
        Some(b"ckpt") => ckpt(args.number(2)),
        _ => {
            println!("usage: pmem hammer ROUNDS [fork] | pmem chain PROCS PAGES | pmem ckpt [UNPLUG_INDEX]");
            2
        }
    }
}

fn ckpt(unplug_index: Option<u64>) -> i32 {
    let (a, len) = map(0);
    if len < 2 * P {
        println!("pmem: the window must hold at least 2 pages");
        return 2;
    }
    // SAFETY: inside our shared mapping of the window.
    unsafe { core::ptr::write_volatile((a + MARK_AT) as *mut u8, 0x50) };
    println!("pmem: mapped {len} bytes, parent mark set");
    // SAFETY: no memory is involved.
    let r = unsafe { sys::syscall6(SYS_VM_CHECKPOINT, 0, 0, 0, 0, 0, 0) };
    let index = if r == -38 { 0 } else { r };
    if !(0..SLOTS as isize).contains(&index) {
        println!("pmem: checkpoint -> {r}");
        return 1;
    }
    let i = index as usize;
    let mut seen = [0usize; SLOTS];
    let mut n = 0;
    for (j, s) in seen.iter_mut().enumerate() {
        // SAFETY: inside the mapping.
        if unsafe { core::ptr::read_volatile((a + 8 * j) as *const u8) } != 0 {
            *s = j;
            n += 1;
        }
    }
    // SAFETY: inside the mapping.
    let mark = unsafe { core::ptr::read_volatile((a + MARK_AT) as *const u8) };
    ulib::print!("pmem: index {i} sees [");
    for (k, j) in seen[..n].iter().enumerate() {
        ulib::print!("{}{j}", if k > 0 { " " } else { "" });
    }
    println!("] mark {mark:#x}");
    // SAFETY: inside the mapping.
    unsafe { core::ptr::write_volatile((a + 8 * i) as *mut u8, i as u8 + 1) };
    // SAFETY: as above.
    if unsafe { core::ptr::read_volatile((a + 8 * i) as *const u8) } != i as u8 + 1 {
        println!("pmem: index {i}: slot reads back wrong");
        return 1;
    }
    println!("pmem: index {i} wrote slot {i}");
    if unplug_index == Some(i as u64) {
        // SAFETY: a plain system call with a static string.
        let r = unsafe { sys::syscall6(SYS_VMM_UNPLUG, c"pmem0".as_ptr() as usize, 0, 0, 0, 0, 0) };
        println!("pmem: index {i} unplug -> {r}");
        // SAFETY: a revoked page raises SIGBUS, which kills us (the point).
        let v = unsafe { core::ptr::read_volatile((a + 8 * i) as *const u8) };
        println!("pmem: index {i} still reads {v} after unplug");
        return 1;
    }
    0
}
