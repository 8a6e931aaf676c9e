//! vmm: a KVM microVMM whose guest memory is governed by the guest-mm engine.
//!
//! Layers (each module's header says what it owns):
//! - [`vm`], [`boot`], [`layout`], [`shim`], [`images`], [`elf`]: the VM, guest
//!   RAM, the kernel structures the host builds, the embedded guest image.
//! - [`machine`]: the vCPU loop; [`batch`]: PTE updates as shim code;
//!   [`watchdog`]; [`progress`]: a spinning guest told from a stuck VMM.
//! - [`kernel`]: processes, traps, syscalls, signals, scheduling.
//! - [`device`], [`hotplug`], [`ctl`]: memory-window devices, the unplug
//!   transaction, the control socket.
//! - [`run`], [`bench`], [`cli`], [`report`], [`error`]: the commands.

pub mod batch;
pub mod bench;

pub mod boot;
pub mod checkpoint;
pub mod cli;
pub mod compare;
pub mod ctl;
pub mod device;
pub mod elf;
pub mod error;
pub mod hostlimits;
pub mod hotplug;
pub mod images;
pub mod kernel;
pub mod kvm_serde;
pub mod layout;
pub mod machine;
pub mod progress;
pub mod report;
pub mod run;
pub mod scenario;
pub mod shim;
pub mod size;
pub mod snapshot;
pub mod vm;
pub mod vmfork;
pub mod watchdog;
