//! Introspection: /proc/pid/maps text and /proc/pid/pagemap entries.
//!
//! Mirrors fs/proc/task_mmu.c show_map_vma (column layout included) and
//! pte_to_pagemap_entry (bit layout, as an unprivileged reader sees it: no
//! PFNs). Bit 55 (soft-dirty) is never set: the reference kernel is built
//! without CONFIG_MEM_SOFT_DIRTY (pagemap there never reports it, and
//! clear_refs has no soft-dirty bits to clear).

use crate::addr::{VirtAddr, PAGE_SIZE};
use crate::engine::Engine;
use crate::frames::FrameUse;
use crate::memory::PhysMemory;
use crate::paging::{MarkerKind, PteKind};
use crate::space::AsId;
use crate::vma::Backing;
use std::fmt::Write;

/// The entry bits (linux-abi's). Bits 0-54 are the page frame number for
/// privileged readers; our extension: in a nonlinear VMA they carry the
/// page's file offset (in pages) instead, present or not (an unprivileged
/// reader sees 0 there on Linux). Soft-dirty is never set.
pub use linux_abi::pagemap::{PM_FILE, PM_GUARD_REGION, PM_MMAP_EXCLUSIVE, PM_PFRAME_MASK, PM_PRESENT, PM_SOFT_DIRTY, PM_SWAP};

/// The vsyscall line the host kernel shows; our syscall trampoline sits there.
pub const VSYSCALL_LINE: &str = "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";

impl<M: PhysMemory> Engine<M> {
    /// The /proc/pid/maps text of a space (with the [vsyscall] line if `vsyscall`).
    pub fn maps(&self, id: AsId, vsyscall: bool) -> Option<String> {
        let space = self.spaces.get(&id)?;
        let mut out = String::new();
        for v in space.vmas.iter() {
            let perms = v.flags.perms();
            let (offset, dev, inode, name) = match v.backing {
                // get_vma_name: a VMA without a file is "[heap]" when it
                // overlaps [start_brk, brk) (vma_is_initial_heap) and "[stack]"
                // when it contains start_stack (vma_is_initial_stack).
                Backing::Anon => {
                    let (s, e) = (v.start.as_u64(), v.end.as_u64());
                    let name = if s < space.brk && e > space.start_brk {
                        "[heap]"
                    } else if s <= space.start_stack && e >= space.start_stack {
                        "[stack]"
                    } else {
                        ""
                    };
                    (0, "00:00", 0, name.to_string())
                }
                Backing::Object(o) => {
                    let obj = self.objects.get(o);
                    (v.pgoff * PAGE_SIZE, "00:01", obj.map_or(0, |o| o.inode), obj.map_or_else(String::new, |o| o.name.clone()))
                }
            };
            let head = format!(
                "{:08x}-{:08x} {} {:08x} {} {}",
                v.start.as_u64(),
                v.end.as_u64(),
                String::from_utf8_lossy(&perms),
                offset,
                dev,
                inode
            );
            if name.is_empty() {
                let _ = writeln!(out, "{head}");
            } else {
                let _ = writeln!(out, "{head:<72} {name}");
            }
        }
        if vsyscall {
            let _ = writeln!(out, "{VSYSCALL_LINE}");
        }
        Some(out)
    }

    /// Whether a mapped frame is a file or shmem page (vm_normal_page's page
    /// and !PageAnon): a page-cache page; a frame the engine does not track
    /// (a device window's) by its VMA.
    pub(crate) fn page_is_file(&self, vma: &crate::vma::Vma, frame: crate::addr::Frame) -> bool {
        match self.frames.use_of(frame) {
            Some(FrameUse::Cache { .. }) => true,
            Some(_) => false,
            None => !vma.is_anonymous(),
        }
    }

    /// The pagemap entry for the page containing `va`.
    pub fn pagemap(&self, id: AsId, va: VirtAddr) -> Option<u64> {
        let space = self.spaces.get(&id)?;
        let Some(vma) = space.vmas.find(va) else {
            return Some(0);
        };
        let mut bits = 0;
        match space.tables.get(va.align_down()).kind() {
            PteKind::Present { frame, .. } | PteKind::ProtNone { frame, .. } => {
                bits |= PM_PRESENT;
                if frame != self.frames.zero_frame() {
                    if self.page_is_file(vma, frame) {
                        bits |= PM_FILE;
                    }
                    if self.frames.mapcount(frame) == 1 {
                        bits |= PM_MMAP_EXCLUSIVE;
                    }
                }
            }
            // A guard marker is a swap entry in Linux's terms (is_swap_pte),
            // so pte_to_pagemap_entry sets PM_SWAP as well. Revoked and
            // offset-only markers are ours and read as no entry.
            PteKind::Marker(m) if m.kind == MarkerKind::Guard => bits |= PM_SWAP | PM_GUARD_REGION,
            _ => {}
        }
        if crate::nonlinear::is_nonlinear(vma) {
            let p = self.nonlinear_page(vma, va.align_down(), space.tables.get(va.align_down()));
            bits |= PM_FILE | (p.pgoff & PM_PFRAME_MASK);
        }
        Some(bits)
    }
}

/// One character per page for `pagemap_line`: what pagemap says about it.
fn page_char(bits: u64) -> char {
    if bits & PM_GUARD_REGION != 0 {
        'G'
    } else if bits & PM_PRESENT == 0 {
        '.'
    } else if bits & PM_FILE != 0 {
        'F'
    } else if bits & PM_MMAP_EXCLUSIVE != 0 {
        'A'
    } else {
        'S'
    }
}

impl<M: PhysMemory> Engine<M> {
    /// A compact view of the pagemap of one VMA: run-length encoded page
    /// classes, e.g. "A×3 .×12 G×2" (A anonymous exclusive, S shared or
    /// zero page, F file or shmem, G guard marker, . not present).
    pub fn pagemap_line(&self, id: AsId, start: VirtAddr, end: VirtAddr) -> String {
        let mut runs: Vec<(char, u64)> = Vec::new();
        let mut va = start;
        while va < end {
            let c = page_char(self.pagemap(id, va).unwrap_or(0));
            match runs.last_mut() {
                Some((last, n)) if *last == c => *n += 1,
                _ => runs.push((c, 1)),
            }
            va = va.add(PAGE_SIZE);
        }
        runs.iter().map(|(c, n)| if *n == 1 { c.to_string() } else { format!("{c}\u{00d7}{n}") }).collect::<Vec<_>>().join(" ")
    }
}
