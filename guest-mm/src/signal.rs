//! Synchronous signals the engine answers faults with.
//!
//! A fault the engine cannot resolve becomes a `SigFault`: the signal number,
//! its si_code and the faulting address, exactly as Linux would fill siginfo.
//! Values are Linux's (include/uapi/asm-generic/siginfo.h, signal.h).

use crate::addr::VirtAddr;
use std::fmt;

/// Signal numbers the engine and the process layer use.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Signal {
    SIGHUP = 1,
    SIGINT = 2,
    SIGQUIT = 3,
    SIGILL = 4,
    SIGTRAP = 5,
    SIGABRT = 6,
    SIGBUS = 7,
    SIGFPE = 8,
    SIGKILL = 9,
    SIGUSR1 = 10,
    SIGSEGV = 11,
    SIGUSR2 = 12,
    SIGPIPE = 13,
    SIGALRM = 14,
    SIGTERM = 15,
    SIGCHLD = 17,
    SIGSYS = 31,
}

impl Signal {
    pub const fn number(self) -> u8 {
        self as u8
    }
    pub const fn name(self) -> &'static str {
        match self {
            Signal::SIGHUP => "SIGHUP",
            Signal::SIGINT => "SIGINT",
            Signal::SIGQUIT => "SIGQUIT",
            Signal::SIGILL => "SIGILL",
            Signal::SIGTRAP => "SIGTRAP",
            Signal::SIGABRT => "SIGABRT",
            Signal::SIGBUS => "SIGBUS",
            Signal::SIGFPE => "SIGFPE",
            Signal::SIGKILL => "SIGKILL",
            Signal::SIGUSR1 => "SIGUSR1",
            Signal::SIGSEGV => "SIGSEGV",
            Signal::SIGUSR2 => "SIGUSR2",
            Signal::SIGPIPE => "SIGPIPE",
            Signal::SIGALRM => "SIGALRM",
            Signal::SIGTERM => "SIGTERM",
            Signal::SIGCHLD => "SIGCHLD",
            Signal::SIGSYS => "SIGSYS",
        }
    }
    pub fn from_number(n: u64) -> Option<Signal> {
        use Signal::*;
        [
            SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL, SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM,
            SIGTERM, SIGCHLD, SIGSYS,
        ]
        .into_iter()
        .find(|s| s.number() as u64 == n)
    }
}

/// si_code values for the signals we raise.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SiCode {
    /// SEGV_MAPERR (1): address not mapped to an object.
    SegvMaperr,
    /// SEGV_ACCERR (2): invalid permissions for a mapped object.
    SegvAccerr,
    /// BUS_ADRALN (1): invalid address alignment.
    BusAdraln,
    /// BUS_ADRERR (2): non-existent physical address (also: beyond end of file).
    BusAdrerr,
    /// BUS_OBJERR (3): object-specific hardware error.
    BusObjerr,
    /// ILL_ILLOPN (2): illegal operand (our report for #UD).
    IllIllopn,
    /// TRAP_BRKPT (1): process breakpoint (int3).
    TrapBrkpt,
    /// FPE_INTDIV (1): integer divide by zero.
    FpeIntdiv,
    /// SI_KERNEL (0x80): sent by the kernel for a fault without an address (#GP).
    Kernel,
    /// SI_USER (0): sent by kill(2).
    User,
}

impl SiCode {
    /// The numeric si_code Linux puts in siginfo.
    pub const fn value(self) -> i32 {
        match self {
            SiCode::SegvMaperr => 1,
            SiCode::SegvAccerr => 2,
            SiCode::BusAdraln => 1,
            SiCode::BusAdrerr => 2,
            SiCode::BusObjerr => 3,
            SiCode::IllIllopn => 2,
            SiCode::TrapBrkpt => 1,
            SiCode::FpeIntdiv => 1,
            SiCode::Kernel => 0x80,
            SiCode::User => 0,
        }
    }
    pub const fn name(self) -> &'static str {
        match self {
            SiCode::SegvMaperr => "SEGV_MAPERR",
            SiCode::SegvAccerr => "SEGV_ACCERR",
            SiCode::BusAdraln => "BUS_ADRALN",
            SiCode::BusAdrerr => "BUS_ADRERR",
            SiCode::BusObjerr => "BUS_OBJERR",
            SiCode::IllIllopn => "ILL_ILLOPN",
            SiCode::TrapBrkpt => "TRAP_BRKPT",
            SiCode::FpeIntdiv => "FPE_INTDIV",
            SiCode::Kernel => "SI_KERNEL",
            SiCode::User => "SI_USER",
        }
    }
}

/// A synchronous fault signal: what Linux puts in siginfo for it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SigFault {
    pub signal: Signal,
    pub code: SiCode,
    /// si_addr: the faulting data address (or 0 where Linux reports none).
    pub addr: VirtAddr,
}

impl SigFault {
    pub const fn segv_maperr(addr: VirtAddr) -> Self {
        SigFault { signal: Signal::SIGSEGV, code: SiCode::SegvMaperr, addr }
    }
    pub const fn segv_accerr(addr: VirtAddr) -> Self {
        SigFault { signal: Signal::SIGSEGV, code: SiCode::SegvAccerr, addr }
    }
    pub const fn bus_adrerr(addr: VirtAddr) -> Self {
        SigFault { signal: Signal::SIGBUS, code: SiCode::BusAdrerr, addr }
    }
}

impl fmt::Display for SigFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}) at {}", self.signal.name(), self.code.name(), self.addr)
    }
}
