//! `#!` scripts, as Linux's binfmt_script reads them (fs/binfmt_script.c
//! load_script): the interpreter's path and one optional argument from the
//! first line, looked for in the first BINPRM_BUF_SIZE bytes of the file.
//!
//! Only the parsing lives here (pure, on the buffer exec read); what exec
//! does with the result (argv becomes `[interp, arg?, script, argv[1..]]`,
//! the interpreter opened like the program, nesting up to 5 levels) is the
//! syscall's (`syscalls::exec`).
//!
//! The rules, exactly load_script's: the line ends at the first newline
//! before any NUL; without one, the interpreter's path must end with a
//! space, tab or NUL inside the buffer (a truncated path is not run); spaces
//! and tabs around the path are skipped; the argument is everything after
//! the path's terminator up to the line's end, less trailing spaces and
//! tabs (internal ones kept), cut at a NUL. A `#!` with no interpreter is
//! ENOEXEC.

use guest_mm::Errno;

/// How much of a file exec reads to recognise its format (BINPRM_BUF_SIZE).
pub const BINPRM_BUF_SIZE: usize = 256;

/// How many times a script may name an interpreter that is itself a script
/// before exec gives up with ELOOP (exec_binprm's depth limit).
pub const MAX_NESTING: usize = 5;

/// What a `#!` line names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interp {
    pub name: Vec<u8>,
    pub arg: Option<Vec<u8>>,
}

fn spacetab(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// The first index in `from..to` that is not a space or tab.
fn next_non_spacetab(buf: &[u8], from: usize, to: usize) -> Option<usize> {
    (from..to).find(|&i| !spacetab(buf[i]))
}

/// The first index in `from..to` holding a space, tab or NUL.
fn next_terminator(buf: &[u8], from: usize, to: usize) -> Option<usize> {
    (from..to).find(|&i| spacetab(buf[i]) || buf[i] == 0)
}

/// The C string at `from`, ending at a NUL or at `to`.
fn cstr(buf: &[u8], from: usize, to: usize) -> Vec<u8> {
    let end = (from..to).find(|&i| buf[i] == 0).unwrap_or(to);
    buf[from..end].to_vec()
}

/// Parses the start of a file (`head`: at most its first BINPRM_BUF_SIZE
/// bytes; the rest of the buffer reads as NULs, as prepare_binprm leaves
/// it). None when the file is not a script; ENOEXEC for a `#!` line that
/// names no interpreter or only a truncated one.
pub fn parse(head: &[u8]) -> Option<Result<Interp, Errno>> {
    let mut buf = [0u8; BINPRM_BUF_SIZE];
    let n = head.len().min(BINPRM_BUF_SIZE);
    buf[..n].copy_from_slice(&head[..n]);
    if &buf[..2] != b"#!" {
        return None;
    }
    Some(parse_line(&buf))
}

fn parse_line(buf: &[u8; BINPRM_BUF_SIZE]) -> Result<Interp, Errno> {
    let buf_end = BINPRM_BUF_SIZE - 1;
    // strnchr: the newline, unless a NUL comes first.
    let newline = buf.iter().take_while(|&&c| c != 0).position(|&c| c == b'\n');
    let mut i_end = match newline {
        Some(i) => i,
        None => {
            let first = next_non_spacetab(buf, 2, buf_end).ok_or(Errno::ENOEXEC)?;
            next_terminator(buf, first, buf_end).ok_or(Errno::ENOEXEC)?;
            buf_end
        }
    };
    // buf[1] is '!', so this stops at 2 at the latest.
    while spacetab(buf[i_end - 1]) {
        i_end -= 1;
    }
    let i_name = match next_non_spacetab(buf, 2, i_end) {
        Some(i) if i != i_end => i,
        _ => return Err(Errno::ENOEXEC),
    };
    let i_sep = next_terminator(buf, i_name, i_end);
    let arg = match i_sep {
        Some(s) if buf[s] != 0 => next_non_spacetab(buf, s, i_end).map(|a| cstr(buf, a, i_end)),
        _ => None,
    };
    let name_end = match (i_sep, &arg) {
        (Some(s), Some(_)) => s,
        _ => i_end,
    };
    Ok(Interp { name: cstr(buf, i_name, name_end), arg })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &[u8]) -> Option<Result<(String, Option<String>), Errno>> {
        parse(s).map(|r| r.map(|i| (String::from_utf8(i.name).unwrap(), i.arg.map(|a| String::from_utf8(a).unwrap()))))
    }

    fn ok(name: &str, arg: Option<&str>) -> Option<Result<(String, Option<String>), Errno>> {
        Some(Ok((name.into(), arg.map(str::to_string))))
    }

    #[test]
    fn a_script_names_its_interpreter_and_one_argument() {
        assert_eq!(p(b"#!/bin/sh\necho hi\n"), ok("/bin/sh", None));
        assert_eq!(p(b"#! \t/bin/sh  -e  -x \t\nrest"), ok("/bin/sh", Some("-e  -x")));
        assert_eq!(p(b"#!/bin/sh"), ok("/bin/sh", None), "no newline: the buffer's NULs end the path");
        assert_eq!(p(b"#!/x\targ"), ok("/x", Some("arg")));
        assert_eq!(p(b"#!/x a\0b\n"), ok("/x", Some("a")), "a NUL before the newline: the line is the whole buffer, cut at the NUL");
    }

    #[test]
    fn a_script_without_an_interpreter_is_enoexec_and_other_files_are_not_scripts() {
        assert_eq!(p(b"#!\n"), Some(Err(Errno::ENOEXEC)));
        assert_eq!(p(b"#!   \t\n/bin/sh"), Some(Err(Errno::ENOEXEC)));
        // Without a newline the buffer's NULs terminate an empty name: exec
        // then opens "" (the current directory: EACCES, as on the host).
        assert_eq!(p(b"#!"), ok("", None));
        assert_eq!(p(b"#! "), ok("", None));
        assert_eq!(p(b"\x7fELF"), None);
        assert_eq!(p(b"#"), None);
        assert_eq!(p(b""), None);
    }

    #[test]
    fn an_interpreter_path_truncated_by_the_buffer_is_not_run() {
        let mut long = b"#!/".to_vec();
        long.extend(std::iter::repeat_n(b'a', 300));
        assert_eq!(p(&long), Some(Err(Errno::ENOEXEC)), "no terminator within 255 bytes");
        let mut fits = b"#!/".to_vec();
        fits.extend(std::iter::repeat_n(b'a', 200));
        fits.extend(b" ");
        fits.extend(std::iter::repeat_n(b'b', 100));
        let r = parse(&fits).unwrap().unwrap();
        assert_eq!(r.name.len(), 201);
        assert_eq!(r.arg.unwrap().len(), BINPRM_BUF_SIZE - 1 - 204, "the argument is cut at the buffer's end");
    }
}
