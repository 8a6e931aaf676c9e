//! The shim image: its ABI header, loading it into guest RAM.
//!
//! Owns the contract with guest-image/src/bin/shim.rs: the header layout and
//! version, where the stubs, the batch area and the trampoline bytes are. The
//! header is checked before anything else uses it; a mismatch is a build
//! error surfaced at start-up, not undefined behaviour later.

use crate::elf::{Elf, ElfError};
use crate::layout::{kva, DIRECT_BASE, SHIM_END_PA, SHIM_PA};
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

const MAGIC: &[u8; 8] = b"VMMSHIM1";
const ABI_VERSION: u64 = 1;

/// Where the shim's pieces are, as kernel-virtual addresses.
#[derive(Clone, Debug)]
pub struct ShimImage {
    pub vectors: u64,
    pub stride: u64,
    pub count: u64,
    pub batch_start: u64,
    pub batch_end: u64,
    pub trampoline: Vec<u8>,
    elf: Elf,
}

#[derive(Debug, thiserror::Error)]
pub enum ShimError {
    #[error("the shim image is not a valid ELF: {0}")]
    Elf(#[from] ElfError),
    #[error("the shim image is malformed: {0}")]
    Malformed(&'static str),
    #[error("could not write the shim into guest RAM: {0}")]
    Memory(#[from] vm_memory::GuestMemoryError),
}

impl ShimImage {
    /// Parses and checks the embedded shim.
    pub fn parse(bytes: &[u8]) -> Result<Self, ShimError> {
        let elf = Elf::parse(bytes, false)?;
        for s in &elf.segments {
            let lo = s.vaddr.checked_sub(DIRECT_BASE).ok_or(ShimError::Malformed("segment below the direct map"))?;
            if lo < SHIM_PA || lo.checked_add(s.memsz).is_none_or(|e| e > SHIM_END_PA) {
                return Err(ShimError::Malformed("segment outside the shim region"));
            }
        }
        let header = file_bytes(&elf, bytes, elf.entry, 72).ok_or(ShimError::Malformed("header not in the file"))?;
        if &header[..8] != MAGIC {
            return Err(ShimError::Malformed("bad magic"));
        }
        let q = |i: usize| u64::from_le_bytes(header[8 + 8 * i..16 + 8 * i].try_into().expect("8 bytes"));
        if q(0) != ABI_VERSION {
            return Err(ShimError::Malformed("unknown ABI version"));
        }
        let (vectors, stride, count, batch_start, batch_end, t0, t1) = (q(1), q(2), q(3), q(4), q(5), q(6), q(7));
        if count != 32 || stride < 4 || batch_end <= batch_start || t1 <= t0 || t1 - t0 > 64 {
            return Err(ShimError::Malformed("header values out of range"));
        }
        let trampoline =
            file_bytes(&elf, bytes, t0, (t1 - t0) as usize).ok_or(ShimError::Malformed("trampoline not in the file"))?.to_vec();
        Ok(ShimImage { vectors, stride, count, batch_start, batch_end, trampoline, elf })
    }

    /// Copies the shim's segments into guest RAM. The rest of each segment
    /// (the batch area) is left as it is: guest RAM is a fresh memfd, all zero.
    pub fn load(&self, bytes: &[u8], mem: &GuestMemoryMmap) -> Result<(), ShimError> {
        for s in &self.elf.segments {
            let pa = s.vaddr - DIRECT_BASE;
            let data = &bytes[s.offset as usize..(s.offset + s.filesz) as usize];
            mem.write_slice(data, GuestAddress(pa))?;
        }
        Ok(())
    }

    /// Kernel-virtual address of the stub for `vector`.
    pub fn stub(&self, vector: u8) -> u64 {
        self.vectors + self.stride * vector as u64
    }

    /// An `iretq` instruction: the second instruction of every stub.
    pub fn iretq(&self) -> u64 {
        self.vectors + 2
    }

    /// Guest-physical address of the batch area.
    pub fn batch_pa(&self) -> u64 {
        self.batch_start - DIRECT_BASE
    }

    pub fn batch_len(&self) -> usize {
        (self.batch_end - self.batch_start) as usize
    }
}

fn file_bytes<'a>(elf: &Elf, bytes: &'a [u8], va: u64, len: usize) -> Option<&'a [u8]> {
    let s = elf.segments.iter().find(|s| va >= s.vaddr && va + len as u64 <= s.vaddr + s.filesz)?;
    let off = (s.offset + (va - s.vaddr)) as usize;
    bytes.get(off..off + len)
}

/// Kernel-virtual address of a guest-physical address (re-exported for callers).
pub fn kernel_va(pa: u64) -> u64 {
    kva(pa)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_shim_header_is_valid() {
        let s = ShimImage::parse(crate::images::SHIM).unwrap();
        assert_eq!(s.count, 32);
        assert_eq!(s.trampoline, vec![0x0f, 0x0b], "the trampoline is ud2");
        assert!(s.batch_len() >= 64 * 1024);
        assert_eq!(s.vectors % 8, 0);
    }
}
