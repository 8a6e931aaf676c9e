//! `vmm run --strace`: what a program does, printed as strace prints it.
//!
//! Owns the formatting of one line per system call (`name(args) = result`,
//! arguments decoded from the syscall table's argument kinds with
//! linux-abi's name tables), of signals (`--- SIGSEGV {si_signo=...} ---`)
//! and of exits (`+++ exited with 0 +++`). A call that blocks prints
//! `<unfinished ...>` and, when it completes, `<... name resumed>`. With more
//! than one process every line names its pid, as `strace -f` does. Tracing
//! off costs one branch per syscall: the kernel only calls in here when a
//! tracer is set.

use super::process::{ExitStatus, Pid};
use super::signal::{SigFields, SigInfo};
use super::syscalls::{table, ArgKind, Args, Control, RetKind};
use super::Kernel;
use guest_mm::Errno;
use kvm_bindings::kvm_regs;
use linux_abi::stat::{self, Stat};
use linux_abi::{fcntl, mman, resource, signal::si, write_flags, Signal};
use std::fmt::Write as _;
use std::io::Write;

/// Bytes of a string or buffer strace shows (its -s 32 default).
const MAX_STR: usize = 32;

/// Where trace lines go.
pub struct Strace {
    out: Box<dyn Write + Send>,
    /// Blocked calls waiting for their result, by process.
    unfinished: std::collections::BTreeMap<Pid, &'static str>,
}

impl Strace {
    pub fn new(out: Box<dyn Write + Send>) -> Strace {
        Strace { out, unfinished: Default::default() }
    }

    pub fn flush(&mut self) {
        let _ = self.out.flush();
    }
}

/// A call being traced: its number and arguments as they came, and for a
/// call whose success replaces the memory its arguments are in (execve),
/// the line's head as it read at entry.
pub struct Call {
    nr: u64,
    args: Args,
    head: Option<String>,
}

impl Call {
    pub fn enter(k: &mut Kernel, nr: u64, args: Args) -> Call {
        let mut call = Call { nr, args, head: None };
        if table::lookup(nr).is_some_and(|e| e.args.iter().any(|a| a.kind == ArgKind::Argv)) {
            call.head = Some(k.format_call(&call, None));
        }
        call
    }
}

/// Most entries of an argv strace shows (its -s 32 applies to them too).
const MAX_ARGV: usize = MAX_STR;

/// `head = result`, the `=` at RESULT_COLUMN at the earliest.
fn result_line(prefix: &str, head: &str, result: &str) -> String {
    let used = prefix.len() + head.chars().count();
    let pad = RESULT_COLUMN.saturating_sub(used + 1);
    format!("{prefix}{head}{:pad$} = {result}", "")
}

/// A string from guest memory as strace quotes it.
fn quote(bytes: &[u8], truncated: bool) -> String {
    let mut s = String::from("\"");
    for &b in bytes.iter().take(MAX_STR) {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\r' => s.push_str("\\r"),
            0x0b => s.push_str("\\v"),
            0x0c => s.push_str("\\f"),
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\{b:o}");
            }
        }
    }
    s.push('"');
    if truncated || bytes.len() > MAX_STR {
        s.push_str("...");
    }
    s
}

fn ptr(v: u64) -> String {
    if v == 0 {
        "NULL".into()
    } else {
        format!("{v:#x}")
    }
}

fn flags(v: u64, table: &[(u64, &str)]) -> String {
    let mut s = String::new();
    let _ = write_flags(&mut s, v, table);
    s
}

/// A value by name, or as strace shows an unknown one: `0x4d2 /* F_??? */`.
fn named(v: u64, table: &'static [(u64, &'static str)]) -> String {
    linux_abi::lookup(v, table).map_or_else(
        || {
            let prefix = table.first().and_then(|(_, n)| n.find('_').map(|i| &n[..=i])).unwrap_or("");
            format!("{} /* {prefix}??? */", c_hex(v))
        },
        str::to_string,
    )
}

/// C's `%#x`: no prefix for zero.
fn c_hex(v: u64) -> String {
    if v == 0 {
        "0".into()
    } else {
        format!("{v:#x}")
    }
}

/// C's `%#03o`, as strace prints modes: 0644, 04755, 000.
fn c_octal(v: u32) -> String {
    let s = if v == 0 { "0".to_string() } else { format!("0{v:o}") };
    format!("{s:0>3}")
}

/// open(2) flags: the access mode, then the others.
fn open_flags(v: u64) -> String {
    let acc = named(v & fcntl::O_ACCMODE, fcntl::O_ACCMODE_NAMES);
    let rest = v & !fcntl::O_ACCMODE;
    if rest == 0 {
        acc
    } else {
        format!("{acc}|{}", flags(rest, fcntl::O_NAMES))
    }
}

/// A file mode: `S_IFREG|S_ISUID|0755` (strace's print_symbolic_mode_t).
fn mode(m: u32) -> String {
    let mut s = String::new();
    let kind = m & stat::S_IFMT;
    if kind != 0 {
        match stat::S_IF_NAMES.iter().find(|(k, _)| *k == kind) {
            Some((_, n)) => {
                s.push_str(n);
                s.push('|');
            }
            None => return c_octal(m),
        }
    }
    for (bit, n) in [(stat::S_ISUID, "S_ISUID|"), (stat::S_ISGID, "S_ISGID|"), (stat::S_ISVTX, "S_ISVTX|")] {
        if m & bit != 0 {
            s.push_str(n);
        }
    }
    s.push_str(&c_octal(m & 0o777));
    s
}

/// One rlimit value (strace's sprint_rlim64).
fn rlim(v: u64) -> String {
    if v == resource::RLIM_INFINITY {
        "RLIM64_INFINITY".into()
    } else if v > 1024 && v.is_multiple_of(1024) {
        format!("{}*1024", v / 1024)
    } else {
        v.to_string()
    }
}

/// Binary data as strace forces it for getrandom: every byte in hex.
fn quote_hex(bytes: &[u8], truncated: bool) -> String {
    let mut s = String::from("\"");
    for &b in bytes.iter().take(MAX_STR) {
        let _ = write!(s, "\\x{b:02x}");
    }
    s.push('"');
    if truncated || bytes.len() > MAX_STR {
        s.push_str("...");
    }
    s
}

/// What an iovec argument's buffers hold when the line is printed.
#[derive(Copy, Clone, PartialEq, Eq)]
enum IovData {
    /// Data the call reads (writev): every buffer's.
    All,
    /// A read that returned this many bytes: that much, buffer by buffer.
    Filled(u64),
    /// A read that failed: the buffers' addresses only.
    None,
}

/// The column where strace starts a result (its -a 40 default).
const RESULT_COLUMN: usize = 40;

impl Kernel {
    /// Reads up to MAX_STR bytes of user memory for a trace line.
    fn peek(&mut self, va: u64, len: usize) -> Option<Vec<u8>> {
        let mut b = vec![0u8; len.min(MAX_STR + 1)];
        let space = self.procs.get(&self.current)?.space;
        let (r, u) = self.engine.read_user(space, guest_mm::VirtAddr::new(va), &mut b).split();
        self.pending.absorb(u);
        r.ok().map(|_| b)
    }

    /// An iovec array as strace prints it: `[{iov_base="...", iov_len=N}, ...]`,
    /// at most MAX_STR elements.
    fn format_iov(&mut self, va: u64, count: u64, data: IovData) -> String {
        let count = count as i32;
        if va == 0 || count < 0 || count as u64 > fcntl::UIO_MAXIOV {
            return ptr(va);
        }
        let size = fcntl::IOVEC_SIZE;
        let shown = (count as usize).min(MAX_STR);
        let mut raw = vec![0u8; shown * size];
        let Some(space) = self.procs.get(&self.current).map(|p| p.space) else { return ptr(va) };
        let (r, u) = self.engine.read_user(space, guest_mm::VirtAddr::new(va), &mut raw).split();
        self.pending.absorb(u);
        if r.is_err() {
            return ptr(va);
        }
        let mut left = match data {
            IovData::All => None,
            IovData::Filled(n) => Some(n),
            IovData::None => Some(0),
        };
        let mut parts = Vec::with_capacity(shown + 1);
        for e in raw.chunks_exact(size) {
            let base = u64::from_le_bytes(e[..8].try_into().expect("8 bytes"));
            let len = u64::from_le_bytes(e[8..].try_into().expect("8 bytes"));
            let data_len = match left.as_mut() {
                Some(l) => {
                    let d = len.min(*l);
                    *l -= d;
                    d
                }
                None => len,
            } as usize;
            let data = if base == 0 {
                "NULL".to_string()
            } else if data == IovData::None {
                ptr(base)
            } else {
                self.peek(base, data_len.min(MAX_STR)).map_or_else(|| ptr(base), |b| quote(&b[..data_len.min(b.len())], data_len > MAX_STR))
            };
            parts.push(format!("{{iov_base={data}, iov_len={len}}}"));
        }
        if count as usize > shown {
            parts.push("...".into());
        }
        format!("[{}]", parts.join(", "))
    }

    /// The pointers of a NULL-terminated array, at most `max` (None: the
    /// array cannot be read up to there).
    fn peek_array(&mut self, va: u64, max: usize) -> Option<(Vec<u64>, bool)> {
        let mut out = Vec::new();
        let space = self.procs.get(&self.current)?.space;
        for i in 0..=max as u64 {
            let mut b = [0u8; 8];
            let (r, u) = self.engine.read_user(space, guest_mm::VirtAddr::new(va.checked_add(i * 8)?), &mut b).split();
            self.pending.absorb(u);
            r.ok()?;
            let p = u64::from_le_bytes(b);
            if p == 0 {
                return Some((out, false));
            }
            if out.len() == max {
                return Some((out, true));
            }
            out.push(p);
        }
        Some((out, true))
    }

    /// execve's argv: `["a", "b"]`, at most MAX_ARGV strings then `...`.
    fn format_argv(&mut self, va: u64) -> String {
        if va == 0 {
            return "NULL".into();
        }
        let Some((ptrs, more)) = self.peek_array(va, MAX_ARGV) else { return ptr(va) };
        let mut parts: Vec<String> = ptrs
            .into_iter()
            .map(|p| match super::syscalls::read_cstr(self, p, MAX_STR + 1) {
                Ok(b) => quote(&b, false),
                Err(Errno::ENAMETOOLONG) => self.peek(p, MAX_STR).map_or_else(|| ptr(p), |b| quote(&b, true)),
                Err(_) => ptr(p),
            })
            .collect();
        if more {
            parts.push("...".into());
        }
        format!("[{}]", parts.join(", "))
    }

    /// execve's envp, as strace shows it by default: `0x... /* N vars */`.
    fn format_envp(&mut self, va: u64) -> String {
        if va == 0 {
            return "NULL".into();
        }
        match self.peek_array(va, 4096) {
            Some((ptrs, false)) => format!("{} /* {} vars */", ptr(va), ptrs.len()),
            Some((_, true)) => format!("{} /* 4096+ vars */", ptr(va)),
            None => ptr(va),
        }
    }

    /// One argument as strace prints it; None for an argument strace leaves
    /// out (fcntl's third for the commands that take none).
    fn format_arg(&mut self, kind: ArgKind, v: u64, args: &Args, ret: Option<u64>) -> Option<String> {
        let ok = ret.is_some_and(|r| Errno::from_return(r as i64).is_none());
        Some(match kind {
            ArgKind::Fd if v as i32 as i64 == fcntl::AT_FDCWD => "AT_FDCWD".into(),
            ArgKind::Fd | ArgKind::Int => (v as i32).to_string(),
            ArgKind::Ulong => v.to_string(),
            ArgKind::Long => (v as i64).to_string(),
            ArgKind::Hex => c_hex(v),
            ArgKind::Octal => c_octal(v as u32),
            ArgKind::Ptr => ptr(v),
            ArgKind::Str => match super::syscalls::read_cstr(self, v, MAX_STR + 1) {
                Ok(b) => quote(&b, false),
                Err(Errno::ENAMETOOLONG) => self.peek(v, MAX_STR).map_or_else(|| ptr(v), |b| quote(&b, true)),
                Err(_) => ptr(v),
            },
            ArgKind::InBuf(n) | ArgKind::OutBuf(n) => {
                let len = match (kind, ret) {
                    (ArgKind::OutBuf(_), Some(r)) if (r as i64) >= 0 => r as usize,
                    (ArgKind::OutBuf(_), _) => return Some(ptr(v)),
                    _ => args.raw(n) as usize,
                };
                self.peek(v, len).map_or_else(|| ptr(v), |b| quote(&b[..len.min(b.len())], len > MAX_STR))
            }
            ArgKind::InIov(n) => self.format_iov(v, args.raw(n), IovData::All),
            ArgKind::OutIov(n) => match ret {
                Some(r) if (r as i64) >= 0 => self.format_iov(v, args.raw(n), IovData::Filled(r)),
                _ => self.format_iov(v, args.raw(n), IovData::None),
            },
            ArgKind::OutBinary => match ret {
                Some(r) if ok => {
                    let len = r as usize;
                    self.peek(v, len).map_or_else(|| ptr(v), |b| quote_hex(&b[..len.min(b.len())], len > MAX_STR))
                }
                _ => ptr(v),
            },
            ArgKind::Argv => self.format_argv(v),
            ArgKind::Envp => self.format_envp(v),
            ArgKind::InRlimit => self.format_rlimit(v),
            ArgKind::OutRlimit if ok => self.format_rlimit(v),
            ArgKind::OutRlimit => ptr(v),
            ArgKind::OutStat if ok => self.format_stat(v),
            ArgKind::OutStat => ptr(v),
            ArgKind::FcntlArg => match args.raw(1) as u32 as u64 {
                fcntl::F_GETFD
                | fcntl::F_GETFL
                | fcntl::F_GETOWN
                | fcntl::F_GETSIG
                | fcntl::F_GETLEASE
                | fcntl::F_GETPIPE_SZ
                | fcntl::F_GET_SEALS => return None,
                fcntl::F_DUPFD | fcntl::F_DUPFD_CLOEXEC | fcntl::F_SETOWN | fcntl::F_SETPIPE_SZ => (v as i32).to_string(),
                fcntl::F_SETFD => flags(v as u32 as u64, fcntl::FD_FLAG_NAMES),
                fcntl::F_SETFL => open_flags(v as u32 as u64),
                fcntl::F_SETOWN_EX => self.format_owner(v),
                fcntl::F_GETOWN_EX if ok => self.format_owner(v),
                fcntl::F_SETSIG => Signal::new(v).map_or_else(|| (v as i32).to_string(), |s| s.name().to_string()),
                _ => c_hex(v),
            },
            ArgKind::Flags(t) => flags(v, t),
            ArgKind::Enum(t) => named(v, t),
            ArgKind::Prot if v == 0 => "PROT_NONE".into(),
            ArgKind::Prot => flags(v, mman::PROT_NAMES),
            ArgKind::MapFlags => {
                let ty = named(v & mman::MAP_TYPE, mman::MAP_TYPE_NAMES);
                let rest = v & !mman::MAP_TYPE;
                if rest == 0 {
                    ty
                } else {
                    format!("{ty}|{}", flags(rest, mman::MAP_NAMES))
                }
            }
            ArgKind::OpenFlags => open_flags(v),
            ArgKind::Signal => Signal::new(v).map_or_else(|| (v as i32).to_string(), |s| s.name().to_string()),
            ArgKind::Resource => resource::RLIMIT_NAMES.get(v as usize).map_or_else(|| v.to_string(), |n| n.to_string()),
        })
    }

    /// `{type=F_OWNER_TID, pid=0}`.
    fn format_owner(&mut self, va: u64) -> String {
        let Some(b) = self.peek(va, 8).filter(|b| b.len() >= 8) else { return ptr(va) };
        let kind = u32::from_le_bytes(b[..4].try_into().expect("4 bytes")) as u64;
        let pid = i32::from_le_bytes(b[4..8].try_into().expect("4 bytes"));
        format!("{{type={}, pid={pid}}}", named(kind, fcntl::F_OWNER_NAMES))
    }

    /// `{rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}` (strace's sprint_rlim64).
    fn format_rlimit(&mut self, va: u64) -> String {
        if va == 0 {
            return ptr(va);
        }
        let Some(b) = self.peek(va, 16).filter(|b| b.len() >= 16) else { return ptr(va) };
        let cur = u64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
        let max = u64::from_le_bytes(b[8..16].try_into().expect("8 bytes"));
        format!("{{rlim_cur={}, rlim_max={}}}", rlim(cur), rlim(max))
    }

    /// strace's abbreviated `struct stat`: the mode, then the device number of
    /// a device or the size of anything else.
    fn format_stat(&mut self, va: u64) -> String {
        let mut b = [0u8; Stat::SIZE];
        let Some(space) = self.procs.get(&self.current).map(|p| p.space) else { return ptr(va) };
        let (r, u) = self.engine.read_user(space, guest_mm::VirtAddr::new(va), &mut b).split();
        self.pending.absorb(u);
        if r.is_err() {
            return ptr(va);
        }
        let st = Stat::from_bytes(&b);
        let kind = st.mode & stat::S_IFMT;
        let tail = if kind == stat::S_IFCHR || kind == stat::S_IFBLK {
            format!("st_rdev=makedev({}, {})", c_hex(stat::major(st.rdev) as u64), c_hex(stat::minor(st.rdev) as u64))
        } else {
            format!("st_size={}", st.size)
        };
        format!("{{st_mode={}, {tail}, ...}}", mode(st.mode))
    }

    /// "name(arg, arg, ...".
    fn format_call(&mut self, call: &Call, ret: Option<u64>) -> String {
        let entry = table::lookup(call.nr);
        let name = table::name(call.nr).map_or_else(|| format!("syscall_{:#x}", call.nr), str::to_string);
        let mut s = format!("{name}(");
        match entry {
            Some(e) => {
                for (i, arg) in e.args.iter().enumerate() {
                    if i > 0 {
                        s.push_str(", ");
                    }
                    match self.format_arg(arg.kind, call.args.raw(i), &call.args, ret) {
                        Some(a) => s.push_str(&a),
                        None => {
                            s.truncate(s.len() - 2);
                        }
                    }
                }
            }
            None => {
                let raw: Vec<String> = call.args.0.iter().map(|v| format!("{v:#x}")).collect();
                s.push_str(&raw.join(", "));
            }
        }
        s
    }

    fn result_text(nr: u64, args: Option<&Args>, ret: u64) -> String {
        if let Some(e) = Errno::from_return(ret as i64) {
            return if e.is_internal() { format!("? {}", e.name()) } else { format!("-1 {} ({})", e.name(), e.description()) };
        }
        match table::lookup(nr).map_or(RetKind::Int, |e| e.ret) {
            RetKind::Hex => format!("{ret:#x}"),
            RetKind::Never => "?".into(),
            RetKind::Octal => c_octal(ret as u32),
            RetKind::Fcntl => match args.map(|a| a.raw(1) as u32 as u64) {
                Some(fcntl::F_GETFL) => format!("{} (flags {})", c_hex(ret), open_flags(ret)),
                Some(fcntl::F_GETFD) if ret != 0 => format!("{} (flags {})", c_hex(ret), flags(ret, fcntl::FD_FLAG_NAMES)),
                _ => (ret as i64).to_string(),
            },
            RetKind::Int => (ret as i64).to_string(),
        }
    }

    fn prefix(&self, pid: Pid) -> String {
        if self.stats.processes > 1 {
            format!("[pid {pid:>5}] ")
        } else {
            String::new()
        }
    }

    fn emit(&mut self, pid: Pid, line: &str) {
        let prefix = self.prefix(pid);
        if let Some(t) = self.strace.as_mut() {
            let _ = writeln!(t.out, "{prefix}{line}");
        }
    }

    /// A call's line with its result, which strace starts at RESULT_COLUMN
    /// when the call is shorter (counting the pid prefix).
    fn emit_result(&mut self, pid: Pid, head: &str, result: &str) {
        let prefix = self.prefix(pid);
        if let Some(t) = self.strace.as_mut() {
            let _ = writeln!(t.out, "{}", result_line(&prefix, head, result));
        }
    }

    /// The line of a call that just returned (or blocked, or ended the process).
    pub(crate) fn trace_result(&mut self, pid: Pid, mut call: Call, control: &Control, _regs: &kvm_regs) {
        let line = match control {
            Control::Return(v) => {
                let head = match call.head.take() {
                    Some(h) => h,
                    None => self.format_call(&call, Some(*v)),
                };
                return self.emit_result(pid, &format!("{head})"), &Kernel::result_text(call.nr, Some(&call.args), *v));
            }
            // A console read that waits for input runs again when there is
            // some; its line is printed then, once, as strace prints it.
            Control::Block(super::process::Wait::Input | super::process::Wait::Pipe { .. }) => return,
            Control::Block(_) => {
                let head = self.format_call(&call, None);
                if let (Some(t), Some(name)) = (self.strace.as_mut(), table::name(call.nr)) {
                    t.unfinished.insert(pid, name);
                }
                format!("{head} <unfinished ...>")
            }
            Control::Exit(_) => {
                let head = self.format_call(&call, None);
                return self.emit_result(pid, &format!("{head})"), "?");
            }
            Control::Vmm(_) => {
                let head = self.format_call(&call, None);
                return self.emit_result(pid, &format!("{head})"), "<vmm>");
            }
        };
        self.emit(pid, &line);
    }

    /// A blocked call completed: `<... name resumed>) = result`.
    pub(crate) fn trace_resumed(&mut self, pid: Pid, ret: u64) {
        let Some(name) = self.strace.as_mut().and_then(|t| t.unfinished.remove(&pid)) else { return };
        let nr = linux_abi::sysno::number(name).unwrap_or(0);
        self.emit_result(pid, &format!("<... {name} resumed>)"), &Kernel::result_text(nr, None, ret));
    }

    /// A signal about to be handled or to take its default action.
    pub(crate) fn trace_signal(&mut self, pid: Pid, info: &SigInfo) {
        if self.strace.is_none() {
            return;
        }
        let sig = info.signal();
        let code = si::name(sig.number(), info.code).map_or_else(|| info.code.to_string(), str::to_string);
        let mut s = format!("--- {} {{si_signo={}, si_code={code}", sig.name(), sig.name());
        match info.fields {
            SigFields::Fault { addr, .. } => {
                let _ = write!(s, ", si_addr={}", ptr(addr));
            }
            SigFields::Kill { pid, uid } => {
                let _ = write!(s, ", si_pid={pid}, si_uid={uid}");
            }
            SigFields::Child { pid, uid, status } => {
                let _ = write!(s, ", si_pid={pid}, si_uid={uid}, si_status={status}, si_utime=0, si_stime=0");
            }
            SigFields::None | SigFields::Raw(_) => {}
        }
        s.push_str("} ---");
        self.emit(pid, &s);
    }

    /// `+++ exited with N +++`.
    pub(crate) fn trace_exit(&mut self, pid: Pid, status: ExitStatus) {
        if let ExitStatus::Exited(c) = status {
            self.emit(pid, &format!("+++ exited with {} +++", c & 0xff));
        }
    }

    /// `+++ killed by SIG (core dumped) +++`.
    pub(crate) fn trace_signal_exit(&mut self, pid: Pid, info: &SigInfo, core: bool) {
        let line = format!("+++ killed by {}{} +++", info.signal().name(), if core { " (core dumped)" } else { "" });
        self.emit(pid, &line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_and_cut_like_strace() {
        assert_eq!(quote(b"hi\n", false), "\"hi\\n\"");
        assert_eq!(quote(&[0x1b, b'['], false), "\"\\33[\"");
        let long = [b'a'; 40];
        assert_eq!(quote(&long, false), format!("\"{}\"...", "a".repeat(32)));
        assert_eq!(ptr(0), "NULL");
    }

    #[test]
    fn results_start_at_column_40_as_strace_aligns_them() {
        assert_eq!(
            result_line("", "writev(3, 0x8, 1)", "-1 EFAULT (Bad address)"),
            format!("writev(3, 0x8, 1){} = -1 EFAULT (Bad address)", " ".repeat(22))
        );
        assert_eq!(result_line("", "writev(3, 0x8, 1)", "0").find('='), Some(RESULT_COLUMN));
        assert_eq!(result_line("[pid     2] ", "getpid()", "2").find('='), Some(RESULT_COLUMN));
        let long = format!("write(1, \"{}\", 40)", "a".repeat(40));
        assert_eq!(result_line("", &long, "40"), format!("{long} = 40"));
    }

    #[test]
    fn errno_descriptions_are_the_host_libcs_strerror_texts() {
        for n in 1..=133i32 {
            let host = std::io::Error::from_raw_os_error(n).to_string();
            let host = host.trim_end_matches(&format!(" (os error {n})")).to_string();
            match Errno::new(n) {
                Some(e) => assert_eq!(e.description(), host, "errno {n}"),
                None => assert_eq!(host, format!("Unknown error {n}"), "errno {n} exists on the host"),
            }
        }
    }

    #[test]
    fn results_print_errno_names_and_descriptions() {
        assert_eq!(
            Kernel::result_text(linux_abi::sysno::OPEN, None, Errno::ENOENT.as_return() as u64),
            "-1 ENOENT (No such file or directory)"
        );
        assert_eq!(Kernel::result_text(linux_abi::sysno::MMAP, None, 0x7fff_0000), "0x7fff0000");
        assert_eq!(Kernel::result_text(linux_abi::sysno::EXIT_GROUP, None, 0), "?");
    }
}
