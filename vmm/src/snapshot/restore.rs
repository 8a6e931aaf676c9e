//! Reading a snapshot back: validation, then eager or lazy guest RAM.
//!
//! Owns `open` (everything checkable before any VM exists: the state file,
//! the memory file's length) and `eager`/`lazy`, which build the restored
//! VM. Eager reads every written chunk into a fresh memfd, checking each
//! chunk's CRC, and then runs the engine's `check_invariants` (guest page
//! tables equal to the engine's mirror, reverse maps, frame uses) so a
//! snapshot that decodes but does not hang together is refused too. Lazy
//! leaves guest RAM empty and registers it with userfaultfd (`lazy::Pager`).

use super::chunks::{read_chunk, read_image_chunk};
use super::format::{self, Payload, WindowImage, CHUNK, MEMORY_FILE, STATE_FILE};
use super::lazy::Pager;
use crate::checkpoint::VmState;
use crate::device::{self, BackingSource, Window, WindowView};
use crate::error::VmmError;
use crate::vm::{self, GuestRam, Vm};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use vm_memory::{Bytes, GuestAddress};

/// A validated snapshot, not yet restored.
pub struct Opened {
    pub dir: PathBuf,
    pub payload: Payload,
    pub memory: File,
}

fn bad(dir: &Path, why: String) -> VmmError {
    VmmError::BadSnapshot(dir.display().to_string(), why)
}

/// Reads and validates the snapshot at `dir`.
pub fn open(dir: &Path) -> Result<Opened, VmmError> {
    let t = std::time::Instant::now();
    let cannot = |e: std::io::Error| bad(dir, format!("cannot read {STATE_FILE}: {e}"));
    let f = File::open(dir.join(STATE_FILE)).map_err(cannot)?;
    let len = f.metadata().map_err(cannot)?.len();
    if len > format::HEADER_LEN as u64 + format::MAX_PAYLOAD {
        return Err(bad(dir, format!("{STATE_FILE} is {len} bytes: too large to be a snapshot state")));
    }
    let state = std::sync::Arc::new(super::buffer::StateBuffer::read(f, len as usize).map_err(cannot)?);
    let read = t.elapsed();
    // The frame records stay encoded in `state` until used (guest_mm::cowvec).
    let payload = guest_mm::frames::decode_lazily_from(state.clone(), || format::decode(dir, (*state).as_ref()))?;
    tracing::debug!(bytes = len, ?read, decode = ?(t.elapsed() - read), "snapshot state");
    let memory = File::open(dir.join(MEMORY_FILE)).map_err(|e| bad(dir, format!("cannot read {MEMORY_FILE}: {e}")))?;
    let len = memory.metadata().map_err(|e| bad(dir, format!("cannot stat {MEMORY_FILE}: {e}")))?.len();
    if len != payload.vm.memory {
        return Err(bad(dir, format!("{MEMORY_FILE} is {len} bytes, guest RAM is {} (truncated?)", payload.vm.memory)));
    }
    Ok(Opened { dir: dir.to_path_buf(), payload, memory })
}

/// A restored VM ready for `Machine::resume`.
pub struct Restored {
    pub vm: Vm,
    pub state: VmState,
    pub program: String,
    /// Its plugged windows, memslots registered (`Machine::resume`'s `windows`).
    pub windows: Vec<Window>,
    /// The userfaultfd pager of a lazy restore; it must outlive the VM.
    pub pager: Option<Pager>,
}

/// Rebuilds the plugged windows of a snapshot in `vm`: a shared window maps
/// its host file again (which must still hold the window's size); a copy is
/// read into a fresh memfd, every chunk's CRC checked. Windows are read up
/// front even by a lazy restore (they are not registered with the pager).
fn windows(dir: &Path, p: &Payload, vm: &Vm) -> Result<Vec<Window>, VmmError> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for (w, img) in p.vm.devices.plugged.iter().zip(&p.windows) {
        let place = &w.place;
        let (file, source) = match img {
            WindowImage::Shared { path } => {
                let f = device::open_backing_file(path, place.size)
                    .map_err(|e| bad(dir, format!("device {} is kept shared in {}: {e}", place.name, path.display())))?;
                (f, BackingSource::File(path.clone()))
            }
            WindowImage::Copy { chunks } => {
                let name = format::window_file(&place.name);
                let img = File::open(dir.join(&name)).map_err(|e| bad(dir, format!("cannot read {name}: {e}")))?;
                let len = img.metadata().map_err(|e| bad(dir, format!("cannot stat {name}: {e}")))?.len();
                if len != place.size {
                    return Err(bad(dir, format!("{name} is {len} bytes, the window is {} (truncated?)", place.size)));
                }
                let f = device::memfd_backing(&place.name, place.size)?;
                buf.resize(CHUNK as usize, 0);
                for c in chunks {
                    let n = read_image_chunk(&img, dir, &format!("device {}", place.name), place.gpa, c, place.size, &mut buf)?;
                    f.write_all_at(&buf[..n], c.index * CHUNK).map_err(|e| VmmError::Host("filling a window memfd", e))?;
                }
                (f, BackingSource::Memfd)
            }
        };
        out.push(device::attach(&vm.fd, place, Arc::new(file), source, WindowView::Shared)?);
    }
    Ok(out)
}

/// Restores with all of guest RAM read up front.
pub fn eager(o: Opened) -> Result<Restored, VmmError> {
    let size = o.payload.vm.memory;
    let ram = GuestRam::fresh(size)?;
    let mut buf = vec![0u8; CHUNK as usize];
    for c in &o.payload.chunks {
        let len = read_chunk(&o.memory, &o.dir, c, size, &mut buf)?;
        ram.mem.write_slice(&buf[..len], GuestAddress(c.index * CHUNK)).map_err(|e| VmmError::GuestMemory(e.to_string()))?;
    }
    let engine = guest_mm::Engine::from_image(ram.mem.clone(), o.payload.vm.engine.clone());
    engine.check_invariants().map_err(|e| bad(&o.dir, format!("the engine state does not match guest RAM: {e}")))?;
    let vm = Vm::with_ram(vm::open_kvm()?, ram)?;
    let windows = windows(&o.dir, &o.payload, &vm)?;
    Ok(Restored { vm, state: o.payload.vm, program: o.payload.program, windows, pager: None })
}

/// Restores with guest RAM populated on first touch; the pager must stay
/// alive as long as the VM runs.
pub fn lazy(o: Opened) -> Result<Restored, VmmError> {
    let t = std::time::Instant::now();
    let size = o.payload.vm.memory;
    let ram = GuestRam::fresh(size)?;
    let Opened { dir, mut payload, memory } = o;
    let pager = Pager::start(&ram, memory, dir.clone(), std::mem::take(&mut payload.chunks))?;
    let t1 = t.elapsed();
    let vm = Vm::with_ram(vm::open_kvm()?, ram)?;
    let windows = windows(&dir, &payload, &vm)?;
    tracing::debug!(ram_and_pager = ?t1, vm = ?(t.elapsed() - t1), "lazy restore");
    Ok(Restored { vm, state: payload.vm, program: payload.program, windows, pager: Some(pager) })
}
