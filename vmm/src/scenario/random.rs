//! Random scenarios for `vmm diff --random`, and shrinking a divergent one.
//!
//! Owns a deterministic generator (SplitMix64 from the seed, so a seed names
//! a scenario forever) over a few regions of one backing, with the operations
//! whose interplay is subtle: probes, mprotect, munmap, mremap, the madvise
//! family (guard regions included), mlock, fork blocks, maps and pagemap.
//! Offsets deliberately run past region ends so holes are exercised.
//! Shrinking removes statements (whole fork blocks first) while the
//! divergence persists, which yields a short reproducer.

use crate::cli::RandomVocabulary;

/// SplitMix64.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

const PROTS: &[&str] = &["PROT_READ|PROT_WRITE", "PROT_READ", "PROT_NONE", "PROT_READ|PROT_WRITE", "PROT_READ|PROT_EXEC"];
const ADVICE: &[&str] = &[
    "MADV_DONTNEED",
    "MADV_GUARD_INSTALL",
    "MADV_GUARD_REMOVE",
    "MADV_GUARD_INSTALL",
    "MADV_DONTFORK",
    "MADV_DOFORK",
    "MADV_WIPEONFORK",
    "MADV_KEEPONFORK",
    "MADV_POPULATE_READ",
    "MADV_POPULATE_WRITE",
    "MADV_FREE",
    "MADV_RANDOM",
    "MADV_NORMAL",
    "MADV_REMOVE",
];

/// Generates scenario `index` of the series named by `seed` (the memory vocabulary).
pub fn generate(seed: u64, index: u64) -> String {
    generate_with(seed, index, RandomVocabulary::Memory)
}

/// The kernel vocabulary's statements: read(2)/write(2)/pread/pwrite of the
/// scratch file `f` into and out of a region (ranges past its end, across
/// guards and holes, so short counts and EFAULT come up), process_madvise
/// of the process itself, and smaps.
fn kernel_statement(r: &mut Rng, name: &str, pages: u64) -> String {
    let at = r.below(pages + 2);
    let len = 1 + r.below(pages + 1);
    // Sub-page offsets: copies that start or stop inside a page.
    let skew = *r.pick(&["", " + 100", " - 7", " + 4090"]);
    match r.below(7) {
        0 => format!("sysread(f, {name} + {at}*PAGE{skew}, {len}*PAGE)"),
        1 => format!("syswrite(f, {name} + {at}*PAGE{skew}, {len}*PAGE)"),
        2 => format!("pread(f, {name} + {at}*PAGE{skew}, {len}*PAGE, {}*PAGE)", r.below(8)),
        3 => format!("pwrite(f, {name} + {at}*PAGE{skew}, {len}*PAGE, {}*PAGE)", r.below(8)),
        4 => format!("lseek(f, {}*PAGE, SEEK_SET)", r.below(8)),
        5 => {
            let advice =
                *r.pick(&["MADV_COLD", "MADV_PAGEOUT", "MADV_WILLNEED", "MADV_GUARD_INSTALL", "MADV_DONTNEED", "MADV_POPULATE_READ"]);
            let pidfd = *r.pick(&["PIDFD_SELF", "PIDFD_SELF_PROCESS"]);
            format!("process_madvise({pidfd}, {advice}, 0, {name} + {at}*PAGE, {len}*PAGE)")
        }
        _ => format!("smaps({name}, {pages}*PAGE)"),
    }
}

/// Generates scenario `index` of the series named by `seed` in `vocabulary`.
/// The kernel vocabulary draws the memory vocabulary's statements with the
/// same generator and replaces some with kernel ones, so its series differ.
pub fn generate_with(seed: u64, index: u64, vocabulary: RandomVocabulary) -> String {
    let mut r = Rng::new(seed.wrapping_mul(0x1000_0000_01b3) ^ index.wrapping_mul(0x9e37_79b9));
    let backing = *r.pick(&["anon", "shmem", "file"]);
    let mut s = format!("# vmm diff --random, seed {seed}, scenario {index}\nbacking {backing}\n");
    let mut regions: Vec<(String, u64)> = Vec::new();
    let nregions = 1 + r.below(3);
    for i in 0..nregions {
        let pages = 1 + r.below(12);
        let name = ["a", "b", "c"][i as usize].to_string();
        s.push_str(&format!("{name} = map({pages}*PAGE, {})\n", r.pick(PROTS)));
        regions.push((name, pages));
    }
    let kernel = vocabulary == RandomVocabulary::Kernel;
    if kernel {
        s.push_str("f = file(\"scratch\", 8, PAGE_INDEX)\n");
    }
    let mut fresh = 0;
    let ops = 10 + r.below(30);
    let mut in_fork = 0;
    for _ in 0..ops {
        let (name, pages) = r.pick(&regions).clone();
        let at = r.below(pages + 2);
        let len = 1 + r.below(pages + 1);
        let indent = if in_fork > 0 { "  " } else { "" };
        let line = if kernel && r.below(3) == 0 { kernel_statement(&mut r, &name, pages) } else { String::new() };
        let line = if !line.is_empty() {
            line
        } else {
            match r.below(17) {
                0..=2 => format!("read({name} + {at}*PAGE)"),
                3..=4 => format!("write({name} + {at}*PAGE, {})", 1 + r.below(250)),
                5 => format!("mprotect({name} + {at}*PAGE, {len}*PAGE, {})", r.pick(PROTS)),
                6..=8 => format!("madvise({name} + {at}*PAGE, {len}*PAGE, {})", r.pick(ADVICE)),
                9 => format!("munmap({name} + {at}*PAGE, {len}*PAGE)"),
                10 if in_fork == 0 => {
                    fresh += 1;
                    let newlen = 1 + r.below(pages + 4);
                    let n = format!("m{fresh}");
                    let l = format!("{n} = mremap({name} + {at}*PAGE, {len}*PAGE, {newlen}*PAGE, MREMAP_MAYMOVE)");
                    regions.push((n, newlen));
                    l
                }
                11 => {
                    if r.below(2) == 0 {
                        format!("mlock({name} + {at}*PAGE, {len}*PAGE)")
                    } else {
                        format!("munlock({name} + {at}*PAGE, {len}*PAGE)")
                    }
                }
                12 if in_fork == 0 => {
                    in_fork = 1 + r.below(4);
                    s.push_str("fork {\n");
                    continue;
                }
                13 => "maps".to_string(),
                14 => format!("pagemap({name}, {pages}*PAGE)"),
                // Linux's remap_file_pages emulation (prot 0): VMA splits, new
                // offsets, EINVAL on private or anonymous memory.
                15 => format!("remap_file_pages({name} + {at}*PAGE, {len}*PAGE, 0, {}, 0)", r.below(100)),
                _ => format!("exec({name} + {at}*PAGE)"),
            }
        };
        s.push_str(indent);
        s.push_str(&line);
        s.push('\n');
        if in_fork > 0 {
            in_fork -= 1;
            if in_fork == 0 {
                s.push_str("}\n");
            }
        }
    }
    if in_fork > 0 {
        s.push_str("}\n");
    }
    for (name, pages) in &regions {
        s.push_str(&format!("pagemap({name}, {pages}*PAGE)\n"));
        if kernel {
            s.push_str(&format!("smaps({name}, {pages}*PAGE)\n"));
        }
    }
    s.push_str("maps\n");
    s
}

/// The statements of a scenario as removable units: a fork block is one unit
/// (with its closing brace), every other non-empty line is one.
fn units(src: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    let mut depth = 0;
    for l in src.lines() {
        let t = l.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        cur.push(l.to_string());
        if t.ends_with('{') {
            depth += 1;
        }
        if t == "}" {
            depth -= 1;
        }
        if depth == 0 {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Shrinks `src` while `still_diverges` holds: removes units one at a time
/// (the `backing` line and bindings stay when their removal breaks the file,
/// which `still_diverges` reports as false).
pub fn shrink(src: &str, mut still_diverges: impl FnMut(&str) -> bool) -> String {
    let mut best = units(src);
    let join = |u: &[Vec<String>]| u.iter().flatten().cloned().collect::<Vec<_>>().join("\n") + "\n";
    loop {
        let mut progress = false;
        let mut i = 0;
        while i < best.len() {
            let mut candidate = best.clone();
            candidate.remove(i);
            if still_diverges(&join(&candidate)) {
                best = candidate;
                progress = true;
            } else {
                i += 1;
            }
        }
        if !progress {
            break;
        }
    }
    join(&best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_compiles() {
        for i in 0..50 {
            let a = generate(7, i);
            assert_eq!(a, generate(7, i));
            let ast = super::super::parser::parse("r", &a).unwrap_or_else(|e| panic!("{e}\n{a}"));
            super::super::compile::compile(&ast).unwrap_or_else(|e| panic!("{e}\n{a}"));
        }
        assert_ne!(generate(7, 1), generate(8, 1));
        for i in 0..50 {
            let a = generate_with(7, i, RandomVocabulary::Kernel);
            let ast = super::super::parser::parse("r", &a).unwrap_or_else(|e| panic!("{e}\n{a}"));
            super::super::compile::compile(&ast).unwrap_or_else(|e| panic!("{e}\n{a}"));
        }
        assert!((0..20).any(|i| generate_with(7, i, RandomVocabulary::Kernel).contains("sysread(f")));
    }

    #[test]
    fn shrinking_keeps_only_what_the_divergence_needs() {
        let src = "backing anon\na = map(PAGE, PROT_READ)\nread(a)\nfork {\n  read(a)\n}\nwrite(a, 1)\nmaps\n";
        let out = shrink(src, |s| s.contains("write(a, 1)") && s.contains("a = map"));
        assert_eq!(out, "a = map(PAGE, PROT_READ)\nwrite(a, 1)\n");
    }
}
