//! `shortio`: read and write with buffers that run into a page the process
//! cannot access. Linux copies up to the bad page and returns the short
//! count (EFAULT only when nothing could be copied); the output must be the
//! same natively and in the microVM (an e2e test compares them).
#![no_std]
#![no_main]

use ulib::{println, sys, Args};

const SYS_READ: usize = 0;
const SYS_PREAD64: usize = 17;
const SYS_PWRITE64: usize = 18;

fn call(n: usize, a: usize, b: usize, c: usize, d: usize) -> isize {
    // SAFETY: plain system calls; their pointer arguments are what is tested.
    unsafe { sys::syscall6(n, a, b, c, d, 0, 0) }
}

#[no_mangle]
pub fn guest_main(_args: &Args) -> i32 {
    let p = sys::PAGE;
    // Two pages: the first read-write and filled, the second made inaccessible.
    let base = sys::mmap_anon(2 * p, sys::PROT_READ | sys::PROT_WRITE);
    if base < 0 {
        println!("shortio: mmap failed: {base}");
        return 1;
    }
    let base = base as usize;
    for i in 0..p {
        // SAFETY: the first page is mapped read-write.
        unsafe { ((base + i) as *mut u8).write_volatile(b'a' + (i % 26) as u8) };
    }
    // SAFETY: our own mapping.
    unsafe { sys::mprotect(base + p, p, sys::PROT_NONE) };
    let name = c"shortio";
    // SAFETY: a valid C string.
    let fd = unsafe { sys::syscall6(sys::SYS_MEMFD_CREATE, name.as_ptr() as usize, 0, 0, 0, 0, 0) };
    if fd < 0 {
        println!("shortio: memfd_create failed: {fd}");
        return 1;
    }
    let fd = fd as usize;
    let tail = base + p - 10;
    println!("pwrite 20 bytes, 10 readable: {}", call(SYS_PWRITE64, fd, tail, 20, 0));
    println!("pwrite 20 bytes, none readable: {}", call(SYS_PWRITE64, fd, base + p, 20, 0));
    println!("pwrite 0 bytes at an unreadable buffer: {}", call(SYS_PWRITE64, fd, base + p, 0, 0));
    println!("pwrite a whole page: {}", call(SYS_PWRITE64, fd, base, p, 100));
    // Read back into a buffer that crosses into the inaccessible page.
    println!("pread 50 bytes, 10 writable: {}", call(SYS_PREAD64, fd, tail, 50, 100));
    // SAFETY: the first page is readable.
    let got = unsafe { core::slice::from_raw_parts(tail as *const u8, 10) };
    println!("bytes read: {:?}", core::str::from_utf8(got).unwrap_or("?"));
    println!("pread, none writable: {}", call(SYS_PREAD64, fd, base + p, 50, 0));
    println!("read at a kernel address: {}", call(SYS_READ, fd, 0xffff_8880_0000_0000, 8, 0));
    // Console writes: the readable prefix reaches stdout.
    let n = call(1, 1, base + p - 3, 8, 0);
    println!("");
    println!("write(1) of 8 bytes, 3 readable: {n}");
    // A pipe takes whole page-sized chunks: the readable first page goes.
    println!("write(2) of 2 pages, 1 readable: {}", call(1, 2, base, 2 * p, 0));
    println!("write(2) of 2 pages from 100 bytes in: {}", call(1, 2, base + 100, 2 * p, 0));
    0
}
