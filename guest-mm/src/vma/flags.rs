//! VMA flags and protection bits, with Linux's values (include/linux/mm.h).
//!
//! The values matter beyond documentation: two VMAs merge only when their
//! flags are equal, so every flag Linux keeps (VM_ACCOUNT included) is kept.

use bitflags::bitflags;

bitflags! {
    /// `vm_flags` of a VMA.
    #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    pub struct VmFlags: u64 {
        const READ = 0x1;
        const WRITE = 0x2;
        const EXEC = 0x4;
        /// Writes reach the object and every other mapping of it.
        const SHARED = 0x8;
        const MAYREAD = 0x10;
        /// mprotect may add WRITE (cleared for MAP_SHARED of a read-only file).
        const MAYWRITE = 0x20;
        const MAYEXEC = 0x40;
        const MAYSHARE = 0x80;
        const GROWSDOWN = 0x100;
        /// Our extension (sticky, like Linux 6.19's VM_MAYBE_GUARD): guard
        /// markers may have been installed in this VMA. Fork then copies the
        /// page tables even of a VMA it would otherwise leave to refault.
        const MAYBE_GUARD = 0x800;
        /// mlock: pages are populated and stay resident.
        const LOCKED = 0x2000;
        const IO = 0x4000;
        /// MADV_SEQUENTIAL.
        const SEQ_READ = 0x8000;
        /// MADV_RANDOM.
        const RAND_READ = 0x10000;
        /// MADV_DONTFORK (or our MAP_DONTCOPY): not inherited by a forked child.
        const DONTCOPY = 0x20000;
        /// Cannot be expanded by mremap (device windows).
        const DONTEXPAND = 0x40000;
        /// mlock2(MLOCK_ONFAULT): lock pages as they are faulted.
        const LOCKONFAULT = 0x80000;
        /// Private writable memory charged to the commit limit.
        const ACCOUNT = 0x100000;
        /// MAP_NORESERVE: not charged.
        const NORESERVE = 0x200000;
        /// Our extension for seed 000: a nonlinear mapping whose entries carry
        /// their own file offset (and, if opted in, protection). The value is
        /// the one Linux used for VM_NONLINEAR before 4.0.
        const NONLINEAR = 0x800000;
        /// MADV_WIPEONFORK: the child sees zero-filled memory here.
        const WIPEONFORK = 0x2000000;
        const DONTDUMP = 0x4000000;
        /// MADV_HUGEPAGE.
        const HUGEPAGE = 0x20000000;
        /// MADV_NOHUGEPAGE (and MAP_STACK).
        const NOHUGEPAGE = 0x40000000;
        /// MADV_MERGEABLE (KSM).
        const MERGEABLE = 0x80000000;
        const PFNMAP = 0x400;
        const MIXEDMAP = 0x10000000;
        /// Our extension: per-page protection allowed (remap_file_pages prot != 0).
        const PAGEPROT = 0x100000000;
        /// mseal(2): the VMA may not be unmapped, moved, resized, reprotected
        /// or discarded (mm/mseal.c). Bit 63, Linux's VM_SEALED on 64-bit.
        const SEALED = 1 << 63;
    }
}

impl VmFlags {
    /// VM_READ | VM_WRITE | VM_EXEC.
    pub const ACCESS: VmFlags = VmFlags::READ.union(VmFlags::WRITE).union(VmFlags::EXEC);
    /// VMAs with these flags never merge (Linux's VM_SPECIAL).
    pub const SPECIAL: VmFlags = VmFlags::IO.union(VmFlags::DONTEXPAND).union(VmFlags::PFNMAP).union(VmFlags::MIXEDMAP);
    /// Flags merges ignore and carry over (sticky).
    pub const MERGE_IGNORED: VmFlags = VmFlags::MAYBE_GUARD;
    /// Flags mlock sets and munlock clears.
    pub const LOCKED_MASK: VmFlags = VmFlags::LOCKED.union(VmFlags::LOCKONFAULT);

    /// Whether any access is allowed (Linux's vma_is_accessible).
    pub fn is_accessible(self) -> bool {
        self.intersects(VmFlags::ACCESS)
    }

    /// The /proc/pid/maps permission column ("rw-p").
    pub fn perms(self) -> [u8; 4] {
        [
            if self.contains(VmFlags::READ) { b'r' } else { b'-' },
            if self.contains(VmFlags::WRITE) { b'w' } else { b'-' },
            if self.contains(VmFlags::EXEC) { b'x' } else { b'-' },
            if self.contains(VmFlags::MAYSHARE) { b's' } else { b'p' },
        ]
    }

    /// Linux's accountable_mapping(): private writable, not NORESERVE.
    pub fn is_accountable(self) -> bool {
        self & (VmFlags::NORESERVE | VmFlags::SHARED | VmFlags::WRITE) == VmFlags::WRITE
    }
}

bitflags! {
    /// The `prot` argument of mmap/mprotect (PROT_*).
    #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    pub struct Prot: u64 {
        const READ = 0x1;
        const WRITE = 0x2;
        const EXEC = 0x4;
        /// mprotect only: extend the change down to the start of a growsdown VMA.
        const GROWSDOWN = 0x0100_0000;
        /// mprotect only: extend the change up (not on x86: EINVAL there).
        const GROWSUP = 0x0200_0000;
    }
}

impl Prot {
    /// Linux's calc_vm_prot_bits.
    pub fn vm_flags(self) -> VmFlags {
        let mut f = VmFlags::empty();
        if self.contains(Prot::READ) {
            f |= VmFlags::READ;
        }
        if self.contains(Prot::WRITE) {
            f |= VmFlags::WRITE;
        }
        if self.contains(Prot::EXEC) {
            f |= VmFlags::EXEC;
        }
        f
    }

    /// PROT_READ|PROT_WRITE|PROT_EXEC bits of VM flags.
    pub fn from_vm(f: VmFlags) -> Prot {
        let mut p = Prot::empty();
        if f.contains(VmFlags::READ) {
            p |= Prot::READ;
        }
        if f.contains(VmFlags::WRITE) {
            p |= Prot::WRITE;
        }
        if f.contains(VmFlags::EXEC) {
            p |= Prot::EXEC;
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_perms_column() {
        assert_eq!(&(VmFlags::READ | VmFlags::WRITE).perms(), b"rw-p");
        assert_eq!(&(VmFlags::READ | VmFlags::MAYSHARE).perms(), b"r--s");
        assert_eq!(&VmFlags::EXEC.perms(), b"--xp");
    }

    #[test]
    fn accountable_is_private_writable_without_noreserve() {
        assert!(VmFlags::WRITE.is_accountable());
        assert!(!(VmFlags::WRITE | VmFlags::SHARED).is_accountable());
        assert!(!(VmFlags::WRITE | VmFlags::NORESERVE).is_accountable());
        assert!(!VmFlags::READ.is_accountable());
    }
}
