//! The text of procfs's generated files, in Linux's formats
//! (fs/proc/array.c proc_pid_status, do_task_stat, proc_pid_statm;
//! fs/proc/base.c comm, cmdline, environ; fs/proc/fd.c seq_show;
//! fs/proc/meminfo.c; arch/x86/kernel/cpu/proc.c; fs/proc/version.c).
//!
//! Values the engine keeps are reported as they are (sizes of mappings,
//! locked memory, resident pages); what the guest's kernel does not keep
//! (scheduling statistics, page-fault counts per kind, most of meminfo's
//! kernel-internal counters) reads as Linux shows it for a machine where it
//! is zero.

use super::procfs::{PidFile, TopFile};
use crate::kernel::process::{Pid, RunState};
use crate::kernel::Kernel;
use guest_mm::PAGE_SIZE;
use std::fmt::Write;

impl Kernel {
    /// Resident pages of a space (present PTEs).
    fn rss_pages(&self, pid: Pid) -> u64 {
        let Some(space) = self.procs.get(&pid).map(|p| p.space) else { return 0 };
        self.engine
            .space(space)
            .map(|s| {
                s.tables()
                    .entries_in(guest_mm::VirtAddr::new(0), guest_mm::VirtAddr::new(guest_mm::TASK_SIZE))
                    .iter()
                    .filter(|e| e.pte.frame().is_some())
                    .count() as u64
            })
            .unwrap_or(0)
    }

    fn state_letter(&self, pid: Pid) -> (char, &'static str) {
        match self.procs.get(&pid).map(|p| &p.state) {
            Some(RunState::Zombie(_)) => ('Z', "zombie"),
            Some(RunState::Stopped(..)) => ('T', "stopped"),
            Some(RunState::Runnable) if pid == self.current => ('R', "running"),
            _ => ('S', "sleeping"),
        }
    }

    /// /proc/PID/{status,stat,statm,comm,cmdline,environ,mounts}.
    pub(crate) fn proc_text(&mut self, pid: Pid, f: PidFile) -> String {
        if matches!(f, PidFile::Cmdline | PidFile::Environ) {
            return self.arg_area_text(pid, f);
        }
        let Some(p) = self.procs.get(&pid) else { return String::new() };
        let space = self.engine.space(p.space);
        let total = space.map_or(0, |s| s.total_vm());
        let locked = space.map_or(0, |s| s.locked_vm());
        let data = space.map_or(0, |s| s.data_vm());
        let rss = self.rss_pages(pid);
        let kb = |pages: u64| pages * (PAGE_SIZE / 1024);
        match f {
            PidFile::Comm => format!("{}\n", p.name),
            PidFile::Cmdline | PidFile::Environ => String::new(),
            PidFile::Mounts => super::procfs::mounts_text(),
            PidFile::Statm => format!("{} {} 0 0 0 {} 0\n", total, rss, data),
            PidFile::Stat => {
                let (st, _) = self.state_letter(pid);
                let start = space.map_or(0, |s| s.start_stack());
                let mut fields: Vec<String> = vec![
                    pid.to_string(),
                    format!("({})", p.name),
                    st.to_string(),
                    p.ppid.to_string(),
                    p.pgid.to_string(),
                    p.sid.to_string(),
                ];
                // tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
                // cutime cstime priority nice num_threads itrealvalue starttime
                let ticks = p.cpu_ns / 10_000_000;
                fields.extend(["0", "-1", "4194304", "0", "0", "0", "0"].map(String::from));
                fields.extend([
                    ticks.to_string(),
                    "0".into(),
                    "0".into(),
                    "0".into(),
                    "20".into(),
                    "0".into(),
                    "1".into(),
                    "0".into(),
                    "0".into(),
                ]);
                // vsize rss rsslim
                fields.extend([(total * PAGE_SIZE).to_string(), rss.to_string(), p.rlimit(linux_abi::resource::RLIMIT_RSS).to_string()]);
                let (brk_lo, _) = space.map_or((0, 0), |s| s.brk_range());
                // startcode endcode startstack kstkesp kstkeip signal blocked sigignore sigcatch wchan nswap cnswap exit_signal processor rt_priority policy delayacct_blkio_ticks guest_time cguest_time start_data end_data start_brk arg_start arg_end env_start env_end exit_code
                fields.extend(["0", "0"].map(String::from));
                fields.push(start.to_string());
                fields.extend(["0", "0"].map(String::from));
                let (ign, cgt) = masks(p);
                fields.extend([p.sig.pending.set.to_string(), p.sig.blocked.to_string(), ign.to_string(), cgt.to_string()]);
                fields.extend(["0", "0", "0"].map(String::from));
                fields.push(p.exit_signal.to_string());
                fields.extend(["0", "0", "0", "0", "0", "0", "0", "0"].map(String::from));
                fields.extend([
                    brk_lo.to_string(),
                    p.args.argv.0.to_string(),
                    p.args.argv.1.to_string(),
                    p.args.envp.0.to_string(),
                    p.args.envp.1.to_string(),
                ]);
                fields.push("0".into());
                format!("{}\n", fields.join(" "))
            }
            PidFile::Status => {
                let (st, st_name) = self.state_letter(pid);
                let c = &p.creds;
                let mut s = String::new();
                let _ = writeln!(s, "Name:\t{}", p.name);
                let _ = writeln!(s, "Umask:\t{:04o}", p.umask);
                let _ = writeln!(s, "State:\t{st} ({st_name})");
                let _ = writeln!(s, "Tgid:\t{pid}\nNgid:\t0\nPid:\t{pid}\nPPid:\t{}\nTracerPid:\t0", p.ppid);
                let _ = writeln!(s, "Uid:\t{}\t{}\t{}\t{}", c.uid, c.euid, c.suid, c.fsuid);
                let _ = writeln!(s, "Gid:\t{}\t{}\t{}\t{}", c.gid, c.egid, c.sgid, c.fsgid);
                let fdsize = p.fds.iter().map(|(n, _)| n as u64 + 1).max().unwrap_or(0).next_power_of_two().max(64);
                let _ = writeln!(s, "FDSize:\t{fdsize}");
                let groups: Vec<String> = c.groups.iter().map(u32::to_string).collect();
                let _ = writeln!(s, "Groups:\t{}", groups.iter().map(|g| format!("{g} ")).collect::<String>());
                let _ = writeln!(s, "NStgid:\t{pid}\nNSpid:\t{pid}\nNSpgid:\t{}\nNSsid:\t{}\nKthread:\t0", p.pgid, p.sid);
                let _ = writeln!(
                    s,
                    "VmPeak:\t{:8} kB\nVmSize:\t{:8} kB\nVmLck:\t{:8} kB\nVmPin:\t{:8} kB",
                    kb(total),
                    kb(total),
                    kb(locked),
                    0
                );
                let _ = writeln!(s, "VmHWM:\t{:8} kB\nVmRSS:\t{:8} kB", kb(rss), kb(rss));
                let _ = writeln!(s, "Threads:\t1");
                let _ = writeln!(s, "SigQ:\t0/{}", p.rlimit(linux_abi::resource::RLIMIT_SIGPENDING));
                let (ign, cgt) = masks(p);
                let _ = writeln!(s, "SigPnd:\t{:016x}\nShdPnd:\t{:016x}", 0, p.sig.pending.set);
                let _ = writeln!(s, "SigBlk:\t{:016x}\nSigIgn:\t{:016x}\nSigCgt:\t{:016x}", p.sig.blocked, ign, cgt);
                let _ = writeln!(s, "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nCapAmb:\t0000000000000000");
                let _ = writeln!(s, "NoNewPrivs:\t{}\nSeccomp:\t0\nSeccomp_filters:\t0", u8::from(p.prctl.no_new_privs));
                s
            }
            PidFile::Maps | PidFile::Pagemap | PidFile::ClearRefs => String::new(),
        }
    }

    /// /proc/PID/cmdline and environ: the bytes of the argument or
    /// environment area, read from the process's memory as get_mm_cmdline
    /// and environ_read do (what the program wrote there since shows).
    fn arg_area_text(&mut self, pid: Pid, f: PidFile) -> String {
        let Some(p) = self.procs.get(&pid) else { return String::new() };
        let (lo, hi) = if f == PidFile::Cmdline { p.args.argv } else { p.args.envp };
        let space = p.space;
        let mut buf = vec![0u8; hi.saturating_sub(lo).min(1 << 20) as usize];
        let (r, u) = self.engine.read_user(space, guest_mm::VirtAddr::new(lo), &mut buf).split();
        self.pending.absorb(u);
        match r {
            Ok(()) => String::from_utf8_lossy(&buf).into_owned(),
            Err(_) => String::new(),
        }
    }

    /// /proc/PID/fdinfo/N (fs/proc/fd.c seq_show).
    pub(crate) fn fdinfo_text(&self, pid: Pid, n: i32) -> Option<String> {
        let p = self.procs.get(&pid)?;
        let e = p.fds.get(n as u32).ok()?;
        let f = self.files.get(e.file)?;
        let flags = f.flags | if e.cloexec { linux_abi::fcntl::O_CLOEXEC } else { 0 };
        let ino = f.inode.map_or(0, |i| i.0);
        let mnt = f.inode.and_then(|i| self.vfs.get(i)).map_or(0, |i| i.sb as u32 + 20);
        Some(format!("pos:\t{}\nflags:\t0{:o}\nmnt_id:\t{mnt}\nino:\t{ino}\n", f.offset, flags))
    }

    /// The top-level generated files of /proc.
    pub(crate) fn top_text(&self, t: TopFile) -> String {
        let (total, free) = (self.engine.frames().total(), self.engine.frames().free_count());
        let kb = |pages: u64| pages * (PAGE_SIZE / 1024);
        match t {
            TopFile::Meminfo => {
                let mut s = String::new();
                let _ = writeln!(s, "MemTotal:       {:8} kB", kb(total));
                let _ = writeln!(s, "MemFree:        {:8} kB", kb(free));
                let _ = writeln!(s, "MemAvailable:   {:8} kB", kb(free));
                for name in ["Buffers", "Cached", "SwapCached", "Active", "Inactive"] {
                    let _ = writeln!(s, "{:<16}{:8} kB", format!("{name}:"), 0);
                }
                let _ = writeln!(s, "SwapTotal:      {:8} kB\nSwapFree:       {:8} kB", 0, 0);
                s
            }
            TopFile::Cpuinfo => "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: vmm virtual CPU\nflags\t\t: fpu pse tsc msr pae cx8 apic sep pge cmov pat clflush mmx fxsr sse sse2 syscall nx lm\n\n".into(),
            TopFile::Version => format!("{} version {} (vmm) {}\n", self.uname.sysname, self.uname.release, self.uname.version),
            TopFile::Uptime => {
                let ns = self.clock.monotonic_ns();
                format!("{}.{:02} 0.00\n", ns / 1_000_000_000, ns % 1_000_000_000 / 10_000_000)
            }
            TopFile::Loadavg => format!("0.00 0.00 0.00 1/{} {}\n", self.procs.len(), self.procs.keys().max().copied().unwrap_or(0)),
            TopFile::Filesystems => "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\n".into(),
        }
    }
}

/// SigIgn and SigCgt: the signals ignored and the ones with a handler.
fn masks(p: &crate::kernel::process::Process) -> (u64, u64) {
    let mut ign = 0;
    let mut cgt = 0;
    for (i, a) in p.sig.actions.iter().enumerate() {
        if a.is_ignore() {
            ign |= 1 << i;
        } else if !a.is_default() {
            cgt |= 1 << i;
        }
    }
    (ign, cgt)
}
