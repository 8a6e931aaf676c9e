//! Compiling a parsed scenario into the runner's bytecode.
//!
//! Owns name resolution (bindings are visible after the statement that binds
//! them, within their block; constants have Linux's values), the expansion of
//! `map(...)` for each backing (anon: MAP_PRIVATE|MAP_ANONYMOUS; shmem: a
//! 100-page memfd; file: a 100-page file; both MAP_SHARED, as the Linux
//! guard-regions selftest fixture does), the detection of our extensions
//! (which Linux cannot be compared on), and encoding (bytecode.rs).

use super::bytecode::*;
use super::parser::{Ast, BinOp, Expect, Expr, Stmt};
use super::ScenarioError;
use std::collections::HashMap;

/// The value of a named constant: Linux's (from linux-abi's name tables),
/// plus our extensions and the language's own names.
pub fn constant(name: &str) -> Option<u64> {
    use linux_abi::{fcntl, mman, sched};
    let tables: [&[(u64, &str)]; 14] = [
        mman::PROT_NAMES,
        mman::MAP_TYPE_NAMES,
        mman::MAP_NAMES,
        mman::MADV_NAMES,
        mman::MREMAP_NAMES,
        mman::MS_NAMES,
        mman::MFD_NAMES,
        fcntl::O_ACCMODE_NAMES,
        fcntl::O_NAMES,
        fcntl::F_NAMES,
        fcntl::F_SEAL_NAMES,
        fcntl::FD_FLAG_NAMES,
        fcntl::SEEK_NAMES,
        sched::PIDFD_SELF_NAMES,
    ];
    if let Some(v) = tables.iter().find_map(|t| t.iter().find(|(_, n)| *n == name).map(|(v, _)| *v)) {
        return Some(v);
    }
    Some(match name {
        "PAGE" => mman::PAGE_SIZE,
        "PROT_NONE" => mman::PROT_NONE,
        "MAP_ANON" => mman::MAP_ANONYMOUS,
        "MLOCK_ONFAULT" => mman::MLOCK_ONFAULT,
        "FALLOC_FL_KEEP_SIZE" => fcntl::FALLOC_FL_KEEP_SIZE,
        "FALLOC_FL_PUNCH_HOLE" => fcntl::FALLOC_FL_PUNCH_HOLE,
        "MAP_DONTCOPY" => guest_mm::ops::map::DONTCOPY,
        "MAP_PAGEPROT" => guest_mm::ops::map::PAGEPROT,
        "PAGE_INDEX" => PATTERN_PAGE_INDEX,
        _ => return None,
    })
}

/// Names that are ours, not Linux's: a scenario using them is checked with
/// `vmm scenario` only.
pub const EXTENSION_NAMES: &[&str] = &["MAP_DONTCOPY", "MAP_PAGEPROT", "plug", "unplug", "pgoff"];

/// The fixture object's size, as in the Linux selftest.
pub const FIXTURE_PAGES: u64 = 100;

/// Which stat call a `Kind::Stat` statement is.
#[derive(Copy, Clone, PartialEq, Eq)]
enum StatHow {
    Path,
    NoFollow,
    Fd,
}

#[derive(Copy, Clone)]
enum Kind {
    /// A raw system call: number, argument count range, region-length argument.
    Sys(u16, usize, usize, Option<u8>),
    /// memfd_create(name[, flags]) / unlink(name): a system call with a string.
    StrSys(u16),
    /// process_madvise(pidfd, advice, flags, addr, len, ...): the ranges
    /// become the iovec.
    ProcessMadvise,
    /// repeat N { ... }: the block runs N times.
    Repeat,
    Smaps,
    /// open(path, flags): openat(AT_FDCWD, path, flags, 0).
    Open,
    /// stat(path), lstat(path), fstat(fd): newfstatat with AT_FDCWD and 0,
    /// AT_FDCWD and AT_SYMLINK_NOFOLLOW, or fd, "" and AT_EMPTY_PATH.
    Stat(StatHow),
    Map,
    Read,
    Write,
    Exec,
    Fill,
    Check,
    File,
    Fork,
    Exit,
    Maps,
    Pagemap,
    Pgoff,
    Mincore,
}

fn op(name: &str) -> Option<Kind> {
    Some(match name {
        "mmap" => Kind::Sys(9, 6, 6, Some(1)),
        "mprotect" => Kind::Sys(10, 3, 3, None),
        "munmap" => Kind::Sys(11, 2, 2, None),
        "mremap" => Kind::Sys(25, 4, 5, Some(2)),
        "madvise" => Kind::Sys(28, 3, 3, None),
        "mlock" => Kind::Sys(149, 2, 2, None),
        "munlock" => Kind::Sys(150, 2, 2, None),
        "mlock2" => Kind::Sys(325, 3, 3, None),
        "remap_file_pages" => Kind::Sys(216, 5, 5, None),
        "msync" => Kind::Sys(26, 3, 3, None),
        "mseal" => Kind::Sys(462, 3, 3, None),
        // read(2)/write(2) and friends: the kernel accesses the range.
        "sysread" => Kind::Sys(0, 3, 3, None),
        "syswrite" => Kind::Sys(1, 3, 3, None),
        "pread" => Kind::Sys(17, 4, 4, None),
        "pwrite" => Kind::Sys(18, 4, 4, None),
        "lseek" => Kind::Sys(8, 3, 3, None),
        "fcntl" => Kind::Sys(72, 2, 3, None),
        "pidfd_open" => Kind::Sys(434, 2, 2, None),
        "process_madvise" => Kind::ProcessMadvise,
        "repeat" => Kind::Repeat,
        "smaps" => Kind::Smaps,
        "ftruncate" => Kind::Sys(77, 2, 2, None),
        "fallocate" => Kind::Sys(285, 4, 4, None),
        "close" => Kind::Sys(3, 1, 1, None),
        "getpid" => Kind::Sys(39, 0, 0, None),
        "memfd" => Kind::StrSys(319),
        "open" => Kind::Open,
        "stat" => Kind::Stat(StatHow::Path),
        "lstat" => Kind::Stat(StatHow::NoFollow),
        "fstat" => Kind::Stat(StatHow::Fd),
        // Our extension (vmm/src/kernel/sys_dev.rs): plug(name, size), unplug(name).
        "plug" => Kind::Sys(0x7f00, 2, 2, None),
        "unplug" => Kind::Sys(0x7f01, 1, 1, None),
        "unlink" => Kind::StrSys(87),
        "map" => Kind::Map,
        "read" => Kind::Read,
        "write" => Kind::Write,
        "exec" => Kind::Exec,
        "fill" => Kind::Fill,
        "check" => Kind::Check,
        "file" => Kind::File,
        "fork" => Kind::Fork,
        "exit" => Kind::Exit,
        "maps" => Kind::Maps,
        "pagemap" => Kind::Pagemap,
        "pgoff" => Kind::Pgoff,
        "mincore" => Kind::Mincore,
        _ => return None,
    })
}

/// A compiled program for one backing.
#[derive(Clone, Debug)]
pub struct Compiled {
    pub backing: Option<String>,
    pub bytes: Vec<u8>,
    /// (line, name) of every use of an extension.
    pub extensions: Vec<(u32, String)>,
}

struct C<'a> {
    file: &'a str,
    strings: Vec<Vec<u8>>,
    regs: Vec<String>,
    scopes: Vec<HashMap<String, u8>>,
    ops: Vec<u8>,
    nops: Vec<usize>,
    extensions: Vec<(u32, String)>,
    backing: Option<&'a str>,
    /// How many repeat blocks enclose the statement being compiled.
    repeat_depth: usize,
}

/// The largest repeat count (enough to reach vm.max_map_count, 65530).
pub const MAX_REPEAT: u64 = 200_000;
/// How deeply repeat blocks may nest (the runner collapses each level).
pub const MAX_REPEAT_DEPTH: usize = 3;

/// Evaluates an expression of numbers and constants at compile time, as the
/// runner would (wrapping arithmetic); None if it names a binding or a string.
fn const_eval(e: &Expr) -> Option<u64> {
    Some(match e {
        Expr::Num(v) => *v,
        Expr::Name(n, _, _) => constant(n)?,
        Expr::Str(_) => return None,
        Expr::Bin(op, a, b) => {
            let (a, b) = (const_eval(a)?, const_eval(b)?);
            match op {
                BinOp::Add => a.wrapping_add(b),
                BinOp::Sub => a.wrapping_sub(b),
                BinOp::Mul => a.wrapping_mul(b),
                BinOp::Div => a.checked_div(b).unwrap_or(0),
                BinOp::Or => a | b,
                BinOp::And => a & b,
                BinOp::Shl => a.checked_shl(b as u32).unwrap_or(0),
                BinOp::Shr => a.checked_shr(b as u32).unwrap_or(0),
            }
        }
    })
}

impl<'a> C<'a> {
    fn string(&mut self, s: &str) -> u16 {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        if let Some(i) = self.strings.iter().position(|x| *x == b) {
            return i as u16;
        }
        self.strings.push(b);
        (self.strings.len() - 1) as u16
    }

    fn lookup(&self, name: &str) -> Option<u8> {
        self.scopes.iter().rev().find_map(|s| s.get(name).copied())
    }

    fn bind(&mut self, name: &str, line: u32, col: u32) -> Result<u8, ScenarioError> {
        if constant(name).is_some() || op(name).is_some() {
            return Err(ScenarioError::at(
                self.file,
                line,
                col,
                format!("'{name}' is a constant or an operation, not a name you can bind"),
            ));
        }
        if let Some(r) = self.lookup(name) {
            return Ok(r);
        }
        if self.regs.len() >= MAX_REGS {
            return Err(ScenarioError::at(self.file, line, col, format!("too many names (at most {MAX_REGS})")));
        }
        self.regs.push(name.to_string());
        let r = (self.regs.len() - 1) as u8;
        self.scopes.last_mut().expect("a scope").insert(name.to_string(), r);
        Ok(r)
    }

    fn expr(&mut self, e: &Expr, out: &mut Vec<u8>) -> Result<(), ScenarioError> {
        let mut toks = Vec::new();
        self.rpn(e, &mut toks)?;
        if toks.iter().filter(|t| t.0).count() > MAX_TOKENS {
            return Err(ScenarioError::new(self.file, "expression too long"));
        }
        out.push(toks.iter().filter(|t| t.0).count() as u8);
        for (_, bytes) in toks {
            out.extend_from_slice(&bytes);
        }
        Ok(())
    }

    /// Reverse Polish tokens; (is a token, encoded bytes).
    fn rpn(&mut self, e: &Expr, out: &mut Vec<(bool, Vec<u8>)>) -> Result<(), ScenarioError> {
        match e {
            Expr::Num(v) => out.push((true, [&[T_CONST][..], &v.to_le_bytes()].concat())),
            Expr::Str(s) => {
                let id = self.string(s);
                out.push((true, [&[T_STR][..], &id.to_le_bytes()].concat()));
            }
            Expr::Name(n, line, col) => {
                if let Some(r) = self.lookup(n) {
                    out.push((true, vec![T_REG, r]));
                } else if let Some(v) = constant(n) {
                    if EXTENSION_NAMES.contains(&n.as_str()) {
                        self.extensions.push((*line, n.clone()));
                    }
                    out.push((true, [&[T_CONST][..], &v.to_le_bytes()].concat()));
                } else {
                    return Err(ScenarioError::at(self.file, *line, *col, format!("unknown name '{n}'")));
                }
            }
            Expr::Bin(op, a, b) => {
                self.rpn(a, out)?;
                self.rpn(b, out)?;
                let t = match op {
                    BinOp::Add => T_ADD,
                    BinOp::Sub => T_SUB,
                    BinOp::Mul => T_MUL,
                    BinOp::Div => T_DIV,
                    BinOp::Or => T_OR,
                    BinOp::And => T_AND,
                    BinOp::Shl => T_SHL,
                    BinOp::Shr => T_SHR,
                };
                out.push((true, vec![t]));
            }
        }
        Ok(())
    }

    fn expectation(&mut self, e: &Option<Expect>, out: &mut Vec<u8>) -> Result<(), ScenarioError> {
        match e {
            None => out.push(E_NONE),
            Some(Expect::Ok) => out.push(E_OK),
            Some(Expect::Value(x)) => {
                out.push(E_VALUE);
                self.expr(x, out)?;
            }
            Some(Expect::Errno(n)) => {
                out.push(E_ERRNO);
                out.extend_from_slice(&n.to_le_bytes());
            }
            Some(Expect::Signal(s, c)) => out.extend_from_slice(&[E_SIGNAL, *s, *c]),
        }
        Ok(())
    }

    fn header(&mut self, code: u8, line: u32, bind: u8) {
        self.ops.push(code);
        self.ops.extend_from_slice(&(line.min(u16::MAX as u32) as u16).to_le_bytes());
        self.ops.push(bind);
        *self.nops.last_mut().expect("an op counter") += 1;
    }

    /// Emits a plain system call (used for the fixture prologue too).
    fn sys(
        &mut self,
        line: u32,
        bind: u8,
        nr: u16,
        args: &[Expr],
        region: Option<u8>,
        expect: &Option<Expect>,
    ) -> Result<(), ScenarioError> {
        self.header(OP_SYS, line, bind);
        let mut body = Vec::new();
        body.extend_from_slice(&nr.to_le_bytes());
        body.push(args.len() as u8);
        body.push(region.unwrap_or(0xff));
        for a in args {
            self.expr(a, &mut body)?;
        }
        self.expectation(expect, &mut body)?;
        self.ops.extend_from_slice(&body);
        Ok(())
    }

    fn stmts(&mut self, stmts: &[Stmt]) -> Result<(), ScenarioError> {
        for s in stmts {
            self.stmt(s)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &Stmt) -> Result<(), ScenarioError> {
        let at = |m: String| ScenarioError::at(self.file, s.line, s.col, m);
        let kind = op(&s.call).ok_or_else(|| at(format!("unknown operation '{}'", s.call)))?;
        let argc = s.args.len();
        let need = |lo: usize, hi: usize| -> Result<(), ScenarioError> {
            if argc < lo || argc > hi {
                let n = if lo == hi { format!("{lo}") } else { format!("{lo} to {hi}") };
                return Err(ScenarioError::at(self.file, s.line, s.col, format!("'{}' takes {n} arguments, got {argc}", s.call)));
            }
            Ok(())
        };
        if s.block.is_some() && !matches!(kind, Kind::Fork | Kind::Repeat) {
            return Err(at(format!("only 'fork' and 'repeat' take a block, not '{}'", s.call)));
        }
        if EXTENSION_NAMES.contains(&s.call.as_str()) {
            self.extensions.push((s.line, s.call.clone()));
        }
        // The binding is made after the arguments are compiled (they cannot use it).
        let mut body = Vec::new();
        match kind {
            Kind::Sys(nr, lo, hi, region) => {
                need(lo, hi)?;
                let bind = self.bind_opt(s)?;
                return self.sys(s.line, bind, nr, &s.args, region, &s.expect);
            }
            Kind::StrSys(nr) => {
                // memfd_create takes its flags (MFD_*) second, 0 if left out.
                if nr == 319 {
                    need(1, 2)?;
                } else {
                    need(1, 1)?;
                }
                if !matches!(s.args[0], Expr::Str(_)) {
                    return Err(at(format!("'{}' takes a string", s.call)));
                }
                let args = if nr == 319 {
                    vec![s.args[0].clone(), s.args.get(1).cloned().unwrap_or(Expr::Num(0))]
                } else {
                    vec![s.args[0].clone()]
                };
                let bind = self.bind_opt(s)?;
                return self.sys(s.line, bind, nr, &args, None, &s.expect);
            }
            Kind::Open => {
                need(2, 2)?;
                if !matches!(s.args[0], Expr::Str(_)) {
                    return Err(at("'open' takes a path string first".into()));
                }
                let args = vec![Expr::Num(-100i64 as u64), s.args[0].clone(), s.args[1].clone(), Expr::Num(0)];
                let bind = self.bind_opt(s)?;
                return self.sys(s.line, bind, 257, &args, None, &s.expect);
            }
            Kind::Stat(how) => {
                need(1, 1)?;
                const AT_FDCWD: u64 = -100i64 as u64;
                let (dirfd, path, flags) = match how {
                    StatHow::Fd => (s.args[0].clone(), Expr::Str(String::new()), 0x1000),
                    _ if !matches!(s.args[0], Expr::Str(_)) => return Err(at(format!("'{}' takes a path string", s.call))),
                    StatHow::Path => (Expr::Num(AT_FDCWD), s.args[0].clone(), 0),
                    StatHow::NoFollow => (Expr::Num(AT_FDCWD), s.args[0].clone(), 0x100),
                };
                for e in [&dirfd, &path, &Expr::Num(flags)] {
                    self.expr(e, &mut body)?;
                }
                self.expectation(&s.expect, &mut body)?;
                let bind = self.bind_opt(s)?;
                self.header(OP_STAT, s.line, bind);
                self.ops.extend_from_slice(&body);
                return Ok(());
            }
            Kind::Map => {
                need(2, 5)?;
                let backing = self.backing.ok_or_else(|| at("'map' needs a 'backing' line at the top of the file".into()))?;
                let flags = s.args.get(2).cloned().unwrap_or(Expr::Num(0));
                let addr = s.args.get(3).cloned().unwrap_or(Expr::Num(0));
                let off = s.args.get(4).cloned().unwrap_or(Expr::Num(0));
                let (flags, fd) = match backing {
                    "anon" => (Expr::Bin(BinOp::Or, Box::new(flags), Box::new(Expr::Num(0x22))), Expr::Num(u64::MAX)),
                    _ => (Expr::Bin(BinOp::Or, Box::new(flags), Box::new(Expr::Num(0x01))), Expr::Name("obj".into(), s.line, s.col)),
                };
                let args = vec![addr, s.args[0].clone(), s.args[1].clone(), flags, fd, off];
                let bind = self.bind_opt(s)?;
                return self.sys(s.line, bind, 9, &args, Some(1), &s.expect);
            }
            Kind::Read | Kind::Exec => {
                need(1, 1)?;
                self.expr(&s.args[0], &mut body)?;
            }
            Kind::ProcessMadvise => {
                if !(5..=3 + 2 * MAX_IOV).contains(&argc) || argc.is_multiple_of(2) {
                    return Err(at(format!(
                        "'process_madvise' takes pidfd, advice, flags and 1 to {MAX_IOV} (addr, len) pairs, got {argc} arguments"
                    )));
                }
                let bind = self.bind_opt(s)?;
                self.header(OP_PMADVISE, s.line, bind);
                body.push(((argc - 3) / 2) as u8);
                for a in &s.args {
                    self.expr(a, &mut body)?;
                }
                self.expectation(&s.expect, &mut body)?;
                self.ops.extend_from_slice(&body);
                return Ok(());
            }
            Kind::Repeat => return self.repeat(s),
            Kind::Pagemap | Kind::Pgoff | Kind::Mincore | Kind::Smaps if s.expect.is_some() => {
                return Err(at(format!("'{}' takes no expectation: it prints per-page state, which `vmm diff` compares", s.call)));
            }
            Kind::Maps if s.expect.is_some() => {
                return Err(at("'maps' takes no expectation: it prints the mappings, which `vmm diff` compares".into()));
            }
            Kind::Write | Kind::Pagemap | Kind::Pgoff | Kind::Mincore | Kind::Smaps => {
                need(2, 2)?;
                self.expr(&s.args[0], &mut body)?;
                self.expr(&s.args[1], &mut body)?;
            }
            Kind::Fill | Kind::Check => {
                need(3, 3)?;
                for a in &s.args {
                    self.expr(a, &mut body)?;
                }
            }
            Kind::File => {
                need(2, 3)?;
                let Expr::Str(name) = &s.args[0] else { return Err(at("'file' takes a name string first".into())) };
                let id = self.string(name);
                body.extend_from_slice(&id.to_le_bytes());
                self.expr(&s.args[1], &mut body)?;
                self.expr(s.args.get(2).unwrap_or(&Expr::Num(0)), &mut body)?;
            }
            Kind::Exit => {
                need(1, 1)?;
                self.expr(&s.args[0], &mut body)?;
            }
            Kind::Maps => need(0, 0)?,
            Kind::Fork => {
                need(0, 0)?;
                if self.repeat_depth > 0 {
                    // A child's lines would bypass the iteration being collected.
                    return Err(at("'fork' cannot be used inside a 'repeat' block".into()));
                }
                let Some(block) = &s.block else { return Err(at("'fork' needs a block: fork { ... }".into())) };
                self.header(OP_FORK, s.line, NO_BIND);
                let count_at = self.ops.len();
                self.ops.extend_from_slice(&[0, 0]);
                self.expectation(&s.expect, &mut body)?;
                self.ops.extend_from_slice(&body);
                self.nops.push(0);
                self.scopes.push(HashMap::new());
                self.stmts(block)?;
                self.scopes.pop();
                let n = self.nops.pop().expect("pushed above");
                self.ops[count_at..count_at + 2].copy_from_slice(&(n as u16).to_le_bytes());
                return Ok(());
            }
        }
        let code = match kind {
            Kind::Read => OP_READ,
            Kind::Write => OP_WRITE,
            Kind::Exec => OP_EXEC,
            Kind::Fill => OP_FILL,
            Kind::Check => OP_CHECK,
            Kind::File => OP_FILE,
            Kind::Exit => OP_EXIT,
            Kind::Maps => OP_MAPS,
            Kind::Pagemap => OP_PAGEMAP,
            Kind::Pgoff => OP_PGOFF,
            Kind::Mincore => OP_MINCORE,
            Kind::Smaps => OP_SMAPS,
            _ => unreachable!("handled above"),
        };
        self.expectation(&s.expect, &mut body)?;
        let bind = self.bind_opt(s)?;
        self.header(code, s.line, bind);
        self.ops.extend_from_slice(&body);
        Ok(())
    }

    /// `[i =] repeat N { ... }`: a block run N times, N a constant. Names
    /// first bound inside live in the block; `i` is the iteration (0..N).
    fn repeat(&mut self, s: &Stmt) -> Result<(), ScenarioError> {
        let at = |m: String| ScenarioError::at(self.file, s.line, s.col, m);
        if s.args.len() != 1 {
            return Err(at(format!("'repeat' takes one count, got {}", s.args.len())));
        }
        if s.expect.is_some() {
            return Err(at("'repeat' takes no expectation: put expectations on the statements in its block".into()));
        }
        let Some(block) = &s.block else { return Err(at("'repeat' needs a block: repeat N { ... }".into())) };
        let Some(n) = const_eval(&s.args[0]) else {
            return Err(at("the repeat count must be a constant (numbers and constants, no names)".into()));
        };
        if n == 0 || n > MAX_REPEAT {
            return Err(at(format!("the repeat count must be 1 to {MAX_REPEAT}, got {}", n as i64)));
        }
        if block.is_empty() {
            return Err(at("the repeat block is empty".into()));
        }
        if self.repeat_depth >= MAX_REPEAT_DEPTH {
            return Err(at(format!("repeat blocks nest at most {MAX_REPEAT_DEPTH} deep")));
        }
        self.scopes.push(HashMap::new());
        let bind = self.bind_opt(s)?;
        self.header(OP_REPEAT, s.line, bind);
        let count_at = self.ops.len();
        self.ops.extend_from_slice(&[0, 0]);
        self.ops.extend_from_slice(&(n as u32).to_le_bytes());
        self.nops.push(0);
        self.repeat_depth += 1;
        let r = self.stmts(block);
        self.repeat_depth -= 1;
        self.scopes.pop();
        let nops = self.nops.pop().expect("pushed above");
        r?;
        if nops > u16::MAX as usize {
            return Err(at("the repeat block is too long".into()));
        }
        self.ops[count_at..count_at + 2].copy_from_slice(&(nops as u16).to_le_bytes());
        Ok(())
    }

    fn bind_opt(&mut self, s: &Stmt) -> Result<u8, ScenarioError> {
        match &s.bind {
            Some(n) => self.bind(n, s.line, s.col),
            None => Ok(NO_BIND),
        }
    }
}

/// Compiles `ast` once per backing it lists (once, with no backing, if none).
pub fn compile(ast: &Ast) -> Result<Vec<Compiled>, ScenarioError> {
    let backings: Vec<Option<&str>> =
        if ast.backings.is_empty() { vec![None] } else { ast.backings.iter().map(|b| Some(b.as_str())).collect() };
    let mut out = Vec::new();
    for backing in backings {
        let mut c = C {
            file: &ast.file,
            strings: Vec::new(),
            regs: Vec::new(),
            scopes: vec![HashMap::new()],
            ops: Vec::new(),
            nops: vec![0],
            extensions: Vec::new(),
            backing,
            repeat_depth: 0,
        };
        // The fixture object, as the selftest's FIXTURE_SETUP creates it (line 0).
        if let Some(b @ ("shmem" | "file")) = backing {
            let obj = c.bind("obj", 0, 0)?;
            if b == "shmem" {
                c.sys(0, obj, 319, &[Expr::Str(String::new()), Expr::Num(0)], None, &Some(Expect::Ok))?;
            } else {
                let id = c.string("scenario_test_file");
                c.header(OP_FILE, 0, obj);
                c.ops.extend_from_slice(&id.to_le_bytes());
                let mut body = Vec::new();
                c.expr(&Expr::Num(0), &mut body)?;
                c.expr(&Expr::Num(0), &mut body)?;
                body.push(E_OK);
                c.ops.extend_from_slice(&body);
            }
            let size = Expr::Num(FIXTURE_PAGES * 4096);
            c.sys(0, NO_BIND, 77, &[Expr::Name("obj".into(), 0, 0), size], None, &Some(Expect::Value(Expr::Num(0))))?;
        }
        c.stmts(&ast.stmts)?;
        // Register names live in the string table too, after the program's strings.
        let regs = c.regs.clone();
        let names: Vec<u16> = regs.iter().map(|n| c.string(n)).collect();
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&(c.strings.len() as u16).to_le_bytes());
        for s in &c.strings {
            bytes.extend_from_slice(&(s.len() as u16).to_le_bytes());
            bytes.extend_from_slice(s);
        }
        bytes.push(names.len() as u8);
        for n in names {
            bytes.extend_from_slice(&n.to_le_bytes());
        }
        let total = c.nops[0];
        if total > u16::MAX as usize {
            return Err(ScenarioError::new(&ast.file, "scenario too long"));
        }
        bytes.extend_from_slice(&(total as u16).to_le_bytes());
        bytes.extend_from_slice(&c.ops);
        out.push(Compiled { backing: backing.map(str::to_string), bytes, extensions: c.extensions });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::parser::parse;
    use super::*;

    #[test]
    fn unknown_names_and_operations_are_errors_with_positions() {
        let e = compile(&parse("s", "read(b)\n").unwrap()).unwrap_err();
        assert_eq!((e.line, e.col), (1, 6));
        let e = compile(&parse("s", "\nfrob(1)\n").unwrap()).unwrap_err();
        assert_eq!((e.line, e.col), (2, 1));
        let e = compile(&parse("s", "munmap(1)\n").unwrap()).unwrap_err();
        assert!(e.message.contains("takes 2 arguments"));
        let e = compile(&parse("s", "a = map(PAGE, PROT_READ)\n").unwrap()).unwrap_err();
        assert!(e.message.contains("backing"));
    }

    #[test]
    fn expectations_on_printing_operations_are_refused_not_ignored() {
        for src in ["a = getpid()\npagemap(a, PAGE) = 5\n", "a = getpid()\npgoff(a, PAGE) = 0\n", "maps() = 0\n"] {
            let e = compile(&parse("s", src).unwrap()).unwrap_err();
            assert!(e.message.contains("takes no expectation"), "{src}: {}", e.message);
        }
        assert!(compile(&parse("s", "a = getpid()\npagemap(a, PAGE)\nmaps\n").unwrap()).is_ok());
    }

    #[test]
    fn a_name_bound_in_a_fork_block_stays_in_it() {
        let e = compile(&parse("s", "fork {\n  a = getpid()\n}\nread(a)\n").unwrap()).unwrap_err();
        assert_eq!(e.line, 4);
    }

    #[test]
    fn repeat_counts_must_be_constant_bounded_and_blocks_well_formed() {
        let err = |src: &str| compile(&parse("s", src).unwrap()).unwrap_err();
        for (src, what) in [
            ("repeat 0 {\n  getpid()\n}\n", "1 to 200000"),
            ("repeat 200001 {\n  getpid()\n}\n", "1 to 200000"),
            ("repeat -1 {\n  getpid()\n}\n", "got -1"),
            ("n = getpid()\nrepeat n {\n  getpid()\n}\n", "must be a constant"),
            ("repeat \"x\" {\n  getpid()\n}\n", "must be a constant"),
            ("repeat 3\n", "needs a block"),
            ("repeat 3 {\n}\n", "empty"),
            ("repeat(1, 2) {\n  getpid()\n}\n", "one count"),
            ("repeat 2 {\n  fork {\n    getpid()\n  }\n}\n", "inside a 'repeat'"),
            ("repeat 2 {\n  repeat 2 {\n    repeat 2 {\n      repeat 2 {\n        getpid()\n      }\n    }\n  }\n}\n", "nest at most 3"),
            ("getpid() {\n  getpid()\n}\n", "take a block"),
        ] {
            let e = err(src);
            assert!(e.message.contains(what), "{src:?}: {}", e.message);
            assert!(e.line >= 1, "{src:?}: {e}");
        }
        let e = parse("s", "repeat 2 {\n  getpid()\n} = 0\n");
        assert!(e.is_err() || compile(&e.unwrap()).is_err());
        // PAGE-multiples and constants are fine, with or without parentheses.
        assert!(compile(&parse("s", "i = repeat 2*PAGE/PAGE {\n  getpid()\n}\nrepeat(3) {\n  getpid()\n}\n").unwrap()).is_ok());
    }

    #[test]
    fn names_bound_in_a_repeat_block_stay_in_it_and_outer_names_are_updated() {
        let e = compile(&parse("s", "repeat 2 {\n  a = getpid()\n}\nread(a)\n").unwrap()).unwrap_err();
        assert_eq!(e.line, 4);
        let e = compile(&parse("s", "i = repeat 2 {\n  getpid()\n}\nread(i)\n").unwrap()).unwrap_err();
        assert_eq!(e.line, 4);
        assert!(compile(&parse("s", "a = getpid()\nrepeat 2 {\n  a = getpid()\n}\nread(a)\n").unwrap()).is_ok());
    }

    #[test]
    fn new_calls_check_their_arguments() {
        let err = |src: &str| compile(&parse("s", src).unwrap()).unwrap_err().message;
        assert!(err("process_madvise(PIDFD_SELF, MADV_COLD, 0, 4096)\n").contains("(addr, len) pairs"));
        assert!(err("process_madvise(PIDFD_SELF, MADV_COLD, 0)\n").contains("(addr, len) pairs"));
        let nine = (0..9).map(|_| "1, 1").collect::<Vec<_>>().join(", ");
        assert!(err(&format!("process_madvise(PIDFD_SELF, MADV_COLD, 0, {nine})\n")).contains("1 to 8"));
        assert!(err("memfd(\"a\", 0, 0)\n").contains("1 to 2 arguments"));
        assert!(err("memfd(3)\n").contains("takes a string"));
        assert!(err("sysread(3, 4)\n").contains("takes 3 arguments"));
        assert!(err("smaps(1, 2) = 0\n").contains("takes no expectation"));
        assert!(compile(&parse("s", "m = memfd(\"a\", MFD_CLOEXEC|MFD_ALLOW_SEALING)\nfcntl(m, F_ADD_SEALS, F_SEAL_WRITE|F_SEAL_SEAL)\nlseek(m, 0, SEEK_END)\nprocess_madvise(PIDFD_SELF_PROCESS, MADV_COLD, 0, 0, 1, 4096, 1)\n").unwrap()).is_ok());
        assert_eq!(constant("PIDFD_SELF_THREAD_GROUP"), Some(-10001i64 as u64));
        assert_eq!(constant("F_SEAL_FUTURE_WRITE"), Some(0x10));
    }

    #[test]
    fn backings_expand_and_extensions_are_noticed() {
        let ast = parse("s", "backing anon shmem file\na = map(2*PAGE, PROT_READ, MAP_DONTCOPY)\n").unwrap();
        let c = compile(&ast).unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].extensions, vec![(2, "MAP_DONTCOPY".to_string())]);
        assert!(c.iter().all(|p| &p.bytes[..4] == MAGIC));
    }
}
