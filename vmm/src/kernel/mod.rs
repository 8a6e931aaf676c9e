//! The host-side kernel: processes, traps, syscalls, signals, scheduling.
//!
//! Owns everything a guest kernel would do above memory management: the
//! process table, the decision what each trap means (a page fault for the
//! engine, a syscall, or a signal), signal delivery, and a deterministic
//! scheduler (a process runs until it exits or waits; then the lowest-numbered
//! runnable process runs). Memory is entirely the engine's; the kernel
//! collects the engine's update batches in `pending`, which the vCPU loop
//! hands to the shim before the guest runs again.
//!
//! Nothing here touches KVM: the vCPU loop passes the trapped process's user
//! registers in and runs whatever registers come back, and FPU state moves
//! through the `Cpu` trait. That keeps every path testable.

pub mod exec;
pub mod fs;
pub mod image;
pub mod process;
pub mod signal;
pub mod sys_dev;
pub mod sys_fs;
pub mod syscall;

use crate::error::VmmError;
use crate::report::KillReport;
use guest_mm::fault::FaultError;
use guest_mm::{AsId, Engine, PageFault, PteUpdates, SiCode, SigFault, Signal, VirtAddr};
use kvm_bindings::kvm_regs;
use process::*;
use std::collections::BTreeMap;
use std::io::Write;
use vm_memory::GuestMemoryMmap;

/// FPU state access on the vCPU.
pub trait Cpu {
    fn save_fpu(&mut self) -> Result<FpuState, VmmError>;
    fn load_fpu(&mut self, f: Option<&FpuState>) -> Result<(), VmmError>;
}

/// A trap from ring 3, decoded by the vCPU loop.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Trap {
    /// An exception `vector` with its error code (0 if none) and CR2.
    Exception { vector: u8, error: u64, cr2: u64 },
    /// A `syscall` that arrived through the trampoline; `ret` is where it returns.
    Syscall { ret: u64 },
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunEnd {
    Exited(i32),
    Killed(KillReport),
}

/// What the vCPU loop does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Run the (possibly different) current process with the registers given back.
    Resume,
    /// The run is over.
    Finished(RunEnd),
    /// The current process asked for a whole-VM checkpoint (RIP is past the
    /// call; RAX, its return value, is the vCPU loop's to set).
    Checkpoint,
}

/// Counters for the run summary.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    pub syscalls: u64,
    pub faults: u64,
    pub fault_pages: u64,
    pub signals: u64,
    pub processes: u64,
}

/// Where guest output goes.
pub enum Console {
    /// The VMM's own stdout and stderr.
    Inherit,
    /// Captured (tests, benchmarks).
    Capture(Vec<u8>, Vec<u8>),
}

/// The host-side kernel of one VM.
pub struct Kernel {
    pub engine: Engine<GuestMemoryMmap>,
    pub(crate) procs: BTreeMap<Pid, Process>,
    current: Pid,
    next_pid: Pid,
    pub(crate) pending: PteUpdates,
    pub(crate) vfs: fs::Vfs,
    pub stats: Stats,
    pub console: Console,
    /// Print a line when a process is killed (always) and when one exits (verbose).
    pub quiet: bool,
    /// Print each process's maps and pagemap summary when it ends.
    pub show_maps: bool,
    /// A device operation left by the last syscall for the vCPU loop.
    pub(crate) device_request: Option<sys_dev::DeviceRequest>,
    /// Most processes (zombies included) at once; fork fails with EAGAIN
    /// beyond it, as at Linux's threads-max. Each costs host memory.
    pub max_procs: usize,
}

/// Linux's default threads-max for `ram` bytes (fork_init: one thread per
/// eight THREAD_SIZE-worth of RAM, at least 20).
pub fn max_threads_for_ram(ram: u64) -> usize {
    const THREAD_SIZE: u64 = 16 << 10;
    ((ram / (8 * THREAD_SIZE)) as usize).max(20)
}

impl Kernel {
    pub fn new(engine: Engine<GuestMemoryMmap>, console: Console) -> Self {
        Kernel {
            engine,
            procs: BTreeMap::new(),
            current: 0,
            next_pid: 1,
            pending: PteUpdates::new(),
            vfs: fs::Vfs::default(),
            stats: Stats::default(),
            console,
            quiet: false,
            show_maps: false,
            device_request: None,
            max_procs: usize::MAX,
        }
    }

    /// The process on the vCPU.
    pub fn current(&self) -> Pid {
        self.current
    }

    pub fn process(&self, pid: Pid) -> Option<&Process> {
        self.procs.get(&pid)
    }

    /// The address space of the running process.
    pub fn current_space(&self) -> Option<AsId> {
        self.procs.get(&self.current).map(|p| p.space)
    }

    /// Takes the PTE updates the guest must apply before it runs again.
    pub fn take_pending(&mut self) -> PteUpdates {
        std::mem::take(&mut self.pending)
    }

    /// A fresh process id.
    /// The next free pid, wrapping at Linux's default pid_max (32768) and
    /// skipping pids in use, as alloc_pid does (pid 1 is never reused).
    pub(crate) fn alloc_pid(&mut self) -> Pid {
        const PID_MAX: Pid = 32768;
        loop {
            let pid = self.next_pid;
            self.next_pid = if pid + 1 >= PID_MAX { 2 } else { pid + 1 };
            if !self.procs.contains_key(&pid) {
                return pid;
            }
        }
    }

    /// Creates process 1 running `image`. Returns its initial registers.
    pub fn spawn(&mut self, name: &str, image: std::sync::Arc<[u8]>, elf: &crate::elf::Elf, args: &[String]) -> Result<kvm_regs, VmmError> {
        let (r, u) = self.engine.create_space().split();
        self.pending.absorb(u);
        let space = r.map_err(|e| VmmError::Internal(e.to_string()))?;
        let entry =
            exec::load(&mut self.engine, space, name, image, elf, args, &mut self.pending).map_err(|e| VmmError::Image(e.to_string()))?;
        let regs = kvm_regs { rip: entry.rip, rsp: entry.rsp, rflags: signal::FIXED_RFLAGS, ..Default::default() };
        let pid = self.alloc_pid();
        self.procs.insert(pid, Process::new(pid, 0, name.to_string(), space, regs));
        self.current = pid;
        self.stats.processes += 1;
        Ok(regs)
    }

    /// Handles one trap of the current process.
    pub fn handle(&mut self, trap: Trap, regs: &mut kvm_regs, cpu: &mut dyn Cpu) -> Result<Step, VmmError> {
        match trap {
            Trap::Syscall { ret } => {
                regs.rip = ret;
                self.syscall(regs, cpu)
            }
            Trap::Exception { vector: 14, error, cr2 } => self.page_fault(regs, cpu, cr2, error),
            Trap::Exception { vector, error, .. } => self.exception(regs, cpu, vector, error),
        }
    }

    fn page_fault(&mut self, regs: &mut kvm_regs, cpu: &mut dyn Cpu, cr2: u64, error: u64) -> Result<Step, VmmError> {
        let space = self.current_space().ok_or_else(|| VmmError::Internal("no current process".into()))?;
        let pf = PageFault::from_error_code(VirtAddr::new(cr2), error);
        let (r, u) = self.engine.handle_fault(space, pf).split();
        self.pending.absorb(u);
        match r {
            Ok(res) => {
                self.stats.faults += 1;
                self.stats.fault_pages += res.pages as u64;
                Ok(Step::Resume)
            }
            Err(FaultError::Signal(s)) => self.raise(regs, cpu, s, 14, error),
            Err(FaultError::OutOfMemory(_)) => {
                let f = SigFault { signal: Signal::SIGKILL, code: SiCode::Kernel, addr: VirtAddr::new(cr2) };
                self.kill(regs, cpu, f, ExitStatus::Killed { signal: 9, core: false }, Some("out of guest memory"))
            }
            Err(e) => Err(VmmError::Internal(format!("page fault at {cr2:#x}: {e}"))),
        }
    }

    /// Reads the two bytes at `rip` of the current process (for opcode checks).
    fn opcode_at(&mut self, rip: u64) -> Option<[u8; 2]> {
        let space = self.current_space()?;
        let mut b = [0u8; 2];
        let (r, u) = self.engine.read_user(space, VirtAddr::new(rip), &mut b).split();
        self.pending.absorb(u);
        r.ok().map(|_| b)
    }

    fn exception(&mut self, regs: &mut kvm_regs, cpu: &mut dyn Cpu, vector: u8, error: u64) -> Result<Step, VmmError> {
        let rip = VirtAddr::new(regs.rip);
        let kernel = |signal| SigFault { signal, code: SiCode::Kernel, addr: VirtAddr::new(0) };
        let fault = match vector {
            // A `syscall` reported as #UD or #GP at its opcode (hosts that
            // refuse the instruction in ring 3); handled like the trampoline path.
            6 | 13 if self.opcode_at(regs.rip) == Some([0x0f, 0x05]) => {
                regs.rip += 2;
                return self.syscall(regs, cpu);
            }
            0 => SigFault { signal: Signal::SIGFPE, code: SiCode::FpeIntdiv, addr: rip },
            1 | 3 => kernel(Signal::SIGTRAP),
            6 => SigFault { signal: Signal::SIGILL, code: SiCode::IllIllopn, addr: rip },
            16 | 19 => kernel(Signal::SIGFPE),
            17 => SigFault { signal: Signal::SIGBUS, code: SiCode::BusAdraln, addr: VirtAddr::new(0) },
            12 => kernel(Signal::SIGBUS),
            _ => kernel(Signal::SIGSEGV),
        };
        self.raise(regs, cpu, fault, vector as u64, error)
    }

    /// Raises a synchronous signal in the current process: run its handler,
    /// or kill it with the default action.
    pub(crate) fn raise(
        &mut self,
        regs: &mut kvm_regs,
        cpu: &mut dyn Cpu,
        fault: SigFault,
        trapno: u64,
        err: u64,
    ) -> Result<Step, VmmError> {
        self.stats.signals += 1;
        let fpu = cpu.save_fpu()?;
        let space = self.current_space().ok_or_else(|| VmmError::Internal("no current process".into()))?;
        let Kernel { engine, procs, pending, .. } = self;
        let p = procs.get_mut(&self.current).expect("current process exists");
        let d = signal::deliver(p, regs, fault, trapno, err, |va, data| {
            let (r, u) = engine.write_user(space, va, data).split();
            pending.absorb(u);
            r
        });
        match d {
            signal::Delivery::Handler => {
                p.signal_fpu.push(fpu);
                Ok(Step::Resume)
            }
            signal::Delivery::Kill(status) => self.kill(regs, cpu, fault, status, None),
            signal::Delivery::ForcedSegv => {
                // The report names the SIGSEGV that kills, not the signal that could not be delivered.
                let forced = SigFault { signal: Signal::SIGSEGV, code: SiCode::Kernel, addr: VirtAddr::new(0) };
                self.kill(regs, cpu, forced, ExitStatus::Killed { signal: Signal::SIGSEGV.number(), core: true }, None)
            }
        }
    }

    /// Ends the current process with `status`, reporting `fault`.
    fn kill(
        &mut self,
        regs: &mut kvm_regs,
        cpu: &mut dyn Cpu,
        fault: SigFault,
        status: ExitStatus,
        note: Option<&str>,
    ) -> Result<Step, VmmError> {
        let p = &self.procs[&self.current];
        let ExitStatus::Killed { signal, core } = status else { unreachable!("kill is for signals") };
        let report = KillReport {
            pid: p.pid,
            name: p.name.clone(),
            signal: Signal::new(signal as u64).map_or_else(|| format!("signal {signal}"), |s| s.name().to_string()),
            code: fault.code.name().to_string(),
            addr: fault.addr.as_u64(),
            rip: regs.rip,
            core,
            note: note.map(str::to_string),
        };
        self.say(&format!("vmm: {report}"));
        self.exit_current(regs, cpu, status, Some(report))
    }

    /// Drops every descriptor of `pid` (exit).
    fn close_all(&mut self, pid: Pid) {
        let objs = self.procs.get_mut(&pid).map(|p| std::mem::take(&mut p.fds).objects()).unwrap_or_default();
        for o in objs {
            let _ = self.engine.put_object(o);
        }
    }

    /// Provides a file to the guest at `path` (e.g. from `vmm run --file`).
    pub fn provide_file(&mut self, path: &str, data: std::sync::Arc<[u8]>, writable: bool) {
        let obj = self.engine.create_file(&fs::Vfs::normalise(path), data, writable);
        self.vfs.link(path, obj);
    }

    /// The maps of `pid` with a pagemap summary per VMA, as `--show-maps` prints it.
    pub fn maps_report(&self, pid: Pid) -> String {
        let Some(p) = self.procs.get(&pid) else { return String::new() };
        let mut out = format!("vmm: maps of pid {} ({}) at exit:\n", pid, p.name);
        let maps = self.engine.maps(p.space, true).unwrap_or_default();
        let vmas: Vec<(VirtAddr, VirtAddr)> =
            self.engine.space(p.space).map(|s| s.vmas().iter().map(|v| (v.start, v.end)).collect()).unwrap_or_default();
        for (i, line) in maps.lines().enumerate() {
            out.push_str(line);
            out.push('\n');
            if let Some((s, e)) = vmas.get(i) {
                out.push_str(&format!("    pages: {}\n", self.engine.pagemap_line(p.space, *s, *e)));
            }
        }
        out.trim_end().to_string()
    }

    /// Writes a line for the user on the VMM's stderr.
    fn say(&mut self, line: &str) {
        match &mut self.console {
            Console::Inherit => {
                let _ = writeln!(std::io::stderr(), "{line}");
            }
            Console::Capture(_, err) => {
                let _ = writeln!(err, "{line}");
            }
        }
    }

    /// Makes the current process a zombie and picks what runs next.
    pub(crate) fn exit_current(
        &mut self,
        regs: &mut kvm_regs,
        cpu: &mut dyn Cpu,
        status: ExitStatus,
        report: Option<KillReport>,
    ) -> Result<Step, VmmError> {
        let pid = self.current;
        let space = self.procs[&pid].space;
        if self.show_maps {
            let text = self.maps_report(pid);
            self.say(&text);
        }
        self.engine.destroy_space(space).map_err(|e| VmmError::Internal(e.to_string()))?;
        self.close_all(pid);
        if pid == 1 {
            // The run ends with process 1; its status is the VMM's.
            let others: Vec<Pid> = self.procs.keys().copied().filter(|p| *p != 1).collect();
            for o in others {
                if let Some(p) = self.procs.remove(&o) {
                    if !matches!(p.state, RunState::Zombie(_)) {
                        let _ = self.engine.destroy_space(p.space);
                    }
                }
            }
            self.procs.remove(&1);
            return Ok(Step::Finished(match report {
                Some(r) => RunEnd::Killed(r),
                None => RunEnd::Exited(status.shell_code()),
            }));
        }
        if let Some(p) = self.procs.get_mut(&pid) {
            p.state = RunState::Zombie(status);
        }
        self.schedule(regs, cpu, false)
    }

    /// Switches to the next runnable process (waking waiters whose child is
    /// now a zombie). `keep` says whether the current one stays runnable.
    pub(crate) fn schedule(&mut self, regs: &mut kvm_regs, cpu: &mut dyn Cpu, keep: bool) -> Result<Step, VmmError> {
        let cur = self.current;
        let waiting: Vec<Pid> = self.procs.values().filter(|p| matches!(p.state, RunState::Waiting { .. })).map(|p| p.pid).collect();
        for w in waiting {
            self.try_reap(w)?;
        }
        let next = if keep && self.procs.get(&cur).is_some_and(|p| p.state == RunState::Runnable) {
            Some(cur)
        } else {
            self.procs
                .values()
                .find(|p| p.state == RunState::Runnable && p.pid != cur)
                .map(|p| p.pid)
                .or_else(|| self.procs.get(&cur).filter(|p| p.state == RunState::Runnable).map(|p| p.pid))
        };
        let Some(next) = next else {
            return Err(VmmError::Internal("no runnable process left (every process is waiting)".into()));
        };
        if next != cur {
            let fpu = cpu.save_fpu()?;
            if let Some(p) = self.procs.get_mut(&cur) {
                if !matches!(p.state, RunState::Zombie(_)) {
                    p.regs = *regs;
                    p.fpu = Some(fpu);
                }
            }
            let n = self.procs.get_mut(&next).expect("picked from the table");
            *regs = n.regs;
            cpu.load_fpu(n.fpu.as_ref())?;
            self.current = next;
        }
        Ok(Step::Resume)
    }

    /// Completes a wait4 of `pid` if a matching child is a zombie.
    pub(crate) fn try_reap(&mut self, pid: Pid) -> Result<bool, VmmError> {
        let Some(RunState::Waiting { pid: want, status_addr, .. }) = self.procs.get(&pid).map(|p| p.state) else { return Ok(false) };
        let child = self
            .procs
            .values()
            .find(|c| c.ppid == pid && (want == -1 || want == c.pid as i64) && matches!(c.state, RunState::Zombie(_)))
            .map(|c| c.pid);
        let Some(child) = child else { return Ok(false) };
        let Some(RunState::Zombie(status)) = self.procs.remove(&child).map(|c| c.state) else { return Ok(false) };
        let space = self.procs[&pid].space;
        let mut ret = child as i64;
        if status_addr != 0 {
            let (r, u) = self.engine.write_user(space, VirtAddr::new(status_addr), &status.wait_word().to_le_bytes()).split();
            self.pending.absorb(u);
            if let Err(e) = r {
                ret = e.as_return();
            }
        }
        let p = self.procs.get_mut(&pid).expect("waiter exists");
        p.regs.rax = ret as u64;
        p.state = RunState::Runnable;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    //! The kernel on plain host memory: exec, traps and syscalls without KVM.
    use super::*;
    use guest_mm::{EngineConfig, FaultAround, Frame, Limits};
    use vm_memory::GuestAddress;

    struct NoFpu;
    impl Cpu for NoFpu {
        fn save_fpu(&mut self) -> Result<FpuState, VmmError> {
            Ok(Box::default())
        }
        fn load_fpu(&mut self, _: Option<&FpuState>) -> Result<(), VmmError> {
            Ok(())
        }
    }

    fn kernel_with(program: &str) -> (Kernel, kvm_regs) {
        let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 32 << 20)]).unwrap();
        let config = EngineConfig {
            pool_first: Frame::new(16),
            pool_frames: (32 << 8) - 16,
            kernel_entries: vec![],
            fault_around: FaultAround::default(),
            limits: Limits::default(),
        };
        let mut k = Kernel::new(Engine::new(mem, config).unwrap(), Console::Capture(Vec::new(), Vec::new()));
        let image: std::sync::Arc<[u8]> = crate::images::program(program).unwrap().into();
        let elf = crate::elf::Elf::parse(&image, true).unwrap();
        let regs = k.spawn(program, image.clone(), &elf, &[]).unwrap();
        let _ = k.take_pending().into_parts();
        (k, regs)
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
        regs.rax = 39; // getpid
        let step = k.handle(Trap::Exception { vector: 13, error: 0, cr2: 0 }, &mut regs, &mut NoFpu).unwrap();
        assert_eq!(step, Step::Resume);
        assert_eq!(regs.rax, 1, "getpid of process 1");
        assert_eq!(regs.rip, site + 2);
        assert_eq!(regs.rcx, site + 2, "RCX holds the return address as after SYSCALL");
        // #UD at the opcode (VMX/SVM with EFER.SCE clear) takes the same path.
        regs.rip = site;
        regs.rax = 110; // getppid
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
    fn unknown_syscall_numbers_get_enosys() {
        let (mut k, mut regs) = kernel_with("hello");
        regs.rax = 100_000;
        k.handle(Trap::Syscall { ret: 0x401000 }, &mut regs, &mut NoFpu).unwrap();
        assert_eq!(regs.rax as i64, -38);
    }

    #[test]
    fn write_with_a_bad_buffer_is_efault_not_a_crash() {
        let (mut k, mut regs) = kernel_with("hello");
        for buf in [0u64, 0xdead_0000, u64::MAX - 4, 0xffff_8880_0000_0000] {
            regs.rax = 1;
            regs.rdi = 1;
            regs.rsi = buf;
            regs.rdx = 16;
            k.handle(Trap::Syscall { ret: 0x401000 }, &mut regs, &mut NoFpu).unwrap();
            assert_eq!(regs.rax as i64, -14, "write from {buf:#x}");
        }
        let _ = k.take_pending().into_parts();
    }

    #[test]
    fn fork_beyond_threads_max_is_eagain_and_pids_wrap_skipping_live_ones() {
        let (mut k, mut regs) = kernel_with("hello");
        k.max_procs = 3;
        let mut pids = Vec::new();
        for _ in 0..3 {
            regs.rax = 57; // fork
            k.handle(Trap::Syscall { ret: 0x401000 }, &mut regs, &mut NoFpu).unwrap();
            pids.push(regs.rax as i64);
        }
        assert_eq!(pids, [2, 3, -11], "two children fit under 3 processes; then EAGAIN");
        assert_eq!(max_threads_for_ram(256 << 20), 2048, "Linux's threads-max for 256 MiB");
        // Near pid_max the next pid wraps past 1 and skips pids in use.
        k.next_pid = 32767;
        assert_eq!(k.alloc_pid(), 32767);
        assert_eq!(k.alloc_pid(), 4, "2 and 3 are live");
        let _ = k.take_pending().into_parts();
    }
}
