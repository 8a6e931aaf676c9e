//! The x86-64 signal frame: building it for a handler and undoing it in
//! rt_sigreturn (arch/x86/kernel/signal.c get_sigframe, signal_64.c
//! x64_setup_rt_frame and SYSCALL_DEFINE0(rt_sigreturn)).
//!
//! Owns the rt_sigframe layout on the user stack: pretcode, the ucontext
//! (uc_stack, the sigcontext registers, the mask) and the siginfo. The FPU
//! state of the interrupted code is kept by the host on a per-process stack
//! instead of on the user stack (sigcontext.fpstate is NULL), so a handler
//! cannot clobber it. Everything read back from the user stack is untrusted:
//! segment selectors are forced to user values and RFLAGS is masked to what
//! user mode may set.

use super::{AltStack, SigAction, SigInfo};
use guest_mm::{Errno, VirtAddr};
use kvm_bindings::kvm_regs;
use linux_abi::signal::{frame, stack, SA_NODEFER, SA_ONSTACK, SA_RESETHAND, SA_RESTORER, UNBLOCKABLE};

/// RFLAGS bits user mode may set (Linux's FIX_EFLAGS).
pub const USER_RFLAGS: u64 = 0x0004_0000 | 0x800 | 0x400 | 0x100 | 0x80 | 0x40 | 0x10 | 0x4 | 0x1 | 0x1_0000;
/// IF and the reserved bit 1, always set in ring 3.
pub const FIXED_RFLAGS: u64 = 0x202;

/// Sanitises RFLAGS coming from user-controlled state.
pub fn user_rflags(v: u64) -> u64 {
    (v & USER_RFLAGS) | FIXED_RFLAGS
}

/// The red zone below the user stack pointer a frame must not touch.
const RED_ZONE: u64 = 128;

/// The smallest stack a handler frame needs here (AT_MINSIGSTKSZ): the
/// frame, the red zone and alignment; there is no FPU area on the stack.
pub const MIN_SIGSTKSZ: u64 = (frame::SIZE as u64 + RED_ZONE + 16 + 15) & !15;

fn sigcontext_regs(r: &kvm_regs) -> [u64; frame::SC_REGS] {
    [r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rdi, r.rsi, r.rbp, r.rbx, r.rdx, r.rax, r.rcx, r.rsp, r.rip, r.rflags]
}

/// What the frame builder needs of the process.
pub struct FrameInput<'a> {
    pub regs: &'a mut kvm_regs,
    pub action: SigAction,
    pub info: SigInfo,
    /// The mask to restore at sigreturn (the one before delivery, or the
    /// one rt_sigsuspend replaced).
    pub restore_mask: u64,
    pub altstack: &'a mut AltStack,
    /// The process's last signalling exception (trapno, err, cr2).
    pub trap: crate::kernel::process::TrapInfo,
}

/// Builds the rt_sigframe for a handler and points the registers at it.
/// `write` writes user memory with the process's permissions. Err means the
/// frame could not be placed or written: the caller forces SIGSEGV.
pub fn setup(f: FrameInput<'_>, mut write: impl FnMut(VirtAddr, &[u8]) -> Result<(), Errno>) -> Result<(), Errno> {
    let regs = f.regs;
    let a = f.action;
    if a.flags & SA_RESTORER == 0 {
        // x86-64 requires a restorer; without one Linux's setup fails (-EFAULT).
        return Err(Errno::EFAULT);
    }
    let alt = *f.altstack;
    let nested = alt.contains(regs.rsp);
    let mut sp = regs.rsp.wrapping_sub(RED_ZONE);
    let mut entering = false;
    if a.flags & SA_ONSTACK != 0 && alt.state(sp) == 0 {
        sp = alt.sp.wrapping_add(alt.size);
        entering = true;
    }
    let sp = (sp.wrapping_sub(frame::SIZE as u64) & !15).wrapping_sub(8);
    if (nested || entering) && !alt.contains(sp) {
        // Would overflow the alternate stack: Linux returns a bogus address.
        return Err(Errno::EFAULT);
    }
    let mut buf = vec![0u8; frame::SIZE];
    let put = |buf: &mut Vec<u8>, off: usize, v: u64| buf[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put(&mut buf, frame::PRETCODE, a.restorer);
    put(&mut buf, frame::UC_FLAGS, frame::UC_FP_XSTATE | frame::UC_SIGCONTEXT_SS | frame::UC_STRICT_RESTORE_SS);
    // uc_stack: save_altstack (the state as of the interrupted code).
    put(&mut buf, frame::UC_STACK + stack::SP, alt.sp);
    let ss_flags = alt.state(regs.rsp) | alt.flags;
    buf[frame::UC_STACK + stack::FLAGS..frame::UC_STACK + stack::FLAGS + 4].copy_from_slice(&ss_flags.to_le_bytes());
    put(&mut buf, frame::UC_STACK + stack::SIZE_FIELD, alt.size);
    let mc = frame::UC_MCONTEXT;
    for (i, v) in sigcontext_regs(regs).iter().enumerate() {
        put(&mut buf, mc + 8 * i, *v);
    }
    // cs, gs, fs, ss (u16 each).
    let segs: u64 = linux_abi::arch::USER_CS as u64 | ((linux_abi::arch::USER_DS as u64) << 48);
    put(&mut buf, mc + frame::SC_SEGS, segs);
    let crate::kernel::process::TrapInfo { trapno, err, cr2 } = f.trap;
    put(&mut buf, mc + frame::SC_ERR, err);
    put(&mut buf, mc + frame::SC_TRAPNO, trapno);
    put(&mut buf, mc + frame::SC_OLDMASK, f.restore_mask);
    put(&mut buf, mc + frame::SC_CR2, cr2);
    put(&mut buf, mc + frame::SC_FPSTATE, 0); // kept by the host
    put(&mut buf, frame::UC_SIGMASK, f.restore_mask);
    buf[frame::INFO..frame::INFO + 128].copy_from_slice(&f.info.to_bytes());
    write(VirtAddr::new(sp), &buf)?;
    if alt.flags & stack::SS_AUTODISARM != 0 {
        *f.altstack = AltStack::default();
    }
    regs.rsp = sp;
    regs.rip = a.handler;
    regs.rdi = f.info.signo as u64;
    regs.rsi = sp + frame::INFO as u64;
    regs.rdx = sp + frame::UC as u64;
    regs.rax = 0;
    regs.rflags &= !(0x100 | 0x400 | 0x4_0000); // TF, DF, AC cleared for the handler
    Ok(())
}

/// The mask while the handler runs (signal_setup_done).
pub fn handler_mask(blocked: u64, a: &SigAction, sig: linux_abi::Signal) -> u64 {
    let mut m = blocked | a.mask;
    if a.flags & SA_NODEFER == 0 {
        m |= sig.bit();
    }
    m & !UNBLOCKABLE
}

/// Whether the action resets to SIG_DFL once delivered (SA_RESETHAND).
pub fn resets(a: &SigAction) -> bool {
    a.flags & SA_RESETHAND != 0
}

/// What rt_sigreturn restores besides the registers.
pub struct Restored {
    pub mask: u64,
    /// uc_stack as the frame holds it (sp, flags, size): restore_altstack
    /// applies it as sigaltstack would, errors squashed.
    pub stack: (u64, i32, u64),
}

/// rt_sigreturn: restores the registers saved by `setup` from the frame at
/// RSP - 8 (the restorer popped pretcode). `read` reads user memory. Err
/// means the frame was unreadable: SIGSEGV.
pub fn sigreturn(regs: &mut kvm_regs, mut read: impl FnMut(VirtAddr, &mut [u8]) -> Result<(), Errno>) -> Result<Restored, Errno> {
    let base = regs.rsp.wrapping_sub(8);
    let mut buf = vec![0u8; frame::SIZE];
    read(VirtAddr::new(base), &mut buf)?;
    let get = |off: usize| u64::from_le_bytes(buf[off..off + 8].try_into().expect("8 bytes"));
    let mc = frame::UC_MCONTEXT;
    let r: Vec<u64> = (0..frame::SC_REGS).map(|i| get(mc + 8 * i)).collect();
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
    let flags = i32::from_le_bytes(buf[frame::UC_STACK + stack::FLAGS..frame::UC_STACK + stack::FLAGS + 4].try_into().expect("4 bytes"));
    let stack = (get(frame::UC_STACK + stack::SP), flags, get(frame::UC_STACK + stack::SIZE_FIELD));
    Ok(Restored { mask: get(frame::UC_SIGMASK) & !UNBLOCKABLE, stack })
}

#[cfg(test)]
mod tests {
    use super::*;
    use guest_mm::{SiCode, SigFault};
    use linux_abi::signal::SA_SIGINFO;

    fn handler() -> SigAction {
        SigAction { handler: 0x401000, flags: SA_SIGINFO | SA_RESTORER, restorer: 0x402000, mask: 0 }
    }

    #[test]
    fn setup_then_sigreturn_restores_registers_and_mask() {
        let mut mem = vec![0u8; 0x10000];
        let base = 0x7000_0000u64;
        let before = kvm_regs { rax: 1, rbx: 2, rcx: 3, rip: 0x400123, rsp: base + 0x8000, rflags: 0x246, ..Default::default() };
        let mut regs = before;
        let info =
            SigInfo::fault(SigFault { signal: guest_mm::Signal::SIGSEGV, code: SiCode::SegvAccerr, addr: VirtAddr::new(0xdead000) }, 14, 7);
        let mut alt = AltStack::default();
        let input = FrameInput {
            regs: &mut regs,
            action: handler(),
            info,
            restore_mask: 5,
            altstack: &mut alt,
            trap: crate::kernel::process::TrapInfo { trapno: 14, err: 7, cr2: 0xdead000 },
        };
        setup(input, |va, data| {
            let o = (va.as_u64() - base) as usize;
            mem[o..o + data.len()].copy_from_slice(data);
            Ok(())
        })
        .unwrap();
        assert_eq!((regs.rip, regs.rdi, regs.rsp % 16), (0x401000, 11, 8));
        let info_at = (regs.rsi - base) as usize;
        assert_eq!(i32::from_le_bytes(mem[info_at + 8..info_at + 12].try_into().unwrap()), 2);
        assert_eq!(u64::from_le_bytes(mem[info_at + 16..info_at + 24].try_into().unwrap()), 0xdead000);
        regs.rsp += 8;
        let r = sigreturn(&mut regs, |va, buf| {
            let o = (va.as_u64() - base) as usize;
            buf.copy_from_slice(&mem[o..o + buf.len()]);
            Ok(())
        })
        .unwrap();
        assert_eq!(regs, kvm_regs { rflags: user_rflags(0x246), ..before });
        assert_eq!(r.mask, 5);
    }

    #[test]
    fn sa_onstack_runs_on_the_alternate_stack_and_autodisarm_disarms_it() {
        let base = 0x7000_0000u64;
        let mut alt = AltStack { sp: base, size: 0x4000, flags: stack::SS_AUTODISARM };
        let mut regs = kvm_regs { rsp: base + 0x10_0000, ..Default::default() };
        let a = SigAction { flags: SA_ONSTACK | SA_RESTORER, ..handler() };
        let info = SigInfo::kill(linux_abi::Signal::SIGUSR1, 0, 1, 0);
        let mut wrote = 0;
        let input = FrameInput { regs: &mut regs, action: a, info, restore_mask: 0, altstack: &mut alt, trap: Default::default() };
        setup(input, |va, _| {
            wrote = va.as_u64();
            Ok(())
        })
        .unwrap();
        assert!(wrote > base && wrote < base + 0x4000, "frame at {wrote:#x}");
        assert_eq!(alt, AltStack::default(), "SS_AUTODISARM");
    }

    #[test]
    fn no_restorer_or_an_overflowing_alternate_stack_fails() {
        let mut regs = kvm_regs { rsp: 0x7000_8000, ..Default::default() };
        let info = SigInfo::kill(linux_abi::Signal::SIGUSR1, 0, 1, 0);
        let mut alt = AltStack::default();
        let a = SigAction { flags: 0, ..handler() };
        let input = FrameInput { regs: &mut regs, action: a, info, restore_mask: 0, altstack: &mut alt, trap: Default::default() };
        assert_eq!(setup(input, |_, _| Ok(())), Err(Errno::EFAULT));
        let mut tiny = AltStack { sp: 0x1000_0000, size: 64, flags: 0 };
        let a = SigAction { flags: SA_ONSTACK | SA_RESTORER, ..handler() };
        let input = FrameInput { regs: &mut regs, action: a, info, restore_mask: 0, altstack: &mut tiny, trap: Default::default() };
        assert_eq!(setup(input, |_, _| Ok(())), Err(Errno::EFAULT));
    }

    #[test]
    fn sigreturn_cannot_raise_privileged_flags() {
        assert_eq!(user_rflags(0xffff_ffff) & 0x3000, 0, "IOPL stays 0");
        assert_eq!(user_rflags(0) & 0x200, 0x200, "IF stays set");
    }
}
