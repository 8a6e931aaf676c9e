//! Whole-VM checkpoint, fork and reset (see docs/vmfork.md).
//!
//! Owns the fork of child VMs from a checkpoint with host-level copy-on-write
//! guest RAM (`fork`), the reset loop with dirty-page tracking (`reset`,
//! `dirty`) and `vmm fork` (`command`). What a checkpoint holds is
//! `crate::checkpoint`'s.

pub mod command;
pub mod dirty;
pub mod fork;
pub mod reset;

pub use fork::{Base, NoCheckpoint};
pub use reset::{ResetCost, ResetLoop};
