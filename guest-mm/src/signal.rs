//! Synchronous signals the engine answers faults with.
//!
//! A fault the engine cannot resolve becomes a `SigFault`: the signal number,
//! its si_code and the faulting address, exactly as Linux would fill siginfo.
//! Values are Linux's, from linux-abi (the signal numbers and si_code values).

use crate::addr::VirtAddr;
use std::fmt;

use linux_abi::signal::si;
pub use linux_abi::Signal;

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
            SiCode::SegvMaperr => si::SEGV_MAPERR,
            SiCode::SegvAccerr => si::SEGV_ACCERR,
            SiCode::BusAdraln => si::BUS_ADRALN,
            SiCode::BusAdrerr => si::BUS_ADRERR,
            SiCode::BusObjerr => si::BUS_OBJERR,
            SiCode::IllIllopn => si::ILL_ILLOPN,
            SiCode::TrapBrkpt => si::TRAP_BRKPT,
            SiCode::FpeIntdiv => si::FPE_INTDIV,
            SiCode::Kernel => si::SI_KERNEL,
            SiCode::User => si::SI_USER,
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
