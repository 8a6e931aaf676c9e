//! A minimal device revocation, enough to test nonlinear mappings of devices.
//!
//! Mirrors the core of seed 004's revoke_mappings: the device is marked
//! revoked (new mmaps get ENODEV, faults SIGBUS), and every entry mapping one
//! of its frames, in every space, becomes a Revoked marker, so no access can
//! reach the old backing again. In a nonlinear VMA the marker keeps the page's
//! offset and protection. The full revocation (device unplug, memslot
//! removal, file descriptors) is another module's; this one only needs the
//! engine state, and the two are to be reconciled.

use super::is_nonlinear;
use crate::engine::Engine;
use crate::errno::{Errno, SysResult};
use crate::memory::PhysMemory;
use crate::objects::{DeviceState, ObjectId, ObjectKind};
use crate::paging::{Marker, MarkerKind, Outcome, Pte, PteUpdates};
use crate::vma::Backing;

impl<M: PhysMemory> Engine<M> {
    /// Revokes device `obj`: every mapping of it faults with SIGBUS from now on.
    pub fn revoke_device(&mut self, obj: ObjectId) -> Outcome<SysResult<()>> {
        let mut tlb = PteUpdates::new();
        let r = self.do_revoke_device(obj, &mut tlb);
        Outcome::new(r, tlb)
    }

    fn do_revoke_device(&mut self, obj: ObjectId, tlb: &mut PteUpdates) -> SysResult<()> {
        match self.objects.get_mut(obj).map(|o| &mut o.kind) {
            Some(ObjectKind::Device { state, .. }) => *state = DeviceState::Revoked,
            Some(_) => return Err(Errno::EINVAL),
            None => return Err(Errno::EBADF),
        }
        for id in self.space_ids() {
            let vmas: Vec<_> = self.spaces[&id].vmas.iter().filter(|v| v.backing == Backing::Object(obj)).cloned().collect();
            for v in vmas {
                for e in self.spaces[&id].tables.entries_in(v.start, v.end) {
                    if !e.pte.maps_frame() {
                        continue;
                    }
                    let nonlinear = is_nonlinear(&v).then(|| {
                        let p = self.nonlinear_page(&v, e.va, e.pte);
                        (p.pgoff, super::page_prot(p.prot))
                    });
                    let m = Pte::marker(Marker { kind: MarkerKind::Revoked, nonlinear });
                    self.set_entry(id, e.va, m, tlb).map_err(|_| Errno::ENOMEM)?;
                }
            }
        }
        Ok(())
    }
}
