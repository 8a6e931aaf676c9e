//! ELF64 parsing for guest programs and the shim.
//!
//! Owns the validation of executables given to `vmm run --elf` (user input)
//! and of our own images. Every offset and size is checked against the file
//! before use; anything we cannot run gets a precise error, never a panic.
//! Accepted: static x86-64 executables, both ET_EXEC and static-pie (ET_DYN
//! without PT_INTERP), as Linux's binfmt_elf loads them. A program that needs
//! a dynamic loader (PT_INTERP) is refused with the interpreter's name: the
//! guest has no file system to load it from.

/// One loadable segment. For ET_DYN the addresses are relative to the load bias.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub memsz: u64,
    pub offset: u64,
    pub filesz: u64,
    pub align: u64,
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

/// The ELF type, as far as loading goes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ElfKind {
    /// ET_EXEC: loaded at its link addresses.
    Exec,
    /// ET_DYN without PT_INTERP (static-pie): loaded at a base the kernel picks.
    StaticPie,
}

/// A parsed executable.
#[derive(Clone, Debug)]
pub struct Elf {
    pub kind: ElfKind,
    pub entry: u64,
    pub segments: Vec<Segment>,
    /// e_phoff, e_phentsize, e_phnum: where the program headers are in the file.
    pub phoff: u64,
    pub phentsize: u16,
    pub phnum: u16,
    /// PT_GNU_STACK's flags: Some(true) = executable stack requested,
    /// Some(false) = non-executable, None = no PT_GNU_STACK.
    pub exec_stack: Option<bool>,
    /// PT_TLS: (file offset, filesz, memsz, align) of the TLS template; the
    /// C library sets TLS up from it through AT_PHDR, the kernel does not.
    pub tls: Option<(u64, u64, u64, u64)>,
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
    #[error("not an executable (ELF type {0}: only ET_EXEC and static-pie ET_DYN run)")]
    NotExec(u16),
    #[error("dynamically linked: it needs the program interpreter {0}, and the guest cannot load one; link it statically (gcc -static, or -static-pie)")]
    Dynamic(String),
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

const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PT_TLS: u32 = 7;
const PT_GNU_STACK: u32 = 0x6474_e551;
const PF_X: u32 = 1;
const PAGE: u64 = 4096;
/// Lowest address an ET_EXEC segment may use (Linux's mmap_min_addr here).
const MIN_EXEC_VADDR: u64 = 0x10000;

/// The size of the program headers Linux accepts at most (ELF_MIN_ALIGN * 16 in
/// load_elf_phdrs: 65536 bytes).
const MAX_PHDRS_SIZE: usize = 65536;

impl Elf {
    /// Parses and validates `bytes`. `user` limits segments to the user half.
    pub fn parse(bytes: &[u8], user: bool) -> Result<Elf, ElfError> {
        Elf::parse_head(bytes, bytes.len() as u64, user)
    }

    /// Where the program headers end in the file (e_phoff + e_phnum *
    /// e_phentsize), from the first 64 bytes: how much of a file
    /// `parse_head` needs. None when the header is not there.
    pub fn headers_end(head: &[u8]) -> Option<u64> {
        let phoff = u64_at(head, 32)?;
        let phnum = u16_at(head, 56)? as u64;
        phoff.checked_add(phnum * 56)
    }

    /// Parses a file of `file_size` bytes of which `bytes` is the start
    /// (holding at least the ELF and program headers): what exec reads of
    /// a guest file, which may be far larger than its headers.
    pub fn parse_head(bytes: &[u8], file_size: u64, user: bool) -> Result<Elf, ElfError> {
        let hdr = |o| u64_at(bytes, o).ok_or(ElfError::Truncated("ELF header"));
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
        if etype != ET_EXEC && etype != ET_DYN {
            return Err(ElfError::NotExec(etype));
        }
        let entry = hdr(24)?;
        let phoff = hdr(32)?;
        let phentsize = u16_at(bytes, 54).ok_or(ElfError::Truncated("ELF header"))?;
        let phnum = u16_at(bytes, 56).ok_or(ElfError::Truncated("ELF header"))?;
        if phentsize != 56 || phnum == 0 || phnum as usize * 56 > MAX_PHDRS_SIZE {
            return Err(ElfError::Truncated("program headers"));
        }
        let mut segments = Vec::new();
        let mut exec_stack = None;
        let mut tls = None;
        let mut interp = None;
        for i in 0..phnum as usize {
            let o = usize::try_from(phoff).ok().and_then(|p| p.checked_add(i * 56)).ok_or(ElfError::Truncated("program headers"))?;
            let field = |off: usize| u64_at(bytes, o + off).ok_or(ElfError::Truncated("program headers"));
            let p_type = u32_at(bytes, o).ok_or(ElfError::Truncated("program headers"))?;
            let flags = u32_at(bytes, o + 4).ok_or(ElfError::Truncated("program headers"))?;
            let (offset, vaddr, filesz, memsz, align) = (field(8)?, field(16)?, field(32)?, field(40)?, field(48)?);
            match p_type {
                PT_INTERP => {
                    let name = usize::try_from(offset)
                        .ok()
                        .zip(usize::try_from(filesz).ok())
                        .and_then(|(s, n)| bytes.get(s..s.checked_add(n)?))
                        .map(|b| String::from_utf8_lossy(b.split(|c| *c == 0).next().unwrap_or_default()).into_owned())
                        .unwrap_or_else(|| "(unreadable)".into());
                    interp = Some(name);
                    continue;
                }
                PT_GNU_STACK => {
                    exec_stack = Some(flags & PF_X != 0);
                    continue;
                }
                PT_TLS => {
                    tls = Some((offset, filesz, memsz, align));
                    continue;
                }
                PT_LOAD => {}
                _ => continue,
            }
            if filesz > memsz {
                return Err(ElfError::BadSegment(i, "file size exceeds memory size"));
            }
            if offset.checked_add(filesz).is_none_or(|e| e > file_size) {
                return Err(ElfError::BadSegment(i, "file data beyond the end of the file"));
            }
            let end = vaddr.checked_add(memsz).ok_or(ElfError::BadSegment(i, "address range wraps"))?;
            if user && end > guest_mm::TASK_SIZE {
                return Err(ElfError::BadSegment(i, "outside the user address range"));
            }
            if user && etype == ET_EXEC && vaddr < MIN_EXEC_VADDR {
                return Err(ElfError::BadSegment(i, "below the lowest address a program may map (64 KiB)"));
            }
            if vaddr % PAGE != offset % PAGE {
                return Err(ElfError::BadSegment(i, "address and file offset are not congruent modulo the page size"));
            }
            if memsz == 0 {
                continue;
            }
            segments.push(Segment {
                vaddr,
                memsz,
                offset,
                filesz,
                align,
                read: flags & 4 != 0,
                write: flags & 2 != 0,
                exec: flags & PF_X != 0,
            });
        }
        if let Some(name) = interp {
            return Err(ElfError::Dynamic(name));
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
        let kind = if etype == ET_EXEC { ElfKind::Exec } else { ElfKind::StaticPie };
        Ok(Elf { kind, entry, segments, phoff, phentsize, phnum, exec_stack, tls })
    }

    /// Bytes from the first segment's page to the end of the last segment
    /// (Linux's total_mapping_size).
    pub fn span(&self) -> u64 {
        let first = self.segments.first().map_or(0, |s| s.vaddr & !(PAGE - 1));
        let last = self.segments.last().map_or(0, |s| s.vaddr + s.memsz);
        (last - first + PAGE - 1) & !(PAGE - 1)
    }

    /// The largest segment alignment (for placing a static-pie).
    pub fn max_align(&self) -> u64 {
        self.segments.iter().map(|s| s.align).filter(|a| a.is_power_of_two()).max().unwrap_or(PAGE).max(PAGE)
    }

    /// The address (before the load bias) where the program headers appear
    /// in memory: in the loaded segment whose file range holds e_phoff, as
    /// load_elf_binary computes phdr_addr (0 when none does).
    pub fn phdr_vaddr(&self) -> u64 {
        self.segments
            .iter()
            .rev()
            .find(|s| s.offset <= self.phoff && self.phoff < s.offset + s.filesz)
            .map_or(0, |s| self.phoff - s.offset + s.vaddr)
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

    /// Appends a second program header of `p_type` whose data is `data` at file offset 0x1800.
    fn with_phdr(mut b: Vec<u8>, p_type: u32, flags: u32, data: &[u8]) -> Vec<u8> {
        b[56..58].copy_from_slice(&2u16.to_le_bytes());
        let p = 64 + 56;
        b[p..p + 4].copy_from_slice(&p_type.to_le_bytes());
        b[p + 4..p + 8].copy_from_slice(&flags.to_le_bytes());
        b[p + 8..p + 16].copy_from_slice(&0x1800u64.to_le_bytes());
        b[p + 32..p + 40].copy_from_slice(&(data.len() as u64).to_le_bytes());
        b[0x1800..0x1800 + data.len()].copy_from_slice(data);
        b
    }

    #[test]
    fn accepts_a_minimal_static_executable() {
        let e = Elf::parse(&minimal(0x401000, 0x401000, 5), true).unwrap();
        assert_eq!((e.kind, e.entry, e.segments.len()), (ElfKind::Exec, 0x401000, 1));
        assert!(e.segments[0].exec && e.segments[0].read && !e.segments[0].write);
        assert_eq!(e.exec_stack, None);
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
        let mut so = minimal(0x401000, 0x401000, 5);
        so[16] = 4;
        assert_eq!(Elf::parse(&so, true).unwrap_err(), ElfError::NotExec(4));
        let mut many = minimal(0x401000, 0x401000, 5);
        many[56..58].copy_from_slice(&u16::MAX.to_le_bytes());
        assert_eq!(Elf::parse(&many, true).unwrap_err(), ElfError::Truncated("program headers"));
    }

    #[test]
    fn static_pie_is_accepted_at_low_relative_addresses() {
        let mut pie = minimal(0x1000, 0x1000, 5);
        pie[16] = 3;
        let e = Elf::parse(&pie, true).unwrap();
        assert_eq!(e.kind, ElfKind::StaticPie);
        let mut exec_low = minimal(0x1000, 0x1000, 5);
        exec_low[16] = 2;
        assert!(matches!(Elf::parse(&exec_low, true).unwrap_err(), ElfError::BadSegment(0, _)));
    }

    #[test]
    fn an_interpreter_is_refused_by_name_and_gnu_stack_is_read() {
        let dynamic = with_phdr(minimal(0x401000, 0x401000, 5), PT_INTERP, 4, b"/lib64/ld-linux-x86-64.so.2\0");
        assert_eq!(Elf::parse(&dynamic, true).unwrap_err(), ElfError::Dynamic("/lib64/ld-linux-x86-64.so.2".into()));
        assert!(ElfError::Dynamic("/lib/ld-musl-x86_64.so.1".into()).to_string().contains("/lib/ld-musl-x86_64.so.1"));
        let xstack = with_phdr(minimal(0x401000, 0x401000, 5), PT_GNU_STACK, 7, b"");
        assert_eq!(Elf::parse(&xstack, true).unwrap().exec_stack, Some(true));
        let nxstack = with_phdr(minimal(0x401000, 0x401000, 5), PT_GNU_STACK, 6, b"");
        assert_eq!(Elf::parse(&nxstack, true).unwrap().exec_stack, Some(false));
    }

    #[test]
    fn embedded_programs_parse() {
        for (name, _, bytes) in crate::images::PROGRAMS {
            Elf::parse(bytes, true).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        Elf::parse(crate::images::SHIM, false).unwrap();
    }
}
