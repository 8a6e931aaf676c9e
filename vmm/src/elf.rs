//! ELF64 parsing for guest programs and the shim.
//!
//! Owns the validation of executables given to `vmm run --elf` (user input)
//! and of our own images. Every offset and size is checked against the file
//! before use; anything we cannot run gets a precise error, never a panic.
//! Only static, non-PIE x86-64 executables (ET_EXEC without PT_INTERP) are
//! accepted, which is what a guest program must be.

/// One loadable segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub memsz: u64,
    pub offset: u64,
    pub filesz: u64,
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

/// A parsed executable.
#[derive(Clone, Debug)]
pub struct Elf {
    pub entry: u64,
    pub segments: Vec<Segment>,
}

/// Why an ELF file cannot be run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ElfError {
    #[error("not an ELF file (bad magic)")]
    BadMagic,
    #[error("not a 64-bit little-endian x86-64 ELF")]
    WrongArch,
    #[error("the file is truncated ({0})")]
    Truncated(&'static str),
    #[error("not a static executable (ELF type {0}; PIE and shared objects are not supported)")]
    NotExec(u16),
    #[error("dynamically linked (has PT_INTERP); guest programs must be static")]
    Dynamic,
    #[error("segment {0} is malformed: {1}")]
    BadSegment(usize, &'static str),
    #[error("no loadable segment")]
    NoSegments,
    #[error("entry point {0:#x} is not in an executable segment")]
    BadEntry(u64),
}

fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(o..o.checked_add(2)?)?.try_into().ok()?))
}
fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(o..o.checked_add(4)?)?.try_into().ok()?))
}
fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(o..o.checked_add(8)?)?.try_into().ok()?))
}

const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PAGE: u64 = 4096;

impl Elf {
    /// Parses and validates `bytes`. `user` limits segments to the user half.
    pub fn parse(bytes: &[u8], user: bool) -> Result<Elf, ElfError> {
        if bytes.len() < 64 {
            return Err(if bytes.get(..4) == Some(b"\x7fELF") { ElfError::Truncated("ELF header") } else { ElfError::BadMagic });
        }
        if &bytes[..4] != b"\x7fELF" {
            return Err(ElfError::BadMagic);
        }
        if bytes[4] != 2 || bytes[5] != 1 || u16_at(bytes, 18) != Some(62) {
            return Err(ElfError::WrongArch);
        }
        let etype = u16_at(bytes, 16).ok_or(ElfError::Truncated("ELF header"))?;
        if etype != 2 {
            return Err(ElfError::NotExec(etype));
        }
        let entry = u64_at(bytes, 24).ok_or(ElfError::Truncated("ELF header"))?;
        let phoff = u64_at(bytes, 32).ok_or(ElfError::Truncated("ELF header"))? as usize;
        let phentsize = u16_at(bytes, 54).ok_or(ElfError::Truncated("ELF header"))? as usize;
        let phnum = u16_at(bytes, 56).ok_or(ElfError::Truncated("ELF header"))? as usize;
        if phentsize < 56 || phnum > 256 {
            return Err(ElfError::Truncated("program headers"));
        }
        let mut segments = Vec::new();
        for i in 0..phnum {
            let o = phoff
                .checked_add(i.checked_mul(phentsize).ok_or(ElfError::Truncated("program headers"))?)
                .ok_or(ElfError::Truncated("program headers"))?;
            let p_type = u32_at(bytes, o).ok_or(ElfError::Truncated("program headers"))?;
            if p_type == PT_INTERP {
                return Err(ElfError::Dynamic);
            }
            if p_type != PT_LOAD {
                continue;
            }
            let flags = u32_at(bytes, o + 4).ok_or(ElfError::Truncated("program headers"))?;
            let offset = u64_at(bytes, o + 8).ok_or(ElfError::Truncated("program headers"))?;
            let vaddr = u64_at(bytes, o + 16).ok_or(ElfError::Truncated("program headers"))?;
            let filesz = u64_at(bytes, o + 32).ok_or(ElfError::Truncated("program headers"))?;
            let memsz = u64_at(bytes, o + 40).ok_or(ElfError::Truncated("program headers"))?;
            if filesz > memsz {
                return Err(ElfError::BadSegment(i, "file size exceeds memory size"));
            }
            if offset.checked_add(filesz).is_none_or(|e| e > bytes.len() as u64) {
                return Err(ElfError::BadSegment(i, "file data beyond the end of the file"));
            }
            let end = vaddr.checked_add(memsz).ok_or(ElfError::BadSegment(i, "address range wraps"))?;
            if user && (vaddr < 0x10000 || end > guest_mm::TASK_SIZE) {
                return Err(ElfError::BadSegment(i, "outside the user address range"));
            }
            if vaddr % PAGE != offset % PAGE {
                return Err(ElfError::BadSegment(i, "address and file offset are not congruent modulo the page size"));
            }
            if memsz == 0 {
                continue;
            }
            segments.push(Segment { vaddr, memsz, offset, filesz, read: flags & 4 != 0, write: flags & 2 != 0, exec: flags & 1 != 0 });
        }
        if segments.is_empty() {
            return Err(ElfError::NoSegments);
        }
        segments.sort_by_key(|s| s.vaddr);
        for (i, w) in segments.windows(2).enumerate() {
            if user && w[0].vaddr + w[0].memsz > w[1].vaddr & !(PAGE - 1) {
                return Err(ElfError::BadSegment(i + 1, "overlaps the previous segment's pages"));
            }
        }
        if user && !segments.iter().any(|s| s.exec && entry >= s.vaddr && entry < s.vaddr + s.memsz) {
            return Err(ElfError::BadEntry(entry));
        }
        Ok(Elf { entry, segments })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal(entry: u64, vaddr: u64, flags: u32) -> Vec<u8> {
        let mut b = vec![0u8; 0x2000];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[16..18].copy_from_slice(&2u16.to_le_bytes());
        b[18..20].copy_from_slice(&62u16.to_le_bytes());
        b[24..32].copy_from_slice(&entry.to_le_bytes());
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&1u16.to_le_bytes());
        let p = 64;
        b[p..p + 4].copy_from_slice(&1u32.to_le_bytes());
        b[p + 4..p + 8].copy_from_slice(&flags.to_le_bytes());
        b[p + 8..p + 16].copy_from_slice(&0x1000u64.to_le_bytes());
        b[p + 16..p + 24].copy_from_slice(&vaddr.to_le_bytes());
        b[p + 32..p + 40].copy_from_slice(&0x100u64.to_le_bytes());
        b[p + 40..p + 48].copy_from_slice(&0x100u64.to_le_bytes());
        b
    }

    #[test]
    fn accepts_a_minimal_static_executable() {
        let e = Elf::parse(&minimal(0x401000, 0x401000, 5), true).unwrap();
        assert_eq!(e.entry, 0x401000);
        assert_eq!(e.segments.len(), 1);
        assert!(e.segments[0].exec && e.segments[0].read && !e.segments[0].write);
    }

    #[test]
    fn rejects_garbage_truncation_and_bad_entries() {
        assert_eq!(Elf::parse(b"hello", true).unwrap_err(), ElfError::BadMagic);
        assert_eq!(Elf::parse(&minimal(0x401000, 0x401000, 5)[..40], true).unwrap_err(), ElfError::Truncated("ELF header"));
        assert_eq!(Elf::parse(&minimal(0x999000, 0x401000, 5), true).unwrap_err(), ElfError::BadEntry(0x999000));
        assert!(matches!(Elf::parse(&minimal(0x401000, 0x401000, 4), true).unwrap_err(), ElfError::BadEntry(_)));
        let mut wrap = minimal(0x401000, 0xffff_ffff_ffff_f000, 5);
        wrap[64 + 40..64 + 48].copy_from_slice(&0x2000u64.to_le_bytes());
        assert!(matches!(Elf::parse(&wrap, true).unwrap_err(), ElfError::BadSegment(0, _)));
        let mut pie = minimal(0x401000, 0x401000, 5);
        pie[16] = 3;
        assert_eq!(Elf::parse(&pie, true).unwrap_err(), ElfError::NotExec(3));
    }

    #[test]
    fn embedded_programs_parse() {
        for (name, _, bytes) in crate::images::PROGRAMS {
            Elf::parse(bytes, true).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        Elf::parse(crate::images::SHIM, false).unwrap();
    }
}
