//! Guest processes as the host-side kernel sees them.
//!
//! Owns per-process state that is not memory: identity and parentage
//! (pid, parent, process group, session), credentials, resource limits, the
//! user-mode CPU context while the process is off the vCPU (registers, FPU,
//! FS/GS base), signal state, descriptors, the per-thread registrations libc
//! makes at start-up (clear_child_tid, the robust-futex list, rseq), and the
//! scheduling state with what a blocked process waits for.
//!
//! One process is one thread today (tid == pid); threads (issue 13) will
//! split this into a task and its thread group.

use super::creds::Creds;
use super::fs::FdTable;
use super::signal::SignalState;
use guest_mm::AsId;
use kvm_bindings::kvm_regs;
use linux_abi::resource::{Rlimit, RLIM_NLIMITS};

/// A process id (the first process is 1).
pub type Pid = u32;

/// x87/SSE state as KVM_GET_FPU saves it. The guest never enables XSAVE
/// (CR4.OSXSAVE is clear), so this is all of its FPU state.
pub type FpuState = Box<kvm_bindings::kvm_fpu>;

/// How a process ended, as wait4 reports it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ExitStatus {
    Exited(i32),
    Killed { signal: u8, core: bool },
}

impl ExitStatus {
    /// The wait status word (as WIFEXITED/WTERMSIG decode it).
    pub fn wait_word(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => linux_abi::wait::exited(c),
            ExitStatus::Killed { signal, core } => linux_abi::wait::signaled(signal, core),
        }
    }
    /// The status a shell would show for it (128 + signal when killed).
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c & 0xff,
            ExitStatus::Killed { signal, .. } => 128 + signal as i32,
        }
    }
}

/// Which children a wait4 accepts (its pid argument).
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum WaitWho {
    /// pid == -1.
    Any,
    /// pid > 0.
    Pid(Pid),
    /// pid == 0 (the caller's group) or pid < -1 (group -pid).
    Group(Pid),
}

/// What a blocked process waits for, and how its syscall completes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Wait {
    /// wait4: a child matching `who` changes state.
    Child { who: WaitWho, status: u64, options: u64, rusage: u64 },
    /// nanosleep/clock_nanosleep until `until` (ns on the kernel's monotonic
    /// clock); `rem` is where the remaining time goes when a signal interrupts
    /// a relative sleep (0: nowhere).
    Sleep { until: u64, rem: u64 },
    /// rt_sigsuspend and pause: until a signal is delivered.
    Signal,
    /// sched_yield: over at once, after the other runnable processes had a turn.
    Yield,
    /// vfork: until the child exits.
    Vfork { child: Pid },
    /// poll/ppoll: until one of the `nfds` pollfds at `fds` is ready or the
    /// deadline (monotonic ns) passes; `stdin` says whether the console's
    /// stdin is among them (the vCPU loop then watches the host's).
    Poll { fds: u64, nfds: u64, until: Option<u64>, stdin: bool },
    /// A read of the console's stdin: until the VMM's stdin has data or is at
    /// end of file; the call then runs again (pipe_read and n_tty_read sleep
    /// inside the call; running it again is the same to the program).
    Input,
    /// A pipe transfer that would sleep (pipe_read, pipe_write, the waits
    /// of splice, tee and vmsplice): until `pipe` is ready for `dir`
    /// (`Pipe::readable`/`writable`); the call then runs again, a write
    /// going on after the bytes it already moved (`Process::pipe_done`).
    Pipe { pipe: super::fs::pipe::PipeId, dir: PipeDir },
    /// select/pselect6: as `Poll`, over fd_set bitmaps (`syscalls::select`).
    Select(SelectWait),
}

/// Which readiness a `Wait::Pipe` waits for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PipeDir {
    /// Data, or no writer left.
    Read,
    /// A free slot, or no reader left.
    Write,
}

/// A blocked select: its arguments, the deadline, and how the time left is
/// written back (poll_select_finish).
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SelectWait {
    /// nfds, already cut to the descriptor table's size.
    pub n: u32,
    pub inp: u64,
    pub outp: u64,
    pub exp: u64,
    /// Monotonic ns; None waits for ever.
    pub until: Option<u64>,
    /// Where the time left goes (0: nowhere) and in which form.
    pub timeout: u64,
    pub timespec: bool,
    /// Whether the console's stdin is among the read set.
    pub stdin: bool,
}

/// Scheduling state.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RunState {
    Runnable,
    Blocked(Wait),
    /// Stopped by this signal (SIGSTOP, SIGTSTP, ...) until SIGCONT or SIGKILL.
    Stopped(u8),
    Zombie(ExitStatus),
}

/// An rseq registration (the area libc registers at start-up).
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rseq {
    pub addr: u64,
    pub len: u32,
    pub sig: u32,
}

/// A guest process.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Process {
    pub pid: Pid,
    pub ppid: Pid,
    pub pgid: Pid,
    pub sid: Pid,
    /// The task name (comm: the executable's base name, at most 15 bytes).
    pub name: String,
    /// What /proc/self/exe reads: the executable's path (d_path of mm->exe_file).
    pub exe: String,
    /// The executable's file object (mm->exe_file), held: what exec of
    /// /proc/self/exe runs, and what may not be opened for writing (ETXTBSY).
    pub exe_obj: Option<guest_mm::ObjectId>,
    /// The file mode creation mask (umask(2)); init's is 0022 and fork copies it.
    pub umask: u32,
    /// Where the argument and environment strings are (mm->arg_start..
    /// arg_end, env_start..env_end), for /proc/PID/cmdline and environ.
    #[serde(default)]
    pub args: crate::kernel::exec::ArgArea,
    /// The working directory (an inode reference held by the process).
    pub cwd: crate::kernel::fs::Ino,
    pub space: AsId,
    pub state: RunState,
    /// User registers while the process is not on the vCPU.
    #[serde(with = "crate::kvm_serde::Regs")]
    pub regs: kvm_regs,
    /// FPU state while not on the vCPU (None: the initial state).
    #[serde(with = "crate::kvm_serde::opt_fpu")]
    pub fpu: Option<FpuState>,
    /// FS and GS base (arch_prctl), loaded into the vCPU while it runs.
    pub fs_base: u64,
    pub gs_base: u64,
    pub sig: SignalState,
    pub fds: FdTable,
    #[serde(with = "guest_mm::rlimit::serde_rlimit::array")]
    pub rlimits: [Rlimit; RLIM_NLIMITS],
    pub creds: Creds,
    /// set_tid_address / CLONE_CHILD_CLEARTID: zeroed (and woken) at exit.
    pub clear_child_tid: u64,
    /// set_robust_list: head and length.
    pub robust_list: (u64, u64),
    pub rseq: Option<Rseq>,
    /// The syscall this process is in or last returned from (orig_rax), for
    /// restarting it after a signal; None after a fault or a signal frame.
    pub in_syscall: Option<u64>,
    /// Guest CPU time used (ns on the vCPU), for the CPU-time clocks.
    pub cpu_ns: u64,
    /// A stop not yet reported to a WUNTRACED wait.
    pub stopped_report: bool,
    /// A continue not yet reported to a WCONTINUED wait.
    pub continued: bool,
    /// What restart_syscall resumes after a stop interrupted a sleep.
    pub restart: Option<Wait>,
    /// A pipe write that slept after its first pass: the bytes it had
    /// moved, so that it goes on from there when it runs again (and
    /// returns them if a signal ends it).
    #[serde(default)]
    pub pipe_done: Option<u64>,
    /// The signal the parent gets when this process ends (clone's CSIGNAL;
    /// SIGCHLD for fork, 0 for none).
    pub exit_signal: u8,
    /// The vfork parent waiting for this process to exit or exec.
    pub vfork_parent: Option<Pid>,
    /// prctl state: PR_SET_NO_NEW_PRIVS, PR_SET_THP_DISABLE, PR_SET_PDEATHSIG,
    /// PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER.
    pub prctl: PrctlState,
    /// The last exception that signalled (Linux's thread.trap_nr,
    /// error_code, cr2).
    pub trap: TrapInfo,
}

/// Linux's thread.trap_nr, error_code and cr2: set when an exception sends
/// a signal (do_trap, exc_general_protection, set_signal_archinfo for page
/// faults, the only ones that set cr2), copied by fork, and written into the
/// sigcontext of *every* signal frame, so a signal that is not a fault
/// shows the last fault's values, as on Linux.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TrapInfo {
    pub trapno: u64,
    pub err: u64,
    pub cr2: u64,
}

/// What prctl remembers per process.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PrctlState {
    pub no_new_privs: bool,
    pub thp_disable: bool,
    pub pdeathsig: u8,
    pub undumpable: bool,
    pub subreaper: bool,
}

impl Process {
    /// A process with a fresh state: no signal handlers, standard descriptors.
    pub fn new(pid: Pid, ppid: Pid, name: String, space: AsId, regs: kvm_regs, creds: Creds, rlimits: [Rlimit; RLIM_NLIMITS]) -> Self {
        Process {
            pid,
            ppid,
            pgid: pid,
            sid: pid,
            exe: name.clone(),
            exe_obj: None,
            umask: 0o022,
            cwd: crate::kernel::fs::vfs::ROOT,
            args: Default::default(),
            name,
            space,
            state: RunState::Runnable,
            regs,
            fpu: None,
            fs_base: 0,
            gs_base: 0,
            sig: SignalState::default(),
            fds: FdTable::default(),
            rlimits,
            creds,
            clear_child_tid: 0,
            robust_list: (0, 0),
            rseq: None,
            in_syscall: None,
            cpu_ns: 0,
            stopped_report: false,
            continued: false,
            restart: None,
            pipe_done: None,
            exit_signal: linux_abi::Signal::SIGCHLD.number(),
            vfork_parent: None,
            prctl: PrctlState::default(),
            trap: TrapInfo::default(),
        }
    }

    pub fn is_zombie(&self) -> bool {
        matches!(self.state, RunState::Zombie(_))
    }

    /// The soft limit of `resource`.
    pub fn rlimit(&self, resource: u64) -> u64 {
        self.rlimits.get(resource as usize).map_or(u64::MAX, |r| r.cur)
    }

    /// Whether a core-dumping signal dumps core (and so sets WCOREDUMP and
    /// CLD_DUMPED), as do_coredump decides for a core_pattern naming a file:
    /// not when the process is undumpable (PR_SET_DUMPABLE 0), nor when
    /// RLIMIT_CORE is below the ELF format's minimum of one page (Linux's
    /// default soft limit is 0). The core file itself is not written: the
    /// guest has no file system to hold it (issue 12).
    pub fn would_dump_core(&self) -> bool {
        !self.prctl.undumpable && self.rlimit(linux_abi::resource::RLIMIT_CORE) >= guest_mm::PAGE_SIZE
    }
}

/// The task name Linux derives from a path (__set_task_comm: the base name,
/// cut to TASK_COMM_LEN - 1 bytes).
pub fn comm_of(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let mut n = base.len().min(linux_abi::prctl::TASK_COMM_LEN - 1);
    while !base.is_char_boundary(n) {
        n -= 1;
    }
    base[..n].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comm_is_the_base_name_cut_to_15_bytes() {
        assert_eq!(comm_of("/usr/bin/busybox"), "busybox");
        assert_eq!(comm_of("a-very-long-program-name"), "a-very-long-pro");
        assert_eq!(comm_of("./x"), "x");
    }

    #[test]
    fn wait_words_are_linux_encodings() {
        assert_eq!(ExitStatus::Exited(3).wait_word(), 0x300);
        assert_eq!(ExitStatus::Killed { signal: 11, core: true }.wait_word(), 0x8b);
        assert_eq!(ExitStatus::Killed { signal: 9, core: false }.shell_code(), 137);
    }
}
