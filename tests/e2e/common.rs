//! Running the vmm binary and reading what it printed.
#![allow(dead_code)]

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// What one `vmm` invocation produced.
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// The JSON summary `vmm run --json` prints as its last stderr line.
    pub fn summary(&self) -> serde_json::Value {
        let line = self.stderr.lines().last().unwrap_or_else(|| panic!("no summary on stderr:\n{}", self.stderr));
        serde_json::from_str(line).unwrap_or_else(|e| panic!("summary is not JSON ({e}): {line}"))
    }
}

/// Panics with a clear message when this machine cannot run VMs.
pub fn require_kvm() {
    if let Err(e) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/kvm") {
        panic!("these tests boot real VMs and need read-write access to /dev/kvm: {e}");
    }
}

/// Runs `vmm ARGS...`.
pub fn vmm(args: &[&str]) -> Out {
    require_kvm();
    let o = Command::new(env!("CARGO_BIN_EXE_vmm")).args(args).output().expect("running the vmm binary");
    let out = Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into(),
        stderr: String::from_utf8_lossy(&o.stderr).into(),
    };
    out
}

/// A fresh path in the temporary directory.
pub fn temp_path(name: &str) -> std::path::PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    std::env::temp_dir().join(format!("vmm-e2e-{}-{}-{name}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)))
}
