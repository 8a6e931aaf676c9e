//! Linux x86-64 system calls through the `syscall` instruction.
//!
//! Return values follow the raw kernel convention: a value in -4095..=-1 is
//! `-errno`. Numbers and flag values are Linux's (arch/x86/entry/syscalls).

use core::arch::asm;

pub const SYS_WRITE: usize = 1;
pub const SYS_MMAP: usize = 9;
pub const SYS_MPROTECT: usize = 10;
pub const SYS_MUNMAP: usize = 11;
pub const SYS_RT_SIGACTION: usize = 13;
pub const SYS_RT_SIGRETURN: usize = 15;
pub const SYS_MREMAP: usize = 25;
pub const SYS_MADVISE: usize = 28;
pub const SYS_GETPID: usize = 39;
pub const SYS_FORK: usize = 57;
pub const SYS_EXIT: usize = 60;
pub const SYS_WAIT4: usize = 61;
pub const SYS_EXIT_GROUP: usize = 231;
pub const SYS_MLOCK: usize = 149;
pub const SYS_MUNLOCK: usize = 150;
pub const SYS_FTRUNCATE: usize = 77;
pub const SYS_MEMFD_CREATE: usize = 319;
pub const SYS_OPENAT: usize = 257;
pub const SYS_CLOSE: usize = 3;
pub const SYS_UNLINK: usize = 87;

pub const SIGBUS: usize = 7;
pub const SIGSEGV: usize = 11;

pub const MADV_DONTNEED: usize = 4;
pub const MADV_DONTFORK: usize = 10;
pub const MADV_WIPEONFORK: usize = 18;
pub const MADV_GUARD_INSTALL: usize = 102;
pub const MADV_GUARD_REMOVE: usize = 103;

pub const PROT_NONE: usize = 0;
pub const PROT_READ: usize = 1;
pub const PROT_WRITE: usize = 2;
pub const PROT_EXEC: usize = 4;

pub const MAP_SHARED: usize = 0x01;
pub const MAP_PRIVATE: usize = 0x02;
pub const MAP_FIXED: usize = 0x10;
pub const MAP_ANONYMOUS: usize = 0x20;

pub const PAGE: usize = 4096;

/// Raw six-argument system call.
///
/// # Safety
/// The caller answers for what the call does to memory it names.
#[inline(always)]
pub unsafe fn syscall6(n: usize, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize, a6: usize) -> isize {
    let ret: isize;
    asm!(
        "syscall",
        inlateout("rax") n as isize => ret,
        in("rdi") a1, in("rsi") a2, in("rdx") a3, in("r10") a4, in("r8") a5, in("r9") a6,
        lateout("rcx") _, lateout("r11") _,
        options(nostack)
    );
    ret
}

/// write(2).
pub fn write(fd: i32, buf: &[u8]) -> isize {
    // SAFETY: the kernel only reads `buf`.
    unsafe { syscall6(SYS_WRITE, fd as usize, buf.as_ptr() as usize, buf.len(), 0, 0, 0) }
}

/// exit_group(2): never returns.
pub fn exit(code: i32) -> ! {
    loop {
        // SAFETY: ends the process.
        unsafe { syscall6(SYS_EXIT_GROUP, code as usize, 0, 0, 0, 0, 0) };
    }
}

/// getpid(2).
pub fn getpid() -> isize {
    // SAFETY: no memory is involved.
    unsafe { syscall6(SYS_GETPID, 0, 0, 0, 0, 0, 0) }
}

/// mmap(2); returns the address or `-errno`.
///
/// # Safety
/// MAP_FIXED can replace memory the program is using.
pub unsafe fn mmap(addr: usize, len: usize, prot: usize, flags: usize, fd: i32, off: usize) -> isize {
    syscall6(SYS_MMAP, addr, len, prot, flags, fd as usize, off)
}

/// munmap(2).
///
/// # Safety
/// Unmaps memory the program may still reference.
pub unsafe fn munmap(addr: usize, len: usize) -> isize {
    syscall6(SYS_MUNMAP, addr, len, 0, 0, 0, 0)
}

/// mprotect(2).
///
/// # Safety
/// Changes the access rights of memory the program may be using.
pub unsafe fn mprotect(addr: usize, len: usize, prot: usize) -> isize {
    syscall6(SYS_MPROTECT, addr, len, prot, 0, 0, 0)
}

/// An anonymous private mapping of `len` bytes, or `-errno`.
pub fn mmap_anon(len: usize, prot: usize) -> isize {
    // SAFETY: a fresh mapping chosen by the kernel replaces nothing.
    unsafe { mmap(0, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) }
}

/// madvise(2).
///
/// # Safety
/// Advice such as MADV_DONTNEED discards memory the program may use.
pub unsafe fn madvise(addr: usize, len: usize, advice: usize) -> isize {
    syscall6(SYS_MADVISE, addr, len, advice, 0, 0, 0)
}

/// fork(2): 0 in the child, the child's pid in the parent, or -errno.
pub fn fork() -> isize {
    // SAFETY: the child continues with a copy of our memory.
    unsafe { syscall6(SYS_FORK, 0, 0, 0, 0, 0, 0) }
}

/// wait4(pid, &status, 0, NULL): returns (pid or -errno, status).
pub fn wait(pid: isize) -> (isize, i32) {
    let mut status: i32 = 0;
    // SAFETY: the kernel writes the status into our local.
    let r = unsafe { syscall6(SYS_WAIT4, pid as usize, &mut status as *mut i32 as usize, 0, 0, 0, 0) };
    (r, status)
}
