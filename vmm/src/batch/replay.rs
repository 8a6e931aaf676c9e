//! (tests) Executes encoded batch chunks on guest_mm::sim's MMU model, as the
//! vCPU would run them in ring 0.
//!
//! Owns the decoding of exactly the instructions `encode` emits: `movabs rax,
//! imm64`, `mov [moffs64], rax` (a store through the direct map), `invlpg
//! [rax]`, `mov rax, cr3; mov cr3, rax`, `out BATCH_CONTINUE_PORT, al` (end of
//! a chunk), `iretq` (end of the batch). Anything else is a test failure, so
//! a change to the encoder must come with a change here.

use super::BATCH_CONTINUE_PORT;
use crate::layout::DIRECT_BASE;
use guest_mm::sim::ShadowMmu;
use guest_mm::{PhysAddr, PhysMemory, VirtAddr};

/// What the replay executes of the flush instructions.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Flushes {
    /// As encoded.
    Run,
    /// Skipped: the encoding with its invlpg and CR3 reloads removed (the
    /// control tests' broken batch).
    Strip,
}

fn imm(code: &[u8], at: usize) -> u64 {
    let b: [u8; 8] = code.get(at..at + 8).and_then(|s| s.try_into().ok()).unwrap_or_else(|| panic!("truncated immediate at {at}"));
    u64::from_le_bytes(b)
}

/// Runs `chunks` in order; returns RAX at the final `iretq`.
pub fn run<M: PhysMemory + ?Sized>(chunks: &[Vec<u8>], mmu: &mut ShadowMmu, mem: &M, flushes: Flushes) -> u64 {
    let mut rax: Option<u64> = None;
    for (n, code) in chunks.iter().enumerate() {
        let last = n + 1 == chunks.len();
        let mut pc = 0;
        loop {
            let op = code.get(pc..(pc + 3).min(code.len())).unwrap_or_else(|| panic!("chunk {n} ends without iretq or a continue exit"));
            match op {
                [0x48, 0xb8, ..] => {
                    rax = Some(imm(code, pc + 2));
                    pc += 10;
                }
                [0x48, 0xa3, ..] => {
                    let kva = imm(code, pc + 2);
                    assert!(kva >= DIRECT_BASE, "a store outside the direct map: {kva:#x}");
                    let v = rax.expect("a store before RAX was loaded");
                    mmu.guest_store(mem, PhysAddr::new(kva - DIRECT_BASE), v);
                    pc += 10;
                }
                [0x0f, 0x01, 0x38] => {
                    if flushes == Flushes::Run {
                        mmu.invlpg(VirtAddr::new(rax.expect("invlpg before RAX was loaded")));
                    }
                    pc += 3;
                }
                [0x0f, 0x20, 0xd8] => {
                    assert_eq!(code.get(pc + 3..pc + 6), Some(&[0x0f, 0x22, 0xd8][..]), "mov rax, cr3 not followed by mov cr3, rax");
                    if flushes == Flushes::Run {
                        mmu.reload_cr3();
                    }
                    rax = None;
                    pc += 6;
                }
                [0xe6, port, ..] => {
                    assert_eq!(u16::from(*port), BATCH_CONTINUE_PORT, "chunk {n}: out to an unexpected port");
                    assert_eq!(pc + 2, code.len(), "chunk {n}: the continue exit is not the chunk's end");
                    assert!(!last, "the last chunk ends in a continue exit");
                    break;
                }
                [0x48, 0xcf, ..] => {
                    assert!(last && pc + 2 == code.len(), "iretq before the end of the batch");
                    return rax.expect("iretq without the user's RAX restored");
                }
                other => panic!("chunk {n} at {pc}: bytes {other:02x?} are not an instruction the encoder emits"),
            }
        }
    }
    panic!("the batch never returned to ring 3")
}
