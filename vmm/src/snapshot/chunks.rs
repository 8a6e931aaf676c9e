//! Reading one chunk of a snapshot's image (guest RAM or a device window)
//! with its CRC checked: shared by the eager restore and the lazy pager.

use super::format::{self, CHUNK};
use crate::error::VmmError;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

fn bad(dir: &Path, why: String) -> VmmError {
    VmmError::BadSnapshot(dir.display().to_string(), why)
}

/// Reads chunk `c` of guest RAM's image into `buf`, checking its CRC.
pub fn read_chunk(memory: &File, dir: &Path, c: &format::Chunk, size: u64, buf: &mut [u8]) -> Result<usize, VmmError> {
    read_image_chunk(memory, dir, "memory", 0, c, size, buf)
}

/// Reads chunk `c` of an image (`what`: "memory" or "device NAME", whose
/// guest-physical base is `gpa`) into `buf`, checking its CRC.
pub(super) fn read_image_chunk(
    f: &File,
    dir: &Path,
    what: &str,
    gpa: u64,
    c: &format::Chunk,
    size: u64,
    buf: &mut [u8],
) -> Result<usize, VmmError> {
    let len = format::chunk_len(c.index, size) as usize;
    f.read_exact_at(&mut buf[..len], c.index * CHUNK).map_err(|e| bad(dir, format!("cannot read {what} chunk {}: {e}", c.index)))?;
    let got = crc32fast::hash(&buf[..len]);
    if got != c.crc {
        return Err(bad(
            dir,
            format!(
                "{what} chunk {} (guest-physical {:#x}) is corrupt: checksum {got:08x}, expected {:08x}",
                c.index,
                gpa + c.index * CHUNK,
                c.crc
            ),
        ));
    }
    Ok(len)
}
