//! `touch N`: maps N fresh anonymous pages and writes one byte to each, so that
//! every page is a demand-zero fault; then checks what it wrote.
#![no_std]
#![no_main]

use ulib::{println, sys, Args};

#[no_mangle]
pub fn guest_main(args: &Args) -> i32 {
    let n = args.number(1).unwrap_or(16) as usize;
    if n == 0 {
        println!("touched 0 pages");
        return 0;
    }
    let Some(len) = n.checked_mul(sys::PAGE) else {
        println!("touch: {n} pages is too many");
        return 2;
    };
    let base = sys::mmap_anon(len, sys::PROT_READ | sys::PROT_WRITE);
    if base < 0 {
        println!("touch: mmap of {n} pages failed: errno {}", -base);
        return 1;
    }
    let p = base as *mut u8;
    for i in 0..n {
        // SAFETY: the mapping covers n pages.
        unsafe { p.add(i * sys::PAGE).write_volatile((i % 251) as u8 + 1) };
    }
    for i in 0..n {
        // SAFETY: as above.
        let v = unsafe { p.add(i * sys::PAGE).read_volatile() };
        if v != (i % 251) as u8 + 1 {
            println!("touch: page {i} reads {v}, wrote {}", (i % 251) + 1);
            return 1;
        }
    }
    println!("touched {n} pages");
    0
}
