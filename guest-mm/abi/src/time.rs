//! Clocks and time structures (include/uapi/linux/time.h).

pub const CLOCK_REALTIME: u64 = 0;
pub const CLOCK_MONOTONIC: u64 = 1;
pub const CLOCK_PROCESS_CPUTIME_ID: u64 = 2;
pub const CLOCK_THREAD_CPUTIME_ID: u64 = 3;
pub const CLOCK_MONOTONIC_RAW: u64 = 4;
pub const CLOCK_REALTIME_COARSE: u64 = 5;
pub const CLOCK_MONOTONIC_COARSE: u64 = 6;
pub const CLOCK_BOOTTIME: u64 = 7;
pub const CLOCK_REALTIME_ALARM: u64 = 8;
pub const CLOCK_BOOTTIME_ALARM: u64 = 9;
/// 10 was CLOCK_SGI_CYCLE, never on x86.
pub const CLOCK_TAI: u64 = 11;
pub const CLOCK_NAMES: &[(u64, &str)] = &[
    (CLOCK_REALTIME, "CLOCK_REALTIME"),
    (CLOCK_MONOTONIC, "CLOCK_MONOTONIC"),
    (CLOCK_PROCESS_CPUTIME_ID, "CLOCK_PROCESS_CPUTIME_ID"),
    (CLOCK_THREAD_CPUTIME_ID, "CLOCK_THREAD_CPUTIME_ID"),
    (CLOCK_MONOTONIC_RAW, "CLOCK_MONOTONIC_RAW"),
    (CLOCK_REALTIME_COARSE, "CLOCK_REALTIME_COARSE"),
    (CLOCK_MONOTONIC_COARSE, "CLOCK_MONOTONIC_COARSE"),
    (CLOCK_BOOTTIME, "CLOCK_BOOTTIME"),
    (CLOCK_REALTIME_ALARM, "CLOCK_REALTIME_ALARM"),
    (CLOCK_BOOTTIME_ALARM, "CLOCK_BOOTTIME_ALARM"),
    (CLOCK_TAI, "CLOCK_TAI"),
];

/// clock_nanosleep / timer_settime: the time is absolute.
pub const TIMER_ABSTIME: u64 = 1;

/// Nanoseconds per second.
pub const NSEC_PER_SEC: u64 = 1_000_000_000;

/// struct timespec / struct timeval: two 64-bit fields, 16 bytes.
pub const TIMESPEC_SIZE: usize = 16;

pub const ITIMER_REAL: u64 = 0;
pub const ITIMER_VIRTUAL: u64 = 1;
pub const ITIMER_PROF: u64 = 2;
