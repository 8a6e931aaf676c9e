//! Comparing the microVM's trace with the host kernel's.

use super::trace::Trace;

/// The first place where the two traces disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// Scenario line (0 for the fixture, u32::MAX at the end).
    pub line: u32,
    pub vm: String,
    pub host: String,
}

/// Normalisations for what Linux leaves to heuristics (listed in
/// docs/scenarios.md under "Intentional divergences").
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Normalise {
    None,
    /// Regular files: which file pages readahead put in the page cache (and
    /// so which ones fault-around maps) is the host filesystem's heuristic,
    /// so pagemap's present/absent for file pages ('F' and '.') is not
    /// compared, nor mincore's residency digits.
    FilePagePresence,
}

fn normalise(text: &str, how: Normalise) -> String {
    match how {
        Normalise::None => text.to_string(),
        Normalise::FilePagePresence => match text.split_once(": ") {
            Some((head, pages)) if head.starts_with("pagemap ") => {
                format!("{head}: {}", pages.chars().map(|c| if c == 'F' || c == '.' { '~' } else { c }).collect::<String>())
            }
            // mincore's residency of file pages is the same heuristic (and
            // writeback timing): only the shape of the answer is compared.
            Some((head, pages)) if head.starts_with("mincore ") && !pages.starts_with('-') => {
                format!("{head}: {}", pages.chars().map(|c| if c == '0' || c == '1' { '~' } else { c }).collect::<String>())
            }
            // smaps: resident pages of a regular file are the same
            // heuristic, and so is how many mappings share one (Pss,
            // Shared/Private, and Locked, which is the locked pages' Pss);
            // sizes, anonymous (COW) pages and flags are still compared.
            _ if text.contains(" VmFlags ") && text.contains(" Rss ") => {
                let mut out = Vec::new();
                let mut hide = false;
                for w in text.split(' ') {
                    out.push(if hide { "~" } else { w });
                    hide = matches!(w, "Rss" | "Pss" | "Shared" | "Private" | "Locked");
                }
                out.join(" ")
            }
            _ => text.to_string(),
        },
    }
}

/// Compares traces entry by entry, then how they ended.
pub fn compare(vm: &Trace, host: &Trace) -> Option<Divergence> {
    compare_with(vm, host, Normalise::None)
}

/// Compares traces after normalising what Linux leaves unspecified.
pub fn compare_with(vm: &Trace, host: &Trace, how: Normalise) -> Option<Divergence> {
    let n = vm.entries.len().max(host.entries.len());
    for i in 0..n {
        match (vm.entries.get(i), host.entries.get(i)) {
            (Some(a), Some(b)) if a.line == b.line && normalise(&a.text, how) == normalise(&b.text, how) => {}
            (a, b) => {
                let line = a.or(b).map_or(u32::MAX, |e| e.line);
                let show = |e: Option<&super::trace::Entry>| {
                    e.map_or_else(|| "(nothing: the run ended)".to_string(), |e| format!("L{} {}", e.line, e.text))
                };
                return Some(Divergence { line, vm: show(a), host: show(b) });
            }
        }
    }
    if vm.status != host.status || vm.failed != host.failed {
        return Some(Divergence {
            line: u32::MAX,
            vm: format!("ended with status {} ({:?} failed)", vm.status, vm.failed),
            host: format!("ended with status {} ({:?} failed)", host.status, host.failed),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_page_presence_is_not_compared_but_guards_are() {
        let a = Trace::parse("L6 pagemap b+0x0: FFFGG.\nEND 0 failed\n", 0);
        let b = Trace::parse("L6 pagemap b+0x0: ..FGGF\nEND 0 failed\n", 0);
        assert_eq!(compare_with(&a, &b, Normalise::FilePagePresence), None);
        assert!(compare(&a, &b).is_some());
        let c = Trace::parse("L6 pagemap b+0x0: ..F.GF\nEND 0 failed\n", 0);
        assert!(compare_with(&a, &c, Normalise::FilePagePresence).is_some());
    }

    #[test]
    fn file_residency_in_smaps_is_not_compared_but_anonymous_pages_and_flags_are() {
        let line = |rss: u32, anon: u32, flags: &str| {
            format!("L5   a+0x0-a+0x4000 Size 16 Rss {rss} Pss {rss} Shared 0 Private {rss} Anonymous {anon} LazyFree 0 Swap 0 Locked 0 VmFlags {flags}\nEND 0 failed\n")
        };
        let a = Trace::parse(&line(4, 4, "rd sh mr mw me ms"), 0);
        let b = Trace::parse(&line(16, 4, "rd sh mr mw me ms"), 0);
        assert_eq!(compare_with(&a, &b, Normalise::FilePagePresence), None);
        assert!(compare(&a, &b).is_some());
        let c = Trace::parse(&line(16, 8, "rd sh mr mw me ms"), 0);
        assert!(compare_with(&a, &c, Normalise::FilePagePresence).is_some());
        let d = Trace::parse(&line(4, 4, "rd sh mr mw me ms gu"), 0);
        assert!(compare_with(&a, &d, Normalise::FilePagePresence).is_some());
    }

    #[test]
    fn first_difference_is_reported_with_its_line() {
        let a = Trace::parse("L1 = 0\nL2 = a+0x0\nEND 0 failed\n", 0);
        let b = Trace::parse("L1 = 0\nL2 = -ENOMEM\nEND 0 failed\n", 0);
        let d = compare(&a, &b).unwrap();
        assert_eq!(d.line, 2);
        assert!(d.vm.contains("a+0x0") && d.host.contains("ENOMEM"));
        assert_eq!(compare(&a, &a), None);
    }
}
