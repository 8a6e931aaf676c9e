//! Linux's mm selftests (guard-regions, mremap_test, mremap_dontunmap,
//! madv_populate; built with glibc and musl from the folder's build.sh)
//! give the host kernel's result for every test in the microVM, apart from
//! the differences tests/linux-selftests/allowed.txt lists with a reason;
//! a listed difference that no longer occurs fails too, and so does a stale
//! docs/linux-selftests.md (the same run renders it).
//!
//! The selftests' folder: $VMM_LINUX_SELFTESTS, else ../shared/linux-selftests
//! beside the repository, else /work/shared/linux-selftests. Without one the
//! test fails (never skips).

use crate::common::*;
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("vmm/ lies in the repository").to_path_buf()
}

/// Where Linux's selftests are, or a panic saying how to point at them.
fn selftests_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("VMM_LINUX_SELFTESTS") {
        let d = PathBuf::from(d);
        assert!(d.join("build.sh").is_file(), "VMM_LINUX_SELFTESTS={} has no build.sh", d.display());
        return d;
    }
    for d in [repo_root().join("../shared/linux-selftests"), PathBuf::from("/work/shared/linux-selftests")] {
        if d.join("build.sh").is_file() {
            return d;
        }
    }
    panic!(
        "Linux's mm selftests are not at ../shared/linux-selftests or /work/shared/linux-selftests: \
         set VMM_LINUX_SELFTESTS to a folder with their sources and build.sh"
    );
}

/// One accepted difference (a line of allowed.txt).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Allowed {
    selftest: String,
    libc: String,
    number: u32,
    host: String,
    vm: String,
    reason: String,
}

const RESULTS: [&str; 6] = ["ok", "not ok", "skip", "todo", "xfail", "missing"];

/// Parses allowed.txt: `selftest | libc | number | host | vm | reason`, `#` comments.
fn parse_allowed(text: &str) -> Result<Vec<Allowed>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = l.splitn(6, '|').map(str::trim).collect();
        let bad = |why: &str| format!("allowed.txt line {}: {why}: {line}", i + 1);
        if f.len() != 6 {
            return Err(bad("needs six fields separated by |"));
        }
        if !["glibc", "musl"].contains(&f[1]) {
            return Err(bad("libc is glibc or musl"));
        }
        let number = f[2].parse().map_err(|_| bad("the test number is not a number"))?;
        if !RESULTS.contains(&f[3]) || !RESULTS.contains(&f[4]) || f[3] == f[4] {
            return Err(bad("host and vm are two different results of ok, not ok, skip, todo, xfail, missing"));
        }
        if f[5].len() < 10 {
            return Err(bad("a difference needs its reason"));
        }
        let a = Allowed { selftest: f[0].into(), libc: f[1].into(), number, host: f[3].into(), vm: f[4].into(), reason: f[5].into() };
        if out.iter().any(|b: &Allowed| (&b.selftest, &b.libc, b.number) == (&a.selftest, &a.libc, a.number)) {
            return Err(bad("listed twice"));
        }
        out.push(a);
    }
    Ok(out)
}

#[test]
fn allowed_differences_file_parses_and_refuses_malformed_lines() {
    let text = std::fs::read_to_string(repo_root().join("tests/linux-selftests/allowed.txt")).expect("reading allowed.txt");
    parse_allowed(&text).unwrap_or_else(|e| panic!("{e}"));
    let ok = "guard-regions | musl | 28 | ok | not ok | the reason why it must differ\n";
    assert_eq!(parse_allowed(ok).unwrap()[0].number, 28);
    for bad in [
        "guard-regions | musl | 28 | ok | not ok\n",
        "guard-regions | uclibc | 28 | ok | not ok | the reason why it must differ\n",
        "guard-regions | musl | x | ok | not ok | the reason why it must differ\n",
        "guard-regions | musl | 28 | ok | ok | the reason why it must differ\n",
        "guard-regions | musl | 28 | ok | fine | the reason why it must differ\n",
        "guard-regions | musl | 28 | ok | not ok | \n",
    ] {
        assert!(parse_allowed(bad).is_err(), "accepted: {bad}");
    }
    assert!(parse_allowed(&format!("{ok}{ok}")).is_err(), "a line listed twice");
}

#[test]
fn linux_selftests_match_the_host_kernel() {
    let dir = selftests_dir();
    let allowed_text = std::fs::read_to_string(repo_root().join("tests/linux-selftests/allowed.txt")).expect("reading allowed.txt");
    let allowed = parse_allowed(&allowed_text).unwrap_or_else(|e| panic!("{e}"));
    let o = vmm(&["selftests", "--json", dir.to_str().expect("a UTF-8 path")]);
    assert!(o.code == 0 || o.code == 1, "vmm selftests failed (status {}): {}", o.code, o.stderr);
    let j: serde_json::Value = serde_json::from_str(o.stdout.trim()).unwrap_or_else(|e| panic!("vmm selftests --json ({e}): {}", o.stdout));
    let outcomes = j["outcomes"].as_array().expect("outcomes");
    assert!(!outcomes.is_empty(), "no selftest was compared");
    let mut failures = Vec::new();
    let mut seen = vec![false; allowed.len()];
    for out in outcomes {
        let (selftest, libc) = (out["selftest"].as_str().unwrap_or("?"), out["libc"].as_str().unwrap_or("?"));
        let r = &out["report"];
        if r["mode"] != "tap" {
            failures.push(format!("{selftest} ({libc}): output is not TAP on both sides"));
            continue;
        }
        if r["plan"][0] != r["plan"][1] {
            failures.push(format!("{selftest} ({libc}): plan host {}, vm {}", r["plan"][0], r["plan"][1]));
        }
        let mut accepted = 0;
        for d in r["test_diffs"].as_array().expect("test_diffs") {
            let number = d["number"].as_u64().unwrap_or(0) as u32;
            let (host, vm) = (d["host"].as_str().unwrap_or("missing"), d["vm"].as_str().unwrap_or("missing"));
            let hit =
                allowed.iter().position(|a| a.selftest == selftest && a.libc == libc && a.number == number && a.host == host && a.vm == vm);
            match hit {
                Some(i) => {
                    seen[i] = true;
                    accepted += 1;
                }
                None => failures.push(format!("{selftest} ({libc}) test {number} {}: host {host}, vm {vm}", d["name"])),
            }
        }
        // kselftest's exit status follows its results, so it may differ only
        // with an accepted difference.
        if r["exit"][0] != r["exit"][1] && accepted == 0 {
            failures.push(format!("{selftest} ({libc}): exit status host {}, vm {}", r["exit"][0], r["exit"][1]));
        }
    }
    for (a, seen) in allowed.iter().zip(&seen) {
        if !seen {
            failures.push(format!(
                "allowed.txt lists {} ({}) test {}: host {}, vm {}, which no longer occurs: remove the line",
                a.selftest, a.libc, a.number, a.host, a.vm
            ));
        }
    }
    let doc = std::fs::read_to_string(repo_root().join("docs/linux-selftests.md")).unwrap_or_default();
    if doc != j["markdown"].as_str().unwrap_or("") {
        failures.push("docs/linux-selftests.md is stale: regenerate it with ci/selftests-doc.sh".into());
    }
    assert!(failures.is_empty(), "Linux's selftests differ from the host kernel:\n  {}", failures.join("\n  "));
}
