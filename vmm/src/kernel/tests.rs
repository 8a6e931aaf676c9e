//! The kernel on plain host memory: exec, traps and syscalls without KVM.

use super::*;
use guest_mm::{EngineConfig, FaultAround, Frame, Limits};
use linux_abi::sysno as nr;
use vm_memory::GuestAddress;

pub(crate) struct NoFpu;
impl Cpu for NoFpu {
    fn save_fpu(&mut self) -> Result<FpuState, KernelError> {
        Ok(Box::default())
    }
    fn load_fpu(&mut self, _: Option<&FpuState>) -> Result<(), KernelError> {
        Ok(())
    }
}

/// A kernel with `program` (a built-in guest program) as process 1.
pub(crate) fn kernel_with(program: &str) -> (Kernel, kvm_regs) {
    let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 32 << 20)]).unwrap();
    let config = EngineConfig {
        pool_first: Frame::new(16),
        pool_frames: (32 << 8) - 16,
        kernel_entries: vec![],
        fault_around: FaultAround::default(),
        limits: Limits::default(),
    };
    let mut k = Kernel::new(Engine::new(mem, config).unwrap(), Console::Capture(Vec::new(), Vec::new()));
    k.max_procs = max_threads_for_ram(32 << 20);
    let image: Arc<[u8]> = crate::images::program(program).unwrap().into();
    let elf = crate::elf::Elf::parse(&image, true).unwrap();
    let argv = vec![program.to_string()];
    let spec = SpawnSpec { path: program, exe: program, image: image.clone(), elf: &elf, argv: &argv, envp: &[], hwcap: 0 };
    let regs = k.spawn(&spec).unwrap();
    let _ = k.take_pending().into_parts();
    (k, regs)
}

/// Runs syscall `nr` with `args` on process 1, returning RAX.
pub(crate) fn call(k: &mut Kernel, regs: &mut kvm_regs, nr: u64, args: [u64; 6]) -> i64 {
    regs.rax = nr;
    [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9] = args;
    k.handle(Trap::Syscall { ret: 0x401000 }, regs, &mut NoFpu).unwrap();
    regs.rax as i64
}

/// Finds a `syscall` opcode in the program's first executable segment.
fn syscall_site(program: &str) -> u64 {
    let image = crate::images::program(program).unwrap();
    let elf = crate::elf::Elf::parse(image, true).unwrap();
    let s = elf.segments.iter().find(|s| s.exec).unwrap();
    let text = &image[s.offset as usize..(s.offset + s.filesz) as usize];
    let at = text.windows(2).position(|w| w == [0x0f, 0x05]).expect("the program makes syscalls");
    s.vaddr + at as u64
}

#[test]
fn gp_at_a_syscall_opcode_is_a_syscall_that_returns_past_it() {
    let (mut k, mut regs) = kernel_with("hello");
    let site = syscall_site("hello");
    regs.rip = site;
    regs.rax = nr::GETPID;
    let step = k.handle(Trap::Exception { vector: 13, error: 0, cr2: 0 }, &mut regs, &mut NoFpu).unwrap();
    assert_eq!(step, Step::Resume);
    assert_eq!(regs.rax, 1, "getpid of process 1");
    assert_eq!(regs.rip, site + 2);
    assert_eq!(regs.rcx, site + 2, "RCX holds the return address as after SYSCALL");
    // #UD at the opcode (VMX/SVM with EFER.SCE clear) takes the same path.
    regs.rip = site;
    regs.rax = nr::GETPPID;
    k.handle(Trap::Exception { vector: 6, error: 0, cr2: 0 }, &mut regs, &mut NoFpu).unwrap();
    assert_eq!((regs.rax, regs.rip), (0, site + 2));
}

#[test]
fn gp_elsewhere_is_sigsegv_si_kernel_and_kills_without_a_handler() {
    let (mut k, mut regs) = kernel_with("hello");
    regs.rip = crate::elf::Elf::parse(crate::images::program("hello").unwrap(), true).unwrap().entry;
    let step = k.handle(Trap::Exception { vector: 13, error: 0, cr2: 0 }, &mut regs, &mut NoFpu).unwrap();
    match step {
        Step::Finished(RunEnd::Killed(r)) => assert_eq!((r.signal.as_str(), r.code.as_str(), r.addr), ("SIGSEGV", "SI_KERNEL", 0)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_syscall_numbers_get_enosys_and_are_counted() {
    let (mut k, mut regs) = kernel_with("hello");
    assert_eq!(call(&mut k, &mut regs, 100_000, [0; 6]), -38);
    assert_eq!(call(&mut k, &mut regs, nr::OPENAT2, [0; 6]), -38);
    assert_eq!(call(&mut k, &mut regs, nr::OPENAT2, [0; 6]), -38);
    assert_eq!(k.stats.unimplemented_text(), "openat2 x2, syscall 0x186a0 x1");
}

#[test]
fn write_with_a_bad_buffer_is_efault_not_a_crash() {
    let (mut k, mut regs) = kernel_with("hello");
    for buf in [0u64, 0xdead_0000, u64::MAX - 4, 0xffff_8880_0000_0000] {
        assert_eq!(call(&mut k, &mut regs, nr::WRITE, [1, buf, 16, 0, 0, 0]), -14, "write from {buf:#x}");
    }
    let _ = k.take_pending().into_parts();
}

#[test]
fn fork_beyond_threads_max_is_eagain_and_pids_wrap_skipping_live_ones() {
    let (mut k, mut regs) = kernel_with("hello");
    k.max_procs = 3;
    let pids: Vec<i64> = (0..3).map(|_| call(&mut k, &mut regs, nr::FORK, [0; 6])).collect();
    assert_eq!(pids, [2, 3, -11], "two children fit under 3 processes; then EAGAIN");
    assert_eq!(max_threads_for_ram(256 << 20), 2048, "Linux's threads-max for 256 MiB");
    // Near pid_max the next pid wraps past 1 and skips pids in use.
    k.next_pid = 32767;
    assert_eq!(k.alloc_pid(), 32767);
    assert_eq!(k.alloc_pid(), 4, "2 and 3 are live");
    let _ = k.take_pending().into_parts();
}

#[test]
fn a_signal_sent_to_oneself_runs_its_handler_before_kill_returns() {
    let (mut k, mut regs) = kernel_with("hello");
    // A handler for SIGUSR1 with a restorer, written into the stack page.
    let act = regs.rsp - 4096;
    let mut b = [0u8; 32];
    b[..8].copy_from_slice(&0x401234u64.to_le_bytes());
    b[8..16].copy_from_slice(&(linux_abi::signal::SA_RESTORER | linux_abi::signal::SA_SIGINFO).to_le_bytes());
    b[16..24].copy_from_slice(&0x401000u64.to_le_bytes());
    let space = k.current_space().unwrap();
    k.engine.write_user(space, VirtAddr::new(act), &b).split().0.unwrap();
    assert_eq!(call(&mut k, &mut regs, nr::RT_SIGACTION, [10, act, 0, 8, 0, 0]), 0);
    let before = regs.rsp;
    assert_eq!(call(&mut k, &mut regs, nr::KILL, [1, 10, 0, 0, 0, 0]), 0);
    assert_eq!(regs.rip, 0x401234, "the handler runs at once");
    assert_eq!(regs.rdi, 10);
    assert!(regs.rsp < before);
    assert_eq!(k.stats.signals, 1);
    let _ = k.take_pending().into_parts();
}

#[test]
fn a_wait_for_a_child_blocks_until_it_exits_then_reaps_it() {
    let (mut k, mut regs) = kernel_with("hello");
    let child = call(&mut k, &mut regs, nr::FORK, [0; 6]);
    assert_eq!(child, 2);
    let status = regs.rsp - 64;
    // Parent waits: the child (pid 2) runs next.
    regs.rax = nr::WAIT4;
    [regs.rdi, regs.rsi, regs.rdx, regs.r10] = [u64::MAX, status, 0, 0];
    k.handle(Trap::Syscall { ret: 0x401000 }, &mut regs, &mut NoFpu).unwrap();
    assert_eq!((k.current(), regs.rax), (2, 0), "the child runs and sees fork's 0");
    // The child exits 7: the parent's wait completes with its pid and status.
    call(&mut k, &mut regs, nr::EXIT_GROUP, [7, 0, 0, 0, 0, 0]);
    assert_eq!((k.current(), regs.rax), (1, 2));
    let space = k.current_space().unwrap();
    let mut w = [0u8; 4];
    k.engine.read_user(space, VirtAddr::new(status), &mut w).split().0.unwrap();
    assert_eq!(i32::from_le_bytes(w), 7 << 8);
    assert_eq!(call(&mut k, &mut regs, nr::WAIT4, [u64::MAX, 0, 0, 0, 0, 0]), -10, "ECHILD: reaped");
    let _ = k.take_pending().into_parts();
}

#[test]
fn sleeping_with_nothing_else_to_run_idles_until_the_deadline() {
    let (mut k, mut regs) = kernel_with("hello");
    let ts = regs.rsp - 64;
    let space = k.current_space().unwrap();
    let req = [0u64.to_le_bytes(), 50_000_000u64.to_le_bytes()].concat();
    k.engine.write_user(space, VirtAddr::new(ts), &req).split().0.unwrap();
    regs.rax = nr::NANOSLEEP;
    [regs.rdi, regs.rsi] = [ts, 0];
    let step = k.handle(Trap::Syscall { ret: 0x401000 }, &mut regs, &mut NoFpu).unwrap();
    let Step::Idle { until: Some(until), input: false } = step else { panic!("{step:?}") };
    assert!(until >= k.clock.monotonic_ns() + 40_000_000);
    std::thread::sleep(std::time::Duration::from_nanos(until - k.clock.monotonic_ns().min(until)));
    assert_eq!(k.resume_after_idle(&mut regs, &mut NoFpu).unwrap(), Step::Resume);
    assert_eq!(regs.rax, 0);
    // A process that waits for a signal nobody can send ends the run.
    regs.rax = nr::PAUSE;
    let step = k.handle(Trap::Syscall { ret: 0x401000 }, &mut regs, &mut NoFpu).unwrap();
    assert!(matches!(step, Step::Finished(RunEnd::Deadlock(ref why)) if why.contains("waits for a signal")), "{step:?}");
    let _ = k.take_pending().into_parts();
}

#[test]
fn arch_prctl_sets_the_fs_base_the_vcpu_loads() {
    let (mut k, mut regs) = kernel_with("hello");
    assert_eq!(call(&mut k, &mut regs, nr::ARCH_PRCTL, [linux_abi::arch::ARCH_SET_FS, 0x7000_1000, 0, 0, 0, 0]), 0);
    assert_eq!(k.user_state().unwrap().1, 0x7000_1000);
    assert_eq!(call(&mut k, &mut regs, nr::ARCH_PRCTL, [linux_abi::arch::ARCH_SET_FS, 1 << 47, 0, 0, 0, 0]), -1, "EPERM");
    assert_eq!(call(&mut k, &mut regs, nr::ARCH_PRCTL, [0x9999, 0, 0, 0, 0, 0]), -22);
    assert_eq!(call(&mut k, &mut regs, nr::ARCH_PRCTL, [linux_abi::arch::ARCH_GET_FS, 8, 0, 0, 0, 0]), -14);
}

/// Kills process 1 of a fresh kernel with a #GP (SIGSEGV, a core-dumping
/// signal) after `setup`; returns whether the kill reports a core dump.
fn segv_dumps_core(setup: impl FnOnce(&mut Kernel)) -> bool {
    let (mut k, mut regs) = kernel_with("hello");
    setup(&mut k);
    regs.rip = crate::elf::Elf::parse(crate::images::program("hello").unwrap(), true).unwrap().entry;
    match k.handle(Trap::Exception { vector: 13, error: 0, cr2: 0 }, &mut regs, &mut NoFpu).unwrap() {
        Step::Finished(RunEnd::Killed(r)) => r.core,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_core_signal_dumps_core_only_under_an_rlimit_core_of_a_page_and_when_dumpable() {
    use linux_abi::resource::{Rlimit, RLIMIT_CORE};
    let core = |cur: u64| move |k: &mut Kernel| k.procs.get_mut(&1).unwrap().rlimits[RLIMIT_CORE as usize] = Rlimit { cur, max: u64::MAX };
    assert!(!segv_dumps_core(|_| {}), "Linux's default soft RLIMIT_CORE is 0: no core");
    assert!(!segv_dumps_core(core(4095)), "below the ELF minimum of one page");
    assert!(segv_dumps_core(core(4096)));
    assert!(!segv_dumps_core(|k| {
        core(u64::MAX)(k);
        k.procs.get_mut(&1).unwrap().prctl.undumpable = true;
    }));
}
