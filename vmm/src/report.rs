//! What the user reads when a run ends: kill reports and the run summary.
//!
//! Owns the one-line formats (shell-like: signal, si_code, address, rip) and
//! their JSON forms. Exit statuses follow the shell: the program's status,
//! 128 + signal when killed, 124 when the watchdog stopped the guest, 125 when
//! the guest kernel (the shim) itself failed.

use serde::Serialize;

/// Exit status when the watchdog stopped a guest that ran too long (like timeout(1)).
pub const EXIT_TIMEOUT: i32 = 124;
/// Exit status when the guest's ring 0 failed (triple fault, emulation error).
pub const EXIT_GUEST_CRASH: i32 = 125;

pub use crate::kernel::report::KillReport;

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
    /// Page-table frames reused while KVM may still have shadowed them
    /// (each cleaned by guest stores of its stale slots).
    pub hazardous_table_reuses: u64,
    /// Times every KVM shadow page was dropped (a frame KVM may still shadow
    /// as a table became data, or the kernel saw a stale translation).
    pub shadow_flushes: u64,
    /// Time the VMM spent between exits.
    pub vmm_ms: f64,
    /// At a timeout: what happened since the guest last made progress (a
    /// spinning guest has few exits and little VMM time; a livelocked VMM many).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stall: Option<crate::progress::Stall>,
    pub wall_ms: f64,
    /// System calls the guest made that the kernel does not implement
    /// (ENOSYS), with counts: "openat2 x3, io_setup x1".
    #[serde(skip_serializing_if = "String::is_empty")]
    pub unimplemented: String,
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
        let missing = if self.unimplemented.is_empty() { String::new() } else { format!(" · unimplemented: {}", self.unimplemented) };
        format!(
            "vmm: {} {} · {} faults handled ({} pages), {} syscalls, {} signals, {} exits · {:.1} ms{missing}",
            self.program, how, self.faults, self.fault_pages, self.syscalls, self.signals, self.exits, self.wall_ms
        )
    }
}
