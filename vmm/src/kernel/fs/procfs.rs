//! procfs: the files under /proc, generated from the kernel's state.
//!
//! Owns the names procfs has (`ProcNode`), how they list, link and stat,
//! and the text of the generated files (fs/proc/base.c, array.c, task_mmu.c,
//! meminfo.c, and the sysctls the guest reads). Nothing here is stored: a
//! node is a name for a piece of kernel state, re-resolved at each lookup,
//! so /proc/PID disappears with its process. Text files are generated when
//! opened (maps and smaps again at every read from offset 0, as seq_file does; see
//! `file::continue_maps`); pagemap and clear_refs have their own
//! description kinds.
//!
//! Inode numbers of generated nodes are derived from the node (stable for a
//! node while its process lives), in a range no file system inode reaches.

use super::inode::Ino;
use crate::kernel::process::Pid;
use crate::kernel::Kernel;
use guest_mm::Errno;
use linux_abi::stat::{S_IFDIR, S_IFLNK, S_IFREG};

/// A file of /proc/PID.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PidFile {
    Maps,
    Smaps,
    Pagemap,
    ClearRefs,
    Status,
    Stat,
    Statm,
    Comm,
    Cmdline,
    Environ,
    Mounts,
}

impl PidFile {
    const ALL: [(&'static str, PidFile); 11] = [
        ("clear_refs", PidFile::ClearRefs),
        ("cmdline", PidFile::Cmdline),
        ("comm", PidFile::Comm),
        ("environ", PidFile::Environ),
        ("maps", PidFile::Maps),
        ("mounts", PidFile::Mounts),
        ("pagemap", PidFile::Pagemap),
        ("smaps", PidFile::Smaps),
        ("stat", PidFile::Stat),
        ("statm", PidFile::Statm),
        ("status", PidFile::Status),
    ];

    /// Permission bits (fs/proc/base.c tgid_base_stuff).
    pub fn perm(self) -> u32 {
        match self {
            PidFile::ClearRefs => 0o200,
            PidFile::Pagemap | PidFile::Environ => 0o400,
            PidFile::Comm => 0o644,
            _ => 0o444,
        }
    }
}

/// The top-level files of /proc.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TopFile {
    Meminfo,
    Cpuinfo,
    Version,
    Uptime,
    Loadavg,
    Filesystems,
}

impl TopFile {
    const ALL: [(&'static str, TopFile); 6] = [
        ("cpuinfo", TopFile::Cpuinfo),
        ("filesystems", TopFile::Filesystems),
        ("loadavg", TopFile::Loadavg),
        ("meminfo", TopFile::Meminfo),
        ("uptime", TopFile::Uptime),
        ("version", TopFile::Version),
    ];
}

/// The sysctl directories and values the guest can read.
pub const SYSCTLS: &[&str] = &[
    "fs/pipe-max-size",
    "fs/pipe-user-pages-hard",
    "fs/pipe-user-pages-soft",
    "kernel/pid_max",
    "kernel/threads-max",
    "vm/max_map_count",
    "vm/mmap_min_addr",
    "vm/overcommit_memory",
];
const SYSCTL_DIRS: &[&str] = &["sys", "sys/fs", "sys/kernel", "sys/vm"];

/// A name in procfs.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ProcNode {
    Root,
    /// /proc/self -> "PID"; /proc/thread-self -> "PID/task/PID"; /proc/mounts -> "self/mounts".
    SelfLink,
    ThreadSelf,
    MountsLink,
    Pid(Pid),
    Task(Pid),
    PidFile(Pid, PidFile),
    /// Magic links: exe, cwd, root, fd/N.
    Exe(Pid),
    Cwd(Pid),
    RootLink(Pid),
    FdDir(Pid),
    Fd(Pid, i32),
    FdinfoDir(Pid),
    Fdinfo(Pid, i32),
    Top(TopFile),
    /// "sys", "sys/vm", ...: index into SYSCTL_DIRS.
    SysDir(usize),
    /// index into SYSCTLS.
    Sysctl(usize),
}

/// What a procfs node is, for walking and stat.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    Dir,
    File(u32),
    Link,
}

impl ProcNode {
    pub fn shape(&self) -> Shape {
        use ProcNode::*;
        match self {
            Root | Pid(_) | Task(_) | FdDir(_) | FdinfoDir(_) | SysDir(_) => Shape::Dir,
            SelfLink | ThreadSelf | MountsLink | Exe(_) | Cwd(_) | RootLink(_) | Fd(..) => Shape::Link,
            PidFile(_, f) => Shape::File(f.perm()),
            Fdinfo(..) => Shape::File(0o444),
            Top(_) => Shape::File(0o444),
            Sysctl(_) => Shape::File(0o644),
        }
    }

    /// st_mode.
    pub fn mode(&self) -> u32 {
        match self.shape() {
            Shape::Dir => S_IFDIR | 0o555,
            Shape::Link => S_IFLNK | 0o777,
            Shape::File(p) => S_IFREG | p,
        }
    }

    /// A stable inode number in a range of its own.
    pub fn ino(&self) -> Ino {
        use ProcNode::*;
        let (pid, sub): (u64, u64) = match self {
            Root => (0, 1),
            SelfLink => (0, 2),
            ThreadSelf => (0, 3),
            MountsLink => (0, 4),
            Top(t) => (0, 10 + *t as u64),
            SysDir(i) => (0, 100 + *i as u64),
            Sysctl(i) => (0, 200 + *i as u64),
            Pid(p) => (*p as u64, 1),
            Task(p) => (*p as u64, 2),
            Exe(p) => (*p as u64, 3),
            Cwd(p) => (*p as u64, 4),
            RootLink(p) => (*p as u64, 5),
            FdDir(p) => (*p as u64, 6),
            FdinfoDir(p) => (*p as u64, 7),
            PidFile(p, f) => (*p as u64, 10 + *f as u64),
            Fd(p, n) => (*p as u64, 0x1000 + *n as u64),
            Fdinfo(p, n) => (*p as u64, 0x100_0000 + *n as u64),
        };
        Ino((1 << 40) | (pid << 26) | sub)
    }

    /// The owner: a process's files are its fs ids', the rest root's.
    pub fn owner(&self, k: &Kernel) -> (u32, u32) {
        use ProcNode::*;
        let pid = match self {
            Pid(p) | Task(p) | PidFile(p, _) | Exe(p) | Cwd(p) | RootLink(p) | FdDir(p) | Fd(p, _) | FdinfoDir(p) | Fdinfo(p, _) => *p,
            _ => return (0, 0),
        };
        k.procs.get(&pid).map_or((0, 0), |p| (p.creds.euid, p.creds.egid))
    }

    /// The parent directory (for "..").
    pub fn parent(&self) -> Option<ProcNode> {
        use ProcNode::*;
        Some(match self {
            Root => return None,
            SelfLink | ThreadSelf | MountsLink | Pid(_) | Top(_) => Root,
            Task(p) | PidFile(p, _) | Exe(p) | Cwd(p) | RootLink(p) | FdDir(p) | FdinfoDir(p) => Pid(*p),
            Fd(p, _) => FdDir(*p),
            Fdinfo(p, _) => FdinfoDir(*p),
            SysDir(0) => Root,
            SysDir(_) => SysDir(0),
            Sysctl(i) => {
                let dir = SYSCTLS[*i].split('/').next().unwrap_or("");
                SysDir(SYSCTL_DIRS.iter().position(|d| d.strip_prefix("sys/") == Some(dir)).unwrap_or(0))
            }
        })
    }

    fn live(k: &Kernel, pid: Pid) -> Result<Pid, Errno> {
        // A zombie keeps its /proc/PID until it is reaped, as on Linux.
        k.procs.get(&pid).map(|_| pid).ok_or(Errno::ENOENT)
    }

    /// The entry `name` of this directory.
    pub fn lookup(&self, k: &Kernel, name: &str) -> Result<ProcNode, Errno> {
        use ProcNode::*;
        match self {
            Root => match name {
                "self" => Ok(SelfLink),
                "thread-self" => Ok(ThreadSelf),
                "mounts" => Ok(MountsLink),
                "sys" => Ok(SysDir(0)),
                _ => {
                    if let Some((_, t)) = TopFile::ALL.iter().find(|(n, _)| *n == name) {
                        return Ok(Top(*t));
                    }
                    let pid: crate::kernel::process::Pid = name.parse().map_err(|_| Errno::ENOENT)?;
                    if name.starts_with('0') || name.starts_with('+') {
                        return Err(Errno::ENOENT);
                    }
                    Self::live(k, pid).map(Pid)
                }
            },
            Pid(p) => {
                let p = *p;
                Self::live(k, p)?;
                match name {
                    "exe" => Ok(Exe(p)),
                    "cwd" => Ok(Cwd(p)),
                    "root" => Ok(RootLink(p)),
                    "fd" => Ok(FdDir(p)),
                    "fdinfo" => Ok(FdinfoDir(p)),
                    "task" => Ok(Task(p)),
                    _ => self::PidFile::ALL.iter().find(|(n, _)| *n == name).map(|(_, f)| PidFile(p, *f)).ok_or(Errno::ENOENT),
                }
            }
            Task(p) => {
                let tid: crate::kernel::process::Pid = name.parse().map_err(|_| Errno::ENOENT)?;
                if tid == *p {
                    Ok(Pid(*p))
                } else {
                    Err(Errno::ENOENT)
                }
            }
            FdDir(p) | FdinfoDir(p) => {
                let n: i32 = name.parse().map_err(|_| Errno::ENOENT)?;
                let proc_ = k.procs.get(p).ok_or(Errno::ENOENT)?;
                if n < 0 || name.starts_with('+') || (name.len() > 1 && name.starts_with('0')) {
                    return Err(Errno::ENOENT);
                }
                proc_.fds.get(n as u32).map_err(|_| Errno::ENOENT)?;
                Ok(if matches!(self, FdDir(_)) { Fd(*p, n) } else { Fdinfo(*p, n) })
            }
            SysDir(i) => {
                let here = SYSCTL_DIRS[*i];
                let path = format!("{here}/{name}");
                if let Some(d) = SYSCTL_DIRS.iter().position(|d| *d == path) {
                    return Ok(SysDir(d));
                }
                let rel = path.strip_prefix("sys/").unwrap_or("");
                SYSCTLS.iter().position(|s| *s == rel).map(Sysctl).ok_or(Errno::ENOENT)
            }
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// A directory's entries (without "." and ".."), with d_type.
    pub fn list(&self, k: &Kernel) -> Vec<(String, ProcNode)> {
        use ProcNode::*;
        match self {
            Root => {
                let mut v: Vec<(String, ProcNode)> = TopFile::ALL.iter().map(|(n, t)| (n.to_string(), Top(*t))).collect();
                v.extend([
                    ("mounts".into(), MountsLink),
                    ("self".into(), SelfLink),
                    ("sys".into(), SysDir(0)),
                    ("thread-self".into(), ThreadSelf),
                ]);
                v.sort_by(|a, b| a.0.cmp(&b.0));
                v.extend(k.procs.keys().map(|p| (p.to_string(), Pid(*p))));
                v
            }
            Pid(p) => {
                let mut v: Vec<(String, ProcNode)> = self::PidFile::ALL.iter().map(|(n, f)| (n.to_string(), PidFile(*p, *f))).collect();
                v.extend([
                    ("cwd".into(), Cwd(*p)),
                    ("exe".into(), Exe(*p)),
                    ("fd".into(), FdDir(*p)),
                    ("fdinfo".into(), FdinfoDir(*p)),
                    ("root".into(), RootLink(*p)),
                    ("task".into(), Task(*p)),
                ]);
                v.sort_by(|a, b| a.0.cmp(&b.0));
                v
            }
            Task(p) => vec![(p.to_string(), Pid(*p))],
            FdDir(p) | FdinfoDir(p) => k.procs.get(p).map_or_else(Vec::new, |proc_| {
                proc_.fds.iter().map(|(n, _)| (n.to_string(), if matches!(self, FdDir(_)) { Fd(*p, n) } else { Fdinfo(*p, n) })).collect()
            }),
            SysDir(i) => {
                let here = SYSCTL_DIRS[*i];
                let mut v: Vec<(String, ProcNode)> = SYSCTL_DIRS
                    .iter()
                    .enumerate()
                    .filter_map(|(j, d)| {
                        d.strip_prefix(here)
                            .and_then(|r| r.strip_prefix('/'))
                            .filter(|r| !r.contains('/'))
                            .map(|r| (r.to_string(), SysDir(j)))
                    })
                    .collect();
                let rel = here.strip_prefix("sys").unwrap_or("").trim_start_matches('/');
                v.extend(SYSCTLS.iter().enumerate().filter_map(|(j, s)| {
                    s.strip_prefix(rel)
                        .and_then(|r| r.strip_prefix('/'))
                        .filter(|r| !rel.is_empty() && !r.contains('/'))
                        .map(|r| (r.to_string(), Sysctl(j)))
                }));
                v
            }
            _ => Vec::new(),
        }
    }

    /// The text of a symbolic link that is not magic (self, thread-self, mounts).
    pub fn link_text(&self, k: &Kernel) -> Option<String> {
        let me = k.current;
        match self {
            ProcNode::SelfLink => Some(me.to_string()),
            ProcNode::ThreadSelf => Some(format!("{me}/task/{me}")),
            ProcNode::MountsLink => Some("self/mounts".into()),
            _ => None,
        }
    }
}

/// /proc/mounts (and /proc/PID/mounts): the fixed mounts, as show_vfsmnt prints them.
pub fn mounts_text() -> String {
    super::inode::Sb::ALL
        .iter()
        .map(|sb| {
            let src = match sb.fstype() {
                "tmpfs" if *sb == super::inode::Sb::Root => "rootfs",
                t => t,
            };
            format!("{src} {} {} {} 0 0\n", sb.mount_point(), sb.fstype(), sb.options())
        })
        .collect()
}

/// A sysctl's value as it reads.
pub fn sysctl(k: &Kernel, name: &str) -> Option<String> {
    let limits = &k.engine.config().limits;
    Some(match name {
        "vm/mmap_min_addr" => limits.dac_mmap_min_addr.to_string(),
        "vm/max_map_count" => limits.max_map_count.to_string(),
        // The heuristic (OVERCOMMIT_GUESS), the only mode the engine has.
        "vm/overcommit_memory" => "0".into(),
        "kernel/pid_max" => crate::kernel::PID_MAX.to_string(),
        "kernel/threads-max" => k.max_procs.to_string(),
        // The pipe limits `fs::pipe` applies (the defaults; not writable here).
        "fs/pipe-max-size" => linux_abi::pipe::PIPE_MAX_SIZE.to_string(),
        "fs/pipe-user-pages-soft" => linux_abi::pipe::PIPE_USER_PAGES_SOFT.to_string(),
        "fs/pipe-user-pages-hard" => "0".into(),
        _ => return None,
    })
}
