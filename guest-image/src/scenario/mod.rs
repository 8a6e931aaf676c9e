//! Scenario support shared with the vmm (the bytecode format) and the
//! runner's repeat-block output and /proc line reader.

pub mod bytecode;
pub mod collect;
pub mod lines;
