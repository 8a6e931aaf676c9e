//! `segv`: maps a read-only page, reads it (the shared zero page), then writes
//! to it. Linux answers with SIGSEGV, si_code SEGV_ACCERR, at that address.
#![no_std]
#![no_main]

use ulib::{println, sys, Args};

#[no_mangle]
pub fn guest_main(_args: &Args) -> i32 {
    let base = sys::mmap_anon(sys::PAGE, sys::PROT_READ);
    if base < 0 {
        println!("segv: mmap failed: errno {}", -base);
        return 1;
    }
    let p = base as *mut u8;
    // SAFETY: the page is mapped readable.
    let v = unsafe { p.read_volatile() };
    println!("segv: read {v} from the read-only page at {base:#x}; now writing to it");
    // SAFETY: deliberately faults: the mapping is not writable.
    unsafe { p.write_volatile(1) };
    println!("segv: the write to a read-only page succeeded (this is a bug)");
    1
}
