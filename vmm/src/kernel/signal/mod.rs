//! Signals: dispositions, masks, pending signals, generation and delivery.
//!
//! Owns each process's signal state (`SignalState`: actions, blocked mask,
//! pending set with queued siginfo, alternate stack, the FPU states saved by
//! delivery) and the kernel's two halves of Linux's signal machinery:
//! - generation (`send`, mirroring kernel/signal.c send_signal_locked):
//!   ignored signals are discarded at once, SIGKILL/SIGCONT wake or continue
//!   the target, a blocked target is woken with the right restart code;
//! - delivery (`deliver.rs`, mirroring arch/x86/kernel/signal.c
//!   arch_do_signal_or_restart): on every return to user mode the lowest
//!   pending unblocked signal (synchronous ones first) is taken, the
//!   interrupted syscall is restarted or fails with EINTR as SA_RESTART
//!   says, and the handler's frame is built (`frame.rs`) or the default
//!   action (terminate, dump core, stop, continue, ignore) applies.
//!
//! Invariants: SIGKILL and SIGSTOP are never blocked, never caught and never
//! ignored; a standard signal (1..31) is pending at most once; queued
//! real-time signals are bounded by RLIMIT_SIGPENDING (beyond it they
//! coalesce), so a guest cannot grow the queue without bound.

pub mod deliver;
pub mod frame;

use super::process::FpuState;
use guest_mm::Errno;
use linux_abi::signal::{self as abi, Signal, UNBLOCKABLE};

/// One signal's disposition (struct k_sigaction).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

impl SigAction {
    pub fn is_default(&self) -> bool {
        self.handler == abi::SIG_DFL
    }
    pub fn is_ignore(&self) -> bool {
        self.handler == abi::SIG_IGN
    }
}

/// What a siginfo says beyond the signal and its code.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SigFields {
    /// kill, tkill, tgkill: the sender.
    Kill { pid: u32, uid: u32 },
    /// A fault: the address, and the exception's vector and error code
    /// (the sigcontext's trapno and err).
    Fault { addr: u64, trapno: u64, err: u64 },
    /// SIGCHLD: the child and its status (exit code or signal).
    Child { pid: u32, uid: u32, status: i32 },
    /// Sent by the kernel with nothing more (e.g. SIGKILL from exit_group).
    None,
    /// rt_sigqueueinfo: the union as the sender wrote it (bytes 16..128).
    Raw([u64; 14]),
}

/// A queued signal (the kernel's siginfo).
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SigInfo {
    pub signo: u8,
    pub code: i32,
    pub errno: i32,
    pub fields: SigFields,
}

impl SigInfo {
    pub fn kill(sig: Signal, code: i32, pid: u32, uid: u32) -> SigInfo {
        SigInfo { signo: sig.number(), code, errno: 0, fields: SigFields::Kill { pid, uid } }
    }
    pub fn fault(f: guest_mm::SigFault, trapno: u64, err: u64) -> SigInfo {
        SigInfo {
            signo: f.signal.number(),
            code: f.code.value(),
            errno: 0,
            fields: SigFields::Fault { addr: f.addr.as_u64(), trapno, err },
        }
    }
    /// A signal the kernel sends for itself (SI_KERNEL, no fields).
    pub fn kernel(sig: Signal) -> SigInfo {
        SigInfo { signo: sig.number(), code: abi::si::SI_KERNEL, errno: 0, fields: SigFields::None }
    }
    pub fn signal(&self) -> Signal {
        Signal::new(self.signo as u64).expect("siginfo holds a valid signal")
    }

    /// The 128-byte siginfo_t user space reads.
    pub fn to_bytes(&self) -> [u8; abi::siginfo::SIZE] {
        use abi::siginfo as off;
        let mut b = [0u8; abi::siginfo::SIZE];
        let mut put = |o: usize, v: &[u8]| b[o..o + v.len()].copy_from_slice(v);
        put(off::SIGNO, &(self.signo as i32).to_le_bytes());
        put(off::ERRNO, &self.errno.to_le_bytes());
        put(off::CODE, &self.code.to_le_bytes());
        match self.fields {
            SigFields::Kill { pid, uid } => {
                put(off::PID, &pid.to_le_bytes());
                put(off::UID, &uid.to_le_bytes());
            }
            SigFields::Fault { addr, .. } => put(off::ADDR, &addr.to_le_bytes()),
            SigFields::Child { pid, uid, status } => {
                put(off::PID, &pid.to_le_bytes());
                put(off::UID, &uid.to_le_bytes());
                put(off::STATUS, &status.to_le_bytes());
            }
            SigFields::None => {}
            SigFields::Raw(words) => {
                for (i, w) in words.iter().enumerate() {
                    put(16 + 8 * i, &w.to_le_bytes());
                }
            }
        }
        b
    }
}

/// An alternate signal stack (sigaltstack).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AltStack {
    pub sp: u64,
    pub size: u64,
    /// SS_AUTODISARM, as given (the other flags are derived).
    pub flags: i32,
}

impl AltStack {
    /// Linux's on_sig_stack.
    pub fn contains(&self, sp: u64) -> bool {
        sp > self.sp && sp - self.sp <= self.size
    }
    /// Linux's sas_ss_flags: SS_DISABLE, SS_ONSTACK or 0.
    pub fn state(&self, sp: u64) -> i32 {
        if self.size == 0 {
            abi::stack::SS_DISABLE
        } else if self.contains(sp) {
            abi::stack::SS_ONSTACK
        } else {
            0
        }
    }
}

/// do_sigaltstack's change: `(ss_sp, ss_flags, ss_size)` becomes the
/// alternate stack, checked against the current stack pointer `sp` first.
pub fn set_altstack(cur: &mut AltStack, sp: u64, (ss_sp, ss_flags, ss_size): (u64, i32, u64)) -> Result<(), Errno> {
    use abi::stack::{MINSIGSTKSZ, SS_AUTODISARM, SS_DISABLE, SS_ONSTACK};
    if cur.contains(sp) {
        return Err(Errno::EPERM);
    }
    let mode = ss_flags & !SS_AUTODISARM;
    if mode != SS_DISABLE && mode != SS_ONSTACK && mode != 0 {
        return Err(Errno::EINVAL);
    }
    let flags = ss_flags & SS_AUTODISARM;
    if mode == SS_DISABLE {
        *cur = AltStack { sp: 0, size: 0, flags };
        return Ok(());
    }
    if ss_size < MINSIGSTKSZ {
        return Err(Errno::ENOMEM);
    }
    *cur = AltStack { sp: ss_sp, size: ss_size, flags };
    Ok(())
}

/// Pending signals of a process.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pending {
    /// One bit per pending signal.
    pub set: u64,
    /// Their siginfo, in arrival order (a standard signal at most once).
    pub queue: Vec<SigInfo>,
}

impl Pending {
    /// Adds `info`; a standard signal already pending is not queued again,
    /// and real-time signals beyond `limit` coalesce into the pending bit.
    fn add(&mut self, info: SigInfo, limit: u64) {
        let sig = info.signal();
        if !sig.is_realtime() && self.set & sig.bit() != 0 {
            return;
        }
        self.set |= sig.bit();
        if (self.queue.len() as u64) < limit.max(1) {
            self.queue.push(info);
        }
    }

    /// Takes the next signal out of `deliverable` (a mask): synchronous fault
    /// signals first, then the lowest number (next_signal).
    pub fn take(&mut self, deliverable: u64) -> Option<SigInfo> {
        const SYNCHRONOUS: u64 = Signal::SIGSEGV.bit()
            | Signal::SIGBUS.bit()
            | Signal::SIGILL.bit()
            | Signal::SIGTRAP.bit()
            | Signal::SIGFPE.bit()
            | Signal::SIGSYS.bit();
        let ready = self.set & deliverable;
        if ready == 0 {
            return None;
        }
        let pick = if ready & SYNCHRONOUS != 0 { ready & SYNCHRONOUS } else { ready };
        let sig = Signal::new(pick.trailing_zeros() as u64 + 1).expect("a bit of a 64-bit set");
        let info = match self.queue.iter().position(|i| i.signo == sig.number()) {
            Some(i) => self.queue.remove(i),
            // Coalesced beyond the queue limit: what Linux reports then.
            None => SigInfo { signo: sig.number(), code: abi::si::SI_USER, errno: 0, fields: SigFields::Kill { pid: 0, uid: 0 } },
        };
        if !self.queue.iter().any(|i| i.signo == sig.number()) {
            self.set &= !sig.bit();
        }
        Some(info)
    }

    /// Drops every pending instance of the signals in `mask`.
    pub fn discard(&mut self, mask: u64) {
        self.set &= !mask;
        self.queue.retain(|i| mask & (1 << (i.signo - 1)) == 0);
    }
}

/// A process's signal state.
#[derive(Clone, Serialize, Deserialize)]
pub struct SignalState {
    #[serde(with = "crate::kvm_serde::array")]
    pub actions: [SigAction; 64],
    pub blocked: u64,
    pub pending: Pending,
    pub altstack: AltStack,
    /// The mask rt_sigsuspend replaced, restored by the handler's sigreturn.
    pub saved_mask: Option<u64>,
    /// FPU states saved by signal delivery, restored by rt_sigreturn.
    #[serde(with = "crate::kvm_serde::fpu_vec")]
    pub saved_fpu: Vec<FpuState>,
}

use serde::{Deserialize, Serialize};

impl Default for SignalState {
    fn default() -> Self {
        SignalState {
            actions: [SigAction::default(); 64],
            blocked: 0,
            pending: Pending::default(),
            altstack: AltStack::default(),
            saved_mask: None,
            saved_fpu: Vec::new(),
        }
    }
}

impl SignalState {
    pub fn action(&self, sig: Signal) -> SigAction {
        self.actions[(sig.number() - 1) as usize]
    }

    /// Whether `sig` would be discarded at generation (sig_ignored): ignored
    /// explicitly, or by default (SIGCHLD, SIGURG, SIGWINCH), and not blocked.
    pub fn ignores(&self, sig: Signal) -> bool {
        if self.blocked & sig.bit() != 0 {
            return false;
        }
        let a = self.action(sig);
        a.is_ignore() || (a.is_default() && sig.default_action() == abi::DefaultAction::Ignore)
    }

    /// Signals that are pending and not blocked.
    pub fn deliverable(&self) -> u64 {
        self.pending.set & !(self.blocked & !UNBLOCKABLE)
    }

    /// What exec leaves (flush_signal_handlers with force_default 0, and the
    /// alternate stack disabled): handled signals go back to SIG_DFL,
    /// ignored ones stay ignored, every action loses its flags, mask and
    /// restorer; the blocked mask and the pending signals stay.
    pub fn flush_for_exec(&mut self) {
        for a in self.actions.iter_mut() {
            let handler = if a.is_ignore() { abi::SIG_IGN } else { abi::SIG_DFL };
            *a = SigAction { handler, ..SigAction::default() };
        }
        self.altstack = AltStack::default();
        self.saved_mask = None;
        self.saved_fpu.clear();
    }

    /// What fork gives the child: the same actions, mask and alternate stack,
    /// no pending signals (copy_process clears them).
    pub fn for_child(&self) -> SignalState {
        SignalState { pending: Pending::default(), saved_mask: None, ..self.clone() }
    }
}

/// rt_sigaction(sig, act, oldact, sigsetsize) on the state: the old action,
/// after validating everything before changing anything.
pub fn sigaction(s: &mut SignalState, sig: u64, act: Option<SigAction>, sigsetsize: u64) -> Result<SigAction, Errno> {
    if sigsetsize != 8 {
        return Err(Errno::EINVAL);
    }
    let sig = Signal::new(sig).ok_or(Errno::EINVAL)?;
    if act.is_some() && sig.is_unblockable() {
        return Err(Errno::EINVAL);
    }
    let idx = (sig.number() - 1) as usize;
    let old = s.actions[idx];
    if let Some(mut a) = act {
        a.mask &= !UNBLOCKABLE;
        a.flags &= UAPI_SA_FLAGS;
        s.actions[idx] = a;
        // POSIX: setting a signal to be ignored (explicitly, or by default
        // for a default-ignored one) discards its pending instances.
        if a.is_ignore() || (a.is_default() && sig.default_action() == abi::DefaultAction::Ignore) {
            s.pending.discard(sig.bit());
        }
    }
    Ok(old)
}

/// rt_sigprocmask(how, set) on the mask; returns the old mask. `how` is
/// only looked at when there is a new set (kernel/signal.c).
pub fn sigprocmask(s: &mut SignalState, how: u64, set: Option<u64>) -> Result<u64, Errno> {
    let old = s.blocked;
    if let Some(set) = set {
        let set = set & !UNBLOCKABLE;
        s.blocked = match how {
            abi::SIG_BLOCK => old | set,
            abi::SIG_UNBLOCK => old & !set,
            abi::SIG_SETMASK => set,
            _ => return Err(Errno::EINVAL),
        };
    }
    Ok(old)
}

/// sa_flags bits rt_sigaction keeps (UAPI_SA_FLAGS with x86's SA_RESTORER);
/// the others read back as clear, so user space can detect support.
pub const UAPI_SA_FLAGS: u64 = abi::SA_NOCLDSTOP
    | abi::SA_NOCLDWAIT
    | abi::SA_SIGINFO
    | abi::SA_ONSTACK
    | abi::SA_RESTART
    | abi::SA_NODEFER
    | abi::SA_RESETHAND
    | abi::SA_EXPOSE_TAGBITS
    | abi::SA_RESTORER;

/// Queues `info` on `s` if the process does not discard it; returns whether
/// it is now pending. `limit` is the target's RLIMIT_SIGPENDING.
pub fn queue(s: &mut SignalState, info: SigInfo, limit: u64) -> bool {
    let sig = info.signal();
    if s.ignores(sig) && sig != Signal::SIGKILL {
        return false;
    }
    s.pending.add(info, limit);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(sig: Signal) -> SigInfo {
        SigInfo::kill(sig, abi::si::SI_USER, 1, 0)
    }

    #[test]
    fn standard_signals_coalesce_and_realtime_ones_queue() {
        let mut p = Pending::default();
        p.add(user(Signal::SIGUSR1), 8);
        p.add(user(Signal::SIGUSR1), 8);
        p.add(user(Signal::SIGRTMIN), 8);
        p.add(user(Signal::SIGRTMIN), 8);
        assert_eq!(p.queue.len(), 3);
        assert_eq!(p.take(!0).unwrap().signo, 10);
        assert_eq!(p.take(!0).unwrap().signo, 32);
        assert_eq!(p.set, Signal::SIGRTMIN.bit(), "one SIGRTMIN still queued");
        assert_eq!(p.take(!0).unwrap().signo, 32);
        assert_eq!((p.set, p.take(!0)), (0, None));
    }

    #[test]
    fn synchronous_signals_are_taken_first_and_the_queue_is_bounded() {
        let mut p = Pending::default();
        p.add(user(Signal::SIGHUP), 2);
        p.add(SigInfo::fault(guest_mm::SigFault::segv_maperr(guest_mm::VirtAddr::new(8)), 14, 4), 2);
        assert_eq!(p.take(!0).unwrap().signo, 11);
        for _ in 0..10 {
            p.add(user(Signal::SIGRTMAX), 2);
        }
        assert!(p.queue.len() <= 2);
        assert_ne!(p.set & Signal::SIGRTMAX.bit(), 0);
    }

    #[test]
    fn ignored_signals_are_discarded_at_generation_unless_blocked() {
        let mut s = SignalState::default();
        assert!(!queue(&mut s, user(Signal::SIGCHLD), 8), "SIGCHLD is ignored by default");
        assert!(queue(&mut s, user(Signal::SIGUSR1), 8));
        s.blocked = Signal::SIGWINCH.bit();
        assert!(queue(&mut s, user(Signal::SIGWINCH), 8), "a blocked signal stays pending");
        sigaction(&mut s, 10, Some(SigAction { handler: abi::SIG_IGN, ..Default::default() }), 8).unwrap();
        assert_eq!(s.pending.set & Signal::SIGUSR1.bit(), 0, "ignoring discards the pending one");
        assert_eq!(sigaction(&mut s, 9, Some(SigAction::default()), 8), Err(Errno::EINVAL));
        assert_eq!(sigaction(&mut s, 65, None, 8), Err(Errno::EINVAL));
        assert_eq!(sigprocmask(&mut s, 3, Some(1)), Err(Errno::EINVAL));
        assert_eq!(sigprocmask(&mut s, 3, None), Ok(Signal::SIGWINCH.bit()), "how is ignored without a set");
        sigprocmask(&mut s, abi::SIG_SETMASK, Some(!0)).unwrap();
        assert_eq!(s.blocked & UNBLOCKABLE, 0);
    }
}
