//! Whole-engine images: the engine's state without its guest memory.
//!
//! Owns `EngineImage`, what a VM checkpoint carries for the engine: the frame
//! pool (uses, reverse maps, hazards), the objects and their page caches, every
//! address space (VMAs and the host mirror of its page tables), the
//! configuration and the id counters. Guest RAM is not in it: the caller pairs
//! an image with memory holding the same bytes the engine saw when the image
//! was taken (a copy-on-write view of it for a VM fork, the snapshot's memory
//! file for a restore). `check_invariants` on the rebuilt engine verifies the
//! pairing (guest page tables equal to the mirror).
//!
//! No Linux counterpart: this is the engine half of a VM snapshot (what
//! Firecracker's snapshot keeps for devices, here for mm state).

use crate::engine::{Engine, EngineConfig};
use crate::frames::FrameTable;
use crate::memory::PhysMemory;
use crate::objects::ObjectTable;
use crate::space::{AddressSpace, AsId};
use std::collections::BTreeMap;

/// The engine's state, detached from guest memory.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct EngineImage {
    frames: FrameTable,
    objects: ObjectTable,
    spaces: BTreeMap<AsId, AddressSpace>,
    config: EngineConfig,
    next_space: u32,
    next_anon: u64,
}

impl EngineImage {
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The objects (checkpoints check their device windows against them).
    pub fn objects(&self) -> &ObjectTable {
        &self.objects
    }
}

impl<M: PhysMemory> Engine<M> {
    /// A copy of the engine's state (everything but guest memory).
    pub fn image(&self) -> EngineImage {
        let (next_space, next_anon) = self.counters();
        EngineImage {
            frames: self.frames.clone(),
            objects: self.objects.clone(),
            spaces: self.spaces.clone(),
            config: self.config.clone(),
            next_space,
            next_anon,
        }
    }

    /// An engine over `mem` in the state of `image`. `mem` must hold the
    /// bytes the imaged engine saw (see the module header).
    pub fn from_image(mem: M, image: EngineImage) -> Self {
        let EngineImage { frames, objects, spaces, config, next_space, next_anon } = image;
        Engine::assemble(mem, frames, objects, spaces, config, next_space, next_anon)
    }
}
