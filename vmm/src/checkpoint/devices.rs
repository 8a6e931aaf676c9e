//! Memory-window devices across checkpoints (docs/vmfork.md, "Devices").
//!
//! Owns `DeviceState` (the window list a `VmState` carries), `DeviceMode`
//! (what a child or a restore gets of a window's backing: the same backing
//! shared, or its own copy), the `--device-mode` choice, and the rebuilding
//! of a checkpoint's windows in a new VM (`install`).
//!
//! Invariants: a window keeps its guest-physical address, size and memslot
//! in every child and restore (the engine's device object and the guest page
//! tables name its frames); the window allocator goes on from the
//! checkpoint's position, so no address or memslot of the checkpoint's
//! windows, plugged or unplugged, is ever reused; unplugged windows stay
//! unplugged (no memslot; the engine's revoked object and markers carry over
//! in the engine image). Everything here is checked against the engine image
//! before a VM uses it (`DeviceState::check`).

use crate::device::{self, BackingSource, Placement, Window, Windows};
use crate::error::{InternalError, VmmError};
use crate::hotplug::{Hotplug, Unplugged};
use guest_mm::objects::{DeviceState as ObjState, ObjectKind, ObjectTable};
use guest_mm::ObjectId;
use std::collections::BTreeSet;
use vm_memory::GuestMemoryMmap;

/// A plugged window at a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WindowState {
    pub place: Placement,
    /// The engine's device object (its /dev node and its VMAs refer to it).
    pub obj: ObjectId,
    pub source: BackingSource,
}

/// The VM's windows at a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeviceState {
    pub plugged: Vec<WindowState>,
    pub unplugged: Vec<Unplugged>,
    /// The window allocator's position: (next guest-physical address, next memslot).
    pub next: (u64, u32),
}

impl Default for DeviceState {
    fn default() -> Self {
        DeviceState { plugged: Vec::new(), unplugged: Vec::new(), next: Windows::default().next() }
    }
}

/// What a child (or a restore) gets of a window's backing.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DeviceMode {
    /// The same backing, mapped MAP_SHARED: writes are seen by every VM
    /// mapping it and reach the host file. A snapshot records the path.
    Shared,
    /// Its own copy: the backing mapped MAP_PRIVATE (copy-on-write, the
    /// parent's backing frozen); a snapshot stores the window's bytes.
    Copy,
}

impl DeviceMode {
    /// The default: a host file is shared (pmem-like), a memfd copied (RAM-like).
    pub fn default_for(source: &BackingSource) -> DeviceMode {
        match source {
            BackingSource::File(_) => DeviceMode::Shared,
            BackingSource::Memfd => DeviceMode::Copy,
        }
    }
}

/// The `--device-mode [NAME=]shared|copy` choices of one command.
#[derive(Clone, Debug, Default)]
pub struct DeviceModes {
    all: Option<DeviceMode>,
    per: Vec<(String, DeviceMode)>,
}

impl DeviceModes {
    pub fn parse(args: &[String]) -> Result<DeviceModes, VmmError> {
        let mut m = DeviceModes::default();
        for a in args {
            let (name, mode) = match a.split_once('=') {
                Some((n, v)) => (Some(n), v),
                None => (None, a.as_str()),
            };
            let mode = match mode {
                "shared" => DeviceMode::Shared,
                "copy" => DeviceMode::Copy,
                _ => return Err(VmmError::Usage(format!("--device-mode {a}: expected [NAME=]shared or [NAME=]copy"))),
            };
            match name {
                Some(n) => {
                    device::check_name(n).map_err(VmmError::Usage)?;
                    m.per.push((n.to_string(), mode));
                }
                None => m.all = Some(mode),
            }
        }
        Ok(m)
    }

    /// The mode of window `name` backed by `source`.
    pub fn mode_for(&self, name: &str, source: &BackingSource) -> DeviceMode {
        self.per.iter().rev().find(|(n, _)| n == name).map(|(_, m)| *m).or(self.all).unwrap_or_else(|| DeviceMode::default_for(source))
    }

    /// Checks every per-device choice names one of `plugged`.
    pub fn check_names(&self, plugged: &[String]) -> Result<(), VmmError> {
        match self.per.iter().find(|(n, _)| !plugged.contains(n)) {
            Some((n, _)) => Err(VmmError::Usage(format!("--device-mode {n}=...: no device {n} is plugged at the checkpoint"))),
            None => Ok(()),
        }
    }
}

impl DeviceState {
    /// The windows of a machine paused at a checkpoint.
    pub fn capture(hot: &Hotplug) -> DeviceState {
        let plugged = hot
            .plugged_windows()
            .map(|(w, obj)| WindowState {
                place: Placement { name: w.name.clone(), gpa: w.gpa, size: w.size, slot: w.slot },
                obj,
                source: w.source.clone(),
            })
            .collect();
        DeviceState { plugged, unplugged: hot.unplugged.clone(), next: hot.windows.next() }
    }

    /// Checks the list against itself and against the engine it travels
    /// with: every window is valid, below the allocator's position, apart
    /// from the others, and is exactly a plugged device object of the
    /// engine; every plugged device object of the engine has its window
    /// (else a child's engine would map frames its VM has no memslot for).
    pub fn check(&self, objects: &ObjectTable) -> Result<(), String> {
        let (next_gpa, next_slot) = self.next;
        Windows::resume_at(self.next).map_err(|e| e.to_string())?;
        let mut names = BTreeSet::new();
        let mut slots = BTreeSet::new();
        let mut places: Vec<&Placement> = self.plugged.iter().map(|w| &w.place).chain(self.unplugged.iter().map(|u| &u.place)).collect();
        places.sort_by_key(|p| p.gpa);
        for p in &places {
            p.check()?;
            if p.gpa + p.size > next_gpa || p.slot >= next_slot || !slots.insert(p.slot) {
                return Err(format!("device window {} overlaps another or lies beyond the window allocator", p.name));
            }
        }
        if places.windows(2).any(|w| w[0].gpa + w[0].size > w[1].gpa) {
            return Err("two device windows overlap".into());
        }
        for w in &self.plugged {
            if !names.insert(w.place.name.as_str()) {
                return Err(format!("device {} is plugged twice", w.place.name));
            }
            match objects.get(w.obj).map(|o| &o.kind) {
                Some(ObjectKind::Device { base, pages, state: ObjState::Plugged })
                    if base.number() == w.place.gpa >> 12 && *pages == w.place.size >> 12 => {}
                other => {
                    return Err(format!(
                        "device {} (gpa {:#x}, {} bytes) does not match the engine's device object {:?}: {:?}",
                        w.place.name, w.place.gpa, w.place.size, w.obj, other
                    ))
                }
            }
        }
        for (id, o) in objects.iter() {
            if matches!(o.kind, ObjectKind::Device { state: ObjState::Plugged, .. }) && !self.plugged.iter().any(|w| w.obj == id) {
                return Err(format!("the engine has a plugged device object {id:?} without a window"));
            }
        }
        Ok(())
    }

    /// Names of the plugged windows.
    pub fn names(&self) -> Vec<String> {
        self.plugged.iter().map(|w| w.place.name.clone()).collect()
    }
}

/// Guest memory for the engine of a VM whose RAM is `ram` and whose windows
/// are `windows` (the engine reaches device frames through it).
pub fn engine_memory(ram: &GuestMemoryMmap, windows: &[Window]) -> Result<GuestMemoryMmap, VmmError> {
    let mut mem = ram.clone();
    for w in windows {
        mem = mem.insert_region(w.region.clone()).map_err(|e| VmmError::GuestMemory(format!("adding device {}: {e}", w.name)))?;
    }
    Ok(mem)
}

/// Makes `windows` (memslots already registered, one per plugged window of
/// `devices`, in order) the machine's plugged devices and sets the window
/// allocator where the checkpoint left it.
pub fn install(hot: &mut Hotplug, devices: DeviceState, windows: Vec<Window>) -> Result<(), VmmError> {
    if windows.len() != devices.plugged.len() {
        return Err(InternalError::WindowCount { windows: windows.len(), plugged: devices.plugged.len() }.into());
    }
    hot.windows = Windows::resume_at(devices.next)?;
    hot.unplugged = devices.unplugged;
    for (w, s) in windows.into_iter().zip(devices.plugged) {
        if (w.gpa, w.size, w.slot) != (s.place.gpa, s.place.size, s.place.slot) {
            return Err(InternalError::WindowMoved(w.name.clone()).into());
        }
        hot.adopt(w, s.obj);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_modes_default_by_backing_and_per_name_choices_win() {
        let file = BackingSource::File("/x".into());
        let none = DeviceModes::parse(&[]).unwrap();
        assert_eq!(none.mode_for("a", &file), DeviceMode::Shared);
        assert_eq!(none.mode_for("a", &BackingSource::Memfd), DeviceMode::Copy);
        let m = DeviceModes::parse(&["copy".into(), "b=shared".into()]).unwrap();
        assert_eq!(m.mode_for("a", &file), DeviceMode::Copy);
        assert_eq!(m.mode_for("b", &BackingSource::Memfd), DeviceMode::Shared);
        assert!(m.check_names(&["a".into()]).unwrap_err().to_string().contains("no device b"));
        assert!(DeviceModes::parse(&["b=cow".into()]).is_err());
        assert!(DeviceModes::parse(&["a/b=copy".into()]).is_err());
    }
}
