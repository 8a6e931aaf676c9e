//! `guard`: guard regions on anonymous, shmem and file mappings: install, access (SIGSEGV), survival of DONTNEED and mprotect, removal.
#![no_std]
#![no_main]

use ulib::probe::{self, Fault};
use ulib::{println, sys, Args};

const P: usize = sys::PAGE;
const PAGES: usize = 8;

fn show(r: Result<u8, Fault>, base: usize) -> (&'static str, &'static str, isize) {
    match r {
        Ok(_) => ("ok", "", 0),
        Err(f) => {
            let (s, c) = f.name();
            (s, c, (f.addr as isize - base as isize) / P as isize)
        }
    }
}

fn report(tag: &str, what: &str, base: usize, pages: &[usize]) {
    for &p in pages {
        let (s, c, at) = show(probe::load((base + p * P) as u64), base);
        if s == "ok" {
            println!("{tag}: {what}: page {p} read ok");
        } else {
            println!("{tag}: {what}: page {p} read {s}/{c} at page {at}");
        }
    }
}

/// Maps PAGES pages of the given backing; returns the address.
fn map(backing: &str) -> usize {
    let rw = sys::PROT_READ | sys::PROT_WRITE;
    // SAFETY: fresh mappings chosen by the kernel.
    unsafe {
        match backing {
            "anon" => sys::mmap(0, PAGES * P, rw, sys::MAP_PRIVATE | sys::MAP_ANONYMOUS, -1, 0) as usize,
            "shmem" => {
                let fd = sys::syscall6(sys::SYS_MEMFD_CREATE, c"guard".as_ptr() as usize, 0, 0, 0, 0, 0);
                sys::syscall6(sys::SYS_FTRUNCATE, fd as usize, PAGES * P, 0, 0, 0, 0);
                sys::mmap(0, PAGES * P, rw, sys::MAP_SHARED, fd as i32, 0) as usize
            }
            _ => {
                let fd =
                    sys::syscall6(sys::SYS_OPENAT, -100isize as usize, c"guard-test-file".as_ptr() as usize, 0o102 | 0o1000, 0o600, 0, 0);
                sys::syscall6(sys::SYS_FTRUNCATE, fd as usize, PAGES * P, 0, 0, 0, 0);
                sys::mmap(0, PAGES * P, rw, sys::MAP_SHARED, fd as i32, 0) as usize
            }
        }
    }
}

#[no_mangle]
pub fn guest_main(_args: &Args) -> i32 {
    if probe::install() != 0 {
        println!("guard: cannot install the signal handler");
        return 1;
    }
    for backing in ["anon", "shmem", "file"] {
        let base = map(backing);
        if (base as isize) < 0 {
            println!("guard[{backing}]: mmap failed: {}", base as isize);
            return 1;
        }
        let tag = match backing {
            "anon" => "guard[anon]",
            "shmem" => "guard[shmem]",
            _ => "guard[file]",
        };
        for p in 0..PAGES {
            let _ = probe::store((base + p * P) as u64, p as u8 + 1);
        }
        // SAFETY: the range is ours.
        let r = unsafe { sys::madvise(base + 3 * P, 2 * P, sys::MADV_GUARD_INSTALL) };
        println!("{tag}: install pages 3..5 -> {r}");
        report(tag, "after install", base, &[2, 3, 4, 5]);
        match probe::store((base + 4 * P) as u64, 9) {
            Ok(()) => println!("{tag}: write page 4 went through"),
            Err(f) => println!("{tag}: write page 4 {}/{}", f.name().0, f.name().1),
        }
        // SAFETY: as above.
        let r = unsafe { sys::madvise(base, PAGES * P, sys::MADV_DONTNEED) };
        println!("{tag}: dontneed all -> {r}");
        report(tag, "after dontneed", base, &[3, 6]);
        // SAFETY: as above.
        let r = unsafe { sys::mprotect(base, PAGES * P, sys::PROT_READ) };
        println!("{tag}: mprotect read-only -> {r}");
        report(tag, "after mprotect", base, &[3, 5]);
        // SAFETY: as above.
        let r = unsafe { sys::madvise(base + 3 * P, 2 * P, sys::MADV_GUARD_REMOVE) };
        println!("{tag}: remove -> {r}");
        report(tag, "after remove", base, &[3, 4]);
        match probe::load((base + 3 * P) as u64) {
            Ok(v) => println!("{tag}: page 3 holds {v}"),
            Err(_) => println!("{tag}: page 3 faulted"),
        }
        // SAFETY: as above.
        let r = unsafe { sys::munmap(base, PAGES * P) };
        println!("{tag}: munmap -> {r}");
    }
    // SAFETY: the name is a valid C string.
    unsafe { sys::syscall6(sys::SYS_UNLINK, c"guard-test-file".as_ptr() as usize, 0, 0, 0, 0, 0) };
    0
}
