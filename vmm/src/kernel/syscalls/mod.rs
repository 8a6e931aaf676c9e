//! System calls: the table, the one handler signature, and dispatch.
//!
//! Owns the translation from a trapped `syscall` to a handler: the number
//! selects an entry of the table (`table`: data, from which dispatch,
//! `--strace`, the fuzzer's call list and docs/syscalls.md all come), every
//! handler has the signature `fn(&mut Ctx, Args) -> Result<Control, Errno>`,
//! and the result says what happens next: return a value, block, exit, or
//! ask the vCPU loop for something only it can do. Handlers live in files by
//! family (mm, file, rw, fd, signal, process, wait, identity, time, info,
//! vmm extensions).
//!
//! Registers are Linux's: the number in RAX, arguments in RDI, RSI, RDX,
//! R10, R8, R9, the result in RAX (`-errno` on failure), RCX and R11
//! clobbered with the return address and flags as SYSRET leaves them.
//! Arguments are untrusted: every memory argument goes through the engine's
//! user-access path with the process's own permissions (EFAULT otherwise).

pub mod args;
pub mod table;

mod exec;
mod fd;
mod file;
mod identity;
mod info;
mod mm;
mod namei;
mod open;
mod pagemap;
mod pidfd;
mod pipe;
mod poll;
mod process;
mod rw;
mod select;
mod signal;
mod splice;
mod stat;
mod time;
pub mod vmm;
mod wait;

pub use args::{Arg, ArgKind, Args, RetKind};
pub use table::{Support, Syscall};

use super::process::{ExitStatus, Pid, Process, Wait};
use super::{Cpu, Kernel, KernelError, Step};
use guest_mm::{AsId, Errno, VirtAddr, PAGE_SIZE};
use kvm_bindings::kvm_regs;

/// What a handler says happens next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Control {
    /// Return this value in RAX.
    Return(u64),
    /// Park the process; the wait says how the call completes.
    Block(Wait),
    /// The process ends (exit, exit_group).
    Exit(ExitStatus),
    /// Something only the vCPU loop can do; its result becomes the return value.
    Vmm(VmmRequest),
}

/// Requests a syscall hands to the vCPU loop (our extensions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VmmRequest {
    /// Checkpoint the whole VM (docs/vmfork.md).
    Checkpoint,
    /// Plug a memfd-backed memory window named /dev/NAME.
    Plug { name: String, size: u64 },
    /// The unplug transaction (docs/unplug.md).
    Unplug { name: String },
}

/// A handler's result.
pub type SysResult = Result<Control, Errno>;

/// The one handler signature.
pub type Handler = fn(&mut Ctx<'_>, Args) -> SysResult;

/// Success with a value.
pub(crate) fn ok(v: u64) -> SysResult {
    Ok(Control::Return(v))
}

/// What a handler works with: the kernel (the current process, its address
/// space through the engine, the files), the trapped registers, the vCPU's
/// FPU.
pub struct Ctx<'a> {
    pub k: &'a mut Kernel,
    pub regs: &'a mut kvm_regs,
    pub cpu: &'a mut dyn Cpu,
}

impl Ctx<'_> {
    pub fn pid(&self) -> Pid {
        self.k.current
    }

    pub fn proc(&self) -> &Process {
        &self.k.procs[&self.k.current]
    }

    pub fn proc_mut(&mut self) -> &mut Process {
        self.k.procs.get_mut(&self.k.current).expect("the current process exists")
    }

    pub fn space(&self) -> AsId {
        self.proc().space
    }

    /// Runs an engine operation on the current space, collecting its batch.
    pub fn mm<T>(
        &mut self,
        op: impl FnOnce(&mut guest_mm::Engine<vm_memory::GuestMemoryMmap>, AsId) -> (Result<T, Errno>, guest_mm::PteUpdates),
    ) -> Result<T, Errno> {
        let space = self.space();
        let (r, u) = op(&mut self.k.engine, space);
        self.k.pending.absorb(u);
        r
    }

    pub fn read_user(&mut self, va: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.mm(|e, s| e.read_user(s, VirtAddr::new(va), buf).split())
    }

    pub fn write_user(&mut self, va: u64, data: &[u8]) -> Result<(), Errno> {
        self.mm(|e, s| e.write_user(s, VirtAddr::new(va), data).split())
    }

    /// copy_from_user for read/write-style syscalls: the bytes that could be
    /// read in order; EFAULT (or what stopped it) only when none could.
    pub fn read_user_prefix(&mut self, va: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let (done, err) = self.mm(|e, s| {
            let (r, u) = e.read_user_prefix(s, VirtAddr::new(va), buf).split();
            (Ok(r), u)
        })?;
        short_count(done, buf.len(), err)
    }

    /// copy_to_user for read-style syscalls, like `read_user_prefix`.
    pub fn write_user_prefix(&mut self, va: u64, data: &[u8]) -> Result<usize, Errno> {
        let (done, err) = self.mm(|e, s| {
            let (r, u) = e.write_user_prefix(s, VirtAddr::new(va), data).split();
            (Ok(r), u)
        })?;
        short_count(done, data.len(), err)
    }

    pub fn read_u64(&mut self, va: u64) -> Result<u64, Errno> {
        let mut b = [0u8; 8];
        self.read_user(va, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    pub fn write_u64(&mut self, va: u64, v: u64) -> Result<(), Errno> {
        self.write_user(va, &v.to_le_bytes())
    }

    pub fn write_u32(&mut self, va: u64, v: u32) -> Result<(), Errno> {
        self.write_user(va, &v.to_le_bytes())
    }

    /// Reads a NUL-terminated string of fewer than `max` bytes (strncpy_from_user:
    /// ENAMETOOLONG when no NUL comes within `max`).
    pub fn read_cstr(&mut self, va: u64, max: usize) -> Result<Vec<u8>, Errno> {
        read_cstr(self.k, va, max)
    }

    /// A path argument (getname): EFAULT, ENAMETOOLONG, and ENOENT when empty.
    pub fn read_path(&mut self, va: u64) -> Result<String, Errno> {
        let b = self.read_cstr(va, super::fs::PATH_MAX)?;
        if b.is_empty() {
            return Err(Errno::ENOENT);
        }
        Ok(String::from_utf8_lossy(&b).into_owned())
    }
}

/// Reads a NUL-terminated string from the current process (shared with strace).
pub(crate) fn read_cstr(k: &mut Kernel, va: u64, max: usize) -> Result<Vec<u8>, Errno> {
    let space = k.procs.get(&k.current).map(|p| p.space).ok_or(Errno::ESRCH)?;
    let mut out = Vec::new();
    let mut at = va;
    loop {
        // Never read past the current page: the string may end before an unmapped one.
        let n = (PAGE_SIZE - at % PAGE_SIZE) as usize;
        let mut buf = vec![0u8; n];
        let (r, u) = k.engine.read_user(space, VirtAddr::new(at), &mut buf).split();
        k.pending.absorb(u);
        r?;
        if let Some(z) = buf.iter().position(|b| *b == 0) {
            out.extend_from_slice(&buf[..z]);
            break;
        }
        out.extend_from_slice(&buf);
        if out.len() >= max {
            return Err(Errno::ENAMETOOLONG);
        }
        at = at.checked_add(n as u64).ok_or(Errno::EFAULT)?;
    }
    if out.len() >= max {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(out)
}

/// Linux's rule for a partial user copy in read/write: a short count when
/// something was copied, the error when nothing was (a zero-length copy is 0).
fn short_count(done: usize, len: usize, err: Option<Errno>) -> Result<usize, Errno> {
    match err {
        Some(e) if done == 0 && len > 0 => Err(e),
        _ => Ok(done),
    }
}

impl Kernel {
    /// Handles the syscall in `regs` (RIP already points past it).
    pub(crate) fn syscall(&mut self, regs: &mut kvm_regs, cpu: &mut dyn Cpu) -> Result<Step, KernelError> {
        self.stats.syscalls += 1;
        let nr = regs.rax;
        let args = Args([regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9]);
        // SYSRET semantics: RCX and R11 are clobbered with the return address and flags.
        regs.rcx = regs.rip;
        regs.r11 = regs.rflags;
        let entry = table::lookup(nr);
        if entry.is_none() {
            *self.stats.unimplemented.entry(nr).or_insert(0) += 1;
        }
        let call = if self.strace.is_some() { Some(super::strace::Call::enter(self, nr, args)) } else { None };
        let me = self.current;
        if let Some(p) = self.procs.get_mut(&me) {
            p.in_syscall = Some(nr);
        }
        let r = match entry {
            Some(e) => (e.handler)(&mut Ctx { k: self, regs, cpu }, args),
            None => Err(Errno::ENOSYS),
        };
        let control = r.unwrap_or_else(|e| Control::Return(e.as_return() as u64));
        if let Some(call) = call {
            self.trace_result(me, call, &control, regs);
        }
        match control {
            Control::Return(v) => {
                regs.rax = v;
                Ok(Step::Resume)
            }
            Control::Block(w) => self.block(regs, cpu, w),
            Control::Exit(status) => self.exit_current(regs, cpu, status, None),
            Control::Vmm(req) => Ok(Step::Vmm(req)),
        }
    }
}
