//! Hot-unplug of memory windows (seed 004): SIGBUS at the access in every
//! process, ENODEV afterwards, and never a VMM crash or a touch of the old
//! backing, including when the unplug lands at arbitrary moments of a tight
//! guest access loop (the tripwire makes the old backing PROT_NONE in the
//! VMM right after unplug: any host access to it would kill the VMM).

use crate::common::*;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The mapping address `pmem` prints: "pmem: mapped N bytes at 0x...".
fn mapped_at(stdout: &str) -> Option<(u64, u64)> {
    let l = stdout.lines().find(|l| l.starts_with("pmem: mapped "))?;
    let mut w = l.split_whitespace();
    let len: u64 = w.nth(2)?.parse().ok()?;
    let addr = u64::from_str_radix(w.nth(2)?.trim_start_matches("0x"), 16).ok()?;
    Some((addr, len))
}

/// (pid, address) of every "killed by SIGBUS (BUS_ADRERR) at address X" line.
fn sigbus_kills(stderr: &str) -> Vec<(u32, u64)> {
    stderr
        .lines()
        .filter(|l| l.contains("killed by SIGBUS (BUS_ADRERR) at address "))
        .filter_map(|l| {
            let pid = l.split("pid ").nth(1)?.split_whitespace().next()?.parse().ok()?;
            let a = l.split("at address 0x").nth(1)?.split(',').next()?;
            Some((pid, u64::from_str_radix(a, 16).ok()?))
        })
        .collect()
}

#[test]
fn device_scenarios_report_sigbus_at_the_access_in_parent_and_child() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/scenarios/");
    let o = vmm(&["scenario", &format!("{root}device-unplug.scn"), &format!("{root}device-cow.scn")]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    for want in [
        // In the forked child that unplugged, then in the parent.
        "read(a + 5*PAGE) = SIGBUS/BUS_ADRERR                 → SIGBUS/BUS_ADRERR @a+0x5000",
        "read(a + 3*PAGE) = SIGBUS/BUS_ADRERR                 → SIGBUS/BUS_ADRERR @a+0x3000",
        "mmap(0, PAGE, PROT_READ, MAP_SHARED, fd, 0) = ENODEV → = -ENODEV",
        "munmap(a, 4*PAGE) = 0                                → = 0",
        "read(p) = 0x22                                       → = 0x22",
    ] {
        assert!(o.stdout.contains(want), "missing {want:?} in\n{}", o.stdout);
    }
}

#[test]
fn guest_unplug_kills_each_mapping_process_at_its_own_access_and_the_file_keeps_the_data() {
    let file = temp_path("pmem.img");
    std::fs::write(&file, vec![0u8; 64 << 10]).unwrap();
    let dev = format!("pmem0={},size=32K", file.display());
    // 4 processes map 8 pages each; the last unplugs; each waiting parent
    // then stores to page 0 at offset 64*k and dies there.
    let o = vmm(&["run", "--json", "--device", &dev, "--program", "pmem", "--", "chain", "4", "8"]);
    assert_eq!(o.code, 135, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("pmem: unplug -> 0"), "{}", o.stdout);
    let kills = sigbus_kills(&o.stderr);
    assert_eq!(kills.len(), 3, "{}", o.stderr);
    let base = kills.iter().map(|k| k.1).min().unwrap() & !0xfff;
    for (pid, addr) in &kills {
        // Process `pid` forked at loop step k = pid and, woken after the
        // unplug, died at round k's first store: offset 64*k of page 0.
        assert_eq!(addr - base, 64 * *pid as u64, "pid {pid} at {addr:#x}\n{}", o.stderr);
    }
    let s = o.summary();
    assert_eq!(s["hotplug"]["unplugs"], 1);
    assert_eq!(s["hotplug"]["window_faults"], 0, "no access may reach the deleted window");
    assert_eq!(s["hotplug"]["reports"][0]["spaces"], 4);
    // The guest's stores went to the host file (shared mapping): round k
    // wrote k at offset 64*k of every page before the unplug.
    let data = std::fs::read(&file).unwrap();
    assert_eq!(data[64 * 3], 3);
    assert_eq!(data[7 * 4096 + 64 * 2], 2);
    assert!(data[8 * 4096..].iter().all(|b| *b == 0), "beyond the window nothing changed");
    let _ = std::fs::remove_file(&file);
}

/// One asynchronous unplug: boots `pmem hammer ROUNDS [fork]`, unplugs
/// through the control socket `delay` after the socket appears.
struct AsyncRun {
    code: i32,
    stdout: String,
    stderr: String,
    reply: Option<serde_json::Value>,
}

fn async_unplug(rounds: u32, fork: bool, delay: Duration, via_cli: bool, extra: &[&str]) -> AsyncRun {
    require_kvm();
    let sock = temp_path("ctl.sock");
    let rounds = rounds.to_string();
    let mut args = vec!["run", "--json", "--unplug-tripwire", "--device", "pmem0=memfd,size=64K", "--ctl", sock.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--program", "pmem", "--", "hammer", &rounds]);
    if fork {
        args.push("fork");
    }
    let child = Command::new(env!("CARGO_BIN_EXE_vmm")).args(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let t = Instant::now();
    while !sock.exists() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_micros(200));
    }
    std::thread::sleep(delay);
    let reply = if via_cli {
        let o =
            Command::new(env!("CARGO_BIN_EXE_vmm")).args(["ctl", "--json", sock.to_str().unwrap(), "unplug", "pmem0"]).output().unwrap();
        serde_json::from_slice(&o.stdout).ok()
    } else {
        UnixStream::connect(&sock).ok().and_then(|mut s| {
            s.write_all(b"{\"op\":\"unplug\",\"device\":\"pmem0\"}\n").ok()?;
            let mut line = String::new();
            BufReader::new(&s).read_line(&mut line).ok()?;
            serde_json::from_str(&line).ok()
        })
    };
    let o = child.wait_with_output().unwrap();
    AsyncRun {
        code: o.status.code().unwrap_or_else(|| panic!("the VMM died of a signal: {:?}", o.status)),
        stdout: String::from_utf8_lossy(&o.stdout).into(),
        stderr: String::from_utf8_lossy(&o.stderr).into(),
        reply,
    }
}

#[test]
fn async_unplug_during_a_guest_access_loop_200_times_never_crashes_nor_touches_the_backing() {
    let (mut sigbus, mut finished, mut before_open) = (0, 0, 0);
    for i in 0..200u32 {
        // Delays from 0 to ~40 ms against a loop of ~20-40 ms: the unplug
        // lands before the open, during the loop, or after it.
        let delay = Duration::from_micros(((i * 7919) % 200) as u64 * 200);
        let fork = i % 4 == 1;
        let r = async_unplug(400_000, fork, delay, i % 20 == 0, &[]);
        let ctx = format!("run {i} (delay {delay:?}, fork {fork}): status {}\n{}{}reply {:?}", r.code, r.stdout, r.stderr, r.reply);
        let summary: serde_json::Value = serde_json::from_str(r.stderr.lines().last().unwrap_or("")).unwrap_or_else(|_| panic!("{ctx}"));
        assert_eq!(summary["hotplug"]["window_faults"], 0, "{ctx}");
        match r.code {
            135 => {
                sigbus += 1;
                let (addr, len) = mapped_at(&r.stdout).unwrap_or_else(|| panic!("{ctx}"));
                let kills = sigbus_kills(&r.stderr);
                assert!(!kills.is_empty(), "{ctx}");
                for (_, a) in kills {
                    assert!(a >= addr && a < addr + len, "SIGBUS outside the mapping: {ctx}");
                }
                assert_eq!(r.reply.as_ref().map(|v| v["ok"].clone()), Some(true.into()), "{ctx}");
            }
            0 => {
                finished += 1;
                assert!(r.stdout.contains("pmem: loop finished"), "{ctx}");
            }
            // The unplug came first: open(/dev/pmem0), or the mmap after a
            // successful open, is ENODEV (-19).
            3 => {
                before_open += 1;
                assert!(r.stdout.contains("open /dev/pmem0 -> -19") || r.stdout.contains("mmap -> -19"), "{ctx}");
            }
            _ => panic!("unexpected ending: {ctx}"),
        }
    }
    eprintln!("200 async unplugs: {sigbus} SIGBUS, {finished} loops finished first, {before_open} unplugged before open or mmap");
    assert!(sigbus >= 50, "too few unplugs landed inside the loop to mean anything: {sigbus}");
}

#[test]
fn the_tripwire_catches_a_host_touch_of_the_old_backing() {
    // The control for the 200-run test: if the VMM did read the unplugged
    // backing, the PROT_NONE tripwire would kill it (SIGSEGV).
    require_kvm();
    let o = Command::new(env!("CARGO_BIN_EXE_vmm"))
        .args(["run", "--unplug-tripwire", "--inject", "touch-after-unplug", "--device", "pmem0=memfd,size=64K"])
        .args(["--program", "pmem", "--", "chain", "1", "1"])
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(o.status.signal(), Some(libc::SIGSEGV), "{:?} {}", o.status, String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_guest_access_that_reaches_a_deleted_window_is_sigbus_not_a_vmm_crash() {
    // Test aid: the unplug deletes the memslot without revoking, so the
    // guest's translation still points at the window and the access reaches
    // the VMM (EFAULT from KVM_RUN here).
    let r = async_unplug(0, false, Duration::from_millis(30), false, &["--inject", "skip-revoke"]);
    assert_eq!(r.code, 135, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("killed by SIGBUS (BUS_ADRERR)"), "{}", r.stderr);
    let s: serde_json::Value = serde_json::from_str(r.stderr.lines().last().unwrap()).unwrap();
    assert!(s["hotplug"]["window_faults"].as_u64().unwrap() >= 1, "{s}");
}

#[test]
fn replug_after_an_async_unplug_gets_a_new_window_and_works() {
    require_kvm();
    let sock = temp_path("ctl.sock");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vmm"))
        .args(["run", "-q", "--timeout", "20", "--device", "pmem0=memfd,size=64K", "--ctl", sock.to_str().unwrap(), "--program", "spin"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !sock.exists() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(1));
    }
    let ctl = |w: &[&str]| {
        let mut a = vec!["ctl", "--json", sock.to_str().unwrap()];
        a.extend_from_slice(w);
        let o = vmm(&a);
        serde_json::from_str::<serde_json::Value>(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", o.stdout, o.stderr))
    };
    let first = ctl(&["devices"])["devices"][0]["gpa"].as_u64().unwrap();
    assert_eq!(ctl(&["unplug", "pmem0"])["ok"], true);
    assert_eq!(ctl(&["unplug", "pmem0"])["ok"], false, "already gone");
    let p = ctl(&["plug", "pmem0", "memfd", "128K"]);
    assert_eq!(p["ok"], true, "{p}");
    assert!(p["gpa"].as_u64().unwrap() > first, "a window is never reused: {p}");
    assert!(first >= 64 << 30, "windows sit above the largest RAM");
    assert_eq!(ctl(&["devices"])["devices"][0]["size"], 128 << 10);
    let bad = vmm(&["ctl", sock.to_str().unwrap(), "plug", "../x", "memfd", "4K"]);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    let _ = child.kill();
    let _ = child.wait();
}
