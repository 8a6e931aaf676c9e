//! Resource limits of an address space and the accounting that checks them.
//!
//! Owns `Rlimits` (RLIMIT_STACK, RLIMIT_DATA, RLIMIT_MEMLOCK and RLIMIT_AS in
//! bytes, soft and hard, `RLIM_INFINITY` = u64::MAX), which every space has
//! from its creation (the engine configuration's defaults), keeps through
//! fork and changes only through `Engine::set_rlimits` (what the kernel's
//! setrlimit/prlimit64 call), and the checks Linux makes against them:
//! - may_expand_vm (mm/mmap.c): RLIMIT_AS on total_vm; RLIMIT_DATA on
//!   data_vm for private writable non-stack mappings (is_data_mapping), with
//!   the special case for a soft limit of 0 (allowed up to the hard limit)
//!   and with ignore_rlimit_data off (the default);
//! - mlock_future_ok (mm/mmap.c): RLIMIT_MEMLOCK on locked_vm for VM_LOCKED
//!   (the guest is unprivileged: no CAP_IPC_LOCK);
//! - check_data_rlimit (include/linux/mm.h): brk's RLIMIT_DATA test.
//!
//! Linux keeps total_vm, data_vm and locked_vm as counters updated by every
//! operation through vm_stat_account; the engine derives them from the VMAs,
//! which gives the same numbers (every flag change that moves a VMA between
//! the classes goes through the VMA tree). Deriving costs a walk over the
//! VMAs, so the checks skip it when the limit is infinite and cannot fail.

use crate::addr::PAGE_SHIFT;
use crate::engine::Engine;
use crate::errno::Errno;
use crate::memory::PhysMemory;
use crate::space::{AddressSpace, AsId};
use crate::vma::VmFlags;

pub use linux_abi::resource::{Rlimit, RLIM_INFINITY};

/// The memory resource limits of an address space (Linux keeps them in the
/// process's signal struct; one engine space is one process here).
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rlimits {
    /// RLIMIT_STACK: how large a growing stack VMA may become; it also
    /// decides the mmap base of a new space.
    #[serde(with = "serde_rlimit")]
    pub stack: Rlimit,
    /// RLIMIT_DATA: private writable non-stack memory, and brk.
    #[serde(with = "serde_rlimit")]
    pub data: Rlimit,
    /// RLIMIT_MEMLOCK: locked memory.
    #[serde(with = "serde_rlimit")]
    pub memlock: Rlimit,
    /// RLIMIT_AS: all mapped memory.
    #[serde(with = "serde_rlimit")]
    pub address_space: Rlimit,
}

/// Serde for linux-abi's `Rlimit` as a (soft, hard) pair: linux-abi stays
/// free of serde, which would otherwise reach the no_std guest through
/// feature unification in workspace-wide builds.
pub mod serde_rlimit {
    use super::Rlimit;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(r: &Rlimit, s: S) -> Result<S::Ok, S::Error> {
        (r.cur, r.max).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Rlimit, D::Error> {
        let (cur, max) = <(u64, u64)>::deserialize(d)?;
        Ok(Rlimit { cur, max })
    }

    /// The same for a process's whole table of limits.
    pub mod array {
        use super::Rlimit;
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        pub fn serialize<S: Serializer, const N: usize>(r: &[Rlimit; N], s: S) -> Result<S::Ok, S::Error> {
            let pairs: Vec<(u64, u64)> = r.iter().map(|l| (l.cur, l.max)).collect();
            pairs.serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[Rlimit; N], D::Error> {
            let pairs = Vec::<(u64, u64)>::deserialize(d)?;
            let n = pairs.len();
            let limits: Vec<Rlimit> = pairs.into_iter().map(|(cur, max)| Rlimit { cur, max }).collect();
            limits.try_into().map_err(|_| serde::de::Error::invalid_length(n, &"one pair per resource"))
        }
    }
}

impl Default for Rlimits {
    /// Linux's defaults for a process started by init (include/asm-generic/resource.h
    /// INIT_RLIMITS, with the 8 MiB stack and memlock soft limits this host runs with).
    fn default() -> Self {
        Rlimits {
            stack: Rlimit::soft(8 << 20),
            data: Rlimit::INFINITY,
            memlock: Rlimit { cur: 8 << 20, max: 8 << 20 },
            address_space: Rlimit::INFINITY,
        }
    }
}

/// Linux's is_data_mapping: private writable, not a stack.
pub fn is_data_mapping(f: VmFlags) -> bool {
    f & (VmFlags::WRITE | VmFlags::SHARED | VmFlags::GROWSDOWN) == VmFlags::WRITE
}

impl AddressSpace {
    /// mm->total_vm in pages.
    pub fn total_vm(&self) -> u64 {
        self.vmas.iter().map(|v| v.pages()).sum()
    }

    /// mm->data_vm in pages.
    pub fn data_vm(&self) -> u64 {
        self.vmas.iter().filter(|v| is_data_mapping(v.flags)).map(|v| v.pages()).sum()
    }

    /// mm->locked_vm in pages.
    pub fn locked_vm(&self) -> u64 {
        self.vmas.iter().filter(|v| v.flags.contains(VmFlags::LOCKED)).map(|v| v.pages()).sum()
    }

    /// The space's resource limits.
    pub fn rlimits(&self) -> &Rlimits {
        &self.rlimits
    }

    /// may_expand_vm: may `npages` more pages with `flags` be mapped?
    pub(crate) fn may_expand_vm(&self, flags: VmFlags, npages: u64) -> bool {
        let as_limit = self.rlimits.address_space.cur >> PAGE_SHIFT;
        if self.rlimits.address_space.cur != RLIM_INFINITY && self.total_vm().saturating_add(npages) > as_limit {
            return false;
        }
        let data = self.rlimits.data;
        if is_data_mapping(flags) && data.cur != RLIM_INFINITY {
            let want = self.data_vm().saturating_add(npages);
            if want > data.cur >> PAGE_SHIFT {
                // The workaround for Valgrind: a soft limit of 0 lets data
                // mappings grow up to the hard limit.
                if data.cur == 0 && want <= data.max >> PAGE_SHIFT {
                    return true;
                }
                // ignore_rlimit_data is off.
                return false;
            }
        }
        true
    }

    /// mlock_future_ok: may `bytes` more be locked if `flags` has VM_LOCKED?
    pub(crate) fn mlock_future_ok(&self, flags: VmFlags, bytes: u64) -> bool {
        if !flags.contains(VmFlags::LOCKED) {
            return true;
        }
        let locked = (bytes >> PAGE_SHIFT).saturating_add(self.locked_vm());
        locked <= self.rlimits.memlock.cur >> PAGE_SHIFT
    }
}

/// check_data_rlimit: may the heap end at `new` (brk's RLIMIT_DATA test)?
pub(crate) fn check_data_rlimit(rlim: u64, new: u64, start: u64, end_data: u64, start_data: u64) -> Result<(), Errno> {
    if rlim < RLIM_INFINITY && new.wrapping_sub(start).wrapping_add(end_data.wrapping_sub(start_data)) > rlim {
        return Err(Errno::ENOSPC);
    }
    Ok(())
}

impl<M: PhysMemory> Engine<M> {
    /// Sets the resource limits of a space (the kernel's setrlimit and
    /// prlimit64 decide what is allowed; the engine enforces what it gets
    /// from the next operation on). Existing mappings are never taken away.
    pub fn set_rlimits(&mut self, id: AsId, rlimits: Rlimits) -> Result<(), Errno> {
        let space = self.spaces.get_mut(&id).ok_or(Errno::ESRCH)?;
        space.rlimits = rlimits;
        Ok(())
    }

    /// The resource limits of a space.
    pub fn rlimits(&self, id: AsId) -> Option<Rlimits> {
        self.spaces.get(&id).map(|s| s.rlimits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_mappings_are_private_writable_and_not_stacks() {
        assert!(is_data_mapping(VmFlags::READ | VmFlags::WRITE));
        assert!(!is_data_mapping(VmFlags::WRITE | VmFlags::SHARED));
        assert!(!is_data_mapping(VmFlags::WRITE | VmFlags::GROWSDOWN));
        assert!(!is_data_mapping(VmFlags::READ));
    }

    #[test]
    fn brk_data_limit_counts_the_heap_and_the_data_segment() {
        assert_eq!(check_data_rlimit(RLIM_INFINITY, u64::MAX, 0, 10, 0), Ok(()));
        assert_eq!(check_data_rlimit(0x3000, 0x3000, 0x1000, 0x1000, 0), Ok(()));
        assert_eq!(check_data_rlimit(0x3000, 0x3001, 0x1000, 0x1000, 0), Err(Errno::ENOSPC));
        assert_eq!(check_data_rlimit(0x3000, 0x3001, 0x1000, 0x1000, 0x800), Ok(()));
    }
}
