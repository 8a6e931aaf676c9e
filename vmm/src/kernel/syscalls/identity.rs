//! Identity calls: the uid and gid families and the supplementary groups
//! (kernel/sys.c, kernel/groups.c), on the documented identity of
//! `kernel::creds` (the VMM's own ids, no capabilities).

use super::{ok, Args, Ctx, SysResult};
use crate::kernel::creds::Family;
use guest_mm::Errno;

pub(super) fn getuid(cx: &mut Ctx<'_>, _: Args) -> SysResult {
    ok(cx.proc().creds.uid as u64)
}
pub(super) fn geteuid(cx: &mut Ctx<'_>, _: Args) -> SysResult {
    ok(cx.proc().creds.euid as u64)
}
pub(super) fn getgid(cx: &mut Ctx<'_>, _: Args) -> SysResult {
    ok(cx.proc().creds.gid as u64)
}
pub(super) fn getegid(cx: &mut Ctx<'_>, _: Args) -> SysResult {
    ok(cx.proc().creds.egid as u64)
}

pub(super) fn getgroups(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let size = a.int(0);
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    let groups = cx.proc().creds.groups.clone();
    if size == 0 {
        return ok(groups.len() as u64);
    }
    if (size as usize) < groups.len() {
        return Err(Errno::EINVAL);
    }
    let bytes: Vec<u8> = groups.iter().flat_map(|g| g.to_le_bytes()).collect();
    cx.write_user(a.ptr(1), &bytes)?;
    ok(groups.len() as u64)
}

/// setgroups(2): may_setgroups fails first (no CAP_SETGID), whatever the size.
pub(super) fn setgroups(_: &mut Ctx<'_>, _: Args) -> SysResult {
    Err(Errno::EPERM)
}

fn set(cx: &mut Ctx<'_>, f: Family, id: u32) -> SysResult {
    cx.proc_mut().creds.set(f, id)?;
    ok(0)
}

pub(super) fn setuid(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    set(cx, Family::User, a.uint(0))
}
pub(super) fn setgid(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    set(cx, Family::Group, a.uint(0))
}
pub(super) fn setreuid(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    cx.proc_mut().creds.set_re(Family::User, a.uint(0), a.uint(1))?;
    ok(0)
}
pub(super) fn setregid(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    cx.proc_mut().creds.set_re(Family::Group, a.uint(0), a.uint(1))?;
    ok(0)
}
pub(super) fn setresuid(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    cx.proc_mut().creds.set_res(Family::User, a.uint(0), a.uint(1), a.uint(2))?;
    ok(0)
}
pub(super) fn setresgid(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    cx.proc_mut().creds.set_res(Family::Group, a.uint(0), a.uint(1), a.uint(2))?;
    ok(0)
}

/// getresuid/getresgid: three u32s, each written on its own (EFAULT at the first bad one).
fn getres(cx: &mut Ctx<'_>, a: Args, ids: [u32; 3]) -> SysResult {
    for (i, id) in ids.iter().enumerate() {
        cx.write_u32(a.ptr(i), *id)?;
    }
    ok(0)
}
pub(super) fn getresuid(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let c = &cx.proc().creds;
    let ids = [c.uid, c.euid, c.suid];
    getres(cx, a, ids)
}
pub(super) fn getresgid(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let c = &cx.proc().creds;
    let ids = [c.gid, c.egid, c.sgid];
    getres(cx, a, ids)
}
pub(super) fn setfsuid(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    ok(cx.proc_mut().creds.set_fs(Family::User, a.uint(0)) as u64)
}
pub(super) fn setfsgid(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    ok(cx.proc_mut().creds.set_fs(Family::Group, a.uint(0)) as u64)
}
