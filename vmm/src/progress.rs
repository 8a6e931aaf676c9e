//! Telling a guest that runs too long from a VMM that does not get anywhere.
//!
//! Owns the run's progress stamp. Progress is what only a working VMM
//! produces for a guest: a system call completed, pages mapped by a fault,
//! a signal delivered, a process created or ended. Between two such events
//! a guest that spins in ring 3 costs the VMM nothing (no exits but the
//! watchdog's kicks); a VMM that livelocks (re-entering the guest at the
//! same fault forever, say) takes exit after exit and spends its own time
//! on them. So when the watchdog stops a run, the exits and VMM time since
//! the last progress tell the two apart (`Stall`, in the run summary).
//! A VMM that hangs in its own code never returns to the watchdog check;
//! only a caller's wall-clock limit catches that.

use serde::Serialize;
use std::time::{Duration, Instant};

/// What happened since the guest last made progress.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stall {
    pub ms_since_progress: f64,
    pub exits_since_progress: u64,
    /// Time the VMM spent between exits (decode, kernel, engine, entry).
    pub vmm_ms_since_progress: f64,
}

/// The last progress: the counters' sum then, and the loop's totals then.
#[derive(Clone, Debug)]
pub struct Progress {
    value: u64,
    at: Instant,
    exits: u64,
    host_time: Duration,
}

impl Default for Progress {
    fn default() -> Self {
        Progress { value: 0, at: Instant::now(), exits: 0, host_time: Duration::ZERO }
    }
}

impl Progress {
    /// Records the progress counters' sum `value` after an exit was handled;
    /// `exits` and `host_time` are the loop's totals so far.
    pub fn note(&mut self, value: u64, exits: u64, host_time: Duration) {
        if value != self.value {
            *self = Progress { value, at: Instant::now(), exits, host_time };
        }
    }

    /// The stall at this moment, given the loop's totals.
    pub fn stall(&self, exits: u64, host_time: Duration) -> Stall {
        Stall {
            ms_since_progress: self.at.elapsed().as_secs_f64() * 1e3,
            exits_since_progress: exits.saturating_sub(self.exits),
            vmm_ms_since_progress: host_time.saturating_sub(self.host_time).as_secs_f64() * 1e3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_change_of_the_counters_moves_the_stamp() {
        let mut p = Progress::default();
        p.note(3, 10, Duration::from_millis(1));
        p.note(3, 500, Duration::from_millis(9));
        let s = p.stall(900, Duration::from_millis(20));
        assert_eq!((s.exits_since_progress, s.vmm_ms_since_progress.round()), (890, 19.0));
        p.note(4, 900, Duration::from_millis(20));
        assert_eq!(p.stall(901, Duration::from_millis(20)).exits_since_progress, 1);
    }
}
