//! Resource limits (include/uapi/asm-generic/resource.h) and Linux's
//! boot-time values for them (include/asm-generic/resource.h INIT_RLIMITS).

pub const RLIMIT_CPU: u64 = 0;
pub const RLIMIT_FSIZE: u64 = 1;
pub const RLIMIT_DATA: u64 = 2;
pub const RLIMIT_STACK: u64 = 3;
pub const RLIMIT_CORE: u64 = 4;
pub const RLIMIT_RSS: u64 = 5;
pub const RLIMIT_NPROC: u64 = 6;
pub const RLIMIT_NOFILE: u64 = 7;
pub const RLIMIT_MEMLOCK: u64 = 8;
pub const RLIMIT_AS: u64 = 9;
pub const RLIMIT_LOCKS: u64 = 10;
pub const RLIMIT_SIGPENDING: u64 = 11;
pub const RLIMIT_MSGQUEUE: u64 = 12;
pub const RLIMIT_NICE: u64 = 13;
pub const RLIMIT_RTPRIO: u64 = 14;
pub const RLIMIT_RTTIME: u64 = 15;
pub const RLIM_NLIMITS: usize = 16;
pub const RLIM_INFINITY: u64 = u64::MAX;
pub const RLIMIT_NAMES: [&str; RLIM_NLIMITS] = [
    "RLIMIT_CPU",
    "RLIMIT_FSIZE",
    "RLIMIT_DATA",
    "RLIMIT_STACK",
    "RLIMIT_CORE",
    "RLIMIT_RSS",
    "RLIMIT_NPROC",
    "RLIMIT_NOFILE",
    "RLIMIT_MEMLOCK",
    "RLIMIT_AS",
    "RLIMIT_LOCKS",
    "RLIMIT_SIGPENDING",
    "RLIMIT_MSGQUEUE",
    "RLIMIT_NICE",
    "RLIMIT_RTPRIO",
    "RLIMIT_RTTIME",
];

/// One limit: (soft, hard).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rlimit {
    pub cur: u64,
    pub max: u64,
}

impl Rlimit {
    /// No limit at all.
    pub const INFINITY: Rlimit = Rlimit { cur: RLIM_INFINITY, max: RLIM_INFINITY };

    /// A soft limit of `cur` under an infinite hard limit.
    pub const fn soft(cur: u64) -> Rlimit {
        Rlimit { cur, max: RLIM_INFINITY }
    }
}

/// INIT_RLIMITS for a machine whose threads-max is `max_threads`
/// (RLIMIT_NPROC and RLIMIT_SIGPENDING are set to half of it at boot by
/// fork_init), with the 8 MiB MLOCK_LIMIT of Linux 5.16+.
pub const fn init_rlimits(max_threads: u64) -> [Rlimit; RLIM_NLIMITS] {
    const INF: Rlimit = Rlimit::INFINITY;
    let half = Rlimit { cur: max_threads / 2, max: max_threads / 2 };
    [
        INF,                                         // CPU
        INF,                                         // FSIZE
        INF,                                         // DATA
        Rlimit { cur: 8 << 20, max: RLIM_INFINITY }, // STACK (_STK_LIM)
        Rlimit { cur: 0, max: RLIM_INFINITY },       // CORE
        INF,                                         // RSS
        half,                                        // NPROC
        Rlimit { cur: 1024, max: 4096 },             // NOFILE (INR_OPEN_CUR, INR_OPEN_MAX)
        Rlimit { cur: 8 << 20, max: 8 << 20 },       // MEMLOCK (MLOCK_LIMIT)
        INF,                                         // AS
        INF,                                         // LOCKS
        half,                                        // SIGPENDING
        Rlimit { cur: 819_200, max: 819_200 },       // MSGQUEUE (MQ_BYTES_MAX)
        Rlimit { cur: 0, max: 0 },                   // NICE
        Rlimit { cur: 0, max: 0 },                   // RTPRIO
        INF,                                         // RTTIME
    ]
}
