//! Whole-VM checkpoint, fork and reset (see docs/vmfork.md).
//!
//! Owns `VmState` (what a checkpoint captures besides guest RAM), the fork of
//! child VMs from a checkpoint with host-level copy-on-write guest RAM
//! (`fork`), the reset loop with dirty-page tracking (`reset`, `dirty`), and
//! what children and restores get of memory windows (`devices`).

use crate::kernel::image::KernelImage;
use devices::DeviceState;
use guest_mm::EngineImage;
use kvm_bindings::{kvm_fpu, kvm_regs};

/// The whole VM at a checkpoint, guest RAM excluded.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct VmState {
    /// Guest RAM size in bytes.
    pub memory: u64,
    pub kernel: KernelImage,
    pub engine: EngineImage,
    /// The running process's user registers, RIP past the checkpoint call.
    #[serde(with = "crate::snapshot::kvm_serde::Regs")]
    pub regs: kvm_regs,
    /// Its x87/SSE state (the guest never enables XSAVE).
    #[serde(with = "crate::snapshot::kvm_serde::Fpu")]
    pub fpu: kvm_fpu,
    /// Memory windows (plugged and unplugged) and the window allocator.
    pub devices: DeviceState,
}

pub mod command;
pub mod devices;
pub mod dirty;
pub mod fork;
pub mod reset;

pub use fork::{Base, NoCheckpoint};
pub use reset::{ResetCost, ResetLoop, ShadowFlush};
