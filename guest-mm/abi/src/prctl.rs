//! prctl options (include/uapi/linux/prctl.h) that programs and their
//! runtimes use.

pub const PR_SET_PDEATHSIG: u64 = 1;
pub const PR_GET_PDEATHSIG: u64 = 2;
pub const PR_GET_DUMPABLE: u64 = 3;
pub const PR_SET_DUMPABLE: u64 = 4;
pub const PR_GET_KEEPCAPS: u64 = 7;
pub const PR_SET_KEEPCAPS: u64 = 8;
pub const PR_SET_NAME: u64 = 15;
pub const PR_GET_NAME: u64 = 16;
pub const PR_CAPBSET_READ: u64 = 23;
pub const PR_CAPBSET_DROP: u64 = 24;
pub const PR_GET_SECUREBITS: u64 = 27;
pub const PR_SET_SECUREBITS: u64 = 28;
pub const PR_SET_TIMERSLACK: u64 = 29;
pub const PR_GET_TIMERSLACK: u64 = 30;
pub const PR_SET_CHILD_SUBREAPER: u64 = 36;
pub const PR_GET_CHILD_SUBREAPER: u64 = 37;
pub const PR_SET_NO_NEW_PRIVS: u64 = 38;
pub const PR_GET_NO_NEW_PRIVS: u64 = 39;
pub const PR_SET_THP_DISABLE: u64 = 41;
pub const PR_GET_THP_DISABLE: u64 = 42;
pub const PR_CAP_AMBIENT: u64 = 47;
pub const PR_SET_VMA: u64 = 0x53564d41;
pub const PR_NAMES: &[(u64, &str)] = &[
    (PR_SET_PDEATHSIG, "PR_SET_PDEATHSIG"),
    (PR_GET_PDEATHSIG, "PR_GET_PDEATHSIG"),
    (PR_GET_DUMPABLE, "PR_GET_DUMPABLE"),
    (PR_SET_DUMPABLE, "PR_SET_DUMPABLE"),
    (PR_GET_KEEPCAPS, "PR_GET_KEEPCAPS"),
    (PR_SET_KEEPCAPS, "PR_SET_KEEPCAPS"),
    (PR_SET_NAME, "PR_SET_NAME"),
    (PR_GET_NAME, "PR_GET_NAME"),
    (PR_CAPBSET_READ, "PR_CAPBSET_READ"),
    (PR_CAPBSET_DROP, "PR_CAPBSET_DROP"),
    (PR_GET_SECUREBITS, "PR_GET_SECUREBITS"),
    (PR_SET_SECUREBITS, "PR_SET_SECUREBITS"),
    (PR_SET_TIMERSLACK, "PR_SET_TIMERSLACK"),
    (PR_GET_TIMERSLACK, "PR_GET_TIMERSLACK"),
    (PR_SET_CHILD_SUBREAPER, "PR_SET_CHILD_SUBREAPER"),
    (PR_GET_CHILD_SUBREAPER, "PR_GET_CHILD_SUBREAPER"),
    (PR_SET_NO_NEW_PRIVS, "PR_SET_NO_NEW_PRIVS"),
    (PR_GET_NO_NEW_PRIVS, "PR_GET_NO_NEW_PRIVS"),
    (PR_SET_THP_DISABLE, "PR_SET_THP_DISABLE"),
    (PR_GET_THP_DISABLE, "PR_GET_THP_DISABLE"),
    (PR_CAP_AMBIENT, "PR_CAP_AMBIENT"),
    (PR_SET_VMA, "PR_SET_VMA"),
];
/// The longest task name PR_SET_NAME keeps (TASK_COMM_LEN, with the NUL).
pub const TASK_COMM_LEN: usize = 16;

/// capget/capset header versions.
pub const LINUX_CAPABILITY_VERSION_1: u32 = 0x1998_0330;
pub const LINUX_CAPABILITY_VERSION_2: u32 = 0x2007_1026;
pub const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
/// The highest capability number (CAP_LAST_CAP, Linux 6.18: CAP_CHECKPOINT_RESTORE).
pub const CAP_LAST_CAP: u64 = 40;
