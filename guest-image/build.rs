//! Link settings for the guest binaries: static, no C runtime, fixed addresses.
//! The shim is linked into the kernel half; every other binary is a ring-3
//! program linked at 0x400000 like a classic static Linux executable.
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let common = ["-nostartfiles", "-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none", "-Wl,--gc-sections"];
    for flag in common {
        println!("cargo:rustc-link-arg-bins={flag}");
    }
    let shim_ld = dir.join("shim.ld");
    let user_ld = dir.join("user.ld");
    println!("cargo:rustc-link-arg-bin=shim=-Wl,-T,{}", shim_ld.display());
    for bin in [
        "hello", "exit", "touch", "segv", "protect", "nulltrap", "spin", "guard", "forkcow", "sigcatch", "scenario", "pmem", "forkvm",
        "fuzz", "shortio",
    ] {
        println!("cargo:rustc-link-arg-bin={bin}=-Wl,-T,{}", user_ld.display());
    }
    println!("cargo:rerun-if-changed=shim.ld");
    println!("cargo:rerun-if-changed=user.ld");
    println!("cargo:rerun-if-changed=build.rs");
}
