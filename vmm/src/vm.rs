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
    pub view: RamView,
}

/// How the mapping relates to the memfd.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RamView {
    /// MAP_SHARED: the memfd holds guest RAM.
    Shared,
    /// MAP_PRIVATE of a frozen base memfd (a forked child): unmodified pages
    /// are the base's page-cache pages, written ones private host copies.
    PrivateCopyOnWrite,
}

impl GuestRam {
    /// `size` bytes of fresh (zero) RAM in a new memfd.
    pub fn fresh(size: u64) -> Result<GuestRam, VmmError> {
        let file = Arc::new(memfd(size)?);
        let region = (GuestAddress(0), size as usize, Some(FileOffset::from_arc(file.clone(), 0)));
        let mem = GuestMemoryMmap::<()>::from_ranges_with_files([region]).map_err(|e| VmmError::GuestMemory(e.to_string()))?;
        Ok(GuestRam { mem, memfd: file, size, view: RamView::Shared })
    }

    /// A copy-on-write view of `base` (which nobody may write any more).
    pub fn private_view(base: &Arc<File>, size: u64) -> Result<GuestRam, VmmError> {
        use vm_memory::mmap::{GuestRegionMmap, MmapRegionBuilder};
        let region = MmapRegionBuilder::new(size as usize)
            .with_file_offset(FileOffset::from_arc(base.clone(), 0))
            .with_mmap_prot(libc::PROT_READ | libc::PROT_WRITE)
            .with_mmap_flags(libc::MAP_PRIVATE | libc::MAP_NORESERVE)
            .build()
            .map_err(|e| VmmError::GuestMemory(e.to_string()))?;
        let region = GuestRegionMmap::new(region, GuestAddress(0)).ok_or_else(|| VmmError::GuestMemory("guest RAM region".into()))?;
        let mem = GuestMemoryMmap::from_regions(vec![region]).map_err(|e| VmmError::GuestMemory(e.to_string()))?;
        Ok(GuestRam { mem, memfd: base.clone(), size, view: RamView::PrivateCopyOnWrite })
    }

    /// The VMM's address of guest-physical 0 (the mapping is one region).
    pub fn host_base(&self) -> Result<*mut u8, VmmError> {
        self.mem.get_host_address(GuestAddress(0)).map_err(|e| VmmError::GuestMemory(e.to_string()))
    }
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
        Vm::with_ram(kvm, GuestRam::fresh(size)?)
    }

    /// Creates a VM whose memslot 0 is `ram`.
    pub fn with_ram(kvm: Kvm, ram: GuestRam) -> Result<Vm, VmmError> {
        let fd = kvm.create_vm().map_err(|e| VmmError::KvmIoctl("KVM_CREATE_VM", e))?;
        let vm = Vm { kvm, fd, ram };
        vm.set_slot(vm.ram.size)?;
        Ok(vm)
    }

    fn set_slot(&self, size: u64) -> Result<(), VmmError> {
        let host = self.ram.host_base()?;
        let slot = kvm_userspace_memory_region { slot: 0, flags: 0, guest_phys_addr: 0, memory_size: size, userspace_addr: host as u64 };
        // SAFETY: `host` is the start of a live mapping of `ram.size` bytes
        // owned by `ram.mem`, which this Vm keeps alive as long as the VM.
        unsafe { self.fd.set_user_memory_region(slot) }.map_err(|e| VmmError::KvmIoctl("KVM_SET_USER_MEMORY_REGION", e))
    }

    /// Deletes and re-adds memslot 0, which drops every shadow page KVM
    /// built from guest page tables. Needed after the host changed guest
    /// page-table contents behind KVM's back (a reset restoring pages), since
    /// this host's KVM never sees host writes to guest page tables.
    pub fn reload_slot(&self) -> Result<(), VmmError> {
        self.set_slot(0)?;
        self.set_slot(self.ram.size)
    }
}

/// Total host memory in bytes (MemTotal), for argument checks.
pub fn host_memory() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
