//! Output of repeat blocks: identical consecutive iterations printed once.
//!
//! Owns where the runner's lines go. Outside a repeat they are written to
//! stdout at once. Inside, each repeat level collects its current
//! iteration's lines; when an iteration ends it joins the pending run if it
//! printed exactly what the previous one did, else the run is printed, after
//! a line `L<line> iterations A-B (COUNT):` (or `iteration N:`), and this
//! iteration starts the next run. Nested levels print into their parent's
//! iteration. An iteration that outgrows the buffer is printed as it comes,
//! as a run of its own. Invariant: every line reaches stdout exactly once,
//! in order, by the time the outermost repeat ends (or `flush_all` runs).

use crate::sys;
use core::fmt::Write;

/// Depth of nested repeat blocks the runner collects (the compiler's limit).
pub const MAX_COLLECT: usize = 3;
const COLLECT_BUF: usize = 16 * 1024;

/// The output of one repeat level: the iteration being run (`cur`) and the
/// run of identical iterations before it (`prev`, `prev_count` times from
/// iteration `prev_first`), printed once when a different one ends.
pub struct Collect {
    line: u16,
    iter: u32,
    cur: [u8; COLLECT_BUF],
    cur_len: usize,
    /// The current iteration outgrew `cur` and is being printed directly.
    spilled: bool,
    prev: [u8; COLLECT_BUF],
    prev_len: usize,
    prev_first: u32,
    prev_count: u32,
}

const EMPTY_COLLECT: Collect = Collect {
    line: 0,
    iter: 0,
    cur: [0; COLLECT_BUF],
    cur_len: 0,
    spilled: false,
    prev: [0; COLLECT_BUF],
    prev_len: 0,
    prev_first: 0,
    prev_count: 0,
};
static mut COLLECTS: [Collect; MAX_COLLECT] = [EMPTY_COLLECT; MAX_COLLECT];
/// How many repeat levels are collecting (0: lines go straight to stdout).
static mut DEPTH: usize = 0;

/// The collector of level `level` (single-threaded runner).
fn collector(level: usize) -> &'static mut Collect {
    // SAFETY: the runner is single-threaded and no reference outlives a call.
    unsafe { &mut (*core::ptr::addr_of_mut!(COLLECTS))[level] }
}

pub fn depth() -> usize {
    // SAFETY: single-threaded.
    unsafe { DEPTH }
}

pub fn set_depth(d: usize) {
    // SAFETY: single-threaded.
    unsafe { DEPTH = d }
}

/// Writes `bytes` (whole lines) at output level `level`: stdout at 0, else
/// into the iteration collected by repeat level `level - 1`.
pub fn out_at(level: usize, bytes: &[u8]) {
    if level == 0 {
        let _ = sys::write(1, bytes);
        return;
    }
    let c = collector(level - 1);
    if c.spilled {
        out_at(level - 1, bytes);
        return;
    }
    if c.cur_len + bytes.len() <= COLLECT_BUF {
        c.cur[c.cur_len..c.cur_len + bytes.len()].copy_from_slice(bytes);
        c.cur_len += bytes.len();
        return;
    }
    // Too much output for one iteration: it cannot be compared, so it is
    // printed as it comes, as an iteration of its own.
    flush_group(level - 1);
    let c = collector(level - 1);
    group_header(level - 1, c.line, c.iter, 1);
    let c = collector(level - 1);
    c.spilled = true;
    let (buf, n) = (c.cur, c.cur_len);
    out_at(level - 1, &buf[..n]);
    out_at(level - 1, bytes);
}

/// `L<line> iteration N:` or `L<line> iterations A-B (COUNT):`.
fn group_header(level: usize, line: u16, first: u32, count: u32) {
    struct Buf([u8; 96], usize);
    impl Write for Buf {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let n = s.len().min(self.0.len() - self.1);
            self.0[self.1..self.1 + n].copy_from_slice(&s.as_bytes()[..n]);
            self.1 += n;
            Ok(())
        }
    }
    let mut b = Buf([0; 96], 0);
    if count == 1 {
        let _ = writeln!(b, "L{line} iteration {first}:");
    } else {
        let _ = writeln!(b, "L{line} iterations {first}-{} ({count}):", first + (count - 1));
    }
    out_at(level, &b.0[..b.1]);
}

/// Prints the pending run of identical iterations of repeat level `level`.
pub fn flush_group(level: usize) {
    let c = collector(level);
    if c.prev_count == 0 {
        return;
    }
    let (line, first, count) = (c.line, c.prev_first, c.prev_count);
    c.prev_count = 0;
    group_header(level, line, first, count);
    let c = collector(level);
    let (buf, n) = (c.prev, c.prev_len);
    out_at(level, &buf[..n]);
}

/// Ends iteration `c.iter` of level `level`: it joins the pending run if it
/// printed the same, else the run is printed and this one starts the next.
pub fn end_iteration(level: usize) {
    let c = collector(level);
    if c.spilled {
        c.spilled = false;
        c.cur_len = 0;
        return;
    }
    if c.prev_count > 0 && c.prev_len == c.cur_len && c.prev[..c.prev_len] == c.cur[..c.cur_len] {
        c.prev_count += 1;
        c.cur_len = 0;
        return;
    }
    flush_group(level);
    let c = collector(level);
    c.prev[..c.cur_len].copy_from_slice(&c.cur[..c.cur_len]);
    c.prev_len = c.cur_len;
    c.prev_first = c.iter;
    c.prev_count = 1;
    c.cur_len = 0;
}

/// Prints everything collected (before an exit inside a repeat block).
pub fn flush_all() {
    while depth() > 0 {
        let level = depth() - 1;
        end_iteration(level);
        flush_group(level);
        set_depth(level);
    }
}

/// Starts collecting repeat level `level` (of the repeat on `line`).
pub fn begin(level: usize, line: u16) {
    let c = collector(level);
    c.line = line;
    c.cur_len = 0;
    c.prev_count = 0;
    c.spilled = false;
    set_depth(level + 1);
}

/// Iteration `i` of level `level` starts.
pub fn set_iteration(level: usize, i: u32) {
    collector(level).iter = i;
}

/// Level `level` ends: its pending run is printed.
pub fn end(level: usize) {
    flush_group(level);
    set_depth(level);
}
