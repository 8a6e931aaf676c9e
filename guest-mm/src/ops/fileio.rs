//! read(2)/write(2) on objects, through the page cache.
//!
//! Mirrors generic_file_read_iter / shmem_file_read_iter and the write side
//! (generic_perform_write): data moves between the caller's buffer and the
//! object's cached pages, so a write is visible at once through every shared
//! mapping (same frames) and private mappings that have not copied the page.
//! Reads past end of file return 0 bytes; holes read as zeroes without
//! allocating; writes allocate pages and extend the size.

use crate::addr::PAGE_SIZE;
use crate::engine::Engine;
use crate::errno::{Errno, SysResult};
use crate::fault::FaultError;
use crate::memory::PhysMemory;
use crate::objects::{ObjectId, ObjectKind};

/// Largest file size (MAX_LFS_FILESIZE on 64-bit).
const MAX_SIZE: u64 = i64::MAX as u64;

impl<M: PhysMemory> Engine<M> {
    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read.
    pub fn read_object(&mut self, obj: ObjectId, offset: u64, buf: &mut [u8]) -> SysResult<usize> {
        let o = self.objects.get(obj).ok_or(Errno::EBADF)?;
        if o.is_revoked() {
            return Err(Errno::EIO);
        }
        if offset >= o.size {
            return Ok(0);
        }
        let n = (buf.len() as u64).min(o.size - offset) as usize;
        let mut done = 0;
        while done < n {
            let at = offset + done as u64;
            let (index, off) = (at / PAGE_SIZE, at % PAGE_SIZE);
            let chunk = ((PAGE_SIZE - off) as usize).min(n - done);
            let o = self.objects.get(obj).expect("checked");
            let frame = o.cached(index).or_else(|| o.device_frame(index));
            match frame {
                Some(f) => self.mem.read(f.start().add(off), &mut buf[done..done + chunk]).map_err(|_| Errno::EIO)?,
                None => match o.file_page(index) {
                    Some(data) => {
                        let mut page = [0u8; PAGE_SIZE as usize];
                        page[..data.len()].copy_from_slice(data);
                        buf[done..done + chunk].copy_from_slice(&page[off as usize..off as usize + chunk]);
                    }
                    None => buf[done..done + chunk].fill(0),
                },
            }
            done += chunk;
        }
        Ok(n)
    }

    /// Writes `data` at `offset`, extending the object; returns bytes written.
    pub fn write_object(&mut self, obj: ObjectId, offset: u64, data: &[u8]) -> SysResult<usize> {
        let o = self.objects.get(obj).ok_or(Errno::EBADF)?;
        match &o.kind {
            ObjectKind::File { writable: false, .. } => return Err(Errno::EBADF),
            ObjectKind::Device { .. } if o.is_revoked() => return Err(Errno::EIO),
            _ => {}
        }
        let end = offset.checked_add(data.len() as u64).filter(|e| *e <= MAX_SIZE).ok_or(Errno::EFBIG)?;
        if o.is_device() && end > o.size {
            return Err(Errno::ENOSPC);
        }
        let data = &data[..self.seal_write_room(obj, offset, data.len())?];
        let mut done = 0;
        while done < data.len() {
            let at = offset + done as u64;
            let (index, off) = (at / PAGE_SIZE, at % PAGE_SIZE);
            let chunk = ((PAGE_SIZE - off) as usize).min(data.len() - done);
            let f = self.cache_page(obj, index).map_err(|e| match e {
                FaultError::OutOfMemory(_) => Errno::ENOSPC,
                _ => Errno::EIO,
            })?;
            self.mem.write(f.start().add(off), &data[done..done + chunk]).map_err(|_| Errno::EIO)?;
            done += chunk;
            if let Some(o) = self.objects.get_mut(obj) {
                o.size = o.size.max(at + chunk as u64);
                o.mark_written(index);
            }
        }
        Ok(done)
    }
}
