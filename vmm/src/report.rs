//! What the user reads when a run ends: kill reports and the run summary.
//!
//! Owns the one-line formats (shell-like: signal, si_code, address, rip) and
//! their JSON forms. Exit statuses follow the shell: the program's status,
//! 128 + signal when killed, 124 when the watchdog stopped the guest, 125 when
//! the guest kernel (the shim) itself failed.

use serde::Serialize;
use std::fmt;

/// Exit status when the watchdog stopped a guest that ran too long (like timeout(1)).
pub const EXIT_TIMEOUT: i32 = 124;
/// Exit status when the guest's ring 0 failed (triple fault, emulation error).
pub const EXIT_GUEST_CRASH: i32 = 125;

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

/// How a whole run ended, with its counters.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    pub program: String,
    /// "exited", "killed", "timeout" or "guest-crash".
    pub outcome: String,
    pub exit_code: i32,
    pub killed: Option<KillReport>,
    pub detail: Option<String>,
    pub syscalls: u64,
    pub faults: u64,
    pub fault_pages: u64,
    pub signals: u64,
    pub processes: u64,
    pub exits: u64,
    pub batches: u64,
    pub batch_stores: u64,
    pub wall_ms: f64,
    /// Device plug/unplug counters, when the run had devices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hotplug: Option<crate::hotplug::HotplugStats>,
}

impl RunSummary {
    /// The human one-liner printed on stderr at the end of `vmm run`.
    pub fn line(&self) -> String {
        let how = match self.outcome.as_str() {
            "exited" => format!("exited {}", self.exit_code),
            "killed" => format!("killed ({})", self.killed.as_ref().map_or("?", |k| k.signal.as_str())),
            other => format!("{other}: {}", self.detail.clone().unwrap_or_default()),
        };
        format!(
            "vmm: {} {} · {} faults handled ({} pages), {} syscalls, {} signals, {} exits · {:.1} ms",
            self.program, how, self.faults, self.fault_pages, self.syscalls, self.signals, self.exits, self.wall_ms
        )
    }
}
