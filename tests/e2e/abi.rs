//! Unmodified static Linux programs (glibc and musl, static and static-pie)
//! behave in the microVM as on the host kernel: each C program in tests/abi
//! is run both ways and must print the same stdout and stderr and exit with
//! the same status (tests/e2e/cprog.rs: builds, the native normalisation,
//! the comparison).

use crate::cprog::*;

#[test]
fn abi_startup_argv_environment_auxv_and_exit_paths_match_linux() {
    assert_matches_linux("startup", &STARTUP_ARGS, &STARTUP_ENV);
}

const STARTUP_ARGS: [&str; 4] = ["one", "two words", "", "-x"];
const STARTUP_ENV: [(&str, &str); 1] = [("ABI_GREETING", "hello world")];

#[test]
fn abi_stdio_formatting_and_buffering_match_linux() {
    assert_matches_linux("stdio", &[], &[]);
}

#[test]
fn abi_malloc_small_large_realloc_calloc_and_aligned_match_linux() {
    assert_matches_linux("malloc", &[], &[]);
}

#[test]
fn abi_thread_local_storage_matches_linux() {
    assert_matches_linux("tls", &[], &[]);
}

#[test]
fn abi_brk_mmap_mincore_msync_mseal_and_stack_growth_match_linux() {
    assert_matches_linux("mm", &[], &[]);
}

#[test]
fn abi_process_calls_arch_prctl_rseq_rlimits_getrandom_and_groups_match_linux() {
    assert_matches_linux("proc", &[], &[]);
}

#[test]
fn abi_credentials_without_capabilities_match_linux() {
    assert_matches_linux("ident", &[], &[]);
}

#[test]
fn abi_clocks_and_sleeps_match_linux() {
    assert_matches_linux("time", &[], &[]);
}

#[test]
fn abi_fd_calls_match_linux() {
    assert_matches_linux("fd", &[], &[]);
}

#[test]
fn abi_pagemap_scan_categories_masks_limits_and_errors_match_linux() {
    // One anonymous page per fault, as Linux without mTHP (the native run
    // has THP off): the program prints which pages are present.
    assert_matches_linux_with("pagemap_scan", &["--anon-fault-around", "1"], &[], &[]);
}

#[test]
fn abi_poll_pidfd_process_madvise_and_userfaultfd_match_linux() {
    assert_matches_linux("poll", &[], &[]);
}

/// Anonymous fault-around (our batching, 16 pages by default) is off: Linux
/// without mTHP maps one anonymous page per fault, and smaps shows Rss.
#[test]
fn abi_smaps_records_match_linux() {
    assert_matches_linux_with("smaps", &["--anon-fault-around", "1"], &[], &[]);
}

#[test]
fn abi_pipes_select_splice_tee_vmsplice_and_sendfile_match_linux() {
    assert_matches_linux("pipe", &[], &[]);
}

#[test]
fn abi_memfd_seals_match_linux() {
    assert_matches_linux("memfd", &[], &[]);
}

#[test]
fn abi_execve_and_execveat_match_linux() {
    assert_matches_linux("exec", &[], &[]);
}

#[test]
fn abi_signals_match_linux() {
    assert_matches_linux("signals", &[], &[]);
}

/// The oracle itself must be stable: every program prints the same twice on
/// the host, under the normalisation, and is not killed by a signal.
#[test]
fn abi_programs_print_the_same_twice_natively() {
    let corpus = corpus();
    let mut failures = Vec::new();
    for p in corpus.programs() {
        let (args, env): (&[&str], &[(&str, &str)]) = if p == "startup" { (&STARTUP_ARGS, &STARTUP_ENV) } else { (&[], &[]) };
        for v in Variant::ALL {
            let exe = corpus.binary(p, v);
            let first = run_native(&exe, args, env);
            let second = run_native(&exe, args, env);
            if first.code >= 128 || first.stdout.is_empty() {
                failures.push(format!(
                    "{p} [{}]: natively exit status {}, {} bytes of stdout\n{}",
                    v.name(),
                    first.code,
                    first.stdout.len(),
                    first.stderr
                ));
            }
            if let Some(r) = compare(p, v, ("first run", "second run"), &first, &second, false) {
                failures.push(r);
            }
        }
    }
    assert!(failures.is_empty(), "the host runs are not a usable oracle (not deterministic, or killed):\n\n{}", failures.join("\n\n"));
}

/// Control: the comparison reports a difference, at the right line, when one
/// side gets an environment variable the other does not; and reports none
/// for two identical runs, or for a microVM run whose only extra stderr lines
/// are the VMM's own.
#[test]
fn abi_comparison_reports_an_env_var_given_to_one_side_only() {
    let exe = corpus().binary("startup", Variant::GlibcStatic);
    let with = run_native(&exe, &STARTUP_ARGS, &STARTUP_ENV);
    let without = run_native(&exe, &STARTUP_ARGS, &[]);
    let again = run_native(&exe, &STARTUP_ARGS, &STARTUP_ENV);
    assert!(compare("startup", Variant::GlibcStatic, ("host", "vm"), &with, &again, true).is_none());
    let r = compare("startup", Variant::GlibcStatic, ("host", "vm"), &with, &without, true).expect("the runs differ");
    let env_line = with.stdout.lines().position(|l| l.starts_with("env[2]: \"ABI_GREETING=")).expect("startup prints its environment") + 1;
    assert!(r.starts_with("startup [glibc-static]:"), "{r}");
    assert!(r.contains(&format!("stdout: first difference at line {env_line} ")), "{r}");
    assert!(r.contains("-env[2]: \"ABI_GREETING=hello world\""), "{r}");

    // The VMM's own lines are not the guest's output; anything else is.
    let mut vm = with.clone();
    vm.stderr = format!("vmm: a line of the VMM's own\n{}vmm: another\n", with.stderr);
    assert!(compare("startup", Variant::GlibcStatic, ("host", "vm"), &with, &vm, true).is_none());
    vm.stderr.push_str("a line from the guest\n");
    let r = compare("startup", Variant::GlibcStatic, ("host", "vm"), &with, &vm, true).expect("stderr differs");
    assert!(r.contains("stderr: first difference") && r.contains("+a line from the guest"), "{r}");
    vm = with.clone();
    vm.code = 1;
    let r = compare("startup", Variant::GlibcStatic, ("host", "vm"), &with, &vm, true).expect("the status differs");
    assert!(r.contains(&format!("exit status: host {}, vm 1", with.code)), "{r}");
}

/// Control with the microVM: a program printing getpid() is pid 1 in the VM
/// and not natively, and the comparison reports exactly that line.
#[test]
fn abi_comparison_reports_the_pid_difference_between_the_microvm_and_linux() {
    let exe = corpus().binary("control-getpid", Variant::MuslStatic);
    let host = run_native(&exe, &[], &[]);
    let vm = run_vm(&exe, &[], &[]);
    assert_eq!(
        vm.stdout.lines().nth(1),
        Some("pid: 1"),
        "the program must run in the microVM\nstdout:\n{}\nstderr:\n{}",
        vm.stdout,
        vm.stderr
    );
    let r = compare("control-getpid", Variant::MuslStatic, ("host", "vm"), &host, &vm, true).expect("pid 1 is not the host's pid");
    assert!(r.contains("stdout: first difference at line 2 ") && r.contains("+pid: 1"), "{r}");
    assert!(!r.contains("exit status"), "only the pid differs: {r}");
}

#[test]
fn abi_file_system_calls_by_name_match_linux() {
    assert_matches_linux("vfs", &["one"], &[]);
}
