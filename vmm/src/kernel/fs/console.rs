//! The console: the guest's view of the VMM's own stdin, stdout and stderr.
//!
//! Owns where guest output goes (the VMM's stdout/stderr, or a capture
//! buffer for tests and benchmarks) and what the guest learns about these
//! descriptors. Linux answers fstat, TCGETS/TIOCGWINSZ, F_GETFL and lseek for
//! a process's standard descriptors according to what they are (a terminal,
//! a pipe, a file, /dev/null); the guest gets the same answers for what the
//! VMM's descriptors are, asked of the host when the run starts (kinds and
//! flags) or when the guest asks (terminal state). Reads of fd 0 read the
//! VMM's stdin: what it has, never more than the buffer can take; with
//! nothing there the reader sleeps (`Wait::Input`, the vCPU loop polls the
//! host's stdin) or gets EAGAIN with O_NONBLOCK, as a pipe or a terminal
//! reader does; a captured console's stdin is at end of file.

use guest_mm::Errno;
use linux_abi::stat::{Stat, S_IFCHR, S_IFIFO, S_IFMT, S_IFREG, S_IFSOCK};
use std::io::Write;

/// One of the three standard descriptors.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Stdio {
    In,
    Out,
    Err,
}

impl Stdio {
    pub const ALL: [Stdio; 3] = [Stdio::In, Stdio::Out, Stdio::Err];
    pub fn fd(self) -> i32 {
        match self {
            Stdio::In => 0,
            Stdio::Out => 1,
            Stdio::Err => 2,
        }
    }
}

/// What a host descriptor is, as far as the answers go.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum HostKind {
    Tty,
    Pipe,
    Socket,
    File,
    /// Another character device (/dev/null).
    CharDevice,
    /// Not open on the host.
    Closed,
}

impl HostKind {
    /// Whether lseek fails with ESPIPE.
    pub fn is_stream(self) -> bool {
        matches!(self, HostKind::Tty | HostKind::Pipe | HostKind::Socket)
    }
}

/// Where guest output goes.
pub enum Console {
    /// The VMM's own stdout and stderr.
    Inherit,
    /// Captured (tests, benchmarks): behaves as pipes.
    Capture(Vec<u8>, Vec<u8>),
}

/// What the guest is told about the three descriptors (fixed at boot, and
/// carried by checkpoints so a restored guest sees what it saw).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ConsoleInfo {
    pub kinds: [HostKind; 3],
    /// F_GETFL of each: access mode plus O_APPEND/O_NONBLOCK.
    pub flags: [u64; 3],
    /// mode, rdev, uid, gid, blksize of each (the rest of fstat is made up).
    pub stat: [(u32, u64, u32, u32, i64); 3],
}

impl ConsoleInfo {
    /// What the VMM's own descriptors are (Console::Inherit).
    pub fn of_host() -> ConsoleInfo {
        let mut info = ConsoleInfo::captured();
        for s in Stdio::ALL {
            let i = s.fd() as usize;
            // SAFETY: fstat writes into the zeroed struct we own; fcntl and
            // isatty only query the descriptor.
            let (st, fl, tty) = unsafe {
                let mut st: libc::stat = std::mem::zeroed();
                let r = libc::fstat(s.fd(), &mut st);
                (if r == 0 { Some(st) } else { None }, libc::fcntl(s.fd(), libc::F_GETFL), libc::isatty(s.fd()) == 1)
            };
            let Some(st) = st else {
                info.kinds[i] = HostKind::Closed;
                continue;
            };
            info.kinds[i] = match st.st_mode & S_IFMT {
                _ if tty => HostKind::Tty,
                S_IFIFO => HostKind::Pipe,
                S_IFSOCK => HostKind::Socket,
                S_IFCHR => HostKind::CharDevice,
                _ => HostKind::File,
            };
            // The kernel's F_GETFL value (libc's O_LARGEFILE is 0 on 64-bit;
            // the kernel reports 0o100000 for descriptors opened on 64-bit).
            use linux_abi::fcntl::{O_ACCMODE, O_APPEND, O_LARGEFILE, O_NONBLOCK};
            let keep = O_ACCMODE | O_APPEND | O_NONBLOCK | O_LARGEFILE;
            if fl >= 0 {
                info.flags[i] = fl as u64 & keep;
            }
            info.stat[i] = (st.st_mode, st.st_rdev, st.st_uid, st.st_gid, st.st_blksize);
        }
        info
    }

    /// A captured console (Console::Capture): stdin is /dev/null (what it
    /// reads: end of file), stdout and stderr are the write ends of pipes,
    /// as for a program started with its output captured (`vmm compare`'s
    /// native side is started that way).
    pub fn captured() -> ConsoleInfo {
        use linux_abi::fcntl::{O_LARGEFILE, O_RDONLY, O_WRONLY};
        let pipe = (S_IFIFO | 0o600, 0, 0, 0, 4096);
        let null = (linux_abi::stat::S_IFCHR | 0o666, linux_abi::stat::makedev(1, 3), 0, 0, 4096);
        ConsoleInfo {
            kinds: [HostKind::CharDevice, HostKind::Pipe, HostKind::Pipe],
            flags: [O_RDONLY | O_LARGEFILE, O_WRONLY, O_WRONLY],
            stat: [null, pipe, pipe],
        }
    }

    pub fn kind(&self, s: Stdio) -> HostKind {
        self.kinds[s.fd() as usize]
    }

    /// fstat of the descriptor: its type, permissions and device from the
    /// host; a made-up device and inode (the console's own).
    pub fn stat(&self, s: Stdio) -> Stat {
        let (mode, rdev, uid, gid, blksize) = self.stat[s.fd() as usize];
        let mode = if self.kind(s) == HostKind::Closed { S_IFREG | 0o600 } else { mode };
        Stat { dev: 0x16, ino: 1 + s.fd() as u64, nlink: 1, mode, uid, gid, rdev, blksize, ..Default::default() }
    }
}

impl Console {
    /// Writes guest output to the descriptor (stdout or stderr).
    pub fn write(&mut self, s: Stdio, data: &[u8]) -> Result<(), Errno> {
        match self {
            Console::Inherit => {
                let r = match s {
                    Stdio::Out => std::io::stdout().write_all(data).and_then(|_| std::io::stdout().flush()),
                    Stdio::Err => std::io::stderr().write_all(data),
                    Stdio::In => return Err(Errno::EBADF),
                };
                r.map_err(|e| match e.raw_os_error() {
                    Some(libc::EPIPE) => Errno::EPIPE,
                    Some(libc::ENOSPC) => Errno::ENOSPC,
                    _ => Errno::EIO,
                })
            }
            Console::Capture(out, err) => {
                match s {
                    Stdio::Out => out.extend_from_slice(data),
                    Stdio::Err => err.extend_from_slice(data),
                    Stdio::In => return Err(Errno::EBADF),
                }
                Ok(())
            }
        }
    }

    /// Whether a read of the guest's stdin would not block: the VMM's stdin
    /// has data, is at end of file, or is not readable at all (a read then
    /// fails at once). A captured console's stdin is always at end of file.
    pub fn input_ready(&self) -> bool {
        match self {
            Console::Inherit => {
                let mut p = libc::pollfd { fd: 0, events: libc::POLLIN, revents: 0 };
                // SAFETY: poll reads and writes the one pollfd we own; a zero
                // timeout never blocks.
                let r = unsafe { libc::poll(&mut p, 1, 0) };
                r != 0
            }
            Console::Capture(..) => true,
        }
    }

    /// The poll mask of one of the guest's standard descriptors: the host's
    /// answer for the VMM's own descriptor; a captured console's stdin is
    /// /dev/null (DEFAULT_POLLMASK), its stdout and stderr pipes with room.
    pub fn poll_mask(&self, s: Stdio) -> u16 {
        use linux_abi::poll::*;
        match self {
            Console::Inherit => {
                let events = if s == Stdio::In { POLLIN | POLLPRI } else { POLLOUT };
                let mut p = libc::pollfd { fd: s.fd(), events: events as i16, revents: 0 };
                // SAFETY: poll reads and writes the one pollfd we own; a zero
                // timeout never blocks.
                let r = unsafe { libc::poll(&mut p, 1, 0) };
                let rev = if r > 0 { p.revents as u16 } else { 0 };
                // The host reports what it was asked; the normal-data twins
                // come with them as the kernel's f_op->poll gives both.
                let mut m = rev & !POLLNVAL;
                if m & POLLIN != 0 {
                    m |= POLLRDNORM;
                }
                if m & POLLOUT != 0 {
                    m |= POLLWRNORM;
                }
                m
            }
            Console::Capture(..) if s == Stdio::In => DEFAULT_POLLMASK,
            Console::Capture(..) => POLLOUT | POLLWRNORM,
        }
    }

    /// Reads what the VMM's stdin has, at most `buf.len()` bytes (call only
    /// when `input_ready`, so that it does not block). 0 is end of file.
    pub fn read_input(&mut self, buf: &mut [u8]) -> Result<usize, Errno> {
        match self {
            Console::Inherit => loop {
                // SAFETY: read writes at most `buf.len()` bytes into the
                // buffer we own.
                let r = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
                if r >= 0 {
                    return Ok(r as usize);
                }
                match std::io::Error::last_os_error().raw_os_error() {
                    Some(libc::EINTR) => continue,
                    // A closed or write-only stdin reads as end of file.
                    Some(libc::EBADF) => return Ok(0),
                    Some(libc::EAGAIN) => return Err(Errno::EAGAIN),
                    _ => return Err(Errno::EIO),
                }
            },
            Console::Capture(..) => Ok(0),
        }
    }

    /// A line for the user on the VMM's stderr (kill reports, maps).
    pub fn say(&mut self, line: &str) {
        match self {
            Console::Inherit => {
                let _ = writeln!(std::io::stderr(), "{line}");
            }
            Console::Capture(_, err) => {
                let _ = writeln!(err, "{line}");
            }
        }
    }

    /// A terminal ioctl that reads state (TCGETS, TIOCGWINSZ) on a descriptor
    /// that is a terminal on the host: the host's answer, `len` bytes.
    pub fn tty_query(&self, s: Stdio, request: u64, len: usize) -> Result<Vec<u8>, Errno> {
        if !matches!(self, Console::Inherit) {
            return Err(Errno::ENOTTY);
        }
        let mut buf = vec![0u8; len.max(64)];
        // SAFETY: the buffer is larger than any of the structures the
        // allowed requests write (termios: 36 bytes, winsize: 8).
        let r = unsafe { libc::ioctl(s.fd(), request as libc::c_ulong, buf.as_mut_ptr()) };
        if r < 0 {
            return Err(Errno::new(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::ENOTTY)).unwrap_or(Errno::ENOTTY));
        }
        buf.truncate(len);
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_consoles_are_pipes_that_collect_output() {
        let info = ConsoleInfo::captured();
        assert_eq!(info.stat(Stdio::Out).mode & S_IFMT, S_IFIFO);
        assert_eq!(info.stat(Stdio::In).mode & S_IFMT, linux_abi::stat::S_IFCHR);
        assert!(info.kind(Stdio::Err).is_stream());
        let mut c = Console::Capture(Vec::new(), Vec::new());
        c.write(Stdio::Out, b"hi").unwrap();
        assert_eq!(c.write(Stdio::In, b"x"), Err(Errno::EBADF));
        assert_eq!(c.tty_query(Stdio::Out, linux_abi::tty::TCGETS, 36), Err(Errno::ENOTTY));
        match c {
            Console::Capture(o, _) => assert_eq!(o, b"hi"),
            Console::Inherit => unreachable!(),
        }
    }
}
