//! Signal calls: rt_sigaction, rt_sigprocmask, rt_sigreturn, sigaltstack,
//! rt_sigsuspend, pause, rt_sigpending, kill, tkill, tgkill
//! (kernel/signal.c, arch/x86/kernel/signal_64.c).
//!
//! Where Linux commits a change and then fails to copy the old value out
//! (rt_sigaction's oldact, rt_sigprocmask's oldset), so do we: the change
//! stays and the call returns EFAULT.

use super::{ok, Args, Control, Ctx, SysResult};
use crate::kernel::process::{Pid, Wait};
use crate::kernel::signal::{self as ksig, SigAction, SigInfo};
use guest_mm::Errno;
use linux_abi::signal::{si, sigaction as ka, stack, Signal, UNBLOCKABLE};

pub(super) fn rt_sigaction(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (sig, act, oldact, size) = (a.int(0) as i64 as u64, a.ptr(1), a.ptr(2), a.ulong(3));
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let new = if act != 0 {
        let mut b = [0u8; ka::SIZE];
        cx.read_user(act, &mut b)?;
        let q = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"));
        Some(SigAction { handler: q(ka::HANDLER), flags: q(ka::FLAGS), restorer: q(ka::RESTORER), mask: q(ka::MASK) })
    } else {
        None
    };
    let old = ksig::sigaction(&mut cx.proc_mut().sig, sig, new, size)?;
    if oldact != 0 {
        let mut out = [0u8; ka::SIZE];
        let flags = old.flags & ksig::UAPI_SA_FLAGS;
        for (o, v) in [(ka::HANDLER, old.handler), (ka::FLAGS, flags), (ka::RESTORER, old.restorer), (ka::MASK, old.mask)] {
            out[o..o + 8].copy_from_slice(&v.to_le_bytes());
        }
        cx.write_user(oldact, &out)?;
    }
    ok(0)
}

pub(super) fn rt_sigprocmask(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (how, set, oldset, size) = (a.int(0) as i64 as u64, a.ptr(1), a.ptr(2), a.ulong(3));
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let new = if set != 0 { Some(cx.read_u64(set)?) } else { None };
    let old = ksig::sigprocmask(&mut cx.proc_mut().sig, how, new)?;
    if oldset != 0 {
        cx.write_u64(oldset, old)?;
    }
    ok(0)
}

pub(super) fn rt_sigreturn(cx: &mut Ctx<'_>, _: Args) -> SysResult {
    let space = cx.space();
    let k = &mut *cx.k;
    let r = ksig::frame::sigreturn(cx.regs, |va, buf| {
        let (r, u) = k.engine.read_user(space, va, buf).split();
        k.pending.absorb(u);
        r
    });
    let sp = cx.regs.rsp;
    let p = cx.proc_mut();
    // Not a syscall any more: its "result" is the restored RAX.
    p.in_syscall = None;
    let fpu = p.sig.saved_fpu.pop();
    match r {
        Ok(restored) => {
            p.sig.blocked = restored.mask;
            // restore_altstack (errors squashed). Observed on Linux 6.18: a
            // stack the handler set with the same address and size as the
            // saved one is kept as the handler left it.
            let (ss_sp, _, ss_size) = restored.stack;
            if (ss_sp, ss_size) != (p.sig.altstack.sp, p.sig.altstack.size) {
                let _ = ksig::set_altstack(&mut p.sig.altstack, sp, restored.stack);
            }
            if let Some(f) = fpu {
                cx.cpu.load_fpu(Some(&f)).map_err(|_| Errno::EFAULT)?;
            }
            ok(cx.regs.rax)
        }
        Err(_) => {
            cx.k.force_signal(SigInfo::kernel(Signal::SIGSEGV));
            ok(cx.regs.rax)
        }
    }
}

pub(super) fn sigaltstack(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (uss, uoss) = (a.ptr(0), a.ptr(1));
    let sp = cx.regs.rsp;
    let new = if uss != 0 {
        let mut b = [0u8; stack::SIZE];
        cx.read_user(uss, &mut b)?;
        let q = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"));
        let flags = i32::from_le_bytes(b[stack::FLAGS..stack::FLAGS + 4].try_into().expect("4 bytes"));
        Some((q(stack::SP), flags, q(stack::SIZE_FIELD)))
    } else {
        None
    };
    let alt = cx.proc().sig.altstack;
    let mut old = [0u8; stack::SIZE];
    old[stack::SP..stack::SP + 8].copy_from_slice(&alt.sp.to_le_bytes());
    old[stack::FLAGS..stack::FLAGS + 4].copy_from_slice(&(alt.state(sp) | alt.flags).to_le_bytes());
    old[stack::SIZE_FIELD..stack::SIZE_FIELD + 8].copy_from_slice(&alt.size.to_le_bytes());
    if let Some(n) = new {
        let cur = alt;
        // The "no change" shortcut comes after the on-stack test.
        if cur.contains(sp) {
            return Err(Errno::EPERM);
        }
        ksig::set_altstack(&mut cx.proc_mut().sig.altstack, sp, n)?;
    }
    if uoss != 0 {
        cx.write_user(uoss, &old)?;
    }
    ok(0)
}

/// Blocks until a signal is delivered, unless one is deliverable already.
fn wait_for_signal(cx: &mut Ctx<'_>) -> SysResult {
    if cx.proc().sig.deliverable() != 0 {
        return Err(Errno::ERESTARTNOHAND);
    }
    Ok(Control::Block(Wait::Signal))
}

pub(super) fn rt_sigsuspend(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    if a.ulong(1) != 8 {
        return Err(Errno::EINVAL);
    }
    let mask = cx.read_u64(a.ptr(0))?;
    let p = cx.proc_mut();
    p.sig.saved_mask = Some(p.sig.blocked);
    p.sig.blocked = mask & !UNBLOCKABLE;
    wait_for_signal(cx)
}

pub(super) fn pause(cx: &mut Ctx<'_>, _: Args) -> SysResult {
    wait_for_signal(cx)
}

pub(super) fn rt_sigpending(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let size = a.ulong(1);
    if size > 8 {
        return Err(Errno::EINVAL);
    }
    let p = cx.proc();
    let set = p.sig.pending.set & p.sig.blocked;
    cx.write_user(a.ptr(0), &set.to_le_bytes()[..size as usize])?;
    ok(0)
}

/// check_kill_permission: the signal is valid and the sender may signal the
/// target (same real or effective uid as the target's real or saved uid;
/// the guest has no CAP_KILL).
fn may_kill(cx: &Ctx<'_>, sig: i32, target: Pid) -> Result<(), Errno> {
    if !(0..=64).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    let me = &cx.proc().creds;
    let t = &cx.k.procs.get(&target).ok_or(Errno::ESRCH)?.creds;
    if me.euid == t.suid || me.euid == t.uid || me.uid == t.suid || me.uid == t.uid {
        Ok(())
    } else {
        Err(Errno::EPERM)
    }
}

/// Sends `sig` (0: only the checks) from the current process to `target`.
fn send(cx: &mut Ctx<'_>, sig: i32, target: Pid, code: i32) -> Result<(), Errno> {
    may_kill(cx, sig, target)?;
    if let Some(s) = Signal::new(sig as u64) {
        let info = SigInfo::kill(s, code, cx.pid(), cx.proc().creds.uid);
        cx.k.send_signal(target, info);
    }
    Ok(())
}

/// Live (non-zombie counts too, as in Linux) processes in a group.
fn group(cx: &Ctx<'_>, pgid: Pid) -> Vec<Pid> {
    cx.k.procs.values().filter(|p| p.pgid == pgid).map(|p| p.pid).collect()
}

pub(super) fn kill(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (pid, sig) = (a.pid(0), a.int(1));
    if pid > 0 {
        if !cx.k.procs.contains_key(&(pid as Pid)) {
            return Err(Errno::ESRCH);
        }
        send(cx, sig, pid as Pid, si::SI_USER)?;
        return ok(0);
    }
    if pid == i32::MIN {
        return Err(Errno::ESRCH);
    }
    let targets: Vec<Pid> = if pid == -1 {
        cx.k.procs.keys().copied().filter(|p| *p > 1 && *p != cx.pid()).collect()
    } else {
        let g = if pid == 0 { cx.proc().pgid } else { (-pid) as Pid };
        group(cx, g)
    };
    if targets.is_empty() {
        return Err(Errno::ESRCH);
    }
    // __kill_pgrp_info: success if any succeeded, else the last error.
    let mut last = Ok(());
    let mut any = false;
    for t in targets {
        let r = send(cx, sig, t, si::SI_USER);
        any |= r.is_ok();
        if pid != -1 || r != Err(Errno::EPERM) {
            last = r;
        }
    }
    if any && pid != -1 {
        return ok(0);
    }
    last?;
    ok(0)
}

/// do_tkill: `tgid` <= 0 means any thread group.
fn tkill_common(cx: &mut Ctx<'_>, tgid: i32, tid: i32, sig: i32) -> SysResult {
    let target = tid as Pid;
    if !cx.k.procs.contains_key(&target) || (tgid > 0 && tgid as Pid != target) {
        return Err(Errno::ESRCH);
    }
    send(cx, sig, target, si::SI_TKILL)?;
    ok(0)
}

pub(super) fn tkill(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    if a.pid(0) <= 0 {
        return Err(Errno::EINVAL);
    }
    tkill_common(cx, 0, a.pid(0), a.int(1))
}

pub(super) fn tgkill(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    if a.pid(0) <= 0 || a.pid(1) <= 0 {
        return Err(Errno::EINVAL);
    }
    tkill_common(cx, a.pid(0), a.pid(1), a.int(2))
}

/// rt_sigqueueinfo / rt_tgsigqueueinfo: a signal with the sender's siginfo.
/// Only to oneself may it claim a kernel or kill() origin (si_code >= 0 or
/// SI_TKILL); si_signo is the call's signal.
fn sigqueue(cx: &mut Ctx<'_>, tgid: i32, tid: Option<i32>, sig: i32, uinfo: u64) -> SysResult {
    let mut b = [0u8; linux_abi::signal::siginfo::SIZE];
    cx.read_user(uinfo, &mut b)?;
    let code = i32::from_le_bytes(b[8..12].try_into().expect("4 bytes"));
    let target = tid.unwrap_or(tgid);
    if (code >= 0 || code == si::SI_TKILL) && target as Pid != cx.pid() {
        return Err(Errno::EPERM);
    }
    let pid = target as Pid;
    if target <= 0 || !cx.k.procs.contains_key(&pid) || tid.is_some() && tgid != target {
        return Err(Errno::ESRCH);
    }
    may_kill(cx, sig, pid)?;
    if let Some(s) = Signal::new(sig as u64) {
        let mut words = [0u64; 14];
        for (i, w) in words.iter_mut().enumerate() {
            *w = u64::from_le_bytes(b[16 + 8 * i..24 + 8 * i].try_into().expect("8 bytes"));
        }
        let errno = i32::from_le_bytes(b[4..8].try_into().expect("4 bytes"));
        let info = SigInfo { signo: s.number(), code, errno, fields: ksig::SigFields::Raw(words) };
        cx.k.send_signal(pid, info);
    }
    ok(0)
}

pub(super) fn rt_sigqueueinfo(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    sigqueue(cx, a.pid(0), None, a.int(1), a.ptr(2))
}

pub(super) fn rt_tgsigqueueinfo(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    if a.pid(0) <= 0 || a.pid(1) <= 0 {
        return Err(Errno::EINVAL);
    }
    sigqueue(cx, a.pid(0), Some(a.pid(1)), a.int(2), a.ptr(3))
}
