//! Shared set-up for engine tests: plain host memory behind the same trait the
//! vmm uses, and a simulated CPU (see guest_mm::sim).
#![allow(dead_code)]

pub mod seeds;

use guest_mm::sim::SimCpu;
use guest_mm::{AsId, Engine, EngineConfig, FaultAround, Frame, Limits};
use vm_memory::{GuestAddress, GuestMemoryMmap};

pub type Mem = GuestMemoryMmap<()>;

/// An engine over `mib` MiB of host memory; the whole RAM but frame 0 is the pool.
pub fn engine_with(mib: u64, fault_around: FaultAround) -> Engine<Mem> {
    let bytes = mib << 20;
    let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), bytes as usize)]).unwrap();
    let config = EngineConfig {
        pool_first: Frame::new(1),
        pool_frames: (bytes >> 12) - 1,
        kernel_entries: vec![],
        fault_around,
        limits: Limits::default(),
    };
    Engine::new(mem, config).unwrap()
}

/// An engine whose pool has exactly `frames` frames (to force frame reuse).
pub fn engine_pool(frames: u64) -> Engine<Mem> {
    let bytes = (frames + 1) << 12;
    let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), bytes as usize)]).unwrap();
    let fa = FaultAround { file_pages: 16, anon_pages: 1 };
    let config = EngineConfig {
        pool_first: Frame::new(1),
        pool_frames: frames,
        kernel_entries: vec![],
        fault_around: fa,
        limits: Limits::default(),
    };
    Engine::new(mem, config).unwrap()
}

pub fn engine() -> Engine<Mem> {
    engine_with(16, FaultAround { file_pages: 16, anon_pages: 1 })
}

/// A new address space, with its creation batch applied.
pub fn space(e: &mut Engine<Mem>, cpu: &mut SimCpu) -> AsId {
    let (r, u) = e.create_space().split();
    cpu.mmu.apply(e.memory(), u);
    r.unwrap()
}

/// Applies an outcome's batch through the simulated shim and returns its result.
#[macro_export]
macro_rules! applied {
    ($cpu:expr, $e:expr, $outcome:expr) => {{
        let (r, u) = $outcome.split();
        $cpu.mmu.apply($e.memory(), u);
        $e.check_invariants().unwrap();
        r
    }};
}
