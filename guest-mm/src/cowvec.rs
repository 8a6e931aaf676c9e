//! A vector whose clones share storage until written (chunked copy-on-write).
//!
//! Owns `CowVec<T>`: elements live in fixed chunks of 512 behind `Arc`s.
//! Cloning copies one pointer per chunk; the first write to a chunk in a
//! clone copies that chunk only (`Arc::make_mut`). This is what keeps a
//! whole-VM fork's copy of the frame table nearly independent of guest RAM
//! size: children share every chunk they never touch, like the host shares
//! unwritten guest pages. Invariant: every chunk but the last is full.

use std::ops::{Index, IndexMut};
use std::sync::Arc;

const CHUNK: usize = 512;

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct CowVec<T> {
    chunks: Vec<Arc<Vec<T>>>,
    len: usize,
}

impl<T> Default for CowVec<T> {
    fn default() -> Self {
        CowVec { chunks: Vec::new(), len: 0 }
    }
}

impl<T: Clone> CowVec<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push(&mut self, v: T) {
        if self.len.is_multiple_of(CHUNK) {
            self.chunks.push(Arc::new(Vec::with_capacity(CHUNK)));
        }
        let last = self.chunks.last_mut().expect("a chunk was just ensured");
        Arc::make_mut(last).push(v);
        self.len += 1;
    }

    pub fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i / CHUNK).and_then(|c| c.get(i % CHUNK))
    }

    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        if i >= self.len {
            return None;
        }
        Arc::make_mut(&mut self.chunks[i / CHUNK]).get_mut(i % CHUNK)
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    /// Whether the chunk structure is sound (every chunk but the last full).
    pub fn check(&self) -> bool {
        let n = self.chunks.len();
        self.chunks.iter().enumerate().all(|(k, c)| if k + 1 < n { c.len() == CHUNK } else { !c.is_empty() && c.len() <= CHUNK })
            && self.chunks.iter().map(|c| c.len()).sum::<usize>() == self.len
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
}
