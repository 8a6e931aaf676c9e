//! `forkcow`: fork with copy-on-write both ways, MADV_DONTFORK and MADV_WIPEONFORK, checked from parent and child.
#![no_std]
#![no_main]

use ulib::probe;
use ulib::{println, sys, Args};

const P: usize = sys::PAGE;

#[no_mangle]
pub fn guest_main(_args: &Args) -> i32 {
    if probe::install() != 0 {
        return 1;
    }
    let rw = sys::PROT_READ | sys::PROT_WRITE;
    let a = sys::mmap_anon(2 * P, rw) as usize; // plain: COW
    let b = sys::mmap_anon(P, rw) as usize; // MADV_DONTFORK
    let c = sys::mmap_anon(P, rw) as usize; // MADV_WIPEONFORK
    for (addr, v) in [(a, 11u8), (a + P, 12), (b, 21), (c, 31)] {
        let _ = probe::store(addr as u64, v);
    }
    // SAFETY: the ranges are ours.
    let (rb, rc) = unsafe { (sys::madvise(b, P, sys::MADV_DONTFORK), sys::madvise(c, P, sys::MADV_WIPEONFORK)) };
    println!("forkcow: dontfork -> {rb}, wipeonfork -> {rc}");
    let pid = sys::fork();
    if pid < 0 {
        println!("forkcow: fork failed: {pid}");
        return 1;
    }
    if pid == 0 {
        let ra = probe::load(a as u64);
        let w = probe::store(a as u64, 99);
        let rb = probe::load(b as u64);
        let rc = probe::load(c as u64);
        println!("child: a = {:?}, write a -> {}", ra.ok(), if w.is_ok() { "ok" } else { "fault" });
        match rb {
            Ok(v) => println!("child: dontfork page readable ({v})"),
            Err(f) => println!("child: dontfork page {}/{}", f.name().0, f.name().1),
        }
        println!("child: wipeonfork page = {:?}", rc.ok());
        let ok = ra == Ok(11) && w.is_ok() && rb.is_err() && rc == Ok(0);
        sys::exit(if ok { 0 } else { 1 });
    }
    let (r, status) = sys::wait(pid);
    println!("parent: wait -> {}, child status {}", if r == pid { "child" } else { "?" }, (status >> 8) & 0xff);
    println!(
        "parent: a = {:?}, a+1 = {:?}, b = {:?}, c = {:?}",
        probe::load(a as u64).ok(),
        probe::load((a + P) as u64).ok(),
        probe::load(b as u64).ok(),
        probe::load(c as u64).ok()
    );
    let _ = probe::store((a + P) as u64, 13);
    println!("parent: after its own write a+1 = {:?}", probe::load((a + P) as u64).ok());
    (status >> 8) & 0xff
}
