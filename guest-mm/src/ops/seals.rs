//! memfd seals: F_ADD_SEALS and what each seal refuses (mm/memfd.c
//! memfd_add_seals, mm/shmem.c shmem_write_begin/shmem_setattr/
//! shmem_fallocate, mm/memfd.c memfd_check_seals_mmap).
//!
//! Invariant: a write seal (F_SEAL_WRITE or F_SEAL_FUTURE_WRITE) and a
//! shared mapping that may write (VM_SHARED with VM_MAYWRITE) never coexist
//! for F_SEAL_WRITE: adding it is EBUSY while one exists, and a shared
//! mapping made after either seal loses VM_MAYWRITE.

use super::super::engine::Engine;
use crate::errno::{Errno, SysResult};
use crate::memory::PhysMemory;
use crate::objects::ObjectId;
use crate::vma::{Backing, VmFlags};
use linux_abi::fcntl::{F_ALL_SEALS, F_SEAL_EXEC, F_SEAL_FUTURE_WRITE, F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE};

/// Whether `seals` forbid writes (is_write_sealed).
pub fn write_sealed(seals: u32) -> bool {
    seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0
}

impl<M: PhysMemory> Engine<M> {
    /// The object's seals.
    pub fn seals(&self, obj: ObjectId) -> Option<u32> {
        self.objects.get(obj).map(|o| o.seals)
    }

    /// Makes a new memfd sealable (MFD_ALLOW_SEALING): no seals yet.
    pub fn allow_sealing(&mut self, obj: ObjectId) {
        if let Some(o) = self.objects.get_mut(obj) {
            o.seals = 0;
        }
    }

    /// The seals themselves, for memfd_create's starting set.
    pub fn object_mut_seals(&mut self, obj: ObjectId) -> Option<&mut u32> {
        self.objects.get_mut(obj).map(|o| &mut o.seals)
    }

    /// memfd_add_seals after the open-mode check: EINVAL for unknown bits,
    /// EPERM once F_SEAL_SEAL is set, EBUSY for F_SEAL_WRITE while a shared
    /// mapping may still write. F_SEAL_EXEC on an executable memfd implies
    /// the write, shrink and grow seals.
    pub fn add_seals(&mut self, obj: ObjectId, seals: u32) -> SysResult<()> {
        if seals & !F_ALL_SEALS != 0 {
            return Err(Errno::EINVAL);
        }
        let cur = self.objects.get(obj).ok_or(Errno::EINVAL)?.seals;
        if cur & F_SEAL_SEAL != 0 {
            return Err(Errno::EPERM);
        }
        if seals & F_SEAL_WRITE != 0 && cur & F_SEAL_WRITE == 0 && self.has_writable_shared_mapping(obj) {
            return Err(Errno::EBUSY);
        }
        // memfds are created mode 0777, so F_SEAL_EXEC always implies them.
        let add = if seals & F_SEAL_EXEC != 0 { seals | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE } else { seals };
        self.objects.get_mut(obj).expect("checked").seals |= add;
        Ok(())
    }

    /// mapping_deny_writable: any VMA of any space that shares `obj` and may write.
    fn has_writable_shared_mapping(&self, obj: ObjectId) -> bool {
        self.spaces
            .values()
            .any(|s| s.vmas.iter().any(|v| v.backing == Backing::Object(obj) && v.flags.contains(VmFlags::SHARED | VmFlags::MAYWRITE)))
    }

    /// shmem_write_begin: EPERM under a write seal, or where F_SEAL_GROW
    /// stops a write past the end; the bytes a write may take at `offset`.
    pub(crate) fn seal_write_room(&self, obj: ObjectId, offset: u64, len: usize) -> SysResult<usize> {
        let Some(o) = self.objects.get(obj) else { return Ok(len) };
        if write_sealed(o.seals) {
            return Err(Errno::EPERM);
        }
        if o.seals & F_SEAL_GROW != 0 && offset.saturating_add(len as u64) > o.size {
            let room = o.size.saturating_sub(offset) as usize;
            return if room == 0 { Err(Errno::EPERM) } else { Ok(room.min(len)) };
        }
        Ok(len)
    }

    /// shmem_setattr: F_SEAL_SHRINK and F_SEAL_GROW refuse a size change.
    pub(crate) fn seal_check_resize(&self, obj: ObjectId, size: u64) -> SysResult<()> {
        let Some(o) = self.objects.get(obj) else { return Ok(()) };
        if (size < o.size && o.seals & F_SEAL_SHRINK != 0) || (size > o.size && o.seals & F_SEAL_GROW != 0) {
            return Err(Errno::EPERM);
        }
        Ok(())
    }
}
