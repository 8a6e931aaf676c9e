//! Revocation of a device window: every mapping of it, in every address
//! space, stops reaching the device.
//!
//! Mirrors the revoke_mappings() proposal (seed 004, Eric Biederman, 2010):
//! the caller has already made the device refuse new mappings, then every
//! VMA of the object is revoked so that each later access is SIGBUS and no
//! vm operation ever reaches the backing again. Unlike that patch we do not
//! replace the VMA by a new one with "revoked" operations: the VMA stays (its
//! object is now in the `Revoked` state, which the fault path, mmap, read and
//! write all check), and its page-table entries are rewritten:
//!
//! - an entry that maps a device frame (present or PROT_NONE) becomes a
//!   revoked marker; the old value was possibly seen by the MMU, so the store
//!   goes into the batch, and every affected space gets a full TLB flush;
//! - in a nonlinear VMA (docs/nonlinear.md) the revoked marker keeps the
//!   page's offset and protection, whether the page was mapped or only an
//!   offset-only marker (remap_file_pages bookkeeping survives);
//! - empty entries stay empty: a fault there finds the revoked object and
//!   answers SIGBUS, so no page table is allocated just to hold markers;
//! - guard markers stay guard markers (the process's own choice);
//! - an entry that maps a private COW copy (an anonymous frame in a
//!   MAP_PRIVATE VMA) stays: the copy is the process's memory, not the
//!   device's, and reading it never touches the backing. This differs from
//!   truncate (unmap_mapping_range with even_cows = 1), which drops private
//!   copies beyond the new end of file because POSIX says those pages no
//!   longer exist; here the *device* went away, not the file offsets, and a
//!   program that took a private snapshot keeps it (as with MAP_PRIVATE pages
//!   copied before a Linux block device is removed).
//!
//! Invariants after `revoke_device` returns: the object is `Revoked`; no entry
//! of any space maps one of its frames (check_invariants checks this); the
//! returned batch holds every store and flush needed before any space runs.

use crate::addr::{Frame, PAGE_SIZE};
use crate::engine::Engine;
use crate::mapping;
use crate::memory::PhysMemory;
use crate::nonlinear::{is_nonlinear, page_prot};
use crate::objects::{DeviceState, ObjectId, ObjectKind};
use crate::paging::{Ctx, Marker, MarkerKind, Outcome, PagingError, Pte, PteKind, PteUpdates};
use crate::space::AsId;
use crate::vma::{Backing, Vma};

/// Why a revocation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    #[error("no object {0:?}")]
    NoSuchObject(ObjectId),
    #[error("{0:?} is not a device window")]
    NotADevice(ObjectId),
    #[error("{0:?} was already revoked")]
    AlreadyRevoked(ObjectId),
    #[error("rewriting the page tables of {space:?}")]
    Paging {
        space: AsId,
        #[source]
        source: PagingError,
    },
}

/// What a revocation did.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct RevokeReport {
    /// The device's first frame and size: the window the caller must now
    /// remove from the guest-physical map.
    pub base: Option<Frame>,
    pub pages: u64,
    /// Address spaces with at least one VMA of the device.
    pub spaces: u32,
    /// VMAs revoked.
    pub vmas: u32,
    /// Entries that mapped a device frame and now hold a revoked marker.
    pub zapped: u64,
    /// Private COW copies left in place.
    pub kept_copies: u64,
}

impl<M: PhysMemory> Engine<M> {
    /// revoke_mappings for device `obj`: marks it gone and revokes every
    /// mapping of it in every space. Validates first: on error nothing changed.
    pub fn revoke_device(&mut self, obj: ObjectId) -> Outcome<Result<RevokeReport, RevokeError>> {
        let mut tlb = PteUpdates::new();
        let r = self.do_revoke(obj, &mut tlb);
        Outcome::new(r, tlb)
    }

    fn do_revoke(&mut self, obj: ObjectId, tlb: &mut PteUpdates) -> Result<RevokeReport, RevokeError> {
        let o = self.objects.get_mut(obj).ok_or(RevokeError::NoSuchObject(obj))?;
        let (base, pages) = match &mut o.kind {
            ObjectKind::Device { state: DeviceState::Revoked, .. } => return Err(RevokeError::AlreadyRevoked(obj)),
            ObjectKind::Device { base, pages, state } => {
                // Step a: from here on mmap, open, read, write and faults refuse it.
                *state = DeviceState::Revoked;
                (*base, *pages)
            }
            _ => return Err(RevokeError::NotADevice(obj)),
        };
        let mut rep = RevokeReport { base: Some(base), pages, ..Default::default() };
        let is_device_frame = |f: Frame| f.number() >= base.number() && f.number() - base.number() < pages;
        // Step b: every VMA of the object in every space. Plan first (the
        // nonlinear bookkeeping reads the engine), then rewrite.
        for id in self.space_ids() {
            let vmas: Vec<Vma> = self.spaces[&id].vmas.iter().filter(|v| v.backing == Backing::Object(obj)).cloned().collect();
            if vmas.is_empty() {
                continue;
            }
            rep.spaces += 1;
            let mut plan = Vec::new();
            for v in &vmas {
                rep.vmas += 1;
                for e in self.spaces[&id].tables.entries_in(v.start, v.end) {
                    let new = match e.pte.kind() {
                        PteKind::Present { frame, .. } | PteKind::ProtNone { frame, .. } if is_device_frame(frame) => {
                            rep.zapped += 1;
                            // A nonlinear page keeps its offset and protection.
                            let nonlinear = is_nonlinear(v).then(|| {
                                let p = self.nonlinear_page(v, e.va, e.pte);
                                (p.pgoff, page_prot(p.prot))
                            });
                            Marker { kind: MarkerKind::Revoked, nonlinear }
                        }
                        PteKind::Present { .. } | PteKind::ProtNone { .. } => {
                            rep.kept_copies += 1;
                            continue;
                        }
                        PteKind::Marker(m) if m.kind == MarkerKind::OffsetOnly => Marker { kind: MarkerKind::Revoked, ..m },
                        PteKind::Marker(_) | PteKind::None => continue,
                    };
                    plan.push((e.va, new));
                }
            }
            let space = self.spaces.get_mut(&id).expect("listed");
            let mut cx = Ctx { mem: &self.mem, frames: &mut self.frames, tlb: &mut *tlb };
            for (va, m) in plan {
                mapping::replace(&mut space.tables, va, Pte::marker(m), &mut cx)
                    .map_err(|source| RevokeError::Paging { space: id, source })?;
            }
            // Step c's part here: the whole TLB of the space goes before it
            // runs again, whatever the per-page plan said.
            tlb.flush_space(id);
        }
        tracing::debug!(?obj, ?rep, "revoked device");
        Ok(rep)
    }

    /// The device windows (plugged or revoked): (object, first frame, pages, state).
    pub fn devices(&self) -> Vec<(ObjectId, Frame, u64, DeviceState)> {
        self.objects
            .iter()
            .filter_map(|(id, o)| match o.kind {
                ObjectKind::Device { base, pages, state } => Some((id, base, pages, state)),
                _ => None,
            })
            .collect()
    }

    /// Bytes of a device window, for reports.
    pub fn device_bytes(&self, obj: ObjectId) -> Option<u64> {
        match self.objects.get(obj)?.kind {
            ObjectKind::Device { pages, .. } => Some(pages * PAGE_SIZE),
            _ => None,
        }
    }
}
