//! Real shell scripts in a root file system: `vmm run --root DIR --elf
//! /bin/busybox -- sh -c SCRIPT` prints what the same busybox prints running
//! the same script natively in a private copy of that root, and exits the
//! same way.
//!
//! The root is built here: Debian's busybox-static (ci/setup.sh installs it)
//! with a link for each of its applets, and a few files. The native side runs
//! in a copy of it, chrooted in new user, mount and pid namespaces (so that
//! it is pid 1 as in the VM, with /proc of its own, the host's /dev and a
//! tmpfs at /tmp, as the guest has them). What must differ is rewritten in
//! one place, `normalise`: dates that `ls -l` prints, and the device, inode
//! and address columns of /proc/self/maps. The native side keeps the
//! capabilities its user namespace gives, so these scripts do not test
//! permissions (tests/abi/vfs.c does, without capabilities on both sides).

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const BUSYBOX: &str = "/bin/busybox";

/// A root: busybox, its applet links, /etc and a data tree.
fn build_root() -> PathBuf {
    assert!(Path::new(BUSYBOX).exists(), "{BUSYBOX} is missing: install Debian's busybox-static (bash ci/setup.sh does)");
    let root = temp_path("root");
    for d in ["bin", "etc", "data/sub", "tmp", "dev", "proc"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy(BUSYBOX, root.join("bin/busybox")).unwrap();
    let list = Command::new(BUSYBOX).arg("--list").output().expect("busybox --list");
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" && !applet.contains('/') {
            let _ = std::os::unix::fs::symlink("busybox", root.join("bin").join(applet));
        }
    }
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    std::fs::write(root.join("etc/words"), "pear\napple\nfig\napple\nkiwi\nfig\napple\n").unwrap();
    std::fs::write(root.join("data/a.txt"), "alpha\nbeta\ngamma\n").unwrap();
    std::fs::write(root.join("data/sub/b.txt"), "one two three\nfour five\n").unwrap();
    root
}

/// The one place where what must differ between the two runs is rewritten
/// (and runs of blanks, which ls pads by its column widths, become one).
fn normalise(s: &str) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let number = |t: &str, extra: char| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == extra);
    s.lines()
        .map(|l| {
            let mut t: Vec<&str> = l.split_whitespace().collect();
            // /proc/self/maps: "start-end perms offset dev inode path".
            if t.len() >= 5 && t[0].contains('-') && t[0].chars().all(|c| c.is_ascii_hexdigit() || c == '-') && t[3].contains(':') {
                return format!("ADDR {} OFF DEV INO {}", t[1], t[5..].join(" "));
            }
            // ls -l: "Mon dd hh:mm" or "Mon dd yyyy" -> DATE.
            if let Some(i) =
                (0..t.len().saturating_sub(2)).find(|&i| MONTHS.contains(&t[i]) && number(t[i + 1], '0') && number(t[i + 2], ':'))
            {
                t.splice(i..i + 3, ["DATE"]);
            }
            t.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn in_vm(root: &Path, script: &str) -> Run {
    let o = vmm(&["run", "-q", "--timeout", "60", "--root", root.to_str().unwrap(), "--elf", "/bin/busybox", "--", "sh", "-c", script]);
    Run { code: o.code, stdout: o.stdout, stderr: o.stderr.lines().filter(|l| !l.starts_with("vmm: ")).map(|l| format!("{l}\n")).collect() }
}

fn natively(root: &Path, script: &str) -> Run {
    let copy = temp_path("root-copy");
    let st = Command::new("cp").arg("-a").arg(root).arg(&copy).status().expect("cp -a");
    assert!(st.success(), "copying the root");
    let inner = "mount --rbind /dev \"$R/dev\" && mount -t tmpfs tmpfs \"$R/tmp\" && exec chroot \"$R\" /bin/busybox sh -c \"$SCRIPT\"";
    let mut cmd = Command::new("unshare");
    // The test harness may hold descriptors without close-on-exec (cargo's
    // jobserver pipes); the guest starts with 0-2 only, so the native side
    // must too (`ls /proc/self/fd` shows them).
    // SAFETY: close_range is async-signal-safe and touches no memory.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::close_range(3, u32::MAX, 0);
            Ok(())
        });
    }
    let o = cmd
        .args(["--user", "--map-root-user", "--mount", "--pid", "--fork"])
        .arg(format!("--mount-proc={}", copy.join("proc").display()))
        .args(["/bin/sh", "-c", inner])
        .env_clear()
        .env("R", &copy)
        .env("SCRIPT", script)
        .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HOME", "/")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("unshare (util-linux) runs the native side");
    let _ = std::fs::remove_dir_all(&copy);
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into(),
        stderr: String::from_utf8_lossy(&o.stderr).into(),
    }
}

/// Each script's output and status in the VM equal the native run's.
fn same_as_natively(scripts: &[(&str, &str)]) {
    let root = build_root();
    let mut failures = Vec::new();
    for (name, script) in scripts {
        let host = natively(&root, script);
        let vm = in_vm(&root, script);
        let (hs, vs) = (normalise(&host.stdout), normalise(&vm.stdout));
        let (he, ve) = (normalise(&host.stderr), normalise(&vm.stderr));
        if hs != vs || he != ve || host.code != vm.code {
            failures.push(format!(
                "{name}: host and vm differ\n  status: host {} vm {}\n--- host stdout\n{hs}\n--- vm stdout\n{vs}\n--- host stderr\n{he}\n--- vm stderr\n{ve}",
                host.code, vm.code
            ));
        }
        assert!(!host.stdout.is_empty() || host.code != 0, "{name}: the native run printed nothing: {}", host.stderr);
    }
    let _ = std::fs::remove_dir_all(&root);
    assert!(failures.is_empty(), "{} of {} scripts differ:\n\n{}", failures.len(), scripts.len(), failures.join("\n\n"));
}

#[test]
fn busybox_scripts_with_pipes_redirections_and_files_behave_as_natively() {
    same_as_natively(&[
        ("pipeline", "echo a b c | tr ' ' '\\n' | sort -r | wc -l"),
        ("redirections", "cd /tmp && echo one > f && echo two >> f && cat < f && wc -l < f 2>&1 && cat missing 2>/dev/null; echo status $?"),
        ("here-document", "cat <<EOF | sed 's/x/y/g'\nxx\nax\nEOF"),
        ("subshells and substitution", "x=$(echo inner; (echo sub; exit 3); echo after $?); echo \"[$x]\"; (cd /tmp; pwd); pwd"),
        ("loops", "for i in 1 2 3; do echo n$i; done; i=0; while [ $i -lt 3 ]; do i=$((i+1)); done; echo $i; seq 3 | while read l; do echo r$l; done"),
        ("sort uniq wc grep", "sort /etc/words | uniq -c; grep -c apple /etc/words; grep -v apple /etc/words | wc -w; grep -n fig /etc/words"),
        ("sed and awk", "sed -n '2,3p' /data/a.txt; awk '{ n += NF } END { print n, NR }' /data/sub/b.txt; awk -F: '{print $1}' /etc/passwd"),
        ("exit statuses", "true; echo $?; false; echo $?; sh -c 'exit 7'; echo $?; ! true; echo $?; grep -q nothing /etc/words || echo no match"),
        ("xargs", "printf 'a\\nb\\nc\\n' | xargs echo; echo /data/a.txt /data/sub/b.txt | xargs wc -l"),
    ]);
}

#[test]
fn busybox_file_tools_on_the_root_and_tmp_behave_as_natively() {
    same_as_natively(&[
        ("mkdir ln cp", "cd /tmp && mkdir -p a/b/c && echo x > a/b/c/f && ln -s a/b/c/f link && cat link && cp -r a copy && find copy | sort && readlink link"),
        ("ls -l", "cd /tmp && echo 12345 > five && mkdir d && ln -s five l && ls -l | sort"),
        ("tar", "cd /tmp && mkdir src && echo hello > src/h && echo world > src/w && tar cf - src | (mkdir dst && cd dst && tar xf -) && find dst | sort && cat dst/src/h dst/src/w"),
        ("find on the root", "find /data | sort; find /data -name '*.txt' -type f | sort; ls /data/sub"),
        ("rm and mv", "cd /tmp && mkdir -p x/y && touch x/y/z x/w && mv x/w x/y/ && ls x/y && rm -r x && ls; echo gone $?"),
        ("writes stay in memory", "echo changed > /data/a.txt && cat /data/a.txt && rm /data/sub/b.txt && ls /data/sub; echo end"),
        ("urandom and null", "head -c 100 /dev/urandom | wc -c; cat /dev/null | wc -c; echo x > /dev/null; echo $?"),
        ("proc", "cat /proc/self/maps | grep -e busybox -e stack | sed 's/  */ /g'; readlink /proc/self/exe; cat /proc/self/comm; ls /proc/self/fd | sort"),
    ]);
}

#[test]
fn the_host_root_is_never_written() {
    let root = build_root();
    let before = std::fs::read(root.join("data/a.txt")).unwrap();
    let vm = in_vm(&root, "echo changed > /data/a.txt; rm -r /data/sub; mkdir /newdir; echo ok");
    assert_eq!(vm.code, 0, "{}", vm.stderr);
    assert_eq!(vm.stdout, "ok\n");
    assert_eq!(std::fs::read(root.join("data/a.txt")).unwrap(), before, "a file of --root was written on the host");
    assert!(root.join("data/sub/b.txt").exists() && !root.join("newdir").exists(), "the host directory changed");
    let _ = std::fs::remove_dir_all(&root);
}
