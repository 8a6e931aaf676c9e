//! Loading a program into a fresh address space, as Linux's binfmt_elf does
//! (fs/binfmt_elf.c load_elf_binary, elf_load; fs/exec.c setup_arg_pages).
//!
//! Owns the mapping of an executable: ET_EXEC at its link addresses
//! (MAP_FIXED_NOREPLACE for the first segment), static-pie (ET_DYN without
//! PT_INTERP) placed by the kernel's top-down mmap like any other mapping
//! (Linux's load_bias of 0 for an interpreter-less ET_DYN), each PT_LOAD a
//! private file mapping of the program's file object with the segment's
//! protection; the part of the last file page past p_filesz is zeroed
//! (padzero, for writable segments) and the rest of p_memsz is anonymous
//! memory (vm_brk_flags: read-write, plus exec if the segment is). Then the
//! break (after the bss, or ELF_ET_DYN_BASE for a static-pie), the main
//! thread's growing stack (PT_GNU_STACK says whether it is executable), and
//! the initial stack contents (`stack`). Every step goes through the engine's
//! syscall-level operations, so the program's memory obeys exactly the rules
//! its own mmap calls would.

pub mod new_exec;
pub mod script;
pub mod stack;

use crate::elf::{Elf, ElfKind};
use guest_mm::ops::map;
use guest_mm::ops::mmap::{MapFile, MmapArgs};
use guest_mm::vma::Prot;
use guest_mm::{AsId, Engine, Errno, PhysMemory, PteUpdates, VirtAddr, PAGE_SIZE};

pub use stack::{ArgArea, AuxInfo, Stack};

/// Top of the stack: Linux's STACK_TOP without randomisation.
pub const STACK_TOP: u64 = guest_mm::TASK_SIZE;

/// Why a program could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("mapping the segment at {0:#x} failed ({1})")]
    Map(u64, Errno),
    #[error("setting up the stack failed ({0})")]
    Stack(Errno),
    #[error("the arguments and environment are too long for the stack limit (E2BIG)")]
    TooBig,
}

/// Where a loaded program starts, and what its initial stack holds.
#[derive(Copy, Clone, Debug)]
pub struct Entry {
    pub rip: u64,
    pub rsp: u64,
}

fn page_down(v: u64) -> u64 {
    v & !(PAGE_SIZE - 1)
}
fn page_up(v: u64) -> u64 {
    (v + PAGE_SIZE - 1) & !(PAGE_SIZE - 1)
}

fn prot(read: bool, write: bool, exec: bool) -> Prot {
    let mut p = Prot::empty();
    if read {
        p |= Prot::READ;
    }
    if write {
        p |= Prot::WRITE;
    }
    if exec {
        p |= Prot::EXEC;
    }
    p
}

/// What to load: the program's file object (its mappings show the
/// object's name in maps) and its parsed headers.
pub struct Program<'a> {
    pub obj: guest_mm::ObjectId,
    pub elf: &'a Elf,
}

fn mmap<M: PhysMemory>(engine: &mut Engine<M>, id: AsId, a: MmapArgs, tlb: &mut PteUpdates) -> Result<u64, Errno> {
    let (r, u) = engine.mmap(id, a).split();
    tlb.absorb(u);
    r.map(|v| v.as_u64())
}

/// Maps `prog` and its stack into space `id`; returns the entry point and
/// the initial stack pointer.
pub fn load<M: PhysMemory>(
    engine: &mut Engine<M>,
    id: AsId,
    prog: &Program<'_>,
    stack: &Stack<'_>,
    tlb: &mut PteUpdates,
) -> Result<Entry, ExecError> {
    let bias = map_segments(engine, id, prog.obj, prog.elf, tlb)?;
    let elf = prog.elf;
    // mm->start_brk/brk and start_data/end_data, as load_elf_binary leaves them.
    let elf_brk = elf.segments.iter().map(|s| s.vaddr + s.memsz).max().unwrap_or(0) + bias;
    let brk = if elf.kind == ElfKind::StaticPie { linux_abi::arch::ELF_ET_DYN_BASE } else { page_up(elf_brk) };
    let start_data = elf.segments.iter().map(|s| s.vaddr).max().unwrap_or(0) + bias;
    let end_data = elf.segments.iter().map(|s| s.vaddr + s.filesz).max().unwrap_or(0) + bias;
    engine.set_brk_base(id, VirtAddr::new(brk)).map_err(|e| ExecError::Map(brk, e))?;
    engine.set_data_segment(id, start_data, end_data).map_err(|e| ExecError::Map(start_data, e))?;
    let aux = AuxInfo { phdr: elf.phdr_vaddr() + bias, phent: elf.phentsize as u64, phnum: elf.phnum as u64, entry: elf.entry + bias };
    let sp = stack::build(engine, id, stack, &aux, elf.exec_stack == Some(true), tlb)?;
    Ok(Entry { rip: elf.entry + bias, rsp: sp })
}

/// Maps every PT_LOAD segment; returns the load bias (0 for ET_EXEC).
fn map_segments<M: PhysMemory>(
    engine: &mut Engine<M>,
    id: AsId,
    obj: guest_mm::ObjectId,
    elf: &Elf,
    tlb: &mut PteUpdates,
) -> Result<u64, ExecError> {
    let file = MapFile::Open { obj, read: true, write: false };
    let mut bias = 0u64;
    for (i, s) in elf.segments.iter().enumerate() {
        let p = prot(s.read, s.write, s.exec);
        let start = page_down(s.vaddr);
        let file_end = page_up(s.vaddr + s.filesz);
        if s.filesz > 0 {
            let (addr, flags, len) = match (i, elf.kind) {
                (0, ElfKind::Exec) => (start, map::PRIVATE | map::FIXED_NOREPLACE, file_end - start),
                // The first segment of a static-pie: placed top-down with the
                // whole image's size, the excess then unmapped (elf_map with
                // total_size), which fixes the load bias.
                (0, ElfKind::StaticPie) => (0, map::PRIVATE, elf.span()),
                _ => (start + bias, map::PRIVATE | map::FIXED, file_end - start),
            };
            let a = MmapArgs { addr, len, prot: p.bits(), flags, file, offset: page_down(s.offset) };
            let at = mmap(engine, id, a, tlb).map_err(|e| ExecError::Map(addr, e))?;
            if i == 0 && elf.kind == ElfKind::StaticPie {
                bias = at - start;
                let excess = elf.span() - (file_end - start);
                if excess > 0 {
                    let (r, u) = engine.munmap(id, bias + file_end, excess).split();
                    tlb.absorb(u);
                    r.map_err(|e| ExecError::Map(bias + file_end, e))?;
                }
            }
        } else if i == 0 && elf.kind == ElfKind::StaticPie {
            // A bss-only first segment: reserve the image, keep nothing of it.
            let a = MmapArgs::anon(elf.span(), Prot::empty());
            let at = mmap(engine, id, a, tlb).map_err(|e| ExecError::Map(0, e))?;
            bias = at - start;
            let (r, u) = engine.munmap(id, at, elf.span()).split();
            tlb.absorb(u);
            r.map_err(|e| ExecError::Map(at, e))?;
        }
        let zero_start = s.vaddr + s.filesz + bias;
        let zero_end = s.vaddr + s.memsz + bias;
        if zero_end > zero_start {
            if s.filesz > 0 && s.write && !zero_start.is_multiple_of(PAGE_SIZE) {
                // padzero: the rest of the last file page (only writable
                // segments; an error elsewhere is ignored, as in Linux).
                let n = (page_up(zero_start).min(page_up(zero_end)) - zero_start) as usize;
                let (r, u) = engine.write_user(id, VirtAddr::new(zero_start), &vec![0u8; n]).split();
                tlb.absorb(u);
                r.map_err(|e| ExecError::Map(zero_start, e))?;
            }
            let anon_start = if s.filesz > 0 { page_up(zero_start) } else { page_down(zero_start) };
            let anon_end = page_up(zero_end);
            if anon_end > anon_start {
                // vm_brk_flags: read-write, plus exec when the segment is.
                let a = MmapArgs {
                    addr: anon_start,
                    len: anon_end - anon_start,
                    prot: prot(true, true, s.exec).bits(),
                    flags: map::PRIVATE | map::ANONYMOUS | map::FIXED,
                    file: MapFile::None,
                    offset: 0,
                };
                mmap(engine, id, a, tlb).map_err(|e| ExecError::Map(anon_start, e))?;
            }
        }
    }
    Ok(bias)
}
