//! Guest-physical frames: the pool, what each frame is used for, reverse maps.
//!
//! Owns every frame of the guest-RAM pool handed to the engine: the free lists,
//! the shared zero page, each frame's use, and its reverse map (the set of
//! (address space, page) pairs whose entry maps it; its length is the mapcount).
//! Frames outside the pool (device windows) are not tracked here.
//!
//! Shadow hazards. KVM's shadow paging may keep a stale shadow of a page-table
//! frame after we stop using it as a table, and it would reuse that shadow if
//! the frame became a table again, without re-reading it (host writes are not
//! tracked; see ../shared/HOST-FACTS.md). So a frame freed from table use
//! remembers which entries were present when it was freed (its hazard). When it
//! is allocated as a table again, each hazardous slot gets a guest store of its
//! new value, which makes KVM drop the stale shadow entry. Table allocations
//! prefer clean frames and clean a hazardous one when they must take it.
//!
//! A hazardous frame must not become a data frame while KVM may shadow it:
//! KVM write-protects the pages it shadows as (upper-level) tables, so a
//! guest store to such a data page is emulated, and when the same
//! instruction faults on the same address again (the same memset at the same
//! address after a fork, say) KVM emulates without retrying, which fails for
//! the AVX stores glibc's memset uses ("KVM could not emulate"). So data
//! allocations take clean frames first; when only hazardous ones are left,
//! one is taken and a shadow flush becomes due (`shadow_flush_due`): the VMM
//! drops all of KVM's shadow pages before the guest runs again and calls
//! `shadow_flushed`, after which no frame is hazardous.
//!
//! Invariants: a frame is on a free list iff its use is `Free`; the zero frame
//! is never freed and has no reverse map; mapcount == rmap length.

use crate::addr::{Frame, Page};
use crate::cowvec::{CowVec, Source};
use crate::objects::ObjectId;
use crate::space::AsId;
use smallvec::SmallVec;

/// Entries of a table frame that may be stale in KVM's shadow (bit per slot).
pub type HazardBits = Box<[u64; 8]>;

/// What a frame is used for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FrameUse {
    Free,
    /// The shared zero page: mapped read-only wherever an anonymous page was only read.
    Zero,
    /// A page table of address space `owner` at `level` (4 = PML4 .. 1 = PT).
    PageTable {
        owner: AsId,
        level: u8,
    },
    /// A private anonymous page (also a private COW copy of a file page).
    Anon,
    /// Page `index` of memory object `obj`'s page cache.
    Cache {
        obj: ObjectId,
        index: u64,
    },
}

#[derive(Clone, Debug)]
struct FrameInfo {
    use_: FrameUse,
    /// Inline for the usual single mapping: no allocation per frame, which
    /// keeps cloning and decoding the table (VM fork, restore) cheap.
    rmap: SmallVec<[(AsId, Page); 1]>,
    hazard: Option<HazardBits>,
}

/// Serde for the frame records as one byte string: a restored VM decodes
/// hundreds of thousands of them with a plain loop instead of serde's
/// per-field visitors (the difference is most of a lazy restore's time to the
/// first guest instruction). Per record, little-endian: a use tag (0 free,
/// 1 zero, 2 table + u32 owner + u8 level, 3 anon, 4 cache + u32 object +
/// u64 index), u32 rmap length + (u32 space, u64 page) each, and u8 0 or 1 +
/// eight u64 of hazard bits. Decoding checks every length (an untrusted
/// snapshot can make it fail, not panic).
mod records {
    use super::{FrameInfo, FrameUse};
    use crate::addr::Page;
    use crate::cowvec::{CowVec, Source, CHUNK};
    use crate::objects::ObjectId;
    use crate::space::AsId;
    use serde::{de, Deserializer, Serializer};
    use smallvec::SmallVec;

    pub fn serialize<S: Serializer>(v: &CowVec<FrameInfo>, s: S) -> Result<S::Ok, S::Error> {
        let mut b = Vec::with_capacity(v.len() * 20 + 8);
        b.extend_from_slice(&(v.len() as u64).to_le_bytes());
        for fi in v.iter() {
            match fi.use_ {
                FrameUse::Free => b.push(0),
                FrameUse::Zero => b.push(1),
                FrameUse::PageTable { owner, level } => {
                    b.push(2);
                    b.extend_from_slice(&owner.0.to_le_bytes());
                    b.push(level);
                }
                FrameUse::Anon => b.push(3),
                FrameUse::Cache { obj, index } => {
                    b.push(4);
                    b.extend_from_slice(&obj.0.to_le_bytes());
                    b.extend_from_slice(&index.to_le_bytes());
                }
            }
            b.extend_from_slice(&(fi.rmap.len() as u32).to_le_bytes());
            for (a, p) in &fi.rmap {
                b.extend_from_slice(&a.0.to_le_bytes());
                b.extend_from_slice(&p.number().to_le_bytes());
            }
            match &fi.hazard {
                None => b.push(0),
                Some(h) => {
                    b.push(1);
                    for w in h.iter() {
                        b.extend_from_slice(&w.to_le_bytes());
                    }
                }
            }
        }
        s.serialize_bytes(&b)
    }

    struct Reader<'a>(&'a [u8]);
    impl Reader<'_> {
        fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
            let (h, t) = self.0.split_first_chunk::<N>()?;
            self.0 = t;
            Some(*h)
        }
        fn u8(&mut self) -> Option<u8> {
            self.take::<1>().map(|b| b[0])
        }
        fn u32(&mut self) -> Option<u32> {
            self.take::<4>().map(u32::from_le_bytes)
        }
        fn u64(&mut self) -> Option<u64> {
            self.take::<8>().map(u64::from_le_bytes)
        }
        fn skip(&mut self, n: usize) -> Option<()> {
            self.0 = self.0.get(n..)?;
            Some(())
        }
    }

    /// One record (see the module's encoding).
    fn record(r: &mut Reader) -> Option<FrameInfo> {
        let use_ = match r.u8()? {
            0 => FrameUse::Free,
            1 => FrameUse::Zero,
            2 => FrameUse::PageTable { owner: AsId(r.u32()?), level: r.u8()? },
            3 => FrameUse::Anon,
            4 => FrameUse::Cache { obj: ObjectId(r.u32()?), index: r.u64()? },
            _ => return None,
        };
        let len = r.u32()? as usize;
        // Each entry takes 12 bytes: a length beyond the input is garbage.
        if len > r.0.len() / 12 {
            return None;
        }
        let mut rmap = SmallVec::with_capacity(len);
        for _ in 0..len {
            rmap.push((AsId(r.u32()?), Page::new(r.u64()?)));
        }
        let hazard = match r.u8()? {
            0 => None,
            1 => {
                let mut h = Box::new([0u64; 8]);
                for w in h.iter_mut() {
                    *w = r.u64()?;
                }
                Some(h)
            }
            _ => return None,
        };
        Some(FrameInfo { use_, rmap, hazard })
    }

    /// Skips one record, checking it exactly as `record` would (no allocation).
    fn skip(r: &mut Reader) -> Option<()> {
        let n = match r.u8()? {
            0 | 1 | 3 => 0,
            2 => 5,
            4 => 12,
            _ => return None,
        };
        r.skip(n)?;
        let len = r.u32()? as usize;
        r.skip(len.checked_mul(12)?)?;
        match r.u8()? {
            0 => Some(()),
            1 => r.skip(64),
            _ => None,
        }
    }

    /// Every record of one chunk's bytes.
    fn decode_chunk(b: &[u8]) -> Option<Vec<FrameInfo>> {
        let mut r = Reader(b);
        let mut out = Vec::with_capacity(CHUNK);
        while !r.0.is_empty() {
            out.push(record(&mut r)?);
        }
        Some(out)
    }

    fn decode(b: &[u8]) -> Option<CowVec<FrameInfo>> {
        let mut r = Reader(b);
        let n = r.u64()?;
        let mut out = CowVec::default();
        for _ in 0..n {
            out.push(record(&mut r)?);
        }
        r.0.is_empty().then_some(out)
    }

    /// The records in `b`, which lies at `at` in `src`, left encoded: one
    /// validating pass finds each chunk's byte range; chunks decode on first use.
    fn decode_lazily(src: &Source, at: usize, b: &[u8]) -> Option<CowVec<FrameInfo>> {
        let mut r = Reader(b);
        let n = usize::try_from(r.u64()?).ok()?;
        // Each record takes at least 6 bytes: a count beyond the input is garbage.
        if n > r.0.len() / 6 {
            return None;
        }
        let mut ranges = Vec::with_capacity(n.div_ceil(CHUNK));
        let mut start = b.len() - r.0.len();
        for i in 0..n {
            skip(&mut r)?;
            if (i + 1) % CHUNK == 0 || i + 1 == n {
                let end = b.len() - r.0.len();
                ranges.push(at + start..at + end);
                start = end;
            }
        }
        if !r.0.is_empty() {
            return None;
        }
        CowVec::from_encoded(src.clone(), ranges, n, decode_chunk)
    }

    thread_local! {
        /// The bytes being deserialized, when the caller lets the records
        /// stay encoded in them (`super::decode_lazily_from`).
        pub(super) static SOURCE: std::cell::RefCell<Option<Source>> = const { std::cell::RefCell::new(None) };
    }

    struct V;
    impl<'de> de::Visitor<'de> for V {
        type Value = CowVec<FrameInfo>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "encoded frame records")
        }
        fn visit_borrowed_bytes<E: de::Error>(self, b: &'de [u8]) -> Result<Self::Value, E> {
            let lazy = SOURCE.with(|s| {
                let s = s.borrow();
                let src = s.as_ref()?;
                let whole: &[u8] = (**src).as_ref();
                // Only bytes inside the source can stay encoded in it.
                let at = (b.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
                (at.checked_add(b.len())? <= whole.len()).then(|| decode_lazily(src, at, b))
            });
            match lazy {
                Some(v) => v.ok_or_else(|| E::custom("malformed frame records")),
                None => self.visit_bytes(b),
            }
        }
        fn visit_bytes<E: de::Error>(self, b: &[u8]) -> Result<Self::Value, E> {
            decode(b).ok_or_else(|| E::custom("malformed frame records"))
        }
        fn visit_byte_buf<E: de::Error>(self, b: Vec<u8>) -> Result<Self::Value, E> {
            self.visit_bytes(&b)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<CowVec<FrameInfo>, D::Error> {
        d.deserialize_bytes(V)
    }
}

/// Runs `f` (a deserialization of engine state from `src`'s bytes) so that
/// the frame records stay encoded in `src` and decode chunk by chunk on
/// first use; `src` is kept alive by them. Frame tables deserialized from
/// other bytes are decoded at once as usual.
pub fn decode_lazily_from<R>(src: Source, f: impl FnOnce() -> R) -> R {
    records::SOURCE.with(|s| *s.borrow_mut() = Some(src));
    let r = f();
    records::SOURCE.with(|s| *s.borrow_mut() = None);
    r
}

impl FrameTable {
    /// Chunks of frame records still encoded (never used since the restore).
    pub fn encoded_chunks(&self) -> usize {
        self.info.encoded_chunks()
    }
}

/// The pool ran out of frames.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("out of guest memory: all {pool} frames of the pool are in use")]
pub struct OutOfFrames {
    pub pool: u64,
}

/// The frame pool of guest RAM.
///
/// Records exist only for frames that were ever handed out: frames at or
/// above `fresh` have never been used (free and clean), so creating a pool
/// costs nothing per frame however large guest RAM is.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FrameTable {
    first: Frame,
    count: u64,
    /// Shared chunk-wise with clones (a forked VM's engine): see `cowvec`.
    #[serde(with = "records")]
    info: CowVec<FrameInfo>,
    /// Index of the first never-used frame (== info.len()).
    fresh: u64,
    free_clean: Vec<Frame>,
    free_hazard: Vec<Frame>,
    zero: Frame,
    /// Table frames handed out with a hazard to clean (a counter for run
    /// reports; not saved in images).
    #[serde(skip)]
    hazardous_reuses: u64,
    /// Hazardous frames handed out as data: each made a shadow flush due
    /// (a counter for run reports; not saved in images).
    #[serde(skip)]
    hazardous_data: u64,
    /// A hazardous frame became data (or the kernel saw a stale shadow):
    /// KVM's shadow pages must be dropped before the guest runs again. Not
    /// saved: a restored image runs in a VM whose KVM has no shadows yet.
    #[serde(skip)]
    flush_due: bool,
    /// Testing aid for one control test (`vmm run --inject
    /// skip-table-hazards`): hazardous frames become tables without their
    /// cleaning stores, i.e. the hazard rule is broken. Never saved.
    #[serde(skip)]
    skip_hazards: bool,
}

/// Counts of frames by use, for reports and leak checks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameCounts {
    pub total: u64,
    pub free: u64,
    pub tables: u64,
    pub anon: u64,
    pub cache: u64,
}

impl FrameTable {
    /// A pool of the frames `first .. first + count`; the first one becomes the zero page.
    /// The caller zeroes the zero page's memory.
    pub fn new(first: Frame, count: u64) -> Self {
        assert!(count >= 2, "a frame pool needs at least the zero page and one more frame");
        let mut info = CowVec::default();
        info.push(FrameInfo { use_: FrameUse::Zero, rmap: SmallVec::new(), hazard: None });
        FrameTable {
            first,
            count,
            info,
            fresh: 1,
            free_clean: Vec::new(),
            free_hazard: Vec::new(),
            zero: first,
            hazardous_reuses: 0,
            hazardous_data: 0,
            flush_due: false,
            skip_hazards: false,
        }
    }

    /// Takes a never-used frame, creating its record.
    fn take_fresh(&mut self) -> Option<Frame> {
        if self.fresh >= self.count {
            return None;
        }
        let f = Frame::new(self.first.number() + self.fresh);
        self.info.push(FrameInfo { use_: FrameUse::Free, rmap: SmallVec::new(), hazard: None });
        self.fresh += 1;
        Some(f)
    }

    pub fn zero_frame(&self) -> Frame {
        self.zero
    }

    /// Whether `f` belongs to the pool.
    pub fn contains(&self, f: Frame) -> bool {
        f.number() >= self.first.number() && f.number() - self.first.number() < self.count
    }

    /// Index of the record of `f`, if it has one (it was used at least once).
    fn idx(&self, f: Frame) -> Option<usize> {
        let i = f.number().checked_sub(self.first.number())?;
        if i < self.fresh {
            Some(i as usize)
        } else {
            None
        }
    }

    fn info(&self, f: Frame) -> Option<&FrameInfo> {
        self.idx(f).map(|i| &self.info[i])
    }

    fn info_mut(&mut self, f: Frame) -> Option<&mut FrameInfo> {
        self.idx(f).map(move |i| &mut self.info[i])
    }

    /// The use of a pool frame; None for frames outside the pool.
    pub fn use_of(&self, f: Frame) -> Option<FrameUse> {
        match self.info(f) {
            Some(i) => Some(i.use_),
            None if self.contains(f) => Some(FrameUse::Free),
            None => None,
        }
    }

    /// Table frames handed out so far that carried a hazard (each cleaned
    /// with guest stores of its stale slots).
    pub fn hazardous_reuses(&self) -> u64 {
        self.hazardous_reuses
    }

    /// Hazardous frames handed out as data so far (each made a flush due).
    pub fn hazardous_data(&self) -> u64 {
        self.hazardous_data
    }

    /// Whether KVM's shadow pages must be dropped before the guest runs again.
    pub fn shadow_flush_due(&self) -> bool {
        self.flush_due
    }

    /// Asks for a shadow flush (the kernel saw a translation KVM kept stale).
    pub fn request_shadow_flush(&mut self) {
        self.flush_due = true;
    }

    /// KVM's shadow pages were all dropped: no frame is hazardous any more.
    pub fn shadow_flushed(&mut self) {
        self.flush_due = false;
        for i in 0..self.info.len() {
            if self.info.get(i).is_some_and(|fi| fi.hazard.is_some()) {
                if let Some(fi) = self.info.get_mut(i) {
                    fi.hazard = None;
                }
            }
        }
        self.free_clean.append(&mut self.free_hazard);
    }

    /// Testing aid (see the field): stop cleaning hazards.
    #[doc(hidden)]
    pub fn set_skip_hazards(&mut self, on: bool) {
        self.skip_hazards = on;
    }

    /// Frames left for allocation.
    pub fn free_count(&self) -> u64 {
        (self.free_clean.len() + self.free_hazard.len()) as u64 + (self.count - self.fresh)
    }

    /// Allocates a data frame (anon or page cache). The caller fills it.
    /// Clean frames first; a hazardous one makes a shadow flush due.
    pub fn alloc_data(&mut self, use_: FrameUse) -> Result<Frame, OutOfFrames> {
        debug_assert!(matches!(use_, FrameUse::Anon | FrameUse::Cache { .. }));
        let pool = self.count;
        let f = match self.free_clean.pop().or_else(|| self.take_fresh()) {
            Some(f) => f,
            None => {
                let f = self.free_hazard.pop().ok_or(OutOfFrames { pool })?;
                self.hazardous_data += 1;
                self.flush_due = true;
                f
            }
        };
        if let Some(i) = self.info_mut(f) {
            i.use_ = use_;
        }
        Ok(f)
    }

    /// Allocates a page-table frame. Returns the hazard the caller must clean
    /// with guest stores while it writes the new table.
    pub fn alloc_table(&mut self, owner: AsId, level: u8) -> Result<(Frame, Option<HazardBits>), OutOfFrames> {
        let pool = self.count;
        let f = match self.free_clean.pop().or_else(|| self.take_fresh()) {
            Some(f) => f,
            None => self.free_hazard.pop().ok_or(OutOfFrames { pool })?,
        };
        let mut hazard = None;
        if let Some(i) = self.info_mut(f) {
            i.use_ = FrameUse::PageTable { owner, level };
            hazard = i.hazard.take();
        }
        if hazard.is_some() {
            self.hazardous_reuses += 1;
            if self.skip_hazards {
                hazard = None;
            }
        }
        Ok((f, hazard))
    }

    /// Returns a table frame to the pool, remembering the slots that were present.
    pub fn free_table(&mut self, f: Frame, present_slots: HazardBits) {
        let has_hazard = present_slots.iter().any(|w| *w != 0);
        if let Some(i) = self.info_mut(f) {
            debug_assert!(matches!(i.use_, FrameUse::PageTable { .. }));
            i.use_ = FrameUse::Free;
            i.hazard = if has_hazard { Some(present_slots) } else { None };
        } else {
            return;
        }
        if has_hazard {
            self.free_hazard.push(f);
        } else {
            self.free_clean.push(f);
        }
    }

    /// Returns a data frame to the pool. It must have no mappings left.
    pub fn free_data(&mut self, f: Frame) {
        let Some(i) = self.info_mut(f) else { return };
        debug_assert!(i.rmap.is_empty(), "freeing {f:?} with mappings {:?}", i.rmap);
        debug_assert!(matches!(i.use_, FrameUse::Anon | FrameUse::Cache { .. }));
        i.use_ = FrameUse::Free;
        let hazardous = i.hazard.is_some();
        if hazardous {
            self.free_hazard.push(f);
        } else {
            self.free_clean.push(f);
        }
    }

    /// Changes a data frame's use (e.g. a cache page handed over as anon by MADV_REMOVE paths).
    pub fn set_use(&mut self, f: Frame, use_: FrameUse) {
        if let Some(i) = self.info_mut(f) {
            i.use_ = use_;
        }
    }

    /// Records that (space, page) maps `f`. The zero page and frames outside
    /// the pool are not reverse-mapped.
    pub fn add_map(&mut self, f: Frame, space: AsId, page: Page) {
        if f == self.zero {
            return;
        }
        if let Some(i) = self.info_mut(f) {
            i.rmap.push((space, page));
        }
    }

    /// Removes (space, page) from `f`'s reverse map; returns the mapcount left.
    pub fn remove_map(&mut self, f: Frame, space: AsId, page: Page) -> usize {
        if f == self.zero {
            return 1;
        }
        let Some(i) = self.info_mut(f) else { return 1 };
        if let Some(pos) = i.rmap.iter().position(|e| *e == (space, page)) {
            i.rmap.swap_remove(pos);
        } else {
            debug_assert!(false, "{f:?} not mapped by {space:?} at {page:?}");
        }
        i.rmap.len()
    }

    /// Moves a reverse-map entry (mremap moving a page).
    pub fn move_map(&mut self, f: Frame, space: AsId, from: Page, to: Page) {
        if f == self.zero {
            return;
        }
        if let Some(i) = self.info_mut(f) {
            if let Some(e) = i.rmap.iter_mut().find(|e| **e == (space, from)) {
                e.1 = to;
            }
        }
    }

    /// Number of entries that map `f` (0 for frames outside the pool).
    pub fn mapcount(&self, f: Frame) -> usize {
        self.info(f).map_or(0, |i| i.rmap.len())
    }

    /// The reverse map of `f`.
    pub fn rmap(&self, f: Frame) -> &[(AsId, Page)] {
        self.info(f).map_or(&[], |i| &i.rmap)
    }

    /// Counts frames by use.
    /// Frames in the pool (without walking the records, unlike `counts`).
    pub fn total(&self) -> u64 {
        self.count
    }

    pub fn counts(&self) -> FrameCounts {
        let mut c = FrameCounts { total: self.count, free: self.count - self.fresh, ..Default::default() };
        for i in self.info.iter() {
            match i.use_ {
                FrameUse::Free => c.free += 1,
                FrameUse::Zero => {}
                FrameUse::PageTable { .. } => c.tables += 1,
                FrameUse::Anon => c.anon += 1,
                FrameUse::Cache { .. } => c.cache += 1,
            }
        }
        c
    }

    /// Every frame ever used and its use, in address order (for invariant checks).
    pub fn iter(&self) -> impl Iterator<Item = (Frame, FrameUse, &[(AsId, Page)])> + '_ {
        self.info.iter().enumerate().map(|(i, fi)| (Frame::new(self.first.number() + i as u64), fi.use_, fi.rmap.as_slice()))
    }

    /// Checks the table's own invariants.
    pub fn check(&self) -> Result<(), String> {
        if !self.info.check() {
            return Err("the frame records' chunks are malformed".into());
        }
        if self.info.len() as u64 != self.fresh || self.fresh > self.count {
            return Err(format!("{} frame records but {} frames handed out of {}", self.info.len(), self.fresh, self.count));
        }
        let mut on_lists = vec![false; self.info.len()];
        for f in self.free_clean.iter().chain(self.free_hazard.iter()) {
            let i = self.idx(*f).ok_or_else(|| format!("{f:?} on a free list is outside the pool"))?;
            if on_lists[i] {
                return Err(format!("{f:?} is on the free lists twice"));
            }
            on_lists[i] = true;
        }
        for (i, fi) in self.info.iter().enumerate() {
            let free = fi.use_ == FrameUse::Free;
            if free != on_lists[i] {
                return Err(format!("frame {:#x}: use {:?} but on free list = {}", self.first.number() + i as u64, fi.use_, on_lists[i]));
            }
            if free && !fi.rmap.is_empty() {
                return Err(format!("free frame {:#x} still has mappings {:?}", self.first.number() + i as u64, fi.rmap));
            }
            if matches!(fi.use_, FrameUse::PageTable { .. } | FrameUse::Zero) && !fi.rmap.is_empty() {
                return Err(format!("frame {:#x} ({:?}) has a reverse map", self.first.number() + i as u64, fi.use_));
            }
        }
        Ok(())
    }
}

/// Builds a hazard bitmap from a predicate over the 512 slots of a table.
pub fn hazard_from(mut present: impl FnMut(usize) -> bool) -> HazardBits {
    let mut bits = Box::new([0u64; 8]);
    for slot in 0..512 {
        if present(slot) {
            bits[slot / 64] |= 1 << (slot % 64);
        }
    }
    bits
}

/// The slots set in a hazard bitmap.
pub fn hazard_slots(bits: &HazardBits) -> impl Iterator<Item = usize> + '_ {
    (0..512).filter(move |s| bits[s / 64] & (1 << (s % 64)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_and_data_prefer_clean_frames() {
        let mut ft = FrameTable::new(Frame::new(100), 5);
        let a = AsId(1);
        let (t, h) = ft.alloc_table(a, 2).unwrap();
        assert!(h.is_none());
        ft.free_table(t, hazard_from(|s| s == 3));
        // A table allocation avoids the hazardous frame while clean ones remain.
        let (t2, h2) = ft.alloc_table(a, 1).unwrap();
        assert_ne!(t2, t);
        assert!(h2.is_none());
        // So does a data allocation, and no flush is due.
        let d = ft.alloc_data(FrameUse::Anon).unwrap();
        assert_ne!(d, t);
        assert!(!ft.shadow_flush_due());
        // When only the hazardous frame is left, a table takes it with its
        // hazard to clean.
        let _ = ft.alloc_data(FrameUse::Anon).unwrap();
        let (t3, h3) = ft.alloc_table(a, 1).unwrap();
        assert_eq!(t3, t);
        assert_eq!(hazard_slots(h3.as_ref().unwrap()).collect::<Vec<_>>(), vec![3]);
        assert!(!ft.shadow_flush_due());
        ft.check().unwrap();
    }

    #[test]
    fn a_hazardous_frame_becomes_data_only_with_a_shadow_flush_due() {
        let mut ft = FrameTable::new(Frame::new(100), 3);
        let a = AsId(1);
        let (t, _) = ft.alloc_table(a, 3).unwrap();
        let (u, _) = ft.alloc_table(a, 2).unwrap();
        ft.free_table(t, hazard_from(|s| s == 7));
        ft.free_table(u, hazard_from(|s| s < 2));
        assert!(!ft.shadow_flush_due());
        let d = ft.alloc_data(FrameUse::Anon).unwrap();
        assert!(d == t || d == u);
        assert!(ft.shadow_flush_due(), "KVM may still shadow the frame as a table");
        assert_eq!(ft.hazardous_data(), 1);
        // After the flush no frame is hazardous: free, or in data use.
        ft.shadow_flushed();
        assert!(!ft.shadow_flush_due());
        let (other, h) = ft.alloc_table(a, 1).unwrap();
        assert!(other == t || other == u);
        assert!(h.is_none(), "a freed frame kept its hazard across a flush");
        ft.free_data(d);
        let (again, h) = ft.alloc_table(a, 1).unwrap();
        assert_eq!(again, d);
        assert!(h.is_none(), "a data frame kept its hazard across a flush");
        assert!(!ft.shadow_flush_due());
        ft.check().unwrap();
    }

    #[test]
    fn pool_exhaustion_is_an_error() {
        let mut ft = FrameTable::new(Frame::new(0), 2);
        assert!(ft.alloc_data(FrameUse::Anon).is_ok());
        assert_eq!(ft.alloc_data(FrameUse::Anon), Err(OutOfFrames { pool: 2 }));
    }

    #[test]
    fn rmap_tracks_mapcount() {
        let mut ft = FrameTable::new(Frame::new(0), 3);
        let f = ft.alloc_data(FrameUse::Anon).unwrap();
        ft.add_map(f, AsId(1), Page::new(5));
        ft.add_map(f, AsId(2), Page::new(5));
        assert_eq!(ft.mapcount(f), 2);
        assert_eq!(ft.remove_map(f, AsId(1), Page::new(5)), 1);
        ft.check().unwrap();
    }
}
