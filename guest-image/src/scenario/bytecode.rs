//! The scenario bytecode: what `vmm` compiles a scenario file into and what
//! the `scenario` guest program executes.
//!
//! Owns the binary format shared by the host compiler (vmm/src/scenario) and
//! the ring-3 runner (guest-image/src/bin/scenario.rs). This file is compiled
//! into both crates (the vmm includes it with `#[path]`), so the two can never
//! disagree. It is `no_std` and allocation-free: the runner decodes in place.
//!
//! Layout (all integers little-endian):
//! ```text
//! program := "SCN1" u16:nstrings string* u8:nregs u16:name* u16:nops op*
//! string  := u16:len bytes (the bytes end with a NUL, counted in len)
//! op      := u8:opcode u16:line u8:bind(0xff = none) payload expect
//! expr    := u8:ntokens token*            (reverse Polish notation)
//! token   := CONST u64 | REG u8 | STR u16 | one of the binary operators
//! expect  := NONE | VALUE expr | ERRNO u16 | SIGNAL u8:signo u8:code | OK
//! ```
//! Payloads per opcode are listed with the opcodes below.

/// File magic.
pub const MAGIC: &[u8; 4] = b"SCN1";
/// No register bound.
pub const NO_BIND: u8 = 0xff;
/// Registers (named values) a program may use.
pub const MAX_REGS: usize = 64;

// Opcodes.
/// `u16:nr u8:nargs u8:region_len_arg(0xff none) expr*nargs`: a raw system
/// call. When bound and `region_len_arg` names an argument, the result is
/// recorded as a region of that length, used to print addresses as name+offset.
pub const OP_SYS: u8 = 0x01;
/// `expr:addr`: load one byte.
pub const OP_READ: u8 = 0x10;
/// `expr:addr expr:value`: store one byte.
pub const OP_WRITE: u8 = 0x11;
/// `expr:addr`: call the address (an instruction fetch; the page must hold `ret`).
pub const OP_EXEC: u8 = 0x12;
/// `expr:addr expr:len expr:byte`: store `byte` at every byte of the range.
pub const OP_FILL: u8 = 0x13;
/// `expr:addr expr:len expr:byte`: every byte of the range must equal `byte`.
pub const OP_CHECK: u8 = 0x14;
/// `u16:name expr:pages expr:pattern`: create (truncate) a file of that many
/// pages; pattern < 256 fills every byte with it, PATTERN_PAGE_INDEX fills
/// page i with (i + 1) & 0xff. Binds the open descriptor.
pub const OP_FILE: u8 = 0x20;
/// `u16:nops`: fork; the child runs the next `nops` ops and then exits 0; the
/// parent skips them and waits for the child.
pub const OP_FORK: u8 = 0x30;
/// `expr:code`: exit now.
pub const OP_EXIT: u8 = 0x31;
/// (no payload): print the mappings that overlap known regions.
pub const OP_MAPS: u8 = 0x40;
/// `expr:addr expr:len`: print the pagemap class of each page.
pub const OP_PAGEMAP: u8 = 0x41;
/// `expr:addr expr:len`: print each page's file offset from pagemap bits
/// 0-54 (our extension: set for pages of nonlinear VMAs), `-` where the
/// entry has no PM_FILE bit.
pub const OP_PGOFF: u8 = 0x42;

/// `expr:addr expr:len`: mincore(2) of the range, printed one digit per
/// page (1 resident), or the errno.
pub const OP_MINCORE: u8 = 0x43;

/// `u16:nops u32:count`: runs the next `nops` ops `count` times, binding
/// the iteration (0..count) if bound. Output of identical consecutive
/// iterations is printed once, after a line naming the iterations.
pub const OP_REPEAT: u8 = 0x32;

/// `expr:addr expr:len`: print the /proc/self/smaps fields of each VMA
/// overlapping the range (the deterministic ones, see docs/scenarios.md).
pub const OP_SMAPS: u8 = 0x44;

/// `expr:dirfd expr:path expr:flags`: newfstatat(dirfd, path, &st, flags),
/// printing the file's type, permission bits, size and link count (the
/// fields both worlds agree on: no device, inode, times or blocks).
pub const OP_STAT: u8 = 0x45;

/// `u8:npairs expr:pidfd expr:advice expr:flags (expr:addr expr:len)*npairs`:
/// process_madvise(pidfd, iovec of the pairs, npairs, advice, flags).
pub const OP_PMADVISE: u8 = 0x02;
/// Most ranges in one process_madvise iovec.
pub const MAX_IOV: usize = 8;

/// Pattern value for OP_FILE: page i holds (i + 1) & 0xff.
pub const PATTERN_PAGE_INDEX: u64 = 0x100;

// Expression tokens.
pub const T_CONST: u8 = 1;
pub const T_REG: u8 = 2;
pub const T_STR: u8 = 3;
pub const T_ADD: u8 = 10;
pub const T_SUB: u8 = 11;
pub const T_MUL: u8 = 12;
pub const T_DIV: u8 = 13;
pub const T_OR: u8 = 14;
pub const T_AND: u8 = 15;
pub const T_SHL: u8 = 16;
pub const T_SHR: u8 = 17;
/// Largest expression (tokens).
pub const MAX_TOKENS: usize = 32;

// Expectations.
pub const E_NONE: u8 = 0;
pub const E_VALUE: u8 = 1;
pub const E_ERRNO: u8 = 2;
pub const E_SIGNAL: u8 = 3;
/// The call succeeded: no fault, and not an error return.
pub const E_OK: u8 = 4;

/// A decoding cursor over a program.
pub struct Reader<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

/// The program is malformed (truncated or an unknown code).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Malformed(pub usize);

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    pub fn u8(&mut self) -> Result<u8, Malformed> {
        let v = *self.buf.get(self.pos).ok_or(Malformed(self.pos))?;
        self.pos += 1;
        Ok(v)
    }
    pub fn u16(&mut self) -> Result<u16, Malformed> {
        Ok(self.u8()? as u16 | (self.u8()? as u16) << 8)
    }
    pub fn u64(&mut self) -> Result<u64, Malformed> {
        let mut v = 0u64;
        for i in 0..8 {
            v |= (self.u8()? as u64) << (8 * i);
        }
        Ok(v)
    }
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        let end = self.pos.checked_add(n).ok_or(Malformed(self.pos))?;
        let b = self.buf.get(self.pos..end).ok_or(Malformed(self.pos))?;
        self.pos = end;
        Ok(b)
    }
}

/// Linux signal and si_code names used in traces (linux-abi's).
pub fn signal_name(signo: i32) -> &'static str {
    u64::try_from(signo).ok().and_then(linux_abi::Signal::new).map_or("SIG?", |s| s.name())
}

pub fn code_name(signo: i32, code: i32) -> &'static str {
    u8::try_from(signo).ok().and_then(|s| linux_abi::signal::si::name(s, code)).unwrap_or("?")
}
