//! Overcommit accounting: whether a new private writable (or shared
//! anonymous) mapping may be charged against memory.
//!
//! Mirrors mm/util.c __vm_enough_memory in Linux's default mode
//! (vm.overcommit_memory = 0, OVERCOMMIT_GUESS): a single request of more
//! pages than the machine's RAM plus swap is refused with ENOMEM; anything
//! smaller is allowed, however much is already committed. The machine is
//! the guest: its RAM is the engine's frame pool and it has no swap. The
//! callers are Linux's: mmap_region and shmem setup (accountable mappings),
//! do_brk_flags, mremap growth of a VM_ACCOUNT VMA, mprotect making a
//! private mapping writable, and stack growth.

use crate::engine::Engine;
use crate::errno::{Errno, SysResult};
use crate::memory::PhysMemory;

impl<M: PhysMemory> Engine<M> {
    /// security_vm_enough_memory_mm for `pages` pages.
    pub(crate) fn vm_enough_memory(&self, pages: u64) -> SysResult<()> {
        if pages > self.config.pool_frames {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }
}
