//! Guest processes as the host-side kernel sees them.
//!
//! Owns per-process state that is not memory: identity, parentage, saved
//! registers while not running, FPU state, signal dispositions and mask, and
//! the exit status a parent collects with wait4.

use super::fs::FdTable;
use guest_mm::AsId;
use kvm_bindings::kvm_regs;

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
            ExitStatus::Exited(c) => (c & 0xff) << 8,
            ExitStatus::Killed { signal, core } => signal as i32 | if core { 0x80 } else { 0 },
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

/// Scheduling state.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RunState {
    Runnable,
    /// Blocked in wait4 for `pid` (-1: any child).
    Waiting {
        pid: i64,
        status_addr: u64,
        options: u64,
    },
    Zombie(ExitStatus),
}

/// One signal's disposition (struct k_sigaction).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;
pub const SA_SIGINFO: u64 = 0x4;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;

/// A guest process.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Process {
    pub pid: Pid,
    pub ppid: Pid,
    pub name: String,
    pub space: AsId,
    pub state: RunState,
    /// User registers while the process is not on the vCPU.
    #[serde(with = "crate::snapshot::kvm_serde::Regs")]
    pub regs: kvm_regs,
    /// FPU state while not on the vCPU (None: the initial state).
    #[serde(with = "crate::snapshot::kvm_serde::opt_fpu")]
    pub fpu: Option<FpuState>,
    /// FPU states saved by signal delivery, restored by rt_sigreturn.
    #[serde(with = "crate::snapshot::kvm_serde::fpu_vec")]
    pub signal_fpu: Vec<FpuState>,
    #[serde(with = "crate::snapshot::kvm_serde::array")]
    pub actions: [SigAction; 64],
    pub blocked: u64,
    pub fds: FdTable,
}

impl Process {
    pub fn new(pid: Pid, ppid: Pid, name: String, space: AsId, regs: kvm_regs) -> Self {
        Process {
            pid,
            ppid,
            name,
            space,
            state: RunState::Runnable,
            regs,
            fpu: None,
            signal_fpu: Vec::new(),
            actions: [SigAction::default(); 64],
            blocked: 0,
            fds: FdTable::default(),
        }
    }
}
