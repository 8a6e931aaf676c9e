//! Time calls: clock_gettime, clock_getres, gettimeofday, time, nanosleep,
//! clock_nanosleep (kernel/time/posix-timers.c, posix-cpu-timers.c,
//! hrtimer.c, time.c), over the kernel's `Clock`.
//!
//! The clocks a kernel like the reference one offers (CONFIG_HZ=250, high-
//! resolution timers, no RTC): REALTIME, MONOTONIC, the CPU-time clocks,
//! MONOTONIC_RAW, the two coarse clocks, BOOTTIME and TAI; the alarm
//! clocks need an RTC the guest does not have (EINVAL, EOPNOTSUPP to sleep
//! on), and clock 10 does not exist on x86.

use super::{ok, Args, Control, Ctx, SysResult};
use crate::kernel::clock::{Clock, TICK_NS};
use crate::kernel::process::{Pid, Wait};
use guest_mm::Errno;
use linux_abi::time::*;

/// Which clock an id names.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Which {
    Real,
    Mono,
    RealCoarse,
    MonoCoarse,
    Tai,
    /// A CPU-time clock of a process: scheduler time (1 ns resolution) or
    /// the tick-based PROF/VIRT ones; `thread` for the per-thread forms.
    Cpu {
        pid: Pid,
        sched: bool,
        thread: bool,
    },
}

/// clockid_to_kclock plus the CPU-clock decoding (CPUCLOCK_PID/WHICH).
fn which(cx: &Ctx<'_>, id: i32) -> Result<Which, Errno> {
    if id < 0 {
        const CLOCKFD: i32 = 3;
        if id & 7 == CLOCKFD {
            // A dynamic clock (a clock device's descriptor): none here.
            return Err(Errno::EINVAL);
        }
        let kind = id & 3;
        if kind == 3 {
            return Err(Errno::EINVAL);
        }
        let pid = !(id >> 3);
        let pid = if pid == 0 { cx.pid() } else { pid as Pid };
        if cx.k.procs.get(&pid).is_none_or(|p| p.is_zombie()) {
            return Err(Errno::EINVAL);
        }
        return Ok(Which::Cpu { pid, sched: kind == 2, thread: id & 4 != 0 });
    }
    Ok(match id as u64 {
        CLOCK_REALTIME => Which::Real,
        CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_BOOTTIME => Which::Mono,
        CLOCK_PROCESS_CPUTIME_ID => Which::Cpu { pid: cx.pid(), sched: true, thread: false },
        CLOCK_THREAD_CPUTIME_ID => Which::Cpu { pid: cx.pid(), sched: true, thread: true },
        CLOCK_REALTIME_COARSE => Which::RealCoarse,
        CLOCK_MONOTONIC_COARSE => Which::MonoCoarse,
        CLOCK_TAI => Which::Tai,
        _ => return Err(Errno::EINVAL),
    })
}

/// The clock's value in ns.
fn now(cx: &Ctx<'_>, w: Which) -> u64 {
    match w {
        Which::Real => Clock::realtime_ns(),
        Which::Mono => cx.k.clock.monotonic_ns(),
        Which::RealCoarse => Clock::realtime_ns() / TICK_NS * TICK_NS,
        Which::MonoCoarse => cx.k.clock.monotonic_ns() / TICK_NS * TICK_NS,
        // The kernel's TAI offset is 0 until someone sets it (adjtimex).
        Which::Tai => Clock::realtime_ns(),
        Which::Cpu { pid, sched, .. } => {
            let ns = cx.k.cpu_time_ns(pid);
            if sched {
                ns
            } else {
                ns / TICK_NS * TICK_NS
            }
        }
    }
}

fn timespec(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(ns / NSEC_PER_SEC).to_le_bytes());
    b[8..].copy_from_slice(&(ns % NSEC_PER_SEC).to_le_bytes());
    b
}

/// get_timespec64 + timespec64_valid: EFAULT, then EINVAL for a negative
/// second count or nanoseconds outside 0..1e9.
pub(super) fn read_timespec(cx: &mut Ctx<'_>, va: u64) -> Result<u64, Errno> {
    let mut b = [0u8; 16];
    cx.read_user(va, &mut b)?;
    let sec = i64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
    let nsec = i64::from_le_bytes(b[8..].try_into().expect("8 bytes"));
    if sec < 0 || !(0..NSEC_PER_SEC as i64).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok((sec as u64).saturating_mul(NSEC_PER_SEC).saturating_add(nsec as u64))
}

pub(super) fn clock_gettime(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let w = which(cx, a.int(0))?;
    let t = now(cx, w);
    cx.write_user(a.ptr(1), &timespec(t))?;
    ok(0)
}

pub(super) fn clock_getres(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let res = match which(cx, a.int(0))? {
        Which::RealCoarse | Which::MonoCoarse => TICK_NS,
        Which::Cpu { sched: false, .. } => TICK_NS,
        _ => 1,
    };
    if a.ptr(1) != 0 {
        cx.write_user(a.ptr(1), &timespec(res))?;
    }
    ok(0)
}

pub(super) fn gettimeofday(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    if a.ptr(0) != 0 {
        let t = Clock::realtime_ns();
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&(t / NSEC_PER_SEC).to_le_bytes());
        b[8..].copy_from_slice(&((t % NSEC_PER_SEC) / 1000).to_le_bytes());
        cx.write_user(a.ptr(0), &b)?;
    }
    if a.ptr(1) != 0 {
        // sys_tz: UTC, no DST.
        cx.write_user(a.ptr(1), &[0u8; 8])?;
    }
    ok(0)
}

pub(super) fn time(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let t = Clock::realtime_ns() / NSEC_PER_SEC;
    if a.ptr(0) != 0 {
        cx.write_u64(a.ptr(0), t)?;
    }
    ok(t)
}

/// Parks the caller until the monotonic clock reads `until`.
fn sleep_until(cx: &Ctx<'_>, until: u64, rem: u64) -> SysResult {
    if until <= cx.k.clock.monotonic_ns() {
        return ok(0);
    }
    Ok(Control::Block(Wait::Sleep { until, rem }))
}

pub(super) fn nanosleep(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let d = read_timespec(cx, a.ptr(0))?;
    let until = cx.k.clock.monotonic_ns().saturating_add(d);
    sleep_until(cx, until, a.ptr(1))
}

pub(super) fn clock_nanosleep(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (id, flags) = (a.int(0), a.int(1) as u32 as u64);
    // The alarm clocks have a sleep, which fails without an RTC.
    if id >= 0 && matches!(id as u64, CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM) {
        return Err(Errno::EOPNOTSUPP);
    }
    let w = which(cx, id)?;
    // Clocks without nsleep: the raw and coarse ones (and the alarm clocks,
    // refused by `which` already as there is no RTC).
    if id >= 0 && matches!(id as u64, CLOCK_MONOTONIC_RAW | CLOCK_REALTIME_COARSE | CLOCK_MONOTONIC_COARSE) {
        return Err(Errno::EOPNOTSUPP);
    }
    let t = read_timespec(cx, a.ptr(2))?;
    let abs = flags & TIMER_ABSTIME != 0;
    let rem = if abs { 0 } else { a.ptr(3) };
    match w {
        // posix_cpu_nsleep: not on one's own thread clock.
        Which::Cpu { thread: true, pid, .. } if pid == cx.pid() => Err(Errno::EINVAL),
        // The process's own CPU clock does not advance while it sleeps: a
        // single-threaded process waits until a signal, as on Linux.
        Which::Cpu { .. } => {
            let cur = now(cx, w);
            if abs && t <= cur || !abs && t == 0 {
                return ok(0);
            }
            Ok(Control::Block(Wait::Signal))
        }
        Which::Mono | Which::MonoCoarse => {
            let mono = cx.k.clock.monotonic_ns();
            sleep_until(cx, if abs { t } else { mono.saturating_add(t) }, rem)
        }
        Which::Real | Which::RealCoarse | Which::Tai => {
            let mono = cx.k.clock.monotonic_ns();
            let until = if abs { mono.saturating_add(t.saturating_sub(Clock::realtime_ns())) } else { mono.saturating_add(t) };
            sleep_until(cx, until, rem)
        }
    }
}

/// clock_settime(2): only CLOCK_REALTIME can be set, and only with
/// CAP_SYS_TIME, which the guest does not have; CPU clocks can never be set.
pub(super) fn clock_settime(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let id = a.int(0);
    let w = which(cx, id)?;
    match w {
        // posix_cpu_clock_set: the checks, then EPERM always.
        Which::Cpu { .. } => Err(Errno::EPERM),
        Which::Real => {
            read_timespec(cx, a.ptr(1))?;
            Err(Errno::EPERM)
        }
        // No clock_set: EINVAL (TAI, MONOTONIC, BOOTTIME, RAW, the coarse ones).
        _ => Err(Errno::EINVAL),
    }
}

/// settimeofday(2): the arguments are checked, then EPERM (no CAP_SYS_TIME).
pub(super) fn settimeofday(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    if a.ptr(0) != 0 {
        let mut b = [0u8; 16];
        cx.read_user(a.ptr(0), &mut b)?;
        let sec = i64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
        let usec = i64::from_le_bytes(b[8..].try_into().expect("8 bytes"));
        if sec < 0 || !(0..1_000_000).contains(&usec) {
            return Err(Errno::EINVAL);
        }
    }
    if a.ptr(1) != 0 {
        let mut b = [0u8; 8];
        cx.read_user(a.ptr(1), &mut b)?;
        let west = i32::from_le_bytes(b[..4].try_into().expect("4 bytes"));
        if !(-15 * 60..=15 * 60).contains(&west) {
            return Err(Errno::EINVAL);
        }
    }
    Err(Errno::EPERM)
}
