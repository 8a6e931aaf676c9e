//! A vector whose clones share storage until written (chunked copy-on-write),
//! and whose chunks may stay encoded until first used.
//!
//! Owns `CowVec<T>`: elements live in fixed chunks of 512 behind `Arc`s.
//! Cloning copies one pointer per chunk; the first write to a chunk in a
//! clone copies that chunk only (`Arc::make_mut`). This is what keeps a
//! whole-VM fork's copy of the frame table nearly independent of guest RAM
//! size: children share every chunk they never touch, like the host shares
//! unwritten guest pages.
//!
//! A vector restored from a snapshot (`from_encoded`) keeps each chunk as a
//! range of the encoded bytes and decodes it on first access, once for every
//! clone sharing it: a restored VM pays for the records it uses, not for the
//! hundreds of thousands it may never touch (the lazy restore's time to the
//! first guest instruction). The caller validates the encoding up front, so a
//! chunk's decode cannot fail later.
//!
//! Invariant: every chunk but the last holds exactly `CHUNK` elements
//! (decoded or not).

use std::ops::{Index, IndexMut, Range};
use std::sync::{Arc, OnceLock};

/// Elements per chunk.
pub const CHUNK: usize = 512;

/// Bytes that encoded chunks refer to (a snapshot's state, kept alive by
/// every chunk not yet decoded).
pub type Source = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// Decodes one chunk's bytes into exactly its elements.
pub type Decoder<T> = fn(&[u8]) -> Option<Vec<T>>;

struct Encoded<T> {
    src: Source,
    range: Range<usize>,
    decode: Decoder<T>,
}

impl<T> Clone for Encoded<T> {
    fn clone(&self) -> Self {
        Encoded { src: self.src.clone(), range: self.range.clone(), decode: self.decode }
    }
}

struct Chunk<T> {
    data: OnceLock<Vec<T>>,
    encoded: Option<Encoded<T>>,
}

impl<T: Clone> Clone for Chunk<T> {
    fn clone(&self) -> Self {
        // Only called by `Arc::make_mut` after `force`: copy the elements.
        Chunk { data: self.data.clone(), encoded: self.encoded.clone() }
    }
}

impl<T> Chunk<T> {
    fn decoded(v: Vec<T>) -> Self {
        Chunk { data: OnceLock::from(v), encoded: None }
    }

    fn force(&self) -> &Vec<T> {
        self.data.get_or_init(|| match &self.encoded {
            Some(e) => {
                let bytes: &[u8] = (*e.src).as_ref();
                // The encoding was validated when the vector was built.
                bytes.get(e.range.clone()).and_then(e.decode).expect("a chunk validated by from_encoded decodes")
            }
            None => Vec::new(),
        })
    }
}

pub struct CowVec<T> {
    chunks: Vec<Arc<Chunk<T>>>,
    len: usize,
}

impl<T: Clone> Clone for CowVec<T> {
    fn clone(&self) -> Self {
        CowVec { chunks: self.chunks.clone(), len: self.len }
    }
}

impl<T: Clone + std::fmt::Debug> std::fmt::Debug for CowVec<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T> Default for CowVec<T> {
    fn default() -> Self {
        CowVec { chunks: Vec::new(), len: 0 }
    }
}

impl<T: Clone> CowVec<T> {
    /// A vector of `len` elements whose chunk `k` is encoded in
    /// `src[ranges[k]]`, decoded by `decode` on first access. The caller
    /// guarantees `decode` succeeds on every range with exactly `CHUNK`
    /// elements (fewer in the last). Returns None if the ranges do not fit
    /// `len` or `src`.
    pub fn from_encoded(src: Source, ranges: Vec<Range<usize>>, len: usize, decode: Decoder<T>) -> Option<Self> {
        let n = (*src).as_ref().len();
        if ranges.len() != len.div_ceil(CHUNK) || ranges.iter().any(|r| r.start > r.end || r.end > n) {
            return None;
        }
        let chunks = ranges
            .into_iter()
            .map(|range| Arc::new(Chunk { data: OnceLock::new(), encoded: Some(Encoded { src: src.clone(), range, decode }) }))
            .collect();
        Some(CowVec { chunks, len })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The chunk `k`, decoded and unshared, for writing.
    fn chunk_mut(&mut self, k: usize) -> &mut Vec<T> {
        self.chunks[k].force();
        let c = Arc::make_mut(&mut self.chunks[k]);
        c.encoded = None;
        c.data.get_mut().expect("forced above")
    }

    pub fn push(&mut self, v: T) {
        if self.len.is_multiple_of(CHUNK) {
            self.chunks.push(Arc::new(Chunk::decoded(Vec::with_capacity(CHUNK))));
        }
        let k = self.chunks.len() - 1;
        self.chunk_mut(k).push(v);
        self.len += 1;
    }

    pub fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i / CHUNK).and_then(|c| c.force().get(i % CHUNK))
    }

    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        if i >= self.len {
            return None;
        }
        self.chunk_mut(i / CHUNK).get_mut(i % CHUNK)
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.chunks.iter().flat_map(|c| c.force().iter())
    }

    /// Chunks still encoded (never accessed since the restore).
    pub fn encoded_chunks(&self) -> usize {
        self.chunks.iter().filter(|c| c.data.get().is_none()).count()
    }

    /// Whether the chunk structure is sound (every chunk but the last full).
    pub fn check(&self) -> bool {
        let n = self.chunks.len();
        self.chunks.iter().enumerate().all(|(k, c)| {
            if k + 1 < n {
                c.force().len() == CHUNK
            } else {
                !c.force().is_empty() && c.force().len() <= CHUNK
            }
        }) && self.chunks.iter().map(|c| c.force().len()).sum::<usize>() == self.len
    }
}

impl<T: Clone> Index<usize> for CowVec<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        self.get(i).expect("CowVec index in bounds")
    }
}

impl<T: Clone> IndexMut<usize> for CowVec<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        self.get_mut(i).expect("CowVec index in bounds")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_shares_until_written_and_writes_stay_private() {
        let mut a = CowVec::default();
        for i in 0..2000u32 {
            a.push(i);
        }
        let mut b = a.clone();
        b[5] = 99;
        b.push(7);
        assert_eq!((a[5], b[5]), (5, 99));
        assert_eq!((a.len(), b.len()), (2000, 2001));
        assert!(Arc::ptr_eq(&a.chunks[1], &b.chunks[1]), "untouched chunks stay shared");
        assert!(!Arc::ptr_eq(&a.chunks[0], &b.chunks[0]));
        assert!(a.check() && b.check());
        assert_eq!(b.iter().copied().sum::<u32>(), (0..2000).sum::<u32>() - 5 + 99 + 7);
    }

    fn decode_u32s(b: &[u8]) -> Option<Vec<u32>> {
        (b.len().is_multiple_of(4)).then(|| b.chunks_exact(4).map(|w| u32::from_le_bytes(w.try_into().unwrap())).collect())
    }

    #[test]
    fn encoded_chunks_decode_on_first_use_once_for_all_clones() {
        let n = 1300usize;
        let bytes: Vec<u8> = (0..n as u32).flat_map(|v| v.to_le_bytes()).collect();
        let src: Source = Arc::new(bytes);
        let ranges = (0..n.div_ceil(CHUNK)).map(|k| k * CHUNK * 4..((k + 1) * CHUNK).min(n) * 4).collect();
        let mut a = CowVec::from_encoded(src, ranges, n, decode_u32s).unwrap();
        let b = a.clone();
        assert_eq!(a.encoded_chunks(), 3);
        assert_eq!(b[600], 600);
        assert_eq!((a.encoded_chunks(), b.encoded_chunks()), (2, 2), "a decode is shared by the clones");
        a[1299] = 7;
        a.push(5);
        assert_eq!((a[1299], b[1299], a[1300], a.len()), (7, 1299, 5, 1301));
        assert_eq!(b.encoded_chunks(), 1, "b's last chunk stays encoded after a's private copy");
        assert!(a.check() && b.check());
        assert_eq!(b.iter().map(|v| *v as u64).sum::<u64>(), (0..n as u64).sum::<u64>());
        let bad = CowVec::<u32>::from_encoded(Arc::new(vec![0u8; 8]), std::iter::once(0..16).collect(), 2, decode_u32s);
        assert!(bad.is_none(), "ranges beyond the source are refused");
    }
}
