//! The bounds-checked window through which the engine touches guest RAM.
//!
//! Owns: the `PhysMemory` trait and its implementation for every vm-memory
//! `GuestMemory`. The engine never holds a host pointer into guest RAM: every
//! access names a guest-physical address and is checked against the regions,
//! so a bad address is an error, never a stray host access. Unit tests run the
//! engine on plain host memory (`GuestMemoryMmap::from_ranges`) through this
//! same trait; the vmm passes its memfd-backed guest RAM.

use crate::addr::{Frame, PhysAddr, PAGE_SIZE};
use vm_memory::{Bytes, GuestAddress, GuestMemory};

/// A guest-physical access outside guest RAM (or otherwise refused).
#[derive(Debug, thiserror::Error)]
#[error("guest-physical access of {len} bytes at {addr} failed")]
pub struct MemError {
    pub addr: PhysAddr,
    pub len: usize,
    #[source]
    pub source: vm_memory::GuestMemoryError,
}

/// Bounds-checked guest-physical memory.
pub trait PhysMemory {
    /// Reads `buf.len()` bytes at `pa`.
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError>;
    /// Writes `buf` at `pa`.
    fn write(&self, pa: PhysAddr, buf: &[u8]) -> Result<(), MemError>;

    fn read_u64(&self, pa: PhysAddr) -> Result<u64, MemError> {
        let mut b = [0u8; 8];
        self.read(pa, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn write_u64(&self, pa: PhysAddr, v: u64) -> Result<(), MemError> {
        self.write(pa, &v.to_le_bytes())
    }
    /// Fills a whole frame with zeroes.
    fn zero_frame(&self, f: Frame) -> Result<(), MemError> {
        self.write(f.start(), &[0u8; PAGE_SIZE as usize])
    }
    /// Copies one whole frame to another.
    fn copy_frame(&self, src: Frame, dst: Frame) -> Result<(), MemError> {
        let mut buf = [0u8; PAGE_SIZE as usize];
        self.read(src.start(), &mut buf)?;
        self.write(dst.start(), &buf)
    }
}

impl<T: GuestMemory + ?Sized> PhysMemory for T {
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError> {
        self.read_slice(buf, GuestAddress(pa.as_u64())).map_err(|source| MemError { addr: pa, len: buf.len(), source })
    }
    fn write(&self, pa: PhysAddr, buf: &[u8]) -> Result<(), MemError> {
        self.write_slice(buf, GuestAddress(pa.as_u64())).map_err(|source| MemError { addr: pa, len: buf.len(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vm_memory::GuestMemoryMmap;

    #[test]
    fn access_outside_ram_is_an_error_not_a_crash() {
        let m = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x4000)]).unwrap();
        assert!(m.write_u64(PhysAddr::new(0x3ff8), 1).is_ok());
        assert!(m.write_u64(PhysAddr::new(0x3ffc), 1).is_err());
        assert!(m.read_u64(PhysAddr::new(u64::MAX - 3)).is_err());
    }

    #[test]
    fn copy_and_zero_frames() {
        let m = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x4000)]).unwrap();
        m.write_u64(PhysAddr::new(0x1008), 0xdead).unwrap();
        m.copy_frame(Frame::new(1), Frame::new(2)).unwrap();
        assert_eq!(m.read_u64(PhysAddr::new(0x2008)).unwrap(), 0xdead);
        m.zero_frame(Frame::new(2)).unwrap();
        assert_eq!(m.read_u64(PhysAddr::new(0x2008)).unwrap(), 0);
    }
}
