//! `protect`: writes a page, makes it read-only with mprotect, writes again.
//!
//! The second write must fault (SIGSEGV, SEGV_ACCERR). It proves that a change
//! to a *present* PTE reaches the MMU: on our host KVM ignores host writes to a
//! present PTE, so the engine's update batch must be applied by the guest shim.
#![no_std]
#![no_main]

use ulib::{println, sys, Args};

#[no_mangle]
pub fn guest_main(_args: &Args) -> i32 {
    let base = sys::mmap_anon(sys::PAGE, sys::PROT_READ | sys::PROT_WRITE);
    if base < 0 {
        println!("protect: mmap failed: errno {}", -base);
        return 1;
    }
    let p = base as *mut u8;
    // SAFETY: the page is mapped writable.
    unsafe { p.write_volatile(7) };
    // SAFETY: the page is ours; nothing else references it.
    let r = unsafe { sys::mprotect(base as usize, sys::PAGE, sys::PROT_READ) };
    if r != 0 {
        println!("protect: mprotect failed: {r}");
        return 1;
    }
    // SAFETY: the page is readable.
    let v = unsafe { p.read_volatile() };
    println!("protect: page at {base:#x} holds {v} and is now read-only; writing to it");
    // SAFETY: deliberately faults.
    unsafe { p.write_volatile(8) };
    println!("protect: the write went through: the PTE change did not reach the MMU");
    1
}
