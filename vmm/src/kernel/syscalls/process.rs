//! Process calls: fork, exit, exit_group, the ids (getpid, getppid, gettid),
//! process groups and sessions, the registrations libc makes at start-up
//! (set_tid_address, set_robust_list, rseq), arch_prctl, prctl, capget and
//! capset, restart_syscall (kernel/fork.c, kernel/exit.c, kernel/sys.c,
//! kernel/futex/syscalls.c, kernel/rseq.c, arch/x86/kernel/process_64.c,
//! kernel/capability.c).

use super::{ok, Args, Control, Ctx, SysResult};
use crate::kernel::process::{ExitStatus, Pid, Process, Rseq, RunState, Wait};
use guest_mm::Errno;
use linux_abi::arch::*;
use linux_abi::prctl::*;
use linux_abi::sched::rseq as rs;
use linux_abi::signal::Signal;

/// How a new process is made (kernel_clone_args, for what fork and the
/// process-creating forms of clone share).
#[derive(Copy, Clone, Default)]
struct CloneOpts {
    /// The signal the parent gets when the child ends (0: none).
    exit_signal: u8,
    child_settid: u64,
    child_cleartid: u64,
    parent_settid: u64,
    tls: Option<u64>,
    stack: u64,
    /// CLONE_PARENT: the child is the caller's sibling.
    sibling: bool,
    /// CLONE_VFORK: the caller waits until the child exits.
    vfork: bool,
}

/// kernel_clone for a new process (no shared address space, files or
/// signal handlers): the child is a copy (COW memory, descriptors, signal
/// actions, FS/GS base) that returns 0; the parent gets the child's pid.
fn do_fork(cx: &mut Ctx<'_>, o: CloneOpts) -> SysResult {
    // copy_process: nr_threads >= max_threads is EAGAIN. Also keeps
    // alloc_pid from looping: at most max_procs < PID_MAX pids are in use.
    if cx.k.procs.len() >= cx.k.max_procs.min(32000) {
        return Err(Errno::EAGAIN);
    }
    let parent = cx.proc().clone();
    let child_space = cx.mm(|e, s| e.fork(s).split())?;
    let fpu = cx.cpu.save_fpu().map_err(|_| Errno::ENOMEM)?;
    for (_, e) in parent.fds.iter() {
        cx.k.files.hold(e.file);
    }
    // dup_mmap: the child's mm has the same exe file.
    if let Some(o) = parent.exe_obj {
        let _ = cx.k.engine.hold_object(o);
    }
    cx.k.vfs.hold(parent.cwd);
    let pid = cx.k.alloc_pid();
    let mut regs = *cx.regs;
    regs.rax = 0;
    if o.stack != 0 {
        regs.rsp = o.stack;
    }
    let child = Process {
        pid,
        ppid: if o.sibling { parent.ppid } else { parent.pid },
        space: child_space,
        state: RunState::Runnable,
        regs,
        fpu: Some(fpu),
        fs_base: o.tls.unwrap_or(parent.fs_base),
        sig: parent.sig.for_child(),
        clear_child_tid: o.child_cleartid,
        robust_list: (0, 0),
        in_syscall: None,
        cpu_ns: 0,
        stopped_report: false,
        continued: false,
        restart: None,
        exit_signal: o.exit_signal,
        vfork_parent: if o.vfork { Some(parent.pid) } else { None },
        prctl: crate::kernel::process::PrctlState { pdeathsig: 0, ..parent.prctl },
        ..parent
    };
    cx.k.procs.insert(pid, child);
    cx.k.stats.processes += 1;
    // CLONE_CHILD_SETTID: in the child's (copied) memory; CLONE_PARENT_SETTID:
    // in the parent's, after the copy (so the child does not see it).
    if o.child_settid != 0 {
        let (r, u) = cx.k.engine.write_user(child_space, guest_mm::VirtAddr::new(o.child_settid), &pid.to_le_bytes()).split();
        cx.k.pending.absorb(u);
        let _ = r;
    }
    if o.parent_settid != 0 {
        let _ = cx.write_u32(o.parent_settid, pid);
    }
    if o.vfork {
        return Ok(Control::Block(Wait::Vfork { child: pid }));
    }
    ok(pid as u64)
}

/// fork(2).
pub(super) fn fork(cx: &mut Ctx<'_>, _: Args) -> SysResult {
    do_fork(cx, CloneOpts { exit_signal: Signal::SIGCHLD.number(), ..Default::default() })
}

/// vfork(2): a fork whose parent waits until the child exits. (The child
/// has its own copy of the memory, not the parent's: programs may only
/// _exit or exec in a vfork child, so they cannot tell.)
pub(super) fn vfork(cx: &mut Ctx<'_>, _: Args) -> SysResult {
    do_fork(cx, CloneOpts { exit_signal: Signal::SIGCHLD.number(), vfork: true, ..Default::default() })
}

/// clone(flags, stack, parent_tid, child_tid, tls) (x86-64 argument order),
/// for new processes: the flags that share state between tasks (threads:
/// issue 13) are not implemented yet.
pub(super) fn clone(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    use linux_abi::sched::*;
    let flags = a.ulong(0);
    // copy_process's argument checks, in its order.
    if flags & (CLONE_NEWNS | CLONE_FS) == (CLONE_NEWNS | CLONE_FS) || flags & (CLONE_NEWUSER | CLONE_FS) == (CLONE_NEWUSER | CLONE_FS) {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_THREAD != 0 && flags & CLONE_SIGHAND == 0 || flags & CLONE_SIGHAND != 0 && flags & CLONE_VM == 0 {
        return Err(Errno::EINVAL);
    }
    if flags & (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM) != 0 {
        return Err(Errno::ENOSYS);
    }
    if flags & (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET) != 0 {
        // Namespaces need CAP_SYS_ADMIN (a user namespace is not offered).
        return Err(Errno::EPERM);
    }
    if flags & CLONE_PIDFD != 0 {
        return Err(Errno::ENOSYS);
    }
    let exit_signal = (flags & CSIGNAL) as u8;
    if exit_signal as u64 > 64 {
        return Err(Errno::EINVAL);
    }
    let opts = CloneOpts {
        exit_signal,
        child_settid: if flags & CLONE_CHILD_SETTID != 0 { a.ptr(3) } else { 0 },
        child_cleartid: if flags & CLONE_CHILD_CLEARTID != 0 { a.ptr(3) } else { 0 },
        parent_settid: if flags & CLONE_PARENT_SETTID != 0 { a.ptr(2) } else { 0 },
        tls: (flags & CLONE_SETTLS != 0).then(|| a.ulong(4)),
        stack: a.ptr(1),
        sibling: flags & CLONE_PARENT != 0,
        vfork: flags & CLONE_VFORK != 0,
    };
    if let Some(t) = opts.tls {
        if t >= TASK_SIZE {
            return Err(Errno::EPERM);
        }
    }
    do_fork(cx, opts)
}

pub(super) fn exit(_: &mut Ctx<'_>, a: Args) -> SysResult {
    Ok(Control::Exit(ExitStatus::Exited(a.int(0) & 0xff)))
}

pub(super) fn getpid(cx: &mut Ctx<'_>, _: Args) -> SysResult {
    ok(cx.pid() as u64)
}

pub(super) fn getppid(cx: &mut Ctx<'_>, _: Args) -> SysResult {
    ok(cx.proc().ppid as u64)
}

pub(super) fn set_tid_address(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    cx.proc_mut().clear_child_tid = a.ptr(0);
    ok(cx.pid() as u64)
}

/// sizeof(struct robust_list_head).
const ROBUST_LIST_HEAD_SIZE: u64 = 24;

pub(super) fn set_robust_list(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    if a.ulong(1) != ROBUST_LIST_HEAD_SIZE {
        return Err(Errno::EINVAL);
    }
    cx.proc_mut().robust_list = (a.ptr(0), a.ulong(1));
    ok(0)
}

/// The process `pid` names (0: the caller), or ESRCH.
fn target<'a>(cx: &'a Ctx<'_>, pid: i32) -> Result<&'a Process, Errno> {
    if pid == 0 {
        return Ok(cx.proc());
    }
    let pid = Pid::try_from(pid).map_err(|_| Errno::ESRCH)?;
    cx.k.procs.get(&pid).filter(|p| !p.is_zombie()).ok_or(Errno::ESRCH)
}

pub(super) fn get_robust_list(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (head, _) = target(cx, a.pid(0))?.robust_list;
    cx.write_u64(a.ptr(2), ROBUST_LIST_HEAD_SIZE)?;
    cx.write_u64(a.ptr(1), head)?;
    ok(0)
}

/// rseq(2) (kernel/rseq.c): registration with Linux's checks; the area's
/// cpu fields are written at once (Linux writes them on the way back to
/// user mode; a bad area is SIGSEGV there and here).
pub(super) fn rseq(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (addr, len, flags, sig) = (a.ptr(0), a.uint(1), a.int(2) as u32 as u64, a.uint(3));
    let cur = cx.proc().rseq;
    if flags & rs::FLAG_UNREGISTER != 0 {
        if flags & !rs::FLAG_UNREGISTER != 0 {
            return Err(Errno::EINVAL);
        }
        let Some(r) = cur.filter(|r| r.addr == addr) else { return Err(Errno::EINVAL) };
        if r.len != len {
            return Err(Errno::EINVAL);
        }
        if r.sig != sig {
            return Err(Errno::EPERM);
        }
        write_cpu_fields(cx, addr, rs::CPU_ID_UNINITIALIZED)?;
        cx.proc_mut().rseq = None;
        return ok(0);
    }
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    if let Some(r) = cur {
        if r.addr != addr || r.len != len {
            return Err(Errno::EINVAL);
        }
        if r.sig != sig {
            return Err(Errno::EPERM);
        }
        return Err(Errno::EBUSY);
    }
    let l = len as u64;
    if l < rs::ORIG_SIZE
        || (l == rs::ORIG_SIZE && addr % rs::ORIG_SIZE != 0)
        || (l != rs::ORIG_SIZE && (addr % rs::ALIGN != 0 || l < rs::FEATURE_SIZE))
    {
        return Err(Errno::EINVAL);
    }
    if !super::rw::access_ok(addr, l) {
        return Err(Errno::EFAULT);
    }
    cx.proc_mut().rseq = Some(Rseq { addr, len, sig });
    if write_cpu_fields(cx, addr, 0).is_err() {
        // rseq_handle_notify_resume fails: force_sigsegv.
        cx.k.force_signal(crate::kernel::signal::SigInfo::kernel(Signal::SIGSEGV));
    }
    ok(0)
}

/// cpu_id_start, cpu_id (the one vCPU is CPU 0, or `cpu` for a reset),
/// node_id and mm_cid of an rseq area.
fn write_cpu_fields(cx: &mut Ctx<'_>, addr: u64, cpu: i32) -> Result<(), Errno> {
    let start = cpu.max(0) as u32;
    cx.write_u32(addr + rs::CPU_ID_START as u64, start)?;
    cx.write_u32(addr + rs::CPU_ID as u64, cpu as u32)?;
    cx.write_u32(addr + rs::NODE_ID as u64, 0)?;
    cx.write_u32(addr + rs::MM_CID as u64, 0)
}

pub(super) fn arch_prctl(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (code, addr) = (a.int(0) as u32 as u64, a.ulong(1));
    match code {
        ARCH_SET_FS | ARCH_SET_GS => {
            if addr >= TASK_SIZE {
                return Err(Errno::EPERM);
            }
            let p = cx.proc_mut();
            if code == ARCH_SET_FS {
                p.fs_base = addr;
            } else {
                p.gs_base = addr;
            }
            ok(0)
        }
        ARCH_GET_FS | ARCH_GET_GS => {
            let p = cx.proc();
            let v = if code == ARCH_GET_FS { p.fs_base } else { p.gs_base };
            cx.write_u64(addr, v)?;
            ok(0)
        }
        // CPUID does not fault (the guest CPU has no CPUID faulting).
        ARCH_GET_CPUID => ok(1),
        ARCH_SET_CPUID => Err(Errno::ENODEV),
        // fpu_xstate_prctl: the guest CPU has x87 and SSE state only (no XSAVE).
        ARCH_GET_XCOMP_SUPP | ARCH_GET_XCOMP_PERM | ARCH_GET_XCOMP_GUEST_PERM => {
            cx.write_u64(addr, 0b11)?;
            ok(0)
        }
        ARCH_REQ_XCOMP_PERM | ARCH_REQ_XCOMP_GUEST_PERM => match addr {
            0 | 1 => ok(0),
            n if n < 64 => Err(Errno::EOPNOTSUPP),
            _ => Err(Errno::EINVAL),
        },
        _ => Err(Errno::EINVAL),
    }
}

pub(super) fn prctl(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let option = a.int(0) as u32 as u64;
    let (arg2, rest) = (a.ulong(1), [a.ulong(2), a.ulong(3), a.ulong(4)]);
    match option {
        PR_SET_NAME => {
            let mut b = [0u8; TASK_COMM_LEN];
            // strncpy_from_user of TASK_COMM_LEN - 1 bytes: a shorter read
            // at an unmapped page is fine as long as the string ends.
            let name = match cx.read_cstr(arg2, TASK_COMM_LEN) {
                Ok(n) => n,
                Err(Errno::ENAMETOOLONG) => {
                    cx.read_user(arg2, &mut b[..TASK_COMM_LEN - 1])?;
                    b[..TASK_COMM_LEN - 1].to_vec()
                }
                Err(e) => return Err(e),
            };
            cx.proc_mut().name = String::from_utf8_lossy(&name).into_owned();
            ok(0)
        }
        PR_GET_NAME => {
            let mut b = [0u8; TASK_COMM_LEN];
            let n = cx.proc().name.as_bytes();
            let len = n.len().min(TASK_COMM_LEN - 1);
            b[..len].copy_from_slice(&n[..len]);
            cx.write_user(arg2, &b)?;
            ok(0)
        }
        PR_SET_NO_NEW_PRIVS => {
            if arg2 != 1 || rest != [0, 0, 0] {
                return Err(Errno::EINVAL);
            }
            cx.proc_mut().prctl.no_new_privs = true;
            ok(0)
        }
        PR_GET_NO_NEW_PRIVS => {
            if arg2 != 0 || rest != [0, 0, 0] {
                return Err(Errno::EINVAL);
            }
            ok(cx.proc().prctl.no_new_privs as u64)
        }
        PR_SET_THP_DISABLE => {
            if rest != [0, 0, 0] {
                return Err(Errno::EINVAL);
            }
            cx.proc_mut().prctl.thp_disable = arg2 != 0;
            ok(0)
        }
        PR_GET_THP_DISABLE => {
            if arg2 != 0 || rest != [0, 0, 0] {
                return Err(Errno::EINVAL);
            }
            ok(cx.proc().prctl.thp_disable as u64)
        }
        PR_SET_PDEATHSIG => {
            if arg2 > 64 {
                return Err(Errno::EINVAL);
            }
            cx.proc_mut().prctl.pdeathsig = arg2 as u8;
            ok(0)
        }
        PR_GET_PDEATHSIG => {
            let v = cx.proc().prctl.pdeathsig as u32;
            cx.write_u32(arg2, v)?;
            ok(0)
        }
        PR_GET_DUMPABLE => ok(!cx.proc().prctl.undumpable as u64),
        PR_SET_DUMPABLE => {
            if arg2 > 1 {
                return Err(Errno::EINVAL);
            }
            cx.proc_mut().prctl.undumpable = arg2 == 0;
            ok(0)
        }
        PR_SET_CHILD_SUBREAPER => {
            cx.proc_mut().prctl.subreaper = arg2 != 0;
            ok(0)
        }
        PR_GET_CHILD_SUBREAPER => {
            let v = cx.proc().prctl.subreaper as u32;
            cx.write_u32(arg2, v)?;
            ok(0)
        }
        // The guest has no capabilities: the bounding set is empty.
        PR_CAPBSET_READ if arg2 <= CAP_LAST_CAP => ok(0),
        PR_CAPBSET_READ => Err(Errno::EINVAL),
        PR_CAPBSET_DROP if arg2 <= CAP_LAST_CAP => Err(Errno::EPERM),
        PR_GET_SECUREBITS => ok(0),
        PR_GET_KEEPCAPS => ok(0),
        _ => Err(Errno::EINVAL),
    }
}

/// cap_validate_magic: the number of data structs for the header's version;
/// an unknown version is answered with the one we speak and EINVAL.
fn cap_version(cx: &mut Ctx<'_>, hdr: u64) -> Result<usize, Errno> {
    let mut b = [0u8; 4];
    cx.read_user(hdr, &mut b)?;
    match u32::from_le_bytes(b) {
        LINUX_CAPABILITY_VERSION_1 => Ok(1),
        LINUX_CAPABILITY_VERSION_2 | LINUX_CAPABILITY_VERSION_3 => Ok(2),
        _ => {
            cx.write_u32(hdr, LINUX_CAPABILITY_VERSION_3)?;
            Err(Errno::EINVAL)
        }
    }
}

fn cap_pid(cx: &mut Ctx<'_>, hdr: u64) -> Result<i32, Errno> {
    let mut b = [0u8; 4];
    cx.read_user(hdr + 4, &mut b)?;
    Ok(i32::from_le_bytes(b))
}

/// capget(2): every set is empty.
pub(super) fn capget(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (hdr, data) = (a.ptr(0), a.ptr(1));
    let n = match cap_version(cx, hdr) {
        Err(Errno::EINVAL) if data == 0 => return ok(0),
        r => r?,
    };
    if data == 0 {
        return ok(0);
    }
    let pid = cap_pid(cx, hdr)?;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    target(cx, pid)?;
    cx.write_user(data, &vec![0u8; 12 * n])?;
    ok(0)
}

/// capset(2): only the empty sets are allowed (nothing can be gained).
pub(super) fn capset(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (hdr, data) = (a.ptr(0), a.ptr(1));
    let n = cap_version(cx, hdr)?;
    let pid = cap_pid(cx, hdr)?;
    if pid != 0 && pid as Pid != cx.pid() {
        return Err(Errno::EPERM);
    }
    let mut d = vec![0u8; 12 * n];
    cx.read_user(data, &mut d)?;
    if d.iter().any(|b| *b != 0) {
        return Err(Errno::EPERM);
    }
    ok(0)
}

pub(super) fn getpgrp(cx: &mut Ctx<'_>, _: Args) -> SysResult {
    ok(cx.proc().pgid as u64)
}

pub(super) fn getpgid(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    ok(target(cx, a.pid(0))?.pgid as u64)
}

pub(super) fn getsid(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    ok(target(cx, a.pid(0))?.sid as u64)
}

/// setpgid(2) (kernel/sys.c), with every check in Linux's order.
pub(super) fn setpgid(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let me = cx.pid();
    let pid = if a.pid(0) == 0 { me as i32 } else { a.pid(0) };
    let pgid = if a.pid(1) == 0 { pid } else { a.pid(1) };
    if pgid < 0 {
        return Err(Errno::EINVAL);
    }
    let (pid, pgid) = (pid as Pid, pgid as Pid);
    let my_sid = cx.proc().sid;
    let p = cx.k.procs.get(&pid).ok_or(Errno::ESRCH)?;
    if p.ppid == me {
        if p.sid != my_sid {
            return Err(Errno::EPERM);
        }
    } else if pid != me {
        return Err(Errno::ESRCH);
    }
    if p.sid == p.pid {
        return Err(Errno::EPERM);
    }
    if pgid != pid && !cx.k.procs.values().any(|g| g.pgid == pgid && g.sid == my_sid) {
        return Err(Errno::EPERM);
    }
    cx.k.procs.get_mut(&pid).expect("found").pgid = pgid;
    ok(0)
}

pub(super) fn setsid(cx: &mut Ctx<'_>, _: Args) -> SysResult {
    let me = cx.pid();
    // A process group named after the caller exists (it leads one).
    if cx.k.procs.values().any(|p| p.pgid == me) {
        return Err(Errno::EPERM);
    }
    let p = cx.proc_mut();
    p.sid = me;
    p.pgid = me;
    ok(me as u64)
}

/// restart_syscall(2): continues a sleep a stop interrupted (with no
/// handler run), or EINTR when there is nothing to restart.
pub(super) fn restart_syscall(cx: &mut Ctx<'_>, _: Args) -> SysResult {
    match cx.proc_mut().restart.take() {
        Some(w @ Wait::Sleep { .. }) => Ok(Control::Block(w)),
        _ => Err(Errno::EINTR),
    }
}
