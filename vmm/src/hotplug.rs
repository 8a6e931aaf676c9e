//! Hot-plug and hot-unplug of memory windows on a running machine.
//!
//! Owns the plug operation and the unplug *transaction*, and the safe points
//! where the vCPU thread performs them. The engine is single-threaded and
//! lives on the vCPU thread, so every device operation runs there, between
//! two KVM_RUNs: after a trap was handled (a guest syscall asked for it, or a
//! control command was waiting), or after a control command kicked KVM_RUN
//! while the guest was in ring 3 (the interrupted ring-3 state is then taken
//! as the process's context, exactly as if it had trapped).
//!
//! The unplug transaction, in this order (docs/unplug.md):
//! a. the device is marked gone: mmap of it fails with ENODEV, open too;
//! b. every VMA mapping it in every space is revoked (guest_mm::revoke): its
//!    device entries become revoked markers; the stores go to the pending
//!    batch with a full TLB flush of every affected space;
//! c. the vCPU is out of the guest (we run between KVM_RUNs) and its next
//!    entry first applies the batch and reloads CR3 (a full flush), before
//!    any ring-3 instruction;
//! d. the memslot is deleted: KVM drops every translation to the backing;
//! e. the window leaves the engine's memory and the host backing is handed
//!    back to the caller (dropped = unmapped and closed; with the tripwire it
//!    is kept mapped PROT_NONE so any later touch would crash the VMM).
//!
//! A guest access to a deleted window that still reaches the VMM (EFAULT
//! from KVM_RUN in ring 3 on this host; KVM_EXIT_MMIO on others) is turned
//! into SIGBUS (BUS_ADRERR) for the running process, never a VMM failure.

use crate::ctl::{error_reply, Command, Mailbox, Reply};
use crate::device::{self, Backing, BackingSource, PmemSpec, Window, Windows};
use crate::error::VmmError;
use crate::kernel::sys_dev::DeviceRequest;
use crate::kernel::Step;
use crate::layout::sel;
use crate::machine::{Ending, Machine, VcpuCpu};
use guest_mm::revoke::RevokeError;
use guest_mm::{Errno, Frame, ObjectId, SigFault, VirtAddr};
use kvm_ioctls::SyncReg;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use vm_memory::{GuestAddress, GuestMemoryRegion};

/// Errors of device operations.
#[derive(Debug, thiserror::Error)]
pub enum HotplugError {
    #[error("no plugged device named '{0}'")]
    NoSuchDevice(String),
    #[error("a device named '{0}' is already plugged")]
    AlreadyPlugged(String),
    #[error("revoking the mappings of '{0}'")]
    Revoke(String, #[source] RevokeError),
    #[error(transparent)]
    Vmm(#[from] VmmError),
}

impl HotplugError {
    /// The errno a guest's plug/unplug syscall gets.
    pub fn errno(&self) -> Errno {
        match self {
            HotplugError::NoSuchDevice(_) => Errno::ENODEV,
            HotplugError::AlreadyPlugged(_) => Errno::EEXIST,
            HotplugError::Vmm(VmmError::Usage(_)) => Errno::EINVAL,
            _ => Errno::ENOMEM,
        }
    }
}

/// A plugged device.
struct Plugged {
    window: Window,
    obj: ObjectId,
}

/// Where a plugged device sits.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PlugInfo {
    pub name: String,
    pub gpa: u64,
    pub size: u64,
    pub slot: u32,
}

/// What one unplug did and what each step cost.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct UnplugReport {
    pub device: String,
    pub gpa: u64,
    pub size: u64,
    /// Address spaces (processes) that mapped it.
    pub spaces: u32,
    pub revoked_vmas: u32,
    /// Entries that mapped the device and now hold revoked markers.
    pub zapped: u64,
    pub kept_copies: u64,
    /// Guest stores the revocation added to the pending batch.
    pub batch_stores: u64,
    /// Steps a+b: the engine's revocation.
    pub revoke_ns: u64,
    /// Step d: deleting the memslot.
    pub memslot_ns: u64,
    /// The whole transaction, a to e.
    pub total_ns: u64,
}

/// Counters for reports and tests.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct HotplugStats {
    pub plugs: u64,
    pub unplugs: u64,
    /// Guest accesses that reached the VMM at a deleted window (should stay 0:
    /// the revocation batch is applied before ring 3 runs again).
    pub window_faults: u64,
    /// Control commands served while the guest was in ring 3 (kicked out).
    pub ring3_kicks: u64,
    pub reports: Vec<UnplugReport>,
}

impl Hotplug {
    /// Names of the devices plugged now.
    pub fn plugged_names(&self) -> Vec<String> {
        self.plugged.keys().cloned().collect()
    }

    /// The plugged windows with their engine objects (checkpoints).
    pub fn plugged_windows(&self) -> impl Iterator<Item = (&Window, ObjectId)> {
        self.plugged.values().map(|p| (&p.window, p.obj))
    }

    /// Adopts a window that already has its memslot (a forked or restored VM
    /// going on with a checkpoint's device) as plugged, backed by `obj`.
    pub fn adopt(&mut self, window: Window, obj: ObjectId) {
        self.plugged.insert(window.name.clone(), Plugged { window, obj });
    }
}

/// A window that was unplugged: its object is revoked, its address and
/// memslot are never used again.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Unplugged {
    pub place: device::Placement,
    pub obj: ObjectId,
    pub source: BackingSource,
}

/// Device state of one machine.
#[derive(Default)]
pub struct Hotplug {
    pub(crate) windows: Windows,
    /// Windows unplugged during the VM's life (checkpoints carry them).
    pub unplugged: Vec<Unplugged>,
    plugged: BTreeMap<String, Plugged>,
    /// Commands from the control socket.
    pub mailbox: Option<Arc<Mailbox>>,
    /// Keep unplugged backings mapped PROT_NONE (testing aid: proves the
    /// backing is never touched after unplug).
    pub tripwire: bool,
    /// Testing aid: unplug deletes the memslot without revoking (so a stale
    /// guest translation reaches the deleted window: the last line of defence).
    pub skip_revoke: bool,
    /// Testing aid: read the old backing after the tripwire is set (the
    /// control that shows the tripwire catches a touch).
    pub touch_after_unplug: bool,
    tripwired: Vec<Backing>,
    /// The next entry must flush the whole guest TLB.
    pub(crate) force_flush: bool,
    pub stats: HotplugStats,
}

impl Hotplug {
    /// Bytes of all plugged windows.
    fn plugged_bytes(&self) -> u64 {
        self.plugged.values().map(|p| p.window.size).sum()
    }
}

/// Whether a guest-requested window of `size` bytes fits the guest's budget:
/// all plugged windows together at most the size of guest RAM (the host
/// memory the operator granted), so a hostile guest cannot make the VMM
/// allocate host memory without bound. Devices from the command line or the
/// control socket are the operator's and are not limited.
pub fn guest_plug_fits(plugged: u64, size: u64, ram: u64) -> bool {
    plugged.checked_add(size).is_some_and(|total| total <= ram)
}

impl Machine {
    /// Plugs a memory window: backing, memslot, engine object, /dev/NAME.
    pub fn plug(&mut self, spec: &PmemSpec) -> Result<PlugInfo, HotplugError> {
        if self.hot.plugged.contains_key(&spec.name) {
            return Err(HotplugError::AlreadyPlugged(spec.name.clone()));
        }
        let window = self.hot.windows.create(&self.vm.fd, spec)?;
        let mem = self.kernel.engine.memory().insert_region(window.region.clone());
        let mem = match mem {
            Ok(m) => m,
            Err(e) => {
                let _ = device::delete_slot(&self.vm.fd, &window);
                return Err(VmmError::GuestMemory(format!("adding device {}: {e}", spec.name)).into());
            }
        };
        let _ = self.kernel.engine.replace_memory(mem);
        let path = format!("/dev/{}", spec.name);
        let obj = self.kernel.engine.create_device(&path, Frame::new(window.gpa >> 12), window.size >> 12);
        // A replug under the same name replaces the revoked node.
        if let Some(old) = self.kernel.vfs.unlink(&path) {
            let _ = self.kernel.engine.put_object(old);
        }
        self.kernel.vfs.link(&path, obj);
        // The plugged device holds its object itself, so nothing the guest
        // does (closing, unmapping) can release it while it is plugged.
        let _ = self.kernel.engine.hold_object(obj);
        let info = PlugInfo { name: spec.name.clone(), gpa: window.gpa, size: window.size, slot: window.slot };
        tracing::debug!(?info, "plugged");
        self.hot.plugged.insert(spec.name.clone(), Plugged { window, obj });
        self.hot.stats.plugs += 1;
        Ok(info)
    }

    /// The unplug transaction (steps a to e, see the module header). Returns
    /// what it did and the old backing.
    pub fn unplug(&mut self, name: &str) -> Result<(UnplugReport, Backing), HotplugError> {
        let t0 = Instant::now();
        let Some(p) = self.hot.plugged.remove(name) else { return Err(HotplugError::NoSuchDevice(name.to_string())) };
        let mut rep = UnplugReport { device: name.to_string(), gpa: p.window.gpa, size: p.window.size, ..Default::default() };
        // a + b.
        if !self.hot.skip_revoke {
            let (r, u) = self.kernel.engine.revoke_device(p.obj).split();
            rep.batch_stores = u.store_count() as u64;
            self.kernel.pending.absorb(u);
            match r {
                Ok(r) => {
                    rep.spaces = r.spaces;
                    rep.revoked_vmas = r.vmas;
                    rep.zapped = r.zapped;
                    rep.kept_copies = r.kept_copies;
                }
                Err(e) => {
                    // Validated before any change: the device is still plugged.
                    self.hot.plugged.insert(name.to_string(), p);
                    return Err(HotplugError::Revoke(name.to_string(), e));
                }
            }
        }
        rep.revoke_ns = t0.elapsed().as_nanos() as u64;
        // c: we are between KVM_RUNs; the next entry applies the batch and
        // reloads CR3 before ring 3 runs.
        self.hot.force_flush = true;
        // d.
        let t1 = Instant::now();
        device::delete_slot(&self.vm.fd, &p.window)?;
        rep.memslot_ns = t1.elapsed().as_nanos() as u64;
        // e: the engine forgets the region, then the backing goes to the caller.
        if let Ok((mem, _)) = self.kernel.engine.memory().remove_region(GuestAddress(p.window.gpa), p.window.region.len()) {
            let _ = self.kernel.engine.replace_memory(mem);
        }
        let w = &p.window;
        let place = device::Placement { name: w.name.clone(), gpa: w.gpa, size: w.size, slot: w.slot };
        self.hot.unplugged.push(Unplugged { place, obj: p.obj, source: w.source.clone() });
        // The device's own reference (taken at plug) goes with it.
        let _ = self.kernel.engine.put_object(p.obj);
        let backing = Backing { region: p.window.region, file: p.window.file };
        rep.total_ns = t0.elapsed().as_nanos() as u64;
        self.hot.stats.unplugs += 1;
        self.hot.stats.reports.push(rep.clone());
        tracing::debug!(?rep, "unplugged");
        Ok((rep, backing))
    }

    /// Unplug with the backing released (or, with the tripwire, kept PROT_NONE).
    fn unplug_and_release(&mut self, name: &str) -> Result<UnplugReport, HotplugError> {
        let (rep, backing) = self.unplug(name)?;
        if self.hot.tripwire {
            backing.make_inaccessible()?;
            if self.hot.touch_after_unplug {
                use vm_memory::Bytes;
                let mut b = [0u8; 1];
                let _ = backing.region.read_slice(&mut b, vm_memory::MemoryRegionAddress(0));
            }
            self.hot.tripwired.push(backing);
        }
        Ok(rep)
    }

    /// Names, addresses and sizes of the plugged devices.
    pub fn devices(&self) -> Vec<PlugInfo> {
        self.hot
            .plugged
            .values()
            .map(|p| PlugInfo { name: p.window.name.clone(), gpa: p.window.gpa, size: p.window.size, slot: p.window.slot })
            .collect()
    }

    /// Performs the device operation a guest syscall left, writing its result
    /// into the process's RAX.
    pub(crate) fn service_device_request(&mut self) {
        let Some(req) = self.kernel.take_device_request() else { return };
        let r = match req {
            DeviceRequest::Plug { name, size } => {
                if !guest_plug_fits(self.hot.plugged_bytes(), size, self.vm.ram.size) {
                    // Each window is host memory the guest can fill: a guest
                    // may not plug more than its RAM's worth in total.
                    tracing::debug!(name, size, "guest plug refused: over the guest's window budget");
                    self.ctx.rax = Errno::ENOMEM.as_return() as u64;
                    return;
                }
                self.plug(&PmemSpec { name, source: BackingSource::Memfd, size: Some(size) }).map(|_| 0u64)
            }
            DeviceRequest::Unplug { name } => self.unplug_and_release(&name).map(|_| 0u64),
        };
        self.ctx.rax = match r {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!("device syscall failed: {e}");
                e.errno().as_return() as u64
            }
        };
    }

    /// Runs the waiting control commands; returns the replies, to be sent
    /// once the vCPU is about to re-enter the guest.
    pub(crate) fn service_mailbox(&mut self) -> Vec<(Reply, Instant, std::sync::mpsc::Sender<Reply>)> {
        let Some(mb) = self.hot.mailbox.clone() else { return Vec::new() };
        let mut out = Vec::new();
        for (cmd, at, tx) in mb.take() {
            let reply = match cmd {
                Command::Unplug { device } => match self.unplug_and_release(&device) {
                    Ok(rep) => {
                        let mut v = serde_json::to_value(&rep).unwrap_or_default();
                        v["ok"] = true.into();
                        v
                    }
                    Err(e) => error_reply(e.to_string()),
                },
                Command::Plug { device, path, size } => {
                    let source = if path == "memfd" { BackingSource::Memfd } else { BackingSource::File(path.into()) };
                    let r = device::check_name(&device)
                        .map_err(|e| HotplugError::Vmm(VmmError::Usage(e)))
                        .and_then(|_| self.plug(&PmemSpec { name: device, source, size }));
                    match r {
                        Ok(info) => {
                            let mut v = serde_json::to_value(&info).unwrap_or_default();
                            v["ok"] = true.into();
                            v
                        }
                        Err(e) => error_reply(e.to_string()),
                    }
                }
                Command::Devices => serde_json::json!({"ok": true, "devices": self.devices()}),
            };
            out.push((reply, at, tx));
        }
        out
    }

    /// Sends replies, stamped with the time from request to this moment
    /// (the vCPU is about to re-enter the guest).
    pub(crate) fn send_replies(replies: Vec<(Reply, Instant, std::sync::mpsc::Sender<Reply>)>) {
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
        let step = self.kernel.raise(&mut ctx, &mut cpu, fault, 14, 0)?;
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

    /// What the loop does after the kernel handled something.
    pub(crate) fn after_step(&mut self, step: Step, ctx: kvm_bindings::kvm_regs) -> Result<Option<Ending>, VmmError> {
        match step {
            Step::Resume => {
                self.ctx = ctx;
                self.service_device_request();
                let replies = if self.hot.mailbox.as_ref().is_some_and(|m| m.pending()) { self.service_mailbox() } else { Vec::new() };
                self.prepare_entry()?;
                Machine::send_replies(replies);
                Ok(None)
            }
            Step::Finished(crate::kernel::RunEnd::Exited(c)) => Ok(Some(Ending::Exited(c))),
            Step::Finished(crate::kernel::RunEnd::Killed(r)) => Ok(Some(Ending::Killed(r))),
            Step::Checkpoint => match self.checkpoint {
                crate::machine::CheckpointMode::Continue(value) => {
                    let mut ctx = ctx;
                    ctx.rax = value;
                    self.after_step(Step::Resume, ctx)
                }
                crate::machine::CheckpointMode::Stop => {
                    self.ctx = ctx;
                    Ok(Some(Ending::Checkpoint))
                }
            },
        }
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

#[cfg(test)]
mod tests {
    use super::guest_plug_fits;

    #[test]
    fn guest_plugs_beyond_the_size_of_guest_ram_are_refused() {
        let ram = 256 << 20;
        assert!(guest_plug_fits(0, ram, ram));
        assert!(guest_plug_fits(ram - 4096, 4096, ram));
        assert!(!guest_plug_fits(ram - 4096, 8192, ram));
        assert!(!guest_plug_fits(0, 16 << 30, ram));
        assert!(!guest_plug_fits(4096, u64::MAX, ram), "no overflow");
    }
}
