//! The on-disk snapshot format (version 4: version 3, whose kernel state
//! gained open file descriptions, FS/GS bases, pending signals, credentials,
//! rlimits, the clock and the random generator; version 3 had added
//! per-space resource limits, brk and stack bounds to the engine's).
//!
//! Owns the layout of a snapshot directory and its validation:
//! ```text
//! DIR/state.bin   header (32 bytes) + payload
//!                   magic "VMMSNAP\0", u32 version, u32 reserved (0),
//!                   u64 payload length, u32 CRC-32 of the payload, u32 reserved (0)
//!                 payload: bincode (varint) of `Payload`: the program name,
//!                   the `VmState` (kernel, engine, vCPU registers and FPU), and
//!                   the memory index
//! DIR/memory.bin  guest RAM as a sparse file of exactly `memory` bytes: only
//!                 2 MiB chunks holding a non-zero byte are written, the rest
//!                 are holes (untouched RAM costs no disk)
//! DIR/device-NAME.bin  a plugged window kept as a copy, as memory.bin
//!                 (a window kept shared is only its host file's path)
//! ```
//! The memory index lists every written chunk with the CRC-32 of its 2 MiB;
//! chunks not listed are zero. Everything is checked before anything is
//! used: magic, version, lengths, the payload CRC, the decode itself (with a
//! size limit), memory.bin's length; chunk CRCs are checked as chunks are
//! read (all of them up front for an eager restore, on first touch for a
//! lazy one). Little-endian throughout.

use crate::checkpoint::VmState;
use crate::error::{InternalError, VmmError};
use bincode::Options;
use std::path::Path;

pub const MAGIC: [u8; 8] = *b"VMMSNAP\0";
/// 5: the kernel image holds pipes (docs/vmfork.md lists the versions).
pub const VERSION: u32 = 5;
pub const HEADER_LEN: usize = 32;
/// Granularity of the memory index and of lazy population.
pub const CHUNK: u64 = 2 << 20;
pub const STATE_FILE: &str = "state.bin";
pub const MEMORY_FILE: &str = "memory.bin";
/// Largest payload we will decode (a sanity bound against garbage lengths).
pub const MAX_PAYLOAD: u64 = 4 << 30;

/// One written chunk of memory.bin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Chunk {
    /// Chunk number (byte offset / CHUNK).
    pub index: u64,
    pub crc: u32,
}

/// What state.bin carries.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Payload {
    pub program: String,
    pub vm: VmState,
    /// Written chunks in increasing order.
    pub chunks: Vec<Chunk>,
    /// What backs each plugged window, in the order of `vm.devices.plugged`.
    pub windows: Vec<WindowImage>,
}

/// What a snapshot keeps of a plugged window.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum WindowImage {
    /// The host file at `path` (absolute) is the window: a restore maps it
    /// shared and sees what it holds then (`DeviceMode::Shared`).
    Shared { path: std::path::PathBuf },
    /// The window's bytes at the checkpoint, in `window_file(name)`, sparse
    /// with a chunk index as memory.bin (`DeviceMode::Copy`).
    Copy { chunks: Vec<Chunk> },
}

/// The file holding the bytes of window `name` kept as a copy.
pub fn window_file(name: &str) -> String {
    format!("device-{name}.bin")
}

/// Whether `chunks` is a valid index of a `size`-byte image.
fn index_ok(chunks: &[Chunk], size: u64) -> bool {
    let n = size.div_ceil(CHUNK);
    chunks.windows(2).all(|w| w[0].index < w[1].index) && chunks.last().is_none_or(|c| c.index < n)
}

fn codec() -> impl Options {
    bincode::DefaultOptions::new().with_limit(MAX_PAYLOAD)
}

/// state.bin's bytes for `p`.
pub fn encode(p: &Payload) -> Result<Vec<u8>, VmmError> {
    let body = codec().serialize(p).map_err(InternalError::SnapshotEncode)?;
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Validates and decodes state.bin's bytes; `dir` names the snapshot in errors.
pub fn decode(dir: &Path, bytes: &[u8]) -> Result<Payload, VmmError> {
    let bad = |why: String| VmmError::BadSnapshot(dir.display().to_string(), why);
    if bytes.len() < HEADER_LEN {
        return Err(bad(format!("{STATE_FILE} is truncated ({} bytes, the header alone is {HEADER_LEN})", bytes.len())));
    }
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().expect("4 bytes"));
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().expect("8 bytes"));
    if bytes[..8] != MAGIC {
        return Err(bad(format!("{STATE_FILE} is not a vmm snapshot (bad magic)")));
    }
    let version = u32_at(8);
    if version != VERSION {
        return Err(bad(format!("format version {version}, this vmm reads version {VERSION} only")));
    }
    let len = u64_at(16);
    let body = &bytes[HEADER_LEN..];
    if len > MAX_PAYLOAD || body.len() as u64 != len {
        return Err(bad(format!("{STATE_FILE} is truncated or padded: the header says {len} bytes of state, the file has {}", body.len())));
    }
    let want = u32_at(24);
    let got = crc32fast::hash(body);
    if want != got {
        return Err(bad(format!("{STATE_FILE} is corrupt: checksum {got:08x}, expected {want:08x}")));
    }
    let p: Payload = codec().deserialize(body).map_err(|e| bad(format!("{STATE_FILE} does not decode: {e}")))?;
    let size = p.vm.memory;
    if size == 0 || !size.is_multiple_of(4096) || size > crate::layout::MAX_RAM {
        return Err(bad(format!("guest RAM size {size} is not valid")));
    }
    if !index_ok(&p.chunks, size) {
        return Err(bad("the memory index is out of order or beyond guest RAM".into()));
    }
    let devices = &p.vm.devices;
    devices.check(p.vm.engine.objects()).map_err(|e| bad(format!("device windows: {e}")))?;
    if p.windows.len() != devices.plugged.len() {
        return Err(bad(format!("{} plugged windows but {} window images", devices.plugged.len(), p.windows.len())));
    }
    for (w, img) in devices.plugged.iter().zip(&p.windows) {
        let ok = match img {
            WindowImage::Shared { path } => path.is_absolute(),
            WindowImage::Copy { chunks } => index_ok(chunks, w.place.size),
        };
        if !ok {
            return Err(bad(format!("the image of device window {} is not valid", w.place.name)));
        }
    }
    Ok(p)
}

/// Bytes of chunk `index` in a RAM of `size` bytes (the last may be short).
pub fn chunk_len(index: u64, size: u64) -> u64 {
    CHUNK.min(size - index * CHUNK)
}
