//! Access to a process's memory from the host: copy_from_user / copy_to_user
//! for syscall arguments, and access_process_vm for the process layer
//! (signal frames, the initial stack, ELF bss).
//!
//! Mirrors mm/gup.c semantics: each page is faulted in through the normal
//! fault path, with the same permission checks a guest access would get, so
//! a syscall can never read or write what the process could not (seed 001:
//! access to another address space obeys the same rules). A range beyond the
//! user address space fails at once (access_ok); otherwise pages are copied
//! in order and the copy stops at the first page that cannot be faulted in:
//! `read_user`/`write_user` then fail with EFAULT, while the `_prefix`
//! variants report how much was copied, for the syscalls that return a short
//! count as Linux's read and write do (copy_from_iter/copy_to_iter).

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
        Outcome::new(r.map_err(|(_, e)| e), tlb)
    }

    /// Reads as much of `buf.len()` bytes at `va` as can be read in order:
    /// the count copied, and the error that stopped it early (if any).
    pub fn read_user_prefix(&mut self, id: AsId, va: VirtAddr, buf: &mut [u8]) -> Outcome<(usize, Option<Errno>)> {
        let mut tlb = PteUpdates::new();
        let len = buf.len();
        let r =
            self.copy_user(id, va, len, false, &mut tlb, |mem, pa, off, n| mem.read(pa, &mut buf[off..off + n]).map_err(|_| Errno::EFAULT));
        Outcome::new(prefix(r, len), tlb)
    }

    /// Writes as much of `data` at `va` as can be written in order: the
    /// count copied, and the error that stopped it early (if any).
    pub fn write_user_prefix(&mut self, id: AsId, va: VirtAddr, data: &[u8]) -> Outcome<(usize, Option<Errno>)> {
        let mut tlb = PteUpdates::new();
        let r = self
            .copy_user(id, va, data.len(), true, &mut tlb, |mem, pa, off, n| mem.write(pa, &data[off..off + n]).map_err(|_| Errno::EFAULT));
        Outcome::new(prefix(r, data.len()), tlb)
    }

    /// Writes `data` into the process's memory at `va` (with COW breaks).
    pub fn write_user(&mut self, id: AsId, va: VirtAddr, data: &[u8]) -> Outcome<SysResult<()>> {
        let mut tlb = PteUpdates::new();
        let r = self
            .copy_user(id, va, data.len(), true, &mut tlb, |mem, pa, off, n| mem.write(pa, &data[off..off + n]).map_err(|_| Errno::EFAULT));
        Outcome::new(r.map_err(|(_, e)| e), tlb)
    }

    /// Copies page by page; on failure, how many bytes were done before it.
    fn copy_user(
        &mut self,
        id: AsId,
        va: VirtAddr,
        len: usize,
        write: bool,
        tlb: &mut PteUpdates,
        mut op: impl FnMut(&M, crate::addr::PhysAddr, usize, usize) -> SysResult<()>,
    ) -> Result<(), (usize, Errno)> {
        let end = va.checked_add(len as u64).ok_or((0, Errno::EFAULT))?;
        if end.as_u64() > crate::addr::TASK_SIZE {
            return Err((0, Errno::EFAULT));
        }
        let mut at = va;
        let mut off = 0usize;
        while at < end {
            let n = ((PAGE_SIZE - at.page_offset()) as usize).min(len - off);
            let pa = self.user_phys(id, at, write, tlb).map_err(|e| (off, e))?;
            op(&self.mem, pa, off, n).map_err(|e| (off, e))?;
            off += n;
            at = at.add(n as u64);
        }
        Ok(())
    }
}

/// A copy's outcome as (bytes copied, the error that stopped it).
fn prefix(r: Result<(), (usize, Errno)>, len: usize) -> (usize, Option<Errno>) {
    match r {
        Ok(()) => (len, None),
        Err((done, e)) => (done, Some(e)),
    }
}
