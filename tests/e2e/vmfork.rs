//! Issue 6: whole-VM checkpoint, fork, reset, snapshot and lazy restore.
//! Every test boots real VMs; the guest program `forkvm` prints a checksum
//! of its memory before it writes, which is how isolation and resets are
//! observed from inside the guest.

use crate::common::*;
use std::path::Path;
use vmm::kernel::Console;
use vmm::machine::Ending;
use vmm::vmfork::Base;

fn forkvm_base(args: &[&str]) -> Base {
    require_kvm();
    let mut a: Vec<String> = ["run", "--program", "forkvm", "--"].iter().map(|s| s.to_string()).collect();
    a.extend(args.iter().map(|s| s.to_string()));
    let cli = <vmm::cli::Cli as clap::Parser>::parse_from(std::iter::once("vmm".to_string()).chain(a));
    let vmm::cli::Command::Run(run) = cli.command else { unreachable!() };
    let (mut spec, timeout) = vmm::run::spec_from_args(&run).unwrap();
    spec.capture = true;
    match Base::checkpoint(&spec, timeout) {
        Ok(b) => b,
        Err(e) => panic!("no checkpoint: {e:?}"),
    }
}

/// Runs a child to its end; returns its stdout.
fn run_child(base: &Base, index: u64) -> String {
    let mut m = base.fork(index, Console::Capture(Vec::new(), Vec::new())).unwrap();
    let end = m.run(std::time::Duration::from_secs(30)).unwrap();
    let out = String::from_utf8_lossy(m.captured().0).into_owned();
    assert_eq!(end, Ending::Exited(0), "child {index}: {out}");
    out
}

fn checksum_of(out: &str) -> String {
    let c = vmm::vmfork::command::checksums(out);
    assert_eq!(c.len(), 1, "one checksum line expected in: {out}");
    c[0].clone()
}

#[test]
fn fork_8_children_each_print_a_distinct_index_and_exit_0() {
    let o = vmm(&["fork", "--json", "--program", "forkvm", "--children", "8", "--", "4", "64"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let j: serde_json::Value = serde_json::from_str(o.stdout.lines().last().unwrap()).unwrap();
    let kids = j["children"].as_array().unwrap();
    assert_eq!(kids.len(), 8);
    let mut seen = std::collections::BTreeSet::new();
    let mut sums = std::collections::BTreeSet::new();
    for k in kids {
        assert_eq!(k["exit_code"], 0, "{k}");
        let out = k["stdout"].as_str().unwrap();
        let i = k["index"].as_u64().unwrap();
        assert!(out.contains(&format!("forkvm: index {i} checksum")), "{out}");
        assert!(out.contains(&format!("forkvm: index {i} wrote 64 KiB")), "{out}");
        seen.insert(i);
        sums.insert(checksum_of(out));
    }
    assert_eq!(seen.len(), 8, "indices are distinct");
    assert_eq!(sums.len(), 1, "siblings (all alive at once, run on parallel threads) never see each other's writes: {sums:?}");
}

#[test]
fn children_on_parallel_threads_report_in_index_order() {
    let o = vmm(&["fork", "-q", "--jobs", "3", "--program", "forkvm", "--children", "6", "--", "4", "64"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let order: Vec<&str> = o.stdout.lines().filter(|l| l.contains(" checksum ")).map(|l| l.split_whitespace().nth(2).unwrap()).collect();
    assert_eq!(order, ["0", "1", "2", "3", "4", "5"], "{}", o.stdout);
    let o = vmm(&["fork", "--jobs", "0", "--program", "forkvm", "--children", "2"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("--jobs must be at least 1"), "{}", o.stderr);
}

#[test]
fn a_childs_writes_are_invisible_to_its_siblings_and_to_a_fork_taken_afterwards() {
    let base = forkvm_base(&["4", "256"]);
    let sibling = base.fork(7, Console::Capture(Vec::new(), Vec::new())).unwrap();
    let first = run_child(&base, 0);
    // Forked after child 0 wrote 256 KiB of 0x01 over the start of the region.
    let later = run_child(&base, 3);
    let mut sibling = sibling;
    assert_eq!(sibling.run(std::time::Duration::from_secs(30)).unwrap(), Ending::Exited(0));
    let sib = String::from_utf8_lossy(sibling.captured().0).into_owned();
    let reference = vmm(&["run", "-q", "--program", "forkvm", "--", "4", "256"]);
    assert_eq!(reference.code, 0);
    let want = checksum_of(&reference.stdout);
    assert_eq!(checksum_of(&first), want, "child 0 starts from the checkpoint");
    assert_eq!(checksum_of(&later), want, "a later fork does not see child 0's writes");
    assert_eq!(checksum_of(&sib), want, "a sibling alive during child 0's run does not see its writes");
    assert!(later.contains("index 3 wrote 256 KiB") && sib.contains("index 7 wrote"), "{later}{sib}");
}

#[test]
fn reset_loop_iterations_see_identical_memory_checksums() {
    let o = vmm(&["fork", "--json", "--program", "forkvm", "--reset-loop", "25", "--", "4", "64"]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    let j: serde_json::Value = serde_json::from_str(o.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(j["distinct_checksums"], 1, "{j}");
    assert!(j["failed"].is_null(), "{j}");
    assert!(j["dirty_pages_per_reset"].as_f64().unwrap() >= 16.0, "64 KiB written per run must show as dirty: {j}");
}

#[test]
fn a_reset_that_keeps_memory_is_caught_by_the_next_run() {
    // Control for the test above: without restoring RAM the second run sees
    // the first run's writes, and the loop must say so.
    let o = vmm(&["fork", "--json", "--timeout", "5", "--program", "forkvm", "--reset-loop", "3", "--reset-keep-memory", "--", "4", "64"]);
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    let j: serde_json::Value = serde_json::from_str(o.stdout.lines().last().unwrap()).unwrap();
    // The second run sees the first run's page tables (its munmap) under an
    // engine that does not: it cannot finish its checksum.
    assert_eq!(j["failed"]["iteration"], 1, "{j}");
}

fn snapshot(dir: &Path, args: &[&str]) -> Out {
    let mut a = vec!["snapshot", dir.to_str().unwrap(), "--program", "forkvm", "--"];
    a.extend_from_slice(args);
    vmm(&a)
}

#[test]
fn snapshot_then_eager_and_lazy_restore_finish_like_an_uninterrupted_run() {
    let dir = temp_path("snap");
    let reference = vmm(&["run", "-q", "--program", "forkvm", "--", "8", "128"]);
    assert_eq!(reference.code, 0);
    let s = snapshot(&dir, &["8", "128"]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    // memory.bin is sparse: 256 MiB of guest RAM, a few MiB on disk.
    let meta = std::fs::metadata(dir.join("memory.bin")).unwrap();
    assert_eq!(meta.len(), 256 << 20);
    assert!(std::os::unix::fs::MetadataExt::blocks(&meta) * 512 < 32 << 20, "untouched RAM costs no disk");
    for mode in [&["restore"][..], &["restore", "--lazy"][..]] {
        let mut a = mode.to_vec();
        a.push(dir.to_str().unwrap());
        let r = vmm(&a);
        assert_eq!(r.code, 0, "{mode:?}: {}", r.stderr);
        assert_eq!(format!("{}{}", s.stdout, r.stdout), reference.stdout, "{mode:?}: snapshot + restore print what one run prints");
    }
    // Restoring twice works: a restore reads the snapshot and never changes it.
    let again = vmm(&["restore", "--lazy", dir.to_str().unwrap()]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in ["state.bin", "memory.bin"] {
        std::fs::copy(from.join(f), to.join(f)).unwrap();
    }
}

fn patch(path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut b = std::fs::read(path).unwrap();
    f(&mut b);
    std::fs::write(path, b).unwrap();
}

#[test]
fn corrupt_truncated_and_wrong_version_snapshots_are_refused() {
    let good = temp_path("good");
    assert_eq!(snapshot(&good, &["4", "64"]).code, 0);
    let state_len = std::fs::metadata(good.join("state.bin")).unwrap().len() as usize;
    type Damage = Box<dyn Fn(&Path)>;
    use vmm::snapshot::format::VERSION;
    let older = format!("version {}, this vmm reads version {VERSION}", VERSION - 1);
    let newer = format!("version {}", VERSION + 1);
    let cases: Vec<(&str, Damage, &str)> = vec![
        ("flipped state byte", Box::new(move |d: &Path| patch(&d.join("state.bin"), |b| b[state_len / 2] ^= 0x40)), "corrupt"),
        ("truncated state", Box::new(|d: &Path| patch(&d.join("state.bin"), |b| b.truncate(b.len() - 100))), "truncated"),
        ("short header", Box::new(|d: &Path| patch(&d.join("state.bin"), |b| b.truncate(10))), "truncated"),
        // The previous format and a future one.
        ("an older version", Box::new(|d: &Path| patch(&d.join("state.bin"), |b| b[8] = (VERSION - 1) as u8)), &older),
        ("a newer version", Box::new(|d: &Path| patch(&d.join("state.bin"), |b| b[8] = (VERSION + 1) as u8)), &newer),
        ("bad magic", Box::new(|d: &Path| patch(&d.join("state.bin"), |b| b[0] = b'X')), "magic"),
        (
            "truncated memory",
            Box::new(|d: &Path| std::fs::OpenOptions::new().write(true).open(d.join("memory.bin")).unwrap().set_len(1 << 20).unwrap()),
            "truncated",
        ),
        ("missing memory", Box::new(|d: &Path| std::fs::remove_file(d.join("memory.bin")).unwrap()), "memory.bin"),
    ];
    for (what, damage, says) in cases {
        let d = temp_path("bad");
        copy_dir(&good, &d);
        damage(&d);
        let before: Vec<Vec<u8>> = ["state.bin", "memory.bin"].iter().map(|f| std::fs::read(d.join(f)).unwrap_or_default()).collect();
        for lazy in [false, true] {
            let mut a = vec!["restore", d.to_str().unwrap()];
            if lazy {
                a.push("--lazy");
            }
            let r = vmm(&a);
            assert_eq!(r.code, 2, "{what} (lazy {lazy}) must be refused: {}", r.stderr);
            assert!(r.stderr.contains("refusing snapshot") && r.stderr.contains(says), "{what}: {}", r.stderr);
            assert!(!r.stdout.contains("index 0"), "{what}: the guest must not run: {}", r.stdout);
        }
        let after: Vec<Vec<u8>> = ["state.bin", "memory.bin"].iter().map(|f| std::fs::read(d.join(f)).unwrap_or_default()).collect();
        assert!(before == after, "{what}: a refused restore changes nothing");
        std::fs::remove_dir_all(&d).unwrap();
    }
    // A corrupt memory chunk: eager refuses before the guest runs; lazy
    // refuses when the chunk is first touched, before the guest sees it.
    let d = temp_path("badmem");
    copy_dir(&good, &d);
    let mem = std::fs::read(d.join("memory.bin")).unwrap();
    let at = mem.iter().rposition(|b| *b != 0).unwrap();
    patch(&d.join("memory.bin"), |b| b[at] ^= 0xff);
    for lazy in [false, true] {
        let mut a = vec!["restore", d.to_str().unwrap()];
        if lazy {
            a.push("--lazy");
        }
        let r = vmm(&a);
        assert_eq!(r.code, 2, "lazy {lazy}: {}", r.stderr);
        assert!(r.stderr.contains("memory chunk") && r.stderr.contains("corrupt"), "{}", r.stderr);
        assert!(!r.stdout.contains("checksum"), "the guest never ran on corrupt memory: {}", r.stdout);
    }
    std::fs::remove_dir_all(&d).unwrap();
    std::fs::remove_dir_all(&good).unwrap();
}

#[test]
fn a_failed_snapshot_leaves_the_previous_one_intact_and_a_new_one_replaces_it() {
    let dir = temp_path("keep");
    assert_eq!(snapshot(&dir, &["4", "64"]).code, 0);
    let before = std::fs::read(dir.join("state.bin")).unwrap();
    // `hello` never checkpoints: nothing may be written.
    let o = vmm(&["snapshot", dir.to_str().unwrap(), "--program", "hello"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("never asked for a checkpoint"), "{}", o.stderr);
    assert_eq!(std::fs::read(dir.join("state.bin")).unwrap(), before);
    // A second snapshot replaces the first as a whole.
    assert_eq!(snapshot(&dir, &["6", "64"]).code, 0);
    let r = vmm(&["restore", dir.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let reference = vmm(&["run", "-q", "--program", "forkvm", "--", "6", "64"]);
    assert!(reference.stdout.ends_with(&r.stdout), "{} vs {}", reference.stdout, r.stdout);
    let leftovers: Vec<_> = std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(&format!("{}.tmp", dir.file_name().unwrap().to_string_lossy())))
        .collect();
    assert!(leftovers.is_empty(), "no temporary directory is left behind");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_reset_without_a_shadow_flush_is_caught_by_a_stale_translation() {
    // Control for the reset loop: forkvm maps a page after the checkpoint by
    // reading it (the shared zero page, which no reset reverts). Without
    // dropping KVM's shadow page tables, the next run can still load from it
    // before anything mapped it, and forkvm exits 1.
    let o = vmm(&["fork", "--json", "--program", "forkvm", "--reset-loop", "3", "--reset-shadow", "none", "--", "4", "64"]);
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    let j: serde_json::Value = serde_json::from_str(o.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(j["failed"]["iteration"], 1, "{j}");
    let ok = vmm(&["fork", "--json", "--program", "forkvm", "--reset-loop", "3", "--reset-shadow", "reload-ram", "--", "4", "64"]);
    assert_eq!(ok.code, 0, "the slower flush works too: {}", ok.stdout);
}

/// `vmm fork --json ... --program pmem --children 3 -- ckpt ARGS`: each
/// child's (exit code, stdout).
/// Children run one after another (`--jobs 1`): with a shared window what
/// each sees depends on the order, which these tests check.
fn fork_pmem(opts: &[&str], args: &[&str]) -> Vec<(i64, String)> {
    let mut a = vec!["fork", "--json", "--jobs", "1"];
    a.extend_from_slice(opts);
    a.extend_from_slice(&["--program", "pmem", "--children", "3", "--", "ckpt"]);
    a.extend_from_slice(args);
    let o = vmm(&a);
    let j: serde_json::Value =
        serde_json::from_str(o.stdout.lines().last().unwrap_or("")).unwrap_or_else(|_| panic!("{a:?}: {}{}", o.stdout, o.stderr));
    j["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["exit_code"].as_i64().unwrap(), k["stdout"].as_str().unwrap().to_string()))
        .collect()
}

/// A 64 KiB zero-filled host file to back a window.
fn window_file(name: &str) -> std::path::PathBuf {
    let f = temp_path(name);
    std::fs::write(&f, vec![0u8; 64 << 10]).unwrap();
    f
}

/// The index slots (byte 8*j) and the parent mark (byte 1024) of pmem's window.
fn slots(file: &Path) -> (Vec<u8>, u8) {
    let b = std::fs::read(file).unwrap();
    ((0..4).map(|j| b[8 * j]).collect(), b[1024])
}

#[test]
fn forked_children_get_their_own_copy_of_a_window_and_the_parent_backing_stays_frozen() {
    require_kvm();
    // A memfd window is copied by default; a file window on request.
    let file = window_file("win-copy");
    let dev = format!("pmem0={}", file.display());
    for opts in [
        vec!["--device", "pmem0=memfd,size=64K"],
        vec!["--device", &dev, "--device-mode", "copy"],
        vec!["--device", &dev, "--device-mode", "pmem0=copy"],
    ] {
        let kids = fork_pmem(&opts, &[]);
        for (i, (code, out)) in kids.iter().enumerate() {
            assert_eq!(*code, 0, "{opts:?} child {i}: {out}");
            assert!(
                out.contains(&format!("index {i} sees [] mark 0x50")),
                "{opts:?}: siblings' writes are invisible, the parent's are seen: {out}"
            );
            assert!(out.contains(&format!("index {i} wrote slot {i}")), "{out}");
        }
    }
    // The parent's backing holds what the parent wrote before the checkpoint, nothing after.
    assert_eq!(slots(&file), (vec![0, 0, 0, 0], 0x50), "children never write the parent's backing");
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn forked_children_share_a_file_window_and_the_host_file_shows_their_writes() {
    require_kvm();
    let file = window_file("win-shared");
    let dev = format!("pmem0={}", file.display());
    let kids = fork_pmem(&["--device", &dev], &[]);
    // Children run one after another: child i sees the slots of 0..i.
    for (i, want) in ["[]", "[0]", "[0 1]"].iter().enumerate() {
        assert_eq!(kids[i].0, 0, "{}", kids[i].1);
        assert!(kids[i].1.contains(&format!("index {i} sees {want} mark 0x50")), "{}", kids[i].1);
    }
    assert_eq!(slots(&file), (vec![1, 2, 3, 0], 0x50), "every child's write reached the host file");
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn a_child_that_unplugs_its_window_gets_sigbus_and_its_siblings_are_unaffected() {
    require_kvm();
    let file = window_file("win-unplug");
    let dev = format!("pmem0={}", file.display());
    for (opts, sibling_sees) in [(vec!["--device", "pmem0=memfd,size=64K"], "[]"), (vec!["--device", dev.as_str()], "[0 1]")] {
        let kids = fork_pmem(&opts, &["1"]);
        let (code, out) = &kids[1];
        assert_eq!(*code, 128 + 7, "{opts:?}: child 1 dies of SIGBUS: {out}");
        assert!(out.contains("index 1 unplug -> 0") && !out.contains("still reads"), "{out}");
        // Child 2 was alive (forked) before child 1 unplugged; its window works.
        assert_eq!(kids[2].0, 0, "{opts:?}: {}", kids[2].1);
        assert!(
            kids[2].1.contains(&format!("index 2 sees {sibling_sees} mark 0x50")) && kids[2].1.contains("wrote slot 2"),
            "{}",
            kids[2].1
        );
    }
    // Shared: child 1's unplug revoked only its own mappings; its write made
    // before the unplug and child 2's write after it both reached the file.
    assert_eq!(slots(&file), (vec![1, 2, 3, 0], 0x50));
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn snapshot_of_a_vm_with_a_window_restores_eager_and_lazy_like_an_uninterrupted_run() {
    require_kvm();
    // A copied (memfd) window: its bytes are in the snapshot.
    let dir = temp_path("snap-win");
    let reference = vmm(&["run", "-q", "--device", "pmem0=memfd,size=64K", "--program", "pmem", "--", "ckpt"]);
    assert_eq!(reference.code, 0, "{}", reference.stderr);
    let s = vmm(&["snapshot", dir.to_str().unwrap(), "--device", "pmem0=memfd,size=64K", "--program", "pmem", "--", "ckpt"]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    assert!(dir.join("device-pmem0.bin").exists());
    for lazy in [false, true] {
        let mut a = vec!["restore", dir.to_str().unwrap()];
        if lazy {
            a.push("--lazy");
        }
        let r = vmm(&a);
        assert_eq!(r.code, 0, "lazy {lazy}: {}", r.stderr);
        assert_eq!(
            format!("{}{}", s.stdout, r.stdout),
            reference.stdout,
            "lazy {lazy}: the mark written before the checkpoint is restored"
        );
    }
    // A corrupt window image is refused before the guest runs.
    patch(&dir.join("device-pmem0.bin"), |b| b[1024] ^= 0xff);
    let r = vmm(&["restore", dir.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("device pmem0 chunk 0") && r.stderr.contains("corrupt"), "{}", r.stderr);
    assert!(!r.stdout.contains("sees"), "{}", r.stdout);
    std::fs::remove_dir_all(&dir).unwrap();

    // A shared file window: the snapshot records the path; the restore maps
    // the file as it is then and its writes reach it.
    let file = window_file("snap-win-file");
    let dev = format!("pmem0={}", file.display());
    let s = vmm(&["snapshot", dir.to_str().unwrap(), "--device", &dev, "--program", "pmem", "--", "ckpt"]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    assert!(!dir.join("device-pmem0.bin").exists(), "a shared window's bytes are not copied");
    assert_eq!(slots(&file), (vec![0, 0, 0, 0], 0x50));
    let r = vmm(&["restore", "--lazy", dir.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("index 0 sees [] mark 0x50"), "{}", r.stdout);
    assert_eq!(slots(&file), (vec![1, 0, 0, 0], 0x50), "the restored VM wrote the host file");
    std::fs::remove_file(&file).unwrap();
    let r = vmm(&["restore", dir.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("refusing snapshot") && r.stderr.contains("kept shared"), "a missing backing file is refused: {}", r.stderr);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn what_checkpoints_of_vms_with_devices_do_not_support_is_refused_with_a_clear_error() {
    require_kvm();
    let dir = temp_path("snap-dev");
    let sock = temp_path("ctl.sock");
    let sock = sock.to_str().unwrap();
    for (args, says) in [
        (vec!["fork", "-q", "--ctl", sock, "--program", "forkvm", "--children", "2", "--", "4", "64"], "--ctl is not supported"),
        (vec!["snapshot", dir.to_str().unwrap(), "--ctl", sock, "--program", "forkvm", "--", "4", "64"], "--ctl is not supported"),
        (
            vec![
                "snapshot",
                dir.to_str().unwrap(),
                "--device",
                "pmem0=memfd,size=64K",
                "--device-mode",
                "shared",
                "--program",
                "pmem",
                "--",
                "ckpt",
            ],
            "cannot keep it shared",
        ),
        (
            vec!["fork", "-q", "--device", "pmem0=memfd,size=64K", "--program", "pmem", "--reset-loop", "2", "--", "ckpt"],
            "--reset-loop is not supported",
        ),
        (
            vec!["fork", "-q", "--device", "pmem0=memfd,size=64K", "--device-mode", "pmem9=copy", "--program", "pmem", "--", "ckpt"],
            "no device pmem9",
        ),
    ] {
        let o = vmm(&args);
        assert_eq!(o.code, 2, "{args:?}: {}{}", o.stdout, o.stderr);
        assert!(o.stderr.contains(says) && o.stderr.lines().count() == 1, "{args:?}: {}", o.stderr);
        assert!(!o.stdout.contains("index"), "no child ran: {}", o.stdout);
    }
    assert!(!dir.exists(), "no snapshot was written");
}
