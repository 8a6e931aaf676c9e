//! `hello`: prints a greeting through write(1) and exits 0.
#![no_std]
#![no_main]

use ulib::{println, sys, Args};

#[no_mangle]
pub fn guest_main(_args: &Args) -> i32 {
    let pid = sys::getpid();
    println!("Hello from ring 3 of the microVM (pid {pid}).");
    0
}
