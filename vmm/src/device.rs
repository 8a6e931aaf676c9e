//! Memory-window devices (pmem / BAR-like): host backings, guest-physical
//! windows, and their KVM memslots.
//!
//! Owns where windows live and the host side of each one: the backing (a host
//! file opened read-write, or a fresh memfd), the VMM's shared mapping of it,
//! and the memslot that shows it to the guest. The engine object and the
//! revocation are the machine's business (see `hotplug`).
//!
//! Guest-physical layout: windows start at `WINDOW_BASE` = 64 GiB, which is
//! `layout::MAX_RAM`, so they can never overlap RAM whatever `--memory` is.
//! Each window is aligned to 2 MiB and the allocator only moves up: a window's
//! addresses (and its memslot number) are never reused during a VM's life, so
//! a replugged device can never be reached through anything left over from
//! an earlier one. Windows end below `WINDOW_LIMIT` (1 TiB).
//!
//! This is one of the few files with `unsafe`; each block names its invariant.

use crate::error::{InternalError, VmmError};
use kvm_bindings::kvm_userspace_memory_region;
use kvm_ioctls::VmFd;
use std::fs::{File, OpenOptions};
use std::os::fd::FromRawFd;
use std::path::PathBuf;
use std::sync::Arc;
use vm_memory::{FileOffset, GuestAddress, GuestMemoryRegion, GuestRegionMmap};

/// First guest-physical address of device windows (= layout::MAX_RAM).
pub const WINDOW_BASE: u64 = crate::layout::MAX_RAM;
/// Windows end below this address.
pub const WINDOW_LIMIT: u64 = 1 << 40;
/// Window alignment.
pub const WINDOW_ALIGN: u64 = 2 << 20;
pub use crate::kernel::syscalls::vmm::MAX_WINDOW;
/// Memslot 0 is guest RAM; windows take 1, 2, ...
pub const FIRST_DEVICE_SLOT: u32 = 1;

/// What backs a window.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BackingSource {
    /// A host file, opened read-write and mapped shared: guest writes reach it.
    File(PathBuf),
    /// A fresh memfd of the window's size.
    Memfd,
}

/// A device to plug: `--device NAME=PATH[,size=SIZE]` or `NAME=memfd,size=SIZE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PmemSpec {
    pub name: String,
    pub source: BackingSource,
    /// Bytes; for a file, defaults to its length.
    pub size: Option<u64>,
}

pub use crate::kernel::syscalls::vmm::check_device_name as check_name;

impl PmemSpec {
    pub fn parse(s: &str) -> Result<PmemSpec, String> {
        let (name, rest) =
            s.split_once('=').ok_or_else(|| format!("--device {s}: expected NAME=PATH[,size=SIZE] or NAME=memfd,size=SIZE"))?;
        check_name(name)?;
        let mut parts = rest.split(',');
        let path = parts.next().unwrap_or_default();
        let mut size = None;
        for p in parts {
            match p.split_once('=') {
                Some(("size", v)) => size = Some(crate::size::parse_size(v).map_err(|e| format!("--device {s}: size {v}: {e}"))?),
                _ => return Err(format!("--device {s}: unknown option '{p}' (only size=SIZE)")),
            }
        }
        let source = match path {
            "" => return Err(format!("--device {s}: no backing path")),
            "memfd" => BackingSource::Memfd,
            p => BackingSource::File(PathBuf::from(p)),
        };
        if source == BackingSource::Memfd && size.is_none() {
            return Err(format!("--device {s}: a memfd backing needs size=SIZE"));
        }
        Ok(PmemSpec { name: name.to_string(), source, size })
    }
}

/// The host side of a plugged window.
pub struct Window {
    pub name: String,
    pub gpa: u64,
    pub size: u64,
    pub slot: u32,
    /// The VMM's shared mapping of the backing (also in the engine's memory
    /// while plugged).
    pub region: Arc<GuestRegionMmap>,
    pub file: Arc<File>,
    /// Where the backing came from (a checkpoint records it).
    pub source: BackingSource,
    pub view: WindowView,
}

/// How the VMM (and so the guest) maps a window's backing.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum WindowView {
    /// MAP_SHARED: guest stores reach the backing (and every VM mapping it).
    Shared,
    /// MAP_PRIVATE of a frozen backing (a forked child's own copy): stores
    /// make private host copies; the backing never changes.
    PrivateCopyOnWrite,
}

/// The backing of an unplugged window, handed back to the caller (step e).
/// Dropping it unmaps the VMM's mapping and closes the file.
pub struct Backing {
    pub region: Arc<GuestRegionMmap>,
    pub file: Arc<File>,
}

impl Backing {
    /// The tripwire: makes the VMM's mapping of the old backing inaccessible
    /// (PROT_NONE), so that any later host access through it would kill the
    /// VMM with SIGSEGV instead of passing silently. Tests use it to show the
    /// backing is never touched after unplug.
    pub fn make_inaccessible(&self) -> Result<(), VmmError> {
        let host = self.region.as_ptr();
        let len = self.region.len() as usize;
        // SAFETY: `host..host+len` is exactly the live mapping owned by
        // `region`, which this Backing keeps alive; changing its protection
        // affects no other memory. After this, the only code that could touch
        // it is code that must not (that is the point).
        let r = unsafe { libc::mprotect(host.cast(), len, libc::PROT_NONE) };
        if r != 0 {
            return Err(VmmError::Host("mprotect(PROT_NONE) of an unplugged backing", std::io::Error::last_os_error()));
        }
        Ok(())
    }
}

/// Creates a memfd of `size` bytes named after the device.
fn memfd(name: &str, size: u64) -> Result<File, VmmError> {
    let cname = std::ffi::CString::new(format!("pmem-{name}")).map_err(|_| VmmError::Usage("device name".into()))?;
    // SAFETY: the name is a valid NUL-terminated C string; the flags are valid.
    let fd = unsafe { libc::memfd_create(cname.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(VmmError::Host("memfd_create", std::io::Error::last_os_error()));
    }
    // SAFETY: memfd_create returned a fresh descriptor that nothing else owns.
    let file = unsafe { File::from_raw_fd(fd) };
    file.set_len(size).map_err(|e| VmmError::Host("ftruncate of a device memfd", e))?;
    Ok(file)
}

/// Window allocation and memslots of one VM.
pub struct Windows {
    next_gpa: u64,
    next_slot: u32,
}

impl Default for Windows {
    fn default() -> Self {
        Windows { next_gpa: WINDOW_BASE, next_slot: FIRST_DEVICE_SLOT }
    }
}

impl Windows {
    /// Opens or creates the backing, maps it, and registers its memslot.
    pub fn create(&mut self, vm: &VmFd, spec: &PmemSpec) -> Result<Window, VmmError> {
        let (file, size) = match &spec.source {
            BackingSource::Memfd => {
                let size = spec.size.unwrap_or(0);
                (memfd(&spec.name, size)?, size)
            }
            BackingSource::File(p) => {
                let f = OpenOptions::new().read(true).write(true).open(p).map_err(|e| VmmError::ReadFile(p.display().to_string(), e))?;
                let len = f.metadata().map_err(|e| VmmError::ReadFile(p.display().to_string(), e))?.len();
                let size = spec.size.unwrap_or(len);
                if size > len {
                    return Err(VmmError::Usage(format!("device {}: size {size} is larger than {} ({len} bytes)", spec.name, p.display())));
                }
                (f, size)
            }
        };
        if size == 0 || !size.is_multiple_of(4096) || size > MAX_WINDOW {
            return Err(VmmError::Usage(format!(
                "device {}: size {size} must be a non-zero multiple of 4 KiB, at most {} GiB",
                spec.name,
                MAX_WINDOW >> 30
            )));
        }
        let gpa = self.next_gpa;
        let end = gpa.checked_add(size).filter(|e| *e <= WINDOW_LIMIT).ok_or_else(|| {
            VmmError::Usage(format!("device {}: the device window area ({WINDOW_BASE:#x}..{WINDOW_LIMIT:#x}) is used up", spec.name))
        })?;
        if self.next_slot >= MAX_SLOT {
            return Err(VmmError::Usage(format!("device {}: no memslot left for another window", spec.name)));
        }
        let place = Placement { name: spec.name.clone(), gpa, size, slot: self.next_slot };
        let w = attach(vm, &place, Arc::new(file), spec.source.clone(), WindowView::Shared)?;
        self.next_slot += 1;
        self.next_gpa = end.next_multiple_of(WINDOW_ALIGN);
        Ok(w)
    }

    /// Where the next window would go: (guest-physical address, memslot).
    pub fn next(&self) -> (u64, u32) {
        (self.next_gpa, self.next_slot)
    }

    /// The allocator of a VM that goes on from a checkpoint taken at `next`
    /// (so that nothing of the checkpoint's windows is ever reused).
    pub fn resume_at(next: (u64, u32)) -> Result<Windows, VmmError> {
        let (gpa, slot) = next;
        if !(WINDOW_BASE..=WINDOW_LIMIT).contains(&gpa)
            || !gpa.is_multiple_of(WINDOW_ALIGN)
            || !(FIRST_DEVICE_SLOT..MAX_SLOT).contains(&slot)
        {
            return Err(InternalError::WindowAllocator { gpa, slot }.into());
        }
        Ok(Windows { next_gpa: gpa, next_slot: slot })
    }
}

/// Window memslots stay below the reset's shadow-flush slot (vm::FLUSH_SLOT).
pub const MAX_SLOT: u32 = 32000;

/// Where a window sits in a VM.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Placement {
    pub name: String,
    pub gpa: u64,
    pub size: u64,
    pub slot: u32,
}

impl Placement {
    /// Checks a placement read from a checkpoint or snapshot.
    pub fn check(&self) -> Result<(), String> {
        check_name(&self.name)?;
        let end = self.gpa.checked_add(self.size);
        let ok = self.size > 0
            && self.size.is_multiple_of(4096)
            && self.size <= MAX_WINDOW
            && self.gpa >= WINDOW_BASE
            && self.gpa.is_multiple_of(WINDOW_ALIGN)
            && end.is_some_and(|e| e <= WINDOW_LIMIT)
            && (FIRST_DEVICE_SLOT..MAX_SLOT).contains(&self.slot);
        if ok {
            Ok(())
        } else {
            Err(format!("device window {} at {:#x} (+{:#x}, slot {}) is not a valid window", self.name, self.gpa, self.size, self.slot))
        }
    }
}

/// Maps `file` as the window `place` (shared or copy-on-write) and registers
/// its memslot.
pub fn attach(vm: &VmFd, place: &Placement, file: Arc<File>, source: BackingSource, view: WindowView) -> Result<Window, VmmError> {
    let Placement { name, gpa, size, slot } = place.clone();
    let region = match view {
        WindowView::Shared => GuestRegionMmap::from_range(GuestAddress(gpa), size as usize, Some(FileOffset::from_arc(file.clone(), 0)))
            .map_err(|e| VmmError::GuestMemory(format!("mapping device {name}: {e}")))?,
        WindowView::PrivateCopyOnWrite => {
            let r = vm_memory::mmap::MmapRegionBuilder::new(size as usize)
                .with_file_offset(FileOffset::from_arc(file.clone(), 0))
                .with_mmap_prot(libc::PROT_READ | libc::PROT_WRITE)
                .with_mmap_flags(libc::MAP_PRIVATE | libc::MAP_NORESERVE)
                .build()
                .map_err(|e| VmmError::GuestMemory(format!("mapping device {name}: {e}")))?;
            GuestRegionMmap::new(r, GuestAddress(gpa)).ok_or_else(|| VmmError::GuestMemory(format!("mapping device {name}")))?
        }
    };
    let region = Arc::new(region);
    let mr =
        kvm_userspace_memory_region { slot, flags: 0, guest_phys_addr: gpa, memory_size: size, userspace_addr: region.as_ptr() as u64 };
    // SAFETY: the host range is the live mapping owned by `region`; the
    // Window keeps it alive until `delete_slot` has removed the slot.
    unsafe { vm.set_user_memory_region(mr) }.map_err(|e| VmmError::KvmIoctl("KVM_SET_USER_MEMORY_REGION (plug)", e))?;
    Ok(Window { name, gpa, size, slot, region, file, source, view })
}

/// Opens a host file as a window backing (read-write), checking it holds
/// at least `size` bytes.
pub fn open_backing_file(path: &std::path::Path, size: u64) -> Result<File, VmmError> {
    let f = OpenOptions::new().read(true).write(true).open(path).map_err(|e| VmmError::ReadFile(path.display().to_string(), e))?;
    let len = f.metadata().map_err(|e| VmmError::ReadFile(path.display().to_string(), e))?.len();
    if len < size {
        return Err(VmmError::Usage(format!("{} is {len} bytes, the device window needs {size}", path.display())));
    }
    Ok(f)
}

/// A fresh memfd backing of `size` bytes for device `name`.
pub fn memfd_backing(name: &str, size: u64) -> Result<File, VmmError> {
    memfd(name, size)
}

/// Deletes a window's memslot (step d of unplug): afterwards KVM holds no
/// translation to the backing, so no guest access can reach it.
pub fn delete_slot(vm: &VmFd, w: &Window) -> Result<(), VmmError> {
    let mr = kvm_userspace_memory_region { slot: w.slot, flags: 0, guest_phys_addr: w.gpa, memory_size: 0, userspace_addr: 0 };
    // SAFETY: a zero-sized region deletes the slot; it makes KVM forget the
    // host range, which only makes fewer host addresses reachable.
    unsafe { vm.set_user_memory_region(mr) }.map_err(|e| VmmError::KvmIoctl("KVM_SET_USER_MEMORY_REGION (unplug)", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_specs_parse_and_bad_ones_say_why() {
        let s = PmemSpec::parse("pmem0=/tmp/x,size=64K").unwrap();
        assert_eq!((s.name.as_str(), s.size), ("pmem0", Some(65536)));
        assert_eq!(PmemSpec::parse("p=memfd,size=1M").unwrap().source, BackingSource::Memfd);
        assert!(PmemSpec::parse("p=memfd").unwrap_err().contains("size"));
        assert!(PmemSpec::parse("a/b=/x").is_err());
        assert!(PmemSpec::parse("pmem0").is_err());
        assert!(PmemSpec::parse("pmem0=/x,mode=ro").unwrap_err().contains("unknown option"));
    }
}
