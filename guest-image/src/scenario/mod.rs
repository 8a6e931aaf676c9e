//! Scenario support shared with the vmm (the bytecode format).

pub mod bytecode;
