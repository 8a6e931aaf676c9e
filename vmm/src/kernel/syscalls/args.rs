//! System call arguments: typed views of the six registers, and the kinds
//! the table records for each argument so that `--strace` can decode them.
//!
//! Linux declares each argument with a C type and the register is truncated
//! to it (an `unsigned int fd` of 0x1_0000_0001 is fd 1, an `int` flag is its
//! low 32 bits). The accessors do exactly that, so handlers see what Linux's
//! would; everything stays untrusted (pointers are only ever used through
//! the engine's user-access path).

/// The six argument registers of a syscall (RDI, RSI, RDX, R10, R8, R9).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Args(pub [u64; 6]);

impl Args {
    /// The register as it came.
    pub fn raw(&self, i: usize) -> u64 {
        self.0[i]
    }
    /// An `unsigned int fd`.
    pub fn fd(&self, i: usize) -> u32 {
        self.0[i] as u32
    }
    /// An `int`.
    pub fn int(&self, i: usize) -> i32 {
        self.0[i] as i32
    }
    /// An `unsigned int` (flags, modes).
    pub fn uint(&self, i: usize) -> u32 {
        self.0[i] as u32
    }
    /// A user pointer.
    pub fn ptr(&self, i: usize) -> u64 {
        self.0[i]
    }
    /// A `size_t` or `unsigned long`.
    pub fn ulong(&self, i: usize) -> u64 {
        self.0[i]
    }
    /// A `long`, `loff_t` or `off_t`.
    pub fn long(&self, i: usize) -> i64 {
        self.0[i] as i64
    }
    /// A `pid_t`.
    pub fn pid(&self, i: usize) -> i32 {
        self.0[i] as i32
    }
}

/// How `--strace` prints an argument.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// A file descriptor (int; AT_FDCWD shown by name).
    Fd,
    /// A signed int.
    Int,
    /// An unsigned long, in decimal.
    Ulong,
    /// A signed long or offset.
    Long,
    /// A number best read in hex.
    Hex,
    /// A mode in octal.
    Octal,
    /// A pointer (NULL or hex).
    Ptr,
    /// A NUL-terminated string the kernel reads.
    Str,
    /// A buffer the kernel reads, its length in argument `n`.
    InBuf(usize),
    /// A buffer the kernel fills, its length in argument `n` (or the result).
    OutBuf(usize),
    /// An array of `struct iovec` the kernel reads data from, its count in
    /// argument `n` (writev): each element's data is shown.
    InIov(usize),
    /// An array of `struct iovec` the kernel fills, its count in argument
    /// `n` (readv): the data the result says was read is shown.
    OutIov(usize),
    /// A buffer the kernel fills with binary data (getrandom), its length
    /// the result; printed in hex escapes, as strace forces for it.
    OutBinary,
    /// A `struct rlimit` the kernel reads.
    InRlimit,
    /// A `struct rlimit` the kernel fills.
    OutRlimit,
    /// A `struct stat` the kernel fills (strace's abbreviated form).
    OutStat,
    /// fcntl's third argument, decoded by the command in argument 1 (or
    /// absent, for the commands that take none).
    FcntlArg,
    /// Flags decoded with a linux-abi name table.
    Flags(&'static [(u64, &'static str)]),
    /// One value named by a linux-abi table.
    Enum(&'static [(u64, &'static str)]),
    /// The prot argument (PROT_NONE when 0).
    Prot,
    /// mmap flags: the type and the other flags.
    MapFlags,
    /// open flags: the access mode and the other flags.
    OpenFlags,
    /// A signal number.
    Signal,
    /// A resource of getrlimit & co.
    Resource,
    /// A NULL-terminated array of strings the kernel reads (execve's argv):
    /// read when the call starts, as a successful exec replaces the memory.
    Argv,
    /// An environment array: its address and how many strings it holds.
    Envp,
}

/// One argument of a table entry.
#[derive(Copy, Clone, Debug)]
pub struct Arg {
    pub name: &'static str,
    pub kind: ArgKind,
}

/// How `--strace` prints a successful result.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RetKind {
    /// A signed decimal (counts, descriptors, pids, 0).
    Int,
    /// An address (mmap, brk).
    Hex,
    /// The call does not return (exit, exit_group): "?".
    Never,
    /// A mode, in octal as C's %#03o (umask).
    Octal,
    /// fcntl's: the flags of F_GETFL/F_GETFD in hex and by name, else an int.
    Fcntl,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_truncated_to_their_c_types() {
        let a = Args([0x1_0000_0001, u64::MAX, 0x8000_0000, 5, 0, 0]);
        assert_eq!(a.fd(0), 1);
        assert_eq!(a.int(1), -1);
        assert_eq!(a.int(2), i32::MIN);
        assert_eq!(a.long(1), -1);
        assert_eq!(a.ulong(3), 5);
    }
}
