//! On-disk VM snapshots (`vmm snapshot`, `vmm restore [--lazy]`), see
//! docs/vmfork.md: `format` (layout and validation), `write` (atomic,
//! sparse), `restore` (eager), `lazy` (userfaultfd), `buffer` (the state's
//! read buffer, where frame records stay encoded), `command`.

pub mod buffer;
pub mod chunks;
pub mod command;
pub mod format;
pub mod lazy;
pub mod restore;
pub mod write;
