//! `nulltrap N`: executes N `int3` instructions, then exits (a benchmark floor: each is a null ring-3 trap when IDT vector 3 returns at once).
#![no_std]
#![no_main]

use ulib::Args;

#[no_mangle]
pub fn guest_main(args: &Args) -> i32 {
    let n = args.number(1).unwrap_or(1000);
    for _ in 0..n {
        // SAFETY: int3 has no memory effects; the benchmark's IDT returns at once.
        unsafe { core::arch::asm!("int3", options(nomem, nostack)) };
    }
    0
}
