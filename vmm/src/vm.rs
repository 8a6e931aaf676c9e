//! The KVM VM and its guest RAM.
//!
//! Owns /dev/kvm access, the VM file descriptor, and guest RAM: a memfd
//! mapped into the VMM through vm-memory and registered as memslot 0.
//! The memfd is kept so later features can snapshot or fork guest RAM.
//! This is one of the few files with `unsafe`; each block names its invariant.

use crate::error::VmmError;
use kvm_bindings::kvm_userspace_memory_region;
use kvm_ioctls::{Kvm, VmFd};
use std::fs::File;
use std::os::fd::FromRawFd;
use std::sync::Arc;
use vm_memory::{FileOffset, GuestAddress, GuestMemoryBackend, GuestMemoryMmap};

/// Guest RAM: the memfd and the VMM's mapping of it.
pub struct GuestRam {
    pub mem: GuestMemoryMmap,
    pub memfd: Arc<File>,
    pub size: u64,
}

/// An open /dev/kvm and a VM with its RAM.
pub struct Vm {
    pub kvm: Kvm,
    pub fd: VmFd,
    pub ram: GuestRam,
}

/// Opens /dev/kvm with an error that says how to fix the usual problems.
pub fn open_kvm() -> Result<Kvm, VmmError> {
    Kvm::new().map_err(|e| VmmError::Kvm(e.errno()))
}

/// Creates a memfd of `size` bytes.
fn memfd(size: u64) -> Result<File, VmmError> {
    // SAFETY: the name is a valid NUL-terminated C string; the flags are valid.
    let fd = unsafe { libc::memfd_create(c"guest-ram".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(VmmError::Host("memfd_create", std::io::Error::last_os_error()));
    }
    // SAFETY: memfd_create returned a fresh descriptor that nothing else owns.
    let file = unsafe { File::from_raw_fd(fd) };
    file.set_len(size).map_err(|e| VmmError::Host("ftruncate of guest RAM", e))?;
    Ok(file)
}

impl Vm {
    /// Creates a VM with `size` bytes of RAM at guest-physical 0.
    pub fn create(kvm: Kvm, size: u64) -> Result<Vm, VmmError> {
        let fd = kvm.create_vm().map_err(|e| VmmError::KvmIoctl("KVM_CREATE_VM", e))?;
        let file = Arc::new(memfd(size)?);
        let region = (GuestAddress(0), size as usize, Some(FileOffset::from_arc(file.clone(), 0)));
        let mem = GuestMemoryMmap::<()>::from_ranges_with_files([region]).map_err(|e| VmmError::GuestMemory(e.to_string()))?;
        let host = mem.get_host_address(GuestAddress(0)).map_err(|e| VmmError::GuestMemory(e.to_string()))?;
        let slot = kvm_userspace_memory_region { slot: 0, flags: 0, guest_phys_addr: 0, memory_size: size, userspace_addr: host as u64 };
        // SAFETY: `host` is the start of a live mapping of `size` bytes owned by
        // `mem`, which this Vm keeps alive for as long as the VM exists.
        unsafe { fd.set_user_memory_region(slot) }.map_err(|e| VmmError::KvmIoctl("KVM_SET_USER_MEMORY_REGION", e))?;
        Ok(Vm { kvm, fd, ram: GuestRam { mem, memfd: file, size } })
    }
}

/// Total host memory in bytes (MemTotal), for argument checks.
pub fn host_memory() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
