//! Writing a snapshot directory atomically.
//!
//! Owns `write`: the state and the sparse memory image go to a fresh
//! temporary directory beside the target, are fsynced, and then replace the
//! target in one step: rename(2) when there is none, renameat2(RENAME_EXCHANGE)
//! when there is one (the old snapshot is removed only after the exchange).
//! A crash at any point leaves either the old complete snapshot or the new
//! complete one under the target name, never a mix. Guest RAM is read from
//! the base memfd, skipping its holes (SEEK_DATA), so untouched RAM costs
//! neither reading nor disk; a window kept as a copy is written the same way.

use super::format::{self, Chunk, Payload, WindowImage, CHUNK, MEMORY_FILE, STATE_FILE};
use crate::checkpoint::devices::DeviceMode;
use crate::device::BackingSource;
use crate::error::VmmError;
use crate::vmfork::Base;
use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// What a write produced.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Written {
    pub chunks: u64,
    pub memory_bytes: u64,
    pub state_bytes: u64,
}

fn host(what: &'static str) -> impl FnOnce(std::io::Error) -> VmmError {
    move |e| VmmError::Host(what, e)
}

/// The next offset >= `at` holding data in `f` (None: only holes are left).
fn next_data(f: &File, at: u64) -> Option<u64> {
    // SAFETY: lseek on a descriptor we own; no memory is involved.
    let r = unsafe { libc::lseek(f.as_raw_fd(), at as libc::off_t, libc::SEEK_DATA) };
    (r >= 0).then_some(r as u64)
}

/// Writes the first `size` bytes of `src` (guest RAM's memfd, or a window's
/// backing) into `path` as a sparse image; returns the chunk index.
fn write_sparse(src: &File, size: u64, path: &Path) -> Result<Vec<Chunk>, VmmError> {
    let out = OpenOptions::new().write(true).create_new(true).open(path).map_err(host("creating a snapshot image file"))?;
    let mut chunks = Vec::new();
    let mut buf = vec![0u8; CHUNK as usize];
    let mut at = 0u64;
    while at < size {
        let Some(data) = next_data(src, at) else { break };
        let index = data / CHUNK;
        if index * CHUNK >= size {
            break;
        }
        let len = format::chunk_len(index, size) as usize;
        src.read_exact_at(&mut buf[..len], index * CHUNK).map_err(host("reading guest RAM or a window"))?;
        if buf[..len].iter().any(|b| *b != 0) {
            out.write_all_at(&buf[..len], index * CHUNK).map_err(host("writing a snapshot image file"))?;
            chunks.push(Chunk { index, crc: crc32fast::hash(&buf[..len]) });
        }
        at = (index + 1) * CHUNK;
    }
    out.set_len(size).map_err(host("sizing a snapshot image file"))?;
    out.sync_all().map_err(host("fsync of a snapshot image file"))?;
    Ok(chunks)
}

/// What the snapshot keeps of each plugged window (`DeviceMode`): the host
/// file's absolute path, or the bytes in a sparse image beside memory.bin.
fn write_windows(base: &Base, dir: &Path) -> Result<Vec<WindowImage>, VmmError> {
    let mut out = Vec::new();
    for w in &base.windows {
        let name = &w.state.place.name;
        out.push(match (w.mode, &w.state.source) {
            (DeviceMode::Shared, BackingSource::File(p)) => {
                WindowImage::Shared { path: fs::canonicalize(p).map_err(|e| VmmError::ReadFile(p.display().to_string(), e))? }
            }
            (DeviceMode::Shared, BackingSource::Memfd) => {
                return Err(VmmError::Usage(format!(
                    "device {name} is a memfd: a snapshot cannot keep it shared (it has no path); use --device-mode {name}=copy"
                )))
            }
            (DeviceMode::Copy, _) => {
                WindowImage::Copy { chunks: write_sparse(&w.file, w.state.place.size, &dir.join(format::window_file(name)))? }
            }
        });
    }
    Ok(out)
}

fn fsync_dir(dir: &Path) -> Result<(), VmmError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(host("fsync of the snapshot directory"))
}

/// Exchanges two paths atomically (both must exist).
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    let ca = CString::new(a.as_os_str().as_encoded_bytes()).map_err(std::io::Error::other)?;
    let cb = CString::new(b.as_os_str().as_encoded_bytes()).map_err(std::io::Error::other)?;
    // SAFETY: two valid NUL-terminated paths; renameat2 only reads them.
    let r = unsafe { libc::renameat2(libc::AT_FDCWD, ca.as_ptr(), libc::AT_FDCWD, cb.as_ptr(), libc::RENAME_EXCHANGE) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Writes `base` as a snapshot at `dir`, replacing any snapshot there atomically.
pub fn write(base: &Base, dir: &Path) -> Result<Written, VmmError> {
    let name = dir.file_name().ok_or_else(|| VmmError::Usage(format!("{} is not a directory name", dir.display())))?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if dir.exists() && !dir.join(STATE_FILE).exists() {
        return Err(VmmError::Usage(format!("{} exists and is not a snapshot: refusing to replace it", dir.display())));
    }
    let tmp = parent.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir(&tmp).map_err(host("creating the snapshot directory"))?;
    let result = (|| {
        let windows = write_windows(base, &tmp)?;
        let chunks = write_sparse(&base.memfd, base.state.memory, &tmp.join(MEMORY_FILE))?;
        let n = chunks.len() as u64;
        let payload = Payload { program: base.program.clone(), vm: base.state.clone(), chunks, windows };
        let bytes = format::encode(&payload)?;
        let mut f = OpenOptions::new().write(true).create_new(true).open(tmp.join(STATE_FILE)).map_err(host("creating state.bin"))?;
        f.write_all(&bytes).map_err(host("writing state.bin"))?;
        f.sync_all().map_err(host("fsync of state.bin"))?;
        fsync_dir(&tmp)?;
        Ok(Written { chunks: n, memory_bytes: n * CHUNK, state_bytes: bytes.len() as u64 })
    })();
    let written = match result {
        Ok(w) => w,
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    if dir.exists() {
        exchange(&tmp, dir).map_err(host("replacing the old snapshot"))?;
        // `tmp` now holds the old snapshot.
        fs::remove_dir_all(&tmp).map_err(host("removing the old snapshot"))?;
    } else {
        fs::rename(&tmp, dir).map_err(host("moving the snapshot into place"))?;
    }
    fsync_dir(&parent)?;
    Ok(written)
}
