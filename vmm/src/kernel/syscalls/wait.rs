//! wait4 (kernel/exit.c kernel_wait4 and do_wait): the options and the
//! child selector are checked here; `Kernel::wait_ready` decides whether a
//! child is ready now, otherwise the caller blocks until one is.

use super::{Args, Control, Ctx, SysResult};
use crate::kernel::process::{Pid, Wait, WaitWho};
use guest_mm::Errno;
use linux_abi::wait::{WALL, WCLONE, WCONTINUED, WNOHANG, WNOTHREAD, WUNTRACED};

pub(super) fn wait4(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (upid, status, options, rusage) = (a.pid(0), a.ptr(1), a.int(2) as u32 as u64, a.ptr(3));
    if options & !(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WCLONE | WALL) != 0 {
        return Err(Errno::EINVAL);
    }
    if upid == i32::MIN {
        return Err(Errno::ESRCH);
    }
    let who = match upid {
        -1 => WaitWho::Any,
        p if p < 0 => WaitWho::Group((-p) as Pid),
        0 => WaitWho::Group(cx.proc().pgid),
        p => WaitWho::Pid(p as Pid),
    };
    let w = Wait::Child { who, status, options, rusage };
    let me = cx.pid();
    match cx.k.wait_ready(me, w).map_err(|_| Errno::ESRCH)? {
        Some(v) => Ok(Control::Return(v)),
        None => Ok(Control::Block(w)),
    }
}
