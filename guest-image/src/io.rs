//! Console output through write(2) on fds 1 and 2.

use core::fmt::{self, Write};

struct Fd(i32);

impl Write for Fd {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s.as_bytes();
        while !rest.is_empty() {
            let n = crate::sys::write(self.0, rest);
            if n <= 0 {
                return Err(fmt::Error);
            }
            rest = &rest[n as usize..];
        }
        Ok(())
    }
}

/// Writes formatted text to standard output.
pub fn print_fmt(args: fmt::Arguments) {
    let _ = Fd(1).write_fmt(args);
}

/// Writes formatted text to standard error.
pub fn eprint_fmt(args: fmt::Arguments) {
    let _ = Fd(2).write_fmt(args);
}

/// `print!` for guest programs.
#[macro_export]
macro_rules! print {
    ($($t:tt)*) => { $crate::io::print_fmt(format_args!($($t)*)) };
}

/// `println!` for guest programs.
#[macro_export]
macro_rules! println {
    ($($t:tt)*) => { $crate::io::print_fmt(format_args!("{}\n", format_args!($($t)*))) };
}
