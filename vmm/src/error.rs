//! Errors of the vmm, each with a one-line message a user can act on.
//!
//! `VmmError::exit_code` maps bad input (the user's to fix) to status 2 and
//! failures of the host or of the VMM itself to status 1. How a guest ended
//! (exit code, signal, timeout, crash) is not an error: see `report`.

use crate::elf::ElfError;

#[derive(Debug, thiserror::Error)]
pub enum VmmError {
    #[error("unknown program '{0}' (built-in programs: {1})")]
    UnknownProgram(String, String),
    #[error("cannot read {0}: {1}")]
    ReadFile(String, #[source] std::io::Error),
    #[error("{0} is not a program we can run: {1}")]
    BadElf(String, #[source] ElfError),
    #[error("invalid memory size '{0}': {1}")]
    BadSize(String, String),
    #[error("{0}")]
    Usage(String),
    #[error("{}", kvm_hint(*.0))]
    Kvm(i32),
    #[error("KVM refused {0}: {1}")]
    KvmIoctl(&'static str, #[source] kvm_ioctls::Error),
    #[error("{0} failed: {1}")]
    Host(&'static str, #[source] std::io::Error),
    #[error("guest memory: {0}")]
    GuestMemory(String),
    #[error("the guest image does not fit: {0}")]
    Image(String),
    #[error("refusing snapshot {0}: {1}")]
    BadSnapshot(String, String),
    #[error("the guest kernel failed")]
    Kernel(#[from] crate::kernel::KernelError),
    #[error("internal error: {0}")]
    Internal(#[from] InternalError),
    /// A benchmark could not measure (its guest or a step of it failed).
    #[error("benchmark failed: {0}")]
    Bench(String),
    /// Building Linux's selftests (`vmm selftests`) failed.
    #[error("building the selftests with {0} failed: {1}")]
    SelftestBuild(String, String),
}

/// Failures of the VMM itself (a bug, or a host facility that failed in a
/// way no user input explains). Each says what went wrong; status 1.
#[derive(Debug, thiserror::Error)]
pub enum InternalError {
    #[error("the engine could not be set up: {0}")]
    EngineSetup(#[source] guest_mm::engine::EngineError),
    #[error("encoding the snapshot state: {0}")]
    SnapshotEncode(#[source] bincode::Error),
    #[error("checkpoint devices do not match the engine image: {0}")]
    CheckpointDevices(String),
    #[error("{windows} windows for {plugged} plugged devices")]
    WindowCount { windows: usize, plugged: usize },
    #[error("window {0} is not where the checkpoint had it")]
    WindowMoved(String),
    #[error("window allocator at {gpa:#x}, slot {slot}: not a valid state")]
    WindowAllocator { gpa: u64, slot: u32 },
    #[error("a PTE batch ran out of chunks")]
    NoBatchChunk,
    #[error("injected internal error (testing aid --inject vmm-internal-error)")]
    Injected,
    #[error("bare exits are measured on a fresh machine only")]
    BareExitsNotFresh,
    #[error("bare-exit loop: unexpected exit {0}")]
    BareExitUnexpected(String),
    #[error("KVM's {0} table could not be built")]
    KvmTable(&'static str),
    #[error("the scenario runner is missing from the guest image")]
    NoScenarioRunner,
    #[error("cannot extract the scenario runner: {0}")]
    ScenarioRunnerExtract(String),
    #[error("a child runner panicked")]
    ChildPanicked,
    #[error("dirty scan of RAM that is not a copy-on-write view")]
    DirtyScanNotCopyOnWrite,
    #[error("dirty range {start:#x}..{end:#x} outside guest RAM")]
    DirtyRangeOutside { start: u64, end: u64 },
    #[error("event manager: {0:?}")]
    EventManager(event_manager::Error),
    #[error("encoding a control request: {0}")]
    CtlEncode(#[source] serde_json::Error),
    #[error("bad reply from the VMM: {source}: {reply:?}")]
    CtlReply {
        #[source]
        source: serde_json::Error,
        reply: String,
    },
}

fn kvm_hint(errno: i32) -> String {
    match errno {
        libc::ENOENT => "cannot open /dev/kvm: it does not exist. Load the KVM module (modprobe kvm_intel or kvm_amd) or run on a host with virtualisation enabled.".into(),
        libc::EACCES | libc::EPERM => "cannot open /dev/kvm: permission denied. Add your user to the 'kvm' group (sudo usermod -aG kvm $USER, then log in again) or run as root.".into(),
        e => format!("cannot open /dev/kvm: {}", std::io::Error::from_raw_os_error(e)),
    }
}

impl VmmError {
    /// Process exit status for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            VmmError::UnknownProgram(..)
            | VmmError::ReadFile(..)
            | VmmError::BadElf(..)
            | VmmError::BadSize(..)
            | VmmError::Usage(..)
            | VmmError::BadSnapshot(..)
            | VmmError::Kvm(_) => 2,
            _ => 1,
        }
    }
}
