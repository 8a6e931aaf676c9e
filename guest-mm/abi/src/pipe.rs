//! Pipes, splice and select (include/linux/pipe_fs_i.h, include/uapi/linux/
//! limits.h, include/linux/splice.h, include/uapi/linux/posix_types.h).

/// Writes of at most this many bytes are atomic (PIPE_BUF).
pub const PIPE_BUF: usize = 4096;
/// Slots of a new pipe (PIPE_DEF_BUFFERS): 16 pages, 65536 bytes.
pub const PIPE_DEF_BUFFERS: usize = 16;
/// Slots of a new pipe when its user is over pipe-user-pages-soft
/// (PIPE_MIN_DEF_BUFFERS).
pub const PIPE_MIN_DEF_BUFFERS: usize = 2;
/// /proc/sys/fs/pipe-max-size's default: the most an unprivileged
/// F_SETPIPE_SZ may ask for (1 MiB).
pub const PIPE_MAX_SIZE: u64 = 1 << 20;
/// /proc/sys/fs/pipe-user-pages-soft's default: pages of pipe buffers one
/// user may have before new pipes get PIPE_MIN_DEF_BUFFERS slots.
pub const PIPE_USER_PAGES_SOFT: u64 = 16384;

/// pipe2's request for a watch-queue pipe (O_NOTIFICATION_PIPE = O_EXCL):
/// ENOPKG on a kernel without CONFIG_WATCH_QUEUE, as the reference host.
pub const O_NOTIFICATION_PIPE: u64 = crate::fcntl::O_EXCL;

/// pipe2's flags, for `--strace` (strace prints 0 as 0).
pub const PIPE2_NAMES: &[(u64, &str)] = &[
    (crate::fcntl::O_CLOEXEC, "O_CLOEXEC"),
    (crate::fcntl::O_NONBLOCK, "O_NONBLOCK"),
    (crate::fcntl::O_DIRECT, "O_DIRECT"),
    (O_NOTIFICATION_PIPE, "O_NOTIFICATION_PIPE"),
];

/// splice/vmsplice/tee flags (SPLICE_F_*).
pub const SPLICE_F_MOVE: u64 = 0x01;
pub const SPLICE_F_NONBLOCK: u64 = 0x02;
pub const SPLICE_F_MORE: u64 = 0x04;
pub const SPLICE_F_GIFT: u64 = 0x08;
/// Every flag the calls accept (SPLICE_F_ALL).
pub const SPLICE_F_ALL: u64 = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT;

pub const SPLICE_NAMES: &[(u64, &str)] = &[
    (SPLICE_F_MOVE, "SPLICE_F_MOVE"),
    (SPLICE_F_NONBLOCK, "SPLICE_F_NONBLOCK"),
    (SPLICE_F_MORE, "SPLICE_F_MORE"),
    (SPLICE_F_GIFT, "SPLICE_F_GIFT"),
];

/// glibc's fd_set size in descriptors (__FD_SETSIZE); the kernel itself
/// takes any nfds up to its table size.
pub const FD_SETSIZE: usize = 1024;
/// The descriptor table's initial size (NR_OPEN_DEFAULT = BITS_PER_LONG):
/// select looks at no descriptor at or above the table's size.
pub const NR_OPEN_DEFAULT: u64 = 64;
