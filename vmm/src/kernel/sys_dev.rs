//! Device system calls (our extension): plug and unplug a memory window from
//! inside the guest, so scenarios can do it at a deterministic point.
//!
//! Owns argument checking; the work needs the VM (memslots), which the
//! kernel does not touch, so the call leaves a `DeviceRequest` that the vCPU
//! loop performs before the process runs again, writing the result to RAX.
//! Numbers are far above Linux's table, where the host kernel answers ENOSYS.

use super::Kernel;
use guest_mm::Errno;

/// plug(name, size): a memfd-backed window named /dev/NAME.
pub const SYS_VMM_PLUG: u64 = 0x7f00;
/// unplug(name): the unplug transaction (docs/unplug.md).
pub const SYS_VMM_UNPLUG: u64 = 0x7f01;

/// A device operation the vCPU loop must perform for the current process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceRequest {
    Plug { name: String, size: u64 },
    Unplug { name: String },
}

impl Kernel {
    pub(crate) fn sys_vmm_plug(&mut self, name: u64, size: u64) -> Result<u64, Errno> {
        let name = self.read_cstr(name, 33).map_err(|e| if e == Errno::ENAMETOOLONG { Errno::EINVAL } else { e })?;
        crate::device::check_name(&name).map_err(|_| Errno::EINVAL)?;
        if size == 0 || !size.is_multiple_of(4096) || size > crate::device::MAX_WINDOW {
            return Err(Errno::EINVAL);
        }
        self.device_request = Some(DeviceRequest::Plug { name, size });
        Ok(0)
    }

    pub(crate) fn sys_vmm_unplug(&mut self, name: u64) -> Result<u64, Errno> {
        let name = self.read_cstr(name, 33).map_err(|e| if e == Errno::ENAMETOOLONG { Errno::ENODEV } else { e })?;
        self.device_request = Some(DeviceRequest::Unplug { name });
        Ok(0)
    }

    /// The device operation the last syscall asked for, if any.
    pub fn take_device_request(&mut self) -> Option<DeviceRequest> {
        self.device_request.take()
    }
}
