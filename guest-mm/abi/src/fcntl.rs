//! File values: open flags (x86-64 octal values of include/uapi/asm-generic/
//! fcntl.h), fcntl commands, *at flags, lseek whence, fallocate modes.

pub const O_ACCMODE: u64 = 0o3;
pub const O_RDONLY: u64 = 0o0;
pub const O_WRONLY: u64 = 0o1;
pub const O_RDWR: u64 = 0o2;
pub const O_CREAT: u64 = 0o100;
pub const O_EXCL: u64 = 0o200;
pub const O_NOCTTY: u64 = 0o400;
pub const O_TRUNC: u64 = 0o1000;
pub const O_APPEND: u64 = 0o2000;
pub const O_NONBLOCK: u64 = 0o4000;
pub const O_DSYNC: u64 = 0o10000;
pub const FASYNC: u64 = 0o20000;
pub const O_DIRECT: u64 = 0o40000;
pub const O_LARGEFILE: u64 = 0o100000;
pub const O_DIRECTORY: u64 = 0o200000;
pub const O_NOFOLLOW: u64 = 0o400000;
pub const O_NOATIME: u64 = 0o1000000;
pub const O_CLOEXEC: u64 = 0o2000000;
/// O_SYNC is __O_SYNC | O_DSYNC.
pub const O_SYNC: u64 = 0o4000000 | O_DSYNC;
pub const O_PATH: u64 = 0o10000000;
/// O_TMPFILE is __O_TMPFILE | O_DIRECTORY.
pub const O_TMPFILE: u64 = 0o20000000 | O_DIRECTORY;
/// Flags other than the access mode, for decoding (strace order).
pub const O_NAMES: &[(u64, &str)] = &[
    (O_CREAT, "O_CREAT"),
    (O_EXCL, "O_EXCL"),
    (O_NOCTTY, "O_NOCTTY"),
    (O_TRUNC, "O_TRUNC"),
    (O_APPEND, "O_APPEND"),
    (O_NONBLOCK, "O_NONBLOCK"),
    (O_SYNC, "O_SYNC"),
    (O_DSYNC, "O_DSYNC"),
    (FASYNC, "O_ASYNC"),
    (O_DIRECT, "O_DIRECT"),
    (O_LARGEFILE, "O_LARGEFILE"),
    (O_TMPFILE, "O_TMPFILE"),
    (O_DIRECTORY, "O_DIRECTORY"),
    (O_NOFOLLOW, "O_NOFOLLOW"),
    (O_NOATIME, "O_NOATIME"),
    (O_CLOEXEC, "O_CLOEXEC"),
    (O_PATH, "O_PATH"),
];
pub const O_ACCMODE_NAMES: &[(u64, &str)] = &[(O_RDONLY, "O_RDONLY"), (O_WRONLY, "O_WRONLY"), (O_RDWR, "O_RDWR")];

pub const F_DUPFD: u64 = 0;
pub const F_GETFD: u64 = 1;
pub const F_SETFD: u64 = 2;
pub const F_GETFL: u64 = 3;
pub const F_SETFL: u64 = 4;
pub const F_GETLK: u64 = 5;
pub const F_SETLK: u64 = 6;
pub const F_SETLKW: u64 = 7;
pub const F_SETOWN: u64 = 8;
pub const F_GETOWN: u64 = 9;
pub const F_SETSIG: u64 = 10;
pub const F_GETSIG: u64 = 11;
pub const F_SETOWN_EX: u64 = 15;
pub const F_GETOWN_EX: u64 = 16;
/// `struct f_owner_ex` types (F_GETOWN_EX/F_SETOWN_EX).
pub const F_OWNER_TID: i32 = 0;
pub const F_OWNER_PID: i32 = 1;
pub const F_OWNER_PGRP: i32 = 2;
pub const F_OWNER_NAMES: &[(u64, &str)] = &[(0, "F_OWNER_TID"), (1, "F_OWNER_PID"), (2, "F_OWNER_PGRP")];
pub const F_GETOWNER_UIDS: u64 = 17;
pub const F_OFD_GETLK: u64 = 36;
pub const F_OFD_SETLK: u64 = 37;
pub const F_OFD_SETLKW: u64 = 38;
pub const F_SETLEASE: u64 = 1024;
pub const F_GETLEASE: u64 = 1025;
pub const F_NOTIFY: u64 = 1026;
pub const F_DUPFD_QUERY: u64 = 1027;
pub const F_CREATED_QUERY: u64 = 1028;
pub const F_DUPFD_CLOEXEC: u64 = 1030;
pub const F_SETPIPE_SZ: u64 = 1031;
pub const F_GETPIPE_SZ: u64 = 1032;
pub const F_ADD_SEALS: u64 = 1033;
pub const F_GET_SEALS: u64 = 1034;
/// memfd seals (F_ADD_SEALS/F_GET_SEALS).
pub const F_SEAL_SEAL: u32 = 0x0001;
pub const F_SEAL_SHRINK: u32 = 0x0002;
pub const F_SEAL_GROW: u32 = 0x0004;
pub const F_SEAL_WRITE: u32 = 0x0008;
pub const F_SEAL_FUTURE_WRITE: u32 = 0x0010;
pub const F_SEAL_EXEC: u32 = 0x0020;
pub const F_ALL_SEALS: u32 = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC;
pub const F_SEAL_NAMES: &[(u64, &str)] = &[
    (F_SEAL_SEAL as u64, "F_SEAL_SEAL"),
    (F_SEAL_SHRINK as u64, "F_SEAL_SHRINK"),
    (F_SEAL_GROW as u64, "F_SEAL_GROW"),
    (F_SEAL_WRITE as u64, "F_SEAL_WRITE"),
    (F_SEAL_FUTURE_WRITE as u64, "F_SEAL_FUTURE_WRITE"),
    (F_SEAL_EXEC as u64, "F_SEAL_EXEC"),
];
pub const F_GET_RW_HINT: u64 = 1035;
pub const F_SET_RW_HINT: u64 = 1036;
pub const F_GET_FILE_RW_HINT: u64 = 1037;
pub const F_SET_FILE_RW_HINT: u64 = 1038;
pub const F_NAMES: &[(u64, &str)] = &[
    (F_DUPFD, "F_DUPFD"),
    (F_GETFD, "F_GETFD"),
    (F_SETFD, "F_SETFD"),
    (F_GETFL, "F_GETFL"),
    (F_SETFL, "F_SETFL"),
    (F_GETLK, "F_GETLK"),
    (F_SETLK, "F_SETLK"),
    (F_SETLKW, "F_SETLKW"),
    (F_SETOWN, "F_SETOWN"),
    (F_GETOWN, "F_GETOWN"),
    (F_SETSIG, "F_SETSIG"),
    (F_GETSIG, "F_GETSIG"),
    (F_SETOWN_EX, "F_SETOWN_EX"),
    (F_GETOWN_EX, "F_GETOWN_EX"),
    (F_OFD_GETLK, "F_OFD_GETLK"),
    (F_OFD_SETLK, "F_OFD_SETLK"),
    (F_OFD_SETLKW, "F_OFD_SETLKW"),
    (F_SETLEASE, "F_SETLEASE"),
    (F_GETLEASE, "F_GETLEASE"),
    (F_NOTIFY, "F_NOTIFY"),
    (F_DUPFD_CLOEXEC, "F_DUPFD_CLOEXEC"),
    (F_SETPIPE_SZ, "F_SETPIPE_SZ"),
    (F_GETPIPE_SZ, "F_GETPIPE_SZ"),
    (F_ADD_SEALS, "F_ADD_SEALS"),
    (F_GET_SEALS, "F_GET_SEALS"),
];
/// The descriptor flag of F_GETFD/F_SETFD.
pub const FD_CLOEXEC: u64 = 1;
pub const FD_FLAG_NAMES: &[(u64, &str)] = &[(FD_CLOEXEC, "FD_CLOEXEC")];

/// The dirfd meaning "the current directory".
pub const AT_FDCWD: i64 = -100;
pub const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
/// unlinkat: remove a directory.
pub const AT_REMOVEDIR: u64 = 0x200;
/// faccessat: check with the effective ids.
pub const AT_EACCESS: u64 = 0x200;
pub const AT_SYMLINK_FOLLOW: u64 = 0x400;
pub const AT_NO_AUTOMOUNT: u64 = 0x800;
pub const AT_EMPTY_PATH: u64 = 0x1000;
/// statx's sync-type bits (AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC).
pub const AT_STATX_SYNC_TYPE: u64 = 0x6000;
pub const AT_NAMES: &[(u64, &str)] = &[
    (AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"),
    (AT_REMOVEDIR, "AT_REMOVEDIR"),
    (AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"),
    (AT_NO_AUTOMOUNT, "AT_NO_AUTOMOUNT"),
    (AT_EMPTY_PATH, "AT_EMPTY_PATH"),
];

pub const SEEK_SET: u64 = 0;
pub const SEEK_CUR: u64 = 1;
pub const SEEK_END: u64 = 2;
pub const SEEK_DATA: u64 = 3;
pub const SEEK_HOLE: u64 = 4;
pub const SEEK_NAMES: &[(u64, &str)] =
    &[(SEEK_SET, "SEEK_SET"), (SEEK_CUR, "SEEK_CUR"), (SEEK_END, "SEEK_END"), (SEEK_DATA, "SEEK_DATA"), (SEEK_HOLE, "SEEK_HOLE")];

pub const FALLOC_FL_KEEP_SIZE: u64 = 0x01;
pub const FALLOC_FL_PUNCH_HOLE: u64 = 0x02;
pub const FALLOC_FL_COLLAPSE_RANGE: u64 = 0x08;
pub const FALLOC_FL_ZERO_RANGE: u64 = 0x10;
pub const FALLOC_FL_INSERT_RANGE: u64 = 0x20;
pub const FALLOC_FL_UNSHARE_RANGE: u64 = 0x40;

/// The longest path (PATH_MAX, the terminating NUL included).
pub const PATH_MAX: usize = 4096;
/// Most iovecs one readv/writev takes (UIO_MAXIOV).
pub const UIO_MAXIOV: u64 = 1024;
/// struct iovec: iov_base, iov_len.
pub const IOVEC_SIZE: usize = 16;
/// The largest count one read or write moves (MAX_RW_COUNT: INT_MAX & PAGE_MASK).
pub const MAX_RW_COUNT: u64 = 0x7fff_f000;
