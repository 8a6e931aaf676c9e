//! What a successful exec does to the process, past the point of no return
//! (fs/exec.c begin_new_exec and setup_new_exec, kernel/signal.c
//! flush_signal_handlers, arch/x86 start_thread and flush_thread).
//!
//! Owns the switch from the old image to the new one, which the caller has
//! already built completely in a fresh address space (so nothing here can
//! fail because of the program: every check came before). Linux's order
//! and effects, each checked against the host (tests/abi/exec.c):
//! - the vfork parent is released (mm_release's complete_vfork_done);
//! - the new address space replaces the old one, which is destroyed: with
//!   no threads nobody else uses it (a vfork child has its own copy here);
//! - the exe file (/proc/self/exe) is the new program's (set_mm_exe_file);
//! - close-on-exec descriptors are closed (do_close_on_exec);
//! - every handled signal goes back to SIG_DFL, ignored ones stay ignored
//!   (SIGCHLD too), and every action loses its flags and mask
//!   (flush_signal_handlers); the blocked mask and pending signals stay;
//!   the alternate signal stack is disabled, frames of signals being
//!   handled are forgotten;
//! - clear_child_tid, the robust list and the rseq registration are
//!   cleared (exec_mm_release, rseq_execve) -- the old tid word is not
//!   written: no one else shares the old memory;
//! - the process is dumpable again (set_dumpable(SUID_DUMP_USER): the ids do
//!   not change); PDEATHSIG, NO_NEW_PRIVS, THP_DISABLE and the subreaper
//!   flag stay (commit_creds clears PDEATHSIG only when the ids change);
//! - comm is the new name (__set_task_comm); pid, parent, process group,
//!   session, credentials, rlimits, umask and CPU time stay;
//! - start_thread: every general register 0 (ELF_PLAT_INIT), RIP the entry,
//!   RSP the new stack, RFLAGS IF, FS and GS base 0, the FPU in its initial
//!   state (fpu_flush_thread).

use super::Entry;
use crate::kernel::signal::frame::FIXED_RFLAGS;
use crate::kernel::{Cpu, Kernel, KernelError};
use guest_mm::{AsId, ObjectId};
use kvm_bindings::kvm_regs;

/// The new image, loaded and ready: everything begin_new_exec installs.
pub struct NewImage {
    pub space: AsId,
    pub entry: Entry,
    /// The program's file object (the new exe file); the caller holds a
    /// handle for it, which the process takes over.
    pub exe_obj: ObjectId,
    /// What /proc/self/exe reads.
    pub exe: String,
    /// The new task name.
    pub comm: String,
    /// Where the argument and environment strings are (/proc/PID/cmdline, environ).
    pub args: super::ArgArea,
}

impl Kernel {
    /// Installs `img` as the current process's image. Cannot fail for a
    /// reason the guest controls; an internal error is the VMM's.
    pub(crate) fn begin_new_exec(&mut self, img: NewImage, regs: &mut kvm_regs, cpu: &mut dyn Cpu) -> Result<(), KernelError> {
        let me = self.current;
        let p = self.procs.get_mut(&me).ok_or(KernelError::NoCurrentTask)?;
        // complete_vfork_done: the parent goes on with the child's pid.
        let vfork_parent = p.vfork_parent.take();
        let old_space = std::mem::replace(&mut p.space, img.space);
        let old_exe = p.exe_obj.replace(img.exe_obj);
        p.exe = img.exe;
        p.name = img.comm;
        p.args = img.args;
        p.sig.flush_for_exec();
        p.clear_child_tid = 0;
        p.robust_list = (0, 0);
        p.rseq = None;
        p.restart = None;
        p.prctl.undumpable = false;
        p.fs_base = 0;
        p.gs_base = 0;
        p.fpu = None;
        let closing: Vec<i32> = p.fds.iter().filter(|(_, e)| e.cloexec).map(|(n, _)| n).collect();
        let mut closed = Vec::with_capacity(closing.len());
        for n in closing {
            if let Ok(e) = p.fds.remove(n as u32) {
                closed.push(e.file);
            }
        }
        for f in closed {
            self.release_file(f);
        }
        // The vfork parent, if any, sees `vfork_parent` gone and runs on
        // (sched's poll_waiters).
        let _ = vfork_parent;
        if let Some(o) = old_exe {
            let _ = self.engine.put_object(o);
        }
        self.engine.destroy_space(old_space)?;
        *regs = kvm_regs { rip: img.entry.rip, rsp: img.entry.rsp, rflags: FIXED_RFLAGS, ..Default::default() };
        // The FPU is this process's (it is running): its initial state now.
        cpu.load_fpu(None)?;
        self.fpu_owner = Some(me);
        Ok(())
    }
}
