//! Our extensions, far outside Linux's table (where the host kernel answers
//! ENOSYS): plug and unplug a memory window from inside the guest, so that
//! scenarios can do it at a deterministic point (docs/unplug.md), and the
//! whole-VM checkpoint (docs/vmfork.md). The work needs the VM, so these
//! hand a request to the vCPU loop, which writes the result to RAX.

use super::{Args, Control, Ctx, SysResult, VmmRequest};
use guest_mm::Errno;

/// plug(name, size): a memfd-backed window named /dev/NAME.
pub const SYS_VMM_PLUG: u64 = 0x7f00;
/// unplug(name): the unplug transaction.
pub const SYS_VMM_UNPLUG: u64 = 0x7f01;
/// checkpoint(0): the whole VM checkpoints here.
pub const SYS_VM_CHECKPOINT: u64 = 0x564d_0001;

/// Largest single window.
pub const MAX_WINDOW: u64 = 16 << 30;

/// Checks a device name: it becomes /dev/NAME in the guest.
pub fn check_device_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty() && name.len() <= 32 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!("device name '{name}' must be 1 to 32 letters, digits, '-' or '_'"))
    }
}

/// The names the table and --strace use for our numbers.
pub fn name(nr: u64) -> Option<&'static str> {
    match nr {
        SYS_VMM_PLUG => Some("vmm_plug"),
        SYS_VMM_UNPLUG => Some("vmm_unplug"),
        SYS_VM_CHECKPOINT => Some("vm_checkpoint"),
        _ => None,
    }
}

/// A device name argument: at most 32 bytes.
fn device_name(cx: &mut Ctx<'_>, va: u64, too_long: Errno) -> Result<String, Errno> {
    let b = cx.read_cstr(va, 33).map_err(|e| if e == Errno::ENAMETOOLONG { too_long } else { e })?;
    Ok(String::from_utf8_lossy(&b).into_owned())
}

pub(super) fn plug(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let name = device_name(cx, a.ptr(0), Errno::EINVAL)?;
    check_device_name(&name).map_err(|_| Errno::EINVAL)?;
    let size = a.ulong(1);
    if size == 0 || !size.is_multiple_of(4096) || size > MAX_WINDOW {
        return Err(Errno::EINVAL);
    }
    Ok(Control::Vmm(VmmRequest::Plug { name, size }))
}

pub(super) fn unplug(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let name = device_name(cx, a.ptr(0), Errno::ENODEV)?;
    Ok(Control::Vmm(VmmRequest::Unplug { name }))
}

pub(super) fn checkpoint(_: &mut Ctx<'_>, a: Args) -> SysResult {
    if a.ulong(0) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(Control::Vmm(VmmRequest::Checkpoint))
}
