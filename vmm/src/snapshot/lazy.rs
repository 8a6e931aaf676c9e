//! Lazy restore: guest RAM populated on first touch through userfaultfd.
//!
//! Owns `Pager`: a userfaultfd registered (MISSING mode) over the VMM's whole
//! mapping of guest RAM, and a handler thread. Any first touch of a page,
//! by the guest through KVM (the guest-physical, "EPT-level" fault: KVM's
//! get_user_pages on the slot's host address blocks in the kernel) or by the
//! VMM itself (the engine reading a page table), suspends the toucher until
//! the handler fills the page's whole 2 MiB chunk: UFFDIO_COPY from the
//! snapshot's memory file after checking the chunk's CRC, or UFFDIO_ZEROPAGE
//! for a chunk the snapshot does not hold. A chunk that fails its CRC ends
//! the process with status 2 and a message naming the chunk: the guest can
//! never run on corrupt memory, and nothing on disk is written. One of the
//! few files with `unsafe`.

use super::format::{self, Chunk, CHUNK};
use crate::error::VmmError;
use crate::vm::GuestRam;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

const fn iowr(nr: u64, size: usize) -> u64 {
    (3 << 30) | ((size as u64) << 16) | (0xAA << 8) | nr
}

#[repr(C)]
struct UffdioApi {
    api: u64,
    features: u64,
    ioctls: u64,
}
#[repr(C)]
struct UffdioRange {
    start: u64,
    len: u64,
}
#[repr(C)]
struct UffdioRegister {
    range: UffdioRange,
    mode: u64,
    ioctls: u64,
}
#[repr(C)]
struct UffdioCopy {
    dst: u64,
    src: u64,
    len: u64,
    mode: u64,
    copy: i64,
}
#[repr(C)]
struct UffdioZeropage {
    range: UffdioRange,
    mode: u64,
    zeropage: i64,
}

const UFFD_API: u64 = 0xAA;
const UFFDIO_API: u64 = iowr(0x3F, std::mem::size_of::<UffdioApi>());
const UFFDIO_REGISTER: u64 = iowr(0x00, std::mem::size_of::<UffdioRegister>());
const UFFDIO_COPY: u64 = iowr(0x03, std::mem::size_of::<UffdioCopy>());
const UFFDIO_ZEROPAGE: u64 = iowr(0x04, std::mem::size_of::<UffdioZeropage>());
/// _IOR('\xAA', 0x02, struct uffdio_range)
const UFFDIO_WAKE: u64 = (2 << 30) | ((std::mem::size_of::<UffdioRange>() as u64) << 16) | (0xAA << 8) | 0x02;
const UFFDIO_REGISTER_MODE_MISSING: u64 = 1;
const UFFD_EVENT_PAGEFAULT: u8 = 0x12;

/// Counters of the pager.
#[derive(Default)]
pub struct PagerStats {
    pub faults: AtomicU64,
    pub chunks_copied: AtomicU64,
    pub chunks_zeroed: AtomicU64,
}

/// The userfaultfd and its handler thread.
pub struct Pager {
    stop: File,
    thread: Option<JoinHandle<()>>,
    pub stats: Arc<PagerStats>,
}

fn ioctl<T>(fd: i32, req: u64, arg: &mut T) -> std::io::Result<()> {
    // SAFETY: every caller passes the argument struct that `req` encodes
    // (sizes are part of the request numbers above) for a userfaultfd it owns.
    let r = unsafe { libc::ioctl(fd, req as _, arg as *mut T) };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

struct Handler {
    uffd: File,
    base: u64,
    size: u64,
    memory: File,
    dir: PathBuf,
    chunks: Vec<Chunk>,
    done: Vec<bool>,
    buf: Vec<u8>,
    stats: Arc<PagerStats>,
}

impl Handler {
    fn serve(&mut self, addr: u64) {
        let off = addr.wrapping_sub(self.base);
        if off >= self.size {
            return;
        }
        let chunk = off / CHUNK;
        let start = self.base + chunk * CHUNK;
        let len = format::chunk_len(chunk, self.size);
        let fd = self.uffd.as_raw_fd();
        if self.done[chunk as usize] {
            // Raced with a fault we already served: just wake the waiter.
            let mut r = UffdioRange { start: addr & !0xfff, len: 4096 };
            let _ = ioctl(fd, UFFDIO_WAKE, &mut r);
            return;
        }
        match self.chunks.binary_search_by_key(&chunk, |c| c.index) {
            Ok(i) => {
                let c = self.chunks[i];
                if let Err(e) = super::chunks::read_chunk(&self.memory, &self.dir, &c, self.size, &mut self.buf) {
                    eprintln!("vmm: error: {e}");
                    std::process::exit(2);
                }
                let mut cp = UffdioCopy { dst: start, src: self.buf.as_ptr() as u64, len, mode: 0, copy: 0 };
                if ioctl(fd, UFFDIO_COPY, &mut cp).is_err() {
                    self.per_page(start, len, true);
                }
                self.stats.chunks_copied.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                let mut z = UffdioZeropage { range: UffdioRange { start, len }, mode: 0, zeropage: 0 };
                if ioctl(fd, UFFDIO_ZEROPAGE, &mut z).is_err() {
                    self.buf[..len as usize].fill(0);
                    self.per_page(start, len, false);
                }
                self.stats.chunks_zeroed.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.done[chunk as usize] = true;
    }

    /// Page-by-page copy from `buf` (some pages of the chunk already exist).
    fn per_page(&mut self, start: u64, len: u64, _data: bool) {
        let fd = self.uffd.as_raw_fd();
        for p in (0..len).step_by(4096) {
            let mut cp = UffdioCopy { dst: start + p, src: self.buf.as_ptr() as u64 + p, len: 4096, mode: 0, copy: 0 };
            // EEXIST: the page is there already; anything else leaves the
            // waiter to fault again and come back here.
            let _ = ioctl(fd, UFFDIO_COPY, &mut cp);
        }
        let mut r = UffdioRange { start, len };
        let _ = ioctl(fd, UFFDIO_WAKE, &mut r);
    }

    fn run(mut self, stop: i32) {
        let mut msgs = [0u8; 32 * 16];
        loop {
            let mut fds = [
                libc::pollfd { fd: self.uffd.as_raw_fd(), events: libc::POLLIN, revents: 0 },
                libc::pollfd { fd: stop, events: libc::POLLIN, revents: 0 },
            ];
            // SAFETY: `fds` is a valid array of two pollfd for the call.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
            if n < 0 {
                if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return;
            }
            if fds[1].revents != 0 {
                return;
            }
            // SAFETY: reading into our own buffer of the given length.
            let got = unsafe { libc::read(self.uffd.as_raw_fd(), msgs.as_mut_ptr() as *mut _, msgs.len()) };
            if got <= 0 {
                continue;
            }
            for m in msgs[..got as usize].chunks_exact(32) {
                if m[0] == UFFD_EVENT_PAGEFAULT {
                    self.stats.faults.fetch_add(1, Ordering::Relaxed);
                    let addr = u64::from_le_bytes(m[16..24].try_into().expect("8 bytes"));
                    self.serve(addr);
                }
            }
        }
    }
}

impl Pager {
    /// Registers `ram` (untouched so far) and starts serving its faults from
    /// `memory` (the snapshot's memory file, chunks listed in `chunks`).
    pub fn start(ram: &GuestRam, memory: File, dir: PathBuf, chunks: Vec<Chunk>) -> Result<Pager, VmmError> {
        // SAFETY: plain syscall; the result is a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_userfaultfd, libc::O_CLOEXEC | libc::O_NONBLOCK) } as i32;
        if fd < 0 {
            return Err(VmmError::Host(
                "userfaultfd (lazy restore needs it: root, or vm.unprivileged_userfaultfd=1)",
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: `fd` is a fresh descriptor nothing else owns.
        let uffd = unsafe { File::from_raw_fd(fd) };
        let mut api = UffdioApi { api: UFFD_API, features: 0, ioctls: 0 };
        ioctl(fd, UFFDIO_API, &mut api).map_err(|e| VmmError::Host("UFFDIO_API", e))?;
        let base = ram.host_base()? as u64;
        let mut reg = UffdioRegister { range: UffdioRange { start: base, len: ram.size }, mode: UFFDIO_REGISTER_MODE_MISSING, ioctls: 0 };
        ioctl(fd, UFFDIO_REGISTER, &mut reg).map_err(|e| VmmError::Host("UFFDIO_REGISTER of guest RAM", e))?;
        // SAFETY: plain syscall; the result is a new descriptor or -1.
        let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if efd < 0 {
            return Err(VmmError::Host("eventfd", std::io::Error::last_os_error()));
        }
        // SAFETY: `efd` is a fresh descriptor nothing else owns.
        let stop = unsafe { File::from_raw_fd(efd) };
        let stats = Arc::new(PagerStats::default());
        let n = ram.size.div_ceil(CHUNK) as usize;
        let h = Handler {
            uffd,
            base,
            size: ram.size,
            memory,
            dir,
            chunks,
            done: vec![false; n],
            buf: vec![0; CHUNK as usize],
            stats: stats.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("uffd-pager".into())
            .spawn(move || h.run(efd))
            .map_err(|e| VmmError::Host("spawning the userfaultfd thread", e))?;
        Ok(Pager { stop, thread: Some(thread), stats })
    }
}

impl Drop for Pager {
    fn drop(&mut self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writing 8 bytes from a local to our eventfd.
        unsafe { libc::write(self.stop.as_raw_fd(), one.as_ptr() as *const _, 8) };
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
