//! poll(2) event bits (include/uapi/asm-generic/poll.h) and `struct pollfd`.

pub const POLLIN: u16 = 0x0001;
pub const POLLPRI: u16 = 0x0002;
pub const POLLOUT: u16 = 0x0004;
pub const POLLERR: u16 = 0x0008;
pub const POLLHUP: u16 = 0x0010;
pub const POLLNVAL: u16 = 0x0020;
pub const POLLRDNORM: u16 = 0x0040;
pub const POLLRDBAND: u16 = 0x0080;
pub const POLLWRNORM: u16 = 0x0100;
pub const POLLWRBAND: u16 = 0x0200;
pub const POLLMSG: u16 = 0x0400;
pub const POLLRDHUP: u16 = 0x2000;

/// What a file without a poll operation reports (DEFAULT_POLLMASK).
pub const DEFAULT_POLLMASK: u16 = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;

/// `struct pollfd`: int fd, short events, short revents.
pub const POLLFD_SIZE: usize = 8;

pub const POLL_NAMES: &[(u64, &str)] = &[
    (POLLIN as u64, "POLLIN"),
    (POLLPRI as u64, "POLLPRI"),
    (POLLOUT as u64, "POLLOUT"),
    (POLLERR as u64, "POLLERR"),
    (POLLHUP as u64, "POLLHUP"),
    (POLLNVAL as u64, "POLLNVAL"),
    (POLLRDNORM as u64, "POLLRDNORM"),
    (POLLRDBAND as u64, "POLLRDBAND"),
    (POLLWRNORM as u64, "POLLWRNORM"),
    (POLLWRBAND as u64, "POLLWRBAND"),
    (POLLMSG as u64, "POLLMSG"),
    (POLLRDHUP as u64, "POLLRDHUP"),
];
