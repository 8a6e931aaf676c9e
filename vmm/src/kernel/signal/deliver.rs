//! Generating signals and delivering them on the way back to user mode.
//!
//! Mirrors kernel/signal.c (send_signal_locked, force_sig_info_to_task,
//! get_signal with its default actions) and arch/x86/kernel/signal.c
//! (arch_do_signal_or_restart, handle_signal: the restart of an interrupted
//! syscall, rseq's fixup, the frame). Delivery runs for the current process
//! every time it is about to return to user mode, after a syscall, a fault
//! or a switch to it, so a signal sent to oneself (kill, tgkill, raise) is
//! handled before the call returns, as in Linux.

use super::frame::{self, FrameInput};
use super::{queue, SigFields, SigInfo};
use crate::kernel::process::{ExitStatus, Pid, Process, RunState, Wait};
use crate::kernel::report::KillReport;
use crate::kernel::{Cpu, Kernel, KernelError, Step};
use guest_mm::{Errno, VirtAddr};
use kvm_bindings::kvm_regs;
use linux_abi::resource::RLIMIT_SIGPENDING;
use linux_abi::signal::{si, DefaultAction, Signal, SA_RESTART};
use linux_abi::sysno;

/// The stop signals, whose generation discards a pending SIGCONT and the
/// other way round.
const STOP_MASK: u64 = Signal::SIGSTOP.bit() | Signal::SIGTSTP.bit() | Signal::SIGTTIN.bit() | Signal::SIGTTOU.bit();

/// The kernel-internal restart codes as raw syscall returns.
fn restart_code(rax: u64) -> Option<Errno> {
    Errno::from_return(rax as i64)
        .filter(|e| matches!(*e, Errno::ERESTARTSYS | Errno::ERESTARTNOINTR | Errno::ERESTARTNOHAND | Errno::ERESTART_RESTARTBLOCK))
}

/// The raw return value of an errno.
fn ret(e: Errno) -> u64 {
    e.as_return() as u64
}

impl Kernel {
    /// send_signal: queues `info` for `pid` unless it is ignored; SIGCONT
    /// continues a stopped process, SIGKILL makes it runnable so it can die,
    /// and a blocked process that can take the signal now is woken.
    pub(crate) fn send_signal(&mut self, pid: Pid, info: SigInfo) {
        let sig = info.signal();
        let Some(p) = self.procs.get_mut(&pid) else { return };
        if p.is_zombie() {
            return;
        }
        if sig == Signal::SIGCONT {
            p.sig.pending.discard(STOP_MASK);
            if matches!(p.state, RunState::Stopped(_)) {
                p.state = RunState::Runnable;
                p.continued = true;
                self.notify_parent_stop(pid, si::CLD_CONTINUED, Signal::SIGCONT);
            }
        } else if STOP_MASK & sig.bit() != 0 {
            p.sig.pending.discard(Signal::SIGCONT.bit());
        }
        let Some(p) = self.procs.get_mut(&pid) else { return };
        if sig == Signal::SIGKILL && matches!(p.state, RunState::Stopped(_)) {
            p.state = RunState::Runnable;
        }
        let limit = p.rlimit(RLIMIT_SIGPENDING);
        if !queue(&mut p.sig, info, limit) {
            return;
        }
        if p.sig.deliverable() & sig.bit() != 0 {
            self.interrupt(pid);
        }
    }

    /// Wakes a blocked process for a signal: its call ends with the restart
    /// code its kind of wait calls for.
    fn interrupt(&mut self, pid: Pid) {
        let now = self.clock.monotonic_ns();
        let Some(p) = self.procs.get(&pid) else { return };
        let RunState::Blocked(w) = p.state else { return };
        let code = match w {
            // do_wait looks at the children before it looks at signals: a
            // child that is ready (the one whose exit sent this SIGCHLD)
            // completes the wait; the signal is delivered after it returns.
            Wait::Child { .. } => match self.wait_ready(pid, w) {
                Ok(Some(v)) => {
                    let p = self.procs.get_mut(&pid).expect("checked");
                    p.regs.rax = v;
                    p.state = RunState::Runnable;
                    return;
                }
                _ => Errno::ERESTARTSYS,
            },
            Wait::Signal => Errno::ERESTARTNOHAND,
            // A read that would sleep (pipe_read, n_tty_read): -ERESTARTSYS.
            Wait::Input => Errno::ERESTARTSYS,
            // do_sys_poll: -ERESTARTNOHAND (EINTR when a handler runs).
            Wait::Poll { .. } => Errno::ERESTARTNOHAND,
            // pipe_write returns what it wrote before it slept; otherwise a
            // pipe wait is -ERESTARTSYS.
            Wait::Pipe { .. } => {
                let p = self.procs.get_mut(&pid).expect("checked");
                match p.pipe_done.take() {
                    Some(done) if done > 0 => {
                        p.regs.rax = done;
                        p.state = RunState::Runnable;
                        return;
                    }
                    _ => Errno::ERESTARTSYS,
                }
            }
            // core_sys_select: -ERESTARTNOHAND, with the time left written back.
            Wait::Select(s) => match self.select_interrupted(pid, &s) {
                Some(e) => e,
                None => return,
            },
            Wait::Yield => return,
            // The vfork parent is killable only (TASK_KILLABLE): other signals wait.
            Wait::Vfork { .. } if self.procs[&pid].sig.pending.set & Signal::SIGKILL.bit() == 0 => return,
            Wait::Vfork { .. } => Errno::EINTR,
            Wait::Sleep { until, rem } => {
                let p = self.procs.get_mut(&pid).expect("checked");
                p.restart = Some(Wait::Sleep { until, rem });
                if rem != 0 {
                    let left = until.saturating_sub(now);
                    let ts = [(left / 1_000_000_000).to_le_bytes(), (left % 1_000_000_000).to_le_bytes()].concat();
                    let space = p.space;
                    let (r, u) = self.engine.write_user(space, VirtAddr::new(rem), &ts).split();
                    self.pending.absorb(u);
                    if r.is_err() {
                        let p = self.procs.get_mut(&pid).expect("checked");
                        p.regs.rax = ret(Errno::EFAULT);
                        p.state = RunState::Runnable;
                        p.restart = None;
                        return;
                    }
                }
                Errno::ERESTART_RESTARTBLOCK
            }
        };
        let p = self.procs.get_mut(&pid).expect("checked");
        p.regs.rax = ret(code);
        p.state = RunState::Runnable;
    }

    /// send_sig(SIGXFSZ, current): a write or truncate went past RLIMIT_FSIZE.
    pub(crate) fn send_xfsz(&mut self) {
        self.send_sig_current(Signal::SIGXFSZ);
    }

    /// send_sig(SIGPIPE, current): a write to a pipe with no reader left
    /// (pipe_write), here the console when the VMM's stdout or stderr is one.
    pub(crate) fn send_sigpipe(&mut self) {
        self.send_sig_current(Signal::SIGPIPE);
    }

    /// send_sig(sig, current, 0): SI_USER from the process itself.
    fn send_sig_current(&mut self, sig: Signal) {
        let me = self.current;
        let uid = self.procs.get(&me).map_or(0, |p| p.creds.uid);
        self.send_signal(me, SigInfo::kill(sig, si::SI_USER, me, uid));
    }

    /// force_sig_info for the current process: a synchronous signal that a
    /// block or SIG_IGN cannot stop (the disposition is reset to SIG_DFL and
    /// the signal unblocked, then it is queued first).
    pub(crate) fn force_signal(&mut self, info: SigInfo) {
        let sig = info.signal();
        let me = self.current;
        let Some(p) = self.procs.get_mut(&me) else { return };
        let idx = (sig.number() - 1) as usize;
        let blocked = p.sig.blocked & sig.bit() != 0;
        if blocked || p.sig.actions[idx].is_ignore() {
            p.sig.actions[idx].handler = linux_abi::signal::SIG_DFL;
            if blocked {
                p.sig.blocked &= !sig.bit();
            }
        }
        p.sig.pending.set |= sig.bit();
        p.sig.pending.queue.insert(0, info);
    }

    /// force_sigsegv: SIGSEGV with its default action (a handler that could
    /// not be set up cannot run again).
    pub(crate) fn force_sigsegv(&mut self) {
        let me = self.current;
        if let Some(p) = self.procs.get_mut(&me) {
            p.sig.actions[(Signal::SIGSEGV.number() - 1) as usize].handler = linux_abi::signal::SIG_DFL;
        }
        self.force_signal(SigInfo::kernel(Signal::SIGSEGV));
    }

    /// Delivers the current process's pending signals before it returns to
    /// user mode; restarts or fails its interrupted syscall. Returns what the
    /// vCPU does next (a default action may end or stop the process).
    pub(crate) fn exit_to_user(&mut self, regs: &mut kvm_regs, cpu: &mut dyn Cpu) -> Result<Step, KernelError> {
        let mut handled = false;
        loop {
            let me = self.current;
            let p = self.procs.get_mut(&me).ok_or(KernelError::NoCurrentTask)?;
            let Some(info) = p.sig.pending.take(p.sig.deliverable()) else { break };
            let sig = info.signal();
            let act = p.sig.action(sig);
            if self.strace.is_some() {
                self.trace_signal(me, &info);
            }
            let p = self.procs.get_mut(&me).expect("current");
            if act.is_ignore() {
                continue;
            }
            if act.is_default() {
                match sig.default_action() {
                    DefaultAction::Ignore | DefaultAction::Continue => continue,
                    DefaultAction::Stop => {
                        self.stats.signals += 1;
                        return self.stop_current(regs, cpu, sig);
                    }
                    action => {
                        self.stats.signals += 1;
                        let core = action == DefaultAction::Core && self.procs.get(&self.current).is_some_and(Process::would_dump_core);
                        return self.kill_current(regs, cpu, info, core);
                    }
                }
            }
            self.stats.signals += 1;
            // handle_signal: the interrupted syscall first.
            if p.in_syscall.is_some() {
                match restart_code(regs.rax) {
                    Some(Errno::ERESTARTNOHAND | Errno::ERESTART_RESTARTBLOCK) => regs.rax = ret(Errno::EINTR),
                    Some(Errno::ERESTARTSYS) if act.flags & SA_RESTART == 0 => regs.rax = ret(Errno::EINTR),
                    Some(_) => self.rewind(regs),
                    None => {}
                }
            }
            let p = self.procs.get_mut(&me).expect("current");
            p.in_syscall = None;
            p.restart = None;
            if let Err(()) = self.rseq_fixup(regs) {
                self.force_sigsegv();
                continue;
            }
            let fpu = cpu.save_fpu()?;
            let p = self.procs.get_mut(&me).expect("current");
            let restore_mask = p.sig.saved_mask.take().unwrap_or(p.sig.blocked);
            let space = p.space;
            let mut altstack = p.sig.altstack;
            let trap = p.trap;
            let Kernel { engine, pending, .. } = self;
            let r = frame::setup(FrameInput { regs, action: act, info, restore_mask, altstack: &mut altstack, trap }, |va, data| {
                let (r, u) = engine.write_user(space, va, data).split();
                pending.absorb(u);
                r
            });
            if r.is_err() {
                self.force_sigsegv();
                continue;
            }
            let p = self.procs.get_mut(&me).expect("current");
            p.sig.altstack = altstack;
            p.sig.saved_fpu.push(fpu);
            p.sig.blocked = frame::handler_mask(p.sig.blocked, &act, sig);
            if frame::resets(&act) {
                p.sig.actions[(sig.number() - 1) as usize] = super::SigAction::default();
            }
            handled = true;
        }
        let me = self.current;
        let p = self.procs.get_mut(&me).ok_or(KernelError::NoCurrentTask)?;
        if !handled && p.in_syscall.is_some() {
            // No handler ran: the interrupted call is restarted.
            match restart_code(regs.rax) {
                Some(Errno::ERESTART_RESTARTBLOCK) => {
                    self.rewind(regs);
                    regs.rax = sysno::RESTART_SYSCALL;
                }
                Some(_) => self.rewind(regs),
                None => {}
            }
        }
        if let Some(p) = self.procs.get_mut(&me) {
            p.in_syscall = None;
            // A suspended mask is restored once no handler frame carries it.
            if let Some(m) = p.sig.saved_mask.take() {
                p.sig.blocked = m;
            }
        }
        Ok(Step::Resume)
    }

    /// Puts the registers back at the `syscall` instruction with the call's
    /// number, so that it runs again.
    fn rewind(&mut self, regs: &mut kvm_regs) {
        let nr = self.procs.get(&self.current).and_then(|p| p.in_syscall).unwrap_or(regs.rax);
        regs.rip = regs.rip.wrapping_sub(2);
        regs.rax = nr;
    }

    /// rseq_signal_deliver: a signal interrupting a registered critical
    /// section moves the IP to its abort handler (kernel/rseq.c
    /// rseq_ip_fixup). Err: the rseq area or descriptor is bad (SIGSEGV).
    fn rseq_fixup(&mut self, regs: &mut kvm_regs) -> Result<(), ()> {
        use linux_abi::sched::rseq;
        let me = self.current;
        let Some((space, reg)) = self.procs.get(&me).and_then(|p| p.rseq.map(|r| (p.space, r))) else { return Ok(()) };
        let mut read = |va: u64, buf: &mut [u8]| {
            let (r, u) = self.engine.read_user(space, VirtAddr::new(va), buf).split();
            self.pending.absorb(u);
            r.map_err(|_| ())
        };
        let mut b = [0u8; 8];
        read(reg.addr + rseq::RSEQ_CS as u64, &mut b)?;
        let cs = u64::from_le_bytes(b);
        if cs == 0 {
            return Ok(());
        }
        let mut d = [0u8; rseq::CS_SIZE];
        read(cs, &mut d)?;
        let q = |o: usize| u64::from_le_bytes(d[o..o + 8].try_into().expect("8 bytes"));
        let (version, start, post_commit, abort) = (u32::from_le_bytes(d[..4].try_into().expect("4")), q(8), q(16), q(24));
        if version != 0 || start.checked_add(post_commit).is_none() || abort.wrapping_sub(start) < post_commit {
            return Err(());
        }
        if regs.rip.wrapping_sub(start) >= post_commit {
            return Ok(());
        }
        let mut s = [0u8; 4];
        read(abort.wrapping_sub(4), &mut s)?;
        if u32::from_le_bytes(s) != reg.sig {
            return Err(());
        }
        let (r, u) = self.engine.write_user(space, VirtAddr::new(reg.addr + rseq::RSEQ_CS as u64), &0u64.to_le_bytes()).split();
        self.pending.absorb(u);
        r.map_err(|_| ())?;
        regs.rip = abort;
        Ok(())
    }

    /// The default action "stop": the process waits for SIGCONT; its parent
    /// hears of it.
    fn stop_current(&mut self, regs: &mut kvm_regs, cpu: &mut dyn Cpu, sig: Signal) -> Result<Step, KernelError> {
        let me = self.current;
        if let Some(p) = self.procs.get_mut(&me) {
            p.state = RunState::Stopped(sig.number());
            p.stopped_report = true;
            p.regs = *regs;
        }
        self.notify_parent_stop(me, si::CLD_STOPPED, sig);
        self.schedule(regs, cpu)
    }

    /// The default action "terminate" (or "dump core"): the process dies of
    /// `info`'s signal, with a one-line report.
    pub(crate) fn kill_current(&mut self, regs: &mut kvm_regs, cpu: &mut dyn Cpu, info: SigInfo, core: bool) -> Result<Step, KernelError> {
        self.kill_with(regs, cpu, info, core, None)
    }

    /// Ends the current process by `info`'s signal, printing the report.
    pub(crate) fn kill_with(
        &mut self,
        regs: &mut kvm_regs,
        cpu: &mut dyn Cpu,
        info: SigInfo,
        core: bool,
        note: Option<&str>,
    ) -> Result<Step, KernelError> {
        let p = self.procs.get(&self.current).ok_or(KernelError::NoCurrentTask)?;
        let sig = info.signal();
        let addr = match info.fields {
            SigFields::Fault { addr, .. } => addr,
            _ => 0,
        };
        let report = KillReport {
            pid: p.pid,
            name: p.name.clone(),
            signal: sig.name().to_string(),
            code: si::name(sig.number(), info.code).map_or_else(|| info.code.to_string(), str::to_string),
            addr,
            rip: regs.rip,
            core,
            note: note.map(str::to_string),
        };
        self.console.say(&format!("vmm: {report}"));
        self.trace_signal_exit(self.current, &info, core);
        self.exit_current(regs, cpu, ExitStatus::Killed { signal: sig.number(), core }, Some(report))
    }
}
