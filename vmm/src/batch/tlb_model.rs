//! (tests) The machine's entry path (`for_entry` + `encode`, the bytes the
//! shim runs) against a hardware TLB (guest_mm::sim, `MmuModel::Hardware`):
//! what bare metal or a VMX/EPT or SVM/NPT host would do with our batches.
//! No KVM: the engine runs over plain memory and `replay` executes the
//! encoded ring-0 code on the model.
//!
//! This host's KVM cannot show these guarantees (a dropped flush is
//! invisible under its shadow paging, ../shared/HOST-FACTS.md), so each case
//! has a control that runs the same bytes with their invlpg and CR3 reloads
//! stripped (`Flushes::Strip`) and must observe the stale translation: the
//! tests fail if the encoder, `for_entry` or the forced flush after an unplug
//! stop flushing.

use super::replay::{self, Flushes};
use super::{for_entry, MAX_INVLPG};
use guest_mm::ops::madvise::MADV_GUARD_INSTALL;
use guest_mm::ops::map;
use guest_mm::ops::mmap::{MapFile, MmapArgs};
use guest_mm::paging::{Outcome, PteUpdates};
use guest_mm::sim::{MmuFault, MmuModel, ShadowMmu};
use guest_mm::vma::Prot;
use guest_mm::{
    AccessKind, AsId, Engine, EngineConfig, FaultAround, FaultError, Frame, Limits, PageFault, SiCode, Signal, VirtAddr, PAGE_SIZE,
};
use vm_memory::{GuestAddress, GuestMemoryMmap};

type Mem = GuestMemoryMmap<()>;

/// A device window above the 16 MiB of RAM.
const WINDOW: u64 = 0x1_0000_0000;
/// The user's RAX, which every batch must restore.
const USER_RAX: u64 = 0x5a5a_0001;

/// One vCPU entering the guest the way `Machine::prepare_entry` does.
struct Vcpu {
    e: Engine<Mem>,
    mmu: ShadowMmu,
    pending: PteUpdates,
    loaded_cr3: Option<Frame>,
    /// Set by an unplug (hotplug's `force_flush`).
    force_flush: bool,
    flushes: Flushes,
    /// Batch-area size: small, so large batches are cut into chunks.
    capacity: usize,
}

impl Vcpu {
    fn new(flushes: Flushes) -> Vcpu {
        let ram = 16u64 << 20;
        let mem = Mem::from_ranges(&[(GuestAddress(0), ram as usize), (GuestAddress(WINDOW), 4 * PAGE_SIZE as usize)]).unwrap();
        let config = EngineConfig {
            pool_first: Frame::new(1),
            pool_frames: (ram >> 12) - 1,
            kernel_entries: vec![],
            fault_around: FaultAround { file_pages: 16, anon_pages: 1 },
            limits: Limits::default(),
        };
        let e = Engine::new(mem, config).unwrap();
        Vcpu {
            e,
            mmu: ShadowMmu::with_model(MmuModel::Hardware),
            pending: PteUpdates::new(),
            loaded_cr3: None,
            force_flush: false,
            flushes,
            capacity: 512,
        }
    }

    /// Entry into `space`: a CR3 load if it changed (KVM_SET_SREGS), then
    /// the pending batch as the shim runs it.
    fn enter(&mut self, space: AsId) {
        let cr3 = self.e.root(space).expect("live space");
        let switched = self.loaded_cr3 != Some(cr3);
        if switched {
            self.mmu.load(space, cr3);
            self.loaded_cr3 = Some(cr3);
        }
        let updates = std::mem::take(&mut self.pending);
        let force = std::mem::take(&mut self.force_flush);
        if let Some(b) = for_entry(updates, space, switched, force, USER_RAX, self.capacity) {
            assert_eq!(replay::run(&b.chunks, &mut self.mmu, self.e.memory(), self.flushes), USER_RAX);
        }
    }

    /// A system call of `space`: the engine's batch goes with the return to ring 3.
    fn syscall<T>(&mut self, space: AsId, o: Outcome<T>) -> T {
        let (r, u) = o.split();
        self.pending.absorb(u);
        self.enter(space);
        r
    }

    fn new_space(&mut self) -> AsId {
        let o = self.e.create_space();
        let (r, u) = o.split();
        self.pending.absorb(u);
        r.unwrap()
    }

    /// A ring-3 access; faults go to the engine and come back through an entry.
    fn access(&mut self, space: AsId, va: VirtAddr, kind: AccessKind) -> Result<guest_mm::PhysAddr, (Signal, SiCode)> {
        self.enter(space);
        for _ in 0..8 {
            let cr3 = self.loaded_cr3.unwrap();
            match self.mmu.translate(self.e.memory(), cr3, va, kind) {
                Ok(pa) => return Ok(pa),
                Err(MmuFault { present }) => {
                    self.mmu.fault_at(va);
                    let (r, u) = self.e.handle_fault(space, PageFault { addr: va, access: kind, present }).split();
                    self.pending.absorb(u);
                    self.enter(space);
                    match r {
                        Ok(_) => {}
                        Err(FaultError::Signal(s)) => return Err((s.signal, s.code)),
                        Err(other) => panic!("engine error: {other}"),
                    }
                }
            }
        }
        panic!("the access at {va} faulted 8 times")
    }

    fn read(&mut self, space: AsId, va: VirtAddr) -> Result<u8, (Signal, SiCode)> {
        let pa = self.access(space, va, AccessKind::Read)?;
        let mut b = [0u8];
        guest_mm::PhysMemory::read(self.e.memory(), pa, &mut b).unwrap();
        Ok(b[0])
    }

    fn write(&mut self, space: AsId, va: VirtAddr, v: u8) -> Result<(), (Signal, SiCode)> {
        let pa = self.access(space, va, AccessKind::Write)?;
        guest_mm::PhysMemory::write(self.e.memory(), pa, &[v]).unwrap();
        Ok(())
    }

    fn anon(&mut self, space: AsId, pages: u64) -> VirtAddr {
        let o = self.e.mmap(space, MmapArgs::anon(pages * PAGE_SIZE, Prot::READ | Prot::WRITE));
        self.syscall(space, o).unwrap()
    }
}

const MAPERR: (Signal, SiCode) = (Signal::SIGSEGV, SiCode::SegvMaperr);

/// Touch `pages` pages, munmap them, read each back: how many reads got
/// through. One more page stays mapped, so the leaf table stays (freeing it
/// would flush everything).
fn munmap_then_read(flushes: Flushes, pages: u64) -> u64 {
    let mut v = Vcpu::new(flushes);
    let s = v.new_space();
    let a = v.anon(s, pages + 1);
    for i in 0..pages {
        v.write(s, a.add(i * PAGE_SIZE), 1).unwrap();
    }
    let o = v.e.munmap(s, a.as_u64(), pages * PAGE_SIZE);
    v.syscall(s, o).unwrap();
    (0..pages).filter(|i| v.read(s, a.add(i * PAGE_SIZE)) != Err(MAPERR)).count() as u64
}

#[test]
fn munmap_batches_flush_a_hardware_tlb_with_invlpg_and_with_a_cr3_reload() {
    // Few pages: invlpg each; many: one CR3 reload (and the stores span chunks).
    for pages in [1, MAX_INVLPG as u64 + 8] {
        assert_eq!(munmap_then_read(Flushes::Run, pages), 0, "{pages} pages");
    }
}

#[test]
fn stripping_the_flush_from_munmap_batches_leaves_stale_translations() {
    for pages in [1, MAX_INVLPG as u64 + 8] {
        assert_eq!(munmap_then_read(Flushes::Strip, pages), pages, "{pages} pages");
    }
}

/// Write, mprotect read-only, write: does the second write fault?
fn mprotect_then_write(flushes: Flushes) -> Result<(), (Signal, SiCode)> {
    let mut v = Vcpu::new(flushes);
    let s = v.new_space();
    let a = v.anon(s, 1);
    v.write(s, a, 1).unwrap();
    let o = v.e.mprotect(s, a.as_u64(), PAGE_SIZE, Prot::READ.bits());
    v.syscall(s, o).unwrap();
    v.write(s, a, 2)
}

#[test]
fn mprotect_batches_flush_a_hardware_tlb() {
    assert_eq!(mprotect_then_write(Flushes::Run), Err((Signal::SIGSEGV, SiCode::SegvAccerr)));
}

#[test]
fn stripping_the_flush_from_mprotect_batches_leaves_the_page_writable() {
    assert_eq!(mprotect_then_write(Flushes::Strip), Ok(()));
}

/// The parent writes, forks, writes again at once: what the child reads.
fn fork_then_parent_writes(flushes: Flushes) -> u8 {
    let mut v = Vcpu::new(flushes);
    let p = v.new_space();
    let a = v.anon(p, 1);
    v.write(p, a, 1).unwrap();
    let o = v.e.fork(p);
    let c = v.syscall(p, o).unwrap();
    v.write(p, a, 2).unwrap();
    v.read(c, a).unwrap()
}

#[test]
fn fork_batches_write_protect_the_parent_in_a_hardware_tlb() {
    assert_eq!(fork_then_parent_writes(Flushes::Run), 1);
}

#[test]
fn stripping_the_flush_from_fork_batches_lets_the_parent_write_the_childs_page() {
    assert_eq!(fork_then_parent_writes(Flushes::Strip), 2);
}

/// After fork the parent reads a shared page, then a syscall writes into
/// it (copy_to_user breaks COW in the engine, no ring-3 fault): what ring 3 reads.
fn kernel_cow_break_then_read(flushes: Flushes) -> u8 {
    let mut v = Vcpu::new(flushes);
    let p = v.new_space();
    let a = v.anon(p, 1);
    v.write(p, a, 1).unwrap();
    let o = v.e.fork(p);
    let _child = v.syscall(p, o).unwrap();
    assert_eq!(v.read(p, a), Ok(1));
    let o = v.e.write_user(p, a, &[5]);
    v.syscall(p, o).unwrap();
    v.read(p, a).unwrap()
}

#[test]
fn cow_break_batches_flush_a_hardware_tlb() {
    assert_eq!(kernel_cow_break_then_read(Flushes::Run), 5);
}

#[test]
fn stripping_the_flush_from_cow_break_batches_shows_the_old_shared_page() {
    assert_eq!(kernel_cow_break_then_read(Flushes::Strip), 1);
}

fn guard_then_read(flushes: Flushes) -> Result<u8, (Signal, SiCode)> {
    let mut v = Vcpu::new(flushes);
    let s = v.new_space();
    let a = v.anon(s, 2);
    v.write(s, a, 3).unwrap();
    let o = v.e.madvise(s, a.as_u64(), PAGE_SIZE, MADV_GUARD_INSTALL);
    v.syscall(s, o).unwrap();
    v.read(s, a)
}

#[test]
fn guard_install_batches_flush_a_hardware_tlb() {
    assert_eq!(guard_then_read(Flushes::Run), Err(MAPERR));
}

#[test]
fn stripping_the_flush_from_guard_install_batches_leaves_the_page_readable() {
    assert_eq!(guard_then_read(Flushes::Strip), Ok(3));
}

/// The unplug path of `Hotplug::unplug`: the revoke batch joins the pending
/// one and the next entry is forced to flush everything. `other_running`:
/// another process (which never mapped the window) is the one that enters
/// next; the owner of the mapping runs later.
fn unplug_then_read(flushes: Flushes, other_running: bool) -> Result<u8, (Signal, SiCode)> {
    let mut v = Vcpu::new(flushes);
    let s = v.new_space();
    let dev = v.e.create_device("/dev/pmem0", Frame::new(WINDOW >> 12), 4);
    let file = MapFile::Open { obj: dev, read: true, write: true };
    let o = v.e.mmap(s, MmapArgs { flags: map::SHARED, file, ..MmapArgs::anon(PAGE_SIZE, Prot::READ | Prot::WRITE) });
    let a = v.syscall(s, o).unwrap();
    v.write(s, a, 9).unwrap();
    let (r, u) = v.e.revoke_device(dev).split();
    r.unwrap();
    v.pending.absorb(u);
    v.force_flush = true;
    if other_running {
        let q = v.new_space();
        let b = v.anon(q, 1);
        v.write(q, b, 1).unwrap();
    }
    v.read(s, a)
}

#[test]
fn unplug_revocation_reaches_a_hardware_tlb() {
    for other in [false, true] {
        assert_eq!(unplug_then_read(Flushes::Run, other), Err((Signal::SIGBUS, SiCode::BusAdrerr)), "other process running: {other}");
    }
}

#[test]
fn stripping_the_flush_from_the_unplug_entry_leaves_the_window_reachable() {
    assert_eq!(unplug_then_read(Flushes::Strip, false), Ok(9), "a stale translation still reaches the device");
}

#[test]
fn an_unplug_forces_a_full_flush_even_with_nothing_else_pending() {
    // The forced flush does not depend on what the revoke batch names.
    let mut mmu = ShadowMmu::with_model(MmuModel::Hardware);
    let mem = Mem::from_ranges(&[(GuestAddress(0), 1 << 20)]).unwrap();
    let b = for_entry(PteUpdates::new(), AsId(1), false, true, USER_RAX, 4096).expect("a forced flush is a batch");
    assert_eq!(replay::run(&b.chunks, &mut mmu, &mem, Flushes::Run), USER_RAX);
    assert_eq!((mmu.cr3_loads, mmu.guest_stores), (1, 0));
    assert!(for_entry(PteUpdates::new(), AsId(1), true, false, USER_RAX, 4096).is_none(), "a bare switch needs no batch");
}
