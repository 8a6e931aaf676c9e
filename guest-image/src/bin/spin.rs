//! `spin`: loops forever without a syscall or a fault (for the watchdog).
#![no_std]
#![no_main]

use ulib::Args;

#[no_mangle]
pub fn guest_main(_args: &Args) -> i32 {
    loop {
        core::hint::spin_loop();
    }
}
