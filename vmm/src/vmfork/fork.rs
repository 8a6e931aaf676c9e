//! Forking child VMs from a checkpoint.
//!
//! Owns `Base` (a paused VM reduced to what children need: its `VmState` and
//! its guest-RAM memfd, frozen) and `Base::fork`, which builds a child VM:
//! a new KVM VM whose memslot 0 maps the base memfd MAP_PRIVATE (host-level
//! copy-on-write: unmodified pages stay the base's page-cache pages, shared
//! by every child), the engine and kernel cloned from the image, and a vCPU
//! loaded with the checkpoint's registers and FPU, RAX = the child's index.
//!
//! Invariant: after `Base::checkpoint` returns, nothing writes the base memfd
//! (the parent VM is gone; children only map it privately), so every child,
//! and every later fork, sees exactly the checkpoint's bytes. The same holds
//! for the backing of a window in `DeviceMode::Copy`; a window in
//! `DeviceMode::Shared` is one backing mapped MAP_SHARED by every child.

use crate::checkpoint::devices::{DeviceMode, DeviceModes, WindowState};
use crate::checkpoint::VmState;
use crate::device::{self, PmemSpec, WindowView};
use crate::error::VmmError;
use crate::kernel::console::Console;
use crate::machine::{BootSpec, CheckpointMode, Ending, Machine};
use crate::vm::{self, GuestRam, Vm};
use std::fs::File;
use std::sync::Arc;
use std::time::Duration;

/// A VM at its checkpoint, frozen: the parent of every fork.
pub struct Base {
    pub state: VmState,
    pub memfd: Arc<File>,
    pub program: String,
    /// The run's print options, given to every child's kernel.
    pub quiet: bool,
    pub show_maps: bool,
    /// The plugged windows (in the order of `state.devices.plugged`).
    pub windows: Vec<BaseWindow>,
}

/// A plugged window of the base: its backing, and what children get of it.
pub struct BaseWindow {
    pub state: WindowState,
    pub file: Arc<File>,
    pub mode: DeviceMode,
}

/// Why there is no checkpoint to fork from.
#[derive(Debug)]
pub enum NoCheckpoint {
    /// The program ended (or crashed, or timed out) without asking for one.
    Ended(Ending),
    Error(VmmError),
}

impl From<VmmError> for NoCheckpoint {
    fn from(e: VmmError) -> Self {
        NoCheckpoint::Error(e)
    }
}

impl Base {
    /// Boots `spec`, runs it to its checkpoint and freezes it there.
    pub fn checkpoint(spec: &BootSpec, timeout: Duration) -> Result<Base, NoCheckpoint> {
        Base::checkpoint_with_devices(spec, timeout, &[], &DeviceModes::default())
    }

    /// As `checkpoint`, with `devices` plugged at boot; `modes` says what
    /// children get of each window still plugged at the checkpoint.
    pub fn checkpoint_with_devices(
        spec: &BootSpec,
        timeout: Duration,
        devices: &[PmemSpec],
        modes: &DeviceModes,
    ) -> Result<Base, NoCheckpoint> {
        let kvm = vm::open_kvm()?;
        let mut m = Machine::boot(kvm, spec)?;
        for d in devices {
            m.plug(d).map_err(|e| match e {
                crate::hotplug::HotplugError::Vmm(v) => v,
                e => VmmError::Usage(e.to_string()),
            })?;
        }
        m.checkpoint = CheckpointMode::Stop;
        match m.run(timeout)? {
            Ending::Checkpoint => {}
            other => return Err(NoCheckpoint::Ended(other)),
        }
        let mut b = Base::from_machine(&m, &spec.program, modes)?;
        (b.quiet, b.show_maps) = (spec.quiet, spec.show_maps);
        Ok(b)
    }

    /// Freezes a machine paused at a checkpoint (it must not run again).
    pub fn from_machine(m: &Machine, program: &str, modes: &DeviceModes) -> Result<Base, VmmError> {
        let state = m.capture()?;
        modes.check_names(&state.devices.names())?;
        let windows = m
            .hot
            .plugged_windows()
            .zip(&state.devices.plugged)
            .map(|((w, _), s)| BaseWindow { state: s.clone(), file: w.file.clone(), mode: modes.mode_for(&w.name, &w.source) })
            .collect();
        Ok(Base {
            state,
            memfd: m.ram().memfd.clone(),
            program: program.to_string(),
            quiet: m.kernel.quiet,
            show_maps: m.kernel.show_maps,
            windows,
        })
    }

    /// A child VM that continues from the checkpoint with `index` as the
    /// checkpoint call's return value, ready for its first guest instruction.
    pub fn fork(&self, index: u64, console: Console) -> Result<Machine, VmmError> {
        let t0 = std::time::Instant::now();
        let ram = GuestRam::private_view(&self.memfd, self.state.memory)?;
        let vm = Vm::with_ram(vm::open_kvm()?, ram)?;
        let mut windows = Vec::with_capacity(self.windows.len());
        for w in &self.windows {
            let view = match w.mode {
                DeviceMode::Shared => WindowView::Shared,
                DeviceMode::Copy => WindowView::PrivateCopyOnWrite,
            };
            windows.push(device::attach(&vm.fd, &w.state.place, w.file.clone(), w.state.source.clone(), view)?);
        }
        let t1 = std::time::Instant::now();
        let state = self.state.clone();
        let t2 = std::time::Instant::now();
        let mut m = Machine::resume(vm, state, index, console, windows)?;
        (m.kernel.quiet, m.kernel.show_maps) = (self.quiet, self.show_maps);
        tracing::debug!(vm = ?(t1 - t0), clone = ?(t2 - t1), resume = ?t2.elapsed(), "fork");
        Ok(m)
    }
}
