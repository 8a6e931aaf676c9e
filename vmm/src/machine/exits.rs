//! What the vCPU loop does between two KVM_RUNs besides decoding a trap:
//! acting on the kernel's `Step` (resume, idle, a request only the VMM can
//! serve, the end of the run), device operations at their safe points, and
//! exits that are not traps (a kick from the control socket while the guest
//! is in ring 3, a guest access to a deleted device window).
//!
//! Safe points: the engine lives on the vCPU thread, so every device
//! operation runs here, after a trap was handled (a guest syscall asked for
//! it, or a control command was waiting), or after a control command kicked
//! KVM_RUN while the guest was in ring 3 (the interrupted ring-3 state is
//! then taken as the process's context, exactly as if it had trapped).

use super::{CheckpointMode, Ending, Machine, VcpuCpu};
use crate::ctl::{error_reply, Command, Reply};
use crate::device::{self, BackingSource, PmemSpec};
use crate::error::VmmError;
use crate::hotplug::{guest_plug_fits, HotplugError, PlugInfo, UnplugReport};
use crate::kernel::{RunEnd, Step, VmmRequest};
use crate::layout::sel;
use guest_mm::{Errno, SigFault, VirtAddr};
use kvm_ioctls::SyncReg;
use std::time::Instant;

type Replies = Vec<(Reply, Instant, std::sync::mpsc::Sender<Reply>)>;

impl Machine {
    /// Plugs a memory window: backing, memslot, engine object, /dev/NAME.
    pub fn plug(&mut self, spec: &PmemSpec) -> Result<PlugInfo, HotplugError> {
        self.hot.plug(&self.vm, &mut self.kernel, spec)
    }

    /// The unplug transaction (docs/unplug.md); the backing is released
    /// (or, with the tripwire, kept inaccessible).
    pub fn unplug(&mut self, name: &str) -> Result<UnplugReport, HotplugError> {
        self.hot.unplug_and_release(&self.vm, &mut self.kernel, name)
    }

    /// What the loop does after the kernel handled something: Some(ending)
    /// when the run is over.
    pub(crate) fn after_step(&mut self, step: Step, ctx: kvm_bindings::kvm_regs) -> Result<Option<Ending>, VmmError> {
        let mut step = step;
        let mut ctx = ctx;
        loop {
            step = match step {
                Step::Resume => {
                    self.ctx = ctx;
                    let replies = if self.hot.mailbox.as_ref().is_some_and(|m| m.pending()) { self.service_mailbox() } else { Vec::new() };
                    self.prepare_entry()?;
                    Machine::send_replies(replies);
                    return Ok(None);
                }
                Step::Finished(RunEnd::Exited(c)) => return Ok(Some(Ending::Exited(c))),
                Step::Finished(RunEnd::Killed(r)) => return Ok(Some(Ending::Killed(r))),
                Step::Finished(RunEnd::Deadlock(why)) => return Ok(Some(Ending::Deadlock(why))),
                Step::Idle { until, input } => {
                    if let Some(end) = self.idle(until, input)? {
                        return Ok(Some(end));
                    }
                    let mut cpu = VcpuCpu { vcpu: &self.vcpu, initial: &self.initial_fpu };
                    self.kernel.resume_after_idle(&mut ctx, &mut cpu)?
                }
                Step::Vmm(VmmRequest::Checkpoint) => match self.checkpoint {
                    CheckpointMode::Continue(value) => self.complete(&mut ctx, value)?,
                    CheckpointMode::Stop => {
                        self.ctx = ctx;
                        return Ok(Some(Ending::Checkpoint));
                    }
                },
                Step::Vmm(req) => {
                    let ret = self.device_request(req);
                    self.complete(&mut ctx, ret)?
                }
            };
        }
    }

    fn complete(&mut self, ctx: &mut kvm_bindings::kvm_regs, ret: u64) -> Result<Step, VmmError> {
        let mut cpu = VcpuCpu { vcpu: &self.vcpu, initial: &self.initial_fpu };
        Ok(self.kernel.complete_vmm(ctx, &mut cpu, ret)?)
    }

    /// Nothing can run until the kernel's clock reads `until`: the vCPU
    /// thread sleeps on the host (no spinning). A kick (control command)
    /// ends the sleep early to serve it; the watchdog ends the run.
    fn idle(&mut self, until: Option<u64>, input: bool) -> Result<Option<Ending>, VmmError> {
        let wake = until.map(|u| self.kernel.wake_instant(u));
        loop {
            if self.dog_expired() {
                return Ok(Some(Ending::Timeout { rip: self.ctx.rip }));
            }
            let now = Instant::now();
            if wake.is_some_and(|w| now >= w) {
                return Ok(None);
            }
            let step = std::time::Duration::from_millis(100);
            let left = wake.map_or(step, |w| (w - now).min(step));
            if input {
                // Sleep until stdin is readable (or the slice ends).
                let mut p = libc::pollfd { fd: 0, events: libc::POLLIN, revents: 0 };
                let ms = left.as_millis().max(1) as libc::c_int;
                // SAFETY: poll reads and writes the one pollfd we own.
                if unsafe { libc::poll(&mut p, 1, ms) } != 0 {
                    return Ok(None);
                }
            } else {
                let ts = libc::timespec { tv_sec: left.as_secs() as libc::time_t, tv_nsec: left.subsec_nanos() as libc::c_long };
                // SAFETY: nanosleep only reads the timespec we own; an interrupted
                // sleep (a kick) returns early, which is what we want.
                unsafe { libc::nanosleep(&ts, std::ptr::null_mut()) };
            }
            if self.hot.mailbox.as_ref().is_some_and(|m| m.pending()) {
                let replies = self.service_mailbox();
                Machine::send_replies(replies);
            }
        }
    }

    /// Performs a device operation a guest syscall asked for; returns its result.
    fn device_request(&mut self, req: VmmRequest) -> u64 {
        let r = match req {
            VmmRequest::Plug { name, size } => {
                if !guest_plug_fits(self.hot.plugged_bytes(), size, self.vm.ram.size) {
                    // Each window is host memory the guest can fill: a guest
                    // may not plug more than its RAM's worth in total.
                    tracing::debug!(name, size, "guest plug refused: over the guest's window budget");
                    return Errno::ENOMEM.as_return() as u64;
                }
                self.plug(&PmemSpec { name, source: BackingSource::Memfd, size: Some(size) }).map(|_| 0u64)
            }
            VmmRequest::Unplug { name } => self.unplug(&name).map(|_| 0u64),
            VmmRequest::Checkpoint => Ok(0),
        };
        match r {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!("device syscall failed: {e}");
                e.errno().as_return() as u64
            }
        }
    }

    /// Runs the waiting control commands; returns the replies, to be sent
    /// once the vCPU is about to re-enter the guest.
    pub(crate) fn service_mailbox(&mut self) -> Replies {
        let Some(mb) = self.hot.mailbox.clone() else { return Vec::new() };
        let mut out = Vec::new();
        for (cmd, at, tx) in mb.take() {
            let ok = |v: serde_json::Value| {
                let mut v = v;
                v["ok"] = true.into();
                v
            };
            let reply = match cmd {
                Command::Unplug { device } => match self.unplug(&device) {
                    Ok(rep) => ok(serde_json::to_value(&rep).unwrap_or_default()),
                    Err(e) => error_reply(e.to_string()),
                },
                Command::Plug { device, path, size } => {
                    let source = if path == "memfd" { BackingSource::Memfd } else { BackingSource::File(path.into()) };
                    let r = device::check_name(&device)
                        .map_err(|e| HotplugError::Vmm(VmmError::Usage(e)))
                        .and_then(|_| self.plug(&PmemSpec { name: device, source, size }));
                    match r {
                        Ok(info) => ok(serde_json::to_value(&info).unwrap_or_default()),
                        Err(e) => error_reply(e.to_string()),
                    }
                }
                Command::Devices => serde_json::json!({"ok": true, "devices": self.hot.devices()}),
            };
            out.push((reply, at, tx));
        }
        out
    }

    /// Sends replies, stamped with the time from request to this moment
    /// (the vCPU is about to re-enter the guest).
    pub(crate) fn send_replies(replies: Replies) {
        for (mut r, at, tx) in replies {
            if r.get("ok") == Some(&serde_json::Value::Bool(true)) {
                r["request_to_resume_us"] = serde_json::json!(at.elapsed().as_secs_f64() * 1e6);
            }
            let _ = tx.send(r);
        }
    }

    /// Whether KVM_RUN stopped with the guest in ring 3.
    pub(crate) fn in_ring3(&self) -> bool {
        self.vcpu.sync_regs().sregs.cs.selector & 3 == 3
    }

    /// Takes the interrupted ring-3 state as the running process's context
    /// and puts the vCPU at CPL 0, so that `prepare_entry` can resume it
    /// through the shim's `iretq` (with a batch in front) as after a trap.
    pub(crate) fn adopt_ring3_state(&mut self) {
        let sr = self.vcpu.sync_regs();
        self.ctx = sr.regs;
        let mut sregs = sr.sregs;
        sregs.cs = crate::boot::segment(sel::KERNEL_CS, 11, 0, true);
        sregs.ss = crate::boot::segment(sel::KERNEL_DS, 3, 0, false);
        self.vcpu.sync_regs_mut().sregs = sregs;
        self.vcpu.set_sync_dirty_reg(SyncReg::SystemRegister);
    }

    /// A ring-3 access reached a deleted window (EFAULT from KVM_RUN here):
    /// SIGBUS (BUS_ADRERR) for the running process. The faulting virtual
    /// address is not reported by KVM, so si_addr is 0.
    pub(crate) fn window_fault(&mut self) -> Result<Option<Ending>, VmmError> {
        self.hot.stats.window_faults += 1;
        self.adopt_ring3_state();
        let mut ctx = self.ctx;
        let mut cpu = VcpuCpu { vcpu: &self.vcpu, initial: &self.initial_fpu };
        let fault = SigFault::bus_adrerr(VirtAddr::new(0));
        let step = self.kernel.raise_fault(&mut ctx, &mut cpu, fault)?;
        self.after_step(step, ctx)
    }

    /// An MMIO exit at a device-window address (hosts where a ring-3 access
    /// to a GPA without memslot exits as MMIO rather than EFAULT). KVM
    /// completes the instruction on the next KVM_RUN, so we let it (reads get
    /// all-ones, as a bus with nothing behind it) with immediate_exit set,
    /// then deliver SIGBUS. A ring-0 access there is a guest-kernel bug.
    pub(crate) fn mmio_window_access(&mut self) -> Result<Option<Ending>, VmmError> {
        if !self.in_ring3() {
            return Ok(Some(Ending::GuestCrash("the guest kernel accessed a device window".into())));
        }
        self.vcpu.set_kvm_immediate_exit(1);
        let r = self.vcpu.run().map(|_| ()).map_err(|e| e.errno());
        self.vcpu.set_kvm_immediate_exit(0);
        match r {
            Err(libc::EINTR) => {}
            Ok(_) | Err(_) => return Ok(Some(Ending::GuestCrash("completing a device-window access failed".into()))),
        }
        self.window_fault()
    }

    /// KVM_RUN was interrupted (a kick): serve waiting commands if the guest
    /// is in ring 3; in ring 0 (the shim, a few instructions from an exit or
    /// an iretq) leave them for the next exit or kick.
    pub(crate) fn on_kick(&mut self) -> Result<(), VmmError> {
        if !self.hot.mailbox.as_ref().is_some_and(|m| m.pending()) || !self.in_ring3() {
            return Ok(());
        }
        // An event KVM is about to inject (an exception being delivered)
        // belongs to the interrupted ring-3 state: do not move the vCPU to
        // ring 0 under it; the next exit or kick serves the command.
        match self.vcpu.get_vcpu_events() {
            Ok(ev) if ev.exception.injected == 0 && ev.exception.pending == 0 && ev.interrupt.injected == 0 && ev.nmi.injected == 0 => {}
            _ => return Ok(()),
        }
        self.hot.stats.ring3_kicks += 1;
        self.adopt_ring3_state();
        let replies = self.service_mailbox();
        self.prepare_entry()?;
        Machine::send_replies(replies);
        Ok(())
    }

    /// Whether `gpa` lies in the device-window area (plugged or not).
    pub(crate) fn in_window_area(gpa: u64) -> bool {
        (device::WINDOW_BASE..device::WINDOW_LIMIT).contains(&gpa)
    }
}
