//! /proc/pid/smaps: per-VMA memory accounting text.
//!
//! Mirrors fs/proc/task_mmu.c show_smap (smap_gather_stats with
//! smaps_pte_entry, smaps_account, smaps_page_accumulate, __show_smap and
//! show_smap_vma_flags) for a kernel with base pages only: THP, hugetlb,
//! KSM and swap fields print as a kernel with THP off and no swap prints
//! them (0), there is no ProtectionKey line (the reference host has no
//! pkeys) and no `sd` flag (no CONFIG_MEM_SOFT_DIRTY).
//!
//! Invariants: the field order, widths and units are Linux 6.18's; each
//! record starts with the same header line /proc/pid/maps shows. What is
//! not modelled, and so can differ from Linux for the same history:
//! - Dirty: a page counts as dirty when its PTE is dirty, or, for a
//!   page-cache page, when any PTE mapping it is (a write fault through a
//!   shared mapping dirties the folio in Linux, fault_dirty_shared_page).
//!   write(2) marks the page dirty too (shmem_write_end). The engine maps
//!   a writable shared page with its PTE dirty bit already set (it does
//!   not see the MMU set it), so a page of a writable shared mapping that
//!   was only read counts dirty here, clean in Linux.
//! - Referenced: the PTE's accessed bit; Linux also counts folios marked
//!   referenced, and reclaim ages both.
//!
//! The zero page and PFNMAP pages are not counted (vm_normal_page returns
//! NULL for them), as in Linux.

use crate::addr::PAGE_SIZE;
use crate::engine::Engine;
use crate::frames::FrameUse;
use crate::memory::PhysMemory;
use crate::paging::{PteFlags, PteKind};
use crate::space::{AddressSpace, AsId};
use crate::vma::{VmFlags, Vma};
use std::fmt::Write;

/// Linux's PSS_SHIFT: Pss is accumulated in 1/4096ths of a byte.
const PSS_SHIFT: u32 = 12;

/// show_smap_vma_flags's mnemonics, in bit order, for the flags the engine
/// keeps. Our own flags (NONLINEAR, PAGEPROT) have no Linux mnemonic and
/// print nothing; MAYBE_GUARD is Linux's VM_MAYBE_GUARD (`gu`).
const MNEMONICS: &[(VmFlags, &str)] = &[
    (VmFlags::READ, "rd"),
    (VmFlags::WRITE, "wr"),
    (VmFlags::EXEC, "ex"),
    (VmFlags::SHARED, "sh"),
    (VmFlags::MAYREAD, "mr"),
    (VmFlags::MAYWRITE, "mw"),
    (VmFlags::MAYEXEC, "me"),
    (VmFlags::MAYSHARE, "ms"),
    (VmFlags::GROWSDOWN, "gd"),
    (VmFlags::PFNMAP, "pf"),
    (VmFlags::MAYBE_GUARD, "gu"),
    (VmFlags::LOCKED, "lo"),
    (VmFlags::IO, "io"),
    (VmFlags::SEQ_READ, "sr"),
    (VmFlags::RAND_READ, "rr"),
    (VmFlags::DONTCOPY, "dc"),
    (VmFlags::DONTEXPAND, "de"),
    (VmFlags::LOCKONFAULT, "lf"),
    (VmFlags::ACCOUNT, "ac"),
    (VmFlags::NORESERVE, "nr"),
    (VmFlags::WIPEONFORK, "wf"),
    (VmFlags::DONTDUMP, "dd"),
    (VmFlags::MIXEDMAP, "mm"),
    (VmFlags::HUGEPAGE, "hg"),
    (VmFlags::NOHUGEPAGE, "nh"),
    (VmFlags::MERGEABLE, "mg"),
    (VmFlags::SEALED, "sl"),
];

/// The `VmFlags:` value of a VMA: each mnemonic followed by a space.
pub fn vm_flags_line(flags: VmFlags) -> String {
    MNEMONICS.iter().filter(|(f, _)| flags.contains(*f)).map(|(_, m)| format!("{m} ")).collect()
}

/// Linux's struct mem_size_stats, for the fields a base-page kernel fills.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct SmapsStats {
    pub resident: u64,
    pub shared_clean: u64,
    pub shared_dirty: u64,
    pub private_clean: u64,
    pub private_dirty: u64,
    pub referenced: u64,
    pub anonymous: u64,
    pub lazyfree: u64,
    /// In 1/4096ths of a byte (PSS_SHIFT).
    pub pss: u64,
    pub pss_dirty: u64,
    pub pss_locked: u64,
}

impl<M: PhysMemory> Engine<M> {
    /// smap_gather_stats for one VMA.
    pub fn smaps_stats(&self, space: &AddressSpace, v: &Vma) -> SmapsStats {
        let mut s = SmapsStats::default();
        if v.flags.intersects(VmFlags::PFNMAP | VmFlags::NONLINEAR) {
            return s;
        }
        let locked = v.flags.contains(VmFlags::LOCKED);
        for e in space.tables.entries_in(v.start, v.end) {
            let (frame, flags) = match e.pte.kind() {
                PteKind::Present { frame, flags } | PteKind::ProtNone { frame, flags } => (frame, flags),
                _ => continue,
            };
            if frame == self.frames.zero_frame() {
                continue;
            }
            let use_ = self.frames.use_of(frame);
            let dirty = flags.contains(PteFlags::DIRTY)
                || match use_ {
                    Some(FrameUse::Cache { obj, index }) => {
                        self.objects.get(obj).is_some_and(|o| o.was_written(index)) || self.mapped_dirty(frame)
                    }
                    _ => false,
                };
            s.resident += PAGE_SIZE;
            if flags.contains(PteFlags::ACCESSED) {
                s.referenced += PAGE_SIZE;
            }
            let anon = use_ == Some(FrameUse::Anon);
            if anon {
                s.anonymous += PAGE_SIZE;
                // A clean anonymous page is one MADV_FREE left clean (the
                // engine's lazyfree state): !swapbacked && !dirty in Linux.
                if !dirty {
                    s.lazyfree += PAGE_SIZE;
                }
            }
            // smaps_account: one mapping (refcount 1, or mapcount < 2 for
            // page-cache pages, which the cache also references) is private.
            let mapcount = self.frames.mapcount(frame).max(1) as u64;
            let pss = (PAGE_SIZE << PSS_SHIFT) / mapcount;
            let private = mapcount < 2;
            s.pss += pss;
            if locked {
                s.pss_locked += pss;
            }
            match (dirty, private) {
                (true, true) => s.private_dirty += PAGE_SIZE,
                (true, false) => s.shared_dirty += PAGE_SIZE,
                (false, true) => s.private_clean += PAGE_SIZE,
                (false, false) => s.shared_clean += PAGE_SIZE,
            }
            if dirty {
                s.pss_dirty += pss;
            }
        }
        s
    }

    /// Whether any PTE mapping `frame` is dirty (the folio's dirty bit, as
    /// far as mappings set it).
    fn mapped_dirty(&self, frame: crate::addr::Frame) -> bool {
        self.frames.rmap(frame).iter().any(|(id, page)| {
            self.spaces.get(id).is_some_and(|s| match s.tables.get(page.start()).kind() {
                PteKind::Present { flags, .. } | PteKind::ProtNone { flags, .. } => flags.contains(PteFlags::DIRTY),
                _ => false,
            })
        })
    }

    /// The /proc/pid/smaps text of a space (with the [vsyscall] record if `vsyscall`).
    pub fn smaps(&self, id: AsId, vsyscall: bool) -> Option<String> {
        let space = self.spaces.get(&id)?;
        let mut out = String::new();
        for v in space.vmas.iter() {
            let _ = writeln!(out, "{}", self.map_line(space, v));
            write_record(&mut out, v.len(), &self.smaps_stats(space, v), v.flags);
        }
        if vsyscall {
            let _ = writeln!(out, "{}", crate::introspect::VSYSCALL_LINE);
            write_record(&mut out, PAGE_SIZE, &SmapsStats::default(), VmFlags::EXEC);
        }
        Some(out)
    }
}

/// __show_smap and the VmFlags line for one VMA of `size` bytes.
fn write_record(out: &mut String, size: u64, s: &SmapsStats, flags: VmFlags) {
    let kb = |out: &mut String, name: &str, bytes: u64| {
        let _ = writeln!(out, "{:<16}{:>8} kB", format!("{name}:"), bytes >> 10);
    };
    kb(out, "Size", size);
    kb(out, "KernelPageSize", PAGE_SIZE);
    kb(out, "MMUPageSize", PAGE_SIZE);
    kb(out, "Rss", s.resident);
    kb(out, "Pss", s.pss >> PSS_SHIFT);
    kb(out, "Pss_Dirty", s.pss_dirty >> PSS_SHIFT);
    kb(out, "Shared_Clean", s.shared_clean);
    kb(out, "Shared_Dirty", s.shared_dirty);
    kb(out, "Private_Clean", s.private_clean);
    kb(out, "Private_Dirty", s.private_dirty);
    kb(out, "Referenced", s.referenced);
    kb(out, "Anonymous", s.anonymous);
    kb(out, "KSM", 0);
    kb(out, "LazyFree", s.lazyfree);
    for name in ["AnonHugePages", "ShmemPmdMapped", "FilePmdMapped", "Shared_Hugetlb", "Private_Hugetlb", "Swap", "SwapPss"] {
        kb(out, name, 0);
    }
    kb(out, "Locked", s.pss_locked >> PSS_SHIFT);
    let _ = writeln!(out, "{:<16}{:>8}", "THPeligible:", 0);
    let _ = writeln!(out, "VmFlags: {}", vm_flags_line(flags));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_flags_print_in_linux_bit_order_with_trailing_spaces() {
        let f = VmFlags::READ | VmFlags::WRITE | VmFlags::MAYREAD | VmFlags::MAYWRITE | VmFlags::MAYEXEC | VmFlags::ACCOUNT;
        assert_eq!(vm_flags_line(f | VmFlags::MAYBE_GUARD | VmFlags::LOCKED), "rd wr mr mw me gu lo ac ");
        assert_eq!(vm_flags_line(VmFlags::EXEC), "ex ");
        assert_eq!(vm_flags_line(VmFlags::READ | VmFlags::SEALED | VmFlags::NONLINEAR), "rd sl ");
    }

    #[test]
    fn records_have_linux_widths() {
        let mut out = String::new();
        write_record(&mut out, 16 << 10, &SmapsStats { resident: 4096, pss: 4096 << PSS_SHIFT, ..Default::default() }, VmFlags::READ);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "Size:                 16 kB");
        assert_eq!(lines[3], "Rss:                   4 kB");
        assert_eq!(lines[22], "THPeligible:           0");
        assert_eq!(lines[23], "VmFlags: rd ");
        assert_eq!(lines.len(), 24);
    }
}
