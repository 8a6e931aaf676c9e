//! wait4/waitid options and id types (include/uapi/linux/wait.h), and the
//! encoding of the wait status word.

pub const WNOHANG: u64 = 0x1;
pub const WUNTRACED: u64 = 0x2;
pub const WSTOPPED: u64 = WUNTRACED;
pub const WEXITED: u64 = 0x4;
pub const WCONTINUED: u64 = 0x8;
pub const WNOWAIT: u64 = 0x0100_0000;
pub const WNOTHREAD: u64 = 0x2000_0000;
pub const WALL: u64 = 0x4000_0000;
pub const WCLONE: u64 = 0x8000_0000;
pub const W_NAMES: &[(u64, &str)] = &[
    (WNOHANG, "WNOHANG"),
    (WUNTRACED, "WSTOPPED"),
    (WEXITED, "WEXITED"),
    (WCONTINUED, "WCONTINUED"),
    (WNOWAIT, "WNOWAIT"),
    (WNOTHREAD, "__WNOTHREAD"),
    (WALL, "__WALL"),
    (WCLONE, "__WCLONE"),
];

pub const P_ALL: u64 = 0;
pub const P_PID: u64 = 1;
pub const P_PGID: u64 = 2;
pub const P_PIDFD: u64 = 3;

/// The status word of a normal exit with `code`.
pub const fn exited(code: i32) -> i32 {
    (code & 0xff) << 8
}
/// The status word of a death by `signal` (with a core dump or not).
pub const fn signaled(signal: u8, core: bool) -> i32 {
    signal as i32 | if core { 0x80 } else { 0 }
}
/// The status word of a stop by `signal`.
pub const fn stopped(signal: u8) -> i32 {
    ((signal as i32) << 8) | 0x7f
}
/// The status word of a continue.
pub const CONTINUED: i32 = 0xffff;
