//! The guest's clocks.
//!
//! Owns the kernel's notion of time: CLOCK_MONOTONIC counts from the VM's
//! boot (a restored or forked VM goes on from its checkpoint's value, so
//! deadlines stay consistent), CLOCK_REALTIME is the host's wall clock, and
//! the CPU-time clocks count the time each process spent on the vCPU. The
//! coarse clocks are the fine ones rounded down to the tick (4 ms: the
//! reference kernel's CONFIG_HZ is 250).

use std::time::Instant;

/// The tick of the coarse clocks and of the CPU-clock resolution (1 s / HZ).
pub const TICK_NS: u64 = 4_000_000;

/// The kernel's clock.
#[derive(Clone, Debug)]
pub struct Clock {
    /// Monotonic time at `started`.
    base_ns: u64,
    started: Instant,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::starting_at(0)
    }
}

impl Clock {
    /// A clock reading `ns` now (boot: 0; a restored VM: its checkpoint's time).
    pub fn starting_at(ns: u64) -> Clock {
        Clock { base_ns: ns, started: Instant::now() }
    }

    /// CLOCK_MONOTONIC (and BOOTTIME, MONOTONIC_RAW: the guest never suspends).
    pub fn monotonic_ns(&self) -> u64 {
        self.base_ns + self.started.elapsed().as_nanos() as u64
    }

    /// CLOCK_REALTIME: the host's, in ns since the epoch.
    pub fn realtime_ns() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
    }

    /// The host instant at which the monotonic clock reads `ns`.
    pub fn instant_at(&self, ns: u64) -> Instant {
        self.started + std::time::Duration::from_nanos(ns.saturating_sub(self.base_ns))
    }
}

impl serde::Serialize for Clock {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.monotonic_ns().serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Clock {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Clock::starting_at(u64::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restored_clock_goes_on_from_its_saved_time() {
        let c = Clock::starting_at(5_000_000_000);
        let t = c.monotonic_ns();
        assert!(t >= 5_000_000_000);
        let copy: Clock = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert!(copy.monotonic_ns() >= t);
        assert!(c.instant_at(t) <= Instant::now());
    }
}
