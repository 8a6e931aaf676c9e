//! What `vmm compare` rewrites before comparing, because it must differ
//! between two runs of the same program (docs/compare.md lists these rules;
//! `--exact` turns them off):
//!
//! - **addresses**: `0x` followed by 8 or more hex digits becomes `0xADDR`
//!   (the microVM's layout is not the host's: no ASLR, another mmap base);
//! - **times**: a number with a time unit (`12ms`, `0.5 s`, `3 us`, `7 µs`,
//!   `2 seconds`, ...) becomes `TIME`;
//! - **the program's pid**: natively, the program's own pid written as a
//!   whole number becomes `1`, its pid in the microVM. Other pids (children)
//!   are left alone: print relations rather than numbers.

/// Which rules apply.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    pub enabled: bool,
}

const UNITS_JOINED: &[&str] = &["ns", "us", "µs", "ms", "s"];
const UNITS_SPACED: &[&str] = &["ns", "us", "µs", "ms", "s", "sec", "secs", "seconds", "msec", "usec", "nsec"];

fn word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `text` with the rules applied; `pid` is the native program's pid (None
/// for the microVM's output).
pub fn normalize(text: &str, rules: Rules, pid: Option<u32>) -> String {
    if !rules.enabled {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts_word = i == 0 || !word_char(chars[i - 1]);
        if starts_word && c == '0' && chars.get(i + 1) == Some(&'x') {
            let digits = chars[i + 2..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
            if digits >= 8 && !chars.get(i + 2 + digits).is_some_and(|c| word_char(*c)) {
                out.push_str("0xADDR");
                i += 2 + digits;
                continue;
            }
        }
        if starts_word && c.is_ascii_digit() {
            let int_len = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            let mut end = i + int_len;
            if chars.get(end) == Some(&'.') && chars.get(end + 1).is_some_and(char::is_ascii_digit) {
                end += 1 + chars[end + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            }
            if let Some(after) = time_unit_end(&chars, end) {
                out.push_str("TIME");
                i = after;
                continue;
            }
            let whole = !chars.get(i + int_len).is_some_and(|c| word_char(*c) || *c == '.');
            let number: String = chars[i..i + int_len].iter().collect();
            if whole && pid.is_some_and(|p| number == p.to_string()) {
                out.push('1');
                i += int_len;
                continue;
            }
            out.extend(&chars[i..end]);
            i = end;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Where a time unit right after a number at `at` ends, if there is one.
fn time_unit_end(chars: &[char], at: usize) -> Option<usize> {
    let unit_at = |start: usize, units: &[&str]| {
        units
            .iter()
            .filter_map(|u| {
                let n = u.chars().count();
                let ok = chars.get(start..start + n).is_some_and(|w| w.iter().copied().eq(u.chars()))
                    && !chars.get(start + n).is_some_and(|c| word_char(*c));
                ok.then_some(start + n)
            })
            .max()
    };
    unit_at(at, UNITS_JOINED).or_else(|| if chars.get(at) == Some(&' ') { unit_at(at + 1, UNITS_SPACED) } else { None })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ON: Rules = Rules { enabled: true };

    #[test]
    fn addresses_times_and_the_programs_pid_are_rewritten() {
        assert_eq!(normalize("mapped at 0x7f12345000 and 0x1000", ON, None), "mapped at 0xADDR and 0x1000");
        assert_eq!(normalize("took 12ms, then 0.5 s, 3 us, 2 seconds", ON, None), "took TIME, then TIME, TIME, TIME");
        assert_eq!(normalize("pid 4242 child 4243 x4242 4242.5", ON, Some(4242)), "pid 1 child 4243 x4242 4242.5");
        assert_eq!(normalize("3 sheep, 10 items, v2s", ON, None), "3 sheep, 10 items, v2s");
        assert_eq!(normalize("0x7f12345000 12ms", Rules { enabled: false }, Some(12)), "0x7f12345000 12ms");
    }
}
