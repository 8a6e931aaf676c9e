//! A read buffer whose pages exist before the read: the snapshot state of a
//! restore is read into it.
//!
//! Owns `StateBuffer`: an anonymous private mapping created with
//! MAP_POPULATE, so the kernel allocates all its pages in one call instead of
//! one first-touch fault per page as a fresh heap buffer would (~2.5 µs each
//! on this nested host: ~4 ms for 6 MB of state). The bytes are a copy, not a
//! mapping of the file, so nothing that happens to the file later can change
//! or take away what was validated. The frame records of a restored engine
//! stay encoded in it (guest_mm::cowvec), which keeps it alive. One of the
//! few files with `unsafe`.

use std::fs::File;
use std::io::Read;

const HUGE: usize = 2 << 20;

pub struct StateBuffer {
    ptr: *mut u8,
    len: usize,
    /// Bytes of the mapping (at least one page).
    map_len: usize,
}

// SAFETY: the buffer is plain memory owned by this value; after `read` it is
// only read (shared references), never written.
unsafe impl Send for StateBuffer {}
// SAFETY: as above: no interior mutability.
unsafe impl Sync for StateBuffer {}

impl StateBuffer {
    /// Reads all of `f` (whose length is `len`) into a populated buffer.
    pub fn read(mut f: File, len: usize) -> std::io::Result<StateBuffer> {
        let map_len = len.max(1).next_multiple_of(HUGE);
        // SAFETY: a fresh anonymous private mapping; nothing else refers to it.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len + HUGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        // Keep the 2 MiB-aligned part (huge pages need the alignment).
        let start = (p as usize).next_multiple_of(HUGE);
        let (head, tail) = (start - p as usize, HUGE - (start - p as usize));
        // SAFETY: both ranges are parts of the mapping just made, outside
        // the kept `start..start+map_len`; unmapping them touches nothing else.
        unsafe {
            if head > 0 {
                libc::munmap(p, head);
            }
            if tail > 0 {
                libc::munmap((start + map_len) as *mut libc::c_void, tail);
            }
        }
        let b = StateBuffer { ptr: start as *mut u8, len, map_len };
        // SAFETY: advice on our own mapping; failures only cost speed.
        unsafe {
            libc::madvise(b.ptr.cast(), map_len, libc::MADV_HUGEPAGE);
            libc::madvise(b.ptr.cast(), map_len, libc::MADV_POPULATE_WRITE);
        }
        // SAFETY: `ptr..ptr+len` lies in the mapping owned by `b`, which no
        // one else references yet; the slice lives only for this read.
        let dst = unsafe { std::slice::from_raw_parts_mut(b.ptr, len) };
        f.read_exact(dst)?;
        // A file longer than its length at open: not what was measured.
        let mut more = [0u8; 1];
        if f.read(&mut more)? != 0 {
            return Err(std::io::Error::other("the file grew while it was read"));
        }
        Ok(b)
    }
}

impl AsRef<[u8]> for StateBuffer {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `ptr..ptr+len` is the live mapping owned by `self`, fully
        // written by `read`, and never written again.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for StateBuffer {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping this value owns; no reference
        // into it outlives `self` (AsRef borrows are tied to it).
        unsafe { libc::munmap(self.ptr.cast(), self.map_len) };
    }
}
