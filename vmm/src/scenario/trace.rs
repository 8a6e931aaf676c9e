//! Traces: what the runner printed, per scenario line.

/// One line of runner output: `L<line> <outcome>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub line: u32,
    pub text: String,
}

/// Everything one run of one compiled scenario produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    pub entries: Vec<Entry>,
    /// How many expectations failed, from the runner's END line.
    pub failed: Option<u32>,
    /// Runner exit status (128 + signal if killed, 124 on timeout).
    pub status: i32,
    /// Output that was not part of the trace (diagnostics).
    pub other: Vec<String>,
}

impl Trace {
    /// Parses runner output.
    pub fn parse(out: &str, status: i32) -> Trace {
        let mut t = Trace { entries: Vec::new(), failed: None, status, other: Vec::new() };
        for l in out.lines() {
            if let Some(rest) = l.strip_prefix("END ") {
                t.failed = rest.split_whitespace().next().and_then(|n| n.parse().ok());
                continue;
            }
            let parsed = l
                .strip_prefix('L')
                .and_then(|r| r.split_once(' '))
                .and_then(|(n, text)| n.parse().ok().map(|line| Entry { line, text: text.to_string() }));
            match parsed {
                Some(e) => t.entries.push(e),
                None => t.other.push(l.to_string()),
            }
        }
        t
    }

    /// Whether the run finished and met every expectation.
    pub fn passed(&self) -> bool {
        self.failed == Some(0) && self.status == 0
    }

    /// Renders the trace next to the source lines, for people.
    pub fn render(&self, source: &str) -> String {
        let lines: Vec<&str> = source.lines().collect();
        let mut out = String::new();
        let mut last = u32::MAX;
        for e in &self.entries {
            let src = if e.line == 0 { "(fixture)" } else { lines.get(e.line as usize - 1).map_or("", |s| s.trim()) };
            let mark = if e.text.contains(" !! ") { "  \u{2717}" } else { "" };
            if e.line == last {
                out.push_str(&format!("{:>5}  {:<52} {}{}\n", "", "", e.text, mark));
            } else {
                out.push_str(&format!("{:>5}  {:<52} \u{2192} {}{}\n", e.line, truncate(src, 52), e.text, mark));
            }
            last = e.line;
        }
        for o in &self.other {
            out.push_str(&format!("       {o}\n"));
        }
        out
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).chain(std::iter::once('\u{2026}')).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entries_end_and_other_output() {
        let t = Trace::parse("L3 = a+0x0\nL4 SIGSEGV/SEGV_MAPERR @a+0x3000\nnoise\nEND 0 failed\n", 0);
        assert_eq!(t.entries.len(), 2);
        assert_eq!(t.entries[1].line, 4);
        assert_eq!(t.failed, Some(0));
        assert_eq!(t.other, vec!["noise"]);
        assert!(t.passed());
    }
}
