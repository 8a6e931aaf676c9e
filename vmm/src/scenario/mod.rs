//! Scenarios: describe a memory experiment once, run it in the microVM and on
//! the host kernel, compare the outcomes.
//!
//! Owns the scenario language (lexer, parser, compiler; grammar in
//! docs/scenarios.md), running a compiled scenario in the microVM or natively
//! (both with the same `scenario` guest program, see guest-image), traces,
//! their comparison, and random scenario generation with shrinking.

pub mod commands;
pub mod compile;
pub mod diff;
pub mod lexer;
pub mod parser;
pub mod random;
pub mod run;
pub mod trace;

/// The bytecode format, shared with the guest runner (one source file).
#[path = "../../../guest-image/src/scenario/bytecode.rs"]
pub mod bytecode;

use std::fmt;

/// A problem in a scenario file, located as file:line:column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub message: String,
}

impl ScenarioError {
    pub fn at(file: &str, line: u32, col: u32, message: String) -> Self {
        ScenarioError { file: file.to_string(), line, col, message }
    }
    pub fn new(file: &str, message: &str) -> Self {
        ScenarioError { file: file.to_string(), line: 0, col: 0, message: message.to_string() }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.message)
    }
}

impl std::error::Error for ScenarioError {}
