//! Loading a program into a fresh address space (Linux's load_elf_binary).
//!
//! Owns the mapping of an executable: every PT_LOAD segment becomes a private
//! file mapping of the program's file object with the segment's protection;
//! the part of the last file page past p_filesz is zeroed (padzero, for
//! writable segments) and the rest of p_memsz is anonymous memory (the bss).
//! Then the stack VMA and the Linux initial stack (argc, argv, envp, auxv).
//! Every step goes through the engine's syscall-level operations, so the
//! program's memory obeys exactly the rules its own mmap calls would.

use crate::elf::Elf;
use guest_mm::ops::map;
use guest_mm::ops::mmap::{MapFile, MmapArgs};
use guest_mm::vma::Prot;
use guest_mm::{AsId, Engine, Errno, PhysMemory, PteUpdates, VirtAddr, PAGE_SIZE, TASK_SIZE};
use std::sync::Arc;

/// Size of the stack VMA. Fixed: the stack does not grow (no VM_GROWSDOWN).
pub const STACK_SIZE: u64 = 1 << 20;
/// Top of the stack: Linux's STACK_TOP without randomisation.
pub const STACK_TOP: u64 = TASK_SIZE;

/// Where a loaded program starts.
#[derive(Copy, Clone, Debug)]
pub struct Entry {
    pub rip: u64,
    pub rsp: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("mapping segment at {0:#x} failed: {1}")]
    Map(u64, Errno),
    #[error("writing the initial stack failed: {0}")]
    Stack(Errno),
    #[error("arguments too long")]
    TooBig,
}

fn page_down(v: u64) -> u64 {
    v & !(PAGE_SIZE - 1)
}
fn page_up(v: u64) -> u64 {
    (v + PAGE_SIZE - 1) & !(PAGE_SIZE - 1)
}

fn prot(read: bool, write: bool, exec: bool) -> u64 {
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
    p.bits()
}

/// Maps `elf` (whose bytes are `image`) and a stack into space `id`.
pub fn load<M: PhysMemory>(
    engine: &mut Engine<M>,
    id: AsId,
    name: &str,
    image: Arc<[u8]>,
    elf: &Elf,
    args: &[String],
    tlb: &mut PteUpdates,
) -> Result<Entry, ExecError> {
    let obj = engine.create_file(&format!("/bin/{name}"), image, false);
    let file = MapFile::Open { obj, read: true, write: false };
    let mut result = Ok(());
    for s in &elf.segments {
        let start = page_down(s.vaddr);
        let p = prot(s.read, s.write, s.exec);
        let file_end = page_up(s.vaddr + s.filesz);
        if s.filesz > 0 {
            let a = MmapArgs {
                addr: start,
                len: file_end - start,
                prot: p,
                flags: map::PRIVATE | map::FIXED,
                file,
                offset: page_down(s.offset),
            };
            let (r, u) = engine.mmap(id, a).split();
            tlb.absorb(u);
            if let Err(e) = r {
                result = Err(ExecError::Map(start, e));
                break;
            }
        }
        let zero_start = s.vaddr + s.filesz;
        let zero_end = s.vaddr + s.memsz;
        if zero_end > zero_start {
            if s.filesz > 0 && s.write && zero_start % PAGE_SIZE != 0 {
                let n = (page_up(zero_start).min(zero_end) - zero_start) as usize;
                let (r, u) = engine.write_user(id, VirtAddr::new(zero_start), &vec![0u8; n]).split();
                tlb.absorb(u);
                r.map_err(|e| ExecError::Map(zero_start, e))?;
            }
            let anon_start = if s.filesz > 0 { file_end } else { start };
            let anon_end = page_up(zero_end);
            if anon_end > anon_start {
                let a = MmapArgs {
                    addr: anon_start,
                    len: anon_end - anon_start,
                    prot: p,
                    flags: map::PRIVATE | map::ANONYMOUS | map::FIXED,
                    file: MapFile::None,
                    offset: 0,
                };
                let (r, u) = engine.mmap(id, a).split();
                tlb.absorb(u);
                r.map_err(|e| ExecError::Map(anon_start, e))?;
            }
        }
    }
    // The file object lives on through its VMAs only.
    let _ = engine.put_object(obj);
    result?;
    let rsp = build_stack(engine, id, name, args, elf.entry, tlb)?;
    Ok(Entry { rip: elf.entry, rsp })
}

/// Maps the stack and writes argc, argv, envp and auxv as Linux lays them out.
fn build_stack<M: PhysMemory>(
    engine: &mut Engine<M>,
    id: AsId,
    name: &str,
    args: &[String],
    entry: u64,
    tlb: &mut PteUpdates,
) -> Result<u64, ExecError> {
    let base = STACK_TOP - STACK_SIZE;
    let a = MmapArgs {
        addr: base,
        len: STACK_SIZE,
        prot: (Prot::READ | Prot::WRITE).bits(),
        flags: map::PRIVATE | map::ANONYMOUS | map::FIXED,
        file: MapFile::None,
        offset: 0,
    };
    let (r, u) = engine.mmap(id, a).split();
    tlb.absorb(u);
    r.map_err(|e| ExecError::Map(base, e))?;
    let _ = engine.name_stack(id, VirtAddr::new(base));

    let mut argv: Vec<String> = vec![name.to_string()];
    argv.extend(args.iter().cloned());
    // Strings at the top, then 16 random bytes for AT_RANDOM (fixed: deterministic runs).
    let mut strings = Vec::new();
    let mut offsets = Vec::new();
    for a in &argv {
        offsets.push(strings.len() as u64);
        strings.extend_from_slice(a.as_bytes());
        strings.push(0);
    }
    let random_off = strings.len() as u64;
    strings.extend_from_slice(&[0x5a; 16]);
    if strings.len() as u64 > STACK_SIZE / 4 {
        return Err(ExecError::TooBig);
    }
    let strings_at = (STACK_TOP - 16 - strings.len() as u64) & !15;
    let auxv: [(u64, u64); 5] = [(6, PAGE_SIZE), (9, entry), (25, strings_at + random_off), (23, 0), (0, 0)];
    let words = 1 + argv.len() + 1 + 1 + auxv.len() * 2;
    let sp = (strings_at - (words as u64) * 8) & !15;
    let mut table: Vec<u64> = vec![argv.len() as u64];
    table.extend(offsets.iter().map(|o| strings_at + o));
    table.push(0); // end of argv
    table.push(0); // empty envp
    for (k, v) in auxv {
        table.push(k);
        table.push(v);
    }
    let bytes: Vec<u8> = table.iter().flat_map(|w| w.to_le_bytes()).collect();
    for (addr, data) in [(strings_at, strings.as_slice()), (sp, bytes.as_slice())] {
        let (r, u) = engine.write_user(id, VirtAddr::new(addr), data).split();
        tlb.absorb(u);
        r.map_err(ExecError::Stack)?;
    }
    Ok(sp)
}
