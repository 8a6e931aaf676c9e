//! The kernel's state as a value, for whole-VM checkpoints (vmfork, snapshot).
//!
//! Owns `KernelImage`: the process table (registers, FPU, signal state, fd
//! tables), the scheduler's position, the pending PTE batch, the file
//! namespace and the counters. The engine travels separately as a
//! `guest_mm::EngineImage` because it must be paired with guest memory; the
//! console and the print options are the new run's, not the image's.

use super::fs::Vfs;
use super::process::{Pid, Process};
use super::{Console, Kernel, Stats};
use guest_mm::{Engine, PteUpdates};
use std::collections::BTreeMap;
use vm_memory::GuestMemoryMmap;

/// Everything of a `Kernel` but the engine and the console.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct KernelImage {
    procs: BTreeMap<Pid, Process>,
    current: Pid,
    next_pid: Pid,
    pending: PteUpdates,
    vfs: Vfs,
    stats: Stats,
}

impl KernelImage {
    /// The process that was running when the image was taken.
    pub fn current(&self) -> Pid {
        self.current
    }

    pub fn process(&self, pid: Pid) -> Option<&Process> {
        self.procs.get(&pid)
    }
}

impl Kernel {
    /// A copy of the kernel's state (the engine excluded).
    pub fn image(&self) -> KernelImage {
        KernelImage {
            procs: self.procs.clone(),
            current: self.current,
            next_pid: self.next_pid,
            pending: self.pending.clone(),
            vfs: self.vfs.clone(),
            stats: self.stats.clone(),
        }
    }

    /// A kernel in the state of `image` over `engine`.
    pub fn from_image(engine: Engine<GuestMemoryMmap>, image: KernelImage, console: Console) -> Kernel {
        let KernelImage { procs, current, next_pid, pending, vfs, stats } = image;
        Kernel {
            engine,
            procs,
            current,
            next_pid,
            pending,
            vfs,
            stats,
            console,
            quiet: false,
            show_maps: false,
            device_request: None,
            max_procs: usize::MAX,
        }
    }
}
