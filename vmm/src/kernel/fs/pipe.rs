//! Pipes (fs/pipe.c): a ring of page-sized buffers between the descriptions
//! of its read and write ends.
//!
//! Owns every pipe of the VM (`Pipes`), each a ring of buffers
//! (`PipeBuf`, Linux's struct pipe_buffer: at most a page of bytes at an
//! offset within its page) with a capacity in slots (`max_usage`: 16 by
//! default, F_SETPIPE_SZ's power of two), and the numbers of open
//! descriptions of each end (`readers`, `writers`: dup and fork share a
//! description, so they count once, as in Linux). The transfers mirror
//! pipe_read and pipe_write buffer for buffer, so what Linux shows through
//! the number of slots (a small write merging into the last buffer, an
//! O_DIRECT write being one packet, a vmsplice'd buffer never merged into)
//! comes out the same; user memory is reached through `Iter` (Linux's
//! iov_iter), so this file needs no process and its tests no KVM.
//!
//! Invariants: a pipe holds at most `max_usage` buffers; no buffer is longer than a page or crosses its page's end (`off + len <=
//! PAGE`); `Pipes::bytes` is the number of buffers times a page, the host
//! memory the guest holds in pipes, and never exceeds `Pipes::limit` (the
//! guest's RAM: a Linux guest's pipe pages come out of its RAM too).
//! Blocking is the caller's: each operation says why it stopped (`Stop`).

use linux_abi::pipe::{PIPE_DEF_BUFFERS, PIPE_MIN_DEF_BUFFERS, PIPE_USER_PAGES_SOFT};
use std::collections::{BTreeMap, VecDeque};

/// Bytes in one buffer at most (a page).
pub const PAGE: usize = 4096;

/// Identity of a pipe (its inode).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct PipeId(pub u64);

/// What a buffer allows (PIPE_BUF_FLAG_CAN_MERGE, PIPE_BUF_FLAG_PACKET).
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BufKind {
    /// Written by write(2) on a stream pipe: later small writes append to it.
    Mergeable,
    /// Written by write(2) on an O_DIRECT pipe: one read takes it whole, a
    /// shorter read discards the rest.
    Packet,
    /// Spliced in (vmsplice, splice, tee, a split buffer): never merged into.
    Plain,
}

/// One pipe_buffer: the bytes at `off..off + data.len()` of its page.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PipeBuf {
    pub off: usize,
    pub data: Vec<u8>,
    pub kind: BufKind,
}

/// One pipe (struct pipe_inode_info).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pipe {
    bufs: VecDeque<PipeBuf>,
    /// Capacity in slots (pipe->max_usage).
    max_usage: usize,
    pub readers: u32,
    pub writers: u32,
    /// The user whose pipe pages it counts against (the creator's real uid).
    uid: u32,
    /// The inode's times (realtime ns): set when the pipe is made; reads and
    /// writes leave them, as the reference host's pipefs does.
    #[serde(default)]
    pub created_ns: u64,
}

/// Why a transfer stopped before it was complete.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Every slot is taken: the writer waits for a reader.
    Full,
    /// Nothing to read: the reader waits for a writer.
    Empty,
    /// No read end is open: EPIPE and SIGPIPE.
    NoReaders,
    /// A user copy faulted: EFAULT if nothing was moved.
    Fault,
    /// The VM's pipe memory is used up: ENOMEM if nothing was moved.
    NoMemory,
}

/// A transfer's result: bytes moved, and why it stopped short (None: done).
pub type Moved = (usize, Option<Stop>);

/// User memory as a sequence of bytes (Linux's iov_iter): a source for
/// writes, a destination for reads. Copies may end short at a fault.
pub trait Iter {
    /// Bytes left to transfer.
    fn count(&self) -> usize;
    /// Copies up to `buf.len()` bytes from the source; returns how many.
    fn copy_from(&mut self, buf: &mut [u8]) -> usize;
    /// Copies `data` to the destination; returns how many bytes it took.
    fn copy_to(&mut self, data: &[u8]) -> usize;
}

impl Pipe {
    fn new(slots: usize, uid: u32, created_ns: u64) -> Self {
        Pipe { bufs: VecDeque::new(), max_usage: slots, readers: 1, writers: 1, uid, created_ns }
    }

    /// pipe_full.
    pub fn full(&self) -> bool {
        self.bufs.len() >= self.max_usage
    }

    pub fn is_empty(&self) -> bool {
        self.bufs.is_empty()
    }

    /// Bytes buffered (FIONREAD).
    pub fn len(&self) -> usize {
        self.bufs.iter().map(|b| b.data.len()).sum()
    }

    /// Slots in use (pipe_occupancy).
    pub fn occupancy(&self) -> usize {
        self.bufs.len()
    }

    /// F_GETPIPE_SZ: the capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.max_usage * PAGE
    }

    /// The buffers, oldest first.
    pub fn bufs(&self) -> impl Iterator<Item = &PipeBuf> {
        self.bufs.iter()
    }

    /// pipe_poll's read-side readiness: data, or no writer left (EOF).
    pub fn readable(&self) -> bool {
        !self.is_empty() || self.writers == 0
    }

    /// pipe_poll's write-side readiness: a free slot, or no reader left.
    pub fn writable(&self) -> bool {
        !self.full() || self.readers == 0
    }
}

/// Every pipe of the VM.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Pipes {
    pipes: BTreeMap<PipeId, Pipe>,
    next: u64,
    /// Host memory in buffers (a page each).
    bytes: usize,
    /// Most bytes in buffers over all pipes (0: no limit).
    limit: usize,
}

impl Pipes {
    /// A table whose buffers together may hold at most `limit` bytes.
    pub fn with_limit(limit: usize) -> Self {
        Pipes { limit, ..Default::default() }
    }

    /// alloc_pipe_info: a pipe with one reader and one writer, 16 slots, or
    /// 2 when its user is over pipe-user-pages-soft (without
    /// CAP_SYS_RESOURCE or CAP_SYS_ADMIN, which the guest never has).
    pub fn create(&mut self, uid: u32, now_ns: u64) -> PipeId {
        let mut slots = PIPE_DEF_BUFFERS;
        if self.user_slots(uid, None) + slots as u64 > PIPE_USER_PAGES_SOFT {
            slots = PIPE_MIN_DEF_BUFFERS;
        }
        self.next += 1;
        let id = PipeId(self.next);
        self.pipes.insert(id, Pipe::new(slots, uid, now_ns));
        id
    }

    pub fn get(&self, id: PipeId) -> Option<&Pipe> {
        self.pipes.get(&id)
    }

    /// Slots accounted to `uid` over all pipes but `except`
    /// (account_pipe_buffers' user->pipe_bufs).
    fn user_slots(&self, uid: u32, except: Option<PipeId>) -> u64 {
        self.pipes.iter().filter(|(id, p)| p.uid == uid && Some(**id) != except).map(|(_, p)| p.max_usage as u64).sum()
    }

    /// pipe_release: a description of an end is gone. The pipe goes with
    /// its last end.
    pub fn close(&mut self, id: PipeId, read: bool, write: bool) {
        let Some(p) = self.pipes.get_mut(&id) else { return };
        if read {
            p.readers = p.readers.saturating_sub(1);
        }
        if write {
            p.writers = p.writers.saturating_sub(1);
        }
        if p.readers == 0 && p.writers == 0 {
            let n = p.bufs.len();
            self.pipes.remove(&id);
            self.bytes = self.bytes.saturating_sub(n * PAGE);
        }
    }

    /// A new buffer's page, within the VM's budget.
    fn take_page(&mut self) -> bool {
        if self.limit != 0 && self.bytes + PAGE > self.limit {
            return false;
        }
        self.bytes += PAGE;
        true
    }

    fn pipe_mut(&mut self, id: PipeId) -> &mut Pipe {
        self.pipes.get_mut(&id).expect("pipe ids come from open descriptions")
    }

    /// pipe_write: `from` into the pipe. `first` says whether this is the
    /// call's first pass (a resumed write does not merge again, as Linux's
    /// does not after it slept); `packet` is O_DIRECT.
    pub fn write(&mut self, id: PipeId, from: &mut dyn Iter, packet: bool, first: bool) -> Moved {
        let total = from.count();
        let mut done = 0;
        if self.pipe_mut(id).readers == 0 {
            return (0, Some(Stop::NoReaders));
        }
        // Merge the sub-page tail into the last buffer when it fits there.
        let chars = total % PAGE;
        let p = self.pipe_mut(id);
        if first && chars != 0 {
            if let Some(last) = p.bufs.back_mut() {
                if last.kind == BufKind::Mergeable && last.off + last.data.len() + chars <= PAGE {
                    let mut tmp = vec![0u8; chars];
                    let got = from.copy_from(&mut tmp);
                    if got < chars {
                        return (0, Some(Stop::Fault));
                    }
                    last.data.extend_from_slice(&tmp);
                    done = chars;
                    if from.count() == 0 {
                        return (done, None);
                    }
                }
            }
        }
        loop {
            if self.pipe_mut(id).readers == 0 {
                return (done, Some(Stop::NoReaders));
            }
            if self.pipe_mut(id).full() {
                return (done, Some(Stop::Full));
            }
            if !self.take_page() {
                return (done, Some(Stop::NoMemory));
            }
            let mut page = vec![0u8; from.count().min(PAGE)];
            let copied = from.copy_from(&mut page);
            // The slot is taken before the copy: a fault leaves it empty
            // ("the reader will consume it"), its partial bytes unwritten.
            let kind = if packet { BufKind::Packet } else { BufKind::Mergeable };
            let faulted = copied < page.len();
            page.truncate(if faulted { 0 } else { copied });
            self.pipe_mut(id).bufs.push_back(PipeBuf { off: 0, data: page, kind });
            if faulted {
                return (done, Some(Stop::Fault));
            }
            done += copied;
            if from.count() == 0 {
                return (done, None);
            }
        }
    }

    /// pipe_read: the pipe into `to`, buffer by buffer. A buffer the copy
    /// cannot take whole stays (EFAULT if nothing was read); a packet is
    /// consumed whole by one read.
    pub fn read(&mut self, id: PipeId, to: &mut dyn Iter) -> Moved {
        let mut done = 0;
        loop {
            let want = to.count();
            if want == 0 {
                return (done, None);
            }
            let p = self.pipe_mut(id);
            let Some(buf) = p.bufs.front_mut() else {
                return (done, if done > 0 || p.writers == 0 { None } else { Some(Stop::Empty) });
            };
            let chars = buf.data.len().min(want);
            let written = to.copy_to(&buf.data[..chars]);
            if written < chars {
                return (done, Some(Stop::Fault));
            }
            done += chars;
            buf.data.drain(..chars);
            buf.off += chars;
            if buf.kind == BufKind::Packet {
                buf.data.clear();
            }
            let packet = buf.kind == BufKind::Packet;
            if buf.data.is_empty() {
                p.bufs.pop_front();
                self.bytes = self.bytes.saturating_sub(PAGE);
            }
            if packet {
                return (done, None);
            }
        }
    }

    /// Adds a buffer that is not a write's (vmsplice, splice from a file):
    /// `data` at `off` in its page. False when the pipe is full or the VM's
    /// budget is spent.
    pub fn push(&mut self, id: PipeId, off: usize, data: Vec<u8>) -> bool {
        debug_assert!(off + data.len() <= PAGE);
        if self.pipe_mut(id).full() || !self.take_page() {
            return false;
        }
        self.pipe_mut(id).bufs.push_back(PipeBuf { off, data, kind: BufKind::Plain });
        true
    }

    /// Consumes up to `len` bytes from the front buffers into `sink`, which
    /// takes what it can and says how much (splice to a file, sendfile's
    /// write side): whole buffers and a partial one, as
    /// iter_file_splice_write dismisses eaten buffers.
    pub fn drain(&mut self, id: PipeId, len: usize, sink: &mut dyn FnMut(&[u8]) -> usize) -> usize {
        let mut done = 0;
        while done < len {
            let p = self.pipe_mut(id);
            let Some(buf) = p.bufs.front_mut() else { break };
            let n = buf.data.len().min(len - done);
            let took = sink(&buf.data[..n]);
            buf.data.drain(..took);
            buf.off += took;
            done += took;
            if buf.data.is_empty() {
                p.bufs.pop_front();
                self.bytes = self.bytes.saturating_sub(PAGE);
            }
            if took < n {
                break;
            }
        }
        done
    }

    /// splice_pipe_to_pipe's moves, once both pipes are ready: whole
    /// buffers move (keeping their kind), a longer one is split (the moved
    /// part plain). Stops at `len`, an empty input or a full output.
    pub fn splice(&mut self, from: PipeId, to: PipeId, mut len: usize) -> usize {
        let mut done = 0;
        while len > 0 {
            let full = self.pipe_mut(to).full();
            let ip = self.pipe_mut(from);
            if full || ip.bufs.is_empty() {
                break;
            }
            let buf = ip.bufs.front_mut().expect("not empty");
            let moved = if len >= buf.data.len() {
                ip.bufs.pop_front().expect("not empty")
            } else {
                // Both halves share the page in Linux; here each has its bytes.
                let part = PipeBuf { off: buf.off, data: buf.data[..len].to_vec(), kind: BufKind::Plain };
                buf.data.drain(..len);
                buf.off += len;
                self.bytes += PAGE;
                part
            };
            len -= moved.data.len();
            done += moved.data.len();
            self.pipe_mut(to).bufs.push_back(moved);
        }
        done
    }

    /// link_pipe (tee): copies of the input's buffers, oldest first, up to
    /// `len` bytes, without consuming them; the copies are never merged
    /// into. Stops at the end of the input or a full output.
    pub fn tee(&mut self, from: PipeId, to: PipeId, mut len: usize) -> usize {
        let mut done = 0;
        let mut i = 0;
        while len > 0 {
            let ip = self.pipe_mut(from);
            let Some(buf) = ip.bufs.get(i) else { break };
            let n = buf.data.len().min(len);
            let copy = PipeBuf {
                off: buf.off,
                data: buf.data[..n].to_vec(),
                kind: if buf.kind == BufKind::Packet { BufKind::Packet } else { BufKind::Plain },
            };
            if self.pipe_mut(to).full() || !self.take_page() {
                break;
            }
            self.pipe_mut(to).bufs.push_back(copy);
            i += 1;
            len -= n;
            done += n;
        }
        done
    }

    /// pipe_set_size after round_pipe_size: `slots` slots. EBUSY below the
    /// slots in use; EPERM when growing past pipe-max-size (`max_bytes`) or
    /// the user's pipe-user-pages-soft without privilege. Returns the new
    /// capacity in bytes.
    pub fn set_size(&mut self, id: PipeId, slots: usize, max_bytes: u64) -> Result<usize, linux_abi::Errno> {
        use linux_abi::Errno;
        let p = self.pipes.get(&id).ok_or(Errno::EBADF)?;
        let (uid, cur) = (p.uid, p.max_usage);
        let bytes = slots as u64 * PAGE as u64;
        if slots > cur && bytes > max_bytes {
            return Err(Errno::EPERM);
        }
        if slots > cur && self.user_slots(uid, Some(id)) + slots as u64 > PIPE_USER_PAGES_SOFT {
            return Err(Errno::EPERM);
        }
        let p = self.pipe_mut(id);
        if slots < p.bufs.len() {
            return Err(Errno::EBUSY);
        }
        p.max_usage = slots;
        Ok(p.capacity())
    }

    /// Pipes alive.
    pub fn len(&self) -> usize {
        self.pipes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pipes.is_empty()
    }
}

/// round_pipe_size: at least a page, a power of two of pages, 0 above 2 GiB
/// (EINVAL). `size` is pipe_fcntl's unsigned int argument.
pub fn round_pipe_size(size: u32) -> usize {
    if size > 1 << 31 {
        return 0;
    }
    (size as usize).max(PAGE).next_power_of_two()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A user buffer: `data` to write from or room to read into, with a
    /// fault after `ok` bytes.
    struct Buf {
        data: Vec<u8>,
        at: usize,
        ok: usize,
    }

    impl Buf {
        fn src(data: &[u8]) -> Self {
            Buf { data: data.to_vec(), at: 0, ok: usize::MAX }
        }
        fn dst(n: usize) -> Self {
            Buf { data: vec![0; n], at: 0, ok: usize::MAX }
        }
        fn got(&self) -> &[u8] {
            &self.data[..self.at]
        }
    }

    impl Iter for Buf {
        fn count(&self) -> usize {
            self.data.len() - self.at
        }
        fn copy_from(&mut self, buf: &mut [u8]) -> usize {
            let n = buf.len().min(self.count()).min(self.ok.saturating_sub(self.at));
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            n
        }
        fn copy_to(&mut self, d: &[u8]) -> usize {
            let n = d.len().min(self.count()).min(self.ok.saturating_sub(self.at));
            self.data[self.at..self.at + n].copy_from_slice(&d[..n]);
            self.at += n;
            n
        }
    }

    fn pipe() -> (Pipes, PipeId) {
        let mut t = Pipes::with_limit(1 << 30);
        let id = t.create(1000, 0);
        (t, id)
    }

    #[test]
    fn small_writes_merge_into_one_page_and_the_capacity_is_sixteen_slots() {
        let (mut t, id) = pipe();
        for _ in 0..4096 {
            assert_eq!(t.write(id, &mut Buf::src(b"x"), false, true), (1, None));
        }
        assert_eq!(t.get(id).unwrap().occupancy(), 1);
        assert_eq!(t.write(id, &mut Buf::src(&[1; 15 * 4096]), false, true), (15 * 4096, None));
        assert!(t.get(id).unwrap().full());
        assert_eq!(t.write(id, &mut Buf::src(b"y"), false, true), (0, Some(Stop::Full)));
        assert_eq!(t.get(id).unwrap().len(), 65536);
    }

    #[test]
    fn a_write_larger_than_the_room_is_partial_and_a_small_one_atomic() {
        let (mut t, id) = pipe();
        assert_eq!(t.write(id, &mut Buf::src(&[0; 60000]), false, true), (60000, None));
        // 15 slots used (14 full pages and 2656 bytes); one page and the
        // last buffer's tail are free. 4096 bytes take the free slot whole.
        assert_eq!(t.write(id, &mut Buf::src(&[1; 4096]), false, true), (4096, None));
        // Full now, and the last buffer (the 16th) has no room to merge into.
        assert_eq!(t.write(id, &mut Buf::src(&[2; 100]), false, true), (0, Some(Stop::Full)));
        let mut out = Buf::dst(70000);
        assert_eq!(t.read(id, &mut out), (64096, None));
        assert_eq!(&out.got()[59999..60001], &[0, 1]);
    }

    #[test]
    fn reads_return_what_is_there_and_eof_needs_no_writers() {
        let (mut t, id) = pipe();
        let mut out = Buf::dst(10);
        assert_eq!(t.read(id, &mut out), (0, Some(Stop::Empty)));
        t.write(id, &mut Buf::src(b"abc"), false, true);
        assert_eq!(t.read(id, &mut out), (3, None));
        assert_eq!(out.got(), b"abc");
        t.close(id, false, true);
        assert_eq!(t.read(id, &mut Buf::dst(10)), (0, None), "end of file");
        assert!(t.get(id).unwrap().readable(), "end of file polls as readable");
    }

    #[test]
    fn a_write_with_no_reader_stops_and_the_pipe_goes_with_its_last_end() {
        let (mut t, id) = pipe();
        t.close(id, true, false);
        assert_eq!(t.write(id, &mut Buf::src(b"x"), false, true), (0, Some(Stop::NoReaders)));
        t.close(id, false, true);
        assert!(t.is_empty());
        assert_eq!(t.bytes, 0);
    }

    #[test]
    fn packets_are_read_one_at_a_time_and_a_short_read_drops_the_rest() {
        let (mut t, id) = pipe();
        t.write(id, &mut Buf::src(b"first"), true, true);
        t.write(id, &mut Buf::src(b"second"), true, true);
        assert_eq!(t.get(id).unwrap().occupancy(), 2, "packets never merge");
        let mut out = Buf::dst(100);
        assert_eq!(t.read(id, &mut out), (5, None));
        let mut short = Buf::dst(3);
        assert_eq!(t.read(id, &mut short), (3, None));
        assert_eq!(short.got(), b"sec");
        assert!(t.get(id).unwrap().is_empty());
    }

    #[test]
    fn a_fault_keeps_what_could_not_be_copied() {
        let (mut t, id) = pipe();
        // Writing: the faulting page is not written, the whole ones before it are.
        let mut src = Buf::src(&[7; 10000]);
        src.ok = 5000;
        assert_eq!(t.write(id, &mut src, false, true), (4096, Some(Stop::Fault)));
        assert_eq!(t.get(id).unwrap().len(), 4096);
        // Reading: a buffer the destination cannot take whole stays.
        let mut dst = Buf::dst(4096);
        dst.ok = 100;
        assert_eq!(t.read(id, &mut dst), (0, Some(Stop::Fault)));
        assert_eq!(t.get(id).unwrap().len(), 4096);
    }

    #[test]
    fn set_size_rounds_refuses_to_drop_data_and_respects_the_maximum() {
        let (mut t, id) = pipe();
        assert_eq!(round_pipe_size(0), 4096);
        assert_eq!(round_pipe_size(4097), 8192);
        assert_eq!(round_pipe_size(u32::MAX), 0);
        assert_eq!(round_pipe_size(1 << 31), 1 << 31);
        t.write(id, &mut Buf::src(&[0; 3 * 4096]), false, true);
        assert_eq!(t.set_size(id, 2, 1 << 20), Err(linux_abi::Errno::EBUSY));
        assert_eq!(t.set_size(id, 4, 1 << 20), Ok(16384));
        assert_eq!(t.set_size(id, 256, 1 << 20), Ok(1 << 20));
        assert_eq!(t.set_size(id, 512, 1 << 20), Err(linux_abi::Errno::EPERM));
        assert_eq!(t.set_size(id, 1, 1 << 20), Err(linux_abi::Errno::EBUSY));
    }

    #[test]
    fn splice_moves_whole_buffers_and_splits_the_last_and_tee_copies() {
        let (mut t, a) = pipe();
        let b = t.create(1000, 0);
        let c = t.create(1000, 0);
        t.write(a, &mut Buf::src(&[1; 5000]), false, true);
        assert_eq!(t.tee(a, c, 4500), 4500);
        assert_eq!(t.get(a).unwrap().len(), 5000, "tee consumes nothing");
        assert_eq!(t.splice(a, b, 4500), 4500);
        assert_eq!(t.get(a).unwrap().len(), 500);
        assert_eq!(t.get(b).unwrap().occupancy(), 2);
        // The split part is plain: a small write does not merge into it.
        t.write(b, &mut Buf::src(b"z"), false, true);
        assert_eq!(t.get(b).unwrap().occupancy(), 3);
        let mut out = Buf::dst(10000);
        assert_eq!(t.read(c, &mut out), (4500, None));
    }

    #[test]
    fn pipe_memory_is_bounded_by_the_budget() {
        let mut t = Pipes::with_limit(3 * PAGE);
        let id = t.create(0, 0);
        assert_eq!(t.write(id, &mut Buf::src(&[0; 5 * PAGE]), false, true), (3 * PAGE, Some(Stop::NoMemory)));
        t.read(id, &mut Buf::dst(PAGE));
        assert_eq!(t.write(id, &mut Buf::src(&[0; PAGE]), false, true), (PAGE, None));
    }

    #[test]
    fn a_user_over_the_soft_limit_gets_two_slot_pipes() {
        let mut t = Pipes::default();
        for _ in 0..(PIPE_USER_PAGES_SOFT as usize / PIPE_DEF_BUFFERS) {
            t.create(5, 0);
        }
        let small = t.create(5, 0);
        assert_eq!(t.get(small).unwrap().capacity(), 2 * PAGE);
        assert_eq!(t.set_size(small, 16, 1 << 20), Err(linux_abi::Errno::EPERM));
        let other = t.create(6, 0);
        assert_eq!(t.get(other).unwrap().capacity(), 16 * PAGE);
    }
}
