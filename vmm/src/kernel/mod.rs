//! The host-side kernel: processes, traps, syscalls, signals, scheduling,
//! files, time.
//!
//! Owns everything a guest kernel would do above memory management: the
//! process table, what each trap means (a page fault for the engine, a
//! syscall for the table, a signal), signal generation and delivery, the
//! scheduler, descriptors and the file namespace, clocks and randomness.
//! Memory is entirely the engine's; the kernel collects the engine's update
//! batches in `pending`, which the vCPU loop hands to the shim before the
//! guest runs again.
//!
//! The boundary with the vCPU loop is small: `spawn` starts process 1,
//! `handle` takes a trap with the trapped user registers and returns a
//! `Step` (run on with the registers it leaves, idle until a deadline, ask
//! the VMM for something, or the run is over); `user_state` says what the
//! vCPU must load (address space, FS/GS base); `complete_vmm` gives the
//! result of a request back; `raise_fault` turns a fault the VMM saw (a
//! deleted device window) into the process's signal. Nothing here touches
//! KVM: FPU state moves through the `Cpu` trait, so every path is testable
//! on plain memory.

pub mod clock;
pub mod creds;
pub mod error;
pub mod exec;
pub mod exit;
pub mod fs;
pub mod image;
pub mod process;
pub mod random;
pub mod report;
pub mod sched;
pub mod signal;
pub mod strace;
pub mod syscalls;

pub use error::KernelError;
pub use fs::console;
pub use syscalls::VmmRequest;

use crate::kernel::report::KillReport;
use creds::Creds;
pub use fs::console::Console;
use fs::console::{ConsoleInfo, Stdio};
use fs::{Data, Device, FdEntry, FileKind, FileTable, Node, Vfs};
use guest_mm::fault::FaultError;
use guest_mm::{AsId, Engine, PageFault, PteUpdates, SiCode, SigFault, Signal, VirtAddr};
use kvm_bindings::kvm_regs;
use linux_abi::resource::{Rlimit, RLIMIT_AS, RLIMIT_DATA, RLIMIT_MEMLOCK, RLIMIT_STACK, RLIM_NLIMITS};
use process::*;
use signal::SigInfo;
use std::collections::BTreeMap;
use std::sync::Arc;
use vm_memory::GuestMemoryMmap;

/// FPU state access on the vCPU.
pub trait Cpu {
    fn save_fpu(&mut self) -> Result<FpuState, KernelError>;
    fn load_fpu(&mut self, f: Option<&FpuState>) -> Result<(), KernelError>;
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
    /// Every process is blocked and nothing can wake them (what they wait for).
    Deadlock(String),
}

/// Linux's default pid_max (PID_MAX_DEFAULT): pids wrap here.
pub const PID_MAX: process::Pid = 32768;

/// What the vCPU loop does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Run the (possibly different) current process with the registers given back.
    Resume,
    /// Nothing can run before the monotonic clock reads `until` (ns), or,
    /// with `input`, before the VMM's stdin has data: sleep until one of
    /// them, then call `resume_after_idle`.
    Idle { until: Option<u64>, input: bool },
    /// The current process asked for something only the VMM can do; its
    /// result goes back through `complete_vmm` (RIP is past the call).
    Vmm(VmmRequest),
    /// The run is over.
    Finished(RunEnd),
}

/// Counters for the run summary.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    pub syscalls: u64,
    pub faults: u64,
    pub fault_pages: u64,
    pub signals: u64,
    pub processes: u64,
    /// Calls the kernel does not implement (ENOSYS), by number.
    pub unimplemented: BTreeMap<u64, u64>,
}

impl Stats {
    /// "openat2 x3, io_uring_setup x1", for the run summary.
    pub fn unimplemented_text(&self) -> String {
        self.unimplemented
            .iter()
            .map(|(nr, n)| format!("{} x{n}", syscalls::table::name(*nr).map_or_else(|| format!("syscall {nr:#x}"), str::to_string)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The strings uname(2) reports.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Uname {
    pub sysname: String,
    pub nodename: String,
    pub release: String,
    pub version: String,
    pub machine: String,
    pub domainname: String,
}

impl Default for Uname {
    fn default() -> Self {
        Uname {
            sysname: "Linux".into(),
            nodename: "vmm".into(),
            release: "6.18.0".into(),
            version: "#1 SMP PREEMPT_DYNAMIC vmm".into(),
            machine: "x86_64".into(),
            domainname: "(none)".into(),
        }
    }
}

impl Uname {
    pub fn fields(&self) -> [&str; 6] {
        [&self.sysname, &self.nodename, &self.release, &self.version, &self.machine, &self.domainname]
    }
}

/// What a new process 1 runs.
pub struct SpawnSpec<'a> {
    /// The program's path as given (argv[0] by default, AT_EXECFN).
    pub path: &'a str,
    /// The absolute path /proc/self/exe shows.
    pub exe: &'a str,
    pub image: Arc<[u8]>,
    pub elf: &'a crate::elf::Elf,
    pub argv: &'a [String],
    pub envp: &'a [String],
    /// AT_HWCAP (the guest CPU's CPUID.1:EDX).
    pub hwcap: u64,
}

/// The host-side kernel of one VM.
pub struct Kernel {
    pub engine: Engine<GuestMemoryMmap>,
    pub(crate) procs: BTreeMap<Pid, Process>,
    pub(crate) current: Pid,
    next_pid: Pid,
    /// The process whose registers the vCPU holds (`sched`).
    pub(crate) on_cpu: Option<Pid>,
    /// The process whose FPU state the vCPU holds.
    pub(crate) fpu_owner: Option<Pid>,
    pub(crate) pending: PteUpdates,
    pub(crate) vfs: Vfs,
    pub(crate) files: FileTable,
    pub(crate) pipes: fs::pipe::Pipes,
    pub stats: Stats,
    pub console: Console,
    pub(crate) console_info: ConsoleInfo,
    pub(crate) clock: clock::Clock,
    pub(crate) rng: random::Rng,
    pub(crate) uname: Uname,
    /// The identity process 1 starts with.
    pub(crate) creds: Creds,
    /// AT_HWCAP of every program (the guest CPU's CPUID.1:EDX), from spawn.
    pub(crate) hwcap: u64,
    /// `vmm run --strace`.
    pub(crate) strace: Option<strace::Strace>,
    /// Print a line when a process is killed (always) and when one exits (verbose).
    pub quiet: bool,
    /// Print each process's maps and pagemap summary when it ends.
    pub show_maps: bool,
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
        let console_info = match console {
            Console::Inherit => ConsoleInfo::of_host(),
            Console::Capture(..) => ConsoleInfo::captured(),
        };
        let creds = Creds::of_host();
        let now = clock::Clock::realtime_ns();
        let vfs = Vfs::new(creds.fsuid, creds.fsgid, ((now / 1_000_000_000) as i64, (now % 1_000_000_000) as i64));
        let pipes = fs::pipe::Pipes::with_limit((engine.frames().total() * guest_mm::PAGE_SIZE) as usize);
        Kernel {
            engine,
            procs: BTreeMap::new(),
            current: 0,
            next_pid: 1,
            on_cpu: None,
            fpu_owner: None,
            pending: PteUpdates::new(),
            vfs,
            files: FileTable::default(),
            // Pipe buffers come out of the guest's RAM in Linux: no more here.
            pipes,
            stats: Stats::default(),
            console,
            console_info,
            clock: clock::Clock::default(),
            rng: random::Rng::from_host(),
            uname: Uname::default(),
            creds,
            hwcap: 0,
            strace: None,
            quiet: false,
            show_maps: false,
            max_procs: usize::MAX,
        }
    }

    /// Makes the guest's randomness reproducible (`vmm run --seed`).
    pub fn seed(&mut self, seed: u64) {
        self.rng = random::Rng::from_seed(seed);
    }

    /// Traces every syscall, signal and exit to `out` (`vmm run --strace`).
    pub fn trace_to(&mut self, out: Box<dyn std::io::Write + Send>) {
        self.strace = Some(strace::Strace::new(out));
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

    /// What the vCPU must load for the current process: the root table
    /// (CR3) and the FS and GS base.
    pub fn user_state(&self) -> Result<(u64, u64, u64), KernelError> {
        let p = self.procs.get(&self.current).ok_or(KernelError::NoCurrentTask)?;
        let root = self.engine.root(p.space).ok_or(KernelError::NoRootTable(p.space))?;
        Ok((root.start().as_u64(), p.fs_base, p.gs_base))
    }

    /// Adds PTE updates of an engine operation the VMM ran (hot-unplug) to
    /// what the guest applies before it runs again.
    pub fn absorb_updates(&mut self, u: PteUpdates) {
        self.pending.absorb(u);
    }

    /// The host instant at which the kernel's clock reads `ns` (`Step::Idle`).
    pub fn wake_instant(&self, ns: u64) -> std::time::Instant {
        self.clock.instant_at(ns)
    }

    /// Takes the PTE updates the guest must apply before it runs again.
    pub fn take_pending(&mut self) -> PteUpdates {
        std::mem::take(&mut self.pending)
    }

    /// The next free pid, wrapping at Linux's default pid_max (PID_MAX) and
    /// skipping pids in use, as alloc_pid does (pid 1 is never reused).
    pub(crate) fn alloc_pid(&mut self) -> Pid {
        loop {
            let pid = self.next_pid;
            self.next_pid = if pid + 1 >= PID_MAX { 2 } else { pid + 1 };
            if !self.procs.contains_key(&pid) {
                return pid;
            }
        }
    }

    /// The resource limits process 1 starts with: Linux's INIT_RLIMITS for
    /// this VM's threads-max.
    fn init_rlimits(&self) -> [Rlimit; RLIM_NLIMITS] {
        linux_abi::resource::init_rlimits(self.max_procs.min(u32::MAX as usize) as u64)
    }

    /// Gives the engine the memory limits of `pid` (its address space's).
    pub(crate) fn push_memory_limits(&mut self, pid: Pid, space: AsId) {
        let Some(p) = self.procs.get(&pid) else { return };
        let l = |r: u64| p.rlimits[r as usize];
        let limits = guest_mm::rlimit::Rlimits {
            stack: l(RLIMIT_STACK),
            data: l(RLIMIT_DATA),
            memlock: l(RLIMIT_MEMLOCK),
            address_space: l(RLIMIT_AS),
        };
        let _ = self.engine.set_rlimits(space, limits);
    }

    /// Creates process 1 running `spec`. Returns its initial registers.
    pub fn spawn(&mut self, spec: &SpawnSpec<'_>) -> Result<kvm_regs, KernelError> {
        let (r, u) = self.engine.create_space().split();
        self.pending.absorb(u);
        let space = r?;
        let pid = self.alloc_pid();
        let rlimits = self.init_rlimits();
        self.hwcap = spec.hwcap;
        let mut p = Process::new(pid, 0, comm_of(spec.path), space, kvm_regs::default(), self.creds.clone(), rlimits);
        p.exe = spec.exe.to_string();
        self.procs.insert(pid, p);
        self.current = pid;
        self.push_memory_limits(pid, space);
        let mut random = [0u8; 16];
        self.rng.fill(&mut random);
        let c = &self.creds;
        let argv: Vec<Vec<u8>> = spec.argv.iter().map(|s| s.as_bytes().to_vec()).collect();
        let envp: Vec<Vec<u8>> = spec.envp.iter().map(|s| s.as_bytes().to_vec()).collect();
        let stack = exec::Stack {
            argv: &argv,
            envp: &envp,
            execfn: spec.path.as_bytes(),
            random,
            hwcap: spec.hwcap,
            minsigstksz: signal::frame::MIN_SIGSTKSZ,
            uid: c.uid,
            euid: c.euid,
            gid: c.gid,
            egid: c.egid,
            stack_limit: rlimits[RLIMIT_STACK as usize].cur,
        };
        // The program's file: mapped by its segments, and held as the exe file.
        let obj = self.engine.create_file(spec.exe, spec.image.clone(), false);
        self.procs.get_mut(&pid).expect("just added").exe_obj = Some(obj);
        let prog = exec::Program { obj, elf: spec.elf };
        let entry = exec::load(&mut self.engine, space, &prog, &stack, &mut self.pending)?;
        let args = exec::stack::areas(&stack);
        if let Some(p) = self.procs.get_mut(&pid) {
            p.args = args;
        }
        let regs = kvm_regs { rip: entry.rip, rsp: entry.rsp, rflags: signal::frame::FIXED_RFLAGS, ..Default::default() };
        // The standard descriptors: the console.
        for s in Stdio::ALL {
            let flags = self.console_info.flags[s.fd() as usize];
            let id = self.files.open(FileKind::Console(s), flags);
            self.procs.get_mut(&pid).expect("just added").fds.replace(s.fd(), FdEntry { file: id, cloexec: false });
        }
        let p = self.procs.get_mut(&pid).expect("just added");
        p.regs = regs;
        self.on_cpu = Some(pid);
        self.fpu_owner = Some(pid);
        self.stats.processes += 1;
        Ok(regs)
    }

    /// Handles one trap of the current process, then takes it (or whoever
    /// runs next) back to user mode: pending signals are delivered there.
    pub fn handle(&mut self, trap: Trap, regs: &mut kvm_regs, cpu: &mut dyn Cpu) -> Result<Step, KernelError> {
        let step = match trap {
            Trap::Syscall { ret } => {
                regs.rip = ret;
                self.syscall(regs, cpu)?
            }
            Trap::Exception { vector: 14, error, cr2 } => self.page_fault(regs, cpu, cr2, error)?,
            Trap::Exception { vector, error, .. } => self.exception(regs, cpu, vector, error)?,
        };
        match step {
            Step::Resume => self.exit_to_user(regs, cpu),
            other => Ok(other),
        }
    }

    fn page_fault(&mut self, regs: &mut kvm_regs, cpu: &mut dyn Cpu, cr2: u64, error: u64) -> Result<Step, KernelError> {
        let space = self.current_space().ok_or(KernelError::NoCurrentTask)?;
        let pf = PageFault::from_error_code(VirtAddr::new(cr2), error);
        let (r, u) = self.engine.handle_fault(space, pf).split();
        self.pending.absorb(u);
        self.clear_syscall();
        match r {
            Ok(res) => {
                self.stats.faults += 1;
                self.stats.fault_pages += res.pages as u64;
            }
            Err(FaultError::Signal(s)) => {
                self.record_trap(14, error, Some(cr2));
                self.force_signal(SigInfo::fault(s, 14, error))
            }
            Err(FaultError::OutOfMemory(_)) => {
                let info =
                    SigInfo { fields: signal::SigFields::Fault { addr: cr2, trapno: 14, err: error }, ..SigInfo::kernel(Signal::SIGKILL) };
                return self.kill_with(regs, cpu, info, false, Some("out of guest memory"));
            }
            Err(e) => return Err(KernelError::Fault { addr: cr2, source: e }),
        }
        Ok(Step::Resume)
    }

    /// A trap that is not a syscall means the process is no longer in one.
    fn clear_syscall(&mut self) {
        let me = self.current;
        if let Some(p) = self.procs.get_mut(&me) {
            p.in_syscall = None;
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

    fn exception(&mut self, regs: &mut kvm_regs, cpu: &mut dyn Cpu, vector: u8, error: u64) -> Result<Step, KernelError> {
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
        self.clear_syscall();
        self.record_trap(vector as u64, error, None);
        self.force_signal(SigInfo::fault(fault, vector as u64, error));
        Ok(Step::Resume)
    }

    /// An exception that signals the current process: what its later signal
    /// frames show (`process::TrapInfo`).
    fn record_trap(&mut self, trapno: u64, err: u64, cr2: Option<u64>) {
        let me = self.current;
        if let Some(p) = self.procs.get_mut(&me) {
            p.trap.trapno = trapno;
            p.trap.err = err;
            if let Some(a) = cr2 {
                p.trap.cr2 = a;
            }
        }
    }

    /// A fault the VMM saw for the current process (a guest access to a
    /// deleted device window): its signal, delivered on the way back.
    pub fn raise_fault(&mut self, regs: &mut kvm_regs, cpu: &mut dyn Cpu, fault: SigFault) -> Result<Step, KernelError> {
        self.clear_syscall();
        self.record_trap(14, 0, Some(fault.addr.as_u64()));
        self.force_signal(SigInfo::fault(fault, 14, 0));
        self.exit_to_user(regs, cpu)
    }

    /// The result of a `Step::Vmm` request: the current process's return
    /// value, then on to user mode.
    pub fn complete_vmm(&mut self, regs: &mut kvm_regs, cpu: &mut dyn Cpu, ret: u64) -> Result<Step, KernelError> {
        regs.rax = ret;
        self.exit_to_user(regs, cpu)
    }

    /// Provides a file to the guest at `path` (e.g. from `vmm run --file`),
    /// making the directories on the way; an earlier file of that name is
    /// replaced.
    pub fn provide_file(&mut self, path: &str, data: Arc<[u8]>, writable: bool) {
        let obj = self.engine.create_file(&format!("/{}", path.trim_start_matches('/')), data, writable);
        self.place(path, Node::File(Data::Object(obj)), if writable { 0o644 } else { 0o444 });
    }

    /// Makes the host directory `dir` the guest's "/" (`vmm run --root`):
    /// read lazily, never written.
    pub fn import_root(&mut self, dir: std::path::PathBuf) {
        self.vfs.import_root(dir);
    }

    /// Names a device window's object at `path` (/dev/NAME), replacing a
    /// node of an earlier, unplugged device of that name.
    pub fn link_device(&mut self, path: &str, obj: guest_mm::ObjectId) {
        self.place(path, Node::Char(Device::Window(obj)), 0o600);
    }

    /// Puts `node` at the absolute `path`, owned by the guest's user.
    fn place(&mut self, path: &str, node: Node, perm: u32) {
        let now = self.now();
        let c = self.creds.clone();
        let mut dir = self.vfs.root;
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let Some((last, dirs)) = parts.split_last() else { return };
        for d in dirs {
            dir = match self.vfs.child(dir, d) {
                Some(i) if self.vfs.get(i).is_some_and(|i| i.is_dir()) => i,
                _ => match self.vfs.create(dir, d, Node::Dir(fs::inode::Dir::new(dir, d, None)), 0o755, &c, now) {
                    Ok(i) => i,
                    Err(_) => return,
                },
            };
        }
        if self.vfs.child(dir, last).is_some() {
            if let Some(o) = self.vfs.remove_entry(dir, last, now) {
                let _ = self.engine.put_object(o);
            }
        }
        let _ = self.vfs.create(dir, last, node, perm, &c, now);
    }

    /// The wall-clock time for file timestamps.
    pub(crate) fn now(&self) -> fs::inode::Time {
        let ns = clock::Clock::realtime_ns();
        ((ns / 1_000_000_000) as i64, (ns % 1_000_000_000) as i64)
    }

    /// Adds guest CPU time to the current process.
    pub fn account_cpu(&mut self, ns: u64) {
        let me = self.current;
        if let Some(p) = self.procs.get_mut(&me) {
            p.cpu_ns += ns;
        }
    }

    /// CPU time of `pid` in ns.
    pub(crate) fn cpu_time_ns(&self, pid: Pid) -> u64 {
        self.procs.get(&pid).map_or(0, |p| p.cpu_ns)
    }

    /// Writes out what `--strace` still buffers (the run is over).
    pub fn finish_trace(&mut self) {
        if let Some(t) = self.strace.as_mut() {
            t.flush();
        }
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
}

#[cfg(test)]
pub(crate) mod tests;
