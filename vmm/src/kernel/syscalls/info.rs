//! System information and limits: uname, getrandom, sched_getaffinity,
//! sched_yield, getcpu, prlimit64, getrlimit, setrlimit (kernel/sys.c,
//! drivers/char/random.c, kernel/sched/core.c).
//!
//! The machine they describe is the microVM: one CPU (CPU 0, node 0), the
//! reference kernel's NR_CPUS of 256 for the size of a cpumask, and the
//! identity strings in `Kernel::uname`.

use super::{ok, Args, Control, Ctx, SysResult};
use crate::kernel::process::{Pid, Wait};
use guest_mm::Errno;
use linux_abi::resource::{Rlimit, RLIMIT_NOFILE, RLIM_NLIMITS};
use linux_abi::sched::{GRND_INSECURE, GRND_NONBLOCK, GRND_RANDOM, UTSNAME_FIELD, UTSNAME_SIZE};

/// cpumask_size(): NR_CPUS bits, whatever the number of CPUs online.
const CPUMASK_SIZE: u64 = 256 / 8;
/// CPUs of the VM (nr_cpu_ids).
const NR_CPUS_ONLINE: u64 = 1;
/// fs.nr_open: the largest RLIMIT_NOFILE.
const NR_OPEN: u64 = 1 << 20;

pub(super) fn uname(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let mut b = [0u8; UTSNAME_SIZE];
    for (i, f) in cx.k.uname.fields().iter().enumerate() {
        let n = f.len().min(UTSNAME_FIELD - 1);
        b[i * UTSNAME_FIELD..i * UTSNAME_FIELD + n].copy_from_slice(&f.as_bytes()[..n]);
    }
    cx.write_user(a.ptr(0), &b)?;
    ok(0)
}

pub(super) fn getrandom(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (buf, len, flags) = (a.ptr(0), a.ulong(1), a.uint(2) as u64);
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & (GRND_INSECURE | GRND_RANDOM) == GRND_INSECURE | GRND_RANDOM {
        return Err(Errno::EINVAL);
    }
    if !super::rw::access_ok(buf, len) {
        return Err(Errno::EFAULT);
    }
    let len = len.min(linux_abi::fcntl::MAX_RW_COUNT) as usize;
    let mut done = 0;
    while done < len {
        let mut chunk = vec![0u8; (len - done).min(1 << 16)];
        cx.k.rng.fill(&mut chunk);
        match cx.write_user_prefix(buf + done as u64, &chunk) {
            Ok(n) => {
                done += n;
                if n < chunk.len() {
                    break;
                }
            }
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    ok(done as u64)
}

/// The process `pid` names (0: the caller), or ESRCH.
fn find(cx: &Ctx<'_>, pid: i32) -> Result<Pid, Errno> {
    if pid == 0 {
        return Ok(cx.pid());
    }
    let pid = Pid::try_from(pid).map_err(|_| Errno::ESRCH)?;
    cx.k.procs.get(&pid).filter(|p| !p.is_zombie()).map(|p| p.pid).ok_or(Errno::ESRCH)
}

pub(super) fn sched_getaffinity(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let len = a.uint(1) as u64;
    if len * 8 < NR_CPUS_ONLINE || !len.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    find(cx, a.pid(0))?;
    let n = len.min(CPUMASK_SIZE) as usize;
    let mut mask = vec![0u8; n];
    mask[0] = 1;
    cx.write_user(a.ptr(2), &mask)?;
    ok(n as u64)
}

/// sched_yield: the caller steps aside for the other runnable processes
/// (a wait that is over at once; the scheduler prefers the others).
pub(super) fn sched_yield(_: &mut Ctx<'_>, _: Args) -> SysResult {
    Ok(Control::Block(Wait::Yield))
}

pub(super) fn getcpu(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    for p in [a.ptr(0), a.ptr(1)] {
        if p != 0 {
            cx.write_u32(p, 0)?;
        }
    }
    ok(0)
}

fn read_rlimit(cx: &mut Ctx<'_>, va: u64) -> Result<Rlimit, Errno> {
    let mut b = [0u8; 16];
    cx.read_user(va, &mut b)?;
    Ok(Rlimit { cur: u64::from_le_bytes(b[..8].try_into().expect("8")), max: u64::from_le_bytes(b[8..].try_into().expect("8")) })
}

fn rlimit_bytes(r: Rlimit) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&r.cur.to_le_bytes());
    b[8..].copy_from_slice(&r.max.to_le_bytes());
    b
}

/// do_prlimit: validates, then sets `new` on `pid` and returns the old value.
fn do_prlimit(cx: &mut Ctx<'_>, pid: Pid, resource: u32, new: Option<Rlimit>) -> Result<Rlimit, Errno> {
    let r = resource as usize;
    if r >= RLIM_NLIMITS {
        return Err(Errno::EINVAL);
    }
    let old = cx.k.procs[&pid].rlimits[r];
    if let Some(n) = new {
        if n.cur > n.max {
            return Err(Errno::EINVAL);
        }
        if r as u64 == RLIMIT_NOFILE && n.max > NR_OPEN {
            return Err(Errno::EPERM);
        }
        // No CAP_SYS_RESOURCE: the hard limit may only go down.
        if n.max > old.max {
            return Err(Errno::EPERM);
        }
        let p = cx.k.procs.get_mut(&pid).expect("found");
        p.rlimits[r] = n;
        let space = p.space;
        cx.k.push_memory_limits(pid, space);
    }
    Ok(old)
}

pub(super) fn prlimit64(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (pid, resource, new, old) = (a.pid(0), a.uint(1), a.ptr(2), a.ptr(3));
    let new = if new != 0 { Some(read_rlimit(cx, new)?) } else { None };
    let pid = find(cx, pid)?;
    let prev = do_prlimit(cx, pid, resource, new)?;
    if old != 0 {
        cx.write_user(old, &rlimit_bytes(prev))?;
    }
    ok(0)
}

pub(super) fn getrlimit(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let me = cx.pid();
    let prev = do_prlimit(cx, me, a.uint(0), None)?;
    cx.write_user(a.ptr(1), &rlimit_bytes(prev))?;
    ok(0)
}

pub(super) fn setrlimit(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let new = read_rlimit(cx, a.ptr(1))?;
    let me = cx.pid();
    do_prlimit(cx, me, a.uint(0), Some(new))?;
    ok(0)
}
