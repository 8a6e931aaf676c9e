//! The flush half of every update batch, on a hardware TLB (bare metal, or
//! KVM with EPT/NPT): walks there see every write to the tables, so what
//! makes a change reach ring 3 is the invlpg or CR3 reload after the stores.
//! This host's shadow paging keeps translations coherent by itself (a dropped
//! flush is invisible in the e2e tests, ../shared/HOST-FACTS.md), so these
//! guarantees are shown only here, in `sim`'s hardware-TLB model.
//!
//! Each case runs twice on `MmuModel::Hardware`: with the batch applied whole
//! (the test), and with the same batch's stores applied but its flush dropped
//! (`ShadowMmu::apply_without_flush`, the control): the control must observe
//! the stale translation, which shows the test would catch a dropped flush.
//! Every step except the operation under test applies its batch whole.
mod common;

use common::*;
use guest_mm::ops::madvise::MADV_GUARD_INSTALL;
use guest_mm::ops::map;
use guest_mm::ops::mmap::{MapFile, MmapArgs};
use guest_mm::ops::mremap::{MREMAP_FIXED, MREMAP_MAYMOVE};
use guest_mm::paging::Outcome;
use guest_mm::sim::{MmuModel, SimCpu};
use guest_mm::vma::Prot;
use guest_mm::{AsId, Engine, EngineConfig, FaultAround, Frame, Limits, SiCode, SigFault, Signal, VirtAddr, PAGE_SIZE};
use vm_memory::{GuestAddress, GuestMemoryMmap};

/// How the batch of the operation under test is applied.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Flush {
    Applied,
    Dropped,
}

fn settle<T>(cpu: &mut SimCpu, e: &Engine<Mem>, o: Outcome<T>, how: Flush) -> T {
    let (r, u) = o.split();
    match how {
        Flush::Applied => cpu.mmu.apply(e.memory(), u),
        Flush::Dropped => cpu.mmu.apply_without_flush(e.memory(), u),
    }
    r
}

fn setup() -> (Engine<Mem>, SimCpu, AsId) {
    let mut e = engine();
    let mut cpu = SimCpu::with_model(MmuModel::Hardware);
    let s = space(&mut e, &mut cpu);
    (e, cpu, s)
}

fn anon(e: &mut Engine<Mem>, cpu: &mut SimCpu, s: AsId, pages: u64) -> VirtAddr {
    applied!(cpu, e, e.mmap(s, MmapArgs::anon(pages * PAGE_SIZE, Prot::READ | Prot::WRITE))).unwrap()
}

fn code(r: Result<u8, SigFault>) -> Option<(Signal, SiCode)> {
    r.err().map(|s| (s.signal, s.code))
}

/// Write a page, munmap it, read it: SIGSEGV, or (flush dropped) the freed frame.
fn munmap_then_read(how: Flush) -> Result<u8, SigFault> {
    let (mut e, mut cpu, s) = setup();
    let a = anon(&mut e, &mut cpu, s, 1);
    cpu.write_u8(&mut e, s, a, 7).unwrap();
    let o = e.munmap(s, a.as_u64(), PAGE_SIZE);
    settle(&mut cpu, &e, o, how).unwrap();
    cpu.read_u8(&mut e, s, a).unwrap()
}

#[test]
fn munmap_reaches_a_hardware_tlb() {
    assert_eq!(code(munmap_then_read(Flush::Applied)), Some((Signal::SIGSEGV, SiCode::SegvMaperr)));
}

#[test]
fn dropping_the_munmap_flush_leaves_the_freed_page_readable() {
    assert_eq!(munmap_then_read(Flush::Dropped), Ok(7), "the stale translation reads the freed frame");
}

/// Write a page, mprotect it read-only, write again.
fn mprotect_then_write(how: Flush) -> Option<SigFault> {
    let (mut e, mut cpu, s) = setup();
    let a = anon(&mut e, &mut cpu, s, 1);
    cpu.write_u8(&mut e, s, a, 7).unwrap();
    let o = e.mprotect(s, a.as_u64(), PAGE_SIZE, Prot::READ.bits());
    settle(&mut cpu, &e, o, how).unwrap();
    cpu.write_u8(&mut e, s, a, 8).unwrap()
}

#[test]
fn mprotect_read_only_reaches_a_hardware_tlb() {
    assert_eq!(mprotect_then_write(Flush::Applied).map(|s| s.code), Some(SiCode::SegvAccerr));
}

#[test]
fn dropping_the_mprotect_flush_leaves_the_page_writable() {
    assert_eq!(mprotect_then_write(Flush::Dropped), None, "the stale writable translation let the write through");
}

/// The parent writes a page, forks, and writes again at once (no switch of
/// address space in between, as after a fork syscall): what does the child see?
fn fork_then_parent_writes(how: Flush) -> u8 {
    let (mut e, mut cpu, p) = setup();
    let a = anon(&mut e, &mut cpu, p, 1);
    cpu.write_u8(&mut e, p, a, 1).unwrap();
    let o = e.fork(p);
    let c = settle(&mut cpu, &e, o, how).unwrap();
    assert_eq!(cpu.mmu.loaded(), Some(p), "the parent is still running");
    cpu.write_u8(&mut e, p, a, 2).unwrap();
    cpu.read_u8(&mut e, c, a).unwrap().unwrap()
}

#[test]
fn fork_write_protection_reaches_a_hardware_tlb() {
    assert_eq!(fork_then_parent_writes(Flush::Applied), 1, "the child keeps the value from before the fork");
}

#[test]
fn dropping_the_fork_flush_lets_the_parent_write_into_the_childs_page() {
    assert_eq!(fork_then_parent_writes(Flush::Dropped), 2);
}

/// A COW break no ring-3 fault announces: after fork the parent reads the
/// shared page (its TLB caches the read-only translation), then the kernel
/// writes into it (a syscall's copy_to_user breaks COW in the engine); ring 3
/// reads it back. On one CPU a COW break at a ring-3 write needs no flush (the
/// fault itself drops the stale entry); this one does.
fn kernel_cow_break_then_read(how: Flush) -> u8 {
    let (mut e, mut cpu, p) = setup();
    let a = anon(&mut e, &mut cpu, p, 1);
    cpu.write_u8(&mut e, p, a, 1).unwrap();
    let c = applied!(cpu, e, e.fork(p)).unwrap();
    assert_eq!(cpu.read_u8(&mut e, p, a).unwrap(), Ok(1));
    let o = e.write_user(p, a, &[5]);
    settle(&mut cpu, &e, o, how).unwrap();
    let seen = cpu.read_u8(&mut e, p, a).unwrap().unwrap();
    assert_eq!(cpu.read_u8(&mut e, c, a).unwrap(), Ok(1), "the child's page is untouched either way");
    seen
}

#[test]
fn a_kernel_cow_break_reaches_a_hardware_tlb() {
    assert_eq!(kernel_cow_break_then_read(Flush::Applied), 5);
}

#[test]
fn dropping_the_cow_break_flush_shows_ring_3_the_old_shared_page() {
    assert_eq!(kernel_cow_break_then_read(Flush::Dropped), 1, "ring 3 still reads the frame it shares with the child");
}

/// Touch a page, install a guard on it, read it.
fn guard_then_read(how: Flush) -> Result<u8, SigFault> {
    let (mut e, mut cpu, s) = setup();
    let a = anon(&mut e, &mut cpu, s, 2);
    cpu.write_u8(&mut e, s, a, 3).unwrap();
    let o = e.madvise(s, a.as_u64(), PAGE_SIZE, MADV_GUARD_INSTALL);
    settle(&mut cpu, &e, o, how).unwrap();
    cpu.read_u8(&mut e, s, a).unwrap()
}

#[test]
fn guard_install_reaches_a_hardware_tlb() {
    assert_eq!(code(guard_then_read(Flush::Applied)), Some((Signal::SIGSEGV, SiCode::SegvMaperr)));
}

#[test]
fn dropping_the_guard_install_flush_leaves_the_page_readable() {
    assert_eq!(guard_then_read(Flush::Dropped), Ok(3));
}

/// Touch a page, move it with mremap, read the old address.
fn mremap_then_read_old(how: Flush) -> Result<u8, SigFault> {
    let (mut e, mut cpu, s) = setup();
    let a = anon(&mut e, &mut cpu, s, 1);
    let to = anon(&mut e, &mut cpu, s, 1);
    cpu.write_u8(&mut e, s, a, 4).unwrap();
    let o = e.mremap(s, a.as_u64(), PAGE_SIZE, PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, to.as_u64());
    settle(&mut cpu, &e, o, how).unwrap();
    assert_eq!(cpu.read_u8(&mut e, s, to).unwrap(), Ok(4), "the page moved");
    cpu.read_u8(&mut e, s, a).unwrap()
}

#[test]
fn mremap_move_reaches_a_hardware_tlb() {
    assert_eq!(code(mremap_then_read_old(Flush::Applied)), Some((Signal::SIGSEGV, SiCode::SegvMaperr)));
}

#[test]
fn dropping_the_mremap_flush_leaves_the_old_address_mapped() {
    assert_eq!(mremap_then_read_old(Flush::Dropped), Ok(4));
}

/// A device window above 16 MiB of RAM (outside the pool).
const WINDOW: u64 = 0x1_0000_0000;

/// Map a device window shared, write it, revoke it (hot-unplug), read it.
fn revoke_then_read(how: Flush) -> Result<u8, SigFault> {
    let ram = 16u64 << 20;
    let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), ram as usize), (GuestAddress(WINDOW), PAGE_SIZE as usize)]).unwrap();
    let config = EngineConfig {
        pool_first: Frame::new(1),
        pool_frames: (ram >> 12) - 1,
        kernel_entries: vec![],
        fault_around: FaultAround { file_pages: 16, anon_pages: 1 },
        limits: Limits::default(),
    };
    let mut e = Engine::new(mem, config).unwrap();
    let mut cpu = SimCpu::with_model(MmuModel::Hardware);
    let s = space(&mut e, &mut cpu);
    let dev = e.create_device("/dev/pmem0", Frame::new(WINDOW >> 12), 1);
    let args = MmapArgs {
        flags: map::SHARED,
        file: MapFile::Open { obj: dev, read: true, write: true },
        ..MmapArgs::anon(PAGE_SIZE, Prot::READ | Prot::WRITE)
    };
    let a = applied!(cpu, e, e.mmap(s, args)).unwrap();
    cpu.write_u8(&mut e, s, a, 9).unwrap();
    let o = e.revoke_device(dev);
    settle(&mut cpu, &e, o, how).unwrap();
    cpu.read_u8(&mut e, s, a).unwrap()
}

#[test]
fn revocation_reaches_a_hardware_tlb() {
    assert_eq!(code(revoke_then_read(Flush::Applied)), Some((Signal::SIGBUS, SiCode::BusAdrerr)));
}

#[test]
fn dropping_the_revocation_flush_leaves_the_window_reachable() {
    assert_eq!(revoke_then_read(Flush::Dropped), Ok(9), "a stale translation still reaches the device");
}

#[test]
fn a_cr3_switch_is_a_flush_so_other_spaces_need_none() {
    // munmap in a space that is not running carries a flush for that space,
    // which the shim does not execute: loading its CR3 later flushes.
    let (mut e, mut cpu, p) = setup();
    let a = anon(&mut e, &mut cpu, p, 1);
    cpu.write_u8(&mut e, p, a, 1).unwrap();
    let q = space(&mut e, &mut cpu);
    let b = anon(&mut e, &mut cpu, q, 1);
    cpu.write_u8(&mut e, q, b, 1).unwrap();
    assert_eq!(cpu.mmu.loaded(), Some(q));
    applied!(cpu, e, e.munmap(p, a.as_u64(), PAGE_SIZE)).unwrap();
    assert_eq!(code(cpu.read_u8(&mut e, p, a).unwrap()), Some((Signal::SIGSEGV, SiCode::SegvMaperr)));
}

/// A fault on a page whose entry already allows the access is spurious (a
/// stale translation, ended by the flush the fault queues). One is normal;
/// the same page faulting spuriously three times in a row means something
/// the flush cannot reach holds the stale one (KVM's shadow of a table on
/// the reference host), and the engine asks for every shadow to be dropped.
#[test]
fn repeated_spurious_faults_on_one_page_ask_for_a_shadow_flush() {
    use guest_mm::{AccessKind, PageFault};
    let (mut e, mut cpu, s) = setup();
    let a = anon(&mut e, &mut cpu, s, 2);
    cpu.write_u8(&mut e, s, a, 1).unwrap();
    cpu.write_u8(&mut e, s, VirtAddr::new(a.as_u64() + PAGE_SIZE), 1).unwrap();
    let spurious = |e: &mut Engine<Mem>, cpu: &mut SimCpu, va: VirtAddr| {
        let r = applied!(cpu, e, e.handle_fault(s, PageFault { addr: va, access: AccessKind::Read, present: false })).unwrap();
        assert_eq!(r.pages, 0, "the page is mapped: the fault is spurious");
    };
    spurious(&mut e, &mut cpu, a);
    spurious(&mut e, &mut cpu, a);
    assert!(!e.shadow_flush_due(), "two spurious faults are not yet a stale shadow");
    // Another page in between starts the count again.
    spurious(&mut e, &mut cpu, VirtAddr::new(a.as_u64() + PAGE_SIZE));
    spurious(&mut e, &mut cpu, a);
    spurious(&mut e, &mut cpu, a);
    assert!(!e.shadow_flush_due());
    spurious(&mut e, &mut cpu, a);
    assert!(e.shadow_flush_due(), "the third spurious fault in a row on one page");
    e.shadow_flushed();
    assert!(!e.shadow_flush_due());
    e.check_invariants().unwrap();
}
