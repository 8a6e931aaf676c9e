//! The host kernel as the oracle: each of these guest programs is a static
//! Linux executable, run once natively on this host and once in the microVM.
//! Their output (which prints offsets, never raw addresses) and their exit
//! status must be identical.

use crate::common::*;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;

/// Runs the embedded program natively, in a scratch directory (for files it creates).
fn native(program: &str) -> Out {
    let dir = temp_path(&format!("native-{program}"));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join(program);
    std::fs::write(&exe, vmm::images::program(program).unwrap()).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Another test thread may fork while the file is still open for writing
    // (ETXTBSY until that child execs); retry briefly.
    let mut tries = 0;
    let o = loop {
        match Command::new(&exe).current_dir(&dir).output() {
            Ok(o) => break o,
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 50 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("running {program} natively: {e}"),
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    // A shell's view of the status: 128 + signal when killed.
    let code = o.status.code().or_else(|| o.status.signal().map(|s| 128 + s)).unwrap_or(-1);
    Out { code, stdout: String::from_utf8_lossy(&o.stdout).into(), stderr: String::from_utf8_lossy(&o.stderr).into() }
}

fn same_as_linux(program: &str) {
    let host = native(program);
    let vm = vmm(&["run", "-q", "--program", program]);
    assert_eq!(vm.stdout, host.stdout, "{program}: the microVM and the host kernel disagree\n--- vmm stderr:\n{}", vm.stderr);
    assert_eq!(vm.code, host.code, "{program}: exit status differs");
    assert!(!host.stdout.is_empty());
}

#[test]
fn signal_handler_catches_sigsegv_after_mprotect_and_returns_like_linux() {
    same_as_linux("sigcatch");
}

#[test]
fn guard_regions_on_anon_shmem_and_file_behave_like_linux() {
    same_as_linux("guard");
}

#[test]
fn fork_cow_dontfork_wipeonfork_behave_like_linux() {
    same_as_linux("forkcow");
}

#[test]
fn exit_codes_and_segv_status_match_linux() {
    for p in ["segv", "protect"] {
        let host = native(p);
        let vm = vmm(&["run", "-q", "--program", p]);
        assert_eq!((vm.code, host.code), (139, 139), "{p}");
    }
}

#[test]
fn read_and_write_with_partly_bad_buffers_return_short_counts_like_linux() {
    same_as_linux("shortio");
}
