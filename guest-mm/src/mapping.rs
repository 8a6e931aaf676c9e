//! Installing and clearing entries that map frames, with exact reverse maps.
//!
//! Owns the rule that every entry mapping a pool frame appears in that frame's
//! reverse map, and that a private anonymous frame is freed when its last
//! mapping goes (zap_pte_range's job in Linux). Page-cache frames stay in their
//! object's cache; device frames are outside the pool and never freed here.

use crate::addr::{Frame, VirtAddr};
use crate::frames::{FrameTable, FrameUse};
use crate::memory::PhysMemory;
use crate::paging::{Ctx, PageTables, PagingError, Pte, PteKind};

/// Which entries a range zap removes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ZapMode {
    /// Everything, markers included (munmap, exit).
    All,
    /// Pages only; guard and revoked markers stay (MADV_DONTNEED, truncation).
    KeepMarkers,
}

/// Sets the entry at `va` to `new`, which maps `frame` (if any); releases
/// whatever the old entry mapped. Returns the old entry.
pub fn replace<M: PhysMemory + ?Sized>(tables: &mut PageTables, va: VirtAddr, new: Pte, cx: &mut Ctx<'_, M>) -> Result<Pte, PagingError> {
    let owner = tables.owner();
    if let Some(f) = new.frame() {
        cx.frames.add_map(f, owner, va.page());
    }
    let old = tables.set(va, new, cx)?;
    if let Some(f) = old.frame() {
        release(cx.frames, f, owner, va);
    }
    Ok(old)
}

/// Drops one mapping of `f`; frees a private anonymous frame with no mapping left.
pub fn release(frames: &mut FrameTable, f: Frame, owner: crate::space::AsId, va: VirtAddr) {
    let left = frames.remove_map(f, owner, va.page());
    if left == 0 && frames.use_of(f) == Some(FrameUse::Anon) {
        frames.free_data(f);
    }
}

/// Zaps the entries in `[start, end)` according to `mode`. Returns how many
/// mapped pages went.
pub fn zap_range<M: PhysMemory + ?Sized>(
    tables: &mut PageTables,
    start: VirtAddr,
    end: VirtAddr,
    mode: ZapMode,
    cx: &mut Ctx<'_, M>,
) -> Result<u64, PagingError> {
    let mut pages = 0;
    for e in tables.entries_in(start, end) {
        let keep = matches!((mode, e.pte.kind()), (ZapMode::KeepMarkers, PteKind::Marker(_)));
        if keep {
            continue;
        }
        if e.pte.maps_frame() {
            pages += 1;
        }
        replace(tables, e.va, Pte::NONE, cx)?;
    }
    Ok(pages)
}
