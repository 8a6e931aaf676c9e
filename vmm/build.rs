//! Builds the guest image (crate guest-image) and embeds it in the vmm.
//!
//! The guest is a no_std program for the host target with its own link
//! scripts, so it is built by a nested `cargo build --release -p guest-image`
//! into a target directory of its own (sharing ours would deadlock on the
//! build lock). The result is included with include_bytes!, which makes
//! `target/release/vmm` self-contained.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

/// Ring-3 programs shipped in the image, in the order `vmm programs` lists them.
const PROGRAMS: &[&str] = &[
    "hello",
    "exit",
    "touch",
    "segv",
    "protect",
    "sigcatch",
    "guard",
    "forkcow",
    "scenario",
    "spin",
    "nulltrap",
    "pmem",
    "forkvm",
    "fuzz",
    "shortio",
    "tablestorm",
];

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.parent().expect("vmm/ lives in the workspace").to_path_buf();
    let guest = root.join("guest-image");
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));
    let target = out.join("guest-target");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());

    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--release", "-p", "guest-image", "--bins", "--target-dir"])
        .arg(&target)
        // Flags meant for the host build (wrappers, target overrides) must not
        // leak into the guest build.
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS");
    let status = cmd.status().expect("could not run cargo to build the guest image");
    if !status.success() {
        panic!("building the guest image (cargo build --release -p guest-image) failed: {status}");
    }

    let bins = target.join("release");
    let mut gen = String::new();
    let shim = bins.join("shim");
    writeln!(gen, "/// The ring-0 shim ELF.\npub const SHIM: &[u8] = include_bytes!({:?});", shim.display().to_string()).unwrap();
    writeln!(gen, "/// Ring-3 programs: (name, one-line description, ELF).\npub const PROGRAMS: &[(&str, &str, &[u8])] = &[").unwrap();
    for p in PROGRAMS {
        let src = fs::read_to_string(guest.join("src/bin").join(format!("{p}.rs"))).unwrap_or_default();
        let first = src.lines().next().unwrap_or("").trim_start_matches("//!").trim();
        // "`touch N`: maps N fresh ..." -> "maps N fresh ..."
        let desc = first.split_once(": ").map_or(first, |(_, d)| d).to_string();
        writeln!(gen, "    ({p:?}, {desc:?}, include_bytes!({:?})),", bins.join(p).display().to_string()).unwrap();
    }
    writeln!(gen, "];").unwrap();
    fs::write(out.join("guest_images.rs"), gen).expect("write generated code");

    for p in ["src", "Cargo.toml", "build.rs", "shim.ld", "user.ld"] {
        println!("cargo:rerun-if-changed={}", guest.join(p).display());
    }
    // The guest's ulib reads the ABI constants from linux-abi.
    println!("cargo:rerun-if-changed={}", root.join("guest-mm/abi/src").display());
    println!("cargo:rerun-if-changed=build.rs");
}
