//! The benchmark program of `vmm bench programs`, built at bench time.
//!
//! Owns the build and its cache: `tests/bench/progbench.c` is compiled into
//! this binary as text, and on first use built with `gcc -static -O2` into
//! `$TMPDIR/vmm-bench-programs/` under a name carrying the source's CRC, so a
//! changed source is rebuilt and an unchanged one never is (no prebuilt
//! binary is committed). Next to it, the root directory the microVM runs it
//! in: `bench/progbench` and `bin/busybox` (a copy of the host's
//! /bin/busybox, Debian's busybox-static, for the shell case).
//!
//! Invariant: a path this module returns is complete. Each build is made in
//! a directory of this process's own and renamed into place, so concurrent
//! benchmark runs never see half a binary or half a root.

use crate::error::VmmError;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The program's source, embedded so `vmm bench programs` works from any
/// directory.
pub const SOURCE: &str = include_str!("../../../tests/bench/progbench.c");

/// The host's busybox the shell case runs (natively, in gVisor, and copied
/// into the microVM's root at the same path).
pub const BUSYBOX: &str = "/bin/busybox";

/// Where the program sits inside the microVM's root.
pub const GUEST_PATH: &str = "/bench/progbench";

/// A built program and the root directory holding it.
pub struct Built {
    /// The program on the host (absolute; natively and in gVisor).
    pub exe: PathBuf,
    /// `--root` for the microVM: `bench/progbench`, `bin/busybox`.
    pub root: PathBuf,
}

fn cache_dir() -> PathBuf {
    std::env::temp_dir().join("vmm-bench-programs")
}

/// Builds (or finds) the program and its root.
pub fn build() -> Result<Built, VmmError> {
    if !Path::new(BUSYBOX).exists() {
        return Err(VmmError::Bench(format!("{BUSYBOX} is missing: install Debian's busybox-static (`bash ci/setup.sh` does)")));
    }
    let key = format!("{:08x}", crc32fast::hash(SOURCE.as_bytes()));
    let root = cache_dir().join(format!("root-{key}"));
    let exe = root.join(GUEST_PATH.trim_start_matches('/'));
    if exe.exists() && root.join("bin/busybox").exists() {
        return Ok(Built { exe, root });
    }
    let work = cache_dir().join(format!("build-{key}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let host = |what: &'static str| move |e| VmmError::Host(what, e);
    std::fs::create_dir_all(work.join("bench")).map_err(host("creating the benchmark build directory"))?;
    std::fs::create_dir_all(work.join("bin")).map_err(host("creating the benchmark build directory"))?;
    let src = work.join("progbench.c");
    std::fs::write(&src, SOURCE).map_err(host("writing progbench.c"))?;
    let out = work.join("bench/progbench");
    let o = Command::new("gcc")
        .args(["-static", "-O2", "-Wall"])
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .output()
        .map_err(|e| VmmError::Bench(format!("running gcc ({e}): install the Debian package gcc (`bash ci/setup.sh`)")))?;
    if !o.status.success() {
        let _ = std::fs::remove_dir_all(&work);
        return Err(VmmError::Bench(format!("gcc failed on progbench.c ({}):\n{}", o.status, String::from_utf8_lossy(&o.stderr))));
    }
    std::fs::copy(BUSYBOX, work.join("bin/busybox")).map_err(host("copying /bin/busybox into the benchmark root"))?;
    let _ = std::fs::remove_file(&src);
    // Another run may have finished the same build meanwhile: either root is complete.
    if std::fs::rename(&work, &root).is_err() {
        let _ = std::fs::remove_dir_all(&work);
        if !exe.exists() {
            return Err(VmmError::Bench(format!("could not move the built benchmark root to {}", root.display())));
        }
    }
    Ok(Built { exe, root })
}
