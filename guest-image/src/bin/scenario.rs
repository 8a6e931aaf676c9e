//! `scenario FILE`: runs a compiled scenario (see `vmm scenario`) and prints its trace.
//!
//! The same static executable runs in the microVM (against the engine) and
//! natively on the host (against Linux), so the two traces differ only where
//! the kernels do. Every operation is real: system calls through `syscall`,
//! probes as real loads, stores and instruction fetches, faults caught by the
//! probe handler. Output is one line per operation, `L<line> <outcome>`, with
//! addresses printed relative to the regions the scenario named (`a+0x3000`),
//! so traces from different address-space layouts compare equal. Natively the
//! runner first drops its capabilities and turns THP off, so Linux behaves as
//! for an unprivileged process with base pages, which is the engine's model.
#![no_std]
#![no_main]

use core::fmt::Write;
use ulib::probe::{self, Fault};
use ulib::scenario::bytecode::*;
use ulib::scenario::collect::{self, depth, flush_all, out_at, MAX_COLLECT};
use ulib::scenario::lines::{for_each_line, parse_range};
use ulib::{sys, Args};

const PROGRAM_MAX: usize = 256 * 1024;
const MAX_REGIONS: usize = 128;
const MAX_STRINGS: usize = 256;
const PAGE: u64 = 4096;
/// Pseudo-register of the fence region (see `fence`).
const FENCE_REG: u8 = 0xfe;
const FENCE_PAGES: u64 = 16;

static mut PROGRAM: [u8; PROGRAM_MAX] = [0; PROGRAM_MAX];
/// VMAs the runner makes the process have before the first statement (see
/// `pad_vmas`), so that vm.max_map_count is reached at the same statement.
const PAD_VMAS: usize = 32;
/// Where the padding VMAs go: far below the mmap area, above the program.
const PAD_BASE: u64 = 0x2000_0000;

/// One output line, written with a single write(2) so that a forked child's
/// lines and the parent's never interleave mid-line.
struct Line {
    buf: [u8; 1024],
    len: usize,
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let b = s.as_bytes();
        let n = b.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&b[..n]);
        self.len += n;
        Ok(())
    }
}

impl Line {
    fn new() -> Self {
        Line { buf: [0; 1024], len: 0 }
    }
    fn emit(mut self) {
        let _ = self.write_str("\n");
        out_at(depth(), &self.buf[..self.len]);
    }
}

#[derive(Copy, Clone)]
struct Region {
    reg: u8,
    base: u64,
    len: u64,
}

struct Runner<'a> {
    prog: &'a [u8],
    strings: [(usize, usize); MAX_STRINGS],
    names: [u16; MAX_REGS],
    regs: [u64; MAX_REGS],
    regions: [Region; MAX_REGIONS],
    nregions: usize,
    failures: u32,
}

fn errno_name(e: i64) -> &'static str {
    i32::try_from(e).ok().and_then(linux_abi::Errno::new).map_or("E?", |e| e.name())
}

impl<'a> Runner<'a> {
    fn string(&self, id: u16) -> &'a [u8] {
        let (o, n) = self.strings.get(id as usize).copied().unwrap_or((0, 0));
        &self.prog[o..o + n]
    }

    fn name(&self, reg: u8) -> &'a str {
        if reg == FENCE_REG {
            return "fence";
        }
        let s = self.string(*self.names.get(reg as usize).unwrap_or(&0));
        core::str::from_utf8(s.strip_suffix(&[0]).unwrap_or(s)).unwrap_or("?")
    }

    /// The most recent region containing `v` (with `end`, the one ending at it).
    fn region_of(&self, v: u64, end: bool) -> Option<Region> {
        self.regions[..self.nregions].iter().rev().copied().find(|r| {
            if end {
                v > r.base && v <= r.base + r.len
            } else {
                v >= r.base && v < r.base + r.len
            }
        })
    }

    fn addr(&self, l: &mut Line, v: u64, end: bool) {
        match self.region_of(v, end) {
            Some(r) => {
                let _ = write!(l, "{}+{:#x}", self.name(r.reg), v - r.base);
            }
            None if v == 0 => {
                let _ = write!(l, "0");
            }
            None => {
                let _ = write!(l, "{v:#x}");
            }
        }
    }

    /// A syscall result: -ERRNO, a small number, or an address.
    fn value(&self, l: &mut Line, v: u64) {
        let s = v as i64;
        if (-4095..0).contains(&s) {
            let _ = write!(l, "-{}", errno_name(-s));
        } else if v < 0x1_0000 {
            let _ = write!(l, "{v}");
        } else {
            self.addr(l, v, false);
        }
    }

    fn fault(&self, l: &mut Line, f: Fault) {
        let _ = write!(l, "{}/{} @", signal_name(f.signo), code_name(f.signo, f.code));
        self.addr(l, f.addr, false);
    }

    fn expr(&self, r: &mut Reader) -> Result<u64, Malformed> {
        let n = r.u8()? as usize;
        let mut stack = [0u64; MAX_TOKENS];
        let mut sp = 0usize;
        for _ in 0..n.min(MAX_TOKENS) {
            let t = r.u8()?;
            let v = match t {
                T_CONST => r.u64()?,
                T_REG => *self.regs.get(r.u8()? as usize).ok_or(Malformed(r.pos))?,
                T_STR => {
                    let id = r.u16()?;
                    let (o, _) = *self.strings.get(id as usize).ok_or(Malformed(r.pos))?;
                    self.prog.as_ptr() as u64 + o as u64
                }
                op => {
                    if sp < 2 {
                        return Err(Malformed(r.pos));
                    }
                    let (a, b) = (stack[sp - 2], stack[sp - 1]);
                    sp -= 2;
                    match op {
                        T_ADD => a.wrapping_add(b),
                        T_SUB => a.wrapping_sub(b),
                        T_MUL => a.wrapping_mul(b),
                        T_DIV => a.checked_div(b).unwrap_or(0),
                        T_OR => a | b,
                        T_AND => a & b,
                        T_SHL => a.checked_shl(b as u32).unwrap_or(0),
                        T_SHR => a.checked_shr(b as u32).unwrap_or(0),
                        _ => return Err(Malformed(r.pos)),
                    }
                }
            };
            if sp >= MAX_TOKENS {
                return Err(Malformed(r.pos));
            }
            stack[sp] = v;
            sp += 1;
        }
        if sp != 1 {
            return Err(Malformed(r.pos));
        }
        Ok(stack[0])
    }

    /// Reads an expectation; returns (kind, value, errno, signo, code).
    fn expect(&self, r: &mut Reader) -> Result<(u8, u64, u16, u8, u8), Malformed> {
        let kind = r.u8()?;
        Ok(match kind {
            E_NONE => (kind, 0, 0, 0, 0),
            E_VALUE => (kind, self.expr(r)?, 0, 0, 0),
            E_ERRNO => (kind, 0, r.u16()?, 0, 0),
            E_SIGNAL => (kind, 0, 0, r.u8()?, r.u8()?),
            E_OK => (kind, 0, 0, 0, 0),
            _ => return Err(Malformed(r.pos)),
        })
    }

    fn check(&mut self, l: &mut Line, e: (u8, u64, u16, u8, u8), ret: Option<u64>, fault: Option<Fault>) {
        self.check_as(l, e, ret, fault, false)
    }

    /// `byte`: the result is a byte read from memory (printed as 0xNN).
    fn check_as(&mut self, l: &mut Line, e: (u8, u64, u16, u8, u8), ret: Option<u64>, fault: Option<Fault>, byte: bool) {
        let ok = match e.0 {
            E_NONE => true,
            E_VALUE => fault.is_none() && ret == Some(e.1),
            E_ERRNO => fault.is_none() && ret == Some((e.2 as u64).wrapping_neg()),
            E_SIGNAL => fault.is_some_and(|f| f.signo == e.3 as i32 && f.code == e.4 as i32),
            E_OK => fault.is_none() && ret.is_some_and(|v| !(-4095..0).contains(&(v as i64))),
            _ => false,
        };
        if !ok {
            self.failures += 1;
            let _ = write!(l, " !! expected ");
            match e.0 {
                E_VALUE if byte => {
                    let _ = write!(l, "{:#04x}", e.1);
                }
                E_VALUE => self.value(l, e.1),
                E_ERRNO => {
                    let _ = write!(l, "-{}", errno_name(e.2 as i64));
                }
                E_SIGNAL => {
                    let _ = write!(l, "{}/{}", signal_name(e.3 as i32), code_name(e.3 as i32, e.4 as i32));
                }
                E_OK => {
                    let _ = write!(l, "ok");
                }
                _ => {}
            }
        }
    }

    fn bind(&mut self, bind: u8, v: u64) {
        if let Some(r) = self.regs.get_mut(bind as usize) {
            *r = v;
        }
    }

    fn add_region(&mut self, reg: u8, base: u64, len: u64) {
        if self.nregions == MAX_REGIONS {
            self.regions.copy_within(1.., 0);
            self.nregions -= 1;
        }
        self.regions[self.nregions] = Region { reg, base, len: (len + PAGE - 1) & !(PAGE - 1) };
        self.nregions += 1;
    }

    /// Runs ops `[from, to)` (indexes into the op list, starting at `r.pos`).
    fn run(&mut self, r: &mut Reader, count: usize) -> Result<(), Malformed> {
        let mut done = 0;
        while done < count {
            let code = r.u8()?;
            let line = r.u16()?;
            let bind = r.u8()?;
            let mut l = Line::new();
            let _ = write!(l, "L{line} ");
            done += 1;
            match code {
                OP_SYS => {
                    let nr = r.u16()?;
                    let nargs = r.u8()? as usize;
                    let region_arg = r.u8()?;
                    let mut a = [0u64; 6];
                    for slot in a.iter_mut().take(nargs.min(6)) {
                        *slot = self.expr(r)?;
                    }
                    let e = self.expect(r)?;
                    // SAFETY: arbitrary system calls are the point of a scenario;
                    // memory they name belongs to the scenario's own mappings.
                    let ret = unsafe {
                        sys::syscall6(nr as usize, a[0] as usize, a[1] as usize, a[2] as usize, a[3] as usize, a[4] as usize, a[5] as usize)
                    } as u64;
                    if bind != NO_BIND && (ret as i64) >= 0 {
                        self.bind(bind, ret);
                        if let Some(len) = a.get(region_arg as usize) {
                            self.add_region(bind, ret, *len);
                        }
                    }
                    let _ = write!(l, "= ");
                    if nr as usize == sys::SYS_GETPID && (ret as i64) > 0 {
                        // Process ids differ between the worlds (1 in the
                        // microVM): the value is bound, not printed.
                        let _ = write!(l, "pid");
                    } else {
                        self.value(&mut l, ret);
                    }
                    self.check(&mut l, e, Some(ret), None);
                }
                OP_READ | OP_EXEC => {
                    let addr = self.expr(r)?;
                    let e = self.expect(r)?;
                    let res = if code == OP_READ { probe::load(addr).map(|v| v as u64) } else { probe::exec(addr).map(|_| 0) };
                    match res {
                        Ok(v) => {
                            if code == OP_READ {
                                let _ = write!(l, "= {v:#04x}");
                                if bind != NO_BIND {
                                    self.bind(bind, v);
                                }
                            } else {
                                let _ = write!(l, "ok");
                            }
                            self.check_as(&mut l, e, Some(v), None, code == OP_READ);
                        }
                        Err(f) => {
                            self.fault(&mut l, f);
                            self.check(&mut l, e, None, Some(f));
                        }
                    }
                }
                OP_WRITE => {
                    let addr = self.expr(r)?;
                    let v = self.expr(r)?;
                    let e = self.expect(r)?;
                    match probe::store(addr, v as u8) {
                        Ok(()) => {
                            let _ = write!(l, "ok");
                            self.check(&mut l, e, Some(0), None);
                        }
                        Err(f) => {
                            self.fault(&mut l, f);
                            self.check(&mut l, e, None, Some(f));
                        }
                    }
                }
                OP_FILL | OP_CHECK => {
                    let (addr, len, byte) = (self.expr(r)?, self.expr(r)?, self.expr(r)? as u8);
                    let e = self.expect(r)?;
                    let res = if code == OP_FILL { fill(addr, len, byte) } else { check_range(addr, len, byte) };
                    match res {
                        Ok(None) => {
                            let _ = write!(l, "ok");
                            self.check(&mut l, e, Some(0), None);
                        }
                        Ok(Some((at, got))) => {
                            let _ = write!(l, "mismatch @");
                            self.addr(&mut l, at, false);
                            let _ = write!(l, " = {got:#04x}");
                            self.check(&mut l, e, Some(1), None);
                        }
                        Err(f) => {
                            self.fault(&mut l, f);
                            self.check(&mut l, e, None, Some(f));
                        }
                    }
                }
                OP_FILE => {
                    let name = r.u16()?;
                    let pages = self.expr(r)?;
                    let pattern = self.expr(r)?;
                    let e = self.expect(r)?;
                    let fd = make_file(self.string(name), pages, pattern);
                    if bind != NO_BIND && fd >= 0 {
                        self.bind(bind, fd as u64);
                    }
                    let _ = write!(l, "= ");
                    self.value(&mut l, fd as u64);
                    self.check(&mut l, e, Some(fd as u64), None);
                }
                OP_FORK => {
                    let n = r.u16()? as usize;
                    let e = self.expect(r)?;
                    let pid = sys::fork();
                    if pid == 0 {
                        let _ = self.run(r, n);
                        let mut end = Line::new();
                        let _ = write!(end, "L{line} child done, {} failed", self.failures);
                        end.emit();
                        sys::exit(if self.failures > 0 { 1 } else { 0 });
                    }
                    // Skip the child's block in the parent.
                    self.skip(r, n)?;
                    if pid < 0 {
                        let _ = write!(l, "fork = ");
                        self.value(&mut l, pid as u64);
                    } else {
                        let (_, status) = sys::wait(pid);
                        if status & 0x7f == 0 {
                            let _ = write!(l, "child exited {}", (status >> 8) & 0xff);
                        } else {
                            let _ = write!(l, "child killed by {}", signal_name(status & 0x7f));
                        }
                        self.check(&mut l, e, Some(((status >> 8) & 0xff) as u64), None);
                    }
                }
                OP_EXIT => {
                    let c = self.expr(r)?;
                    let _ = self.expect(r)?;
                    let _ = write!(l, "exit {c}");
                    l.emit();
                    flush_all();
                    sys::exit(c as i32);
                }
                OP_REPEAT => {
                    let n = r.u16()? as usize;
                    let count = r.u16()? as u32 | (r.u16()? as u32) << 16;
                    let level = depth();
                    if level >= MAX_COLLECT {
                        return Err(Malformed(r.pos));
                    }
                    let start = r.pos;
                    collect::begin(level, line);
                    for i in 0..count {
                        r.pos = start;
                        collect::set_iteration(level, i);
                        self.bind(bind, i as u64);
                        let res = self.run(r, n);
                        collect::end_iteration(level);
                        res?;
                    }
                    collect::end(level);
                    if count == 0 {
                        self.skip(r, n)?;
                    }
                    continue;
                }
                OP_PMADVISE => {
                    let npairs = (r.u8()? as usize).min(MAX_IOV);
                    let (pidfd, advice, flags) = (self.expr(r)?, self.expr(r)?, self.expr(r)?);
                    let mut iov = [(0u64, 0u64); MAX_IOV];
                    for slot in iov.iter_mut().take(npairs) {
                        *slot = (self.expr(r)?, self.expr(r)?);
                    }
                    let e = self.expect(r)?;
                    // SAFETY: the iovec is a local the kernel only reads.
                    let ret =
                        unsafe { sys::syscall6(440, pidfd as usize, iov.as_ptr() as usize, npairs, advice as usize, flags as usize, 0) }
                            as u64;
                    if (ret as i64) >= 0 {
                        self.bind(bind, ret);
                    }
                    let _ = write!(l, "= ");
                    self.value(&mut l, ret);
                    self.check(&mut l, e, Some(ret), None);
                }
                OP_STAT => {
                    let (dirfd, path, flags) = (self.expr(r)?, self.expr(r)?, self.expr(r)?);
                    let e = self.expect(r)?;
                    let mut st = [0u8; 144];
                    // SAFETY: the kernel writes struct stat (144 bytes on
                    // x86-64) into the local buffer and reads the path.
                    let ret =
                        unsafe { sys::syscall6(262, dirfd as usize, path as usize, st.as_mut_ptr() as usize, flags as usize, 0, 0) } as u64;
                    let _ = write!(l, "= ");
                    self.value(&mut l, ret);
                    if ret == 0 {
                        let word = |at: usize, n: usize| st[at..at + n].iter().rev().fold(0u64, |v, b| v << 8 | *b as u64);
                        let (nlink, mode, size) = (word(16, 8), word(24, 4) as u32, word(48, 8));
                        let kind = match mode & 0o170000 {
                            0o100000 => "reg",
                            0o040000 => "dir",
                            0o120000 => "lnk",
                            0o020000 => "chr",
                            0o060000 => "blk",
                            0o010000 => "fifo",
                            0o140000 => "sock",
                            _ => "?",
                        };
                        let _ = write!(l, " {kind} {:o} size {size} nlink {nlink}", mode & 0o7777);
                    }
                    self.check(&mut l, e, Some(ret), None);
                }
                OP_SMAPS => {
                    let (addr, len) = (self.expr(r)?, self.expr(r)?);
                    let _ = self.expect(r)?;
                    let _ = write!(l, "smaps");
                    l.emit();
                    self.smaps(line, addr, len);
                    continue;
                }
                OP_MAPS => {
                    let _ = self.expect(r)?;
                    let _ = write!(l, "maps");
                    l.emit();
                    self.maps(line);
                    continue;
                }
                OP_PAGEMAP => {
                    let (addr, len) = (self.expr(r)?, self.expr(r)?);
                    let _ = self.expect(r)?;
                    let _ = write!(l, "pagemap ");
                    self.addr(&mut l, addr, false);
                    let _ = write!(l, ":");
                    pagemap(&mut l, addr, len);
                }
                OP_PGOFF => {
                    let (addr, len) = (self.expr(r)?, self.expr(r)?);
                    let _ = self.expect(r)?;
                    let _ = write!(l, "pgoff ");
                    self.addr(&mut l, addr, false);
                    let _ = write!(l, ":");
                    pgoffs(&mut l, addr, len);
                }
                OP_MINCORE => {
                    let (addr, len) = (self.expr(r)?, self.expr(r)?);
                    let _ = self.expect(r)?;
                    let _ = write!(l, "mincore ");
                    self.addr(&mut l, addr, false);
                    let _ = write!(l, ":");
                    mincore(&mut l, addr, len);
                }
                _ => return Err(Malformed(r.pos)),
            }
            l.emit();
        }
        Ok(())
    }

    /// Decodes `count` ops without running them (the parent's side of a fork block).
    fn skip(&mut self, r: &mut Reader, count: usize) -> Result<(), Malformed> {
        for _ in 0..count {
            let code = r.u8()?;
            r.u16()?;
            r.u8()?;
            let exprs = match code {
                OP_SYS => {
                    r.u16()?;
                    let n = r.u8()?;
                    r.u8()?;
                    n as usize
                }
                OP_READ | OP_EXEC | OP_EXIT => 1,
                OP_WRITE | OP_PAGEMAP | OP_PGOFF | OP_MINCORE => 2,
                OP_FILL | OP_CHECK | OP_STAT => 3,
                OP_FILE => {
                    r.u16()?;
                    2
                }
                OP_FORK => {
                    let n = r.u16()? as usize;
                    self.expect(r)?;
                    self.skip(r, n)?;
                    continue;
                }
                OP_MAPS => 0,
                OP_SMAPS => 2,
                OP_PMADVISE => 3 + 2 * (r.u8()? as usize).min(MAX_IOV),
                OP_REPEAT => {
                    let n = r.u16()? as usize;
                    r.u16()?;
                    r.u16()?;
                    self.skip(r, n)?;
                    continue;
                }
                _ => return Err(Malformed(r.pos)),
            };
            for _ in 0..exprs {
                let n = r.u8()?;
                for _ in 0..n {
                    match r.u8()? {
                        T_CONST => {
                            r.u64()?;
                        }
                        T_REG => {
                            r.u8()?;
                        }
                        T_STR => {
                            r.u16()?;
                        }
                        _ => {}
                    }
                }
            }
            // Expectations carry expressions too.
            match r.u8()? {
                E_VALUE => {
                    let n = r.u8()?;
                    for _ in 0..n {
                        match r.u8()? {
                            T_CONST => {
                                r.u64()?;
                            }
                            T_REG => {
                                r.u8()?;
                            }
                            T_STR => {
                                r.u16()?;
                            }
                            _ => {}
                        }
                    }
                }
                E_ERRNO => {
                    r.u16()?;
                }
                E_SIGNAL => {
                    r.u16()?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Maps a PROT_NONE fence at the top of the mmap area before anything
    /// else, ending on a 2 MiB boundary. Linux 6.18 puts [vvar] and [vdso]
    /// there; the guest has no vDSO. With the fence first in both worlds the
    /// scenario's own mappings sit below the same neighbour, at the same
    /// offsets within their page tables (fault-around windows depend on it).
    fn fence(&mut self) {
        const TWO_MB: u64 = 2 << 20;
        // Not a multiple of 2 MiB: Linux aligns such anonymous requests to
        // huge pages and would leave a padding gap above the fence.
        let span = 2 * TWO_MB + PAGE;
        // SAFETY: fresh mappings chosen by the kernel, then trimmed.
        unsafe {
            let x = sys::mmap(0, span as usize, sys::PROT_NONE, sys::MAP_PRIVATE | sys::MAP_ANONYMOUS, -1, 0);
            if x <= 0 {
                return;
            }
            let x = x as u64;
            let top = (x + span) & !(TWO_MB - 1);
            let lo = top - FENCE_PAGES * PAGE;
            // Above the boundary: a different protection keeps it a separate,
            // unnamed VMA that maps lines never show.
            if x + span > top {
                sys::mprotect(top as usize, (x + span - top) as usize, sys::PROT_READ);
            }
            sys::munmap(x as usize, (lo - x) as usize);
            self.add_region(FENCE_REG, lo, FENCE_PAGES * PAGE);
        }
    }

    /// Whether `[start, end)` overlaps a named region.
    fn overlaps_region(&self, start: u64, end: u64) -> bool {
        self.regions[..self.nregions].iter().any(|r| start < r.base + r.len && r.base < end)
    }

    /// Prints the mappings of /proc/self/maps that overlap a named region.
    fn maps(&self, line: u16) {
        for_each_line(c"/proc/self/maps", |raw| {
            let Ok(s) = core::str::from_utf8(raw) else { return };
            let mut f = s.split_whitespace();
            let (Some(range), Some(perms), Some(off), Some(_dev), Some(inode)) = (f.next(), f.next(), f.next(), f.next(), f.next()) else {
                return;
            };
            let path = f.next().unwrap_or("");
            let Some((start, end)) = parse_range(range) else { return };
            let Ok(off) = u64::from_str_radix(off, 16) else { return };
            if !self.overlaps_region(start, end) {
                return;
            }
            let mut l = Line::new();
            let _ = write!(l, "L{line}   ");
            self.addr(&mut l, start, false);
            let _ = write!(l, "-");
            self.addr(&mut l, end, true);
            let _ = write!(l, " {perms} ");
            let kind = if inode == "0" && path.is_empty() {
                "anon"
            } else if path.starts_with("/dev/zero") || path.starts_with("/SYSV") {
                "shared-anon"
            } else if let Some(m) = path.strip_prefix("/memfd:") {
                let _ = write!(l, "memfd:{} off {off:#x}", m.split(" (deleted)").next().unwrap_or(""));
                ""
            } else {
                let base = path.rsplit('/').next().unwrap_or(path);
                let _ = write!(l, "file:{} off {off:#x}", base.split(" (deleted)").next().unwrap_or(""));
                ""
            };
            let _ = write!(l, "{kind}");
            l.emit();
        });
    }

    /// Prints, for each VMA of /proc/self/smaps overlapping `[addr,
    /// addr+len)`, the fields whose values are deterministic (sizes in kB):
    /// Size Rss Pss Shared (Shared_Clean + Shared_Dirty) Private
    /// (Private_Clean + Private_Dirty) Anonymous Swap Locked, and the
    /// VmFlags. Left out: LazyFree (Linux marks a MADV_FREE'd page lazyfree
    /// when its CPU's LRU batch drains, lru_lazyfree_fn, so when smaps first
    /// counts it depends on batching), Referenced (accessed bits: the MMU's, aged by
    /// reclaim and cleared in a forked child), the clean/dirty split and
    /// Pss_Dirty (a page-cache page dirtied by write(2) is dirty in Linux's
    /// folio, which the engine does not track per page), and what a base-page
    /// kernel without swap always prints as 0 (THP, hugetlb, KSM, SwapPss).
    fn smaps(&self, line: u16, addr: u64, len: u64) {
        const FIELDS: [&str; 11] = [
            "Size",
            "Rss",
            "Pss",
            "Shared_Clean",
            "Shared_Dirty",
            "Private_Clean",
            "Private_Dirty",
            "Anonymous",
            "LazyFree",
            "Swap",
            "Locked",
        ];
        let end = addr.saturating_add(len.max(1));
        let mut cur: Option<(u64, u64)> = None;
        let mut vals = [0u64; FIELDS.len()];
        for_each_line(c"/proc/self/smaps", |raw| {
            let Ok(s) = core::str::from_utf8(raw) else { return };
            if let Some(range) = s.split(' ').next().filter(|w| !w.ends_with(':')) {
                cur = parse_range(range);
                vals = [0; FIELDS.len()];
                return;
            }
            let Some((start, stop)) = cur else { return };
            if let Some(flags) = s.strip_prefix("VmFlags:") {
                if !(start < end && addr < stop) {
                    return;
                }
                let mut l = Line::new();
                let _ = write!(l, "L{line}   ");
                self.addr(&mut l, start, false);
                let _ = write!(l, "-");
                self.addr(&mut l, stop, true);
                let v = |i: usize| vals[i];
                let _ = write!(
                    l,
                    " Size {} Rss {} Pss {} Shared {} Private {} Anonymous {} Swap {} Locked {} VmFlags {}",
                    v(0),
                    v(1),
                    v(2),
                    v(3) + v(4),
                    v(5) + v(6),
                    v(7),
                    v(9),
                    v(10),
                    flags.trim()
                );
                l.emit();
                return;
            }
            let mut w = s.split_whitespace();
            let (Some(name), Some(val)) = (w.next(), w.next()) else { return };
            if let Some(i) = FIELDS.iter().position(|f| name.strip_suffix(':') == Some(*f)) {
                vals[i] = val.parse().unwrap_or(0);
            }
        });
    }

    /// Gives the process exactly PAD_VMAS mappings besides [vsyscall]
    /// before the first statement, with PROT_NONE pages at PAD_BASE. Linux
    /// has [vvar], [vvar_vclock] and [vdso] that the guest has not, so
    /// without this a scenario reaching vm.max_map_count would reach it a
    /// few mappings apart in the two worlds. Maps and smaps never show them.
    fn pad_vmas(&self) {
        let mut n = 0usize;
        for_each_line(c"/proc/self/maps", |raw| {
            if !raw.is_empty() && !raw.ends_with(b"[vsyscall]") {
                n += 1;
            }
        });
        for i in 0..PAD_VMAS.saturating_sub(n) {
            // MAP_FIXED_NOREPLACE; every other page, so none merge.
            // SAFETY: a fresh PROT_NONE mapping nothing else uses.
            unsafe {
                sys::mmap(
                    (PAD_BASE + 2 * PAGE * i as u64) as usize,
                    PAGE as usize,
                    sys::PROT_NONE,
                    sys::MAP_PRIVATE | sys::MAP_ANONYMOUS | 0x100000,
                    -1,
                    0,
                );
            }
        }
    }
}

/// Reads a whole (small) file into `buf`; returns the bytes read.
fn read_file(path: &core::ffi::CStr, buf: &mut [u8]) -> usize {
    // SAFETY: the path is NUL-terminated; buf is ours.
    unsafe {
        let fd = sys::syscall6(sys::SYS_OPENAT, -100isize as usize, path.as_ptr() as usize, 0, 0, 0, 0);
        if fd < 0 {
            return 0;
        }
        let mut n = 0;
        while n < buf.len() {
            let r = sys::syscall6(0, fd as usize, buf.as_mut_ptr().add(n) as usize, buf.len() - n, 0, 0, 0);
            if r <= 0 {
                break;
            }
            n += r as usize;
        }
        sys::syscall6(sys::SYS_CLOSE, fd as usize, 0, 0, 0, 0, 0);
        n
    }
}

/// Appends the pagemap class of each page: A anonymous exclusive, S shared
/// (or the zero page), F file, G guard, W swap, . not present.
fn pagemap(l: &mut Line, addr: u64, len: u64) {
    // SAFETY: the path is NUL-terminated; entries are written into a local.
    unsafe {
        let fd = sys::syscall6(sys::SYS_OPENAT, -100isize as usize, c"/proc/self/pagemap".as_ptr() as usize, 0, 0, 0, 0);
        if fd < 0 {
            let _ = write!(l, " unavailable");
            return;
        }
        let pages = len.div_ceil(PAGE).min(256);
        let _ = write!(l, " ");
        for i in 0..pages {
            let mut e = 0u64;
            let off = ((addr / PAGE) + i) * 8;
            let r = sys::syscall6(17, fd as usize, &mut e as *mut u64 as usize, 8, off as usize, 0, 0);
            let c = if r != 8 {
                '?'
            } else if e & (1 << 58) != 0 {
                'G'
            } else if e & (1 << 63) == 0 {
                if e & (1 << 62) != 0 {
                    'W'
                } else {
                    '.'
                }
            } else if e & (1 << 61) != 0 {
                'F'
            } else if e & (1 << 56) != 0 {
                'A'
            } else {
                'S'
            };
            let _ = write!(l, "{c}");
        }
        sys::syscall6(sys::SYS_CLOSE, fd as usize, 0, 0, 0, 0, 0);
    }
}

/// Appends mincore(2)'s vector for the range, one digit per page, or the
/// errno. A range of more than 256 pages gets a NULL vector (the kernel
/// checks the range first, so the answer is its errno, or EFAULT).
fn mincore(l: &mut Line, addr: u64, len: u64) {
    let mut vec = [0u8; 256];
    let pages = len.div_ceil(PAGE);
    let ptr = if pages <= vec.len() as u64 { vec.as_mut_ptr() as usize } else { 0 };
    // SAFETY: the kernel writes at most `pages` <= 256 bytes into `vec`, or none through NULL.
    let r = unsafe { sys::syscall6(27, addr as usize, len as usize, ptr, 0, 0, 0) };
    if r < 0 {
        let _ = write!(l, " -{}", errno_name(-(r as i64)));
        return;
    }
    let _ = write!(l, " ");
    for v in &vec[..pages.min(vec.len() as u64) as usize] {
        let _ = write!(l, "{}", v & 1);
    }
}

/// Appends each page's file offset as pagemap bits 0-54 report it (our
/// extension for nonlinear VMAs), `-` for an entry without PM_FILE.
fn pgoffs(l: &mut Line, addr: u64, len: u64) {
    // SAFETY: the path is NUL-terminated; entries are written into a local.
    unsafe {
        let fd = sys::syscall6(sys::SYS_OPENAT, -100isize as usize, c"/proc/self/pagemap".as_ptr() as usize, 0, 0, 0, 0);
        if fd < 0 {
            let _ = write!(l, " unavailable");
            return;
        }
        let pages = len.div_ceil(PAGE).min(64);
        for i in 0..pages {
            let mut e = 0u64;
            let off = ((addr / PAGE) + i) * 8;
            let r = sys::syscall6(17, fd as usize, &mut e as *mut u64 as usize, 8, off as usize, 0, 0);
            if r != 8 {
                let _ = write!(l, " ?");
            } else if e & (1 << 61) == 0 {
                let _ = write!(l, " -");
            } else {
                let _ = write!(l, " {}", e & ((1 << 55) - 1));
            }
        }
        sys::syscall6(sys::SYS_CLOSE, fd as usize, 0, 0, 0, 0, 0);
    }
}

/// Fills a range page by page: a probe store per page catches faults; once a
/// page took a store it is mapped writable and the rest is written directly.
fn fill(addr: u64, len: u64, byte: u8) -> Result<Option<(u64, u8)>, Fault> {
    let mut at = addr;
    let end = addr.saturating_add(len);
    while at < end {
        let stop = ((at & !(PAGE - 1)) + PAGE).min(end);
        probe::store(at, byte)?;
        // SAFETY: the store above made [at, stop) writable for us.
        unsafe { core::ptr::write_bytes(at as *mut u8, byte, (stop - at) as usize) };
        at = stop;
    }
    Ok(None)
}

/// Checks a range: Ok(None) if every byte equals `byte`, else the first mismatch.
fn check_range(addr: u64, len: u64, byte: u8) -> Result<Option<(u64, u8)>, Fault> {
    let mut at = addr;
    let end = addr.saturating_add(len);
    while at < end {
        let stop = ((at & !(PAGE - 1)) + PAGE).min(end);
        probe::load(at)?;
        for p in at..stop {
            // SAFETY: the load above made the page readable.
            let v = unsafe { core::ptr::read_volatile(p as *const u8) };
            if v != byte {
                return Ok(Some((p, v)));
            }
        }
        at = stop;
    }
    Ok(None)
}

/// Creates a file of `pages` pages filled with `pattern`; returns the fd or -errno.
fn make_file(name: &[u8], pages: u64, pattern: u64) -> isize {
    const O_RDWR_CREAT_TRUNC: usize = 2 | 0x40 | 0x200;
    // SAFETY: `name` is NUL-terminated (the compiler stores strings with a NUL).
    unsafe {
        let fd = sys::syscall6(sys::SYS_OPENAT, -100isize as usize, name.as_ptr() as usize, O_RDWR_CREAT_TRUNC, 0o600, 0, 0);
        if fd < 0 {
            return fd;
        }
        let mut page = [0u8; PAGE as usize];
        for i in 0..pages {
            let b = if pattern == PATTERN_PAGE_INDEX { (i + 1) as u8 } else { pattern as u8 };
            page.fill(b);
            let r = sys::syscall6(1, fd as usize, page.as_ptr() as usize, PAGE as usize, 0, 0, 0);
            if r != PAGE as isize {
                return if r < 0 { r } else { -5 };
            }
        }
        fd
    }
}

/// Natively: behave like an unprivileged process on base pages.
fn unprivileged_base_pages() {
    // capset(LINUX_CAPABILITY_VERSION_3, pid 0) with empty sets; PR_SET_THP_DISABLE.
    let header: [u32; 2] = [0x2008_0522, 0];
    let data = [0u32; 6];
    // SAFETY: valid pointers to locals; both calls only change our own credentials.
    unsafe {
        sys::syscall6(126, header.as_ptr() as usize, data.as_ptr() as usize, 0, 0, 0, 0);
        sys::syscall6(157, 41, 1, 0, 0, 0, 0);
    }
}

#[no_mangle]
pub fn guest_main(args: &Args) -> i32 {
    let Some(path) = args.get(1) else {
        let _ = sys::write(2, b"usage: scenario PROGRAM-FILE\n");
        return 2;
    };
    // SAFETY: single-threaded use of the static buffer.
    let prog = unsafe { &mut *core::ptr::addr_of_mut!(PROGRAM) };
    let mut cpath = [0u8; 512];
    let n = path.len().min(511);
    cpath[..n].copy_from_slice(&path[..n]);
    let len = read_file(core::ffi::CStr::from_bytes_until_nul(&cpath).unwrap_or(c"/scenario"), prog);
    unprivileged_base_pages();
    if probe::install() != 0 {
        let _ = sys::write(2, b"scenario: cannot install signal handlers\n");
        return 2;
    }
    let prog: &[u8] = &prog[..len];
    let mut r = Reader::new(prog);
    let mut runner = Runner {
        prog,
        strings: [(0, 0); MAX_STRINGS],
        names: [0; MAX_REGS],
        regs: [0; MAX_REGS],
        regions: [Region { reg: 0, base: 0, len: 0 }; MAX_REGIONS],
        nregions: 0,
        failures: 0,
    };
    let result = (|| -> Result<(), Malformed> {
        if r.bytes(4)? != MAGIC {
            return Err(Malformed(0));
        }
        let ns = r.u16()? as usize;
        for i in 0..ns {
            let n = r.u16()? as usize;
            let start = r.pos;
            r.bytes(n)?;
            if i < MAX_STRINGS {
                runner.strings[i] = (start, n);
            }
        }
        let nregs = r.u8()? as usize;
        for i in 0..nregs {
            let id = r.u16()?;
            if i < MAX_REGS {
                runner.names[i] = id;
            }
        }
        let nops = r.u16()? as usize;
        runner.fence();
        runner.pad_vmas();
        runner.run(&mut r, nops)
    })();
    flush_all();
    let mut end = Line::new();
    match result {
        Ok(()) => {
            let _ = write!(end, "END {} failed", runner.failures);
        }
        Err(Malformed(at)) => {
            let _ = write!(end, "END malformed program at byte {at}");
            end.emit();
            return 2;
        }
    }
    end.emit();
    if runner.failures > 0 {
        1
    } else {
        0
    }
}
