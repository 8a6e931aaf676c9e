//! What a whole-VM checkpoint holds besides guest RAM (docs/vmfork.md).
//!
//! Owns `VmState`: the kernel's and the engine's images, the running
//! process's registers and FPU, and the memory windows (`devices`). The
//! machine captures and re-arms one; `vmfork` forks and resets from it;
//! `snapshot` writes and reads it.

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
    #[serde(with = "crate::kvm_serde::Regs")]
    pub regs: kvm_regs,
    /// Its x87/SSE state (the guest never enables XSAVE).
    #[serde(with = "crate::kvm_serde::Fpu")]
    pub fpu: kvm_fpu,
    /// Memory windows (plugged and unplugged) and the window allocator.
    pub devices: DeviceState,
}

pub mod devices;
