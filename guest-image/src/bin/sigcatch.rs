//! `sigcatch`: mprotect a written page read-only, catch the SIGSEGV of the next write in a handler that returns, then make it writable again.
#![no_std]
#![no_main]

use ulib::probe;
use ulib::{println, sys, Args};

#[no_mangle]
pub fn guest_main(_args: &Args) -> i32 {
    println!("sigcatch: handler -> {}", probe::install());
    let a = sys::mmap_anon(sys::PAGE, sys::PROT_READ | sys::PROT_WRITE) as usize;
    println!("sigcatch: first write -> {:?}", probe::store(a as u64, 7).is_ok());
    // SAFETY: the page is ours.
    println!("sigcatch: mprotect read-only -> {}", unsafe { sys::mprotect(a, sys::PAGE, sys::PROT_READ) });
    match probe::store(a as u64, 8) {
        Ok(()) => println!("sigcatch: write went through"),
        Err(f) => println!("sigcatch: caught {}/{} at page offset {}", f.name().0, f.name().1, f.addr as usize - a),
    }
    println!("sigcatch: still running, page holds {:?}", probe::load(a as u64).ok());
    // SAFETY: as above.
    println!("sigcatch: mprotect read-write -> {}", unsafe { sys::mprotect(a, sys::PAGE, sys::PROT_READ | sys::PROT_WRITE) });
    println!("sigcatch: write a ret instruction -> {:?}", probe::store(a as u64, 0xc3).is_ok());
    match probe::exec(a as u64) {
        Ok(()) => println!("sigcatch: executing a data page went through"),
        Err(f) => println!("sigcatch: exec of a data page {}/{} at page offset {}", f.name().0, f.name().1, f.addr as usize - a),
    }
    // SAFETY: as above.
    println!("sigcatch: mprotect read-exec -> {}", unsafe { sys::mprotect(a, sys::PAGE, sys::PROT_READ | sys::PROT_EXEC) });
    println!("sigcatch: exec now -> {:?}", probe::exec(a as u64).map_err(|f| f.name()));
    println!("sigcatch: unmapped read -> {:?}", probe::load(8).map_err(|f| f.name()));
    0
}
