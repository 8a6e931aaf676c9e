//! `pmem MODE ...`: uses a memory-window device (/dev/pmem0): `hammer ROUNDS [fork]` loops over every page (0 = forever); `chain PROCS PAGES` maps PAGES pages in PROCS processes, then the last unplugs it.
#![no_std]
#![no_main]

use ulib::{println, sys, Args};

const P: usize = sys::PAGE;
const SYS_LSEEK: usize = 8;
/// Our extension: unplug(name) (vmm/src/kernel/sys_dev.rs).
const SYS_VMM_UNPLUG: usize = 0x7f01;
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
        _ => {
            println!("usage: pmem hammer ROUNDS [fork] | pmem chain PROCS PAGES");
            2
        }
    }
}
