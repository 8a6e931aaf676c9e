//! Linux errno values, as the syscall-semantics operations return them.
//!
//! The type lives in linux-abi, the one home of the ABI (every errno Linux
//! defines, with names); it is re-exported here so that engine code and its
//! users keep writing `guest_mm::Errno`.

pub use linux_abi::errno::consts;
pub use linux_abi::Errno;

/// Result of a syscall-semantics operation.
pub type SysResult<T> = Result<T, Errno>;
