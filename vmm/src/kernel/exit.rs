//! Process exit and the parent's view of it: zombies, reaping, SIGCHLD.
//!
//! Mirrors kernel/exit.c: do_exit releases the address space and the
//! descriptors, clears clear_child_tid, hands the children to process 1
//! (the VM's init), and tells the parent (exit_notify/do_notify_parent:
//! SIGCHLD with CLD_EXITED/KILLED/DUMPED, or an automatic reap when the
//! parent ignores SIGCHLD or set SA_NOCLDWAIT); wait4 (do_wait) collects
//! zombies, and with WUNTRACED/WCONTINUED stops and continues. The run ends
//! with process 1.

use super::process::{ExitStatus, Pid, RunState, Wait, WaitWho};
use super::signal::{SigFields, SigInfo};
use super::{Cpu, Kernel, KernelError, RunEnd, Step};
use crate::kernel::report::KillReport;
use guest_mm::{Errno, VirtAddr};
use kvm_bindings::kvm_regs;
use linux_abi::signal::{si, Signal, SA_NOCLDSTOP, SA_NOCLDWAIT};
use linux_abi::wait::{WALL, WCLONE, WCONTINUED, WNOHANG, WUNTRACED};

/// struct rusage: 18 longs.
const RUSAGE_SIZE: usize = 144;

impl Kernel {
    /// Ends the current process with `status` and picks what runs next.
    pub(crate) fn exit_current(
        &mut self,
        regs: &mut kvm_regs,
        cpu: &mut dyn Cpu,
        status: ExitStatus,
        report: Option<KillReport>,
    ) -> Result<Step, KernelError> {
        let pid = self.current;
        let p = self.procs.get(&pid).ok_or(KernelError::NoCurrentTask)?;
        let (space, ctid) = (p.space, p.clear_child_tid);
        if self.show_maps {
            let text = self.maps_report(pid);
            self.console.say(&text);
        }
        if ctid != 0 {
            // mm_release: clear the tid word (futex wake comes with threads).
            let (_, u) = self.engine.write_user(space, VirtAddr::new(ctid), &0u32.to_le_bytes()).split();
            self.pending.absorb(u);
        }
        self.trace_exit(pid, status);
        self.engine.destroy_space(space)?;
        self.release_exe(pid);
        let fds = self.procs.get_mut(&pid).map(|p| p.fds.take_all()).unwrap_or_default();
        for e in fds {
            self.release_file(e.file);
        }
        if let Some(cwd) = self.procs.get(&pid).map(|p| p.cwd) {
            self.put_inode(cwd);
        }
        self.on_cpu = None;
        if self.fpu_owner == Some(pid) {
            self.fpu_owner = None;
        }
        if pid == 1 {
            // The run ends with process 1; its status is the VMM's.
            let others: Vec<Pid> = self.procs.keys().copied().filter(|p| *p != 1).collect();
            for o in others {
                if let Some(mut p) = self.procs.remove(&o) {
                    if !p.is_zombie() {
                        let _ = self.engine.destroy_space(p.space);
                        if let Some(o) = p.exe_obj.take() {
                            let _ = self.engine.put_object(o);
                        }
                        for e in p.fds.take_all() {
                            self.release_file(e.file);
                        }
                    }
                }
            }
            self.procs.remove(&1);
            return Ok(Step::Finished(match report {
                Some(r) => RunEnd::Killed(r),
                None => RunEnd::Exited(status.shell_code()),
            }));
        }
        // Orphans go to process 1.
        for c in self.procs.values_mut().filter(|c| c.ppid == pid) {
            c.ppid = 1;
        }
        let ppid = self.procs[&pid].ppid;
        // do_notify_parent: the exit signal (SIGCHLD for fork); a child whose
        // parent ignores SIGCHLD or set SA_NOCLDWAIT is reaped at once.
        let exit_signal = self.procs[&pid].exit_signal;
        let (uid, autoreap, send) = {
            let parent = self.procs.get(&ppid).map(|pp| pp.sig.action(Signal::SIGCHLD));
            let chld = exit_signal == Signal::SIGCHLD.number();
            let ign = chld && parent.is_some_and(|a| a.is_ignore());
            let nocldwait = chld && parent.is_some_and(|a| a.flags & SA_NOCLDWAIT != 0);
            (self.procs[&pid].creds.uid, ign || nocldwait, !ign && exit_signal != 0)
        };
        if autoreap {
            self.procs.remove(&pid);
        } else if let Some(p) = self.procs.get_mut(&pid) {
            p.state = RunState::Zombie(status);
        }
        if send {
            let (code, st) = match status {
                ExitStatus::Exited(c) => (si::CLD_EXITED, c & 0xff),
                ExitStatus::Killed { signal, core } => (if core { si::CLD_DUMPED } else { si::CLD_KILLED }, signal as i32),
            };
            let info = SigInfo { signo: exit_signal, code, errno: 0, fields: SigFields::Child { pid, uid, status: st } };
            self.send_signal(ppid, info);
        }
        self.schedule(regs, cpu)
    }

    /// Drops `pid`'s hold on its exe file (the mm goes: mmput's set_mm_exe_file(NULL)).
    fn release_exe(&mut self, pid: Pid) {
        if let Some(o) = self.procs.get_mut(&pid).and_then(|p| p.exe_obj.take()) {
            let _ = self.engine.put_object(o);
        }
    }

    /// A child stopped or continued: SIGCHLD for the parent unless it asked
    /// not to hear of stops (SA_NOCLDSTOP); waiters see it through wait_ready.
    pub(crate) fn notify_parent_stop(&mut self, pid: Pid, code: i32, sig: Signal) {
        let Some((ppid, uid)) = self.procs.get(&pid).map(|p| (p.ppid, p.creds.uid)) else { return };
        let nocldstop = self.procs.get(&ppid).is_some_and(|pp| pp.sig.action(Signal::SIGCHLD).flags & SA_NOCLDSTOP != 0);
        if nocldstop {
            return;
        }
        let info =
            SigInfo { signo: Signal::SIGCHLD.number(), code, errno: 0, fields: SigFields::Child { pid, uid, status: sig.number() as i32 } };
        self.send_signal(ppid, info);
    }

    /// Whether `c` is a child `who` selects, for the waiter `w`
    /// (eligible_child: __WCLONE children are those whose exit signal is
    /// not SIGCHLD; __WALL takes both).
    fn selects(&self, w: Pid, who: WaitWho, options: u64, c: Pid) -> bool {
        let Some(cp) = self.procs.get(&c) else { return false };
        let clone_child = cp.exit_signal != Signal::SIGCHLD.number();
        cp.ppid == w
            && (options & WALL != 0 || (options & WCLONE != 0) == clone_child)
            && match who {
                WaitWho::Any => true,
                WaitWho::Pid(p) => p == c,
                WaitWho::Group(g) => cp.pgid == g,
            }
    }

    /// do_wait for the blocked or calling process `waiter`: Some(return
    /// value) when its wait4 completes now (a reaped zombie, a reported
    /// stop or continue, 0 for WNOHANG, -ECHILD), None to keep waiting.
    pub(crate) fn wait_ready(&mut self, waiter: Pid, w: Wait) -> Result<Option<u64>, KernelError> {
        let Wait::Child { who, status, options, rusage } = w else { return Ok(None) };
        let children: Vec<Pid> = self.procs.keys().copied().filter(|c| self.selects(waiter, who, options, *c)).collect();
        if children.is_empty() {
            return Ok(Some(Errno::ECHILD.as_return() as u64));
        }
        let mut found = None;
        for c in &children {
            let cp = &self.procs[c];
            match cp.state {
                RunState::Zombie(st) => {
                    found = Some((*c, st.wait_word(), true));
                    break;
                }
                RunState::Stopped(sig) if options & WUNTRACED != 0 && cp.stopped_report => {
                    found = Some((*c, linux_abi::wait::stopped(sig), false));
                    break;
                }
                _ if options & WCONTINUED != 0 && cp.continued => {
                    found = Some((*c, linux_abi::wait::CONTINUED, false));
                    break;
                }
                _ => {}
            }
        }
        let Some((child, word, reap)) = found else {
            return Ok(if options & WNOHANG != 0 { Some(0) } else { None });
        };
        if reap {
            self.procs.remove(&child);
        } else if let Some(cp) = self.procs.get_mut(&child) {
            if word == linux_abi::wait::CONTINUED {
                cp.continued = false;
            } else {
                cp.stopped_report = false;
            }
        }
        let space = self.procs.get(&waiter).ok_or(KernelError::NoCurrentTask)?.space;
        let mut ret = child as u64;
        if status != 0 {
            let (r, u) = self.engine.write_user(space, VirtAddr::new(status), &word.to_le_bytes()).split();
            self.pending.absorb(u);
            if let Err(e) = r {
                ret = e.as_return() as u64;
            }
        }
        if rusage != 0 && ret == child as u64 {
            // Resource usage is not accounted per child yet: all zero.
            let (r, u) = self.engine.write_user(space, VirtAddr::new(rusage), &[0u8; RUSAGE_SIZE]).split();
            self.pending.absorb(u);
            if let Err(e) = r {
                ret = e.as_return() as u64;
            }
        }
        Ok(Some(ret))
    }
}
