//! Reading /proc files line by line, in pieces of a fixed buffer, so that
//! files of any size (smaps of tens of thousands of VMAs) are seen whole
//! without allocation; and the address range of a maps/smaps header line.

use crate::sys;

/// "start-end" of a maps or smaps header line.
pub fn parse_range(range: &str) -> Option<(u64, u64)> {
    let (a, b) = range.split_once('-')?;
    Some((u64::from_str_radix(a, 16).ok()?, u64::from_str_radix(b, 16).ok()?))
}

/// Calls `f` with each line of a file (without its newline), reading it in
/// pieces, so that files of any size (smaps with tens of thousands of VMAs)
/// are seen whole. A line longer than the buffer is cut.
pub fn for_each_line(path: &core::ffi::CStr, mut f: impl FnMut(&[u8])) {
    let mut buf = [0u8; 8192];
    let mut have = 0usize;
    // SAFETY: the path is NUL-terminated; reads go into `buf`.
    unsafe {
        let fd = sys::syscall6(sys::SYS_OPENAT, -100isize as usize, path.as_ptr() as usize, 0, 0, 0, 0);
        if fd < 0 {
            return;
        }
        loop {
            let r = sys::syscall6(0, fd as usize, buf.as_mut_ptr().add(have) as usize, buf.len() - have, 0, 0, 0);
            if r <= 0 {
                break;
            }
            have += r as usize;
            let mut from = 0;
            while let Some(i) = buf[from..have].iter().position(|b| *b == b'\n') {
                f(&buf[from..from + i]);
                from += i + 1;
            }
            if from == 0 && have == buf.len() {
                f(&buf[..have]);
                have = 0;
                continue;
            }
            buf.copy_within(from..have, 0);
            have -= from;
        }
        if have > 0 {
            f(&buf[..have]);
        }
        sys::syscall6(sys::SYS_CLOSE, fd as usize, 0, 0, 0, 0, 0);
    }
}
