//! Command-line arguments read from the Linux initial stack.

/// The program's argv, borrowed from the initial stack.
pub struct Args {
    argc: usize,
    argv: *const *const u8,
}

impl Args {
    /// # Safety
    /// `sp` must point at a Linux initial stack (argc, then argv pointers to
    /// NUL-terminated strings).
    pub unsafe fn from_initial_stack(sp: *const usize) -> Self {
        Args { argc: *sp, argv: sp.add(1) as *const *const u8 }
    }

    /// Number of arguments, including the program name.
    pub fn len(&self) -> usize {
        self.argc
    }

    /// True when there are no arguments at all (not even a program name).
    pub fn is_empty(&self) -> bool {
        self.argc == 0
    }

    /// Argument `i` as bytes, without its terminating NUL.
    pub fn get(&self, i: usize) -> Option<&'static [u8]> {
        if i >= self.argc {
            return None;
        }
        // SAFETY: i < argc, and the kernel placed argc valid C strings.
        unsafe {
            let p = *self.argv.add(i);
            let mut n = 0;
            while *p.add(n) != 0 {
                n += 1;
            }
            Some(core::slice::from_raw_parts(p, n))
        }
    }

    /// Argument `i` parsed as an unsigned decimal or 0x-prefixed hex number.
    pub fn number(&self, i: usize) -> Option<u64> {
        parse_u64(self.get(i)?)
    }
}

/// Parses a decimal or 0x-prefixed hexadecimal number; None on overflow or junk.
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    let (digits, radix) = match s {
        [b'0', b'x' | b'X', rest @ ..] => (rest, 16),
        _ => (s, 10),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        let d = (c as char).to_digit(radix)? as u64;
        v = v.checked_mul(radix as u64)?.checked_add(d)?;
    }
    Some(v)
}
