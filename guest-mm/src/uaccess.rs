//! Access to a process's memory from the host: copy_from_user / copy_to_user
//! for syscall arguments, and access_process_vm for the process layer
//! (signal frames, the initial stack, ELF bss).
//!
//! Mirrors mm/gup.c semantics: each page is faulted in through the normal
//! fault path, with the same permission checks a guest access would get, so
//! a syscall can never read or write what the process could not (seed 001:
//! access to another address space obeys the same rules). A page that cannot
//! be faulted makes the whole access fail with EFAULT.

use crate::addr::{VirtAddr, PAGE_SIZE};
use crate::engine::Engine;
use crate::errno::{Errno, SysResult};
use crate::fault::{AccessKind, FaultError, PageFault};
use crate::memory::PhysMemory;
use crate::paging::{Outcome, PteFlags, PteUpdates};
use crate::space::AsId;

impl<M: PhysMemory> Engine<M> {
    /// Translates `va` for `write` access, faulting the page in if needed.
    /// Returns the guest-physical address of the byte.
    fn user_phys(&mut self, id: AsId, va: VirtAddr, write: bool, tlb: &mut PteUpdates) -> SysResult<crate::addr::PhysAddr> {
        for _ in 0..3 {
            let space = self.spaces.get(&id).ok_or(Errno::ESRCH)?;
            let pte = space.tables.get(va.align_down());
            let usable = pte.is_present() && pte.flags().contains(PteFlags::USER) && (!write || pte.flags().contains(PteFlags::WRITABLE));
            if usable {
                let f = pte.frame().expect("present entries map a frame");
                return Ok(f.start().add(va.page_offset()));
            }
            let access = if write { AccessKind::Write } else { AccessKind::Read };
            match self.fault_in(id, PageFault { addr: va, access, present: pte.is_present() }, tlb) {
                Ok(_) => {}
                Err(FaultError::Signal(_)) => return Err(Errno::EFAULT),
                Err(FaultError::OutOfMemory(_)) => return Err(Errno::ENOMEM),
                Err(_) => return Err(Errno::EFAULT),
            }
        }
        Err(Errno::EFAULT)
    }

    /// Reads `buf.len()` bytes of the process's memory at `va`.
    pub fn read_user(&mut self, id: AsId, va: VirtAddr, buf: &mut [u8]) -> Outcome<SysResult<()>> {
        let mut tlb = PteUpdates::new();
        let r = self.copy_user(id, va, buf.len(), false, &mut tlb, |mem, pa, off, n| {
            mem.read(pa, &mut buf[off..off + n]).map_err(|_| Errno::EFAULT)
        });
        Outcome::new(r, tlb)
    }

    /// Writes `data` into the process's memory at `va` (with COW breaks).
    pub fn write_user(&mut self, id: AsId, va: VirtAddr, data: &[u8]) -> Outcome<SysResult<()>> {
        let mut tlb = PteUpdates::new();
        let r = self
            .copy_user(id, va, data.len(), true, &mut tlb, |mem, pa, off, n| mem.write(pa, &data[off..off + n]).map_err(|_| Errno::EFAULT));
        Outcome::new(r, tlb)
    }

    fn copy_user(
        &mut self,
        id: AsId,
        va: VirtAddr,
        len: usize,
        write: bool,
        tlb: &mut PteUpdates,
        mut op: impl FnMut(&M, crate::addr::PhysAddr, usize, usize) -> SysResult<()>,
    ) -> SysResult<()> {
        let end = va.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        if end.as_u64() > crate::addr::TASK_SIZE {
            return Err(Errno::EFAULT);
        }
        let mut at = va;
        let mut off = 0usize;
        while at < end {
            let n = ((PAGE_SIZE - at.page_offset()) as usize).min(len - off);
            let pa = self.user_phys(id, at, write, tlb)?;
            op(&self.mem, pa, off, n)?;
            off += n;
            at = at.add(n as u64);
        }
        Ok(())
    }
}
