//! The machine: one VM, its vCPU loop, and the bridge between KVM and the kernel.
//!
//! Owns the vCPU and everything about entering and leaving the guest:
//! - decoding an exit from a shim stub (`out 0xE0+vector`) into a trap of the
//!   running process, with its user registers rebuilt from KVM's sync regs and
//!   the exception frame the CPU pushed on IST1;
//! - resuming: writing the user frame back, loading CR3 when the process
//!   changed, and, when the kernel holds PTE updates, placing their code in
//!   the shim's batch area and entering there instead of at `iretq`;
//! - everything that ends a run: guest exit, kill, watchdog, guest-kernel crash.
//!
//! Trust: exits, frames and registers all come from the guest. A frame that
//! is not where the stub would leave it, or a fault taken in ring 0 anywhere
//! but the trampoline, ends the run as a guest crash; it can never make the
//! VMM panic or write outside guest RAM (all guest accesses are bounds-checked).

mod exits;

use crate::batch::{self, BATCH_CONTINUE_PORT};
use crate::boot;
use crate::elf::Elf;
use crate::error::{InternalError, VmmError};
use crate::kernel::fs::console::Console;
use crate::kernel::process::FpuState;
use crate::kernel::signal::frame::user_rflags;
use crate::kernel::{Cpu, Kernel, KernelError, SpawnSpec, Trap};
use crate::layout::*;
use crate::report::KillReport;
use crate::shim::ShimImage;
use crate::vm::Vm;
use crate::watchdog::Watchdog;
use guest_mm::{Engine, EngineConfig, FaultAround, Frame, Limits};
use kvm_bindings::kvm_regs;
use kvm_ioctls::{SyncReg, VcpuExit, VcpuFd};
use std::sync::Arc;
use std::time::Duration;
use vm_memory::{Bytes, GuestAddress};

/// What to boot.
#[derive(Clone)]
pub struct BootSpec {
    pub memory: u64,
    pub program: String,
    pub image: Arc<[u8]>,
    pub args: Vec<String>,
    pub fault_around: FaultAround,
    pub capture: bool,
    pub quiet: bool,
    /// Debugging/testing aid: break the IDT so the first exception triple-faults.
    pub break_idt: bool,
    /// Testing aid: drop PTE batches instead of letting the shim apply them,
    /// i.e. rely on host writes alone (which this host's KVM does not see).
    pub host_only_ptes: bool,
    /// Benchmark floors for `int3` (vector 3).
    pub trap_mode: TrapMode,
    /// Print maps at process exit (`--show-maps`).
    pub show_maps: bool,
    /// The host directory imported as the guest's "/" (`--root`).
    pub root: Option<std::path::PathBuf>,
    /// Files given to the guest: (name, contents, writable).
    pub files: Vec<(String, Arc<[u8]>, bool)>,
    /// How the program is named: argv[0] and AT_EXECFN (the path as given),
    /// and /proc/self/exe (absolute).
    pub path: String,
    pub exe: String,
    /// The environment (`--env` over the default one).
    pub env: Vec<String>,
    /// Makes the guest's randomness reproducible (`--seed`).
    pub seed: Option<u64>,
    /// Where `--strace` lines go.
    pub strace: Option<StraceTo>,
    /// Testing aid: make the VMM itself fail inside the run.
    pub vmm_fault: Option<VmmFault>,
}

/// The destination of `--strace`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StraceTo {
    Stderr,
    File(std::path::PathBuf),
}

/// The environment a program gets unless `--env` changes it.
pub const DEFAULT_ENV: [&str; 2] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/"];

/// The default environment with `overrides` (K=V) applied in order: a key
/// already present is replaced in place, a new one is appended.
pub fn environment(overrides: &[String]) -> Vec<String> {
    let mut env: Vec<String> = DEFAULT_ENV.iter().map(|s| s.to_string()).collect();
    for o in overrides {
        let key = o.split('=').next().unwrap_or(o);
        match env.iter_mut().find(|e| e.split('=').next() == Some(key)) {
            Some(e) => *e = o.clone(),
            None => env.push(o.clone()),
        }
    }
    env
}

/// Failures of the VMM itself, on purpose: the controls of the hostile-guest
/// classifier (tests/e2e/fuzz.rs) need real ones, not made-up output.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum VmmFault {
    /// Panic while handling the guest's third system call.
    Panic,
    /// Fail with an internal error at the guest's third system call.
    InternalError,
    /// Livelock: every page fault is dropped and the guest re-entered at
    /// the faulting instruction, so it faults again forever.
    Livelock,
}

impl BootSpec {
    /// A quiet run of built-in program `program` whose output is captured
    /// (benchmarks, scenarios): 256 MiB, default fault-around, Linux's int3.
    pub fn captured(program: &str, args: Vec<String>) -> Result<BootSpec, VmmError> {
        let image = crate::images::program(program).ok_or_else(|| VmmError::UnknownProgram(program.into(), String::new()))?;
        Ok(BootSpec {
            memory: 256 << 20,
            program: program.into(),
            image: Arc::from(image),
            args,
            fault_around: FaultAround::default(),
            capture: true,
            quiet: true,
            break_idt: false,
            host_only_ptes: false,
            trap_mode: TrapMode::Signal,
            show_maps: false,
            root: None,
            files: Vec::new(),
            path: program.into(),
            exe: format!("/bin/{program}"),
            env: environment(&[]),
            seed: None,
            strace: None,
            vmm_fault: None,
        })
    }
}

/// What `int3` does: the benchmark floors use it as a trap with no meaning.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TrapMode {
    /// SIGTRAP, as Linux.
    Signal,
    /// IDT vector 3 is a bare `iretq`: a trap round trip without an exit.
    NullTrap,
    /// The stub exits and the loop resumes at once: trap plus exit, no kernel work.
    ExitTrap,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    Exited(i32),
    Killed(KillReport),
    /// The watchdog stopped the guest; rip where it was.
    Timeout {
        rip: u64,
    },
    /// The guest's ring 0 failed.
    GuestCrash(String),
    /// The program asked for a checkpoint and the machine is in
    /// `CheckpointMode::Stop`: it is paused there, ready for `capture`.
    Checkpoint,
    /// Every process waits for something that can never happen.
    Deadlock(String),
}

impl Ending {
    /// The exit status a shell would see for this ending: the program's
    /// code, 128 + the signal, 124 for a timeout or deadlock, 125 for a
    /// guest-kernel crash (1 for a checkpoint stop, which ends no program).
    pub fn shell_code(&self) -> i32 {
        match self {
            Ending::Exited(c) => *c,
            Ending::Killed(r) => 128 + crate::run::signal_number(&r.signal),
            Ending::Timeout { .. } | Ending::Deadlock(_) => crate::report::EXIT_TIMEOUT,
            Ending::GuestCrash(_) => crate::report::EXIT_GUEST_CRASH,
            Ending::Checkpoint => 1,
        }
    }
}

/// What a checkpoint call (`SYS_VM_CHECKPOINT`) does on this machine.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CheckpointMode {
    /// Return this value to the program and go on (`vmm run`: 0; a forked
    /// child: its index).
    Continue(u64),
    /// Pause: `run` returns `Ending::Checkpoint`.
    Stop,
}

/// Exits that need the machine after the exit data is released.
enum SpecialExit {
    /// MMIO at a device-window address.
    WindowMmio,
    /// KVM_RUN failed with EFAULT.
    Efault,
}

/// Exit counters of the vCPU loop.
#[derive(Clone, Debug, Default)]
pub struct LoopStats {
    pub exits: u64,
    /// Time spent in the VMM between exits (decode, kernel, engine, entry).
    pub host_time: Duration,
    pub batches: u64,
    pub batch_stores: u64,
    /// Times every KVM shadow page was dropped because a frame KVM may
    /// still shadow as a table became data, or a stale shadow was seen.
    pub shadow_flushes: u64,
}

/// A booted microVM.
pub struct Machine {
    pub(crate) vm: Vm,
    pub(crate) vcpu: VcpuFd,
    shim: ShimImage,
    pub kernel: Kernel,
    /// The user registers of the running process.
    pub(crate) ctx: kvm_regs,
    loaded_cr3: u64,
    /// FS and GS base the vCPU holds (the current process's arch_prctl values).
    loaded_bases: (u64, u64),
    chunks: Vec<Vec<u8>>,
    pub(crate) initial_fpu: FpuState,
    host_only_ptes: bool,
    trap_mode: TrapMode,
    pub stats: LoopStats,
    /// Memory-window devices (crate::hotplug).
    pub hot: crate::hotplug::Hotplug,
    /// What a checkpoint call does (see `CheckpointMode`).
    pub checkpoint: CheckpointMode,
    /// The run's watchdog, while `run` runs.
    dog: Option<Watchdog>,
    /// Testing aid (see `VmmFault`).
    pub vmm_fault: Option<VmmFault>,
    /// When the guest last made progress (crate::progress).
    progress: crate::progress::Progress,
}

pub(crate) struct VcpuCpu<'a> {
    pub(crate) vcpu: &'a VcpuFd,
    pub(crate) initial: &'a FpuState,
}

impl Cpu for VcpuCpu<'_> {
    fn save_fpu(&mut self) -> Result<FpuState, KernelError> {
        self.vcpu.get_fpu().map(Box::new).map_err(KernelError::Cpu)
    }
    fn load_fpu(&mut self, f: Option<&FpuState>) -> Result<(), KernelError> {
        self.vcpu.set_fpu(f.unwrap_or(self.initial)).map_err(KernelError::Cpu)
    }
}

fn guest_err(e: vm_memory::GuestMemoryError) -> VmmError {
    VmmError::GuestMemory(e.to_string())
}

impl Machine {
    /// Creates the VM, builds the kernel structures, loads the program as process 1.
    pub fn boot(kvm: kvm_ioctls::Kvm, spec: &BootSpec) -> Result<Machine, VmmError> {
        let shim = ShimImage::parse(crate::images::SHIM).map_err(|e| VmmError::Image(e.to_string()))?;
        let elf = Elf::parse(&spec.image, true).map_err(|e| VmmError::BadElf(spec.program.clone(), e))?;
        let vm = Vm::create(kvm, spec.memory)?;
        let mem = vm.ram.mem.clone();
        shim.load(crate::images::SHIM, &mem).map_err(|e| VmmError::Image(e.to_string()))?;
        let kernel_entries = boot::write_kernel(&mem, spec.memory, &shim)?;
        if spec.trap_mode == TrapMode::NullTrap {
            boot::point_vector_at(&mem, 3, shim.iretq())?;
        }
        if spec.break_idt {
            mem.write_slice(&[0u8; 32 * 16], GuestAddress(IDT_PA)).map_err(guest_err)?;
        }
        let config = EngineConfig {
            pool_first: Frame::new(POOL_PA >> 12),
            pool_frames: (spec.memory - POOL_PA) >> 12,
            kernel_entries,
            fault_around: spec.fault_around,
            limits: {
                let (dac_mmap_min_addr, mmap_min_addr) = crate::hostlimits::mmap_min_addr();
                Limits {
                    max_total_vmas: Limits::total_vmas_for_ram(spec.memory, Limits::default().max_map_count),
                    mmap_min_addr,
                    dac_mmap_min_addr,
                    ..Limits::default()
                }
            },
        };
        let engine = Engine::new(mem, config).map_err(InternalError::EngineSetup)?;
        let console = if spec.capture { Console::Capture(Vec::new(), Vec::new()) } else { Console::Inherit };
        let mut kernel = Kernel::new(engine, console);
        kernel.max_procs = crate::kernel::max_threads_for_ram(spec.memory);
        kernel.quiet = spec.quiet;
        kernel.show_maps = spec.show_maps;
        if let Some(seed) = spec.seed {
            kernel.seed(seed);
        }
        match &spec.strace {
            Some(StraceTo::Stderr) => kernel.trace_to(Box::new(std::io::stderr())),
            Some(StraceTo::File(p)) => {
                let f = std::fs::File::create(p).map_err(|e| VmmError::Host("creating the --strace file", e))?;
                kernel.trace_to(Box::new(std::io::BufWriter::new(f)));
            }
            None => {}
        }
        if let Some(root) = &spec.root {
            kernel.import_root(root.clone());
        }
        for (name, data, writable) in &spec.files {
            kernel.provide_file(name, data.clone(), *writable);
        }
        let mut argv = vec![spec.path.clone()];
        argv.extend(spec.args.iter().cloned());
        let hwcap = boot::guest_hwcap();
        let spawn =
            SpawnSpec { path: &spec.path, exe: &spec.exe, image: spec.image.clone(), elf: &elf, argv: &argv, envp: &spec.env, hwcap };
        let ctx = kernel.spawn(&spawn).map_err(|e| match e {
            KernelError::Exec(x) => VmmError::Image(format!("{}: {x}", spec.path)),
            e => VmmError::Kernel(e),
        })?;
        let (cr3, _, _) = kernel.user_state()?;
        let vcpu = vm.fd.create_vcpu(0).map_err(|e| VmmError::KvmIoctl("KVM_CREATE_VCPU", e))?;
        boot::init_vcpu(&vcpu, &shim, cr3)?;
        let initial_fpu = Box::new(vcpu.get_fpu().map_err(|e| VmmError::KvmIoctl("KVM_GET_FPU", e))?);
        let mut m = Machine {
            vm,
            vcpu,
            shim,
            kernel,
            ctx,
            loaded_cr3: cr3,
            loaded_bases: (0, 0),
            chunks: Vec::new(),
            initial_fpu,
            host_only_ptes: spec.host_only_ptes,
            trap_mode: spec.trap_mode,
            stats: LoopStats::default(),
            hot: Default::default(),
            checkpoint: CheckpointMode::Continue(0),
            dog: None,
            vmm_fault: spec.vmm_fault,
            progress: Default::default(),
        };
        m.vcpu.set_sync_valid_reg(SyncReg::Register);
        m.vcpu.set_sync_valid_reg(SyncReg::SystemRegister);
        // The first entry: KVM_RUN will fill the sync area; start from SET_REGS state.
        let regs = m.vcpu.get_regs().map_err(|e| VmmError::KvmIoctl("KVM_GET_REGS", e))?;
        m.vcpu.sync_regs_mut().regs = regs;
        let sregs = m.vcpu.get_sregs().map_err(|e| VmmError::KvmIoctl("KVM_GET_SREGS", e))?;
        m.vcpu.sync_regs_mut().sregs = sregs;
        m.prepare_entry()?;
        Ok(m)
    }

    /// Guest RAM size.
    pub fn memory(&self) -> u64 {
        self.vm.ram.size
    }

    /// Guest RAM (the memfd, the VMM's mapping).
    pub fn ram(&self) -> &crate::vm::GuestRam {
        &self.vm.ram
    }

    /// The whole VM's state at a checkpoint, guest RAM excluded: the kernel,
    /// the engine, the running process's registers and FPU. Only valid after
    /// `run` returned `Ending::Checkpoint` (the vCPU is then at a clean
    /// syscall boundary: nothing of the guest's ring 0 is live).
    pub fn capture(&self) -> Result<crate::checkpoint::VmState, VmmError> {
        let fpu = self.vcpu.get_fpu().map_err(|e| VmmError::KvmIoctl("KVM_GET_FPU", e))?;
        Ok(crate::checkpoint::VmState {
            memory: self.vm.ram.size,
            kernel: self.kernel.image(),
            engine: self.kernel.engine.image(),
            regs: self.ctx,
            fpu,
            devices: crate::checkpoint::devices::DeviceState::capture(&self.hot),
        })
    }

    /// A machine on `vm` (whose RAM holds the checkpoint's bytes) that goes on
    /// from `state` with `ret` as the checkpoint call's return value;
    /// `windows` are its plugged windows, memslots registered, in the order
    /// of `state.devices.plugged`.
    pub fn resume(
        vm: Vm,
        state: crate::checkpoint::VmState,
        ret: u64,
        console: Console,
        windows: Vec<crate::device::Window>,
    ) -> Result<Machine, VmmError> {
        let shim = ShimImage::parse(crate::images::SHIM).map_err(|e| VmmError::Image(e.to_string()))?;
        let crate::checkpoint::VmState { kernel, engine, mut regs, fpu, devices, .. } = state;
        devices.check(engine.objects()).map_err(InternalError::CheckpointDevices)?;
        let engine = Engine::from_image(crate::checkpoint::devices::engine_memory(&vm.ram.mem, &windows)?, engine);
        let mut kernel = Kernel::from_image(engine, kernel, console);
        kernel.max_procs = crate::kernel::max_threads_for_ram(vm.ram.size);
        let (cr3, _, _) = kernel.user_state()?;
        let vcpu = vm.fd.create_vcpu(0).map_err(|e| VmmError::KvmIoctl("KVM_CREATE_VCPU", e))?;
        boot::init_vcpu(&vcpu, &shim, cr3)?;
        let initial_fpu = Box::new(vcpu.get_fpu().map_err(|e| VmmError::KvmIoctl("KVM_GET_FPU", e))?);
        vcpu.set_fpu(&fpu).map_err(|e| VmmError::KvmIoctl("KVM_SET_FPU", e))?;
        regs.rax = ret;
        let mut m = Machine {
            vm,
            vcpu,
            shim,
            kernel,
            ctx: regs,
            loaded_cr3: cr3,
            loaded_bases: (0, 0),
            chunks: Vec::new(),
            initial_fpu,
            host_only_ptes: false,
            trap_mode: TrapMode::Signal,
            stats: LoopStats::default(),
            checkpoint: CheckpointMode::Continue(ret),
            hot: Default::default(),
            dog: None,
            vmm_fault: None,
            progress: Default::default(),
        };
        crate::checkpoint::devices::install(&mut m.hot, devices, windows)?;
        m.vcpu.set_sync_valid_reg(SyncReg::Register);
        m.vcpu.set_sync_valid_reg(SyncReg::SystemRegister);
        let r = m.vcpu.get_regs().map_err(|e| VmmError::KvmIoctl("KVM_GET_REGS", e))?;
        m.vcpu.sync_regs_mut().regs = r;
        let s = m.vcpu.get_sregs().map_err(|e| VmmError::KvmIoctl("KVM_GET_SREGS", e))?;
        m.vcpu.sync_regs_mut().sregs = s;
        m.prepare_entry()?;
        Ok(m)
    }

    /// Makes a paused machine go on from its checkpoint with `ret` (the reset
    /// loop restores memory and state itself, then calls this).
    pub fn rearm(&mut self, state: &crate::checkpoint::VmState, ret: u64) -> Result<(), VmmError> {
        let engine = Engine::from_image(self.vm.ram.mem.clone(), state.engine.clone());
        let console = std::mem::replace(&mut self.kernel.console, Console::Inherit);
        let (quiet, show_maps) = (self.kernel.quiet, self.kernel.show_maps);
        self.kernel = Kernel::from_image(engine, state.kernel.clone(), console);
        self.kernel.max_procs = crate::kernel::max_threads_for_ram(self.vm.ram.size);
        self.kernel.quiet = quiet;
        self.kernel.show_maps = show_maps;
        self.vcpu.set_fpu(&state.fpu).map_err(|e| VmmError::KvmIoctl("KVM_SET_FPU", e))?;
        self.ctx = state.regs;
        self.ctx.rax = ret;
        self.chunks.clear();
        // Force the CR3 and FS/GS loads on the next entry: the process may have switched.
        self.loaded_cr3 = u64::MAX;
        self.loaded_bases = (u64::MAX, u64::MAX);
        self.checkpoint = CheckpointMode::Continue(ret);
        self.prepare_entry()
    }

    /// The KVM VM (for dirty logging and memory operations of vmfork).
    pub fn vm(&self) -> &Vm {
        &self.vm
    }

    /// Writes the running process's frame and registers for the next KVM_RUN,
    /// with the pending PTE batch (if any) in front of the return to ring 3.
    pub(crate) fn prepare_entry(&mut self) -> Result<(), VmmError> {
        let mem = &self.vm.ram.mem;
        let c = &self.ctx;
        for (pa, v) in [
            (FRAME_RIP, c.rip),
            (FRAME_CS, sel::USER_CS as u64),
            (FRAME_RFLAGS, user_rflags(c.rflags)),
            (FRAME_RSP, c.rsp),
            (FRAME_SS, sel::USER_DS as u64),
        ] {
            mem.write_obj(v, GuestAddress(pa)).map_err(guest_err)?;
        }
        let space = self.kernel.current_space().ok_or(KernelError::NoCurrentTask)?;
        let (cr3, fs, gs) = self.kernel.user_state()?;
        let switched = cr3 != self.loaded_cr3;
        if switched || (fs, gs) != self.loaded_bases {
            // One KVM_SET_SREGS through the sync area for all three.
            let sregs = &mut self.vcpu.sync_regs_mut().sregs;
            sregs.cr3 = cr3;
            sregs.fs.base = fs;
            sregs.gs.base = gs;
            self.vcpu.set_sync_dirty_reg(SyncReg::SystemRegister);
            self.loaded_cr3 = cr3;
            self.loaded_bases = (fs, gs);
        }
        let mut regs = *c;
        regs.rsp = kva(FRAME_RIP);
        regs.rflags = 2;
        regs.rip = self.shim.iretq();
        let updates = self.kernel.take_pending();
        // After an unplug the whole guest TLB goes before ring 3 runs again.
        let force = std::mem::take(&mut self.hot.force_flush);
        if self.host_only_ptes {
            // The testing aid: the host's writes alone, no guest stores.
            let _ = updates.into_parts();
        } else if let Some(b) = batch::for_entry(updates, space, switched, force, c.rax, self.shim.batch_len()) {
            let mut chunks = b.chunks;
            chunks.reverse();
            self.stats.batches += 1;
            self.stats.batch_stores += b.stores as u64;
            self.chunks = chunks;
            self.load_next_chunk()?;
            regs.rip = self.shim.batch_start;
        }
        self.vcpu.sync_regs_mut().regs = regs;
        self.vcpu.set_sync_dirty_reg(SyncReg::Register);
        Ok(())
    }

    fn load_next_chunk(&mut self) -> Result<(), VmmError> {
        let chunk = self.chunks.pop().ok_or(InternalError::NoBatchChunk)?;
        self.vm.ram.mem.write_slice(&chunk, GuestAddress(self.shim.batch_pa())).map_err(guest_err)
    }

    /// Rebuilds the running process's user registers from an exit in stub
    /// `vector`, and says what the trap was. Err: the guest's ring 0 broke.
    fn decode(&mut self, vector: u8) -> Result<Trap, String> {
        let sr = self.vcpu.sync_regs();
        let has_error = matches!(vector, 8 | 10..=14 | 17 | 21 | 29 | 30);
        let want_rsp = kva(if has_error { FRAME_ERROR } else { FRAME_RIP });
        if sr.regs.rsp != want_rsp {
            return Err(format!(
                "exception {vector} with the stack at {:#x}, not at the exception frame (a fault inside the shim)",
                sr.regs.rsp
            ));
        }
        let mem = &self.vm.ram.mem;
        let rd = |pa: u64| mem.read_obj::<u64>(GuestAddress(pa)).map_err(|e| e.to_string());
        let (rip, cs, rflags, rsp) = (rd(FRAME_RIP)?, rd(FRAME_CS)?, rd(FRAME_RFLAGS)?, rd(FRAME_RSP)?);
        let error = if has_error { rd(FRAME_ERROR)? } else { 0 };
        let mut ctx = sr.regs;
        ctx.rip = rip;
        ctx.rsp = rsp;
        ctx.rflags = rflags;
        if vector == 6 && rip == TRAMPOLINE_VA {
            // `syscall`: RCX holds the return address, R11 the caller's flags
            // (at CPL 3 on PVM, at CPL 0 on VMX/SVM hosts).
            ctx.rflags = user_rflags(ctx.r11);
            self.ctx = ctx;
            return Ok(Trap::Syscall { ret: ctx.rcx });
        }
        if cs & 3 != 3 {
            return Err(format!("exception {vector} in guest ring 0 at rip {rip:#x} (error {error:#x}, cr2 {:#x})", sr.sregs.cr2));
        }
        self.ctx = ctx;
        Ok(Trap::Exception { vector, error, cr2: sr.sregs.cr2 })
    }

    /// Runs until process 1 ends, the watchdog fires, or the guest crashes.
    pub fn run(&mut self, timeout: Duration) -> Result<Ending, VmmError> {
        self.dog = Some(Watchdog::start(timeout));
        let mailbox = self.hot.mailbox.clone();
        if let Some(m) = &mailbox {
            // SAFETY: pthread_self has no preconditions.
            m.attach_vcpu(Some(unsafe { libc::pthread_self() }));
        }
        let r = self.run_loop();
        self.dog = None;
        if let Some(m) = &mailbox {
            // Detach before returning: no kick may target this thread later.
            m.attach_vcpu(None);
        }
        r
    }

    /// Whether the run's watchdog fired.
    fn dog_expired(&self) -> bool {
        self.dog.as_ref().is_some_and(|d| d.expired())
    }

    fn run_loop(&mut self) -> Result<Ending, VmmError> {
        loop {
            if self.kernel.engine.shadow_flush_due() {
                // Before the guest runs again (guest_mm::frames explains why).
                self.vm.flush_shadow()?;
                self.kernel.engine.shadow_flushed();
                self.stats.shadow_flushes += 1;
            }
            let guest_start = std::time::Instant::now();
            let exit = self.vcpu.run();
            let host_start = std::time::Instant::now();
            self.kernel.account_cpu((host_start - guest_start).as_nanos() as u64);
            self.stats.exits += 1;
            let mut special = None;
            let port = match exit {
                Ok(VcpuExit::IoOut(port, _)) => port,
                Ok(VcpuExit::Shutdown) => return Ok(Ending::GuestCrash("the guest triple-faulted (KVM_EXIT_SHUTDOWN)".into())),
                Ok(VcpuExit::InternalError) => {
                    return Ok(Ending::GuestCrash(format!(
                        "KVM could not emulate a guest instruction (internal error) at rip {:#x}",
                        self.vcpu.sync_regs().regs.rip
                    )))
                }
                Ok(VcpuExit::Hlt) => return Ok(Ending::GuestCrash("the guest halted".into())),
                Ok(VcpuExit::MmioRead(addr, data)) if Machine::in_window_area(addr) => {
                    data.fill(0xff);
                    special = Some(SpecialExit::WindowMmio);
                    0
                }
                Ok(VcpuExit::MmioWrite(addr, _)) if Machine::in_window_area(addr) => {
                    special = Some(SpecialExit::WindowMmio);
                    0
                }
                Ok(other) => return Ok(Ending::GuestCrash(format!("unexpected exit {other:?}"))),
                Err(e) if e.errno() == libc::EINTR => {
                    if self.dog_expired() {
                        return Ok(Ending::Timeout { rip: self.vcpu.sync_regs().regs.rip });
                    }
                    self.on_kick()?;
                    continue;
                }
                Err(e) if e.errno() == libc::EFAULT => {
                    special = Some(SpecialExit::Efault);
                    0
                }
                Err(e) => return Err(VmmError::KvmIoctl("KVM_RUN", e)),
            };
            match special {
                Some(SpecialExit::WindowMmio) => match self.mmio_window_access()? {
                    Some(end) => return Ok(end),
                    None => continue,
                },
                // A ring-3 access KVM could not back (a deleted window): SIGBUS.
                Some(SpecialExit::Efault) if self.in_ring3() => match self.window_fault()? {
                    Some(end) => return Ok(end),
                    None => continue,
                },
                Some(SpecialExit::Efault) => return Err(VmmError::KvmIoctl("KVM_RUN", kvm_ioctls::Error::new(libc::EFAULT))),
                None => {}
            }
            if port == BATCH_CONTINUE_PORT {
                self.load_next_chunk()?;
                self.vcpu.sync_regs_mut().regs.rip = self.shim.batch_start;
                self.vcpu.set_sync_dirty_reg(SyncReg::Register);
                continue;
            }
            if !(0xe0..0x100).contains(&port) {
                return Ok(Ending::GuestCrash(format!("the guest wrote to unknown port {port:#x}")));
            }
            if port == 0xe3 && self.trap_mode == TrapMode::ExitTrap {
                // Benchmark floor: straight back to the iretq after the stub's out.
                continue;
            }
            let trap = match self.decode((port - 0xe0) as u8) {
                Ok(t) => t,
                Err(why) => return Ok(Ending::GuestCrash(why)),
            };
            if let Some(f) = self.vmm_fault {
                if self.injected_failure(f, &trap)? {
                    self.stats.host_time += host_start.elapsed();
                    continue;
                }
            }
            let mut ctx = self.ctx;
            let mut cpu = VcpuCpu { vcpu: &self.vcpu, initial: &self.initial_fpu };
            let step = self.kernel.handle(trap, &mut ctx, &mut cpu)?;
            if let Some(end) = self.after_step(step, ctx)? {
                return Ok(end);
            }
            self.stats.host_time += host_start.elapsed();
            let st = &self.kernel.stats;
            self.progress.note(st.syscalls + st.fault_pages + st.signals + st.processes, self.stats.exits, self.stats.host_time);
            if self.dog_expired() {
                return Ok(Ending::Timeout { rip: self.ctx.rip });
            }
        }
    }

    /// What has happened since the guest last made progress (see crate::progress).
    pub fn stall(&self) -> crate::progress::Stall {
        self.progress.stall(self.stats.exits, self.stats.host_time)
    }

    /// The testing aid `VmmFault` at `trap`; true when the trap was dropped
    /// (the livelock) and the guest re-entered as it was.
    fn injected_failure(&mut self, f: VmmFault, trap: &Trap) -> Result<bool, VmmError> {
        let third_syscall = matches!(trap, Trap::Syscall { .. }) && self.kernel.stats.syscalls >= 2;
        match f {
            VmmFault::Panic if third_syscall => panic!("injected VMM panic (testing aid --inject vmm-panic)"),
            VmmFault::InternalError if third_syscall => Err(InternalError::Injected.into()),
            VmmFault::Livelock if matches!(trap, Trap::Exception { vector: 14, .. }) => {
                self.prepare_entry()?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Benchmark floor: runs `n` bare exits (ring-0 `out` in a loop) before the
    /// guest's first instruction, and returns their total time.
    pub fn measure_bare_exits(&mut self, n: u64) -> Result<Duration, VmmError> {
        const PORT: u16 = 0xd1;
        if !self.chunks.is_empty() || self.stats.exits != 0 {
            return Err(InternalError::BareExitsNotFresh.into());
        }
        let code = [0xe6, PORT as u8, 0xeb, 0xfc]; // 1: out PORT, al ; jmp 1b
        self.vm.ram.mem.write_slice(&code, GuestAddress(self.shim.batch_pa())).map_err(guest_err)?;
        let saved = self.vcpu.sync_regs().regs;
        self.vcpu.sync_regs_mut().regs.rip = self.shim.batch_start;
        self.vcpu.set_sync_dirty_reg(SyncReg::Register);
        let t = std::time::Instant::now();
        for _ in 0..n {
            match self.vcpu.run() {
                Ok(VcpuExit::IoOut(p, _)) if p == PORT => {}
                other => return Err(InternalError::BareExitUnexpected(format!("{other:?}")).into()),
            }
        }
        let dt = t.elapsed();
        // Back to where the guest would have started.
        let mut regs = self.vcpu.sync_regs().regs;
        regs.rip = saved.rip;
        regs.rsp = saved.rsp;
        regs.rax = saved.rax;
        self.vcpu.sync_regs_mut().regs = regs;
        self.vcpu.set_sync_dirty_reg(SyncReg::Register);
        Ok(dt)
    }

    /// Captured guest output (stdout, stderr) when booted with `capture`.
    pub fn captured(&self) -> (&[u8], &[u8]) {
        match &self.kernel.console {
            Console::Capture(o, e) => (o, e),
            Console::Inherit => (&[], &[]),
        }
    }
}
