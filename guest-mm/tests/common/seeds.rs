//! How the property tests choose their cases: each runs twice, once from a
//! fixed seed (the same cases on every run, so a failure reproduces
//! anywhere) and once from a rotating seed (new cases on every run, so the
//! suite keeps exploring). Both seeds are printed straight to stderr (not
//! captured by the test harness, so CI logs show them); a failing case is
//! persisted in the test's `FILE.proptest-regressions` next to its source,
//! which is kept in the repository and replayed first on every run.
#![allow(dead_code)]

use proptest::test_runner::{Config, FileFailurePersistence, RngSeed};
use std::io::Write as _;

/// The fixed seed.
pub const FIXED_SEED: u64 = 0x16_2026;

/// Where failing cases go: `tests/NAME.proptest-regressions` beside `tests/NAME.rs`.
pub const REGRESSIONS: FileFailurePersistence = FileFailurePersistence::WithSource("proptest-regressions");

/// The rotating seed: `PROPTEST_ROTATING_SEED` if set (ci/test.sh sets and
/// prints one per run), else the clock.
pub fn rotating_seed() -> u64 {
    std::env::var("PROPTEST_ROTATING_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_secs()))
}

/// `PROPTEST_CASES` overrides the case count of every property test.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The configuration of property test `test` with `seed` (`kind`: "fixed"
/// or "rotating"), announced on stderr with how to reproduce it.
pub fn config(test: &str, kind: &str, seed: u64, cases: u32) -> Config {
    let how = if kind == "rotating" { format!("PROPTEST_ROTATING_SEED={seed} ") } else { String::new() };
    let _ = writeln!(
        std::io::stderr(),
        "property test {test}: {kind} seed {seed}, {cases} cases (reproduce: {how}cargo test --release -p guest-mm {test})"
    );
    Config { cases, rng_seed: RngSeed::Fixed(seed), failure_persistence: Some(Box::new(REGRESSIONS)), ..Config::default() }
}
