//! One address space's 4-level x86-64 page tables, in guest RAM.
//!
//! Owns the table frames of one address space and a host-side mirror of every
//! entry the engine wrote. The mirror is the authority: the guest can never
//! make the engine believe something by corrupting its page tables. Only the
//! Accessed and Dirty bits, which the MMU sets, are read back from guest RAM.
//!
//! Every write goes to guest RAM at once. If the previous value of the entry
//! was present (the MMU may hold it), the write is also recorded in the update
//! batch so the guest shim repeats it and flushes the TLB (see `gather`).
//! Entries that go from not-present to anything need no guest store: KVM
//! re-walks the tables on the next fault there.
//!
//! Invariants: the mirror equals guest RAM apart from A/D bits; `used` counts
//! the non-zero entries of a node; the kernel half of the root (slots 256..512)
//! is written once at creation and never changed.
//!
//! Child nodes sit behind `Arc`: a clone of the tables (the engine of a
//! forked VM) shares every node and copies one only when it is first changed
//! (`Arc::make_mut`), so forking a VM does not copy the whole mirror.

use crate::addr::{Frame, PhysAddr, VirtAddr};
use crate::frames::{hazard_from, hazard_slots, FrameTable, HazardBits, OutOfFrames};
use crate::memory::{MemError, PhysMemory};
use crate::paging::gather::PteUpdates;
use crate::paging::pte::{Pte, PteFlags};
use crate::space::AsId;
use std::sync::Arc;

/// Flags of an upper-level entry linking a table: everything allowed, the leaf decides.
const LINK_FLAGS: PteFlags = PteFlags::PRESENT.union(PteFlags::WRITABLE).union(PteFlags::USER).union(PteFlags::ACCESSED);
const ENTRIES: usize = 512;
/// First root slot of the kernel half.
pub const KERNEL_SLOT0: usize = 256;

/// Failure to change page tables.
#[derive(Debug, thiserror::Error)]
pub enum PagingError {
    #[error(transparent)]
    OutOfFrames(#[from] OutOfFrames),
    #[error("guest RAM refused a page-table access")]
    Memory(#[from] MemError),
}

/// What page-table edits need: guest RAM, the frame pool, and the batch.
pub struct Ctx<'a, M: PhysMemory + ?Sized> {
    pub mem: &'a M,
    pub frames: &'a mut FrameTable,
    pub tlb: &'a mut PteUpdates,
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
enum Slots {
    Upper(#[serde(with = "boxed_array")] Box<[Option<Arc<Node>>; ENTRIES]>),
    Leaf(#[serde(with = "leaf_bytes")] Box<[u64; ENTRIES]>),
}

/// Serde for a leaf's 512 entries as 4096 little-endian bytes: decoding a
/// restored VM's mirror is then a copy, not 512 integer decodes per table.
mod leaf_bytes {
    use super::ENTRIES;
    use serde::{de, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(a: &[u64; ENTRIES], s: S) -> Result<S::Ok, S::Error> {
        let mut b = Vec::with_capacity(ENTRIES * 8);
        for v in a {
            b.extend_from_slice(&v.to_le_bytes());
        }
        s.serialize_bytes(&b)
    }

    struct V;
    impl<'de> de::Visitor<'de> for V {
        type Value = Box<[u64; ENTRIES]>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "{} bytes of page-table entries", ENTRIES * 8)
        }
        fn visit_bytes<E: de::Error>(self, b: &[u8]) -> Result<Self::Value, E> {
            if b.len() != ENTRIES * 8 {
                return Err(E::invalid_length(b.len(), &self));
            }
            let mut out = Box::new([0u64; ENTRIES]);
            for (o, c) in out.iter_mut().zip(b.chunks_exact(8)) {
                *o = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            }
            Ok(out)
        }
        fn visit_byte_buf<E: de::Error>(self, b: Vec<u8>) -> Result<Self::Value, E> {
            self.visit_bytes(&b)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Box<[u64; ENTRIES]>, D::Error> {
        d.deserialize_bytes(V)
    }
}

/// Serde for the 512-slot tables (serde's own arrays stop at 32): a sequence
/// that must have exactly `N` elements when read back.
mod boxed_array {
    use serde::{de::Error, Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize, const N: usize>(a: &[T; N], s: S) -> Result<S::Ok, S::Error> {
        a.as_slice().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>, const N: usize>(d: D) -> Result<Box<[T; N]>, D::Error> {
        let v: Vec<T> = Vec::deserialize(d)?;
        let len = v.len();
        v.into_boxed_slice().try_into().map_err(|_| D::Error::invalid_length(len, &"a full page-table node"))
    }
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Node {
    frame: Frame,
    used: u16,
    slots: Slots,
}

/// Index of `va` in a table of `level` (4 = PML4 .. 1 = PT).
fn index(va: VirtAddr, level: u8) -> usize {
    ((va.as_u64() >> (12 + 9 * (level as u32 - 1))) & 511) as usize
}

/// Bytes covered by one entry of a table at `level`.
fn span(level: u8) -> u64 {
    1u64 << (12 + 9 * (level as u32 - 1))
}

fn slot_addr(frame: Frame, idx: usize) -> PhysAddr {
    frame.start().add(idx as u64 * 8)
}

impl Node {
    fn new_upper(frame: Frame) -> Self {
        Node { frame, used: 0, slots: Slots::Upper(Box::new([const { None }; ENTRIES])) }
    }
    fn new_leaf(frame: Frame) -> Self {
        Node { frame, used: 0, slots: Slots::Leaf(Box::new([0; ENTRIES])) }
    }
}

/// The page tables of one address space.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct PageTables {
    owner: AsId,
    root: Node,
    kernel: Vec<(usize, u64)>,
}

/// A leaf entry found by a range walk.
#[derive(Copy, Clone, Debug)]
pub struct LeafEntry {
    pub va: VirtAddr,
    pub slot: PhysAddr,
    pub pte: Pte,
}

impl PageTables {
    /// Allocates a root table and writes the shared kernel entries into it.
    pub fn new<M: PhysMemory + ?Sized>(owner: AsId, kernel: &[(usize, u64)], cx: &mut Ctx<'_, M>) -> Result<Self, PagingError> {
        let frame = alloc_table(owner, 4, cx, |i| kernel.iter().find(|(k, _)| *k == i).map_or(0, |(_, v)| *v))?;
        let kernel = kernel.iter().copied().filter(|(i, _)| *i >= KERNEL_SLOT0 && *i < ENTRIES).collect();
        Ok(PageTables { owner, root: Node::new_upper(frame), kernel })
    }

    /// The root frame (what CR3 holds).
    pub fn root(&self) -> Frame {
        self.root.frame
    }

    pub fn owner(&self) -> AsId {
        self.owner
    }

    /// The entry for `va` as the engine last wrote it (None if no table exists).
    pub fn get(&self, va: VirtAddr) -> Pte {
        self.find_leaf(va).map_or(Pte::NONE, |(node, i)| match &node.slots {
            Slots::Leaf(e) => Pte::from_raw(e[i]),
            Slots::Upper(_) => Pte::NONE,
        })
    }

    /// The first `limit` leaf tables (by the start of the 2 MiB they cover)
    /// overlapping `[start, end)`, in address order; empty upper levels are
    /// skipped whole.
    pub fn leaf_tables_in(&self, start: VirtAddr, end: VirtAddr, limit: usize) -> Vec<VirtAddr> {
        let mut out = Vec::new();
        if start < end && limit > 0 {
            collect_tables(&self.root, 4, 0, start.as_u64(), end.as_u64(), limit, &mut out);
        }
        out
    }

    /// Guest-physical address of `va`'s leaf slot, if its table exists.
    pub fn slot_of(&self, va: VirtAddr) -> Option<PhysAddr> {
        self.find_leaf(va).map(|(n, i)| slot_addr(n.frame, i))
    }

    fn find_leaf(&self, va: VirtAddr) -> Option<(&Node, usize)> {
        let mut node = &self.root;
        for level in (2..=4).rev() {
            match &node.slots {
                Slots::Upper(c) => node = c[index(va, level)].as_deref()?,
                Slots::Leaf(_) => return None,
            }
        }
        Some((node, index(va, 1)))
    }

    /// Reads the MMU-set Accessed/Dirty bits of `va`'s entry from guest RAM.
    /// Everything else in the guest's copy is ignored.
    pub fn hw_bits<M: PhysMemory + ?Sized>(&self, va: VirtAddr, mem: &M) -> PteFlags {
        let Some(slot) = self.slot_of(va) else {
            return PteFlags::empty();
        };
        if !self.get(va).is_present() {
            return PteFlags::empty();
        }
        mem.read_u64(slot).map_or(PteFlags::empty(), |v| PteFlags::from_bits_truncate(v) & (PteFlags::ACCESSED | PteFlags::DIRTY))
    }

    /// Sets the entry for `va` (a user address), creating tables as needed.
    /// Returns the previous entry.
    pub fn set<M: PhysMemory + ?Sized>(&mut self, va: VirtAddr, new: Pte, cx: &mut Ctx<'_, M>) -> Result<Pte, PagingError> {
        debug_assert!(va.as_u64() < (1 << 47));
        let owner = self.owner;
        let mut node = &mut self.root;
        for level in (2..=4u8).rev() {
            let i = index(va, level);
            let needs_table = match &node.slots {
                Slots::Upper(c) => c[i].is_none(),
                Slots::Leaf(_) => unreachable!("upper levels hold Upper slots"),
            };
            if needs_table {
                if new.is_none() {
                    return Ok(Pte::NONE);
                }
                let child_level = level - 1;
                let frame = alloc_table(owner, child_level, cx, |_| 0)?;
                let child = if child_level == 1 { Node::new_leaf(frame) } else { Node::new_upper(frame) };
                // Not-present -> present: a host write is enough.
                let link = Pte::present(frame, LINK_FLAGS).raw();
                cx.mem.write_u64(slot_addr(node.frame, i), link)?;
                cx.tlb.refresh(slot_addr(node.frame, i), link);
                if let Slots::Upper(c) = &mut node.slots {
                    c[i] = Some(Arc::new(child));
                }
                node.used += 1;
            }
            node = match &mut node.slots {
                Slots::Upper(c) => c[i].as_mut().map(Arc::make_mut).expect("linked above"),
                Slots::Leaf(_) => unreachable!(),
            };
        }
        let i = index(va, 1);
        let Slots::Leaf(entries) = &mut node.slots else { unreachable!("level 1 is a leaf") };
        let old = Pte::from_raw(entries[i]);
        if old == new {
            return Ok(old);
        }
        let slot = slot_addr(node.frame, i);
        cx.mem.write_u64(slot, new.raw())?;
        entries[i] = new.raw();
        match (old.is_none(), new.is_none()) {
            (true, false) => node.used += 1,
            (false, true) => node.used -= 1,
            _ => {}
        }
        if old.is_present() {
            cx.tlb.store(slot, new.raw());
            cx.tlb.flush_page(owner, va);
        } else {
            cx.tlb.refresh(slot, new.raw());
        }
        Ok(old)
    }

    /// Every non-none leaf entry in `[start, end)`, in address order.
    pub fn entries_in(&self, start: VirtAddr, end: VirtAddr) -> Vec<LeafEntry> {
        self.first_entries_in(start, end, usize::MAX)
    }

    /// The first `limit` non-none leaf entries in `[start, end)`, in address
    /// order (a walk that may stop early need not gather a huge range).
    pub fn first_entries_in(&self, start: VirtAddr, end: VirtAddr, limit: usize) -> Vec<LeafEntry> {
        let mut out = Vec::new();
        if start < end && limit > 0 {
            collect(&self.root, 4, 0, start.as_u64(), end.as_u64(), limit, &mut out);
        }
        out
    }

    /// Frees leaf and intermediate tables in `[start, end)` that hold no
    /// entries any more (mirrors mm/memory.c free_pgtables, which frees tables
    /// of an unmapped range). Unlinking a table is a change to a present entry,
    /// so each unlink goes into the batch with a full flush of this space.
    pub fn free_empty<M: PhysMemory + ?Sized>(&mut self, start: VirtAddr, end: VirtAddr, cx: &mut Ctx<'_, M>) -> Result<(), PagingError> {
        if start >= end {
            return Ok(());
        }
        let owner = self.owner;
        let freed = prune(&mut self.root, 4, 0, start.as_u64(), end.as_u64(), cx)?;
        if freed {
            cx.tlb.flush_space(owner);
        }
        Ok(())
    }

    /// Releases every table frame (the address space is gone and its root is
    /// never loaded again). Leaf entries must already have been unmapped by the
    /// caller; their frames' reverse maps are not touched here.
    pub fn destroy(self, frames: &mut FrameTable) {
        let kernel = self.kernel;
        release(self.root, &kernel, frames);
    }

    /// Checks that guest RAM matches the mirror (apart from A/D bits) and the
    /// `used` counters. Returns the number of table frames.
    pub fn check<M: PhysMemory + ?Sized>(&self, mem: &M) -> Result<usize, String> {
        let mut tables = 0;
        check_node(&self.root, 4, &self.kernel, mem, &mut tables)?;
        Ok(tables)
    }

    /// The table frames, for leak checks.
    pub fn table_frames(&self) -> Vec<Frame> {
        let mut v = Vec::new();
        fn walk(n: &Node, v: &mut Vec<Frame>) {
            v.push(n.frame);
            if let Slots::Upper(c) = &n.slots {
                for ch in c.iter().flatten() {
                    walk(ch, v);
                }
            }
        }
        walk(&self.root, &mut v);
        v
    }
}

/// Allocates a table frame and writes its initial content `init(slot)`.
/// Slots that may be stale in KVM's shadow get a guest store (see `frames`).
fn alloc_table<M: PhysMemory + ?Sized>(
    owner: AsId,
    level: u8,
    cx: &mut Ctx<'_, M>,
    init: impl Fn(usize) -> u64,
) -> Result<Frame, PagingError> {
    let (frame, hazard) = cx.frames.alloc_table(owner, level)?;
    let mut page = [0u8; 4096];
    for i in 0..ENTRIES {
        page[i * 8..i * 8 + 8].copy_from_slice(&init(i).to_le_bytes());
    }
    cx.mem.write(frame.start(), &page)?;
    if let Some(h) = hazard {
        for s in hazard_slots(&h) {
            cx.tlb.store(slot_addr(frame, s), init(s));
        }
    }
    Ok(frame)
}

fn collect(node: &Node, level: u8, base: u64, start: u64, end: u64, limit: usize, out: &mut Vec<LeafEntry>) {
    let sp = span(level);
    let first = if start > base { ((start - base) / sp) as usize } else { 0 };
    for i in first..ENTRIES {
        let lo = base + i as u64 * sp;
        if lo >= end || out.len() >= limit {
            break;
        }
        if lo + sp <= start {
            continue;
        }
        match &node.slots {
            Slots::Leaf(e) => {
                if e[i] != 0 {
                    out.push(LeafEntry { va: VirtAddr::new(lo), slot: slot_addr(node.frame, i), pte: Pte::from_raw(e[i]) });
                }
            }
            Slots::Upper(c) => {
                if let Some(ch) = &c[i] {
                    collect(ch, level - 1, lo, start, end, limit, out);
                }
            }
        }
    }
}

fn collect_tables(node: &Node, level: u8, base: u64, start: u64, end: u64, limit: usize, out: &mut Vec<VirtAddr>) {
    let sp = span(level);
    let first = if start > base { ((start - base) / sp) as usize } else { 0 };
    let Slots::Upper(c) = &node.slots else { return };
    for (i, child) in c.iter().enumerate().skip(first) {
        let lo = base + i as u64 * sp;
        if lo >= end || out.len() >= limit {
            break;
        }
        let Some(ch) = child else { continue };
        if level == 2 {
            out.push(VirtAddr::new(lo));
        } else {
            collect_tables(ch, level - 1, lo, start, end, limit, out);
        }
    }
}

/// Unlinks empty child tables lying entirely in `[start, end)`. Returns whether any went.
fn prune<M: PhysMemory + ?Sized>(
    node: &mut Node,
    level: u8,
    base: u64,
    start: u64,
    end: u64,
    cx: &mut Ctx<'_, M>,
) -> Result<bool, PagingError> {
    let Slots::Upper(children) = &mut node.slots else {
        return Ok(false);
    };
    let sp = span(level);
    let mut freed = false;
    let first = if start > base { ((start - base) / sp) as usize } else { 0 };
    for i in first..ENTRIES {
        let lo = base + i as u64 * sp;
        if lo >= end {
            break;
        }
        if level == 4 && i >= KERNEL_SLOT0 {
            break;
        }
        let Some(child) = children[i].as_mut().map(Arc::make_mut) else {
            continue;
        };
        if level - 1 > 1 {
            freed |= prune(child, level - 1, lo, start, end, cx)?;
        }
        let covered = lo >= start && lo + sp <= end;
        if covered && child.used == 0 {
            let slot = slot_addr(node.frame, i);
            cx.mem.write_u64(slot, 0)?;
            cx.tlb.store(slot, 0);
            let child = children[i].take().expect("checked above");
            node.used -= 1;
            release(Arc::unwrap_or_clone(child), &[], cx.frames);
            freed = true;
        }
    }
    Ok(freed)
}

fn release(node: Node, kernel: &[(usize, u64)], frames: &mut FrameTable) {
    let hazard: HazardBits = match &node.slots {
        Slots::Leaf(e) => hazard_from(|s| Pte::from_raw(e[s]).is_present()),
        Slots::Upper(c) => hazard_from(|s| c[s].is_some() || kernel.iter().any(|(k, v)| *k == s && *v & 1 != 0)),
    };
    if let Slots::Upper(children) = node.slots {
        for ch in children.into_iter().flatten() {
            release(Arc::unwrap_or_clone(ch), &[], frames);
        }
    }
    frames.free_table(node.frame, hazard);
}

fn check_node<M: PhysMemory + ?Sized>(node: &Node, level: u8, kernel: &[(usize, u64)], mem: &M, tables: &mut usize) -> Result<(), String> {
    *tables += 1;
    let mut guest = [0u8; 4096];
    mem.read(node.frame.start(), &mut guest).map_err(|e| e.to_string())?;
    let g = |i: usize| u64::from_le_bytes(guest[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    let ad = (PteFlags::ACCESSED | PteFlags::DIRTY).bits();
    let mut used = 0u16;
    match &node.slots {
        Slots::Leaf(e) => {
            for (i, v) in e.iter().enumerate() {
                let got = g(i);
                if (got & !ad) != (v & !ad) {
                    return Err(format!("leaf {:?} slot {i}: guest has {got:#x}, engine wrote {v:#x}", node.frame));
                }
                if *v != 0 {
                    used += 1;
                }
            }
        }
        Slots::Upper(c) => {
            for (i, ch) in c.iter().enumerate() {
                let got = g(i);
                let want = match ch {
                    Some(ch) => Pte::present(ch.frame, LINK_FLAGS).raw(),
                    None if level == 4 && i >= KERNEL_SLOT0 => kernel.iter().find(|(k, _)| *k == i).map_or(0, |(_, v)| *v),
                    None => 0,
                };
                if (got & !ad) != (want & !ad) {
                    return Err(format!("level-{level} table {:?} slot {i}: guest has {got:#x}, engine expects {want:#x}", node.frame));
                }
                if let Some(ch) = ch {
                    used += 1;
                    check_node(ch, level - 1, &[], mem, tables)?;
                }
            }
        }
    }
    if used != node.used {
        return Err(format!("table {:?}: used counter {} but {} entries", node.frame, node.used, used));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vm_memory::{GuestAddress, GuestMemoryMmap};

    fn setup() -> (GuestMemoryMmap<()>, FrameTable) {
        let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 64 * 4096)]).unwrap();
        (mem, FrameTable::new(Frame::new(1), 63))
    }

    #[test]
    fn set_then_get_and_guest_ram_matches() {
        let (mem, mut frames) = setup();
        let mut tlb = PteUpdates::new();
        let mut cx = Ctx { mem: &mem, frames: &mut frames, tlb: &mut tlb };
        let mut pt = PageTables::new(AsId(1), &[(511, 0x1234_5003)], &mut cx).unwrap();
        let va = VirtAddr::new(0x7fff_0000_1000);
        let pte = Pte::present(Frame::new(40), PteFlags::USER | PteFlags::WRITABLE);
        assert_eq!(pt.set(va, pte, &mut cx).unwrap(), Pte::NONE);
        assert_eq!(pt.get(va), pte);
        assert_eq!(mem.read_u64(pt.slot_of(va).unwrap()).unwrap(), pte.raw());
        assert_eq!(pt.check(&mem).unwrap(), 4);
        assert!(tlb.is_empty(), "not-present -> present needs no guest store");
    }

    #[test]
    fn changing_a_present_entry_records_a_guest_store_and_flush() {
        let (mem, mut frames) = setup();
        let mut tlb = PteUpdates::new();
        let mut cx = Ctx { mem: &mem, frames: &mut frames, tlb: &mut tlb };
        let mut pt = PageTables::new(AsId(1), &[], &mut cx).unwrap();
        let va = VirtAddr::new(0x40_0000);
        pt.set(va, Pte::present(Frame::new(40), PteFlags::USER), &mut cx).unwrap();
        pt.set(va, Pte::NONE, &mut cx).unwrap();
        let (stores, flush) = tlb.into_parts();
        assert_eq!(stores.len(), 1);
        assert_eq!(stores[0].value, 0);
        assert_eq!(flush.pages, vec![(AsId(1), va)]);
    }

    #[test]
    fn free_empty_unlinks_tables_and_reused_frames_carry_hazards() {
        let (mem, mut frames) = setup();
        let before = frames.free_count();
        let mut tlb = PteUpdates::new();
        let mut cx = Ctx { mem: &mem, frames: &mut frames, tlb: &mut tlb };
        let mut pt = PageTables::new(AsId(1), &[], &mut cx).unwrap();
        let va = VirtAddr::new(0x40_0000);
        pt.set(va, Pte::present(Frame::new(40), PteFlags::USER), &mut cx).unwrap();
        pt.set(va, Pte::NONE, &mut cx).unwrap();
        pt.free_empty(VirtAddr::new(0), VirtAddr::new(1 << 47), &mut cx).unwrap();
        assert_eq!(pt.check(&mem).unwrap(), 1, "only the root is left");
        assert_eq!(cx.frames.free_count(), before - 1);
        let (_, flush) = tlb.into_parts();
        assert_eq!(flush.spaces, vec![AsId(1)]);
        pt.destroy(&mut frames);
        assert_eq!(frames.free_count(), before);
    }

    #[test]
    fn entries_in_walks_only_the_range() {
        let (mem, mut frames) = setup();
        let mut tlb = PteUpdates::new();
        let mut cx = Ctx { mem: &mem, frames: &mut frames, tlb: &mut tlb };
        let mut pt = PageTables::new(AsId(1), &[], &mut cx).unwrap();
        for p in [0x1000u64, 0x2000, 0x3000, 0x20_0000] {
            pt.set(VirtAddr::new(p), Pte::guard(), &mut cx).unwrap();
        }
        let got: Vec<u64> = pt.entries_in(VirtAddr::new(0x2000), VirtAddr::new(0x20_1000)).iter().map(|e| e.va.as_u64()).collect();
        assert_eq!(got, vec![0x2000, 0x3000, 0x20_0000]);
    }
}
