//! mincore: which pages of a range are resident.
//!
//! Mirrors mm/mincore.c SYSCALL_DEFINE3(mincore) and do_mincore: an
//! unaligned start is EINVAL; a range that wraps or ends above TASK_SIZE
//! (access_ok) is ENOMEM; an empty one is 0 whatever it names; then VMA by
//! VMA from the start, ENOMEM at the first address in no VMA. Per page
//! (mincore_pte_range): a present entry (the zero page, a PROT_NONE page, a
//! COW copy) is 1; an empty entry or a marker (guard region, nonlinear
//! offset, revoked window; pte_none_mostly) is looked up in the page cache
//! for a VMA with an object (mincore_page: 1 if the object holds the page,
//! whoever mapped it, 0 past the end) and is 0 for anonymous memory
//! (without swap nothing anonymous is resident without an entry).
//! can_do_mincore is always true here: the guest owns the files it maps.
//!
//! `mincore_chunks` hands the vector out as Linux copies it to user memory,
//! at most a page of entries at a time, so a range that runs into a hole has
//! its first entries written when ENOMEM comes back; writing them (EFAULT)
//! is the caller's. `mincore` collects them (for bounded lengths).

use crate::addr::{VirtAddr, PAGE_SIZE, TASK_SIZE};
use crate::engine::Engine;
use crate::errno::{Errno, SysResult};
use crate::memory::PhysMemory;
use crate::nonlinear::is_nonlinear;
use crate::objects::DeviceState;
use crate::paging::{Outcome, PteKind, PteUpdates};
use crate::space::AsId;
use crate::vma::Vma;

/// Entries do_mincore fills per round (one page of the kernel's buffer).
const CHUNK: u64 = PAGE_SIZE;

/// The syscall's checks before any VMA is looked at: EINVAL for an
/// unaligned start, ENOMEM (access_ok) for a range that wraps or ends above
/// TASK_SIZE. Returns the number of entries of the vector.
pub fn mincore_pages(start: u64, len: u64) -> SysResult<u64> {
    if !start.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    if start.checked_add(len).is_none_or(|end| end > TASK_SIZE) {
        return Err(Errno::ENOMEM);
    }
    Ok(len.div_ceil(PAGE_SIZE))
}

impl<M: PhysMemory> Engine<M> {
    /// mincore(2): one byte per page of `[start, start + len)`, 1 if resident.
    /// The vector is `len / PAGE_SIZE` bytes: a caller that takes `len` from
    /// a guest should use `mincore_chunks`, which never holds more than a
    /// page of it (a guest can map terabytes of PROT_NONE).
    pub fn mincore(&self, id: AsId, start: u64, len: u64) -> Outcome<SysResult<Vec<u8>>> {
        let mut vec = Vec::new();
        let r = self.mincore_chunks(id, start, len, |_, chunk| {
            vec.extend_from_slice(chunk);
            Ok(())
        });
        Outcome::new(r.map(|()| vec), PteUpdates::new())
    }

    /// mincore(2) as the syscall runs it: the vector in rounds of at most
    /// PAGE_SIZE entries within one VMA, each handed to `sink` with the index
    /// of its first page (the kernel copies it to user memory; an error from
    /// `sink`, EFAULT, stops the call). As in Linux, rounds before a hole or
    /// a failed copy have been delivered when the error comes back.
    pub fn mincore_chunks(&self, id: AsId, start: u64, len: u64, mut sink: impl FnMut(u64, &[u8]) -> SysResult<()>) -> SysResult<()> {
        let mut pages = mincore_pages(start, len)?;
        let space = self.spaces.get(&id).ok_or(Errno::ESRCH)?;
        let mut at = VirtAddr::new(start);
        let mut done = 0;
        let mut buf = Vec::with_capacity(CHUNK.min(pages) as usize);
        while pages > 0 {
            // do_mincore: the VMA at the address, up to its end.
            let vma = space.vmas.find(at).ok_or(Errno::ENOMEM)?;
            let n = pages.min(CHUNK).min(vma.end.distance_from(at) / PAGE_SIZE);
            buf.clear();
            for i in 0..n {
                buf.push(u8::from(self.page_resident(id, vma, at.add(i * PAGE_SIZE))));
            }
            sink(done, &buf)?;
            done += n;
            pages -= n;
            at = at.add(n * PAGE_SIZE);
        }
        Ok(())
    }

    /// mincore_pte_range for one page of `vma`.
    fn page_resident(&self, id: AsId, vma: &Vma, va: VirtAddr) -> bool {
        let pte = self.spaces[&id].tables.get(va);
        match pte.kind() {
            PteKind::Present { .. } | PteKind::ProtNone { .. } => true,
            PteKind::None | PteKind::Marker(_) => {
                let Some(obj) = vma.object().and_then(|o| self.objects.get(o)) else { return false };
                let index = if is_nonlinear(vma) { self.nonlinear_page(vma, va, pte).pgoff } else { vma.pgoff_of(va) };
                if index >= obj.size_pages() {
                    return false;
                }
                match obj.kind {
                    crate::objects::ObjectKind::Device { state, .. } => state == DeviceState::Plugged,
                    _ => obj.cached(index).is_some(),
                }
            }
        }
    }
}
