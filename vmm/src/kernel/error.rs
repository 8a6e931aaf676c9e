//! Errors of the host-side kernel itself (not syscall results: those are
//! `Errno`s the guest sees).
//!
//! Every variant is a failure of the VMM or of the host, never something a
//! guest did: a hostile guest gets an errno, a signal, or its process killed.

use guest_mm::fault::FaultError;
use guest_mm::{AsId, EngineError};

/// A failure of the kernel or of what it runs on.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error("no task is current (the kernel's state is inconsistent)")]
    NoCurrentTask,
    #[error("address space {0:?} of the current task has no root table")]
    NoRootTable(AsId),
    #[error("the engine failed")]
    Engine(#[from] EngineError),
    #[error("resolving a page fault at {addr:#x} failed")]
    Fault {
        addr: u64,
        #[source]
        source: FaultError,
    },
    #[error("saving or loading the vCPU's FPU state failed")]
    Cpu(#[source] kvm_ioctls::Error),
    #[error("loading the program failed")]
    Exec(#[from] super::exec::ExecError),
}
