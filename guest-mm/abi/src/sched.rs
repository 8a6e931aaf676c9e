//! Process and scheduling values: clone flags (include/uapi/linux/sched.h),
//! getrandom flags, struct utsname, rseq.

pub const CSIGNAL: u64 = 0xff;
pub const CLONE_VM: u64 = 0x100;
pub const CLONE_FS: u64 = 0x200;
pub const CLONE_FILES: u64 = 0x400;
pub const CLONE_SIGHAND: u64 = 0x800;
pub const CLONE_PIDFD: u64 = 0x1000;
pub const CLONE_PTRACE: u64 = 0x2000;
pub const CLONE_VFORK: u64 = 0x4000;
pub const CLONE_PARENT: u64 = 0x8000;
pub const CLONE_THREAD: u64 = 0x10000;
pub const CLONE_NEWNS: u64 = 0x20000;
pub const CLONE_SYSVSEM: u64 = 0x40000;
pub const CLONE_SETTLS: u64 = 0x80000;
pub const CLONE_PARENT_SETTID: u64 = 0x100000;
pub const CLONE_CHILD_CLEARTID: u64 = 0x200000;
pub const CLONE_DETACHED: u64 = 0x400000;
pub const CLONE_UNTRACED: u64 = 0x800000;
pub const CLONE_CHILD_SETTID: u64 = 0x1000000;
pub const CLONE_NEWCGROUP: u64 = 0x2000000;
pub const CLONE_NEWUTS: u64 = 0x4000000;
pub const CLONE_NEWIPC: u64 = 0x8000000;
pub const CLONE_NEWUSER: u64 = 0x10000000;
pub const CLONE_NEWPID: u64 = 0x20000000;
pub const CLONE_NEWNET: u64 = 0x40000000;
pub const CLONE_IO: u64 = 0x80000000;
pub const CLONE_NAMES: &[(u64, &str)] = &[
    (CLONE_VM, "CLONE_VM"),
    (CLONE_FS, "CLONE_FS"),
    (CLONE_FILES, "CLONE_FILES"),
    (CLONE_SIGHAND, "CLONE_SIGHAND"),
    (CLONE_PIDFD, "CLONE_PIDFD"),
    (CLONE_PTRACE, "CLONE_PTRACE"),
    (CLONE_VFORK, "CLONE_VFORK"),
    (CLONE_PARENT, "CLONE_PARENT"),
    (CLONE_THREAD, "CLONE_THREAD"),
    (CLONE_NEWNS, "CLONE_NEWNS"),
    (CLONE_SYSVSEM, "CLONE_SYSVSEM"),
    (CLONE_SETTLS, "CLONE_SETTLS"),
    (CLONE_PARENT_SETTID, "CLONE_PARENT_SETTID"),
    (CLONE_CHILD_CLEARTID, "CLONE_CHILD_CLEARTID"),
    (CLONE_DETACHED, "CLONE_DETACHED"),
    (CLONE_UNTRACED, "CLONE_UNTRACED"),
    (CLONE_CHILD_SETTID, "CLONE_CHILD_SETTID"),
    (CLONE_NEWCGROUP, "CLONE_NEWCGROUP"),
    (CLONE_NEWUTS, "CLONE_NEWUTS"),
    (CLONE_NEWIPC, "CLONE_NEWIPC"),
    (CLONE_NEWUSER, "CLONE_NEWUSER"),
    (CLONE_NEWPID, "CLONE_NEWPID"),
    (CLONE_NEWNET, "CLONE_NEWNET"),
    (CLONE_IO, "CLONE_IO"),
];

/// getrandom flags.
pub const GRND_NONBLOCK: u64 = 0x1;
pub const GRND_RANDOM: u64 = 0x2;
pub const GRND_INSECURE: u64 = 0x4;
pub const GRND_NAMES: &[(u64, &str)] = &[(GRND_NONBLOCK, "GRND_NONBLOCK"), (GRND_RANDOM, "GRND_RANDOM"), (GRND_INSECURE, "GRND_INSECURE")];

/// struct utsname: six fields of 65 bytes (sysname, nodename, release,
/// version, machine, domainname).
pub const UTSNAME_FIELD: usize = 65;
pub const UTSNAME_SIZE: usize = 6 * UTSNAME_FIELD;

/// rseq: the registered area's size and alignment (struct rseq; the auxv's
/// AT_RSEQ_FEATURE_SIZE and AT_RSEQ_ALIGN), its fields, and flags.
pub mod rseq {
    /// The original ABI size: rseq() accepts exactly this length, or the
    /// feature size for newer registrations (Linux 6.3+).
    pub const ORIG_SIZE: u64 = 32;
    /// offsetof(struct rseq, end) in Linux 6.18: cpu_id_start, cpu_id,
    /// rseq_cs, flags, node_id, mm_cid.
    pub const FEATURE_SIZE: u64 = 28;
    pub const ALIGN: u64 = 32;
    pub const CPU_ID_START: usize = 0;
    pub const CPU_ID: usize = 4;
    pub const RSEQ_CS: usize = 8;
    pub const FLAGS: usize = 16;
    pub const NODE_ID: usize = 20;
    pub const MM_CID: usize = 24;
    pub const FLAG_UNREGISTER: u64 = 1;
    /// cpu_id before registration.
    pub const CPU_ID_UNINITIALIZED: i32 = -1;
    /// struct rseq_cs: version (u32), flags (u32), start_ip, post_commit_offset, abort_ip.
    pub const CS_SIZE: usize = 32;
}

/// sched_getaffinity: the kernel's cpumask is nr_cpu_ids bits, copied as
/// whole longs.
pub const CPU_MASK_WORD: u64 = 8;

/// pidfd sentinels (include/uapi/linux/fcntl.h, Linux 6.14+): the caller's
/// thread or thread group, usable where a pidfd is expected.
pub const PIDFD_SELF_THREAD: i32 = -10000;
pub const PIDFD_SELF_THREAD_GROUP: i32 = -10001;
/// Aliases of the sentinels.
pub const PIDFD_SELF: i32 = PIDFD_SELF_THREAD;
pub const PIDFD_SELF_PROCESS: i32 = PIDFD_SELF_THREAD_GROUP;
/// The sentinels as 64-bit register values (sign-extended), with their names.
pub const PIDFD_SELF_NAMES: &[(u64, &str)] = &[
    (PIDFD_SELF_THREAD as i64 as u64, "PIDFD_SELF_THREAD"),
    (PIDFD_SELF_THREAD_GROUP as i64 as u64, "PIDFD_SELF_THREAD_GROUP"),
    (PIDFD_SELF as i64 as u64, "PIDFD_SELF"),
    (PIDFD_SELF_PROCESS as i64 as u64, "PIDFD_SELF_PROCESS"),
];
