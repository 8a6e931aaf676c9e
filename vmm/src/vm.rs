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
    /// The dummy page of `flush_shadow`'s memslot (leaked with the VM).
    flush: std::sync::OnceLock<usize>,
    flush_added: std::sync::atomic::AtomicBool,
}

/// Memslot and guest-physical address of `flush_shadow`'s dummy page: the
/// last slot number KVM allows (NR_MEMSLOTS 32764 here) and 1 TiB, above
/// guest RAM and above the device windows (64 GiB .. 1 TiB), never mapped
/// by the engine.
const FLUSH_SLOT: u32 = 32763;
const FLUSH_GPA: u64 = 1 << 40;

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
        let vm = Vm { kvm, fd, ram, flush: std::sync::OnceLock::new(), flush_added: Default::default() };
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

    /// Drops every shadow page KVM built, cheaply: deleting any memslot makes
    /// x86 KVM invalidate all shadow pages (kvm_mmu_zap_all_fast, the default
    /// KVM_X86_QUIRK_SLOT_ZAP_ALL), so a one-page dummy slot above all RAM is
    /// deleted and re-added. Re-creating memslot 0 would cost its rmap arrays
    /// (proportional to RAM). The reset-loop tests check it is enough here.
    pub fn flush_shadow(&self) -> Result<(), VmmError> {
        let page = self.flush_page()?;
        if !self.flush_added.swap(true, std::sync::atomic::Ordering::Relaxed) {
            // First use: the slot must exist before it can be deleted.
            let s = kvm_userspace_memory_region {
                slot: FLUSH_SLOT,
                flags: 0,
                guest_phys_addr: FLUSH_GPA,
                memory_size: 4096,
                userspace_addr: page as u64,
            };
            // SAFETY: as below.
            unsafe { self.fd.set_user_memory_region(s) }.map_err(|e| VmmError::KvmIoctl("KVM_SET_USER_MEMORY_REGION", e))?;
        }
        let slot = |size: u64| kvm_userspace_memory_region {
            slot: FLUSH_SLOT,
            flags: 0,
            guest_phys_addr: FLUSH_GPA,
            memory_size: size,
            userspace_addr: page as u64,
        };
        // SAFETY: `page` is a live one-page anonymous mapping owned by this Vm
        // (in a OnceLock, never unmapped before the VM); the guest's engine
        // never maps FLUSH_GPA, which lies above all RAM.
        unsafe {
            self.fd.set_user_memory_region(slot(0)).map_err(|e| VmmError::KvmIoctl("KVM_SET_USER_MEMORY_REGION", e))?;
            self.fd.set_user_memory_region(slot(4096)).map_err(|e| VmmError::KvmIoctl("KVM_SET_USER_MEMORY_REGION", e))
        }
    }

    fn flush_page(&self) -> Result<usize, VmmError> {
        if let Some(p) = self.flush.get() {
            return Ok(*p);
        }
        // SAFETY: a fresh private anonymous page; nothing else references it.
        let p = unsafe {
            libc::mmap(std::ptr::null_mut(), 4096, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
        };
        if p == libc::MAP_FAILED {
            return Err(VmmError::Host("mmap of the flush slot page", std::io::Error::last_os_error()));
        }
        let _ = self.flush.set(p as usize);
        Ok(p as usize)
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

/// How KVM's shadow of the guest page tables is dropped at a reset.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ShadowFlush {
    /// Delete and re-add a one-page dummy memslot (`Vm::flush_shadow`).
    DummySlot,
    /// Delete and re-add guest RAM's memslot (`Vm::reload_slot`; slower).
    ReloadRam,
    /// Testing aid: do not flush (a broken reset the tests must catch).
    None,
}
