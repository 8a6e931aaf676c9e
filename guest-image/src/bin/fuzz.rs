//! `fuzz SEED N [wild] [calls=LIST]`, `fuzz maps N`: a hostile program: N pseudo-random steps of syscalls with edge-value and bad-pointer arguments, probed loads, stores and jumps, privileged instructions and forks; prints counts per outcome.
//!
//! The VMM must survive anything a ring-3 program does; this program tries
//! hard to make it fail. A SplitMix64 generator seeded with SEED drives every
//! choice, so a seed reproduces a run. Each step is either a system call (every
//! number the vmm implements, our 0x7f00.. extensions, and unknown numbers)
//! whose arguments come from edge values (0, -1, page-1, TASK_SIZE, kernel
//! addresses, non-canonical addresses, random words) and from pointers at
//! unmapped, read-only, PROT_NONE, guard, kernel and page-crossing buffers; or
//! a load, store or jump at such an address through the fault probes.
//!
//! Forked children also run one privileged or trapping instruction each
//! (`INSNS`) with random registers.
//!
//! Process 1 is "tame": it never hands the kernel a range that overlaps its
//! own code or stack, so it survives to print the summary (`wild` as a third
//! argument lifts that). Forked children (at most three deep, or one chain of
//! up to 24) are "wild": anything goes, including exit, rt_sigreturn with a
//! garbage frame and munmap of their own code. `fuzz maps N` makes N VMAs and
//! forks until fork fails: what a guest can make the host hold.
#![no_std]
#![no_main]

use ulib::{println, probe, sys, Args};

const P: u64 = 4096;
const TASK_SIZE: u64 = (1 << 47) - P;
const ARENA_PAGES: u64 = 256;
const MAX_DEPTH: u32 = 3;
/// Pages of the arena with a fixed role at start (see `Fuzz::setup`).
const RW_END: u64 = 8;
const NONE_PAGE: u64 = 8;
const RO_PAGES: u64 = 9;
const GUARD_PAGE: u64 = 12;
const HOLE_PAGES: u64 = 13;
const SHARED_PAGES: u64 = 16;
const EXEC_PAGES: u64 = 20;
const LONG_PATH: u64 = 24;
/// Page boundaries where one kind of memory meets another.
const EDGES: [u64; 7] = [RW_END, RO_PAGES, GUARD_PAGE, HOLE_PAGES, SHARED_PAGES, EXEC_PAGES, LONG_PATH];

core::arch::global_asm!(
    r#"
    .section .text.fuzz_sigreturn, "ax"
    .globl fuzz_sigreturn_at
fuzz_sigreturn_at:
    mov rsp, rdi
    mov eax, 15
    syscall
    ud2
"#
);

core::arch::global_asm!(
    r#"
    .section .text.fuzz_run_code, "ax"
    .globl fuzz_run_code
fuzz_run_code:
    mov r11, rdi
    mov rax, [rsi]
    mov rbx, [rsi + 8]
    mov rcx, [rsi + 16]
    mov rdx, [rsi + 24]
    mov rbp, [rsi + 32]
    mov r8, [rsi + 40]
    mov r9, [rsi + 48]
    mov r10, [rsi + 56]
    mov r12, [rsi + 64]
    mov r13, [rsi + 72]
    mov r14, [rsi + 80]
    mov r15, [rsi + 88]
    mov rdi, [rsi + 96]
    mov rsi, [rsi + 104]
    jmp r11
"#
);

/// Instructions a ring-3 program has no business running (privileged, I/O,
/// interrupts, virtualisation, segment loads, FPU state loads, the syscall
/// trampoline's own opcodes), each run once with random registers and
/// followed by `ud2`. An `int` gets a random vector appended (0xCD).
const INSNS: &[&[u8]] = &[
    &[0xcc],
    &[0xcd],
    &[0xce],
    &[0xf1],
    &[0xf4],
    &[0xfa],
    &[0xfb],
    &[0xe4, 0x80],
    &[0xe6, 0xe3],
    &[0xec],
    &[0xee],
    &[0x0f, 0x0b],
    &[0x0f, 0x05],
    &[0x0f, 0x34],
    &[0x0f, 0x35],
    &[0x0f, 0x01, 0xf8],
    &[0x48, 0xcf],
    &[0x0f, 0x20, 0xd8],
    &[0x0f, 0x22, 0xd8],
    &[0x0f, 0x32],
    &[0x0f, 0x30],
    &[0x0f, 0x31],
    &[0x0f, 0xa2],
    &[0x0f, 0x01, 0xd0],
    &[0x31, 0xc9, 0xf7, 0xf1],
    &[0x0f, 0x01, 0xc1],
    &[0x0f, 0x01, 0xd9],
    &[0x0f, 0x01, 0xca],
    &[0x0f, 0x01, 0xcb],
    &[0x0f, 0x01, 0xc8],
    &[0x0f, 0x01, 0xc9],
    &[0x0f, 0x33],
    &[0x0f, 0x09],
    &[0x0f, 0x08],
    &[0x0f, 0x01, 0x38],
    &[0x0f, 0x06],
    &[0x0f, 0xae, 0x08],
    &[0x0f, 0xae, 0x00],
    &[0x0f, 0x01, 0x00],
    &[0x0f, 0x01, 0x08],
    &[0x0f, 0x00, 0x00],
    &[0x0f, 0x00, 0xc8],
    &[0x8e, 0xd0],
    &[0x8e, 0xd8],
    &[0x8e, 0xe0],
    &[0x8e, 0xe8],
    &[0x0f, 0xa1],
    &[0x9c, 0x48, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9d, 0x90],
    &[0xc5, 0xfc, 0x77],
    &[0x0f, 0xae, 0x10],
    &[0xf3, 0x48, 0x0f, 0xae, 0xd8],
    &[0x0f, 0x01, 0xf9],
    &[0x0f, 0x78, 0xc0],
    &[0xf0, 0x90],
    &[0x0f, 0xff],
    &[0x88, 0x00],
    &[0xff, 0xe0],
    &[0xff, 0xd0],
    &[0x0f, 0xae, 0x28],
    &[0x0f, 0xc7, 0x08],
    &[0x0f, 0x0d, 0x08],
    &[0x48, 0x8b, 0x00],
    &[0xf3, 0xa4],
    &[0xf3, 0xab],
];

extern "C" {
    /// Loads rax, rbx, rcx, rdx, rbp, r8-r10, r12-r15, rdi, rsi from `regs`
    /// and jumps to `code`.
    fn fuzz_run_code(code: u64, regs: *const u64) -> !;
    /// rt_sigreturn with RSP = `frame` (the kernel reads the frame at RSP-8).
    fn fuzz_sigreturn_at(frame: u64) -> !;
}

/// SplitMix64 (Steele, Lea, Flood 2014).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

/// Outcome counters; the summary prints them.
#[derive(Default)]
struct Counts {
    sys_ok: u64,
    efault: u64,
    einval: u64,
    enosys: u64,
    enomem: u64,
    ebadf: u64,
    other_err: u64,
    mem_ok: u64,
    maperr: u64,
    accerr: u64,
    si_kernel: u64,
    sigbus: u64,
    forks: u64,
    child_exited: u64,
    child_killed: u64,
    table: u64,
    vfs: u64,
}

struct Fuzz {
    rng: Rng,
    /// The VFS steps' own stream, so that adding them left the rest of a
    /// seed's run as it was.
    vfs_rng: Rng,
    wild: bool,
    depth: u32,
    arena: u64,
    stack: u64,
    /// Mappings this program created outside the arena: (address, length).
    owned: [(u64, u64); 8],
    /// A read-write-execute page for `instruction`.
    code_page: u64,
    /// Descriptors worth naming: memfd, file, maps, pagemap, pmem0, recent opens.
    fds: [u64; 8],
    c: Counts,
    /// The kernel's syscall table (`calls=` argument, from `vmm syscalls
    /// --fuzz-list`): numbers, and whether a call may block, end the caller,
    /// replace its registers or fork (wild processes only).
    calls: [(u64, bool); MAX_CALLS],
    ncalls: usize,
}

/// Steps the image a wild child exec'd runs (`fuzz exec SEED`).
const EXEC_CHILD_STEPS: u64 = 24;

/// Most table entries the fuzzer takes.
const MAX_CALLS: usize = 256;

/// Calls a tame process 1 leaves to the dedicated cases (which keep its code
/// and stack out of their ranges) or never makes: they would unmap or seal
/// its own memory (process_madvise included: its ranges are in an iovec),
/// close or replace its stdout, or shrink its stack limit.
const TAME_SKIPS: [u64; 14] = [3, 9, 10, 11, 25, 28, 33, 160, 216, 292, 302, 462, 157, 440];

/// Raw syscall.
fn sc(n: u64, a: [u64; 6]) -> i64 {
    // SAFETY: the fuzzer's point is to hand the kernel arbitrary arguments;
    // `Fuzz::tame_ok` keeps process 1's own code and stack out of reach.
    unsafe { sys::syscall6(n as usize, a[0] as usize, a[1] as usize, a[2] as usize, a[3] as usize, a[4] as usize, a[5] as usize) as i64 }
}

fn code_addr() -> u64 {
    guest_main as *const () as u64
}

static DATA: [u8; 64] = [7; 64];

impl Fuzz {
    /// Builds the arena: rw, PROT_NONE, read-only, guard, hole, shared memfd, exec, long path.
    fn setup(&mut self) {
        let a = sys::mmap_anon((ARENA_PAGES * P) as usize, sys::PROT_READ | sys::PROT_WRITE);
        if a < 0 {
            println!("fuzz: arena mmap -> {a}");
            sys::exit(3);
        }
        let a = a as u64;
        self.arena = a;
        let pg = |i: u64| a + i * P;
        // SAFETY: every call names the arena, which nothing else uses.
        unsafe {
            core::ptr::write_bytes(pg(0) as *mut u8, 0x5a, (RW_END * P) as usize);
            // An unterminated string that runs into the PROT_NONE page.
            core::ptr::write_bytes((pg(RW_END) - 64) as *mut u8, b'b', 64);
            core::ptr::write_bytes(pg(EXEC_PAGES) as *mut u8, 0xc3, (4 * P) as usize);
            core::ptr::write_bytes(pg(LONG_PATH) as *mut u8, b'a', 5000);
            *((pg(LONG_PATH) + 5000) as *mut u8) = 0;
            *(pg(LONG_PATH) as *mut u8) = b'/';
            sys::mprotect(pg(NONE_PAGE) as usize, P as usize, sys::PROT_NONE);
            sys::mprotect(pg(RO_PAGES) as usize, (3 * P) as usize, sys::PROT_READ);
            sys::madvise(pg(GUARD_PAGE) as usize, P as usize, sys::MADV_GUARD_INSTALL);
            sys::munmap(pg(HOLE_PAGES) as usize, (3 * P) as usize);
            sys::mprotect(pg(EXEC_PAGES) as usize, (4 * P) as usize, sys::PROT_READ | sys::PROT_EXEC);
        }
        let memfd = sc(sys::SYS_MEMFD_CREATE as u64, [c"fuzz".as_ptr() as u64, 0, 0, 0, 0, 0]);
        sc(sys::SYS_FTRUNCATE as u64, [memfd as u64, 8 * P, 0, 0, 0, 0]);
        sc(sys::SYS_MMAP as u64, [pg(SHARED_PAGES), 4 * P, 3, (sys::MAP_SHARED | sys::MAP_FIXED) as u64, memfd as u64, 0]);
        let file = sc(sys::SYS_OPENAT as u64, [-100i64 as u64, c"/fuzzfile".as_ptr() as u64, 0x42, 0o644, 0, 0]);
        sc(1, [file as u64, pg(0), 3 * P, 0, 0, 0]);
        let maps = sc(sys::SYS_OPENAT as u64, [-100i64 as u64, c"/proc/self/maps".as_ptr() as u64, 0, 0, 0, 0]);
        let pagemap = sc(sys::SYS_OPENAT as u64, [-100i64 as u64, c"/proc/self/pagemap".as_ptr() as u64, 0, 0, 0, 0]);
        let pmem = sc(sys::SYS_OPENAT as u64, [-100i64 as u64, c"/dev/pmem0".as_ptr() as u64, 2, 0, 0, 0]);
        self.fds = [memfd as u64, file as u64, maps as u64, pagemap as u64, pmem as u64, 0, 1, 2];
        if pmem >= 0 {
            let m = sc(sys::SYS_MMAP as u64, [0, 4 * P, 3, sys::MAP_SHARED as u64, pmem as u64, 0]);
            if m >= 0 {
                self.owned[0] = (m as u64, 4 * P);
            }
        }
        let m = sc(sys::SYS_MMAP as u64, [0, P, 7, (sys::MAP_PRIVATE | sys::MAP_ANONYMOUS) as u64, u64::MAX, 0]);
        self.code_page = m as u64;
        let m = sc(sys::SYS_MMAP as u64, [0, 16 * P, 3, (sys::MAP_PRIVATE | sys::MAP_ANONYMOUS) as u64, u64::MAX, 0]);
        if m >= 0 {
            self.owned[1] = (m as u64, 16 * P);
        }
    }

    /// An address: edge values, kernel and non-canonical addresses, the arena's
    /// kinds of memory and their boundaries, our own stack, code and data.
    fn addr(&mut self) -> u64 {
        let r = &mut self.rng;
        match r.below(26) {
            0 => 0,
            1 => 1,
            2 => P - 1,
            3 => P,
            4 => TASK_SIZE,
            5 => TASK_SIZE - P,
            6 => 1 << 47,
            7 => 0xffff_8880_0000_0000,
            8 => 0xffff_ffff_ff60_0000,
            9 => 0xffff_ffff_8000_0000,
            10 => u64::MAX,
            11 => u64::MAX - P + 1,
            12 => r.next(),
            13 => r.below(TASK_SIZE / P) * P,
            14 | 15 => self.arena + r.below(ARENA_PAGES) * P,
            16 => self.arena + r.below(ARENA_PAGES * P),
            17 | 18 => self.arena + EDGES[r.below(EDGES.len() as u64) as usize] * P - r.below(64),
            19 => {
                let (a, l) = self.owned[r.below(8) as usize];
                a + if l > 0 { r.below(l) } else { 0 }
            }
            20 => self.stack - r.below(256),
            21 => code_addr() + r.below(64),
            22 => DATA.as_ptr() as u64 + r.below(64),
            23 => 0x40_0000,
            24 => self.arena + ARENA_PAGES * P,
            _ => self.arena + SHARED_PAGES * P + r.below(4 * P),
        }
    }

    /// A length or size.
    fn len(&mut self) -> u64 {
        let r = &mut self.rng;
        match r.below(16) {
            0 => 0,
            1 => 1,
            2 => P - 1,
            3 => P,
            4 => P + 1,
            5 => 2 * P,
            6 | 7 => r.below(64) * P,
            8 => r.below(3 * P),
            9 => r.next(),
            10 => u64::MAX,
            11 => 1 << 47,
            12 => i64::MAX as u64,
            13 => r.below(1 << 22),
            14 => 0x8000_0000,
            _ => (1 + r.below(512)) * P,
        }
    }

    /// Any argument: an address, a length, a small number or a random word.
    fn any(&mut self) -> u64 {
        match self.rng.below(4) {
            0 => self.addr(),
            1 => self.len(),
            2 => self.rng.below(64),
            _ => self.rng.next(),
        }
    }

    /// A descriptor number.
    fn fd(&mut self) -> u64 {
        match self.rng.below(8) {
            0..=3 => self.fds[self.rng.below(8) as usize],
            4 => 3 + self.rng.below(16),
            5 => u64::MAX,
            6 => -100i64 as u64,
            _ => self.any(),
        }
    }

    /// A path pointer: real names, the long one, unterminated, bad pointers.
    fn path(&mut self) -> u64 {
        const NAMES: [&core::ffi::CStr; 8] =
            [c"/fuzzfile", c"/proc/self/maps", c"/proc/self/pagemap", c"/dev/pmem0", c"", c"/", c"fz2", c"/proc/self/../self/maps"];
        match self.rng.below(6) {
            0..=2 => NAMES[self.rng.below(8) as usize].as_ptr() as u64,
            3 => self.arena + LONG_PATH * P + self.rng.below(5000),
            4 => self.arena + RW_END * P - 64 + self.rng.below(64),
            _ => self.addr(),
        }
    }

    /// A signal number.
    fn sig(&mut self) -> u64 {
        match self.rng.below(4) {
            0 => self.rng.below(66),
            1 => [7, 9, 11, 19, 64, 65][self.rng.below(6) as usize],
            _ => self.any(),
        }
    }

    /// True when process 1 may let the kernel change or write [addr, addr+len):
    /// it must not overlap our code, data or stack.
    fn tame_ok(&self, addr: u64, len: u64) -> bool {
        if self.wild {
            return true;
        }
        let start = addr & !(P - 1);
        let Some(end) = addr.checked_add(len).and_then(|e| e.checked_add(P - 1)).map(|e| e & !(P - 1)) else { return true };
        let end = end.max(start + P);
        let critical = [(0x40_0000, 0x40_0000 + (64 << 20)), (self.stack.saturating_sub(32 << 20), self.stack.saturating_add(32 << 20))];
        !critical.iter().any(|&(s, e)| start < e && end > s)
    }

    /// A buffer the kernel may write `len` bytes to (a bad one in any case).
    fn out_buf(&mut self, len: u64) -> u64 {
        let a = self.addr();
        if self.tame_ok(a, len) {
            a
        } else {
            self.arena + 0x100
        }
    }

    /// A range the kernel may change (a destructive syscall).
    fn range(&mut self) -> (u64, u64) {
        let (a, l) = (self.addr(), self.len());
        if self.tame_ok(a, l) {
            (a, l)
        } else {
            (self.arena + self.rng.below(ARENA_PAGES) * P, self.rng.below(32) * P)
        }
    }

    fn count(&mut self, r: i64) {
        let c = &mut self.c;
        match r {
            0.. => c.sys_ok += 1,
            -14 => c.efault += 1,
            -22 => c.einval += 1,
            -38 => c.enosys += 1,
            -12 => c.enomem += 1,
            -9 => c.ebadf += 1,
            _ => c.other_err += 1,
        }
    }

    /// A garbage struct in the arena's first page: random words, bad addresses.
    fn garbage(&mut self, at: u64, words: u64) {
        for i in 0..words {
            let v = if self.rng.one_in(2) { self.rng.next() } else { self.addr() };
            // SAFETY: `at` is in the arena's read-write pages (callers pass such).
            unsafe { ((at + 8 * i) as *mut u64).write_volatile(v) };
        }
    }

    /// A struct pointer for the kernel to read: garbage in the arena, or a bad address.
    fn in_struct(&mut self, words: u64) -> u64 {
        if self.rng.one_in(3) {
            return self.addr();
        }
        let at = self.arena + 0x800;
        // A wild child may have unmapped its arena: store through the probe first.
        if probe::store(at, 0).is_err() || probe::store(at + 8 * words, 0).is_err() {
            return at;
        }
        self.garbage(at, words);
        at
    }

    fn after_signal_calls(&mut self) {
        // Put the probes back: a fuzzed call may have replaced or blocked them.
        probe::install();
        let zero = 0u64;
        sc(14, [2, &zero as *const u64 as u64, 0, 8, 0, 0]);
    }

    fn syscall(&mut self) {
        let r = match self.rng.below(47 + 2 * (self.ncalls > 0) as u64) {
            0 | 1 => {
                let (fd, len) = (self.fd(), self.len());
                let buf = self.out_buf(len);
                let n = if self.rng.one_in(2) { 0 } else { 17 };
                sc(n, [fd, buf, len, self.any(), 0, 0])
            }
            2 | 3 => {
                let (fd, buf, mut len) = (self.fd(), self.addr(), self.len());
                if fd <= 2 {
                    len %= 80;
                }
                let n = if self.rng.one_in(2) { 1 } else { 18 };
                sc(n, [fd, buf, len, self.any(), 0, 0])
            }
            4 => sc(2, [self.path(), self.any(), self.any(), 0, 0, 0]),
            5 => {
                let flags = [0, 1, 2, 3, 0x40, 0xc2, 0x242, 0x80002, 0x402][self.rng.below(9) as usize];
                let flags = if self.rng.one_in(4) { self.any() } else { flags };
                let dirfd = if self.rng.one_in(2) { -100i64 as u64 } else { self.fd() };
                let r = sc(257, [dirfd, self.path(), flags, 0o644, 0, 0]);
                if r > 2 {
                    self.fds[5] = r as u64;
                }
                r
            }
            6 => {
                let fd = self.fd();
                if !self.wild && fd <= 2 {
                    return;
                }
                sc(3, [fd, 0, 0, 0, 0, 0])
            }
            7 => sc(8, [self.fd(), self.any(), self.rng.below(5), 0, 0, 0]),
            8 => sc(87, [self.path(), 0, 0, 0, 0, 0]),
            9 => sc(263, [self.fd(), self.path(), if self.rng.one_in(2) { 0 } else { self.any() }, 0, 0, 0]),
            10 => sc(319, [self.path(), if self.rng.one_in(2) { self.rng.below(4) } else { self.any() }, 0, 0, 0, 0]),
            11 => sc(77, [self.fd(), self.len(), 0, 0, 0, 0]),
            12 => sc(285, [self.fd(), self.rng.below(4), self.len(), self.len(), 0, 0]),
            13..=16 => {
                let flags = [0x22, 0x21, 0x02, 0x01, 0x32, 0x31, 0x8022, 0x10_0022, 0x0100_0022, 0x2022][self.rng.below(10) as usize];
                let flags = if self.rng.one_in(5) { self.any() } else { flags };
                let prot = if self.rng.one_in(4) { self.any() } else { self.rng.below(8) };
                let (addr, len) = if flags & 0x10 != 0 { self.range() } else { (self.addr(), self.len()) };
                let len = if flags & 0x8000 != 0 && !self.wild { len.min(512 * P) } else { len };
                let fd = if flags & 0x20 != 0 && self.rng.one_in(2) { u64::MAX } else { self.fd() };
                let off = if self.rng.one_in(2) { self.rng.below(16) * P } else { self.any() };
                let r = sc(9, [addr, len, prot, flags, fd, off]);
                if r >= 0 && flags & 0x10 == 0 {
                    self.owned[2 + self.rng.below(6) as usize] = (r as u64, len);
                }
                r
            }
            17 | 18 => {
                let (a, l) = self.range();
                sc(10, [a, l, if self.rng.one_in(4) { self.any() } else { self.rng.below(8) }, 0, 0, 0])
            }
            19 | 20 => {
                let (a, l) = self.range();
                sc(11, [a, l, 0, 0, 0, 0])
            }
            21 => sc(12, [self.any(), 0, 0, 0, 0, 0]),
            22 | 23 => {
                let (old, old_len) = self.range();
                let new_len = self.len();
                let flags = if self.rng.one_in(4) { self.any() } else { self.rng.below(8) };
                let mut new = self.addr();
                if !self.tame_ok(new, new_len) {
                    new = self.arena + self.rng.below(ARENA_PAGES) * P;
                }
                sc(25, [old, old_len, new_len, flags, new, 0])
            }
            24 | 25 => {
                let (a, l) = self.range();
                let adv = match self.rng.below(8) {
                    0 => self.any(),
                    1 => [100, 101, 102, 103, 102, 103][self.rng.below(6) as usize],
                    _ => self.rng.below(26),
                };
                let adv = if adv == 9 && !self.wild { 4 } else { adv };
                sc(28, [a, l, adv, 0, 0, 0])
            }
            26 => sc(149, [self.addr(), self.len(), 0, 0, 0, 0]),
            27 => sc(150, [self.addr(), self.len(), 0, 0, 0, 0]),
            28 => sc(325, [self.addr(), self.len(), self.rng.below(3), 0, 0, 0]),
            29 => {
                let (a, l) = self.range();
                sc(216, [a, l, self.rng.below(2), self.rng.below(16), self.rng.below(2), 0])
            }
            30 => sc(126, [self.addr(), self.addr(), 0, 0, 0, 0]),
            31 => sc(157, [if self.rng.one_in(2) { 41 } else { self.any() }, self.any(), self.any(), 0, 0, 0]),
            32 => {
                let act = if self.rng.one_in(3) { 0 } else { self.in_struct(4) };
                let old = if self.rng.one_in(2) { 0 } else { self.out_buf(32) };
                let size = if self.rng.one_in(3) { self.any() } else { 8 };
                let r = sc(13, [self.sig(), act, old, size, 0, 0]);
                self.after_signal_calls();
                r
            }
            33 => {
                let set = if self.rng.one_in(3) { 0 } else { self.in_struct(1) };
                let old = if self.rng.one_in(2) { 0 } else { self.out_buf(8) };
                let size = if self.rng.one_in(3) { self.any() } else { 8 };
                let r = sc(14, [self.rng.below(4), set, old, size, 0, 0]);
                self.after_signal_calls();
                r
            }
            34 => sc([39, 110][self.rng.below(2) as usize], [self.any(), 0, 0, 0, 0, 0]),
            35 => {
                let pid = [u64::MAX, 0, 1, 2, 3, u64::MAX - 1][self.rng.below(6) as usize];
                let pid = if self.rng.one_in(4) { self.any() } else { pid };
                let status = self.out_buf(4);
                // Process 1 never blocks here: a child may wait for a signal forever.
                let options = if self.wild { self.rng.below(4) } else { self.rng.below(4) | 1 };
                sc(61, [pid, status, options, self.any(), 0, 0])
            }
            36 => {
                if self.rng.one_in(8) {
                    self.fork_chain();
                } else {
                    self.fork_child();
                }
                return;
            }
            37 => {
                let name = if self.rng.one_in(2) {
                    [c"pmem0", c"fz1", c"fz2", c"", c"x/y"][self.rng.below(5) as usize].as_ptr() as u64
                } else {
                    self.path()
                };
                let size = if self.rng.one_in(2) { (1 + self.rng.below(64)) * P } else { self.len() };
                sc(0x7f00, [name, size, 0, 0, 0, 0])
            }
            38 => {
                let name =
                    if self.rng.one_in(2) { [c"pmem0", c"fz1", c"fz2"][self.rng.below(3) as usize].as_ptr() as u64 } else { self.path() };
                sc(0x7f01, [name, 0, 0, 0, 0, 0])
            }
            39 => {
                // Our extensions: the plug range (plug, unplug, and whatever
                // comes next) and the whole-VM checkpoint (0x564d0001, which
                // returns 0 under `vmm run`; anything but 0 in RDI is EINVAL).
                let n = if self.rng.one_in(4) { 0x564d_0001 } else { 0x7f00 + self.rng.below(0x20) };
                sc(n, [self.any(), self.any(), self.any(), self.any(), self.any(), self.any()])
            }
            40 => {
                let n = match self.rng.below(3) {
                    0 => self.rng.below(600),
                    1 => self.rng.next(),
                    _ => [56, 58, 59, 62, 231 + 1000, 0x4000_0000, u64::MAX][self.rng.below(7) as usize],
                };
                // What may end, block or replace process 1, and what the table call skips
                // (pipe and pipe2 too: a read of its own pipe would block process 1 for good).
                if !self.wild
                    && (matches!(
                        n,
                        7 | 15
                            | 22
                            | 23
                            | 34
                            | 35
                            | 40
                            | 56
                            | 57
                            | 58
                            | 59
                            | 60
                            | 61
                            | 62
                            | 130
                            | 200
                            | 219
                            | 230
                            | 231
                            | 234
                            | 270
                            | 271
                            | 275
                            | 276
                            | 278
                            | 293
                    ) || TAME_SKIPS.contains(&n))
                {
                    return;
                }
                sc(n, [self.any(), self.any(), self.any(), self.any(), self.any(), self.any()])
            }
            43..=45 => {
                self.instruction();
                return;
            }
            46..=48 if self.ncalls > 0 => return self.table_call(),
            41 if self.wild && self.rng.one_in(4) => self.sigreturn(),
            42 if self.wild && self.rng.one_in(4) => sc([60, 231][self.rng.below(2) as usize], [self.any(), 0, 0, 0, 0, 0]),
            _ => {
                // Burst: many small splits of the arena's scratch pages (VMA counts, batches).
                let base = self.arena + 28 * P;
                let mut last = 0;
                for i in 0..self.rng.below(64) {
                    last = sc(10, [base + (i % 200) * P, P, self.rng.below(4), 0, 0, 0]);
                }
                last
            }
        };
        self.count(r);
    }

    /// execve or execveat with garbage: paths, flags, descriptors, and argv
    /// and envp arrays that are NULL, bad pointers, garbage words, or point
    /// at long and unterminated strings. Process 1's calls always fail: its
    /// argv's one string is at a kernel address, which is EFAULT whenever the path names
    /// a program (by chance, through a pointer into our own data). A wild
    /// child sometimes execs /proc/self/exe for real: the new image
    /// (`fuzz exec SEED`) runs a few wild steps of its own and exits.
    fn exec(&mut self) -> i64 {
        let real = self.wild && self.depth > 0 && self.rng.one_in(3);
        let path = if real { c"/proc/self/exe".as_ptr() as u64 } else { self.path() };
        let argv = if real { self.exec_argv() } else { self.exec_array() };
        let argv = if self.wild { argv } else { self.failing_argv() };
        let envp = if real && self.rng.one_in(2) { 0 } else { self.exec_array() };
        if self.rng.one_in(2) {
            return sc(59, [path, argv, envp, 0, 0, 0]);
        }
        let flags = [0, 0x1000, 0x100, 0x1100, 1, 0x800][self.rng.below(6) as usize];
        let flags = if self.rng.one_in(5) { self.any() } else { flags };
        let dirfd = if self.rng.one_in(2) { -100i64 as u64 } else { self.fd() };
        let path = if flags & 0x1000 != 0 && self.rng.one_in(2) { c"".as_ptr() as u64 } else { path };
        sc(322, [dirfd, path, argv, envp, flags, 0])
    }

    /// A pointer array for exec: NULL, a bad address, garbage words, or
    /// pointers at long, page-crossing and unterminated strings.
    fn exec_array(&mut self) -> u64 {
        let at = self.arena + 0xc00;
        if probe::store(at, 0).is_err() || probe::store(at + 8 * 64, 0).is_err() {
            return at;
        }
        match self.rng.below(4) {
            0 => 0,
            1 => self.addr(),
            2 => {
                let words = 1 + self.rng.below(16);
                self.in_struct(words)
            }
            _ => {
                let n = self.rng.below(64);
                for i in 0..n {
                    let p = self.path();
                    // SAFETY: the arena's first page, checked writable above.
                    unsafe { ((at + 8 * i) as *mut u64).write_volatile(p) };
                }
                // SAFETY: as above.
                unsafe { ((at + 8 * n) as *mut u64).write_volatile(0) };
                at
            }
        }
    }

    /// argv that always fails: its one entry is a kernel address.
    fn failing_argv(&mut self) -> u64 {
        static ARGV: [u64; 2] = [0xffff_8880_0000_0000, 0];
        ARGV.as_ptr() as u64
    }

    /// ["fuzz", "exec", SEED] in the arena, for a real exec.
    fn exec_argv(&mut self) -> u64 {
        let at = self.arena + 0xe00;
        if probe::store(at, 0).is_err() || probe::store(at + 0x1ff, 0).is_err() {
            return at;
        }
        let mut seed = [0u8; 24];
        let mut v = self.rng.next() >> 1;
        let mut len = 0;
        loop {
            seed[len] = b'0' + (v % 10) as u8;
            len += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        seed[..len].reverse();
        let strs: [&[u8]; 3] = [b"fuzz", b"exec", &seed[..len]];
        let mut p = at + 0x40;
        for (i, s) in strs.iter().enumerate() {
            // SAFETY: the arena's first page, checked writable above.
            unsafe {
                core::ptr::copy_nonoverlapping(s.as_ptr(), p as *mut u8, s.len());
                ((p + s.len() as u64) as *mut u8).write_volatile(0);
                ((at + 8 * i as u64) as *mut u64).write_volatile(p);
            }
            p += s.len() as u64 + 1;
        }
        // SAFETY: as above.
        unsafe { ((at + 24) as *mut u64).write_volatile(0) };
        at
    }

    /// Waits for child `pid` (u64::MAX: any) without ever blocking for good:
    /// WNOHANG polls with sched_yield between them let it run; a child that
    /// still has not ended (it waits for a signal nobody sends, or sleeps
    /// long) is killed. Returns whether a child was reaped.
    fn reap(&mut self, pid: u64) -> bool {
        for tries in 0..200 {
            let mut status = 0i32;
            let r = sc(61, [pid, &mut status as *mut i32 as u64, 1, 0, 0, 0]);
            if r > 0 {
                if status & 0x7f == 0 {
                    self.c.child_exited += 1;
                } else {
                    self.c.child_killed += 1;
                }
                return true;
            }
            if r < 0 {
                return false;
            }
            if tries == 100 {
                sc(62, [pid, 9, 0, 0, 0, 0]);
            }
            sc(24, [0; 6]);
        }
        false
    }

    /// A call from the kernel's table with edge-value arguments: random
    /// words, bad and good pointers, lengths, descriptors, signal numbers.
    fn table_call(&mut self) {
        let (n, risky) = self.calls[self.rng.below(self.ncalls as u64) as usize];
        if !self.wild && (risky || TAME_SKIPS.contains(&n)) {
            return;
        }
        // exec gets its own arguments (`exec`): paths and arrays that mean
        // something, and sometimes a real exec. (Only wild processes get
        // here: exec is a risky call, so process 1's sequence is untouched.)
        if n == 59 || n == 322 {
            let r = self.exec();
            self.c.table += 1;
            self.count(r);
            return;
        }
        let mut a = [0u64; 6];
        for x in a.iter_mut() {
            *x = match self.rng.below(7) {
                0 => self.any(),
                1 => self.addr(),
                2 => self.len(),
                3 => self.fd(),
                4 => self.sig(),
                5 => self.in_struct(8),
                _ => self.rng.below(8),
            };
        }
        if matches!(n, 62 | 200 | 234) && self.depth > 0 {
            // A wild child's kill family signals itself only: the tame process 1
            // must live to print the summary (and kill(0)/kill(-1) reach it).
            let me = sys::getpid() as u64;
            a[0] = me;
            if n == 234 {
                a[1] = me;
            }
        }
        let r = sc(n, a);
        // A signal call may have replaced or blocked the probes' handlers.
        if matches!(n, 13 | 14 | 131) {
            self.after_signal_calls();
        }
        self.c.table += 1;
        self.count(r);
    }

    /// rt_sigreturn on a frame of garbage (wild children only: it replaces every register).
    fn sigreturn(&mut self) -> i64 {
        let at = self.arena + 2 * P;
        if probe::store(at, 0).is_err() || probe::store(at + 1024, 0).is_err() {
            // SAFETY: a wild child ends here one way or another.
            unsafe { fuzz_sigreturn_at(self.addr()) }
        }
        self.garbage(at, 128);
        // SAFETY: as above.
        unsafe { fuzz_sigreturn_at(at + 8 * self.rng.below(64)) }
    }

    /// A child runs one instruction from `INSNS` (or jumps into the syscall
    /// trampoline) with random registers; it ends by a signal or in `ud2`.
    fn instruction(&mut self) {
        if self.depth >= MAX_DEPTH {
            return;
        }
        let mut regs = [0u64; 14];
        for r in regs.iter_mut() {
            *r = self.any();
        }
        if self.rng.one_in(2) {
            // rax often a small number: a syscall number, an `in`/`out` operand.
            regs[0] = self.rng.below(400);
        }
        let insn = INSNS[self.rng.below(INSNS.len() as u64) as usize];
        let vector = [3, 4, 0x0e, 0x80, 0x20, 1, 2, 8, 0x12, 0xff, 6, 13][self.rng.below(12) as usize];
        let trampoline = self.rng.one_in(16);
        let pid = sys::fork();
        if pid == 0 {
            let page = self.code_page;
            let mut code = [0x0fu8; 32];
            code[..insn.len()].copy_from_slice(insn);
            let mut n = insn.len();
            if insn == [0xcd] {
                code[1] = vector;
                n = 2;
            }
            // ud2 after the instruction (and at every even offset after it).
            for i in (n..32).step_by(2) {
                code[i] = 0x0f;
                if i + 1 < 32 {
                    code[i + 1] = 0x0b;
                }
            }
            for (i, b) in code.iter().enumerate() {
                if probe::store(page + i as u64, *b).is_err() {
                    sys::exit(4);
                }
            }
            let target = if trampoline { 0xffff_ffff_ff60_0000 + (regs[3] & 1) } else { page };
            if trampoline {
                // The trampoline "returns" to RCX: not back into itself, which would loop.
                regs[2] = page + 2 * (regs[2] & 7);
            }
            // SAFETY: the child ends in that code one way or another.
            unsafe { fuzz_run_code(target, regs.as_ptr()) }
        }
        if pid < 0 {
            self.count(pid as i64);
            return;
        }
        self.c.forks += 1;
        let mut status = 0i32;
        if sc(61, [pid as u64, &mut status as *mut i32 as u64, 0, 0, 0, 0]) == pid as i64 {
            if status & 0x7f == 0 {
                self.c.child_exited += 1;
            } else {
                self.c.child_killed += 1;
            }
        }
    }

    /// fork: the child runs wild for a while and exits; the parent reaps it.
    fn fork_child(&mut self) {
        if self.depth >= MAX_DEPTH || (!self.wild && !self.rng.one_in(2)) {
            return;
        }
        let seed = self.rng.next();
        let steps = 10 + self.rng.below(150);
        let pid = sys::fork();
        if pid == 0 {
            self.rng = Rng(seed);
            self.wild = true;
            self.depth += 1;
            for _ in 0..steps {
                self.step();
            }
            sys::exit((seed & 0xff) as i32);
        }
        if pid < 0 {
            self.count(pid as i64);
            return;
        }
        self.c.forks += 1;
        if !self.wild && self.rng.one_in(3) {
            // Left running: a later wait4(-1) reaps it, or process 1 ends first.
            return;
        }
        self.reap(pid as u64);
    }

    /// A chain of up to 24 processes, each the parent of the next; each
    /// level dirties some memory (COW copies) and the last runs wild.
    fn fork_chain(&mut self) {
        if self.depth > 0 {
            return;
        }
        let levels = 2 + self.rng.below(23);
        let seed = self.rng.next();
        for level in 0..levels {
            let pid = sys::fork();
            if pid < 0 {
                self.count(pid as i64);
                if level == 0 {
                    // Still process 1 (or its tame self): stay tame.
                    return;
                }
                break;
            }
            if pid > 0 {
                self.reap(pid as u64);
                if level == 0 {
                    self.c.forks += 1;
                    return;
                }
                sys::exit(0);
            }
            // The child: dirty a few arena pages, then go one level deeper.
            for i in 0..8 {
                let _ = probe::store(self.arena + ((level * 8 + i) % RW_END) * P + level, level as u8);
            }
        }
        self.rng = Rng(seed);
        self.wild = true;
        self.depth = MAX_DEPTH;
        for _ in 0..50 {
            self.step();
        }
        sys::exit(0);
    }

    fn memory(&mut self) {
        let a = self.addr();
        let r = match self.rng.below(3) {
            0 => probe::load(a).map(|_| ()),
            1 if self.tame_ok(a, 1) => probe::store(a, self.rng.next() as u8),
            1 => probe::load(a).map(|_| ()),
            // A jump runs at most one instruction: a `ret` (the exec pages, or
            // any 0xC3 byte), or one that faults because it cannot execute.
            _ => {
                let t = if self.rng.one_in(3) { self.arena + EXEC_PAGES * P + self.rng.below(4 * P) } else { a };
                match probe::load(t) {
                    Ok(0xc3) | Err(_) => probe::exec(t),
                    Ok(_) => Ok(()),
                }
            }
        };
        let c = &mut self.c;
        match r {
            Ok(()) => c.mem_ok += 1,
            Err(f) => match (f.signo, f.code) {
                (11, 1) => c.maperr += 1,
                (11, 2) => c.accerr += 1,
                (7, _) => c.sigbus += 1,
                _ => c.si_kernel += 1,
            },
        }
    }

    /// The VFS's corners: deep and looping paths, renames into a directory's
    /// own subtree, files unlinked while open, directories removed under a
    /// reader or the working directory, running out of descriptors.
    fn vfs(&mut self) {
        const NAMES: [&core::ffi::CStr; 14] = [
            c"/tmp/fz",
            c"/tmp/fz/a",
            c"/tmp/fz/a/b",
            c"/tmp/fz/a/b/c",
            c"/tmp/fz/l1",
            c"/tmp/fz/l2",
            c"/tmp/fz/f",
            c"/tmp/fz/../fz/a/./b/",
            c"/tmp/fz/l1/x",
            c"/proc/self/fd/3",
            c"/proc/self/cwd/fz",
            c"fz",
            c"..",
            c"/dev/null",
        ];
        let name = |f: &mut Self| -> u64 {
            if f.rng.one_in(6) {
                f.path()
            } else {
                NAMES[f.rng.below(NAMES.len() as u64) as usize].as_ptr() as u64
            }
        };
        let (a, b) = (name(self), name(self));
        let at = -100i64 as u64;
        let r = match self.rng.below(20) {
            0 => sc(83, [a, self.rng.below(0o1000), 0, 0, 0, 0]),
            1 => sc(84, [a, 0, 0, 0, 0, 0]),
            2 => sc(87, [a, 0, 0, 0, 0, 0]),
            3 => sc(82, [a, b, 0, 0, 0, 0]),
            4 => sc(316, [at, a, at, b, if self.rng.one_in(2) { self.rng.below(8) } else { self.any() }, 0]),
            5 => sc(86, [a, b, 0, 0, 0, 0]),
            6 => sc(88, [if self.rng.one_in(2) { a } else { c"l2".as_ptr() as u64 }, b, 0, 0, 0, 0]),
            7 => {
                let flags = [0x42, 0x242, 0x4_0000 | 0x1_0000 | 2, 0x41_0002, 0x20_0000, 0x2_0000, 0x1000_0000][self.rng.below(7) as usize];
                let r = sc(257, [if self.rng.one_in(4) { self.fd() } else { at }, a, flags, 0o644, 0, 0]);
                if r > 2 {
                    // Sometimes keep it open and unlink its name.
                    if self.rng.one_in(2) {
                        sc(87, [a, 0, 0, 0, 0, 0]);
                    }
                    self.fds[5] = r as u64;
                }
                r
            }
            8 => sc(80, [a, 0, 0, 0, 0, 0]),
            9 => sc(81, [self.fd(), 0, 0, 0, 0, 0]),
            10 => {
                let len = if self.rng.one_in(2) { 24 + self.rng.below(64) } else { self.len() };
                let buf = self.out_buf(len);
                sc(217, [self.fd(), buf, len, 0, 0, 0])
            }
            11 => {
                let len = self.rng.below(300);
                let buf = self.out_buf(len);
                sc(79, [buf, len, 0, 0, 0, 0])
            }
            12 => {
                let buf = self.out_buf(256);
                sc([4, 6, 332][self.rng.below(3) as usize], [a, buf, 0, 0x7ff, buf, 0])
            }
            13 => {
                let len = self.rng.below(300);
                let buf = self.out_buf(len);
                sc(89, [a, buf, len, 0, 0, 0])
            }
            14 => sc(90, [a, self.rng.below(0o10000), 0, 0, 0, 0]),
            15 => sc(76, [a, self.len(), 0, 0, 0, 0]),
            16 => sc(280, [at, a, if self.rng.one_in(2) { 0 } else { self.in_struct(4) }, self.rng.below(0x2000), 0, 0]),
            17 => sc(439, [at, a, self.rng.below(9), self.rng.below(0x2000), 0, 0]),
            18 => sc(92, [a, self.any() as u32 as u64, self.any() as u32 as u64, 0, 0, 0]),
            _ => {
                // Descriptors exhausted: open until EMFILE, then close them again.
                let mut opened = [0u64; 20];
                let mut last = 0;
                for _ in 0..1200 {
                    last = sc(257, [at, c"/dev/null".as_ptr() as u64, 0, 0, 0, 0]);
                    if last < 0 {
                        break;
                    }
                    let fd = last as u64;
                    if fd >= 64 * opened.len() as u64 {
                        sc(3, [fd, 0, 0, 0, 0, 0]);
                        break;
                    }
                    opened[(fd / 64) as usize] |= 1 << (fd % 64);
                }
                for (w, bits) in opened.iter().enumerate() {
                    for i in 0..64 {
                        if bits & (1 << i) != 0 {
                            sc(3, [w as u64 * 64 + i, 0, 0, 0, 0, 0]);
                        }
                    }
                }
                last
            }
        };
        self.c.vfs += 1;
        self.count(r);
    }

    fn step(&mut self) {
        if self.vfs_rng.one_in(8) {
            core::mem::swap(&mut self.rng, &mut self.vfs_rng);
            self.vfs();
            core::mem::swap(&mut self.rng, &mut self.vfs_rng);
        }
        if self.rng.below(5) < 3 {
            self.syscall();
        } else {
            self.memory();
        }
    }
}

/// `fuzz maps N`: N single-page mappings (N VMAs), then fork until fork fails;
/// prints how far it got. Probes what a guest can make the host hold.
fn maps_then_forks(n: u64) -> i32 {
    let base = sys::mmap_anon((2 * n * P) as usize, sys::PROT_NONE);
    if base < 0 {
        println!("fuzz maps: reserve -> {base}");
        return 3;
    }
    let mut vmas = 0;
    for i in 0..n {
        // SAFETY: inside our own reservation.
        if unsafe { sys::mprotect(base as usize + (2 * i * P) as usize, P as usize, sys::PROT_READ) } != 0 {
            break;
        }
        vmas += 1;
    }
    let mut forks = 0u64;
    let err = loop {
        let pid = sys::fork();
        if pid == 0 {
            sys::exit(0);
        }
        if pid < 0 {
            break pid;
        }
        forks += 1;
        if forks >= 1_000_000 {
            break 0;
        }
    };
    println!("fuzz maps: {vmas} mappings, {forks} forks, then fork -> {err}");
    0
}

fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() {
        return None;
    }
    b.iter().try_fold(0u64, |v, c| if c.is_ascii_digit() { v.checked_mul(10)?.checked_add((c - b'0') as u64) } else { None })
}

#[no_mangle]
pub fn guest_main(args: &Args) -> i32 {
    if args.get(1) == Some(b"maps") {
        return maps_then_forks(args.number(2).unwrap_or(1000));
    }
    let exec_child = args.get(1) == Some(b"exec");
    let (seed, n) = if exec_child { (args.number(2), Some(EXEC_CHILD_STEPS)) } else { (args.number(1), args.number(2)) };
    let (Some(seed), Some(n)) = (seed, n) else {
        println!("usage: fuzz SEED N");
        return 2;
    };
    // Reads of the VMM's stdin would wait for a terminal's input (the
    // console passes stdin through): the fuzzer's descriptor 0 is closed.
    sc(3, [0, 0, 0, 0, 0, 0]);
    let here = 0u64;
    let mut f = Fuzz {
        rng: Rng(seed),
        vfs_rng: Rng(seed ^ 0x5646_5321),
        wild: false,
        depth: 0,
        arena: 0,
        stack: &here as *const u64 as u64,
        owned: [(0, 0); 8],
        code_page: 0,
        fds: [0; 8],
        c: Counts::default(),
        calls: [(0, false); MAX_CALLS],
        ncalls: 0,
    };
    for i in 3..8 {
        if let Some(list) = args.get(i).and_then(|a| a.strip_prefix(b"calls=")) {
            for item in list.split(|c| *c == b',') {
                let (num, risky) = match item.strip_suffix(b"!") {
                    Some(n) => (n, true),
                    None => (item, false),
                };
                if let (Some(v), true) = (parse_u64(num), f.ncalls < MAX_CALLS) {
                    f.calls[f.ncalls] = (v, risky);
                    f.ncalls += 1;
                }
            }
        }
    }
    if probe::install() != 0 {
        println!("fuzz: cannot install the probe handlers");
        return 3;
    }
    f.setup();
    // `fuzz SEED N wild`: process 1 runs wild too (it rarely survives to the summary).
    f.wild = (3..8).any(|i| args.get(i) == Some(b"wild"));
    if exec_child {
        // What a wild child exec'd: wild, forking no further, no summary.
        f.wild = true;
        f.depth = MAX_DEPTH;
        for _ in 0..n {
            f.step();
        }
        return 0;
    }
    for _ in 0..n {
        f.step();
    }
    if f.rng.one_in(2) {
        while f.reap(u64::MAX) {}
    }
    let c = &f.c;
    println!(
        "fuzz: seed {seed} steps {n}: sys ok {} efault {} einval {} enosys {} enomem {} ebadf {} other {} (table calls {}, vfs calls {}); mem ok {} maperr {} accerr {} si_kernel {} sigbus {}; forks {} exited {} killed {}",
        c.sys_ok, c.efault, c.einval, c.enosys, c.enomem, c.ebadf, c.other_err, c.table, c.vfs, c.mem_ok, c.maperr, c.accerr, c.si_kernel, c.sigbus, c.forks, c.child_exited, c.child_killed
    );
    0
}
