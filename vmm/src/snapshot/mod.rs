//! On-disk VM snapshots (`vmm snapshot`, `vmm restore`), see docs/vmfork.md.

pub mod command;
pub mod kvm_serde;
