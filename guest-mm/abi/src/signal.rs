//! Signals: numbers and names (include/uapi/asm-generic/signal.h, x86-64),
//! default actions (signal(7)), sigaction flags, si_code values
//! (include/uapi/asm-generic/siginfo.h), and the layouts of the structures
//! the kernel and user space exchange (k_sigaction, stack_t, siginfo, and the
//! x86-64 rt_sigframe of arch/x86/include/asm/sigframe.h).

use core::fmt;

/// A signal number, 1..=64 (Linux's _NSIG is 64).
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(u8);

/// The highest signal number.
pub const NSIG: u8 = 64;

impl Signal {
    pub const SIGHUP: Signal = Signal(1);
    pub const SIGINT: Signal = Signal(2);
    pub const SIGQUIT: Signal = Signal(3);
    pub const SIGILL: Signal = Signal(4);
    pub const SIGTRAP: Signal = Signal(5);
    pub const SIGABRT: Signal = Signal(6);
    pub const SIGBUS: Signal = Signal(7);
    pub const SIGFPE: Signal = Signal(8);
    pub const SIGKILL: Signal = Signal(9);
    pub const SIGUSR1: Signal = Signal(10);
    pub const SIGSEGV: Signal = Signal(11);
    pub const SIGUSR2: Signal = Signal(12);
    pub const SIGPIPE: Signal = Signal(13);
    pub const SIGALRM: Signal = Signal(14);
    pub const SIGTERM: Signal = Signal(15);
    pub const SIGSTKFLT: Signal = Signal(16);
    pub const SIGCHLD: Signal = Signal(17);
    pub const SIGCONT: Signal = Signal(18);
    pub const SIGSTOP: Signal = Signal(19);
    pub const SIGTSTP: Signal = Signal(20);
    pub const SIGTTIN: Signal = Signal(21);
    pub const SIGTTOU: Signal = Signal(22);
    pub const SIGURG: Signal = Signal(23);
    pub const SIGXCPU: Signal = Signal(24);
    pub const SIGXFSZ: Signal = Signal(25);
    pub const SIGVTALRM: Signal = Signal(26);
    pub const SIGPROF: Signal = Signal(27);
    pub const SIGWINCH: Signal = Signal(28);
    pub const SIGIO: Signal = Signal(29);
    pub const SIGPWR: Signal = Signal(30);
    pub const SIGSYS: Signal = Signal(31);
    /// The kernel's first real-time signal (libcs reserve the first two or three).
    pub const SIGRTMIN: Signal = Signal(32);
    pub const SIGRTMAX: Signal = Signal(64);

    /// The signal with this number (1..=64).
    pub const fn new(n: u64) -> Option<Signal> {
        if n >= 1 && n <= NSIG as u64 {
            Some(Signal(n as u8))
        } else {
            None
        }
    }

    pub const fn number(self) -> u8 {
        self.0
    }

    /// Its bit in a 64-bit sigset_t.
    pub const fn bit(self) -> u64 {
        1 << (self.0 - 1)
    }

    pub const fn is_realtime(self) -> bool {
        self.0 >= 32
    }

    /// The name strace and kill -l use ("SIGSEGV"; "SIGRTMIN", "SIGRT_1" .. "SIGRT_32").
    pub fn name(self) -> &'static str {
        NAMES[(self.0 - 1) as usize]
    }

    /// The signal with this name (also "SIGIOT", "SIGPOLL", "SIGCLD").
    pub fn from_name(name: &str) -> Option<Signal> {
        match name {
            "SIGIOT" => Some(Signal::SIGABRT),
            "SIGPOLL" => Some(Signal::SIGIO),
            "SIGCLD" => Some(Signal::SIGCHLD),
            _ => NAMES.iter().position(|n| *n == name).map(|i| Signal(i as u8 + 1)),
        }
    }

    /// What happens when the signal arrives with SIG_DFL (signal(7)).
    pub const fn default_action(self) -> DefaultAction {
        match self.0 {
            3 | 4 | 5 | 6 | 7 | 8 | 11 | 24 | 25 | 31 => DefaultAction::Core,
            17 | 23 | 28 => DefaultAction::Ignore,
            18 => DefaultAction::Continue,
            19..=22 => DefaultAction::Stop,
            _ => DefaultAction::Terminate,
        }
    }

    /// SIGKILL and SIGSTOP can be neither caught, blocked nor ignored.
    pub const fn is_unblockable(self) -> bool {
        self.0 == 9 || self.0 == 19
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Signal names by number - 1.
const NAMES: [&str; 64] = [
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
    "SIGRTMIN",
    "SIGRT_1",
    "SIGRT_2",
    "SIGRT_3",
    "SIGRT_4",
    "SIGRT_5",
    "SIGRT_6",
    "SIGRT_7",
    "SIGRT_8",
    "SIGRT_9",
    "SIGRT_10",
    "SIGRT_11",
    "SIGRT_12",
    "SIGRT_13",
    "SIGRT_14",
    "SIGRT_15",
    "SIGRT_16",
    "SIGRT_17",
    "SIGRT_18",
    "SIGRT_19",
    "SIGRT_20",
    "SIGRT_21",
    "SIGRT_22",
    "SIGRT_23",
    "SIGRT_24",
    "SIGRT_25",
    "SIGRT_26",
    "SIGRT_27",
    "SIGRT_28",
    "SIGRT_29",
    "SIGRT_30",
    "SIGRT_31",
    "SIGRT_32",
];

/// The default disposition of a signal.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    Terminate,
    /// Terminate and dump core.
    Core,
    Ignore,
    Stop,
    Continue,
}

/// sigset_t bits of SIGKILL and SIGSTOP, which no mask may hold.
pub const UNBLOCKABLE: u64 = Signal::SIGKILL.bit() | Signal::SIGSTOP.bit();

/// Handler values of struct sigaction.
pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

/// sigaction sa_flags (x86-64).
pub const SA_NOCLDSTOP: u64 = 0x1;
pub const SA_NOCLDWAIT: u64 = 0x2;
pub const SA_SIGINFO: u64 = 0x4;
/// Bit that must read back as clear (flag-support detection).
pub const SA_UNSUPPORTED: u64 = 0x400;
pub const SA_EXPOSE_TAGBITS: u64 = 0x800;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;
/// Flag names for decoding (strace order).
pub const SA_NAMES: &[(u64, &str)] = &[
    (SA_NOCLDSTOP, "SA_NOCLDSTOP"),
    (SA_NOCLDWAIT, "SA_NOCLDWAIT"),
    (SA_SIGINFO, "SA_SIGINFO"),
    (SA_RESTORER, "SA_RESTORER"),
    (SA_ONSTACK, "SA_ONSTACK"),
    (SA_RESTART, "SA_RESTART"),
    (SA_NODEFER, "SA_NODEFER"),
    (SA_RESETHAND, "SA_RESETHAND"),
];

/// rt_sigprocmask `how`.
pub const SIG_BLOCK: u64 = 0;
pub const SIG_UNBLOCK: u64 = 1;
pub const SIG_SETMASK: u64 = 2;

/// si_code values (negative ones are sent by user space).
pub mod si {
    pub const SI_USER: i32 = 0;
    pub const SI_KERNEL: i32 = 0x80;
    pub const SI_QUEUE: i32 = -1;
    pub const SI_TIMER: i32 = -2;
    pub const SI_MESGQ: i32 = -3;
    pub const SI_ASYNCIO: i32 = -4;
    pub const SI_SIGIO: i32 = -5;
    pub const SI_TKILL: i32 = -6;
    pub const ILL_ILLOPC: i32 = 1;
    pub const ILL_ILLOPN: i32 = 2;
    pub const ILL_ILLADR: i32 = 3;
    pub const ILL_ILLTRP: i32 = 4;
    pub const ILL_PRVOPC: i32 = 5;
    pub const ILL_PRVREG: i32 = 6;
    pub const ILL_COPROC: i32 = 7;
    pub const ILL_BADSTK: i32 = 8;
    pub const FPE_INTDIV: i32 = 1;
    pub const FPE_INTOVF: i32 = 2;
    pub const FPE_FLTDIV: i32 = 3;
    pub const FPE_FLTOVF: i32 = 4;
    pub const FPE_FLTUND: i32 = 5;
    pub const FPE_FLTRES: i32 = 6;
    pub const FPE_FLTINV: i32 = 7;
    pub const FPE_FLTSUB: i32 = 8;
    pub const SEGV_MAPERR: i32 = 1;
    pub const SEGV_ACCERR: i32 = 2;
    pub const SEGV_BNDERR: i32 = 3;
    pub const SEGV_PKUERR: i32 = 4;
    pub const BUS_ADRALN: i32 = 1;
    pub const BUS_ADRERR: i32 = 2;
    pub const BUS_OBJERR: i32 = 3;
    pub const BUS_MCEERR_AR: i32 = 4;
    pub const BUS_MCEERR_AO: i32 = 5;
    pub const TRAP_BRKPT: i32 = 1;
    pub const TRAP_TRACE: i32 = 2;
    pub const CLD_EXITED: i32 = 1;
    pub const CLD_KILLED: i32 = 2;
    pub const CLD_DUMPED: i32 = 3;
    pub const CLD_TRAPPED: i32 = 4;
    pub const CLD_STOPPED: i32 = 5;
    pub const CLD_CONTINUED: i32 = 6;

    /// strace's name for `code` of signal `signo`.
    pub fn name(signo: u8, code: i32) -> Option<&'static str> {
        Some(match (signo, code) {
            (_, SI_USER) => "SI_USER",
            (_, SI_KERNEL) => "SI_KERNEL",
            (_, SI_QUEUE) => "SI_QUEUE",
            (_, SI_TIMER) => "SI_TIMER",
            (_, SI_MESGQ) => "SI_MESGQ",
            (_, SI_ASYNCIO) => "SI_ASYNCIO",
            (_, SI_SIGIO) => "SI_SIGIO",
            (_, SI_TKILL) => "SI_TKILL",
            (4, 1) => "ILL_ILLOPC",
            (4, 2) => "ILL_ILLOPN",
            (4, 3) => "ILL_ILLADR",
            (4, 4) => "ILL_ILLTRP",
            (4, 5) => "ILL_PRVOPC",
            (4, 6) => "ILL_PRVREG",
            (4, 7) => "ILL_COPROC",
            (4, 8) => "ILL_BADSTK",
            (8, 1) => "FPE_INTDIV",
            (8, 2) => "FPE_INTOVF",
            (8, 3) => "FPE_FLTDIV",
            (8, 4) => "FPE_FLTOVF",
            (8, 5) => "FPE_FLTUND",
            (8, 6) => "FPE_FLTRES",
            (8, 7) => "FPE_FLTINV",
            (8, 8) => "FPE_FLTSUB",
            (11, 1) => "SEGV_MAPERR",
            (11, 2) => "SEGV_ACCERR",
            (11, 3) => "SEGV_BNDERR",
            (11, 4) => "SEGV_PKUERR",
            (7, 1) => "BUS_ADRALN",
            (7, 2) => "BUS_ADRERR",
            (7, 3) => "BUS_OBJERR",
            (7, 4) => "BUS_MCEERR_AR",
            (7, 5) => "BUS_MCEERR_AO",
            (5, 1) => "TRAP_BRKPT",
            (5, 2) => "TRAP_TRACE",
            (17, 1) => "CLD_EXITED",
            (17, 2) => "CLD_KILLED",
            (17, 3) => "CLD_DUMPED",
            (17, 4) => "CLD_TRAPPED",
            (17, 5) => "CLD_STOPPED",
            (17, 6) => "CLD_CONTINUED",
            _ => return None,
        })
    }
}

/// struct k_sigaction as rt_sigaction passes it (x86-64): handler, flags,
/// restorer, mask; 32 bytes.
pub mod sigaction {
    pub const HANDLER: usize = 0;
    pub const FLAGS: usize = 8;
    pub const RESTORER: usize = 16;
    pub const MASK: usize = 24;
    pub const SIZE: usize = 32;
}

/// stack_t (sigaltstack): ss_sp, ss_flags (int), ss_size; 24 bytes.
pub mod stack {
    pub const SP: usize = 0;
    pub const FLAGS: usize = 8;
    pub const SIZE_FIELD: usize = 16;
    pub const SIZE: usize = 24;
    pub const SS_ONSTACK: i32 = 1;
    pub const SS_DISABLE: i32 = 2;
    pub const SS_AUTODISARM: i32 = 1 << 31;
    /// The smallest alternate stack sigaltstack accepts (MINSIGSTKSZ).
    pub const MINSIGSTKSZ: u64 = 2048;
}

/// siginfo_t: 128 bytes; the union starts at 16.
pub mod siginfo {
    pub const SIGNO: usize = 0;
    pub const ERRNO: usize = 4;
    pub const CODE: usize = 8;
    /// _sigfault.si_addr.
    pub const ADDR: usize = 16;
    /// _kill/_rt/_sigchld.si_pid and si_uid.
    pub const PID: usize = 16;
    pub const UID: usize = 20;
    /// _sigchld.si_status, si_utime, si_stime.
    pub const STATUS: usize = 24;
    pub const UTIME: usize = 32;
    pub const STIME: usize = 40;
    /// _rt.si_value, _timer.si_value.
    pub const VALUE: usize = 24;
    pub const SIZE: usize = 128;
}

/// The x86-64 rt_sigframe a handler receives: pretcode, then struct ucontext
/// (uc_flags, uc_link, uc_stack, uc_mcontext = struct sigcontext, uc_sigmask),
/// then siginfo.
pub mod frame {
    pub const PRETCODE: usize = 0;
    pub const UC: usize = 8;
    pub const UC_FLAGS: usize = UC;
    pub const UC_LINK: usize = UC + 8;
    pub const UC_STACK: usize = UC + 16;
    pub const UC_MCONTEXT: usize = UC + 40;
    pub const UC_SIGMASK: usize = UC + 296;
    pub const INFO: usize = UC + 304;
    pub const SIZE: usize = INFO + super::siginfo::SIZE;
    /// uc_flags bits Linux sets.
    pub const UC_FP_XSTATE: u64 = 0x1;
    pub const UC_SIGCONTEXT_SS: u64 = 0x2;
    pub const UC_STRICT_RESTORE_SS: u64 = 0x4;
    /// struct sigcontext (offsets within uc_mcontext): r8..r15, rdi, rsi, rbp,
    /// rbx, rdx, rax, rcx, rsp, rip, eflags (18 u64s), then cs/gs/fs/ss (u16
    /// each), err, trapno, oldmask, cr2, fpstate.
    pub const SC_REGS: usize = 18;
    pub const SC_SEGS: usize = 144;
    pub const SC_ERR: usize = 152;
    pub const SC_TRAPNO: usize = 160;
    pub const SC_OLDMASK: usize = 168;
    pub const SC_CR2: usize = 176;
    pub const SC_FPSTATE: usize = 184;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_actions_follow_signal_7() {
        for n in 1..=64 {
            let s = Signal::new(n).unwrap();
            assert_eq!(Signal::from_name(s.name()), Some(s));
        }
        assert_eq!(Signal::new(0), None);
        assert_eq!(Signal::new(65), None);
        assert_eq!(Signal::SIGSEGV.default_action(), DefaultAction::Core);
        assert_eq!(Signal::SIGCHLD.default_action(), DefaultAction::Ignore);
        assert_eq!(Signal::SIGTSTP.default_action(), DefaultAction::Stop);
        assert_eq!(Signal::SIGRTMIN.default_action(), DefaultAction::Terminate);
        assert_eq!(Signal::SIGRTMAX.name(), "SIGRT_32");
        assert_eq!(UNBLOCKABLE, (1 << 8) | (1 << 18));
        assert_eq!(frame::SIZE, 440);
    }
}
