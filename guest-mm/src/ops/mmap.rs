//! mmap: creating mappings.
//!
//! Mirrors mm/mmap.c do_mmap (argument checks in Linux's order),
//! __get_unmapped_area with x86's arch_get_unmapped_area_topdown (placement),
//! and mm/vma.c mmap_region (replace what MAP_FIXED covers, account, merge
//! with neighbours, populate). MAP_SHARED|MAP_ANONYMOUS creates a shmem object
//! as shmem_zero_setup does.

use super::map;
use crate::addr::{VirtAddr, PAGE_SIZE, TASK_SIZE};
use crate::engine::Engine;
use crate::errno::{Errno, SysResult};
use crate::memory::PhysMemory;
use crate::objects::{ObjectId, ObjectKind};
use crate::paging::{Outcome, PteUpdates};
use crate::space::AsId;
use crate::vma::{Backing, Prot, VmFlags, Vma};

/// How the file descriptor argument of mmap resolved in the process layer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MapFile {
    /// No descriptor given (or MAP_ANONYMOUS).
    None,
    /// An open object: `read`/`write` are the open mode (FMODE_READ/WRITE).
    Open { obj: ObjectId, read: bool, write: bool },
    /// The descriptor was bad: this errno is returned where Linux checks it.
    Bad(Errno),
}

/// The arguments of mmap(2), raw from the caller.
#[derive(Copy, Clone, Debug)]
pub struct MmapArgs {
    pub addr: u64,
    pub len: u64,
    pub prot: u64,
    pub flags: u64,
    pub file: MapFile,
    pub offset: u64,
}

impl MmapArgs {
    /// Anonymous private memory, placed by the engine.
    pub fn anon(len: u64, prot: Prot) -> Self {
        MmapArgs { addr: 0, len, prot: prot.bits(), flags: map::PRIVATE | map::ANONYMOUS, file: MapFile::None, offset: 0 }
    }
}

impl<M: PhysMemory> Engine<M> {
    /// mmap(2). Returns the address of the new mapping.
    pub fn mmap(&mut self, id: AsId, a: MmapArgs) -> Outcome<SysResult<VirtAddr>> {
        let mut tlb = PteUpdates::new();
        let r = self.do_mmap(id, a, &mut tlb);
        Outcome::new(r, tlb)
    }

    fn do_mmap(&mut self, id: AsId, a: MmapArgs, tlb: &mut PteUpdates) -> SysResult<VirtAddr> {
        // SYSCALL_DEFINE6(mmap): the offset must be page aligned.
        if !a.offset.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        self.do_mmap_pgoff(id, a, a.offset / PAGE_SIZE, tlb)
    }

    /// do_mmap with the offset in pages (`a.offset` is ignored), as
    /// remap_file_pages' emulation calls it.
    pub(crate) fn do_mmap_pgoff(&mut self, id: AsId, a: MmapArgs, pgoff: u64, tlb: &mut PteUpdates) -> SysResult<VirtAddr> {
        let mut flags = a.flags;
        // ksys_mmap_pgoff: resolve the descriptor unless anonymous.
        let file = if flags & map::ANONYMOUS != 0 {
            None
        } else {
            match a.file {
                MapFile::Open { obj, read, write } => Some((obj, read, write)),
                MapFile::Bad(e) => return Err(e),
                MapFile::None => return Err(Errno::EBADF),
            }
        };
        if file.is_some() && flags & map::HUGETLB != 0 {
            return Err(Errno::EINVAL);
        }
        if file.is_none() && flags & map::HUGETLB != 0 {
            // No hugetlbfs pool in the guest: Linux fails the same way without reserved huge pages.
            return Err(Errno::ENOMEM);
        }
        let mut pgoff = pgoff;
        // do_mmap.
        if a.len == 0 {
            return Err(Errno::EINVAL);
        }
        if flags & map::FIXED_NOREPLACE != 0 {
            flags |= map::FIXED;
        }
        let min = self.config.limits.mmap_min_addr;
        let mut addr = a.addr;
        if flags & map::FIXED == 0 {
            // round_hint_to_min: a hint below mmap_min_addr (the LSM value
            // included) is raised to it.
            addr &= !(PAGE_SIZE - 1);
            if addr != 0 && addr < min {
                addr = min.checked_add(PAGE_SIZE - 1).map_or(min, |m| m & !(PAGE_SIZE - 1));
            }
        }
        let len = a.len.checked_add(PAGE_SIZE - 1).map(|l| l & !(PAGE_SIZE - 1)).ok_or(Errno::ENOMEM)?;
        if len == 0 {
            return Err(Errno::ENOMEM);
        }
        let pages = len / PAGE_SIZE;
        if pgoff.checked_add(pages).is_none() {
            return Err(Errno::EOVERFLOW);
        }
        let space = self.spaces.get(&id).ok_or(Errno::ESRCH)?;
        if space.vmas.len() > self.config.limits.max_map_count {
            return Err(Errno::ENOMEM);
        }
        self.total_vma_room(1)?;
        let prot = Prot::from_bits_truncate(a.prot) & (Prot::READ | Prot::WRITE | Prot::EXEC);
        let mut vm = prot.vm_flags() | space.def_flags | VmFlags::MAYREAD | VmFlags::MAYWRITE | VmFlags::MAYEXEC;
        if flags & map::GROWSDOWN != 0 {
            vm |= VmFlags::GROWSDOWN;
        }
        if flags & map::LOCKED != 0 {
            vm |= VmFlags::LOCKED;
        }
        if flags & map::STACK != 0 {
            vm |= VmFlags::NOHUGEPAGE;
        }
        if flags & map::DONTCOPY != 0 {
            vm |= VmFlags::DONTCOPY;
        }
        if flags & map::PAGEPROT != 0 {
            // Only a shared mapping of an object can become nonlinear; the
            // flag is dropped below for anything else (Linux ignores bit 33).
            vm |= VmFlags::PAGEPROT | VmFlags::NONLINEAR;
        }
        // __get_unmapped_area.
        let start = self.get_unmapped_area(id, addr, len, flags, file.is_none() && flags & map::TYPE == map::SHARED)?;
        if flags & map::FIXED_NOREPLACE != 0 && self.spaces[&id].vmas.intersects(start, start.add(len)) {
            return Err(Errno::EEXIST);
        }
        let space = &self.spaces[&id];
        // can_do_mlock: RLIMIT_MEMLOCK of 0 (no CAP_IPC_LOCK in the guest).
        if flags & map::LOCKED != 0 && space.rlimits.memlock.cur == 0 {
            return Err(Errno::EPERM);
        }
        if !space.mlock_future_ok(vm, len) {
            return Err(Errno::EAGAIN);
        }
        let backing = match file {
            Some((obj, read, write)) => {
                let o = self.objects.get(obj).ok_or(Errno::EBADF)?;
                // file_mmap_ok: the end offset must be representable.
                if pgoff.checked_add(pages).is_none_or(|e| e > (i64::MAX as u64) / PAGE_SIZE) {
                    return Err(Errno::EOVERFLOW);
                }
                if o.is_revoked() {
                    return Err(Errno::ENODEV);
                }
                let may_write_shared = o.may_write_shared() && (write || self.shared_writes_ignore_open_mode);
                match flags & map::TYPE {
                    map::SHARED | map::SHARED_VALIDATE => {
                        if flags & map::TYPE == map::SHARED {
                            flags &= map::LEGACY_MASK | map::DONTCOPY | map::PAGEPROT;
                        }
                        if flags & !(map::LEGACY_MASK | map::DONTCOPY | map::PAGEPROT) != 0 {
                            return Err(Errno::EOPNOTSUPP);
                        }
                        if prot.contains(Prot::WRITE) && !may_write_shared {
                            return Err(Errno::EACCES);
                        }
                        vm |= VmFlags::SHARED | VmFlags::MAYSHARE;
                        if !may_write_shared {
                            vm.remove(VmFlags::MAYWRITE | VmFlags::SHARED);
                        }
                        // memfd_check_seals_mmap: a write-sealed memfd maps
                        // shared only read-only, and never writable later.
                        if super::seals::write_sealed(o.seals) {
                            if prot.contains(Prot::WRITE) {
                                return Err(Errno::EPERM);
                            }
                            vm.remove(VmFlags::MAYWRITE);
                        }
                    }
                    map::PRIVATE => {}
                    _ => return Err(Errno::EINVAL),
                }
                if !read {
                    return Err(Errno::EACCES);
                }
                if vm.contains(VmFlags::GROWSDOWN) {
                    return Err(Errno::EINVAL);
                }
                if o.is_device() {
                    vm |= VmFlags::DONTEXPAND;
                }
                Backing::Object(obj)
            }
            None => match flags & map::TYPE {
                map::SHARED => {
                    if vm.contains(VmFlags::GROWSDOWN) {
                        return Err(Errno::EINVAL);
                    }
                    pgoff = 0;
                    vm |= VmFlags::SHARED | VmFlags::MAYSHARE;
                    Backing::Anon // replaced by a shmem object below, once nothing can fail
                }
                map::PRIVATE => {
                    pgoff = start.as_u64() / PAGE_SIZE;
                    Backing::Anon
                }
                _ => return Err(Errno::EINVAL),
            },
        };
        if flags & map::NORESERVE != 0 {
            vm |= VmFlags::NORESERVE;
        }
        if vm.is_accountable() {
            vm |= VmFlags::ACCOUNT;
        }
        if !vm.contains(VmFlags::SHARED) {
            // MAP_PAGEPROT only opts in mappings with VM_SHARED (MAP_SHARED of
            // a writable file, shmem, shared anonymous memory or a device):
            // the mappings remap_file_pages accepts.
            vm.remove(VmFlags::PAGEPROT | VmFlags::NONLINEAR);
        }
        let end = start.add(len);
        // __mmap_setup: what MAP_FIXED replaces is gathered first (a sealed
        // VMA refuses, vms_gather_munmap_vmas), then the address space limits
        // are checked for the pages this adds.
        self.check_unmap_sealed(id, start, end)?;
        let space = &self.spaces[&id];
        let replaced: u64 =
            space.vmas.overlapping(start, end).map(|v| (v.end.min(end).distance_from(v.start.max(start))) / PAGE_SIZE).sum();
        if !space.may_expand_vm(vm, pages - replaced) {
            return Err(Errno::ENOMEM);
        }
        // accountable_mapping, or shmem_acct_size for shared anonymous memory.
        let shared_anon = file.is_none() && vm.contains(VmFlags::SHARED) && !vm.contains(VmFlags::NORESERVE);
        if vm.contains(VmFlags::ACCOUNT) || shared_anon {
            self.vm_enough_memory(pages)?;
        }
        // Everything that can fail has been checked: commit.
        let backing = if backing == Backing::Anon && vm.contains(VmFlags::SHARED) {
            Backing::Object(self.objects.create(ObjectKind::Shmem, "/dev/zero (deleted)".into(), len))
        } else {
            backing
        };
        if let Backing::Object(o) = backing {
            if matches!(self.objects.get(o).map(|o| &o.kind), Some(ObjectKind::Shmem)) && file.is_none() {
                // The shared anonymous object is referenced by its VMA only.
                if let Some(obj) = self.objects.get_mut(o) {
                    obj.handles = 0;
                }
            }
        }
        self.unmap_region(id, start, end, tlb).map_err(|_| Errno::ENOMEM)?;
        let vma = Vma { start, end, flags: vm, pgoff, backing, anon: None };
        self.spaces.get_mut(&id).expect("checked").vmas.merge_new(vma);
        if vm.contains(VmFlags::LOCKED) || flags & (map::POPULATE | map::NONBLOCK) == map::POPULATE {
            // mm_populate: failures are not reported by mmap.
            let _ = self.populate_range(id, start, end, tlb);
        }
        Ok(start)
    }

    /// Locked pages of a space (mm->locked_vm).
    pub(crate) fn locked_pages(&self, id: AsId) -> u64 {
        self.spaces.get(&id).map_or(0, |s| s.locked_vm())
    }

    /// __get_unmapped_area for x86-64 with top-down allocation
    /// (arch_get_unmapped_area_topdown): a hint is taken when the range is
    /// free up to the next VMA's vm_start_gap (a growing stack keeps
    /// stack_guard_gap free below it); otherwise the highest gap below the
    /// mmap base that fits, searched from mmap_min_addr, as
    /// unmapped_area_topdown does; bottom-up from TASK_UNMAPPED_BASE if none.
    pub(crate) fn get_unmapped_area(&self, id: AsId, addr: u64, len: u64, flags: u64, _shared_anon: bool) -> SysResult<VirtAddr> {
        if len > TASK_SIZE {
            return Err(Errno::ENOMEM);
        }
        let space = self.spaces.get(&id).ok_or(Errno::ESRCH)?;
        let limits = &self.config.limits;
        let chosen = if flags & map::FIXED != 0 {
            addr
        } else {
            let hint_ok = addr != 0
                && TASK_SIZE - len >= addr
                && space.vmas.find_from(VirtAddr::new(addr)).is_none_or(|v| addr + len <= v.start_gap());
            if hint_ok {
                addr
            } else {
                let low = PAGE_SIZE.max(limits.mmap_min_addr);
                let high = space.mmap_base.as_u64();
                match space.vmas.gap_topdown(len, low, high) {
                    Some(a) => a.as_u64(),
                    // Bottom-up fallback from TASK_UNMAPPED_BASE (TASK_SIZE / 3).
                    None => space
                        .vmas
                        .gap_bottomup(len, ((TASK_SIZE / 3) & !(PAGE_SIZE - 1)).max(low), TASK_SIZE)
                        .ok_or(Errno::ENOMEM)?
                        .as_u64(),
                }
            }
        };
        if chosen > TASK_SIZE - len {
            return Err(Errno::ENOMEM);
        }
        if chosen % PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        // security_mmap_addr -> cap_mmap_addr: below vm.mmap_min_addr
        // without CAP_SYS_RAWIO.
        if chosen < limits.dac_mmap_min_addr {
            return Err(Errno::EPERM);
        }
        Ok(VirtAddr::new(chosen))
    }
}
