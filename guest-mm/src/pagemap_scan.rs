//! PAGEMAP_SCAN's page-table walk: mirrors fs/proc/task_mmu.c's
//! pagemap_scan_ops (pagemap_scan_test_walk, pagemap_scan_pmd_entry,
//! pagemap_scan_pte_hole), pagemap_page_category, pagemap_scan_output and
//! pagemap_scan_push_range.
//!
//! Owns one walk of `[start, end)` into the kernel's bounce buffer of
//! regions: which VMAs are walked, the categories of each page, the
//! filtering by the query's masks, and where the walk stops early (the
//! buffer is full or max_pages is reached: ENOSPC, with `walk_end` set; a
//! VMA refused by PM_SCAN_CHECK_WPASYNC: EPERM). The ioctl's argument
//! checks, the loop of walks and the copies to user memory are the host
//! kernel's (vmm's do_pagemap_scan).
//!
//! What this engine reports, as the reference host (Linux 6.18 without
//! CONFIG_MEM_SOFT_DIRTY, no userfaultfd write-protection for an
//! unprivileged process, no THP or hugetlb): PAGE_IS_WPALLOWED, HUGE and
//! SOFT_DIRTY never; WRITTEN for every entry of an existing page table,
//! none entries included (no page is ever uffd-write-protected), nothing
//! for a range without a table; PRESENT for present and PROT_NONE pages;
//! PFNZERO for the zero page; FILE for page-cache and shmem pages; SWAPPED
//! and GUARD for guard markers (swap entries in Linux's terms; our own
//! revoked and offset-only markers read as none entries, as in pagemap).
//! PM_SCAN_WP_MATCHING skips every VMA (none allows write-protection).
//! Unmapped holes are never reported. Invariant: the walk visits VMAs
//! and populated entries only, never each page of an empty range, so a
//! scan of the whole user half costs what the space holds.

use crate::addr::{VirtAddr, PAGE_SIZE};
use crate::engine::Engine;
use crate::errno::Errno;
use crate::memory::PhysMemory;
use crate::paging::{MarkerKind, PteKind};
use crate::space::AsId;
use crate::vma::{VmFlags, Vma};
use linux_abi::pagemap::*;

/// A validated query (pagemap_scan_get_args has checked every bit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanQuery {
    pub flags: u64,
    /// Pages to report at most (ULONG_MAX for "no limit", as the kernel's fix-up).
    pub max_pages: u64,
    pub category_inverted: u64,
    pub category_mask: u64,
    pub category_anyof_mask: u64,
    pub return_mask: u64,
}

impl ScanQuery {
    /// pagemap_scan_is_interesting_page.
    fn interesting_page(&self, categories: u64) -> bool {
        let c = categories ^ self.category_inverted;
        if c & self.category_mask != self.category_mask {
            return false;
        }
        self.category_anyof_mask == 0 || c & self.category_anyof_mask != 0
    }

    /// pagemap_scan_is_interesting_vma: only PAGE_IS_WPALLOWED decides.
    fn interesting_vma(&self, categories: u64) -> bool {
        let required = self.category_mask & PAGE_IS_WPALLOWED;
        (categories ^ self.category_inverted) & required == required
    }
}

/// One output region (struct page_region).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageRegion {
    pub start: u64,
    pub end: u64,
    pub categories: u64,
}

/// struct pagemap_scan_private: the query, the bounce buffer and what the
/// walks so far found. The buffer holds `buf_len` regions at most; its last
/// entry may be empty (start == end), which the flush does not count.
#[derive(Clone, Debug, Default)]
pub struct ScanState {
    pub query: ScanQuery,
    /// None: no output vector (the walk reports nothing and counts nothing).
    pub buf: Option<Vec<PageRegion>>,
    pub buf_len: usize,
    pub found_pages: u64,
    /// Where an early stop left the walk; 0 until one.
    pub walk_end: u64,
}

impl ScanState {
    pub fn new(query: ScanQuery, vec_len: u64) -> Self {
        let buf_len = vec_len.min(PAGEMAP_SCAN_BOUNCE_REGIONS) as usize;
        let buf = (vec_len != 0).then(|| vec![PageRegion::default()]);
        ScanState { query, buf, buf_len, found_pages: 0, walk_end: 0 }
    }

    /// The regions to copy out (pagemap_scan_flush_buffer's count).
    pub fn filled(&self) -> &[PageRegion] {
        let Some(buf) = &self.buf else { return &[] };
        let n = buf.len() - 1;
        let last = buf[n];
        &buf[..if last.end != last.start { n + 1 } else { n }]
    }

    /// After a flush of `n` regions to a vector with `vec_len_left` entries
    /// left: the buffer is empty again and no longer than what is left.
    pub fn reset_buffer(&mut self, vec_len_left: u64) {
        if let Some(buf) = &mut self.buf {
            buf.clear();
            buf.push(PageRegion::default());
            self.buf_len = self.buf_len.min(vec_len_left as usize);
        }
    }

    /// pagemap_scan_push_range: extends the current region or starts the
    /// next one; false when the buffer has no room for another.
    fn push_range(&mut self, categories: u64, addr: u64, end: u64) -> bool {
        let cap = self.buf_len;
        let Some(buf) = &mut self.buf else { return false };
        let cur = buf.last_mut().expect("the buffer always has a current entry");
        if addr == cur.end && categories == cur.categories {
            cur.end = end;
            return true;
        }
        if cur.end != 0 {
            if buf.len() >= cap {
                return false;
            }
            buf.push(PageRegion::default());
        }
        *buf.last_mut().expect("just pushed") = PageRegion { start: addr, end, categories };
        true
    }

    /// pagemap_scan_output for `[addr, *end)`: ENOSPC (with `*end` and
    /// `walk_end` where it stopped) when max_pages or the buffer runs out.
    fn output(&mut self, categories: u64, addr: u64, end: &mut u64) -> Result<(), Errno> {
        if self.buf.is_none() {
            return Ok(());
        }
        let categories = categories & self.query.return_mask;
        let mut n_pages = (*end - addr) / PAGE_SIZE;
        let mut full = false;
        match self.found_pages.checked_add(n_pages) {
            Some(total) if total <= self.query.max_pages => {}
            total => {
                // check_add_overflow leaves the wrapped sum behind.
                let total = total.unwrap_or_else(|| self.found_pages.wrapping_add(n_pages));
                let too_much = total.wrapping_sub(self.query.max_pages);
                *end = end.wrapping_sub(too_much.wrapping_mul(PAGE_SIZE));
                n_pages = n_pages.wrapping_sub(too_much);
                full = true;
            }
        }
        if !self.push_range(categories, addr, *end) {
            *end = addr;
            n_pages = 0;
            full = true;
        }
        self.found_pages = self.found_pages.wrapping_add(n_pages);
        if full {
            self.walk_end = *end;
            return Err(Errno::ENOSPC);
        }
        Ok(())
    }

    /// A run of pages with the same categories, output if the query wants
    /// them; ENOSPC when the walk stops here.
    fn run(&mut self, categories: u64, addr: u64, end: u64) -> Result<(), Errno> {
        if !self.query.interesting_page(categories) {
            return Ok(());
        }
        let mut end = end;
        self.output(categories, addr, &mut end)
    }
}

impl<M: PhysMemory> Engine<M> {
    /// pagemap_page_category for an entry of `vma` (plus the VMA's
    /// categories, none here). Every entry lies in an existing table, so
    /// every one is PAGE_IS_WRITTEN.
    fn scan_category(&self, vma: &Vma, kind: PteKind) -> u64 {
        match kind {
            PteKind::Present { frame, .. } | PteKind::ProtNone { frame, .. } => {
                let mut c = PAGE_IS_PRESENT | PAGE_IS_WRITTEN;
                if frame == self.frames.zero_frame() {
                    // vm_normal_page is NULL for the zero page: not a file page.
                    c |= PAGE_IS_PFNZERO;
                } else if self.page_is_file(vma, frame) {
                    c |= PAGE_IS_FILE;
                }
                c
            }
            PteKind::Marker(m) => match m.kind {
                MarkerKind::Guard => PAGE_IS_SWAPPED | PAGE_IS_WRITTEN | PAGE_IS_GUARD,
                // Ours (a revoked device page, a remembered nonlinear
                // offset): no entry, as pagemap reads them.
                MarkerKind::Revoked | MarkerKind::OffsetOnly => PAGE_IS_WRITTEN,
            },
            PteKind::None => PAGE_IS_WRITTEN,
        }
    }

    /// One walk_page_range(mm, start, end, &pagemap_scan_ops) over a space:
    /// Err(ENOSPC) when it stopped early (`st.walk_end` says where),
    /// Err(EPERM) for PM_SCAN_CHECK_WPASYNC on a VMA, ESRCH for no space.
    pub fn pagemap_scan_walk(&self, id: AsId, start: u64, end: u64, st: &mut ScanState) -> Result<(), Errno> {
        let space = self.spaces.get(&id).ok_or(Errno::ESRCH)?;
        if start >= end {
            return Ok(());
        }
        let (s, e) = (VirtAddr::new(start), VirtAddr::new(end));
        for vma in space.vmas.overlapping(s, e) {
            // pagemap_scan_test_walk: no VMA allows async write-protection.
            if st.query.flags & PM_SCAN_CHECK_WPASYNC != 0 {
                return Err(Errno::EPERM);
            }
            if st.query.flags & PM_SCAN_WP_MATCHING != 0 || vma.flags.contains(VmFlags::PFNMAP) {
                continue;
            }
            let vma_category = 0;
            if !st.query.interesting_vma(vma_category) {
                continue;
            }
            let (lo, hi) = (vma.start.as_u64().max(start), vma.end.as_u64().min(end));
            let mut addr = lo;
            // Entries without a translation from `from` to `to`: written
            // where a page table exists (none entries of a table are
            // reported PAGE_IS_WRITTEN, never having been write-protected:
            // measured on the reference host), nothing where none does
            // (pagemap_scan_pte_hole with the VMA's categories).
            let gap = |st: &mut ScanState, from: u64, to: u64| -> Result<(), Errno> {
                let mut a = from;
                while a < to {
                    let tables = space.tables.leaf_tables_in(VirtAddr::new(a), VirtAddr::new(to), ENTRY_BATCH);
                    for t in &tables {
                        let (lo, hi) = (t.as_u64().max(a), (t.as_u64() + PMD_SPAN).min(to));
                        if lo > a {
                            st.run(vma_category, a, lo)?;
                        }
                        st.run(vma_category | PAGE_IS_WRITTEN, lo, hi)?;
                        a = hi;
                    }
                    if tables.len() < ENTRY_BATCH {
                        if a < to {
                            st.run(vma_category, a, to)?;
                        }
                        break;
                    }
                }
                Ok(())
            };
            // The entries in batches: a walk usually stops after a few
            // hundred regions, so a huge VMA is never gathered whole.
            loop {
                let batch = space.tables.first_entries_in(VirtAddr::new(addr), VirtAddr::new(hi), ENTRY_BATCH);
                for entry in &batch {
                    let va = entry.va.as_u64();
                    if va > addr {
                        gap(st, addr, va)?;
                    }
                    let cat = vma_category | self.scan_category(vma, entry.pte.kind());
                    st.run(cat, va, va + PAGE_SIZE)?;
                    addr = va + PAGE_SIZE;
                }
                if batch.len() < ENTRY_BATCH {
                    break;
                }
            }
            if addr < hi {
                gap(st, addr, hi)?;
            }
        }
        Ok(())
    }
}

/// Entries gathered from the tables at a time.
const ENTRY_BATCH: usize = 1024;

/// Bytes one page table (a PMD entry) covers.
const PMD_SPAN: u64 = 512 * PAGE_SIZE;
