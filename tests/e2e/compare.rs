//! `vmm compare`: the program-level comparison of the microVM with the host
//! kernel, on programs that agree, that deliberately differ, that print TAP
//! (well-formed or not), and on what its normalisation rewrites.

use crate::common::*;
use crate::cprog::{corpus, Variant};
use crate::startup::cc;

fn compare(args: &[&str]) -> Out {
    let mut a = vec!["compare"];
    a.extend_from_slice(args);
    vmm(&a)
}

#[test]
fn compare_says_the_same_for_corpus_programs_in_every_variant() {
    for v in Variant::ALL {
        for prog in ["stdio", "signals"] {
            let exe = corpus().binary(prog, v);
            let o = compare(&["--", exe.to_str().unwrap()]);
            assert_eq!(o.code, 0, "{} {}: {}{}", prog, v.name(), o.stdout, o.stderr);
            assert!(o.stdout.contains(": the same; stdout same, stderr same"), "{}", o.stdout);
        }
    }
}

/// TAP whose second test passes only in the microVM (its pid is 1 there).
const DIFFERS_TAP: &str = r#"
#include <stdio.h>
#include <unistd.h>
int main(void) {
    printf("TAP version 13\n1..3\n# pid %d\n", getpid());
    printf("ok 1 always\n");
    printf("%s 2 the pid is one\n", getpid() == 1 ? "ok" : "not ok");
    printf("ok 3 skipped # SKIP for a reason\n");
    return getpid() == 1 ? 0 : 1;
}
"#;

#[test]
fn compare_reports_a_deliberate_difference_per_tap_test_and_exits_1() {
    let exe = cc("cmp-differs", DIFFERS_TAP, &["-static", "-O1"]);
    let o = compare(&["--", exe.to_str().unwrap()]);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("(TAP, 3 tests): different; 2 same, 1 differ; exit status: host 1, vm 0"), "{}", o.stdout);
    assert!(o.stdout.contains("test 2 \"the pid is one\": host not ok, vm ok"), "{}", o.stdout);
    let o = compare(&["--json", "--", exe.to_str().unwrap()]);
    let j: serde_json::Value = serde_json::from_str(o.stdout.trim()).expect("one JSON object");
    assert_eq!(
        (j["mode"].as_str(), j["same"].as_bool(), j["exit"][0].as_i64(), j["exit"][1].as_i64()),
        (Some("tap"), Some(false), Some(1), Some(0))
    );
    assert_eq!(j["test_diffs"][0]["number"], 2);
    assert_eq!((j["test_diffs"][0]["host"].as_str(), j["test_diffs"][0]["vm"].as_str()), (Some("not ok"), Some("ok")));
}

/// Test lines without numbers are not TAP: the raw output is compared.
const MALFORMED_TAP: &str = r#"
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    printf("TAP version 13\n1..2\nok first\nnot ok\n");
    if (argc > 1)
        printf("pid is one: %s\n", getpid() == 1 ? "yes" : "no");
    return 0;
}
"#;

#[test]
fn compare_falls_back_to_the_raw_output_when_tap_is_malformed() {
    let exe = cc("cmp-malformed", MALFORMED_TAP, &["-static", "-O1"]);
    let o = compare(&["--", exe.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains(": the same; stdout same, stderr same, exit status 0 both"), "{}", o.stdout);
    let o = compare(&["--", exe.to_str().unwrap(), "differ"]);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("different; stdout differs at line 5"), "{}", o.stdout);
    assert!(o.stdout.contains("  -pid is one: no\n  +pid is one: yes"), "{}", o.stdout);
}

/// Prints what must differ between two runs: its pid, an address, a time.
const NORMALISED: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
int main(void) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    void *p = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("pid %d mapped %p in %ldus\n", getpid(), p, (b.tv_nsec - a.tv_nsec) / 1000 + 1000000 * (b.tv_sec - a.tv_sec) + 1);
    fprintf(stderr, "pid %d says bye\n", getpid());
    return 0;
}
"#;

#[test]
fn compare_rewrites_the_pid_addresses_and_times_unless_exact() {
    let exe = cc("cmp-normalised", NORMALISED, &["-static", "-O1"]);
    let o = compare(&["--", exe.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let o = compare(&["--exact", "--", exe.to_str().unwrap()]);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("stdout differs at line 1, stderr differs at line 1"), "{}", o.stdout);
}

#[test]
fn compare_refuses_bad_input_with_status_2() {
    let o = compare(&[]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("needs a program"), "{}", o.stderr);
    let o = compare(&["--", "/no/such/program"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    let o = compare(&["--", "/etc/hostname"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
}
