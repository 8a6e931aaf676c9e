//! `exit N`: exits with status N (default 0).
#![no_std]
#![no_main]

use ulib::Args;

#[no_mangle]
pub fn guest_main(args: &Args) -> i32 {
    match args.get(1) {
        None => 0,
        Some(_) => args.number(1).unwrap_or(255) as i32,
    }
}
