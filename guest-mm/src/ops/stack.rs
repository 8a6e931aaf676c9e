//! Stacks that grow: the main thread's stack as exec leaves it, and the
//! growth of any VM_GROWSDOWN VMA (it or a user MAP_GROWSDOWN mapping) on a
//! fault below it.
//!
//! Mirrors mm/mmap.c expand_downwards and acct_stack_growth, mm/memory.c
//! lock_mm_and_find_vma (a fault in no VMA grows the VMA above it if that is
//! VM_GROWSDOWN; when growth is refused the fault is SIGSEGV/SEGV_MAPERR),
//! and fs/exec.c __bprm_mm_init + setup_arg_pages (the stack VMA's flags,
//! pgoff and its initial size: the argument pages plus 128 KiB, within
//! RLIMIT_STACK). Growth is refused below mmap_min_addr (EPERM), within
//! stack_guard_gap of an accessible VMA below that is not itself a stack,
//! beyond RLIMIT_STACK, RLIMIT_AS/RLIMIT_DATA (may_expand_vm) and
//! RLIMIT_MEMLOCK for a VM_LOCKED stack (all ENOMEM). As in Linux the VMA
//! gets an anon_vma as soon as the guard-gap test passes, even if the
//! accounting then refuses the growth. Placement keeps the guard gap free
//! (`Vma::start_gap`, used by get_unmapped_area and the gap searches).

use crate::addr::{VirtAddr, PAGE_SIZE, TASK_SIZE};
use crate::engine::Engine;
use crate::errno::{Errno, SysResult};
use crate::memory::PhysMemory;
use crate::paging::{Outcome, PteUpdates};
use crate::space::AsId;
use crate::vma::{Backing, VmFlags, Vma};

pub use crate::vma::STACK_GUARD_GAP;

/// What setup_arg_pages adds below the argument pages (fs/exec.c: "randomly
/// 32*4k (or 2*64k) pages").
pub const STACK_EXPAND: u64 = 128 << 10;

/// _STK_LIM: the default RLIMIT_STACK, whose 3/4 caps the argument pages.
const STK_LIM: u64 = 8 << 20;

/// ARG_MAX: the argument pages may always use this much (32 pages).
const ARG_MAX: u64 = 32 * PAGE_SIZE;

/// VM_STACK_FLAGS on x86-64 without READ_IMPLIES_EXEC: VM_GROWSDOWN,
/// VM_DATA_DEFAULT_FLAGS and VM_ACCOUNT.
pub const VM_STACK_FLAGS: VmFlags = VmFlags::GROWSDOWN
    .union(VmFlags::READ)
    .union(VmFlags::WRITE)
    .union(VmFlags::MAYREAD)
    .union(VmFlags::MAYWRITE)
    .union(VmFlags::MAYEXEC)
    .union(VmFlags::ACCOUNT);

impl<M: PhysMemory> Engine<M> {
    /// Sets mm->start_stack (exec calls it with the initial stack pointer):
    /// the VMA containing it is "[stack]" in maps.
    pub fn set_start_stack(&mut self, id: AsId, addr: VirtAddr) -> Result<(), Errno> {
        self.spaces.get_mut(&id).ok_or(Errno::ESRCH)?.start_stack = addr.as_u64();
        Ok(())
    }

    /// Creates the main thread's stack VMA as Linux's exec leaves it: private
    /// anonymous, VM_STACK_FLAGS (plus VM_EXEC when the ELF's PT_GNU_STACK
    /// asks for an executable stack) and the space's def_flags, ending at
    /// `top` and covering the `used` bytes below it (the argument pages)
    /// plus 128 KiB, but no more than RLIMIT_STACK. Returns its start.
    /// Fails with E2BIG when `used` is more than the argument pages may hold
    /// (fs/exec.c bprm_stack_limits: a quarter of RLIMIT_STACK, at most 3/4
    /// of _STK_LIM, at least ARG_MAX), ENOMEM if the range is taken or
    /// would reach below mmap_min_addr, EINVAL for a bad `top`, and EFAULT
    /// (exec's answer) when the stack could not be grown to its size.
    /// No entry changes: the batch is empty.
    pub fn setup_arg_pages(&mut self, id: AsId, top: u64, used: u64, executable: bool) -> Outcome<SysResult<VirtAddr>> {
        let tlb = PteUpdates::new();
        let r = self.do_setup_arg_pages(id, top, used, executable);
        Outcome::new(r, tlb)
    }

    fn do_setup_arg_pages(&mut self, id: AsId, top: u64, used: u64, executable: bool) -> SysResult<VirtAddr> {
        if !top.is_multiple_of(PAGE_SIZE) || top > TASK_SIZE || top == 0 {
            return Err(Errno::EINVAL);
        }
        let space = self.spaces.get(&id).ok_or(Errno::ESRCH)?;
        let arg_limit = (STK_LIM / 4 * 3).min(space.rlimits.stack.cur / 4).max(ARG_MAX);
        if used > arg_limit {
            return Err(Errno::E2BIG);
        }
        // The argument pages: at least the one __bprm_mm_init starts with.
        let used_pages = used.max(1).div_ceil(PAGE_SIZE);
        let Some(start) = top.checked_sub(used_pages * PAGE_SIZE).filter(|&s| s >= self.config.limits.mmap_min_addr) else {
            return Err(Errno::ENOMEM);
        };
        // insert_vm_struct refuses an overlap.
        if space.vmas.intersects(VirtAddr::new(start), VirtAddr::new(top)) {
            return Err(Errno::ENOMEM);
        }
        self.total_vma_room(1)?;
        let mut flags = VM_STACK_FLAGS | space.def_flags;
        if executable {
            flags |= VmFlags::EXEC;
        }
        let rlim_stack = space.rlimits.stack.cur & !(PAGE_SIZE - 1);
        let stack_size = top - start;
        let expand = rlim_stack.min(stack_size + STACK_EXPAND);
        let base = top - expand.min(top);
        // The VMA as __bprm_mm_init and the argument copy leave it (its pgoff
        // is its start page, as insert_vm_struct sets for anonymous VMAs),
        // then expand_stack_locked to the base.
        let vma = Vma {
            start: VirtAddr::new(start),
            end: VirtAddr::new(top),
            flags,
            pgoff: start / PAGE_SIZE,
            backing: Backing::Anon,
            anon: None,
        };
        self.spaces.get_mut(&id).expect("checked").vmas.insert(vma);
        if base < start {
            if let Err(e) = self.expand_downwards(id, VirtAddr::new(start), VirtAddr::new(base)) {
                tracing::debug!(?e, "setup_arg_pages: the stack could not grow to its initial size");
                self.spaces.get_mut(&id).expect("checked").vmas.remove_at(VirtAddr::new(start));
                return Err(Errno::EFAULT);
            }
        }
        let got = self.spaces[&id].vmas.find(VirtAddr::new(top - PAGE_SIZE)).map_or(VirtAddr::new(start), |v| v.start);
        Ok(got)
    }

    /// lock_mm_and_find_vma for a fault at `va` in no VMA: the VMA above it,
    /// grown down to the faulting page, if it is a stack that may grow.
    pub(crate) fn grow_stack_for_fault(&mut self, id: AsId, va: VirtAddr) -> Option<Vma> {
        let next = self.spaces.get(&id)?.vmas.find_from(va)?.clone();
        if !next.flags.contains(VmFlags::GROWSDOWN) {
            return None;
        }
        self.expand_downwards(id, next.start, va).ok()?;
        self.spaces[&id].vmas.find(va).cloned()
    }

    /// expand_downwards: grows the VM_GROWSDOWN VMA starting at `vma_start`
    /// down to the page of `address`.
    pub(crate) fn expand_downwards(&mut self, id: AsId, vma_start: VirtAddr, address: VirtAddr) -> SysResult<()> {
        let space = self.spaces.get(&id).ok_or(Errno::ESRCH)?;
        let vma = space.vmas.get(vma_start).cloned().ok_or(Errno::EFAULT)?;
        if !vma.flags.contains(VmFlags::GROWSDOWN) {
            return Err(Errno::EFAULT);
        }
        let address = address.align_down().as_u64();
        if address < self.config.limits.mmap_min_addr {
            return Err(Errno::EPERM);
        }
        // Enforce stack_guard_gap against an accessible VMA below that is not
        // a stack. (A fault never lies below the previous VMA's end, which
        // find_vma guarantees; setup_arg_pages on a space that has mappings
        // could ask for that, and is refused.)
        if let Some(prev) = space.vmas.prev_of(vma.start) {
            if address < prev.end.as_u64() {
                return Err(Errno::ENOMEM);
            }
            if !prev.flags.contains(VmFlags::GROWSDOWN)
                && prev.flags.is_accessible()
                && address.saturating_sub(prev.end.as_u64()) < STACK_GUARD_GAP
            {
                return Err(Errno::ENOMEM);
            }
        }
        // "We must make sure the anon_vma is allocated."
        self.anon_vma_prepare(id, vma.start);
        if address >= vma.start.as_u64() {
            return Ok(());
        }
        let size = vma.end.as_u64() - address;
        let grow = (vma.start.as_u64() - address) / PAGE_SIZE;
        if grow > vma.pgoff {
            return Err(Errno::ENOMEM);
        }
        self.acct_stack_growth(id, &vma, size, grow)?;
        let space = self.spaces.get_mut(&id).expect("checked");
        let mut v = space.vmas.remove_at(vma.start).expect("found above");
        v.start = VirtAddr::new(address);
        v.pgoff -= grow;
        space.vmas.insert(v);
        Ok(())
    }

    /// acct_stack_growth: may the stack become `size` bytes, `grow` pages more?
    fn acct_stack_growth(&self, id: AsId, vma: &Vma, size: u64, grow: u64) -> SysResult<()> {
        let space = &self.spaces[&id];
        if !space.may_expand_vm(vma.flags, grow) {
            return Err(Errno::ENOMEM);
        }
        if size > space.rlimits.stack.cur {
            return Err(Errno::ENOMEM);
        }
        if vma.flags.contains(VmFlags::ACCOUNT) {
            self.vm_enough_memory(grow)?;
        }
        if !space.mlock_future_ok(vma.flags, grow * PAGE_SIZE) {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }
}
