//! Linux x86-64 system calls through the `syscall` instruction.
//!
//! Return values follow the raw kernel convention: a value in -4095..=-1 is
//! `-errno`. Numbers and flag values are Linux's, from linux-abi (the one
//! home of the ABI); the `SYS_*`/`PROT_*`/... names here are typed views of them.

use core::arch::asm;
use linux_abi::mman;
pub use linux_abi::sysno as nr;

pub const SYS_WRITE: usize = nr::WRITE as usize;
pub const SYS_MMAP: usize = nr::MMAP as usize;
pub const SYS_MPROTECT: usize = nr::MPROTECT as usize;
pub const SYS_MUNMAP: usize = nr::MUNMAP as usize;
pub const SYS_RT_SIGACTION: usize = nr::RT_SIGACTION as usize;
pub const SYS_RT_SIGRETURN: usize = nr::RT_SIGRETURN as usize;
pub const SYS_MREMAP: usize = nr::MREMAP as usize;
pub const SYS_MADVISE: usize = nr::MADVISE as usize;
pub const SYS_GETPID: usize = nr::GETPID as usize;
pub const SYS_FORK: usize = nr::FORK as usize;
pub const SYS_EXIT: usize = nr::EXIT as usize;
pub const SYS_WAIT4: usize = nr::WAIT4 as usize;
pub const SYS_EXIT_GROUP: usize = nr::EXIT_GROUP as usize;
pub const SYS_MLOCK: usize = nr::MLOCK as usize;
pub const SYS_MUNLOCK: usize = nr::MUNLOCK as usize;
pub const SYS_FTRUNCATE: usize = nr::FTRUNCATE as usize;
pub const SYS_MEMFD_CREATE: usize = nr::MEMFD_CREATE as usize;
pub const SYS_OPENAT: usize = nr::OPENAT as usize;
pub const SYS_CLOSE: usize = nr::CLOSE as usize;
pub const SYS_UNLINK: usize = nr::UNLINK as usize;

pub const SIGBUS: usize = linux_abi::Signal::SIGBUS.number() as usize;
pub const SIGSEGV: usize = linux_abi::Signal::SIGSEGV.number() as usize;

pub const MADV_DONTNEED: usize = mman::MADV_DONTNEED as usize;
pub const MADV_DONTFORK: usize = mman::MADV_DONTFORK as usize;
pub const MADV_WIPEONFORK: usize = mman::MADV_WIPEONFORK as usize;
pub const MADV_GUARD_INSTALL: usize = mman::MADV_GUARD_INSTALL as usize;
pub const MADV_GUARD_REMOVE: usize = mman::MADV_GUARD_REMOVE as usize;

pub const PROT_NONE: usize = mman::PROT_NONE as usize;
pub const PROT_READ: usize = mman::PROT_READ as usize;
pub const PROT_WRITE: usize = mman::PROT_WRITE as usize;
pub const PROT_EXEC: usize = mman::PROT_EXEC as usize;

pub const MAP_SHARED: usize = mman::MAP_SHARED as usize;
pub const MAP_PRIVATE: usize = mman::MAP_PRIVATE as usize;
pub const MAP_FIXED: usize = mman::MAP_FIXED as usize;
pub const MAP_ANONYMOUS: usize = mman::MAP_ANONYMOUS as usize;
pub const MAP_NORESERVE: usize = mman::MAP_NORESERVE as usize;

pub const PAGE: usize = mman::PAGE_SIZE as usize;

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
