//! msync: writing back shared file mappings.
//!
//! Mirrors mm/msync.c SYSCALL_DEFINE3(msync): unknown flags, an unaligned
//! start, and MS_ASYNC with MS_SYNC are EINVAL (flags is a C `int`: only its
//! low 32 bits count); the length is rounded up to pages with the kernel's
//! wrap (a length that rounds to 0 is 0), an end that wraps is ENOMEM; then
//! VMA by VMA: a hole is skipped and reported as ENOMEM at the end (at once,
//! with nothing done, when the flags are exactly MS_ASYNC); MS_INVALIDATE on
//! a VM_LOCKED VMA is EBUSY; MS_SYNC on a shared file mapping writes the
//! range's dirty page-cache pages back (vfs_fsync_range; the engine's
//! writeback is reclaim.rs's), a no-op for shmem, as shmem_fsync is. No
//! entry changes (the engine tells dirty pages by their bytes, not by
//! write-protecting them as page_mkclean does).

use crate::addr::{VirtAddr, PAGE_SIZE};
use crate::engine::Engine;
use crate::errno::{Errno, SysResult};
use crate::memory::PhysMemory;
use crate::paging::{Outcome, PteUpdates};
use crate::space::AsId;
use crate::vma::VmFlags;

pub const MS_ASYNC: u64 = 1;
pub const MS_INVALIDATE: u64 = 2;
pub const MS_SYNC: u64 = 4;

impl<M: PhysMemory> Engine<M> {
    /// msync(2).
    pub fn msync(&mut self, id: AsId, start: u64, len: u64, flags: u64) -> Outcome<SysResult<()>> {
        Outcome::new(self.do_msync(id, start, len, flags), PteUpdates::new())
    }

    fn do_msync(&mut self, id: AsId, start: u64, len: u64, flags: u64) -> SysResult<()> {
        let flags = flags & 0xffff_ffff;
        if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0 || !start.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        if flags & MS_ASYNC != 0 && flags & MS_SYNC != 0 {
            return Err(Errno::EINVAL);
        }
        let len = len.wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
        let end = start.checked_add(len).ok_or(Errno::ENOMEM)?;
        if end == start {
            return Ok(());
        }
        let mut unmapped = false;
        let mut at = start;
        loop {
            let space = self.spaces.get(&id).ok_or(Errno::ESRCH)?;
            let Some(vma) = space.vmas.find_from(VirtAddr::new(at)).cloned() else {
                return Err(Errno::ENOMEM);
            };
            if at < vma.start.as_u64() {
                if flags == MS_ASYNC {
                    return Err(Errno::ENOMEM);
                }
                at = vma.start.as_u64();
                if at >= end {
                    return Err(Errno::ENOMEM);
                }
                unmapped = true;
            }
            if flags & MS_INVALIDATE != 0 && vma.flags.contains(VmFlags::LOCKED) {
                return Err(Errno::EBUSY);
            }
            let stop = vma.end.as_u64().min(end);
            if flags & MS_SYNC != 0 && vma.flags.contains(VmFlags::SHARED) {
                if let Some(obj) = vma.object() {
                    // A nonlinear VMA's pages lie anywhere in the object.
                    let (first, last) = if crate::nonlinear::is_nonlinear(&vma) {
                        (0, u64::MAX)
                    } else {
                        (vma.pgoff_of(VirtAddr::new(at)), vma.pgoff_of(VirtAddr::new(stop - PAGE_SIZE)))
                    };
                    self.writeback_range(obj, first, last);
                }
            }
            at = vma.end.as_u64();
            if at >= end {
                break;
            }
        }
        if unmapped {
            Err(Errno::ENOMEM)
        } else {
            Ok(())
        }
    }
}
