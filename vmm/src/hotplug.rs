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

use crate::ctl::Mailbox;
use crate::device::{self, Backing, BackingSource, PmemSpec, Window, Windows};
use crate::error::VmmError;
use crate::kernel::Kernel;
use crate::vm::Vm;
use guest_mm::revoke::RevokeError;
use guest_mm::{Errno, Frame, ObjectId};
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
    pub fn plugged_bytes(&self) -> u64 {
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

impl Hotplug {
    /// Plugs a memory window: backing, memslot, engine object, /dev/NAME.
    pub fn plug(&mut self, vm: &Vm, kernel: &mut Kernel, spec: &PmemSpec) -> Result<PlugInfo, HotplugError> {
        if self.plugged.contains_key(&spec.name) {
            return Err(HotplugError::AlreadyPlugged(spec.name.clone()));
        }
        let window = self.windows.create(&vm.fd, spec)?;
        let mem = kernel.engine.memory().insert_region(window.region.clone());
        let mem = match mem {
            Ok(m) => m,
            Err(e) => {
                let _ = device::delete_slot(&vm.fd, &window);
                return Err(VmmError::GuestMemory(format!("adding device {}: {e}", spec.name)).into());
            }
        };
        let _ = kernel.engine.replace_memory(mem);
        let path = format!("/dev/{}", spec.name);
        let obj = kernel.engine.create_device(&path, Frame::new(window.gpa >> 12), window.size >> 12);
        // A replug under the same name replaces the revoked node.
        kernel.link_device(&path, obj);
        // The plugged device holds its object itself, so nothing the guest
        // does (closing, unmapping) can release it while it is plugged.
        let _ = kernel.engine.hold_object(obj);
        let info = PlugInfo { name: spec.name.clone(), gpa: window.gpa, size: window.size, slot: window.slot };
        tracing::debug!(?info, "plugged");
        self.plugged.insert(spec.name.clone(), Plugged { window, obj });
        self.stats.plugs += 1;
        Ok(info)
    }

    /// The unplug transaction (steps a to e, see the module header). Returns
    /// what it did and the old backing.
    pub fn unplug(&mut self, vm: &Vm, kernel: &mut Kernel, name: &str) -> Result<(UnplugReport, Backing), HotplugError> {
        let t0 = Instant::now();
        let Some(p) = self.plugged.remove(name) else { return Err(HotplugError::NoSuchDevice(name.to_string())) };
        let mut rep = UnplugReport { device: name.to_string(), gpa: p.window.gpa, size: p.window.size, ..Default::default() };
        // a + b.
        if !self.skip_revoke {
            let (r, u) = kernel.engine.revoke_device(p.obj).split();
            rep.batch_stores = u.store_count() as u64;
            kernel.absorb_updates(u);
            match r {
                Ok(r) => {
                    rep.spaces = r.spaces;
                    rep.revoked_vmas = r.vmas;
                    rep.zapped = r.zapped;
                    rep.kept_copies = r.kept_copies;
                }
                Err(e) => {
                    // Validated before any change: the device is still plugged.
                    self.plugged.insert(name.to_string(), p);
                    return Err(HotplugError::Revoke(name.to_string(), e));
                }
            }
        }
        rep.revoke_ns = t0.elapsed().as_nanos() as u64;
        // c: we are between KVM_RUNs; the next entry applies the batch and
        // reloads CR3 before ring 3 runs.
        self.force_flush = true;
        // d.
        let t1 = Instant::now();
        device::delete_slot(&vm.fd, &p.window)?;
        rep.memslot_ns = t1.elapsed().as_nanos() as u64;
        // e: the engine forgets the region, then the backing goes to the caller.
        if let Ok((mem, _)) = kernel.engine.memory().remove_region(GuestAddress(p.window.gpa), p.window.region.len()) {
            let _ = kernel.engine.replace_memory(mem);
        }
        let w = &p.window;
        let place = device::Placement { name: w.name.clone(), gpa: w.gpa, size: w.size, slot: w.slot };
        self.unplugged.push(Unplugged { place, obj: p.obj, source: w.source.clone() });
        // The device's own reference (taken at plug) goes with it.
        let _ = kernel.engine.put_object(p.obj);
        let backing = Backing { region: p.window.region, file: p.window.file };
        rep.total_ns = t0.elapsed().as_nanos() as u64;
        self.stats.unplugs += 1;
        self.stats.reports.push(rep.clone());
        tracing::debug!(?rep, "unplugged");
        Ok((rep, backing))
    }

    /// Unplug with the backing released (or, with the tripwire, kept PROT_NONE).
    pub fn unplug_and_release(&mut self, vm: &Vm, kernel: &mut Kernel, name: &str) -> Result<UnplugReport, HotplugError> {
        let (rep, backing) = self.unplug(vm, kernel, name)?;
        if self.tripwire {
            backing.make_inaccessible()?;
            if self.touch_after_unplug {
                use vm_memory::Bytes;
                let mut b = [0u8; 1];
                let _ = backing.region.read_slice(&mut b, vm_memory::MemoryRegionAddress(0));
            }
            self.tripwired.push(backing);
        }
        Ok(rep)
    }

    /// Names, addresses and sizes of the plugged devices.
    pub fn devices(&self) -> Vec<PlugInfo> {
        self.plugged
            .values()
            .map(|p| PlugInfo { name: p.window.name.clone(), gpa: p.window.gpa, size: p.window.size, slot: p.window.slot })
            .collect()
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
