//! Reading a snapshot back: validation, then eager or lazy guest RAM.
//!
//! Owns `open` (everything checkable before any VM exists: the state file,
//! the memory file's length) and `eager`/`lazy`, which build the restored
//! VM. Eager reads every written chunk into a fresh memfd, checking each
//! chunk's CRC, and then runs the engine's `check_invariants` (guest page
//! tables equal to the engine's mirror, reverse maps, frame uses) so a
//! snapshot that decodes but does not hang together is refused too. Lazy
//! leaves guest RAM empty and registers it with userfaultfd (`lazy::Pager`).

use super::format::{self, Payload, CHUNK, MEMORY_FILE, STATE_FILE};
use super::lazy::Pager;
use crate::error::VmmError;
use crate::vm::{self, GuestRam, Vm};
use crate::vmfork::VmState;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
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
    let state = std::fs::read(dir.join(STATE_FILE)).map_err(|e| bad(dir, format!("cannot read {STATE_FILE}: {e}")))?;
    let read = t.elapsed();
    let payload = format::decode(dir, &state)?;
    tracing::debug!(bytes = state.len(), ?read, decode = ?(t.elapsed() - read), "snapshot state");
    let memory = File::open(dir.join(MEMORY_FILE)).map_err(|e| bad(dir, format!("cannot read {MEMORY_FILE}: {e}")))?;
    let len = memory.metadata().map_err(|e| bad(dir, format!("cannot stat {MEMORY_FILE}: {e}")))?.len();
    if len != payload.vm.memory {
        return Err(bad(dir, format!("{MEMORY_FILE} is {len} bytes, guest RAM is {} (truncated?)", payload.vm.memory)));
    }
    Ok(Opened { dir: dir.to_path_buf(), payload, memory })
}

/// Reads chunk `c` of the image into `buf`, checking its CRC.
pub fn read_chunk(memory: &File, dir: &Path, c: &format::Chunk, size: u64, buf: &mut [u8]) -> Result<usize, VmmError> {
    let len = format::chunk_len(c.index, size) as usize;
    memory.read_exact_at(&mut buf[..len], c.index * CHUNK).map_err(|e| bad(dir, format!("cannot read memory chunk {}: {e}", c.index)))?;
    let got = crc32fast::hash(&buf[..len]);
    if got != c.crc {
        return Err(bad(
            dir,
            format!(
                "memory chunk {} (guest-physical {:#x}) is corrupt: checksum {got:08x}, expected {:08x}",
                c.index,
                c.index * CHUNK,
                c.crc
            ),
        ));
    }
    Ok(len)
}

/// Restores with all of guest RAM read up front.
pub fn eager(o: Opened) -> Result<(Vm, VmState, String), VmmError> {
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
    Ok((vm, o.payload.vm, o.payload.program))
}

/// Restores with guest RAM populated on first touch; the pager must stay
/// alive as long as the VM runs.
pub fn lazy(o: Opened) -> Result<(Vm, VmState, String, Pager), VmmError> {
    let t = std::time::Instant::now();
    let size = o.payload.vm.memory;
    let ram = GuestRam::fresh(size)?;
    let pager = Pager::start(&ram, o.memory, o.dir.clone(), o.payload.chunks)?;
    let t1 = t.elapsed();
    let vm = Vm::with_ram(vm::open_kvm()?, ram)?;
    tracing::debug!(ram_and_pager = ?t1, vm = ?(t.elapsed() - t1), "lazy restore");
    Ok((vm, o.payload.vm, o.payload.program, pager))
}
