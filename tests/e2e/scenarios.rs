//! Scenario issue: the scenario commands' contract, the corpus compared with
//! the host kernel, and a fixed batch of random scenarios.

use crate::common::*;

fn scenario_file(name: &str, text: &str) -> String {
    let p = temp_path(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

const GUARD: &str = "backing anon shmem file\na = map(10*PAGE, PROT_READ|PROT_WRITE) = ok\nfill(a, 10*PAGE, 0x79) = ok\nmadvise(a + 3*PAGE, 2*PAGE, MADV_GUARD_INSTALL) = 0\nread(a + 3*PAGE) = SIGSEGV/SEGV_MAPERR\nread(a + 2*PAGE) = 0x79\n";

#[test]
fn a_passing_scenario_passes_in_the_microvm_and_on_the_host() {
    let f = scenario_file("pass.scn", GUARD);
    for host in [false, true] {
        let args: Vec<&str> = if host { vec!["scenario", "-q", "--host", &f] } else { vec!["scenario", "-q", &f] };
        let o = vmm(&args);
        assert_eq!(o.code, 0, "host={host}\n{}{}", o.stdout, o.stderr);
        assert_eq!(o.stdout.matches("all expectations met").count(), 3, "one run per backing:\n{}", o.stdout);
    }
}

/// A repeat prints runs of identical iterations once, and an exit inside
/// one prints what the iteration collected before the process ends.
#[test]
fn repeat_collapses_identical_iterations_and_exit_inside_flushes_them() {
    let src = "a = mmap(0, 4*PAGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\ni = repeat 4 {\n  read(a + i*PAGE)\n  write(a, 1)\n}\nrepeat 3 {\n  munmap(a, PAGE) = 0\n  exit(0)\n}\n";
    let f = scenario_file("repeat.scn", src);
    for host in [false, true] {
        let args: Vec<&str> = if host { vec!["scenario", "--host", &f] } else { vec!["scenario", &f] };
        let o = vmm(&args);
        assert!(o.stdout.contains("iterations 0-3 (4):"), "host={host}\n{}", o.stdout);
        assert_eq!(o.stdout.matches("SEGV_ACCERR").count(), 1, "one run printed once:\n{}", o.stdout);
        assert!(o.stdout.contains("iteration 0:") && o.stdout.contains("exit 0"), "host={host}\n{}", o.stdout);
        assert_eq!(o.stdout.matches("munmap(a, PAGE) = 0").count(), 1, "{}", o.stdout);
    }
}

#[test]
fn a_wrong_expectation_exits_1_and_names_the_line() {
    let f = scenario_file("wrong.scn", "a = mmap(0, PAGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\nwrite(a, 1) = ok\n");
    let o = vmm(&["scenario", &f]);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    let line = o.stdout.lines().find(|l| l.contains("!! expected")).expect("the failed line is shown");
    assert!(line.trim_start().starts_with('2'), "line 2 is named: {line}");
    assert!(line.contains("SEGV_ACCERR"), "{line}");
    assert!(o.stdout.contains("1 expectation(s) failed"));
}

#[test]
fn a_malformed_file_exits_2_with_file_line_and_column() {
    for (text, at) in [
        ("read(a\n", ":1:7:"),
        ("a = mmap(0, PAGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n\nmunmap(a, nope)\n", ":3:11:"),
        ("fork {\n  read(0)\n", ":1:1:"),
        ("frob(1)\n", ":1:1:"),
    ] {
        let f = scenario_file("bad.scn", text);
        let o = vmm(&["scenario", &f]);
        assert_eq!(o.code, 2, "{text:?}: {}", o.stderr);
        assert!(o.stderr.contains(&format!("{f}{at}")), "{text:?}: {}", o.stderr);
        let o = vmm(&["diff", &f]);
        assert_eq!(o.code, 2);
    }
}

#[test]
fn diff_finds_no_divergence_on_guard_regions_across_backings() {
    let f = scenario_file("guard.scn", GUARD);
    let o = vmm(&["diff", &f]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("3 same, 0 diverged"), "{}", o.stdout);
}

#[test]
fn diff_skips_scenarios_using_our_extensions_and_says_so() {
    let f = scenario_file("ext.scn", "a = mmap(0, PAGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_DONTCOPY, -1, 0)\n");
    let o = vmm(&["diff", &f]);
    assert_eq!(o.code, 0);
    assert!(o.stdout.contains("skipped") && o.stdout.contains("MAP_DONTCOPY"), "{}", o.stdout);
}

/// The corpus (tests/scenarios) must show no divergence from the host kernel,
/// and every expectation in it must hold in both worlds.
#[test]
fn corpus_matches_linux_and_meets_its_expectations() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "scn"))
        .map(|p| p.to_str().unwrap().to_string())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the scenario corpus is missing");
    let args = |cmd: &[&'static str]| -> Vec<String> { cmd.iter().map(|s| s.to_string()).chain(files.iter().cloned()).collect() };
    for cmd in [&["diff", "-q"][..], &["scenario", "-q"][..], &["scenario", "-q", "--host"][..]] {
        let a = args(cmd);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let o = vmm(&a);
        assert_eq!(o.code, 0, "vmm {}:\n{}{}", cmd.join(" "), o.stdout, o.stderr);
    }
}

/// A fixed batch of generated scenarios (the acceptance run uses 500; CI
/// runs this batch on every change).
#[test]
fn random_scenarios_match_linux() {
    let save = temp_path("repro");
    std::fs::create_dir_all(&save).unwrap();
    let o = vmm(&["diff", "-q", "--random", "60", "--seed", "1", "--save", save.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("60 same, 0 diverged"), "{}", o.stdout);
}

/// Seed 000: remap_file_pages is Linux's unless the mapping opted in with
/// MAP_PAGEPROT; those scenarios run in the microVM with their expectations
/// (per-page SIGSEGV after DONTNEED, fork and mremap) and are skipped by diff.
#[test]
fn nonlinear_extension_scenarios_hold_in_the_microvm_and_diff_skips_them() {
    let f = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios/remap-file-pages-nonlinear.scn");
    let f = f.to_str().unwrap();
    let o = vmm(&["scenario", f]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.matches("SIGSEGV/SEGV_ACCERR").count() >= 20, "{}", o.stdout);
    assert!(o.stdout.contains("pgoff a+0x0: 7 5 0 1 4 5 6 7"), "{}", o.stdout);
    // MADV_PAGEOUT really unmapped the pages mapped once (the file's evicted,
    // dirty ones written back; shmem's kept in the cache) and skipped the page
    // mapped twice (offset 5, at pages 1 and 5); the probes after it passed on both.
    let lines: Vec<&str> = o.stdout.lines().collect();
    let after_pageout: Vec<&str> =
        lines.windows(2).filter(|w| w[0].contains("MADV_PAGEOUT")).map(|w| w[1].rsplit(": ").next().unwrap_or("")).collect();
    assert_eq!(after_pageout.len(), 2, "{}", o.stdout);
    assert_eq!(after_pageout[0], ".F...F..", "shmem pages mapped once are unmapped: {after_pageout:?}");
    assert_eq!(after_pageout[1], ".F...F..", "file pages mapped once were evicted: {after_pageout:?}");
    let o = vmm(&["diff", f]);
    assert_eq!(o.code, 0);
    assert!(o.stdout.contains("2 skipped") && o.stdout.contains("MAP_PAGEPROT"), "{}", o.stdout);
}

/// The control of the write-permission rule (mprotect-maywrite-rdonly.scn):
/// with the engine made to ignore a descriptor's O_RDONLY for MAP_SHARED
/// (the hidden `--inject shared-writes-ignore-open-mode`), the corpus file
/// must diverge from Linux at the first EACCES and fail its expectations.
#[test]
fn breaking_the_shared_write_permission_rule_makes_the_corpus_diverge() {
    let f = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios/mprotect-maywrite-rdonly.scn");
    let f = f.to_str().unwrap();
    let o = vmm(&["diff", "-q", "--inject", "shared-writes-ignore-open-mode", f]);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("mprotect-maywrite-rdonly.scn:14:") && o.stdout.contains("0 same, 1 diverged"), "{}", o.stdout);
    let o = vmm(&["scenario", "-q", "--inject", "shared-writes-ignore-open-mode", f]);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("expected -EACCES"), "{}", o.stdout);
}
