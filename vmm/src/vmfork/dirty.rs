//! Which pages of a forked child's guest RAM it changed, and undoing that.
//!
//! Owns the dirty-page mechanism of the reset loop. A child maps the frozen
//! base memfd MAP_PRIVATE, so a page anyone wrote (the guest through KVM, or
//! the VMM's engine writing page tables and zeroing frames) is exactly a
//! page that became private anonymous memory in that mapping; untouched and
//! only-read pages are the base's page-cache pages. PAGEMAP_SCAN (Linux 6.7)
//! lists the "present and not file-backed" ranges in one ioctl that skips
//! empty page tables; MADV_DONTNEED on them drops the private copies, so the
//! next access sees the base again. KVM's dirty log (which works on this
//! host, see docs/vmfork.md) sees only guest writes, not the VMM's, so it
//! is not used. One of the few files with `unsafe`.

use crate::error::{InternalError, VmmError};
use crate::vm::{GuestRam, RamView};
use std::os::fd::AsRawFd;

/// A byte range of guest-physical memory.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

#[repr(C)]
#[derive(Default)]
struct PmScanArg {
    size: u64,
    flags: u64,
    start: u64,
    end: u64,
    walk_end: u64,
    vec: u64,
    vec_len: u64,
    max_pages: u64,
    category_inverted: u64,
    category_mask: u64,
    category_anyof_mask: u64,
    return_mask: u64,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct PageRegion {
    start: u64,
    end: u64,
    categories: u64,
}

use linux_abi::pagemap::{PAGEMAP_SCAN, PAGE_IS_FILE, PAGE_IS_PRESENT, PAGE_REGION_SIZE, PM_SCAN_ARG_SIZE};
const _: () = assert!(std::mem::size_of::<PmScanArg>() == PM_SCAN_ARG_SIZE && std::mem::size_of::<PageRegion>() == PAGE_REGION_SIZE);

/// The pages of `ram` that are private copies (written since the fork).
pub fn scan(ram: &GuestRam, pagemap: &std::fs::File) -> Result<Vec<Range>, VmmError> {
    if ram.view != RamView::PrivateCopyOnWrite {
        return Err(InternalError::DirtyScanNotCopyOnWrite.into());
    }
    let base = ram.host_base()? as u64;
    let end = base + ram.size;
    let mut out = Vec::new();
    let mut buf = vec![PageRegion::default(); 512];
    let mut at = base;
    while at < end {
        let mut arg = PmScanArg {
            size: std::mem::size_of::<PmScanArg>() as u64,
            start: at,
            end,
            vec: buf.as_mut_ptr() as u64,
            vec_len: buf.len() as u64,
            category_inverted: PAGE_IS_FILE,
            category_mask: PAGE_IS_FILE | PAGE_IS_PRESENT,
            return_mask: PAGE_IS_PRESENT,
            ..Default::default()
        };
        // SAFETY: `arg` is a valid pm_scan_arg whose output vector is `buf`
        // (vec_len entries, alive for the call); the kernel only reads the
        // VMM's own page tables for [start, end), which is our RAM mapping.
        let n = unsafe { libc::ioctl(pagemap.as_raw_fd(), PAGEMAP_SCAN as _, &mut arg) };
        if n < 0 {
            return Err(VmmError::Host("PAGEMAP_SCAN of guest RAM", std::io::Error::last_os_error()));
        }
        for r in &buf[..n as usize] {
            out.push(Range { start: r.start - base, end: r.end - base });
        }
        if arg.walk_end <= at {
            break;
        }
        at = arg.walk_end;
    }
    Ok(out)
}

/// Drops the private copies in `ranges`: those pages read as the base again.
pub fn revert(ram: &GuestRam, ranges: &[Range]) -> Result<(), VmmError> {
    let base = ram.host_base()?;
    for r in ranges {
        if r.end > ram.size || r.start >= r.end {
            return Err(InternalError::DirtyRangeOutside { start: r.start, end: r.end }.into());
        }
        // SAFETY: the range lies inside the VMM's private mapping of guest RAM
        // (checked above); MADV_DONTNEED there only drops private copies, which
        // is the point, and no Rust reference into guest RAM is held.
        let rc = unsafe { libc::madvise(base.add(r.start as usize) as *mut _, (r.end - r.start) as usize, libc::MADV_DONTNEED) };
        if rc != 0 {
            return Err(VmmError::Host("madvise(MADV_DONTNEED) of guest RAM", std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// Opens this process's pagemap (for `scan`).
pub fn open_pagemap() -> Result<std::fs::File, VmmError> {
    std::fs::File::open("/proc/self/pagemap").map_err(|e| VmmError::Host("open /proc/self/pagemap", e))
}
