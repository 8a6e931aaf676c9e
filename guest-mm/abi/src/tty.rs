//! Terminal ioctls (include/uapi/asm-generic/ioctls.h) and the kernel's
//! struct termios and struct winsize.

pub const TCGETS: u64 = 0x5401;
pub const TCSETS: u64 = 0x5402;
pub const TCSETSW: u64 = 0x5403;
pub const TCSETSF: u64 = 0x5404;
pub const TCGETA: u64 = 0x5405;
pub const TIOCSCTTY: u64 = 0x540E;
pub const TIOCGPGRP: u64 = 0x540F;
pub const TIOCSPGRP: u64 = 0x5410;
pub const TIOCOUTQ: u64 = 0x5411;
pub const TIOCGWINSZ: u64 = 0x5413;
pub const TIOCSWINSZ: u64 = 0x5414;
pub const FIONREAD: u64 = 0x541B;
pub const TIOCNOTTY: u64 = 0x5422;
pub const FIONBIO: u64 = 0x5421;
pub const TIOCGPTN: u64 = 0x8004_5430;
pub const TCGETS2: u64 = 0x802c_542a;
pub const FIONCLEX: u64 = 0x5450;
pub const FIOCLEX: u64 = 0x5451;
pub const FIOASYNC: u64 = 0x5452;
pub const TIOCGSID: u64 = 0x5429;
pub const IOCTL_NAMES: &[(u64, &str)] = &[
    (TCGETS, "TCGETS"),
    (TCSETS, "TCSETS"),
    (TCSETSW, "TCSETSW"),
    (TCSETSF, "TCSETSF"),
    (TCGETA, "TCGETA"),
    (TIOCSCTTY, "TIOCSCTTY"),
    (TIOCGPGRP, "TIOCGPGRP"),
    (TIOCSPGRP, "TIOCSPGRP"),
    (TIOCOUTQ, "TIOCOUTQ"),
    (TIOCGWINSZ, "TIOCGWINSZ"),
    (TIOCSWINSZ, "TIOCSWINSZ"),
    (FIONREAD, "FIONREAD"),
    (FIONBIO, "FIONBIO"),
    (TIOCNOTTY, "TIOCNOTTY"),
    (TIOCGSID, "TIOCGSID"),
    (TIOCGPTN, "TIOCGPTN"),
    (TCGETS2, "TCGETS2"),
    (FIONCLEX, "FIONCLEX"),
    (FIOCLEX, "FIOCLEX"),
    (FIOASYNC, "FIOASYNC"),
    (crate::pagemap::PAGEMAP_SCAN, "PAGEMAP_SCAN"),
];

/// The kernel's struct termios (TCGETS): four u32 flags, c_line, c_cc[19].
pub const TERMIOS_SIZE: usize = 36;
/// struct winsize: ws_row, ws_col, ws_xpixel, ws_ypixel (u16 each).
pub const WINSIZE_SIZE: usize = 8;
