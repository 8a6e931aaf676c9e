//! System call dispatch: Linux x86-64 numbers, registers and errno.
//!
//! Owns the translation from a trapped `syscall` to kernel and engine
//! operations. Arguments come from guest registers and are untrusted; every
//! memory argument is read or written through the engine's user-access path
//! with the process's own permissions (EFAULT when it could not touch it).
//! On return RAX holds the result or -errno, RCX the return address and R11
//! the flags, as after SYSRET; unknown numbers get -ENOSYS.

use super::process::*;
use super::signal;
use super::{Cpu, Kernel, Step};
use crate::error::VmmError;
use guest_mm::ops::mmap::{MapFile, MmapArgs};
use guest_mm::{Errno, VirtAddr};
use kvm_bindings::kvm_regs;

pub const SYS_READ: u64 = 0;
pub const SYS_WRITE: u64 = 1;
pub const SYS_OPEN: u64 = 2;
pub const SYS_CLOSE: u64 = 3;
pub const SYS_LSEEK: u64 = 8;
pub const SYS_PREAD64: u64 = 17;
pub const SYS_PWRITE64: u64 = 18;
pub const SYS_FTRUNCATE: u64 = 77;
pub const SYS_UNLINK: u64 = 87;
pub const SYS_OPENAT: u64 = 257;
pub const SYS_UNLINKAT: u64 = 263;
pub const SYS_FALLOCATE: u64 = 285;
pub const SYS_MEMFD_CREATE: u64 = 319;
pub const SYS_MMAP: u64 = 9;
pub const SYS_MPROTECT: u64 = 10;
pub const SYS_MUNMAP: u64 = 11;
pub const SYS_BRK: u64 = 12;
pub const SYS_MREMAP: u64 = 25;
pub const SYS_MADVISE: u64 = 28;
pub const SYS_FORK: u64 = 57;
pub const SYS_MLOCK: u64 = 149;
pub const SYS_MUNLOCK: u64 = 150;
pub const SYS_MLOCK2: u64 = 325;
pub const SYS_REMAP_FILE_PAGES: u64 = 216;
pub const SYS_CAPSET: u64 = 126;
pub const SYS_PRCTL: u64 = 157;
pub const SYS_RT_SIGACTION: u64 = 13;
pub const SYS_RT_SIGPROCMASK: u64 = 14;
pub const SYS_RT_SIGRETURN: u64 = 15;
pub const SYS_GETPID: u64 = 39;
pub const SYS_EXIT: u64 = 60;
pub const SYS_WAIT4: u64 = 61;
pub const SYS_GETPPID: u64 = 110;
pub const SYS_EXIT_GROUP: u64 = 231;
/// Our own call, far outside Linux's table (which Linux answers with ENOSYS):
/// the whole VM checkpoints here (docs/vmfork.md). RDI must be 0.
pub const SYS_VM_CHECKPOINT: u64 = 0x564d_0001;

type Ret = Result<u64, Errno>;

impl Kernel {
    /// Handles the syscall in `regs` (RIP already points past it).
    pub(crate) fn syscall(&mut self, regs: &mut kvm_regs, cpu: &mut dyn Cpu) -> Result<Step, VmmError> {
        self.stats.syscalls += 1;
        let (nr, a) = (regs.rax, [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9]);
        // SYSRET semantics: RCX and R11 are clobbered with the return address and flags.
        regs.rcx = regs.rip;
        regs.r11 = regs.rflags;
        let r: Ret = match nr {
            SYS_READ => self.sys_read(a[0], a[1], a[2], None),
            SYS_WRITE => self.sys_write(a[0], a[1], a[2], None),
            SYS_PREAD64 => self.sys_read(a[0], a[1], a[2], Some(a[3])),
            SYS_PWRITE64 => self.sys_write(a[0], a[1], a[2], Some(a[3])),
            SYS_OPEN => self.sys_openat(super::sys_fs::AT_FDCWD as u64, a[0], a[1], a[2]),
            SYS_OPENAT => self.sys_openat(a[0], a[1], a[2], a[3]),
            SYS_CLOSE => self.sys_close(a[0]),
            SYS_LSEEK => self.sys_lseek(a[0], a[1], a[2]),
            SYS_UNLINK => self.sys_unlink(a[0]),
            SYS_UNLINKAT if a[2] == 0 => self.sys_unlink(a[1]),
            SYS_UNLINKAT => Err(Errno::EINVAL),
            SYS_MEMFD_CREATE => self.sys_memfd_create(a[0], a[1]),
            SYS_FTRUNCATE => self.sys_ftruncate(a[0], a[1]),
            SYS_FALLOCATE => self.sys_fallocate(a[0], a[1], a[2], a[3]),
            SYS_MMAP => self.sys_mmap(a),
            SYS_MPROTECT => self.mm(|e, s| e.mprotect(s, a[0], a[1], a[2]).split()).map(|_| 0),
            SYS_MUNMAP => self.mm(|e, s| e.munmap(s, a[0], a[1]).split()).map(|_| 0),
            SYS_MREMAP => self.mm(|e, s| e.mremap(s, a[0], a[1], a[2], a[3], a[4]).split()).map(|v| v.as_u64()),
            SYS_MADVISE => self.mm(|e, s| e.madvise(s, a[0], a[1], a[2]).split()).map(|_| 0),
            SYS_MLOCK => self.mm(|e, s| e.mlock(s, a[0], a[1]).split()).map(|_| 0),
            SYS_MLOCK2 => self.mm(|e, s| e.mlock2(s, a[0], a[1], a[2]).split()).map(|_| 0),
            SYS_MUNLOCK => self.mm(|e, s| e.munlock(s, a[0], a[1]).split()).map(|_| 0),
            SYS_REMAP_FILE_PAGES => self.mm(|e, s| e.remap_file_pages(s, a[0], a[1], a[2], a[3], a[4]).split()).map(|_| 0),
            SYS_FORK => self.sys_fork(regs, cpu),
            // The guest runs unprivileged already: dropping capabilities is a no-op.
            SYS_CAPSET => Ok(0),
            // PR_SET_THP_DISABLE: the engine has no huge pages to disable.
            SYS_PRCTL if a[0] == 41 => Ok(0),
            SYS_PRCTL => Err(Errno::EINVAL),
            // No heap: report the break as 0, which callers treat as "use mmap".
            SYS_BRK => Ok(0),
            SYS_RT_SIGACTION => self.sys_sigaction(a[0], a[1], a[2], a[3]),
            SYS_RT_SIGPROCMASK => self.sys_sigprocmask(a[0], a[1], a[2], a[3]),
            SYS_RT_SIGRETURN => return self.sys_sigreturn(regs, cpu),
            SYS_GETPID => Ok(self.current() as u64),
            SYS_GETPPID => Ok(self.procs.get(&self.current()).map_or(0, |p| p.ppid) as u64),
            SYS_EXIT | SYS_EXIT_GROUP => return self.exit_current(regs, cpu, ExitStatus::Exited(a[0] as i32), None),
            SYS_WAIT4 => return self.sys_wait4(regs, cpu, a[0] as i32 as i64, a[1], a[2]),
            super::sys_dev::SYS_VMM_PLUG => self.sys_vmm_plug(a[0], a[1]),
            super::sys_dev::SYS_VMM_UNPLUG => self.sys_vmm_unplug(a[0]),
            // The vCPU loop decides what the call returns (vmfork::abi).
            SYS_VM_CHECKPOINT if a[0] == 0 => return Ok(Step::Checkpoint),
            SYS_VM_CHECKPOINT => Err(Errno::EINVAL),
            _ => Err(Errno::ENOSYS),
        };
        regs.rax = match r {
            Ok(v) => v,
            Err(e) => e.as_return() as u64,
        };
        Ok(Step::Resume)
    }

    /// Runs an engine operation on the current space, collecting its batch.
    fn mm<T>(
        &mut self,
        op: impl FnOnce(&mut guest_mm::Engine<vm_memory::GuestMemoryMmap>, guest_mm::AsId) -> (Result<T, Errno>, guest_mm::PteUpdates),
    ) -> Result<T, Errno> {
        let space = self.current_space().ok_or(Errno::ESRCH)?;
        let (r, u) = op(&mut self.engine, space);
        self.pending.absorb(u);
        r
    }

    pub(crate) fn read_user(&mut self, va: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.mm(|e, s| e.read_user(s, VirtAddr::new(va), buf).split())
    }

    /// copy_from_user for read/write-style syscalls: the bytes that could be
    /// read in order; EFAULT (or what stopped it) only when none could.
    pub(crate) fn read_user_prefix(&mut self, va: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let (done, err) = self.mm(|e, s| {
            let (r, u) = e.read_user_prefix(s, VirtAddr::new(va), buf).split();
            (Ok(r), u)
        })?;
        short_count(done, buf.len(), err)
    }

    /// copy_to_user for read-style syscalls, like `read_user_prefix`.
    pub(crate) fn write_user_prefix(&mut self, va: u64, data: &[u8]) -> Result<usize, Errno> {
        let (done, err) = self.mm(|e, s| {
            let (r, u) = e.write_user_prefix(s, VirtAddr::new(va), data).split();
            (Ok(r), u)
        })?;
        short_count(done, data.len(), err)
    }

    pub(crate) fn write_user(&mut self, va: u64, data: &[u8]) -> Result<(), Errno> {
        self.mm(|e, s| e.write_user(s, VirtAddr::new(va), data).split())
    }

    fn sys_mmap(&mut self, a: [u64; 6]) -> Ret {
        let file = if a[3] & guest_mm::ops::map::ANONYMOUS != 0 { MapFile::None } else { self.mmap_file(a[4]) };
        let args = MmapArgs { addr: a[0], len: a[1], prot: a[2], flags: a[3], file, offset: a[5] };
        self.mm(|e, s| e.mmap(s, args).split()).map(|v| v.as_u64())
    }

    /// fork(2): the child is a copy (COW memory, descriptors, signal state)
    /// that returns 0; the parent gets the child's pid and runs on.
    fn sys_fork(&mut self, regs: &kvm_regs, cpu: &mut dyn Cpu) -> Ret {
        let me = self.current();
        // copy_process: nr_threads >= max_threads is EAGAIN. Also keeps
        // alloc_pid from looping: at most max_procs < PID_MAX pids are in use.
        if self.procs.len() >= self.max_procs.min(32000) {
            return Err(Errno::EAGAIN);
        }
        let parent = self.procs.get(&me).ok_or(Errno::ESRCH)?;
        let (space, fds, actions, blocked, name, signal_fpu) =
            (parent.space, parent.fds.clone(), parent.actions, parent.blocked, parent.name.clone(), parent.signal_fpu.clone());
        let child_space = self.mm(|e, _| e.fork(space).split())?;
        let fpu = cpu.save_fpu().map_err(|_| Errno::ENOMEM)?;
        for o in fds.objects() {
            let _ = self.engine.hold_object(o);
        }
        let pid = self.alloc_pid();
        let mut child_regs = *regs;
        child_regs.rax = 0;
        let mut child = Process::new(pid, me, name, child_space, child_regs);
        child.fpu = Some(fpu);
        child.fds = fds;
        child.actions = actions;
        child.blocked = blocked;
        child.signal_fpu = signal_fpu;
        self.procs.insert(pid, child);
        self.stats.processes += 1;
        Ok(pid as u64)
    }

    fn sys_sigaction(&mut self, sig: u64, act: u64, oldact: u64, size: u64) -> Ret {
        let new = if act != 0 {
            let mut b = [0u8; 32];
            self.read_user(act, &mut b)?;
            Some(b)
        } else {
            None
        };
        let pid = self.current();
        let p = self.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
        // Validate before committing: a bad oldact must not leave the action changed.
        let saved = p.actions;
        let old = signal::sigaction(p, sig, new, size)?;
        if oldact != 0 {
            if let Err(e) = self.write_user(oldact, &old) {
                if let Some(p) = self.procs.get_mut(&pid) {
                    p.actions = saved;
                }
                return Err(e);
            }
        }
        Ok(0)
    }

    fn sys_sigprocmask(&mut self, how: u64, set: u64, oldset: u64, size: u64) -> Ret {
        if size != 8 {
            return Err(Errno::EINVAL);
        }
        let new = if set != 0 {
            let mut b = [0u8; 8];
            self.read_user(set, &mut b)?;
            Some(u64::from_le_bytes(b))
        } else {
            None
        };
        let pid = self.current();
        let p = self.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
        let before = p.blocked;
        let old = signal::sigprocmask(p, how, new)?;
        if oldset != 0 {
            if let Err(e) = self.write_user(oldset, &old.to_le_bytes()) {
                if let Some(p) = self.procs.get_mut(&pid) {
                    p.blocked = before;
                }
                return Err(e);
            }
        }
        Ok(0)
    }

    fn sys_sigreturn(&mut self, regs: &mut kvm_regs, cpu: &mut dyn Cpu) -> Result<Step, VmmError> {
        let space = self.current_space().ok_or_else(|| VmmError::Internal("no current process".into()))?;
        let pid = self.current();
        let Kernel { engine, procs, pending, .. } = self;
        let p = procs.get_mut(&pid).expect("current process exists");
        let r = signal::sigreturn(p, regs, |va, buf| {
            let (r, u) = engine.read_user(space, va, buf).split();
            pending.absorb(u);
            r
        });
        let fpu = p.signal_fpu.pop();
        match r {
            Ok(()) => {
                if let Some(f) = fpu {
                    cpu.load_fpu(Some(&f))?;
                }
                Ok(Step::Resume)
            }
            Err(_) => {
                let f = guest_mm::SigFault { signal: guest_mm::Signal::SIGSEGV, code: guest_mm::SiCode::Kernel, addr: VirtAddr::new(0) };
                self.raise(regs, cpu, f, 0, 0)
            }
        }
    }

    fn sys_wait4(&mut self, regs: &mut kvm_regs, cpu: &mut dyn Cpu, pid: i64, status: u64, options: u64) -> Result<Step, VmmError> {
        const WNOHANG: u64 = 1;
        let me = self.current();
        let has_child = self.procs.values().any(|c| c.ppid == me && (pid == -1 || pid == c.pid as i64));
        if (pid != -1 && pid <= 0) || !has_child {
            regs.rax = Errno::ECHILD.as_return() as u64;
            return Ok(Step::Resume);
        }
        if let Some(p) = self.procs.get_mut(&me) {
            p.state = RunState::Waiting { pid, status_addr: status, options };
            p.regs = *regs;
        }
        if self.try_reap(me)? {
            *regs = self.procs[&me].regs;
            return Ok(Step::Resume);
        }
        if options & WNOHANG != 0 {
            if let Some(p) = self.procs.get_mut(&me) {
                p.state = RunState::Runnable;
            }
            regs.rax = 0;
            return Ok(Step::Resume);
        }
        self.schedule(regs, cpu, false)
    }
}

/// Linux's rule for a partial user copy in read/write: a short count when
/// something was copied, the error when nothing was (a zero-length copy is 0).
fn short_count(done: usize, len: usize, err: Option<Errno>) -> Result<usize, Errno> {
    match err {
        Some(e) if done == 0 && len > 0 => Err(e),
        _ => Ok(done),
    }
}
