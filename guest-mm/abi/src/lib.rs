//! linux-abi: the Linux x86-64 ABI as data, in one no_std home.
//!
//! Owns every number and layout that a Linux kernel and its programs agree
//! on and that this project needs: system call numbers and names, errno,
//! signals, mmap/madvise/mremap values, open and fcntl values, `struct stat`,
//! auxv keys, clocks, rlimits, arch_prctl, prctl, wait, terminal ioctls, clone
//! flags. The engine (guest-mm), the host-side kernel (vmm), the scenario
//! compiler and the guest's ulib all read these instead of keeping copies;
//! the `*_NAMES` tables let `--strace`, the scenario language and the docs
//! decode values without their own lists. Values are Linux 6.18's; where an
//! older uapi header lacks one, the kernel source is the reference, and the
//! e2e test `abi_constants_match_the_system_headers` compares every value the
//! machine's headers define.
#![cfg_attr(not(test), no_std)]

pub mod arch;
pub mod auxv;
pub mod errno;
pub mod fcntl;
pub mod mman;
pub mod pagemap;
pub mod pipe;
pub mod poll;
pub mod prctl;
pub mod resource;
pub mod sched;
pub mod signal;
pub mod stat;
pub mod sysno;
pub mod time;
pub mod tty;
pub mod wait;

pub use errno::Errno;
pub use signal::Signal;

/// Names of the bits of `value` from `table` joined by `|`, with any bits
/// the table does not name as a hex remainder; `"0"` when nothing is set.
/// Returns the pieces to the caller's writer so it needs no allocation.
pub fn write_flags(w: &mut dyn core::fmt::Write, value: u64, table: &[(u64, &str)]) -> core::fmt::Result {
    let mut rest = value;
    let mut first = true;
    for (bit, name) in table {
        if *bit != 0 && rest & bit == *bit {
            if !first {
                w.write_str("|")?;
            }
            w.write_str(name)?;
            rest &= !bit;
            first = false;
        }
    }
    if first && rest == 0 {
        return w.write_str("0");
    }
    if rest != 0 {
        if !first {
            w.write_str("|")?;
        }
        write!(w, "{rest:#x}")?;
    }
    Ok(())
}

/// The name `table` gives `value`, if any.
pub fn lookup(value: u64, table: &'static [(u64, &'static str)]) -> Option<&'static str> {
    table.iter().find(|(v, _)| *v == value).map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_written_like_strace() {
        let mut s = String::new();
        write_flags(&mut s, mman::PROT_READ | mman::PROT_WRITE, mman::PROT_NAMES).unwrap();
        assert_eq!(s, "PROT_READ|PROT_WRITE");
        s.clear();
        write_flags(&mut s, 0, mman::PROT_NAMES).unwrap();
        assert_eq!(s, "0");
        s.clear();
        write_flags(&mut s, mman::PROT_READ | 0x80, mman::PROT_NAMES).unwrap();
        assert_eq!(s, "PROT_READ|0x80");
        assert_eq!(lookup(fcntl::F_GETFL, fcntl::F_NAMES), Some("F_GETFL"));
        assert_eq!(arch::ELF_ET_DYN_BASE, 0x5555_5555_5000);
    }
}
