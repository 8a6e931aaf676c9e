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

/// A call being traced: its number and arguments as they came.
pub struct Call {
    nr: u64,
    args: Args,
}

impl Call {
    pub fn enter(_: &Kernel, nr: u64, args: Args) -> Call {
        Call { nr, args }
    }
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

fn named(v: u64, table: &'static [(u64, &'static str)]) -> String {
    linux_abi::lookup(v, table).map_or_else(|| format!("{v:#x}"), str::to_string)
}

impl Kernel {
    /// Reads up to MAX_STR bytes of user memory for a trace line.
    fn peek(&mut self, va: u64, len: usize) -> Option<Vec<u8>> {
        let mut b = vec![0u8; len.min(MAX_STR + 1)];
        let space = self.procs.get(&self.current)?.space;
        let (r, u) = self.engine.read_user(space, guest_mm::VirtAddr::new(va), &mut b).split();
        self.pending.absorb(u);
        r.ok().map(|_| b)
    }

    fn format_arg(&mut self, kind: ArgKind, v: u64, args: &Args, ret: Option<u64>) -> String {
        match kind {
            ArgKind::Fd if v as i32 as i64 == fcntl::AT_FDCWD => "AT_FDCWD".into(),
            ArgKind::Fd | ArgKind::Int => (v as i32).to_string(),
            ArgKind::Ulong => v.to_string(),
            ArgKind::Long => (v as i64).to_string(),
            ArgKind::Hex => format!("{v:#x}"),
            ArgKind::Octal => format!("{:#o}", v as u32),
            ArgKind::Ptr => ptr(v),
            ArgKind::Str => match super::syscalls::read_cstr(self, v, MAX_STR + 1) {
                Ok(b) => quote(&b, false),
                Err(Errno::ENAMETOOLONG) => self.peek(v, MAX_STR).map_or_else(|| ptr(v), |b| quote(&b, true)),
                Err(_) => ptr(v),
            },
            ArgKind::InBuf(n) | ArgKind::OutBuf(n) => {
                let len = match (kind, ret) {
                    (ArgKind::OutBuf(_), Some(r)) if (r as i64) >= 0 => r as usize,
                    (ArgKind::OutBuf(_), _) => return ptr(v),
                    _ => args.raw(n) as usize,
                };
                self.peek(v, len).map_or_else(|| ptr(v), |b| quote(&b[..len.min(b.len())], len > MAX_STR))
            }
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
            ArgKind::OpenFlags => {
                let acc = named(v & fcntl::O_ACCMODE, fcntl::O_ACCMODE_NAMES);
                let rest = v & !fcntl::O_ACCMODE;
                if rest == 0 {
                    acc
                } else {
                    format!("{acc}|{}", flags(rest, fcntl::O_NAMES))
                }
            }
            ArgKind::Signal => Signal::new(v).map_or_else(|| (v as i32).to_string(), |s| s.name().to_string()),
            ArgKind::Resource => resource::RLIMIT_NAMES.get(v as usize).map_or_else(|| v.to_string(), |n| n.to_string()),
        }
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
                    let a = self.format_arg(arg.kind, call.args.raw(i), &call.args, ret);
                    s.push_str(&a);
                }
            }
            None => {
                let raw: Vec<String> = call.args.0.iter().map(|v| format!("{v:#x}")).collect();
                s.push_str(&raw.join(", "));
            }
        }
        s
    }

    fn result_text(nr: u64, ret: u64) -> String {
        if let Some(e) = Errno::from_return(ret as i64) {
            return if e.is_internal() { format!("? {}", e.name()) } else { format!("-1 {} ({})", e.name(), e.description()) };
        }
        match table::lookup(nr).map_or(RetKind::Int, |e| e.ret) {
            RetKind::Hex => format!("{ret:#x}"),
            RetKind::Never => "?".into(),
            RetKind::Int => (ret as i64).to_string(),
        }
    }

    fn emit(&mut self, pid: Pid, line: &str) {
        let multi = self.stats.processes > 1;
        if let Some(t) = self.strace.as_mut() {
            let _ = if multi { writeln!(t.out, "[pid {pid:>5}] {line}") } else { writeln!(t.out, "{line}") };
        }
    }

    /// The line of a call that just returned (or blocked, or ended the process).
    pub(crate) fn trace_result(&mut self, pid: Pid, call: Call, control: &Control, _regs: &kvm_regs) {
        let line = match control {
            Control::Return(v) => {
                let head = self.format_call(&call, Some(*v));
                format!("{head}) = {}", Kernel::result_text(call.nr, *v))
            }
            Control::Block(_) => {
                let head = self.format_call(&call, None);
                if let (Some(t), Some(name)) = (self.strace.as_mut(), table::name(call.nr)) {
                    t.unfinished.insert(pid, name);
                }
                format!("{head} <unfinished ...>")
            }
            Control::Exit(_) => format!("{}) = ?", self.format_call(&call, None)),
            Control::Vmm(_) => format!("{}) = <vmm>", self.format_call(&call, None)),
        };
        self.emit(pid, &line);
    }

    /// A blocked call completed: `<... name resumed>) = result`.
    pub(crate) fn trace_resumed(&mut self, pid: Pid, ret: u64) {
        let Some(name) = self.strace.as_mut().and_then(|t| t.unfinished.remove(&pid)) else { return };
        let nr = linux_abi::sysno::number(name).unwrap_or(0);
        let line = format!("<... {name} resumed>) = {}", Kernel::result_text(nr, ret));
        self.emit(pid, &line);
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
    fn results_print_errno_names_and_descriptions() {
        assert_eq!(Kernel::result_text(linux_abi::sysno::OPEN, Errno::ENOENT.as_return() as u64), "-1 ENOENT (No such file or directory)");
        assert_eq!(Kernel::result_text(linux_abi::sysno::MMAP, 0x7fff_0000), "0x7fff0000");
        assert_eq!(Kernel::result_text(linux_abi::sysno::EXIT_GROUP, 0), "?");
    }
}
