//! remap_file_pages(2): Linux's emulation, or true nonlinear remapping.
//!
//! Two paths, chosen by the VMA at `start` (docs/nonlinear.md says why):
//! - Without our opt-in (every mapping Linux can create): mirrors Linux 4.0+
//!   mm/mmap.c SYSCALL_DEFINE5(remap_file_pages) exactly: prot must be 0;
//!   start and size are rounded down to pages; an empty or wrapping range or a
//!   wrapping pgoff is EINVAL; the VMA at start must be VM_SHARED; the range
//!   may run over following VMAs only if they are contiguous, of the same
//!   object and with identical flags; then do_mmap(MAP_SHARED | MAP_FIXED |
//!   MAP_POPULATE [| MAP_NONBLOCK from flags] [| MAP_LOCKED if VM_LOCKED]) with
//!   the VMA's protection at `pgoff`, so the range becomes its own VMA (and
//!   merges where do_mmap merges), exactly as the host kernel shows it.
//! - In a VMA mapped with our MAP_PAGEPROT (VM_NONLINEAR): the range stays
//!   part of the one VMA; each entry records its page offset and protection
//!   (`prot` != 0 sets it, 0 takes the VMA's). Pages already in the page cache
//!   are mapped at once (what the old populate_range did); others get an
//!   offset marker and fault in later. Extra checks: the range must lie in
//!   the VMA (EINVAL), offsets must fit a marker (EINVAL, as the old
//!   PTE_FILE_MAX_BITS check), `prot` may hold only PROT_READ/WRITE/EXEC
//!   (EINVAL) and only rights the VMA's VM_MAY* bits allow (EACCES, as
//!   mprotect).

use super::{is_nonlinear, mapped_entry, offset_marker, vma_prot};
use crate::addr::{VirtAddr, PAGE_SIZE};
use crate::engine::Engine;
use crate::errno::{Errno, SysResult};
use crate::memory::PhysMemory;
use crate::ops::map;
use crate::ops::mmap::{MapFile, MmapArgs};
use crate::paging::pte::MAX_MARKER_PGOFF;
use crate::paging::{MarkerKind, Outcome, PteUpdates};
use crate::space::AsId;
use crate::vma::{Prot, VmFlags, Vma};

/// x86-64 system call number.
pub const SYS_REMAP_FILE_PAGES: u64 = linux_abi::sysno::REMAP_FILE_PAGES;

impl<M: PhysMemory> Engine<M> {
    /// remap_file_pages(2).
    pub fn remap_file_pages(&mut self, id: AsId, start: u64, size: u64, prot: u64, pgoff: u64, flags: u64) -> Outcome<SysResult<()>> {
        let mut tlb = PteUpdates::new();
        let r = self.do_remap_file_pages(id, start, size, prot, pgoff, flags, &mut tlb);
        Outcome::new(r, tlb)
    }

    #[allow(clippy::too_many_arguments)]
    fn do_remap_file_pages(
        &mut self,
        id: AsId,
        start: u64,
        size: u64,
        prot: u64,
        pgoff: u64,
        flags: u64,
        tlb: &mut PteUpdates,
    ) -> SysResult<()> {
        let start = start & !(PAGE_SIZE - 1);
        let size = size & !(PAGE_SIZE - 1);
        let end = start.wrapping_add(size);
        // Every early check is EINVAL in Linux, so their order is not observable.
        if end <= start {
            return Err(Errno::EINVAL);
        }
        let pages = size / PAGE_SIZE;
        if pgoff.checked_add(pages).is_none() {
            return Err(Errno::EINVAL);
        }
        let space = self.spaces.get(&id).ok_or(Errno::ESRCH)?;
        let vma = match space.vmas.find(VirtAddr::new(start)) {
            Some(v) if v.flags.contains(VmFlags::SHARED) => v.clone(),
            _ => return Err(Errno::EINVAL),
        };
        if is_nonlinear(&vma) {
            return self.remap_nonlinear(id, &vma, VirtAddr::new(start), VirtAddr::new(end), prot, pgoff, tlb);
        }
        if prot != 0 {
            return Err(Errno::EINVAL);
        }
        self.remap_emulated(id, &vma, start, size, pgoff, flags, tlb)
    }

    /// Linux 4.0+'s emulation: a MAP_FIXED do_mmap of the range.
    #[allow(clippy::too_many_arguments)]
    fn remap_emulated(
        &mut self,
        id: AsId,
        vma: &Vma,
        start: u64,
        size: u64,
        pgoff: u64,
        flags: u64,
        tlb: &mut PteUpdates,
    ) -> SysResult<()> {
        let obj = vma.object().ok_or(Errno::EINVAL)?;
        let end = VirtAddr::new(start + size);
        if end > vma.end {
            // The range may continue over identical, contiguous VMAs.
            let space = &self.spaces[&id];
            let mut prev_end = vma.end;
            let mut covered = false;
            for next in space.vmas.overlapping(vma.end, end) {
                if next.start != prev_end || next.backing != vma.backing || next.flags != vma.flags {
                    return Err(Errno::EINVAL);
                }
                if end <= next.end {
                    covered = true;
                    break;
                }
                prev_end = next.end;
            }
            if !covered {
                return Err(Errno::EINVAL);
            }
        }
        let prot = Prot::from_vm(vma.flags);
        let mut mflags = (flags & map::NONBLOCK) | map::SHARED | map::FIXED | map::POPULATE;
        if vma.flags.contains(VmFlags::LOCKED) {
            mflags |= map::LOCKED;
        }
        // The VMA held the file open (get_file): keep the object alive while
        // do_mmap unmaps the range it is about to map again.
        self.hold_object(obj).map_err(|_| Errno::EINVAL)?;
        let args = MmapArgs {
            addr: start,
            len: size,
            prot: prot.bits(),
            flags: mflags,
            file: MapFile::Open { obj, read: true, write: true },
            offset: 0,
        };
        let r = self.do_mmap_pgoff(id, args, pgoff, tlb);
        let _ = self.put_object(obj);
        r.map(|_| ())
    }

    /// True nonlinear remapping inside one VM_NONLINEAR VMA.
    #[allow(clippy::too_many_arguments)]
    fn remap_nonlinear(
        &mut self,
        id: AsId,
        vma: &Vma,
        start: VirtAddr,
        end: VirtAddr,
        prot: u64,
        pgoff: u64,
        tlb: &mut PteUpdates,
    ) -> SysResult<()> {
        let all = Prot::READ | Prot::WRITE | Prot::EXEC;
        if prot & !all.bits() != 0 || end > vma.end {
            return Err(Errno::EINVAL);
        }
        let pages = end.distance_from(start) / PAGE_SIZE;
        if pgoff + pages - 1 > MAX_MARKER_PGOFF {
            return Err(Errno::EINVAL);
        }
        let page_prot = if prot == 0 { vma_prot(vma) } else { Prot::from_bits_truncate(prot) };
        let may = Prot::from_vm(VmFlags::from_bits_truncate((vma.flags.bits() >> 4) & VmFlags::ACCESS.bits()));
        if !page_prot.difference(may).is_empty() {
            return Err(Errno::EACCES);
        }
        let obj = vma.object().ok_or(Errno::EINVAL)?;
        let (size_pages, revoked) = self.objects.get(obj).map_or((0, true), |o| (o.size_pages(), o.is_revoked()));
        let mut va = start;
        let mut index = pgoff;
        while va < end {
            let cached = if revoked || index >= size_pages {
                None
            } else {
                self.objects.get(obj).and_then(|o| o.cached(index).or_else(|| o.device_frame(index)))
            };
            let new = match cached {
                Some(f) => mapped_entry(vma, f, page_prot),
                None => offset_marker(MarkerKind::OffsetOnly, index, page_prot),
            };
            self.set_entry(id, va, new, tlb).map_err(|_| Errno::ENOMEM)?;
            va = va.add(PAGE_SIZE);
            index += 1;
        }
        Ok(())
    }
}
