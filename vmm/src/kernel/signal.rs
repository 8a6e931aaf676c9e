//! Signals for ring-3 programs: dispositions, delivery, rt_sigreturn.
//!
//! Owns the x86-64 Linux signal ABI: struct k_sigaction for rt_sigaction,
//! the rt_sigframe a handler receives (pretcode, ucontext with sigcontext,
//! siginfo), and its undoing by rt_sigreturn (arch/x86/kernel/signal_64.c).
//! The FPU state of the interrupted code is kept by the host on a per-process
//! stack instead of on the user stack (sigcontext.fpstate is NULL), so a
//! handler cannot clobber it.
//!
//! Synchronous faults follow force_sig_fault: if the signal is blocked or
//! ignored, the disposition is reset to default and the process dies.
//! Everything read back from the user stack (a sigreturn frame, a sigaction)
//! is untrusted: segment selectors are forced to user values and RFLAGS is
//! masked to what user mode may set.

use super::process::*;
use guest_mm::{Errno, PhysMemory, SigFault, VirtAddr};
use kvm_bindings::kvm_regs;

/// RFLAGS bits user mode may set (Linux's FIX_EFLAGS).
pub const USER_RFLAGS: u64 = 0x0004_0000 | 0x800 | 0x400 | 0x100 | 0x80 | 0x40 | 0x10 | 0x4 | 0x1 | 0x1_0000;
/// IF and the reserved bit 1, always set in ring 3.
pub const FIXED_RFLAGS: u64 = 0x202;

/// Sanitises RFLAGS coming from user-controlled state.
pub fn user_rflags(v: u64) -> u64 {
    (v & USER_RFLAGS) | FIXED_RFLAGS
}

/// Layout of struct rt_sigframe (no FPU area: fpstate is NULL).
mod frame {
    pub const PRETCODE: u64 = 0;
    pub const UC: u64 = 8;
    pub const UC_MCONTEXT: u64 = UC + 40;
    pub const UC_SIGMASK: u64 = UC + 296;
    pub const INFO: u64 = UC + 304;
    pub const SIZE: u64 = INFO + 128;
    /// sigcontext register order.
    pub const REGS: usize = 18;
}

/// What a pending synchronous signal means for the process.
pub enum Delivery {
    /// A handler will run: the registers now point at it.
    Handler,
    /// The default action applies: the process dies of this signal.
    Kill(ExitStatus),
    /// The handler cannot run (no SA_RESTORER, or its frame cannot be
    /// written): Linux's force_sigsegv, SIGSEGV with si_code SI_KERNEL.
    ForcedSegv,
}

/// Whether the default action of `sig` dumps core (as shells report "core dumped").
pub fn default_core(sig: u8) -> bool {
    matches!(sig, 3 | 4 | 5 | 6 | 7 | 8 | 11 | 24 | 25 | 31)
}

fn sigcontext_regs(r: &kvm_regs) -> [u64; frame::REGS] {
    [r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rdi, r.rsi, r.rbp, r.rbx, r.rdx, r.rax, r.rcx, r.rsp, r.rip, r.rflags]
}

/// Builds the rt_sigframe for `fault` on the user stack and points the
/// registers at the handler. `write` writes user memory with the process's
/// own permissions. Returns Kill when the default action applies or the frame
/// cannot be written (then SIGSEGV, as Linux's force_sigsegv).
pub fn deliver(
    p: &mut Process,
    regs: &mut kvm_regs,
    fault: SigFault,
    trapno: u64,
    err: u64,
    mut write: impl FnMut(VirtAddr, &[u8]) -> Result<(), Errno>,
) -> Delivery {
    let sig = fault.signal.number();
    let idx = (sig - 1) as usize;
    let bit = 1u64 << idx;
    let act = p.actions[idx];
    if act.handler == SIG_DFL || act.handler == SIG_IGN || p.blocked & bit != 0 {
        // force_sig_fault: a blocked or ignored synchronous signal is fatal.
        p.actions[idx].handler = SIG_DFL;
        return Delivery::Kill(ExitStatus::Killed { signal: sig, core: default_core(sig) });
    }
    if act.flags & SA_RESTORER == 0 {
        return Delivery::ForcedSegv;
    }
    // Below the red zone, then aligned so that RSP % 16 == 8 at entry, as after a call.
    let sp = ((regs.rsp.wrapping_sub(128).wrapping_sub(frame::SIZE)) & !15).wrapping_sub(8);
    let mut buf = vec![0u8; frame::SIZE as usize];
    let put = |buf: &mut Vec<u8>, off: u64, v: u64| buf[off as usize..off as usize + 8].copy_from_slice(&v.to_le_bytes());
    put(&mut buf, frame::PRETCODE, act.restorer);
    // uc_flags: UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS, as Linux sets them.
    put(&mut buf, frame::UC, 0x1 | 0x2 | 0x4);
    let mc = frame::UC_MCONTEXT;
    for (i, v) in sigcontext_regs(regs).iter().enumerate() {
        put(&mut buf, mc + 8 * i as u64, *v);
    }
    // cs, gs, fs, ss (u16 each).
    let segs: u64 = 0x33 | (0x2b << 48);
    put(&mut buf, mc + 144, segs);
    put(&mut buf, mc + 152, err);
    put(&mut buf, mc + 160, trapno);
    put(&mut buf, mc + 168, p.blocked);
    put(&mut buf, mc + 176, fault.addr.as_u64());
    put(&mut buf, mc + 184, 0); // fpstate: kept by the host
    put(&mut buf, frame::UC_SIGMASK, p.blocked);
    let info = frame::INFO;
    // siginfo: si_signo (i32) @0, si_errno @4, si_code @8, si_addr @16.
    buf[info as usize..info as usize + 4].copy_from_slice(&(sig as i32).to_le_bytes());
    buf[info as usize + 4..info as usize + 8].copy_from_slice(&0i32.to_le_bytes());
    buf[info as usize + 8..info as usize + 12].copy_from_slice(&fault.code.value().to_le_bytes());
    buf[info as usize + 12..info as usize + 16].copy_from_slice(&0i32.to_le_bytes());
    put(&mut buf, info + 16, fault.addr.as_u64());
    if write(VirtAddr::new(sp), &buf).is_err() {
        return Delivery::ForcedSegv;
    }
    regs.rsp = sp;
    regs.rip = act.handler;
    regs.rdi = sig as u64;
    regs.rsi = sp + frame::INFO;
    regs.rdx = sp + frame::UC;
    regs.rax = 0;
    regs.rflags &= !(0x100 | 0x400 | 0x4_0000); // TF, DF, AC cleared for the handler
    if act.flags & SA_NODEFER == 0 {
        p.blocked |= bit;
    }
    p.blocked |= act.mask;
    p.blocked &= !((1 << 8) | (1 << 18)); // SIGKILL, SIGSTOP can never be blocked
    if act.flags & SA_RESETHAND != 0 {
        p.actions[idx] = SigAction::default();
    }
    Delivery::Handler
}

/// rt_sigreturn: restores the registers and mask saved by `deliver`.
/// `read` reads user memory. Err means the frame was unreadable: SIGSEGV.
pub fn sigreturn(
    p: &mut Process,
    regs: &mut kvm_regs,
    mut read: impl FnMut(VirtAddr, &mut [u8]) -> Result<(), Errno>,
) -> Result<(), Errno> {
    let base = regs.rsp.wrapping_sub(8);
    let mut buf = vec![0u8; frame::SIZE as usize];
    read(VirtAddr::new(base), &mut buf)?;
    let get = |off: u64| u64::from_le_bytes(buf[off as usize..off as usize + 8].try_into().expect("8 bytes"));
    let mc = frame::UC_MCONTEXT;
    let r: Vec<u64> = (0..frame::REGS).map(|i| get(mc + 8 * i as u64)).collect();
    *regs = kvm_regs {
        r8: r[0],
        r9: r[1],
        r10: r[2],
        r11: r[3],
        r12: r[4],
        r13: r[5],
        r14: r[6],
        r15: r[7],
        rdi: r[8],
        rsi: r[9],
        rbp: r[10],
        rbx: r[11],
        rdx: r[12],
        rax: r[13],
        rcx: r[14],
        rsp: r[15],
        rip: r[16],
        rflags: user_rflags(r[17]),
    };
    p.blocked = get(frame::UC_SIGMASK) & !((1 << 8) | (1 << 18));
    Ok(())
}

/// rt_sigaction(sig, act, oldact, sigsetsize), with user memory accessors.
pub fn sigaction(p: &mut Process, sig: u64, act: Option<[u8; 32]>, sigsetsize: u64) -> Result<[u8; 32], Errno> {
    if sigsetsize != 8 || sig == 0 || sig > 64 {
        return Err(Errno::EINVAL);
    }
    if act.is_some() && (sig == 9 || sig == 19) {
        return Err(Errno::EINVAL);
    }
    let idx = (sig - 1) as usize;
    let old = p.actions[idx];
    let mut out = [0u8; 32];
    for (i, v) in [old.handler, old.flags, old.restorer, old.mask].iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
    }
    if let Some(a) = act {
        let q = |i: usize| u64::from_le_bytes(a[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        p.actions[idx] = SigAction { handler: q(0), flags: q(1), restorer: q(2), mask: q(3) & !((1 << 8) | (1 << 18)) };
    }
    Ok(out)
}

/// rt_sigprocmask(how, set) on the process's mask; returns the old mask.
pub fn sigprocmask(p: &mut Process, how: u64, set: Option<u64>) -> Result<u64, Errno> {
    let old = p.blocked;
    if let Some(s) = set {
        let s = s & !((1 << 8) | (1 << 18));
        p.blocked = match how {
            0 => old | s,
            1 => old & !s,
            2 => s,
            _ => return Err(Errno::EINVAL),
        };
    } else if how > 2 {
        return Err(Errno::EINVAL);
    }
    Ok(old)
}

/// Reads a `u64` array helper for callers holding an engine.
pub fn read_exact<M: PhysMemory>(
    engine: &mut guest_mm::Engine<M>,
    id: guest_mm::AsId,
    va: u64,
    buf: &mut [u8],
    tlb: &mut guest_mm::PteUpdates,
) -> Result<(), Errno> {
    let (r, u) = engine.read_user(id, VirtAddr::new(va), buf).split();
    tlb.absorb(u);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use guest_mm::{SiCode, SigFault, Signal};

    fn proc_with_handler() -> Process {
        let mut p = Process::new(1, 0, "t".into(), guest_mm::AsId(1), kvm_regs::default());
        p.actions[10] = SigAction { handler: 0x401000, flags: SA_SIGINFO | SA_RESTORER, restorer: 0x402000, mask: 0 };
        p
    }

    #[test]
    fn deliver_then_sigreturn_restores_registers_and_mask() {
        let mut p = proc_with_handler();
        let mut mem = vec![0u8; 0x10000];
        let base = 0x7000_0000u64;
        let before = kvm_regs { rax: 1, rbx: 2, rcx: 3, rip: 0x400123, rsp: base + 0x8000, rflags: 0x246, ..Default::default() };
        let mut regs = before;
        let f = SigFault { signal: Signal::SIGSEGV, code: SiCode::SegvAccerr, addr: VirtAddr::new(0xdead000) };
        let d = deliver(&mut p, &mut regs, f, 14, 7, |va, data| {
            let o = (va.as_u64() - base) as usize;
            mem[o..o + data.len()].copy_from_slice(data);
            Ok(())
        });
        assert!(matches!(d, Delivery::Handler));
        assert_eq!(regs.rip, 0x401000);
        assert_eq!(regs.rdi, 11);
        assert_eq!(regs.rsp % 16, 8);
        assert_ne!(p.blocked & (1 << 10), 0, "SIGSEGV is blocked while its handler runs");
        let info = (regs.rsi - base) as usize;
        assert_eq!(i32::from_le_bytes(mem[info + 8..info + 12].try_into().unwrap()), 2);
        assert_eq!(u64::from_le_bytes(mem[info + 16..info + 24].try_into().unwrap()), 0xdead000);
        // The handler returns through the restorer: RSP has popped pretcode.
        regs.rsp += 8;
        sigreturn(&mut p, &mut regs, |va, buf| {
            let o = (va.as_u64() - base) as usize;
            buf.copy_from_slice(&mem[o..o + buf.len()]);
            Ok(())
        })
        .unwrap();
        assert_eq!(regs, kvm_regs { rflags: user_rflags(0x246), ..before });
        assert_eq!(p.blocked, 0);
    }

    #[test]
    fn blocked_or_default_synchronous_signal_kills() {
        let mut p = Process::new(1, 0, "t".into(), guest_mm::AsId(1), kvm_regs::default());
        let f = SigFault { signal: Signal::SIGBUS, code: SiCode::BusAdrerr, addr: VirtAddr::new(0) };
        let mut regs = kvm_regs::default();
        assert!(matches!(
            deliver(&mut p, &mut regs, f, 14, 0, |_, _| Ok(())),
            Delivery::Kill(ExitStatus::Killed { signal: 7, core: true })
        ));
        let mut p = proc_with_handler();
        p.blocked = 1 << 10;
        let f = SigFault { signal: Signal::SIGSEGV, code: SiCode::SegvMaperr, addr: VirtAddr::new(0) };
        assert!(matches!(deliver(&mut p, &mut regs, f, 14, 0, |_, _| Ok(())), Delivery::Kill(_)));
    }

    #[test]
    fn an_unwritable_signal_frame_or_missing_restorer_is_a_forced_sigsegv() {
        let f = SigFault { signal: Signal::SIGFPE, code: SiCode::FpeIntdiv, addr: VirtAddr::new(0x401000) };
        let mut p = proc_with_handler();
        p.actions[7] = p.actions[10];
        let mut regs = kvm_regs { rsp: 0x7000_0000, ..Default::default() };
        assert!(matches!(deliver(&mut p, &mut regs, f, 0, 0, |_, _| Err(Errno::EFAULT)), Delivery::ForcedSegv));
        p.actions[7].flags &= !SA_RESTORER;
        assert!(matches!(deliver(&mut p, &mut regs, f, 0, 0, |_, _| Ok(())), Delivery::ForcedSegv));
    }

    #[test]
    fn sigreturn_cannot_raise_privileged_flags() {
        assert_eq!(user_rflags(0xffff_ffff) & 0x3000, 0, "IOPL stays 0");
        assert_eq!(user_rflags(0) & 0x200, 0x200, "IF stays set");
    }

    #[test]
    fn sigaction_rejects_bad_arguments() {
        let mut p = proc_with_handler();
        assert_eq!(sigaction(&mut p, 11, None, 4), Err(Errno::EINVAL));
        assert_eq!(sigaction(&mut p, 0, None, 8), Err(Errno::EINVAL));
        assert_eq!(sigaction(&mut p, 9, Some([0; 32]), 8), Err(Errno::EINVAL));
        assert!(sigaction(&mut p, 9, None, 8).is_ok());
    }
}
