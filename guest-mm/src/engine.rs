//! The engine: the frame pool, the objects and the address spaces together.
//!
//! Owns the lifecycle of address spaces and objects and the configuration
//! every operation consults. The operations themselves live in their own
//! modules (`fault`, `ops::*`, `fork`, `revoke`, `uaccess`, `introspect`,
//! `invariants`) as `impl Engine` blocks, each mirroring a piece of Linux mm.

use crate::addr::{Frame, VirtAddr, PAGE_SIZE, TASK_SIZE};
use crate::frames::{FrameCounts, FrameTable, OutOfFrames};
use crate::mapping;
use crate::memory::{MemError, PhysMemory};
use crate::objects::{MemObject, ObjectId, ObjectKind, ObjectTable};
use crate::paging::{Ctx, Outcome, PageTables, PagingError, PteUpdates};
use crate::space::{AddressSpace, AsId};
use crate::vma::{AnonVmaId, Backing};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How many pages a fault maps at once.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FaultAround {
    /// File and shmem read faults map up to this many cached pages around the
    /// fault (Linux's fault_around_bytes / PAGE_SIZE, default 16).
    pub file_pages: u32,
    /// Anonymous faults populate an aligned block of this many pages, like an
    /// anonymous mTHP of that size; 1 = one page per fault as Linux without mTHP.
    pub anon_pages: u32,
}

impl Default for FaultAround {
    fn default() -> Self {
        FaultAround { file_pages: 16, anon_pages: 16 }
    }
}

/// Limits Linux would take from sysctls and rlimits.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// vm.mmap_min_addr: unprivileged mappings below it fail with EPERM.
    pub mmap_min_addr: u64,
    /// vm.max_map_count.
    pub max_map_count: usize,
    /// RLIMIT_MEMLOCK in bytes (the guest runs unprivileged: no CAP_IPC_LOCK).
    pub memlock: u64,
    /// RLIMIT_STACK in bytes, which decides the mmap base.
    pub stack: u64,
    /// VMAs of all spaces together. Linux keeps VMAs in (guest) kernel
    /// memory, which bounds them; ours live in host memory, so without this a
    /// guest could fork copies of 65530-VMA spaces until the host runs out.
    /// Beyond it, operations that add VMAs fail with ENOMEM, as when Linux
    /// cannot allocate a vm_area_struct.
    pub max_total_vmas: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { mmap_min_addr: 4096, max_map_count: 65530, memlock: 8 << 20, stack: 8 << 20, max_total_vmas: usize::MAX }
    }
}

impl Limits {
    /// The VMA budget for a guest with `ram` bytes of RAM: one VMA per 512
    /// bytes of RAM (a vm_area_struct is ~200 bytes in Linux), and at least
    /// room for two spaces at vm.max_map_count.
    pub fn total_vmas_for_ram(ram: u64, max_map_count: usize) -> usize {
        ((ram / 512) as usize).max(2 * max_map_count)
    }
}

/// Engine configuration.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct EngineConfig {
    /// First frame of the guest-RAM pool the engine may use.
    pub pool_first: Frame,
    /// Number of frames in the pool.
    pub pool_frames: u64,
    /// Root-table slots shared by every address space (the kernel half).
    pub kernel_entries: Vec<(usize, u64)>,
    pub fault_around: FaultAround,
    pub limits: Limits,
}

/// Errors of the engine itself (not syscall semantics).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the frame pool must hold at least 16 frames, got {0}")]
    PoolTooSmall(u64),
    #[error("no address space {0:?}")]
    NoSuchSpace(AsId),
    #[error("no object {0:?}")]
    NoSuchObject(ObjectId),
    #[error(transparent)]
    Paging(#[from] PagingError),
    #[error(transparent)]
    Memory(#[from] MemError),
    #[error(transparent)]
    OutOfFrames(#[from] OutOfFrames),
}

/// The memory-management engine for one guest.
pub struct Engine<M: PhysMemory> {
    pub(crate) mem: M,
    pub(crate) frames: FrameTable,
    pub(crate) objects: ObjectTable,
    pub(crate) spaces: BTreeMap<AsId, AddressSpace>,
    pub(crate) config: EngineConfig,
    next_space: u32,
    next_anon: u64,
}

impl<M: PhysMemory> Engine<M> {
    /// An engine over `mem`, owning the frames named in `config`.
    pub fn new(mem: M, config: EngineConfig) -> Result<Self, EngineError> {
        if config.pool_frames < 16 {
            return Err(EngineError::PoolTooSmall(config.pool_frames));
        }
        let frames = FrameTable::new(config.pool_first, config.pool_frames);
        mem.zero_frame(frames.zero_frame())?;
        Ok(Engine { mem, frames, objects: ObjectTable::new(), spaces: BTreeMap::new(), config, next_space: 0, next_anon: 0 })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The id counters (next address space, next anon_vma), for `image`.
    pub(crate) fn counters(&self) -> (u32, u64) {
        (self.next_space, self.next_anon)
    }

    /// Rebuilds an engine from its parts (`image::from_image`).
    pub(crate) fn assemble(
        mem: M,
        frames: FrameTable,
        objects: ObjectTable,
        spaces: BTreeMap<AsId, AddressSpace>,
        config: EngineConfig,
        next_space: u32,
        next_anon: u64,
    ) -> Self {
        Engine { mem, frames, objects, spaces, config, next_space, next_anon }
    }

    /// The guest memory the engine works on.
    pub fn memory(&self) -> &M {
        &self.mem
    }

    /// Replaces the guest memory the engine works on, returning the old one.
    /// The vmm uses it to add a device window's region on plug and to drop it
    /// on unplug, so that after unplug no engine access can reach the old
    /// backing even by mistake (it is an error, not a host access).
    pub fn replace_memory(&mut self, mem: M) -> M {
        std::mem::replace(&mut self.mem, mem)
    }

    /// Frame usage counts.
    pub fn frame_counts(&self) -> FrameCounts {
        self.frames.counts()
    }

    pub fn frames(&self) -> &FrameTable {
        &self.frames
    }

    pub fn objects(&self) -> &ObjectTable {
        &self.objects
    }

    /// Ids of all address spaces.
    pub fn space_ids(&self) -> Vec<AsId> {
        self.spaces.keys().copied().collect()
    }

    pub fn space(&self, id: AsId) -> Option<&AddressSpace> {
        self.spaces.get(&id)
    }

    /// The root table frame of a space: the value for CR3.
    pub fn root(&self, id: AsId) -> Option<Frame> {
        self.spaces.get(&id).map(|s| s.tables.root())
    }

    pub(crate) fn new_anon_vma(&mut self) -> AnonVmaId {
        self.next_anon += 1;
        AnonVmaId(self.next_anon)
    }

    /// Top of the mmap area for a new space: Linux's mmap_base() without
    /// randomisation: TASK_SIZE minus the stack rlimit plus guard gap,
    /// clamped to at least 128 MiB below the top.
    fn mmap_base(&self) -> VirtAddr {
        let min_gap = 128 << 20;
        let max_gap = TASK_SIZE / 6 * 5;
        let pad = 256 * PAGE_SIZE; // stack_guard_gap
        let gap = (self.config.limits.stack + pad).clamp(min_gap, max_gap);
        VirtAddr::new((TASK_SIZE - gap) & !(PAGE_SIZE - 1))
    }

    /// Creates an empty address space.
    pub fn create_space(&mut self) -> Outcome<Result<AsId, EngineError>> {
        let mut tlb = PteUpdates::new();
        self.next_space += 1;
        let id = AsId(self.next_space);
        let mut cx = Ctx { mem: &self.mem, frames: &mut self.frames, tlb: &mut tlb };
        let r = PageTables::new(id, &self.config.kernel_entries, &mut cx).map(|tables| {
            let base = self.mmap_base();
            self.spaces.insert(id, AddressSpace { id, vmas: Default::default(), tables, mmap_base: base, stats: Default::default() });
            id
        });
        Outcome::new(r.map_err(EngineError::from), tlb)
    }

    /// Destroys an address space that will never run again (process exit):
    /// every mapping goes, tables are released. No guest store is needed,
    /// because the space's root is never loaded into CR3 again.
    pub fn destroy_space(&mut self, id: AsId) -> Result<(), EngineError> {
        let space = self.spaces.remove(&id).ok_or(EngineError::NoSuchSpace(id))?;
        let objs: Vec<ObjectId> = space.vmas.iter().filter_map(|v| v.object()).collect();
        // Release what the entries map but leave the tables as the MMU last
        // saw them: their present entries become the freed frames' hazards.
        // Zapping them here would need guest stores nobody will ever apply.
        for e in space.tables.entries_in(VirtAddr::new(0), VirtAddr::new(TASK_SIZE)) {
            if let Some(f) = e.pte.frame() {
                mapping::release(&mut self.frames, f, id, e.va);
            }
        }
        space.tables.destroy(&mut self.frames);
        for o in objs {
            self.maybe_release_object(o);
        }
        Ok(())
    }

    /// Marks the VMA starting at `start` as the process stack ("[stack]" in maps).
    pub fn name_stack(&mut self, id: AsId, start: VirtAddr) -> Result<(), EngineError> {
        let space = self.spaces.get_mut(&id).ok_or(EngineError::NoSuchSpace(id))?;
        if let Some(v) = space.vmas.get_mut(start) {
            v.name = crate::vma::VmaName::Stack;
        }
        Ok(())
    }

    /// Adds a host-provided file. `writable` = opened for writing.
    pub fn create_file(&mut self, name: &str, data: Arc<[u8]>, writable: bool) -> ObjectId {
        let size = data.len() as u64;
        self.objects.create(ObjectKind::File { data: crate::objects::FileData::new(data), writable }, name.to_string(), size)
    }

    /// memfd_create: an empty shmem object named "/memfd:NAME (deleted)".
    pub fn create_memfd(&mut self, name: &str) -> ObjectId {
        self.objects.create(ObjectKind::Shmem, format!("/memfd:{name} (deleted)"), 0)
    }

    /// Adds a device window of `pages` frames at `base` (outside the pool).
    pub fn create_device(&mut self, name: &str, base: Frame, pages: u64) -> ObjectId {
        self.objects.create(
            ObjectKind::Device { base, pages, state: crate::objects::DeviceState::Plugged },
            name.to_string(),
            pages * PAGE_SIZE,
        )
    }

    pub fn object(&self, id: ObjectId) -> Option<&MemObject> {
        self.objects.get(id)
    }

    /// Another handle to an object (dup, fork of an fd table).
    pub fn hold_object(&mut self, id: ObjectId) -> Result<(), EngineError> {
        let o = self.objects.get_mut(id).ok_or(EngineError::NoSuchObject(id))?;
        o.handles += 1;
        Ok(())
    }

    /// Drops a handle; the object goes when nothing refers to it any more.
    pub fn put_object(&mut self, id: ObjectId) -> Result<(), EngineError> {
        let o = self.objects.get_mut(id).ok_or(EngineError::NoSuchObject(id))?;
        o.handles = o.handles.saturating_sub(1);
        self.maybe_release_object(id);
        Ok(())
    }

    /// Whether any VMA of any space maps `id`.
    pub(crate) fn object_is_mapped(&self, id: ObjectId) -> bool {
        self.spaces.values().any(|s| s.vmas.iter().any(|v| v.backing == Backing::Object(id)))
    }

    /// Releases an object with no handle and no mapping, and its cached pages.
    pub(crate) fn maybe_release_object(&mut self, id: ObjectId) {
        let Some(o) = self.objects.get(id) else {
            return;
        };
        if o.handles > 0 || self.object_is_mapped(id) {
            return;
        }
        let cached = o.cached_range(0, u64::MAX);
        for (_, f) in cached {
            if self.frames.mapcount(f) == 0 {
                self.frames.free_data(f);
            }
        }
        self.objects.remove(id);
    }
}
