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
use crate::rlimit::Rlimits;
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

/// Limits Linux would take from sysctls, the kernel configuration and rlimits.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Linux's mmap_min_addr: max(vm.mmap_min_addr, CONFIG_LSM_MMAP_MIN_ADDR)
    /// (security/min_addr.c). Non-MAP_FIXED hints below it are raised to it
    /// (round_hint_to_min), placement searches start there, and a stack does
    /// not grow below it. The vmm reads it from the host at start-up.
    pub mmap_min_addr: u64,
    /// vm.mmap_min_addr itself (dac_mmap_min_addr): mappings below it fail
    /// with EPERM for a process without CAP_SYS_RAWIO (cap_mmap_addr), which
    /// the guest never has. (The LSM value is enforced only by SELinux.)
    pub dac_mmap_min_addr: u64,
    /// vm.max_map_count.
    pub max_map_count: usize,
    /// The resource limits every new address space starts with (a forked
    /// space inherits its parent's; `Engine::set_rlimits` changes them).
    /// RLIMIT_STACK also decides a new space's mmap base.
    pub rlimits: Rlimits,
    /// VMAs of all spaces together. Linux keeps VMAs in (guest) kernel
    /// memory, which bounds them; ours live in host memory, so without this a
    /// guest could fork copies of 65530-VMA spaces until the host runs out.
    /// Beyond it, operations that add VMAs fail with ENOMEM, as when Linux
    /// cannot allocate a vm_area_struct.
    pub max_total_vmas: usize,
}

/// CONFIG_DEFAULT_MMAP_MIN_ADDR of common x86-64 kernels (and of this host).
pub const DEFAULT_DAC_MMAP_MIN_ADDR: u64 = 4096;
/// CONFIG_LSM_MMAP_MIN_ADDR's default (security/Kconfig), which this host uses.
pub const DEFAULT_LSM_MMAP_MIN_ADDR: u64 = 65536;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            mmap_min_addr: DEFAULT_DAC_MMAP_MIN_ADDR.max(DEFAULT_LSM_MMAP_MIN_ADDR),
            dac_mmap_min_addr: DEFAULT_DAC_MMAP_MIN_ADDR,
            max_map_count: 65530,
            rlimits: Rlimits::default(),
            max_total_vmas: usize::MAX,
        }
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
    /// Testing aid (`set_shared_writes_ignore_open_mode`); never saved.
    pub(crate) shared_writes_ignore_open_mode: bool,
}

impl<M: PhysMemory> Engine<M> {
    /// An engine over `mem`, owning the frames named in `config`.
    pub fn new(mem: M, config: EngineConfig) -> Result<Self, EngineError> {
        if config.pool_frames < 16 {
            return Err(EngineError::PoolTooSmall(config.pool_frames));
        }
        let frames = FrameTable::new(config.pool_first, config.pool_frames);
        mem.zero_frame(frames.zero_frame())?;
        Ok(Engine {
            mem,
            frames,
            objects: ObjectTable::new(),
            spaces: BTreeMap::new(),
            config,
            next_space: 0,
            next_anon: 0,
            shared_writes_ignore_open_mode: false,
        })
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
        Engine { mem, frames, objects, spaces, config, next_space, next_anon, shared_writes_ignore_open_mode: false }
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

    /// Testing aid for the control of the corpus's write-permission scenario
    /// only (`vmm diff --inject shared-writes-ignore-open-mode`): a MAP_SHARED
    /// mapping of an object opened read-only gets VM_MAYWRITE as if opened
    /// for writing, which breaks Linux's rule (mmap and mprotect with
    /// PROT_WRITE must fail with EACCES).
    #[doc(hidden)]
    pub fn set_shared_writes_ignore_open_mode(&mut self, on: bool) {
        self.shared_writes_ignore_open_mode = on;
    }

    /// Whether KVM's shadow page tables must be dropped before the guest
    /// runs again (a frame that may still be shadowed as a table became
    /// data, or `request_shadow_flush` was called; see `frames`).
    pub fn shadow_flush_due(&self) -> bool {
        self.frames.shadow_flush_due()
    }

    /// The VMM saw a translation KVM kept stale: drop the shadows.
    pub fn request_shadow_flush(&mut self) {
        self.frames.request_shadow_flush();
    }

    /// The VMM dropped every shadow page: no frame is hazardous any more.
    pub fn shadow_flushed(&mut self) {
        self.frames.shadow_flushed();
    }

    /// Testing aid for the control of the table-recycling e2e test only
    /// (`vmm run --inject skip-table-hazards`): recycled table frames get no
    /// cleaning stores, which breaks the hazard rule (see `frames`).
    #[doc(hidden)]
    pub fn set_skip_table_hazards(&mut self, on: bool) {
        self.frames.set_skip_hazards(on);
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
        let gap = self.config.limits.rlimits.stack.cur.saturating_add(pad).clamp(min_gap, max_gap);
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
            let space = AddressSpace {
                id,
                vmas: Default::default(),
                tables,
                mmap_base: base,
                stats: Default::default(),
                spurious: None,
                rlimits: self.config.limits.rlimits,
                start_brk: 0,
                brk: 0,
                start_data: 0,
                end_data: 0,
                start_stack: 0,
                def_flags: crate::vma::VmFlags::empty(),
            };
            self.spaces.insert(id, space);
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

    /// Adds a host-provided file. `writable` = opened for writing.
    pub fn create_file(&mut self, name: &str, data: Arc<[u8]>, writable: bool) -> ObjectId {
        let size = data.len() as u64;
        self.objects.create(ObjectKind::File { data: crate::objects::FileData::new(data), writable }, name.to_string(), size)
    }

    /// memfd_create: an empty shmem object named "/memfd:NAME (deleted)".
    pub fn create_memfd(&mut self, name: &str) -> ObjectId {
        self.objects.create(ObjectKind::Shmem, format!("/memfd:{name} (deleted)"), 0)
    }

    /// A tmpfs file: an empty shmem object shown in maps as `path`.
    pub fn create_shmem_file(&mut self, path: &str) -> ObjectId {
        self.objects.create(ObjectKind::Shmem, path.to_string(), 0)
    }

    /// Renames an object (the path maps shows after a rename or unlink).
    pub fn rename_object(&mut self, id: ObjectId, name: String) {
        if let Some(o) = self.objects.get_mut(id) {
            o.name = name;
        }
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
