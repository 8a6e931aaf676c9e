//! TAP as kselftest prints it: a plan (`1..N`), one line per test
//! (`ok N name`, `not ok N name`, with `# SKIP reason`, `# TODO`, or
//! kselftest's `# XFAIL` directives), and `#` diagnostics.
//!
//! Owns the parsing of a test run's output into results keyed by test
//! number. Output with no test line is not TAP (the comparison then falls
//! back to the raw output).

use std::collections::BTreeMap;

/// One test's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    NotOk,
    Skip,
    Todo,
    Xfail,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::NotOk => "not ok",
            Verdict::Skip => "skip",
            Verdict::Todo => "todo",
            Verdict::Xfail => "xfail",
        }
    }
}

/// A parsed TAP stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tap {
    /// The plan's test count, if there was a plan.
    pub plan: Option<u32>,
    /// Test number -> (name, verdict); a repeated number keeps the last.
    pub tests: BTreeMap<u32, (String, Verdict)>,
}

/// Parses `text`; None when it holds no test line at all.
pub fn parse(text: &str) -> Option<Tap> {
    let mut tap = Tap::default();
    for line in text.lines() {
        let l = line.trim_end();
        if let Some(n) = l.strip_prefix("1..") {
            if let Ok(n) = n.trim().parse() {
                tap.plan = Some(n);
            }
            continue;
        }
        let (failed, rest) = if let Some(r) = l.strip_prefix("not ok ") {
            (true, r)
        } else if let Some(r) = l.strip_prefix("ok ") {
            (false, r)
        } else {
            continue;
        };
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let Ok(number) = rest[..digits].parse::<u32>() else { continue };
        let rest = rest[digits..].trim_start();
        let (name, directive) = match rest.split_once(" # ") {
            Some((n, d)) => (n, Some(d)),
            None => match rest.strip_prefix("# ") {
                Some(d) => ("", Some(d)),
                None => (rest, None),
            },
        };
        let name = name.trim_start_matches("- ").trim().to_string();
        let directive = directive.map(|d| d.trim_start().to_ascii_uppercase());
        let verdict = match directive.as_deref() {
            Some(d) if d.starts_with("SKIP") => Verdict::Skip,
            Some(d) if d.starts_with("TODO") => Verdict::Todo,
            Some(d) if d.starts_with("XFAIL") => Verdict::Xfail,
            _ if failed => Verdict::NotOk,
            _ => Verdict::Ok,
        };
        tap.tests.insert(number, (name, verdict));
    }
    (!tap.tests.is_empty()).then_some(tap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kselftest_lines_parse_with_their_directives() {
        let t = parse(
            "TAP version 13\n1..5\n# Starting 5 tests\nok 1 first\nnot ok 2 second\nok 3 third # SKIP no uffd\n\
             ok 4 - fourth # XFAIL known\nnot ok 5 fifth # TODO later\n# Totals: pass:1 fail:1 xfail:1 xpass:0 skip:1 error:0\n",
        )
        .unwrap();
        assert_eq!(t.plan, Some(5));
        let v: Vec<(u32, &str, Verdict)> = t.tests.iter().map(|(n, (name, v))| (*n, name.as_str(), *v)).collect();
        assert_eq!(
            v,
            [
                (1, "first", Verdict::Ok),
                (2, "second", Verdict::NotOk),
                (3, "third", Verdict::Skip),
                (4, "fourth", Verdict::Xfail),
                (5, "fifth", Verdict::Todo)
            ]
        );
    }

    #[test]
    fn output_without_test_lines_is_not_tap() {
        assert_eq!(parse("hello\nok\nokay 3\nnot ok x\n"), None);
        assert_eq!(parse("1..3\n"), None);
    }
}
