//! The syscall table: data, one entry per implemented call.
//!
//! Each entry names the handler, the arguments (name and how `--strace`
//! prints them), how the result prints, how complete the call is, and a
//! note for docs/syscalls.md. Every x86-64 number without an entry returns
//! ENOSYS (and is counted in the run summary). Dispatch, `--strace`, the
//! hostile-guest fuzzer's call list and docs/syscalls.md all read this
//! table; `vmm syscalls` prints it.

use super::args::{Arg, ArgKind as K, RetKind as R};
use super::{
    exec, fd, file, identity, info, mm, namei, open, pidfd, pipe as pipes, poll, process, rw, select, signal, splice, stat, time, vmm,
    wait, Handler,
};
use linux_abi::{arch, fcntl, mman, pipe, sched, sysno as nr, time as t, tty, wait as w};

/// How complete an implementation is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Support {
    /// Linux's semantics for every argument the guest can pass.
    Full,
    /// Implemented with the limits the note names.
    Partial,
    /// Accepted and answered as Linux would for the guest's situation
    /// (nothing to change), without state of its own.
    NoOp,
    /// Ours, not Linux's.
    Extension,
}

impl Support {
    pub fn label(self) -> &'static str {
        match self {
            Support::Full => "Full",
            Support::Partial => "Partial",
            Support::NoOp => "No-op",
            Support::Extension => "Extension",
        }
    }
}

/// One implemented system call.
pub struct Syscall {
    pub nr: u64,
    pub handler: Handler,
    pub args: &'static [Arg],
    pub ret: R,
    pub support: Support,
    pub note: &'static str,
}

impl Syscall {
    /// Linux's name for the number, or ours for an extension.
    pub fn name(&self) -> &'static str {
        name(self.nr).unwrap_or("?")
    }
}

/// The name of any syscall number we know (Linux's or ours).
pub fn name(nr: u64) -> Option<&'static str> {
    nr::name(nr).or_else(|| vmm::name(nr))
}

const fn a(name: &'static str, kind: K) -> Arg {
    Arg { name, kind }
}

macro_rules! sc {
    ($nr:expr, $h:path, [$($arg:expr),*], $ret:ident, $sup:ident, $note:expr) => {
        Syscall { nr: $nr, handler: $h, args: &[$($arg),*], ret: R::$ret, support: Support::$sup, note: $note }
    };
}

const FD: Arg = a("fd", K::Fd);
const PATH: Arg = a("pathname", K::Str);
const ADDR: Arg = a("addr", K::Ptr);
const LEN: Arg = a("len", K::Ulong);
const SIGSET: Arg = a("sigsetsize", K::Ulong);

/// Every implemented call, sorted by number.
pub static TABLE: &[Syscall] = &[
    sc!(nr::READ, rw::read, [FD, a("buf", K::OutBuf(2)), a("count", K::Ulong)], Int, Full, "Files, memfds, /proc/self/{maps,pagemap}; the console's stdin reads the VMM's stdin (blocking, or EAGAIN with O_NONBLOCK)."),
    sc!(nr::WRITE, rw::write, [FD, a("buf", K::InBuf(2)), a("count", K::Ulong)], Int, Full, "The console writes to the VMM's stdout and stderr."),
    sc!(nr::OPEN, open::open, [PATH, a("flags", K::OpenFlags), a("mode", K::Octal)], Int, Partial, "The VFS (docs/filesystems.md): O_CREAT/O_EXCL/O_TRUNC/O_APPEND/O_DIRECTORY/O_NOFOLLOW/O_CLOEXEC/O_PATH/O_TMPFILE, permissions without capabilities, symbolic links, procfs and devfs; /proc/PID/fd/N reopens what the descriptor refers to (not pipes or pidfds: ENXIO). Files are never written to the host."),
    sc!(nr::CLOSE, fd::close, [FD], Int, Full, ""),
    sc!(nr::STAT, stat::stat, [PATH, a("statbuf", K::OutStat)], Int, Full, ""),
    sc!(nr::FSTAT, stat::fstat, [FD, a("statbuf", K::OutStat)], Int, Full, "Console descriptors report the VMM's own descriptor's type."),
    sc!(nr::LSTAT, stat::lstat, [PATH, a("statbuf", K::OutStat)], Int, Full, ""),
    sc!(nr::POLL, poll::poll, [a("fds", K::Ptr), a("nfds", K::Ulong), a("timeout", K::Int)], Int, Partial, "Consoles (the host's answer for the VMM's descriptors), pipes, pidfds, files (always ready); a signal without a handler restarts a timed poll with its whole timeout (Linux goes on with the time left)."),
    sc!(nr::LSEEK, rw::lseek, [FD, a("offset", K::Long), a("whence", K::Enum(fcntl::SEEK_NAMES))], Int, Full, "SEEK_DATA/SEEK_HOLE see a file without holes."),
    sc!(nr::MMAP, mm::mmap, [ADDR, LEN, a("prot", K::Prot), a("flags", K::MapFlags), FD, a("offset", K::Hex)], Hex, Full, "Plus MAP_DONTCOPY and MAP_PAGEPROT (our extensions, docs/nonlinear.md)."),
    sc!(nr::MPROTECT, mm::mprotect, [ADDR, LEN, a("prot", K::Prot)], Int, Full, ""),
    sc!(nr::MUNMAP, mm::munmap, [ADDR, LEN], Int, Full, ""),
    sc!(nr::BRK, mm::brk, [ADDR], Hex, Full, ""),
    sc!(nr::RT_SIGACTION, signal::rt_sigaction, [a("signum", K::Signal), a("act", K::Ptr), a("oldact", K::Ptr), SIGSET], Int, Full, ""),
    sc!(nr::RT_SIGPROCMASK, signal::rt_sigprocmask, [a("how", K::Int), a("set", K::Ptr), a("oldset", K::Ptr), SIGSET], Int, Full, ""),
    sc!(nr::RT_SIGRETURN, signal::rt_sigreturn, [], Int, Partial, "The FPU state of the interrupted code is kept by the host (sigcontext.fpstate is NULL)."),
    sc!(nr::IOCTL, fd::ioctl, [FD, a("request", K::Enum(tty::IOCTL_NAMES)), a("arg", K::Ptr)], Int, Partial, "FIOCLEX, FIONCLEX, FIONBIO, FIONREAD on files; TCGETS and TIOCGWINSZ answered by the host terminal when the console is one, ENOTTY otherwise; PAGEMAP_SCAN on /proc/self/pagemap (every category, mask, limit and errno of Linux 6.18 without soft-dirty, uffd-wp or THP; other pagemap requests EINVAL)."),
    sc!(nr::PREAD64, rw::pread64, [FD, a("buf", K::OutBuf(2)), a("count", K::Ulong), a("offset", K::Long)], Int, Full, ""),
    sc!(nr::PWRITE64, rw::pwrite64, [FD, a("buf", K::InBuf(2)), a("count", K::Ulong), a("offset", K::Long)], Int, Full, ""),
    sc!(nr::READV, rw::readv, [FD, a("iov", K::OutIov(2)), a("iovcnt", K::Int)], Int, Full, ""),
    sc!(nr::WRITEV, rw::writev, [FD, a("iov", K::InIov(2)), a("iovcnt", K::Int)], Int, Full, ""),
    sc!(nr::ACCESS, namei::access, [PATH, a("mode", K::Octal)], Int, Full, ""),
    sc!(nr::PIPE, pipes::pipe, [a("pipefd", K::Ptr)], Int, Full, "A ring of 16 page buffers (fs/pipe.c): PIPE_BUF atomicity, O_DIRECT packets, F_GETPIPE_SZ/F_SETPIPE_SZ, FIONREAD, SIGPIPE; pipe buffers are bounded by the guest's RAM (ENOMEM beyond)."),
    sc!(nr::SELECT, select::select, [a("nfds", K::Int), a("readfds", K::Ptr), a("writefds", K::Ptr), a("exceptfds", K::Ptr), a("timeout", K::Ptr)], Int, Partial, "The time left is written back; nfds is cut to the descriptor table's size as Linux's, computed from the highest open descriptor (Linux's table never shrinks)."),
    sc!(nr::SCHED_YIELD, info::sched_yield, [], Int, Full, ""),
    sc!(nr::MREMAP, mm::mremap, [ADDR, a("old_len", K::Ulong), a("new_len", K::Ulong), a("flags", K::Flags(mman::MREMAP_NAMES)), a("new_addr", K::Ptr)], Hex, Full, ""),
    sc!(nr::MSYNC, mm::msync, [ADDR, LEN, a("flags", K::Flags(mman::MS_NAMES))], Int, Full, "Shared file mappings write back to the file's host-side contents where the engine keeps them; tmpfs-like otherwise."),
    sc!(nr::MINCORE, mm::mincore, [ADDR, LEN, a("vec", K::Ptr)], Int, Full, ""),
    sc!(nr::MADVISE, mm::madvise, [ADDR, LEN, a("advice", K::Enum(mman::MADV_NAMES))], Int, Full, "Including MADV_GUARD_INSTALL/REMOVE; MADV_HWPOISON/SOFT_OFFLINE are EINVAL as without CONFIG_MEMORY_FAILURE."),
    sc!(nr::DUP, fd::dup, [a("oldfd", K::Fd)], Int, Full, ""),
    sc!(nr::DUP2, fd::dup2, [a("oldfd", K::Fd), a("newfd", K::Fd)], Int, Full, ""),
    sc!(nr::PAUSE, signal::pause, [], Int, Full, ""),
    sc!(nr::NANOSLEEP, time::nanosleep, [a("req", K::Ptr), a("rem", K::Ptr)], Int, Full, "Blocks the process; the vCPU sleeps on the host when nothing else can run."),
    sc!(nr::GETPID, process::getpid, [], Int, Full, ""),
    sc!(nr::SENDFILE, splice::sendfile, [a("out_fd", K::Fd), a("in_fd", K::Fd), a("offset", K::Ptr), a("count", K::Ulong)], Int, Partial, "From files, memfds and generated /proc files to pipes, files, memfds and the console (a console that is a pipe on the host takes the whole count, where Linux's splice into it stops at the host pipe's free room)."),
    sc!(nr::CLONE, process::clone, [a("flags", K::Flags(sched::CLONE_NAMES)), a("stack", K::Ptr), a("parent_tid", K::Ptr), a("child_tid", K::Ptr), a("tls", K::Hex)], Int, Partial, "New processes (fork's flags, CLONE_SETTLS, CLONE_*_SETTID, CLONE_CHILD_CLEARTID, CLONE_PARENT, CLONE_VFORK, any exit signal); the flags that share an address space, files or handlers between tasks are ENOSYS until threads (issue 13); namespaces are EPERM."),
    sc!(nr::FORK, process::fork, [], Int, Full, ""),
    sc!(nr::VFORK, process::vfork, [], Int, Partial, "The child gets a copy of the memory, not the parent's (a vfork child may only _exit or exec, so programs cannot tell); the parent waits until it exits or execs."),
    sc!(nr::EXECVE, exec::execve, [a("pathname", K::Str), a("argv", K::Argv), a("envp", K::Envp)], Int, Partial, "Static ELF programs (ET_EXEC, static-pie) and #! scripts with Linux's checks, limits and errno; one needing a program interpreter is ENOENT (the guest has no dynamic loader). Files run when their mode lets the caller execute them (EACCES otherwise), ETXTBSY while open for writing; /proc/self/exe is the running program's file. MFD_NOEXEC_SEAL memfds still run (their mode stays 0777)."),
    sc!(nr::EXIT, process::exit, [a("status", K::Int)], Never, Full, "One thread per process: the same as exit_group."),
    sc!(nr::WAIT4, wait::wait4, [a("pid", K::Int), a("wstatus", K::Ptr), a("options", K::Flags(w::W_NAMES)), a("rusage", K::Ptr)], Int, Partial, "The child's resource usage is reported as zeros."),
    sc!(nr::KILL, signal::kill, [a("pid", K::Int), a("sig", K::Signal)], Int, Full, ""),
    sc!(nr::UNAME, info::uname, [a("buf", K::Ptr)], Int, Full, "sysname Linux, nodename vmm, release 6.18.0, machine x86_64."),
    sc!(nr::FCNTL, fd::fcntl, [FD, a("cmd", K::Enum(fcntl::F_NAMES)), a("arg", K::FcntlArg)], Fcntl, Partial, "F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETOWN, F_SETOWN, F_GETOWN_EX, F_SETOWN_EX, F_GETSIG, F_SETSIG (owners are recorded; no I/O raises SIGIO yet), F_ADD_SEALS, F_GET_SEALS (memfd seals, enforced by write, mmap, mprotect, ftruncate and fallocate); record locks, leases and pipe sizes are not implemented (EINVAL, EBADF for the pipe commands)."),
    sc!(nr::TRUNCATE, namei::truncate, [PATH, a("length", K::Long)], Int, Full, ""),
    sc!(nr::FTRUNCATE, file::ftruncate, [FD, a("length", K::Long)], Int, Full, ""),
    sc!(nr::GETCWD, namei::getcwd, [a("buf", K::Ptr), a("size", K::Ulong)], Int, Full, ""),
    sc!(nr::CHDIR, namei::chdir, [PATH], Int, Partial, "Not into procfs directories (EACCES)."),
    sc!(nr::FCHDIR, namei::fchdir, [FD], Int, Partial, "As chdir."),
    sc!(nr::RENAME, namei::rename, [a("oldpath", K::Str), a("newpath", K::Str)], Int, Full, ""),
    sc!(nr::MKDIR, namei::mkdir, [PATH, a("mode", K::Octal)], Int, Full, ""),
    sc!(nr::RMDIR, namei::rmdir, [PATH], Int, Full, ""),
    sc!(nr::CREAT, open::creat, [PATH, a("mode", K::Octal)], Int, Partial, "As open."),
    sc!(nr::LINK, namei::link, [a("oldpath", K::Str), a("newpath", K::Str)], Int, Full, "fs.protected_hardlinks as Linux's default (1)."),
    sc!(nr::UNLINK, namei::unlink, [PATH], Int, Full, ""),
    sc!(nr::SYMLINK, namei::symlink, [a("target", K::Str), a("linkpath", K::Str)], Int, Full, ""),
    sc!(nr::READLINK, namei::readlink, [PATH, a("buf", K::OutBuf(2)), a("bufsiz", K::Int)], Int, Full, "procfs's magic links show what they refer to."),
    sc!(nr::CHMOD, namei::chmod, [PATH, a("mode", K::Octal)], Int, Full, ""),
    sc!(nr::FCHMOD, namei::fchmod, [FD, a("mode", K::Octal)], Int, Partial, "Descriptors without an inode (memfds, pipes, the console) are EPERM."),
    sc!(nr::CHOWN, namei::chown, [PATH, a("owner", K::Int), a("group", K::Int)], Int, Full, "Without CAP_CHOWN: only to a group of the caller's."),
    sc!(nr::FCHOWN, namei::fchown, [FD, a("owner", K::Int), a("group", K::Int)], Int, Partial, "As fchmod."),
    sc!(nr::LCHOWN, namei::lchown, [PATH, a("owner", K::Int), a("group", K::Int)], Int, Full, ""),
    sc!(nr::UMASK, file::umask, [a("mask", K::Octal)], Octal, Full, "Kept per process and inherited; created files do not record a mode yet."),
    sc!(nr::GETTIMEOFDAY, time::gettimeofday, [a("tv", K::Ptr), a("tz", K::Ptr)], Int, Full, ""),
    sc!(nr::GETRLIMIT, info::getrlimit, [a("resource", K::Resource), a("rlim", K::OutRlimit)], Int, Full, ""),
    sc!(nr::GETUID, identity::getuid, [], Int, Full, "The VMM's own ids, no capabilities (docs/syscalls.md)."),
    sc!(nr::GETGID, identity::getgid, [], Int, Full, ""),
    sc!(nr::SETUID, identity::setuid, [a("uid", K::Int)], Int, Full, ""),
    sc!(nr::SETGID, identity::setgid, [a("gid", K::Int)], Int, Full, ""),
    sc!(nr::GETEUID, identity::geteuid, [], Int, Full, ""),
    sc!(nr::GETEGID, identity::getegid, [], Int, Full, ""),
    sc!(nr::SETPGID, process::setpgid, [a("pid", K::Int), a("pgid", K::Int)], Int, Full, ""),
    sc!(nr::GETPPID, process::getppid, [], Int, Full, ""),
    sc!(nr::GETPGRP, process::getpgrp, [], Int, Full, ""),
    sc!(nr::SETSID, process::setsid, [], Int, Full, ""),
    sc!(nr::SETREUID, identity::setreuid, [a("ruid", K::Int), a("euid", K::Int)], Int, Full, ""),
    sc!(nr::SETREGID, identity::setregid, [a("rgid", K::Int), a("egid", K::Int)], Int, Full, ""),
    sc!(nr::GETGROUPS, identity::getgroups, [a("size", K::Int), a("list", K::Ptr)], Int, Full, ""),
    sc!(nr::SETGROUPS, identity::setgroups, [a("size", K::Int), a("list", K::Ptr)], Int, Full, "EPERM: no CAP_SETGID."),
    sc!(nr::SETRESUID, identity::setresuid, [a("ruid", K::Int), a("euid", K::Int), a("suid", K::Int)], Int, Full, ""),
    sc!(nr::GETRESUID, identity::getresuid, [a("ruid", K::Ptr), a("euid", K::Ptr), a("suid", K::Ptr)], Int, Full, ""),
    sc!(nr::SETRESGID, identity::setresgid, [a("rgid", K::Int), a("egid", K::Int), a("sgid", K::Int)], Int, Full, ""),
    sc!(nr::GETRESGID, identity::getresgid, [a("rgid", K::Ptr), a("egid", K::Ptr), a("sgid", K::Ptr)], Int, Full, ""),
    sc!(nr::GETPGID, process::getpgid, [a("pid", K::Int)], Int, Full, ""),
    sc!(nr::SETFSUID, identity::setfsuid, [a("fsuid", K::Int)], Int, Full, ""),
    sc!(nr::SETFSGID, identity::setfsgid, [a("fsgid", K::Int)], Int, Full, ""),
    sc!(nr::GETSID, process::getsid, [a("pid", K::Int)], Int, Full, ""),
    sc!(nr::CAPGET, process::capget, [a("hdrp", K::Ptr), a("datap", K::Ptr)], Int, Full, "Every set is empty."),
    sc!(nr::CAPSET, process::capset, [a("hdrp", K::Ptr), a("datap", K::Ptr)], Int, Full, "Only empty sets can be set (nothing can be gained)."),
    sc!(nr::RT_SIGPENDING, signal::rt_sigpending, [a("set", K::Ptr), SIGSET], Int, Full, ""),
    sc!(nr::RT_SIGQUEUEINFO, signal::rt_sigqueueinfo, [a("tgid", K::Int), a("sig", K::Signal), a("info", K::Ptr)], Int, Full, ""),
    sc!(nr::RT_SIGSUSPEND, signal::rt_sigsuspend, [a("mask", K::Ptr), SIGSET], Int, Full, ""),
    sc!(nr::SIGALTSTACK, signal::sigaltstack, [a("ss", K::Ptr), a("old_ss", K::Ptr)], Int, Full, ""),
    sc!(nr::STATFS, stat::statfs, [PATH, a("buf", K::Ptr)], Int, Partial, "tmpfs sizes are half the guest's RAM."),
    sc!(nr::FSTATFS, stat::fstatfs, [FD, a("buf", K::Ptr)], Int, Partial, "As statfs."),
    sc!(nr::MLOCK, mm::mlock, [ADDR, LEN], Int, Full, ""),
    sc!(nr::MUNLOCK, mm::munlock, [ADDR, LEN], Int, Full, ""),
    sc!(nr::PRCTL, process::prctl, [a("option", K::Enum(linux_abi::prctl::PR_NAMES)), a("arg2", K::Hex), a("arg3", K::Hex), a("arg4", K::Hex), a("arg5", K::Hex)], Int, Partial, "PR_SET/GET_NAME, NO_NEW_PRIVS, THP_DISABLE, PDEATHSIG (remembered, not acted on yet), DUMPABLE, CHILD_SUBREAPER (remembered), CAPBSET_READ/DROP, GET_SECUREBITS, GET_KEEPCAPS; others EINVAL."),
    sc!(nr::ARCH_PRCTL, process::arch_prctl, [a("code", K::Enum(arch::ARCH_NAMES)), a("addr", K::Hex)], Int, Full, "FS/GS base per process, loaded on every switch, kept by checkpoints; the guest CPU has x87/SSE state only and no CPUID faulting."),
    sc!(nr::SETRLIMIT, info::setrlimit, [a("resource", K::Resource), a("rlim", K::InRlimit)], Int, Partial, "Memory limits (STACK, DATA, MEMLOCK, AS) and NOFILE are enforced; the others are recorded."),
    sc!(nr::SETTIMEOFDAY, time::settimeofday, [a("tv", K::Ptr), a("tz", K::Ptr)], Int, Full, "EPERM: no CAP_SYS_TIME."),
    sc!(nr::GETTID, process::getpid, [], Int, Full, "One thread per process: the pid."),
    sc!(nr::TKILL, signal::tkill, [a("tid", K::Int), a("sig", K::Signal)], Int, Full, ""),
    sc!(nr::TIME, time::time, [a("tloc", K::Ptr)], Int, Full, ""),
    sc!(nr::SCHED_GETAFFINITY, info::sched_getaffinity, [a("pid", K::Int), a("cpusetsize", K::Int), a("mask", K::Ptr)], Int, Full, "One CPU; cpumasks are NR_CPUS=256 bits as on the reference kernel."),
    sc!(nr::REMAP_FILE_PAGES, mm::remap_file_pages, [ADDR, a("size", K::Ulong), a("prot", K::Prot), a("pgoff", K::Ulong), a("flags", K::Hex)], Int, Full, "Linux's emulation, or true nonlinear mappings with per-page protection (docs/nonlinear.md)."),
    sc!(nr::GETDENTS64, stat::getdents64, [FD, a("dirp", K::Ptr), a("count", K::Ulong)], Int, Full, "Creation order with stable positions, as tmpfs (simple_offset) lists."),
    sc!(nr::SET_TID_ADDRESS, process::set_tid_address, [a("tidptr", K::Ptr)], Int, Partial, "The word is cleared at exit; the futex wake comes with threads."),
    sc!(nr::RESTART_SYSCALL, process::restart_syscall, [], Int, Full, ""),
    sc!(nr::CLOCK_SETTIME, time::clock_settime, [a("clockid", K::Enum(t::CLOCK_NAMES)), a("tp", K::Ptr)], Int, Full, "EPERM: no CAP_SYS_TIME."),
    sc!(nr::CLOCK_GETTIME, time::clock_gettime, [a("clockid", K::Enum(t::CLOCK_NAMES)), a("tp", K::Ptr)], Int, Full, "No RTC: the alarm clocks are EINVAL."),
    sc!(nr::CLOCK_GETRES, time::clock_getres, [a("clockid", K::Enum(t::CLOCK_NAMES)), a("res", K::Ptr)], Int, Full, ""),
    sc!(nr::CLOCK_NANOSLEEP, time::clock_nanosleep, [a("clockid", K::Enum(t::CLOCK_NAMES)), a("flags", K::Hex), a("request", K::Ptr), a("remain", K::Ptr)], Int, Full, ""),
    sc!(nr::EXIT_GROUP, process::exit, [a("status", K::Int)], Never, Full, ""),
    sc!(nr::TGKILL, signal::tgkill, [a("tgid", K::Int), a("tid", K::Int), a("sig", K::Signal)], Int, Full, ""),
    sc!(nr::OPENAT, open::openat, [FD, PATH, a("flags", K::OpenFlags), a("mode", K::Octal)], Int, Partial, "As open."),
    sc!(nr::MKDIRAT, namei::mkdirat, [FD, PATH, a("mode", K::Octal)], Int, Full, ""),
    sc!(nr::FCHOWNAT, namei::fchownat, [FD, PATH, a("owner", K::Int), a("group", K::Int), a("flags", K::Flags(fcntl::AT_NAMES))], Int, Full, ""),
    sc!(nr::NEWFSTATAT, stat::newfstatat, [FD, PATH, a("statbuf", K::OutStat), a("flags", K::Flags(fcntl::AT_NAMES))], Int, Full, ""),
    sc!(nr::UNLINKAT, namei::unlinkat, [FD, PATH, a("flags", K::Flags(fcntl::AT_NAMES))], Int, Full, ""),
    sc!(nr::RENAMEAT, namei::renameat, [FD, a("oldpath", K::Str), FD, a("newpath", K::Str)], Int, Full, ""),
    sc!(nr::LINKAT, namei::linkat, [FD, a("oldpath", K::Str), FD, a("newpath", K::Str), a("flags", K::Flags(fcntl::AT_NAMES))], Int, Partial, "AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH: ENOENT here."),
    sc!(nr::SYMLINKAT, namei::symlinkat, [a("target", K::Str), FD, a("linkpath", K::Str)], Int, Full, ""),
    sc!(nr::READLINKAT, namei::readlinkat, [FD, PATH, a("buf", K::OutBuf(3)), a("bufsiz", K::Int)], Int, Full, "As readlink."),
    sc!(nr::FCHMODAT, namei::fchmodat, [FD, PATH, a("mode", K::Octal)], Int, Full, ""),
    sc!(nr::FACCESSAT, namei::faccessat, [FD, PATH, a("mode", K::Octal)], Int, Full, ""),
    sc!(nr::PSELECT6, select::pselect6, [a("nfds", K::Int), a("readfds", K::Ptr), a("writefds", K::Ptr), a("exceptfds", K::Ptr), a("timeout", K::Ptr), a("sig", K::Ptr)], Int, Partial, "As select with a timespec and the signal mask swapped in for the wait."),
    sc!(nr::PPOLL, poll::ppoll, [a("fds", K::Ptr), a("nfds", K::Ulong), a("tsp", K::Ptr), a("sigmask", K::Ptr), a("sigsetsize", K::Ulong)], Int, Partial, "As poll, with the signal mask swapped in for the wait; the time left is not written back to tsp (glibc and musl pass a copy)."),
    sc!(nr::SET_ROBUST_LIST, process::set_robust_list, [a("head", K::Ptr), a("len", K::Ulong)], Int, Partial, "Recorded; robust-futex cleanup at exit comes with threads."),
    sc!(nr::GET_ROBUST_LIST, process::get_robust_list, [a("pid", K::Int), a("head_ptr", K::Ptr), a("len_ptr", K::Ptr)], Int, Full, ""),
    sc!(nr::SPLICE, splice::splice, [a("fd_in", K::Fd), a("off_in", K::Ptr), a("fd_out", K::Fd), a("off_out", K::Ptr), a("len", K::Ulong), a("flags", K::Flags(pipe::SPLICE_NAMES))], Int, Partial, "Between pipes, and between a pipe and a file, memfd or the console (a generated /proc file into a pipe too); a console that is a pipe on the host is one too (a file into it moves at most 64 KiB, an empty host pipe's room); buffers are copied, with Linux's slot and offset structure (a file's bytes as at the splice: Linux shares the page-cache page, so a later write to the file shows to the pipe's reader)."),
    sc!(nr::TEE, splice::tee, [a("fd_in", K::Fd), a("fd_out", K::Fd), a("len", K::Ulong), a("flags", K::Flags(pipe::SPLICE_NAMES))], Int, Partial, "Into a pipe, or the console when it is a pipe on the host; the buffers are copied (Linux shares their pages; nothing can change them in a pipe)."),
    sc!(nr::VMSPLICE, splice::vmsplice, [FD, a("iov", K::Ptr), a("nr_segs", K::Ulong), a("flags", K::Flags(pipe::SPLICE_NAMES))], Int, Partial, "The user's bytes are copied into the pipe at the call, a buffer per page: a later write by a forked sharer never shows (as since Linux's R/O pinning), but neither does the caller's own later write (Linux's reader sees that one)."),
    sc!(nr::UTIMENSAT, namei::utimensat, [FD, PATH, a("times", K::Ptr), a("flags", K::Flags(fcntl::AT_NAMES))], Int, Full, ""),
    sc!(nr::FALLOCATE, file::fallocate, [FD, a("mode", K::Hex), a("offset", K::Long), a("len", K::Long)], Int, Partial, "Allocation and FALLOC_FL_PUNCH_HOLE|KEEP_SIZE; the other modes are EOPNOTSUPP."),
    sc!(nr::DUP3, fd::dup3, [a("oldfd", K::Fd), a("newfd", K::Fd), a("flags", K::OpenFlags)], Int, Full, ""),
    sc!(nr::PIPE2, pipes::pipe2, [a("pipefd", K::Ptr), a("flags", K::Flags(pipe::PIPE2_NAMES))], Int, Partial, "As pipe, with O_CLOEXEC, O_NONBLOCK and O_DIRECT; O_NOTIFICATION_PIPE (watch queues) is EINVAL."),
    sc!(nr::PREADV, rw::preadv, [FD, a("iov", K::OutIov(2)), a("iovcnt", K::Int), a("offset", K::Long)], Int, Full, ""),
    sc!(nr::PWRITEV, rw::pwritev, [FD, a("iov", K::InIov(2)), a("iovcnt", K::Int), a("offset", K::Long)], Int, Full, ""),
    sc!(nr::RT_TGSIGQUEUEINFO, signal::rt_tgsigqueueinfo, [a("tgid", K::Int), a("tid", K::Int), a("sig", K::Signal), a("info", K::Ptr)], Int, Full, ""),
    sc!(nr::PRLIMIT64, info::prlimit64, [a("pid", K::Int), a("resource", K::Resource), a("new_limit", K::InRlimit), a("old_limit", K::OutRlimit)], Int, Partial, "As setrlimit."),
    sc!(nr::GETCPU, info::getcpu, [a("cpu", K::Ptr), a("node", K::Ptr), a("tcache", K::Ptr)], Int, Full, "CPU 0, node 0."),
    sc!(nr::RENAMEAT2, namei::renameat2, [FD, a("oldpath", K::Str), FD, a("newpath", K::Str), a("flags", K::Hex)], Int, Partial, "RENAME_NOREPLACE and RENAME_EXCHANGE; RENAME_WHITEOUT needs CAP_MKNOD (EPERM)."),
    sc!(nr::GETRANDOM, info::getrandom, [a("buf", K::OutBinary), a("buflen", K::Ulong), a("flags", K::Flags(sched::GRND_NAMES))], Int, Full, "From the host's entropy, or reproducible with vmm run --seed."),
    sc!(nr::MEMFD_CREATE, file::memfd_create, [a("name", K::Str), a("flags", K::Flags(mman::MFD_NAMES))], Int, Partial, "MFD_ALLOW_SEALING and MFD_NOEXEC_SEAL (F_SEAL_EXEC) as Linux starts them; the mode stays 0777 with MFD_NOEXEC_SEAL (Linux: 0666); no hugetlbfs."),
    sc!(nr::EXECVEAT, exec::execveat, [FD, PATH, a("argv", K::Argv), a("envp", K::Envp), a("flags", K::Flags(fcntl::AT_NAMES))], Int, Partial, "As execve; AT_EMPTY_PATH runs a descriptor (fexecve: AT_EXECFN /dev/fd/N, comm the file's name), AT_SYMLINK_NOFOLLOW is ELOOP at /proc/self/exe, other flags EINVAL."),
    sc!(nr::USERFAULTFD, pidfd::userfaultfd, [a("flags", K::Flags(fcntl::O_NAMES))], Int, Partial, "EPERM without UFFD_USER_MODE_ONLY, as for an unprivileged process; user-mode userfaultfds are not implemented yet (ENOSYS)."),
    sc!(nr::MLOCK2, mm::mlock2, [ADDR, LEN, a("flags", K::Hex)], Int, Full, ""),
    sc!(nr::STATX, stat::statx, [FD, PATH, a("flags", K::Flags(fcntl::AT_NAMES)), a("mask", K::Hex), a("statxbuf", K::Ptr)], Int, Partial, "STATX_BASIC_STATS and STATX_MNT_ID; no birth time."),
    sc!(nr::RSEQ, process::rseq, [a("rseq", K::Hex), a("rseq_len", K::Hex), a("flags", K::Hex), a("sig", K::Hex)], Int, Full, "CPU 0; a signal interrupting a critical section moves to its abort handler."),
    sc!(nr::PIDFD_OPEN, pidfd::pidfd_open, [a("pid", K::Int), a("flags", K::Flags(fcntl::O_NAMES))], Int, Partial, "The descriptor names the process (read, write, poll, fstat of it are not implemented yet; pidfd_send_signal neither)."),
    sc!(nr::FACCESSAT2, namei::faccessat2, [FD, PATH, a("mode", K::Octal), a("flags", K::Flags(fcntl::AT_NAMES))], Int, Full, ""),
    sc!(nr::PROCESS_MADVISE, pidfd::process_madvise, [a("pidfd", K::Int), a("iovec", K::Ptr), a("vlen", K::Ulong), a("advice", K::Enum(mman::MADV_NAMES)), a("flags", K::Hex)], Int, Partial, "The caller's own address space (a pidfd of itself or PIDFD_SELF); another process's is EPERM without CAP_SYS_NICE, as for the guest on Linux."),
    sc!(nr::FCHMODAT2, namei::fchmodat2, [FD, PATH, a("mode", K::Octal), a("flags", K::Flags(fcntl::AT_NAMES))], Int, Full, ""),
    sc!(nr::MSEAL, mm::mseal, [ADDR, LEN, a("flags", K::Hex)], Int, Full, ""),
    sc!(vmm::SYS_VMM_PLUG, vmm::plug, [a("name", K::Str), a("size", K::Ulong)], Int, Extension, "Plug a memfd-backed memory window /dev/NAME (docs/unplug.md)."),
    sc!(vmm::SYS_VMM_UNPLUG, vmm::unplug, [a("name", K::Str)], Int, Extension, "The unplug transaction (docs/unplug.md)."),
    sc!(vmm::SYS_VM_CHECKPOINT, vmm::checkpoint, [a("flags", K::Hex)], Int, Extension, "Checkpoint the whole VM (docs/vmfork.md)."),
];

/// What a call may do to its caller besides returning a value (the
/// hostile-guest fuzzer keeps its tame process 1 away from these).
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Effect {
    Returns,
    /// May block until something else happens (a signal, a child, time).
    MayBlock,
    /// May end the caller (exit, or a signal it sends itself).
    MayEnd,
    /// Replaces every register (rt_sigreturn).
    Replaces,
    /// Creates a process.
    Forks,
    /// Replaces the caller's program when it succeeds (execve).
    Execs,
}

impl Syscall {
    pub fn effect(&self) -> Effect {
        match self.nr {
            nr::PAUSE
            | nr::RT_SIGSUSPEND
            | nr::NANOSLEEP
            | nr::CLOCK_NANOSLEEP
            | nr::WAIT4
            | nr::WAITID
            | nr::POLL
            | nr::PPOLL
            // Pipes: a read or write of one may sleep, so a tame process
            // must never own one (the fuzzer keeps pipe and pipe2 from it).
            | nr::PIPE
            | nr::PIPE2
            | nr::SELECT
            | nr::PSELECT6
            | nr::SPLICE
            | nr::TEE
            | nr::VMSPLICE
            | nr::SENDFILE
            | nr::RESTART_SYSCALL => Effect::MayBlock,
            nr::EXIT | nr::EXIT_GROUP | nr::KILL | nr::TKILL | nr::TGKILL => Effect::MayEnd,
            nr::RT_SIGRETURN => Effect::Replaces,
            nr::FORK | nr::VFORK | nr::CLONE => Effect::Forks,
            nr::EXECVE | nr::EXECVEAT => Effect::Execs,
            _ => Effect::Returns,
        }
    }
}

/// What docs/syscalls.md says before the table.
const DOC_HEAD: &str = "# System calls

Generated by `vmm syscalls --markdown` from the kernel's syscall table
(vmm/src/kernel/syscalls/table.rs); a test fails when this file is stale.

The guest's kernel answers Linux x86-64 system calls with Linux 6.18's
semantics: numbers, arguments, errno values and edge cases are the host
kernel's, and the C programs under tests/abi compare both. A number not in
this table returns ENOSYS, and the run summary names every such call
(`unimplemented: openat2 x3`).

The machine the calls describe: one CPU; the identity of the VMM process
itself (its uid, gid and supplementary groups) with no capabilities at all,
so privileged operations fail with EPERM and the set*id calls follow the
rules for an unprivileged process; Linux's boot-time resource limits for
the VM's RAM (INIT_RLIMITS: RLIMIT_STACK 8 MiB, RLIMIT_NOFILE 1024/4096,
RLIMIT_MEMLOCK 8 MiB, RLIMIT_NPROC and RLIMIT_SIGPENDING half of
threads-max); uname Linux / vmm / 6.18.0 / x86_64; no RTC and no vDSO. A
program starts with `PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`
and `HOME=/` in its environment (`vmm run --env KEY=VALUE` adds or
replaces), and argv[0] is the path given to `--elf`. Files: a flat
namespace (directories come with the VFS), the console as stdin, stdout
and stderr (the VMM's own), /proc/self/maps and /proc/self/pagemap, a few
/proc/sys values (read-only).
";

/// docs/syscalls.md: gVisor's format, a row per x86-64 call and per extension.
pub fn markdown() -> String {
    let implemented = |nr: u64| lookup(nr).is_some();
    let linux = nr::NAMES.len();
    let done = nr::NAMES.iter().filter(|(n, _)| implemented(*n)).count();
    let count = |s: Support| TABLE.iter().filter(|e| e.support == s && nr::name(e.nr).is_some()).count();
    let mut out = String::from(DOC_HEAD);
    out.push_str(&format!(
        "\nOf {linux} syscalls, {done} are implemented ({} fully, {} partly, {} as no-ops); {} more are our extensions.\n\n",
        count(Support::Full),
        count(Support::Partial),
        count(Support::NoOp),
        TABLE.iter().filter(|e| e.support == Support::Extension).count()
    ));
    out.push_str("| Number | Name | Support | Notes |\n|---|---|---|---|\n");
    let rows = nr::NAMES
        .iter()
        .map(|(n, name)| (*n, *name))
        .chain(TABLE.iter().filter(|e| e.support == Support::Extension).map(|e| (e.nr, e.name())));
    for (n, name) in rows {
        let (support, note) = match lookup(n) {
            Some(e) => (e.support.label(), e.note),
            None => ("Unimplemented", "Returns ENOSYS."),
        };
        let num = if n > 0xffff { format!("{n:#x}") } else { n.to_string() };
        out.push_str(&format!("| {num} | {name} | {support} | {note} |\n"));
    }
    out
}

/// The fuzzer's call list: "NR" for calls that return, "NR!" for those that
/// may block, end the caller, replace its registers or fork.
pub fn fuzz_list() -> String {
    TABLE.iter().map(|e| if e.effect() == Effect::Returns { e.nr.to_string() } else { format!("{}!", e.nr) }).collect::<Vec<_>>().join(",")
}

/// The entry for `nr`.
pub fn lookup(nr: u64) -> Option<&'static Syscall> {
    TABLE.binary_search_by_key(&nr, |s| s.nr).ok().map(|i| &TABLE[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_every_entry_is_named() {
        assert!(TABLE.windows(2).all(|w| w[0].nr < w[1].nr), "sorted by number, no duplicates");
        for s in TABLE {
            assert_ne!(s.name(), "?", "{}", s.nr);
            assert!(s.args.len() <= 6);
            assert!(s.support == Support::Full || !s.note.is_empty(), "{}: a partial call says what is missing", s.name());
        }
        assert_eq!(lookup(nr::WRITE).map(Syscall::name), Some("write"));
        assert!(lookup(nr::OPENAT2).is_none());
    }

    #[test]
    fn docs_syscalls_md_is_generated_from_the_table() {
        let doc = include_str!("../../../../docs/syscalls.md");
        assert!(doc == markdown(), "docs/syscalls.md is stale: run `cargo run --release -- syscalls --markdown > docs/syscalls.md`");
    }
}
