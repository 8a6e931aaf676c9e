//! The kernel's state as a value, for whole-VM checkpoints (vmfork, snapshot).
//!
//! Owns `KernelImage`: the process table (registers, FPU, FS/GS base, signal
//! state, descriptor tables), the open file descriptions and pipes, the scheduler's
//! position, the pending PTE batch, the file namespace, what the console
//! looked like, the clock and the random generator, the identity, and the
//! counters. The engine travels separately as a `guest_mm::EngineImage`
//! because it must be paired with guest memory; the console itself, the
//! tracer and the print options are the new run's, not the image's.

use super::clock::Clock;
use super::creds::Creds;
use super::fs::console::{Console, ConsoleInfo};
use super::fs::{FileTable, Vfs};
use super::process::{Pid, Process};
use super::random::Rng;
use super::{Kernel, Stats, Uname};
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
    files: FileTable,
    pipes: super::fs::pipe::Pipes,
    console_info: ConsoleInfo,
    clock: Clock,
    rng: Rng,
    uname: Uname,
    creds: Creds,
    stats: Stats,
    /// AT_HWCAP for programs exec'd after a restore (older images: 0).
    #[serde(default)]
    hwcap: u64,
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
    /// A copy of the kernel's state (the engine excluded). Taken at a
    /// checkpoint: the current process is on the vCPU.
    pub fn image(&self) -> KernelImage {
        KernelImage {
            procs: self.procs.clone(),
            current: self.current,
            next_pid: self.next_pid,
            pending: self.pending.clone(),
            vfs: self.vfs.clone(),
            files: self.files.clone(),
            pipes: self.pipes.clone(),
            console_info: self.console_info.clone(),
            clock: self.clock.clone(),
            rng: self.rng.clone(),
            uname: self.uname.clone(),
            creds: self.creds.clone(),
            stats: self.stats.clone(),
            hwcap: self.hwcap,
        }
    }

    /// A kernel in the state of `image` over `engine`; the current process's
    /// registers and FPU are the vCPU's (the checkpoint's).
    pub fn from_image(engine: Engine<GuestMemoryMmap>, image: KernelImage, console: Console) -> Kernel {
        let KernelImage { procs, current, next_pid, pending, vfs, files, pipes, console_info, clock, rng, uname, creds, stats, hwcap } =
            image;
        Kernel {
            engine,
            procs,
            current,
            next_pid,
            on_cpu: Some(current),
            fpu_owner: Some(current),
            pending,
            vfs,
            files,
            pipes,
            stats,
            console,
            console_info,
            clock,
            rng,
            uname,
            creds,
            hwcap,
            strace: None,
            quiet: false,
            show_maps: false,
            max_procs: usize::MAX,
        }
    }
}
