//! Scheduling: blocking, waking, switching, and idling.
//!
//! Owns which process is on the vCPU. The policy is deterministic and
//! cooperative (one vCPU, no preemption yet: issue 13): a process runs until
//! it blocks, stops, yields or exits; then the lowest-numbered runnable
//! process runs. A blocked process says what it waits for (`Wait`); waits
//! complete when their event happens (a child changes state, a deadline
//! passes, a signal arrives). With nothing runnable the vCPU idles until the
//! earliest deadline (`Step::Idle`: the vCPU loop sleeps on the host, no
//! spinning); with no deadline either, nothing can ever run again and the
//! run ends as a deadlock instead of hanging.
//!
//! Invariants: `on_cpu` names the process whose user registers are the
//! vCPU's (the others' are in their `Process::regs`); `fpu_owner` names the
//! process whose FPU state the vCPU holds, saved lazily on a switch.

use super::process::{Pid, RunState, Wait};
use super::{Cpu, Kernel, KernelError, RunEnd, Step};
use guest_mm::Errno;
use kvm_bindings::kvm_regs;

impl Kernel {
    /// The current process blocks on `w`: its registers are parked and
    /// something else runs.
    pub(crate) fn block(&mut self, regs: &mut kvm_regs, cpu: &mut dyn Cpu, w: Wait) -> Result<Step, KernelError> {
        let me = self.current;
        let p = self.procs.get_mut(&me).ok_or(KernelError::NoCurrentTask)?;
        p.regs = *regs;
        p.state = RunState::Blocked(w);
        self.on_cpu = None;
        self.schedule(regs, cpu)
    }

    /// Completes the waits whose event happened: wait4 of a child that
    /// changed state, sleeps whose deadline passed.
    pub(crate) fn poll_waiters(&mut self) -> Result<(), KernelError> {
        let now = self.clock.monotonic_ns();
        let blocked: Vec<(Pid, Wait)> = self
            .procs
            .values()
            .filter_map(|p| match p.state {
                RunState::Blocked(w) => Some((p.pid, w)),
                _ => None,
            })
            .collect();
        for (pid, w) in blocked {
            let done = match w {
                Wait::Child { .. } => self.wait_ready(pid, w)?,
                Wait::Sleep { until, .. } if until <= now => Some(0),
                Wait::Yield => Some(0),
                // The child is gone (reaped or a zombie) or released it by
                // exec: the parent goes on with its pid.
                Wait::Vfork { child } => {
                    self.procs.get(&child).is_none_or(|c| c.is_zombie() || c.vfork_parent != Some(pid)).then_some(child as u64)
                }
                // The call runs again now that it will not block.
                Wait::Input if self.console.input_ready() => Some(Errno::ERESTARTNOINTR.as_return() as u64),
                Wait::Poll { fds, nfds, until, .. } => self.poll_ready(pid, fds, nfds, until),
                Wait::Pipe { pipe, dir } if self.pipe_ready(pipe, dir) => Some(Errno::ERESTARTNOINTR.as_return() as u64),
                Wait::Select(s) => self.select_ready(pid, &s),
                Wait::Sleep { .. } | Wait::Signal | Wait::Input | Wait::Pipe { .. } => None,
            };
            if let Some(v) = done {
                let p = self.procs.get_mut(&pid).expect("listed");
                p.regs.rax = v;
                p.state = RunState::Runnable;
                p.restart = None;
            }
        }
        Ok(())
    }

    /// Picks what runs next now that the current process cannot run on.
    pub(crate) fn schedule(&mut self, regs: &mut kvm_regs, cpu: &mut dyn Cpu) -> Result<Step, KernelError> {
        self.poll_waiters()?;
        let cur = self.current;
        let next = self
            .procs
            .values()
            .find(|p| p.state == RunState::Runnable && p.pid != cur)
            .or_else(|| self.procs.get(&cur).filter(|p| p.state == RunState::Runnable))
            .map(|p| p.pid);
        if let Some(n) = next {
            self.switch_to(n, regs, cpu)?;
            if self.strace.is_some() {
                self.trace_resumed(n, regs.rax);
            }
            return self.exit_to_user(regs, cpu);
        }
        let deadline = self
            .procs
            .values()
            .filter_map(|p| match p.state {
                RunState::Blocked(Wait::Sleep { until, .. }) => Some(until),
                RunState::Blocked(Wait::Poll { until, .. }) => until,
                RunState::Blocked(Wait::Select(s)) => s.until,
                _ => None,
            })
            .min();
        let input = self.procs.values().any(|p| {
            matches!(
                p.state,
                RunState::Blocked(Wait::Input)
                    | RunState::Blocked(Wait::Poll { stdin: true, .. })
                    | RunState::Blocked(Wait::Select(crate::kernel::process::SelectWait { stdin: true, .. }))
            )
        });
        if deadline.is_some() || input {
            return Ok(Step::Idle { until: deadline, input });
        }
        let stuck: Vec<String> =
            self.procs.values().filter(|p| !p.is_zombie()).map(|p| format!("pid {} ({}) {}", p.pid, p.name, describe(p.state))).collect();
        Ok(Step::Finished(RunEnd::Deadlock(stuck.join(", "))))
    }

    /// Called by the vCPU loop after an idle period: wakes what is due and
    /// runs it.
    pub fn resume_after_idle(&mut self, regs: &mut kvm_regs, cpu: &mut dyn Cpu) -> Result<Step, KernelError> {
        self.schedule(regs, cpu)
    }

    /// Makes `next` the process on the vCPU: the registers of the one there
    /// are saved (if it still exists), `next`'s are loaded; the FPU follows
    /// when it belongs to someone else.
    pub(crate) fn switch_to(&mut self, next: Pid, regs: &mut kvm_regs, cpu: &mut dyn Cpu) -> Result<(), KernelError> {
        if self.on_cpu != Some(next) {
            if let Some(c) = self.on_cpu.take() {
                if let Some(p) = self.procs.get_mut(&c) {
                    p.regs = *regs;
                }
            }
            *regs = self.procs.get(&next).ok_or(KernelError::NoCurrentTask)?.regs;
            self.on_cpu = Some(next);
        }
        if self.fpu_owner != Some(next) {
            if let Some(o) = self.fpu_owner.take() {
                let fpu = cpu.save_fpu()?;
                if let Some(p) = self.procs.get_mut(&o) {
                    p.fpu = Some(fpu);
                }
            }
            cpu.load_fpu(self.procs.get(&next).and_then(|p| p.fpu.as_ref()))?;
            self.fpu_owner = Some(next);
        }
        self.current = next;
        Ok(())
    }
}

/// What a process that cannot run is doing, for the deadlock report.
fn describe(s: RunState) -> &'static str {
    match s {
        RunState::Blocked(Wait::Child { .. }) => "waits for a child",
        RunState::Blocked(Wait::Signal) => "waits for a signal",
        RunState::Blocked(Wait::Sleep { .. }) => "sleeps",
        RunState::Blocked(Wait::Yield) => "yields",
        RunState::Blocked(Wait::Vfork { .. }) => "waits for its vfork child",
        RunState::Blocked(Wait::Input) => "waits for input",
        RunState::Blocked(Wait::Poll { .. }) => "polls",
        RunState::Blocked(Wait::Pipe { dir: crate::kernel::process::PipeDir::Read, .. }) => "reads a pipe",
        RunState::Blocked(Wait::Pipe { dir: crate::kernel::process::PipeDir::Write, .. }) => "writes a pipe",
        RunState::Blocked(Wait::Select(_)) => "selects",
        RunState::Stopped(_) => "is stopped",
        RunState::Runnable => "is runnable",
        RunState::Zombie(_) => "is a zombie",
    }
}
