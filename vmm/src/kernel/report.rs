//! The one-line report of a process killed by a signal: the kernel writes
//! it when the process dies (shell-like: signal, si_code, address, rip);
//! the run summary carries it (crate::report).

use serde::Serialize;
use std::fmt;

/// A process killed by a signal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KillReport {
    pub pid: u32,
    pub name: String,
    pub signal: String,
    pub code: String,
    pub addr: u64,
    pub rip: u64,
    pub core: bool,
    pub note: Option<String>,
}

impl fmt::Display for KillReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pid {} ({}) killed by {} ({}) at address {:#x}, rip {:#x}",
            self.pid, self.name, self.signal, self.code, self.addr, self.rip
        )?;
        if let Some(n) = &self.note {
            write!(f, ": {n}")?;
        }
        if self.core {
            write!(f, " (core dumped)")?;
        }
        Ok(())
    }
}
