//! `vmm bench boot`: process spawn to exit of `vmm run --program exit`,
//! against a floor process that only creates a VM and a vCPU with one page
//! of memory, runs to one `out`, and exits (`vmm __floor-boot`, same binary,
//! spawned the same way). Medians over `runs` launches of each, interleaved
//! so that machine noise hits both alike.

use super::{median_us, print, Ratio};
use crate::error::VmmError;
use kvm_bindings::kvm_userspace_memory_region;
use kvm_ioctls::{Kvm, VcpuExit};
use serde::Serialize;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Serialize)]
struct BootBench {
    bench: &'static str,
    runs: u32,
    vmm_run_exit_us: f64,
    floor_us: f64,
    ratio: f64,
    target: f64,
    samples_vmm_us: Vec<f64>,
    samples_floor_us: Vec<f64>,
}

fn spawn(args: &[&str]) -> Result<Duration, VmmError> {
    let exe = std::env::current_exe().map_err(|e| VmmError::Host("finding our own executable", e))?;
    let t = Instant::now();
    let st =
        Command::new(exe).args(args).stdout(Stdio::null()).stderr(Stdio::null()).status().map_err(|e| VmmError::Host("spawning vmm", e))?;
    let dt = t.elapsed();
    if !st.success() {
        return Err(VmmError::Bench(format!("`vmm {}` failed: {st}", args.join(" "))));
    }
    Ok(dt)
}

/// Runs the benchmark and prints it.
pub fn command(runs: u32, json: bool) -> Result<i32, VmmError> {
    let runs = runs.max(1);
    let (mut vmm, mut floor) = (Vec::new(), Vec::new());
    // One warm-up of each: page cache, dynamic loader.
    spawn(&["__floor-boot"])?;
    spawn(&["run", "--program", "exit", "--quiet"])?;
    for _ in 0..runs {
        floor.push(spawn(&["__floor-boot"])?);
        vmm.push(spawn(&["run", "--program", "exit", "--quiet"])?);
    }
    let us = |v: &[Duration]| v.iter().map(|d| d.as_secs_f64() * 1e6).collect::<Vec<_>>();
    let (sv, sf) = (us(&vmm), us(&floor));
    let (m, f) = (median_us(&mut vmm), median_us(&mut floor));
    let r = Ratio::new("boot: spawn to exit", "us", m, f, Some(1.5));
    let out = BootBench {
        bench: "boot",
        runs,
        vmm_run_exit_us: m,
        floor_us: f,
        ratio: r.ratio,
        target: 1.5,
        samples_vmm_us: sv,
        samples_floor_us: sf,
    };
    print(json, &out, &[format!("vmm bench boot: median of {runs} launches each"), r.line()]);
    Ok(0)
}

/// The floor process: a VM, one page of memory, a vCPU, one `out`, exit.
pub fn floor_process() -> Result<i32, VmmError> {
    let kvm = Kvm::new().map_err(|e| VmmError::Kvm(e.errno()))?;
    let vm = kvm.create_vm().map_err(|e| VmmError::KvmIoctl("KVM_CREATE_VM", e))?;
    let mem = vm_memory::GuestMemoryMmap::<()>::from_ranges(&[(vm_memory::GuestAddress(0), 4096)])
        .map_err(|e| VmmError::GuestMemory(e.to_string()))?;
    use vm_memory::{Bytes, GuestMemoryBackend};
    mem.write_slice(&[0xe6, 0x10], vm_memory::GuestAddress(0)).map_err(|e| VmmError::GuestMemory(e.to_string()))?; // out 0x10, al
    let host = mem.get_host_address(vm_memory::GuestAddress(0)).map_err(|e| VmmError::GuestMemory(e.to_string()))?;
    let slot = kvm_userspace_memory_region { slot: 0, flags: 0, guest_phys_addr: 0, memory_size: 4096, userspace_addr: host as u64 };
    // SAFETY: `host` is the start of a live 4 KiB mapping owned by `mem`, which
    // outlives the VM (both are dropped at the end of this function, VM first).
    unsafe { vm.set_user_memory_region(slot) }.map_err(|e| VmmError::KvmIoctl("KVM_SET_USER_MEMORY_REGION", e))?;
    let mut vcpu = vm.create_vcpu(0).map_err(|e| VmmError::KvmIoctl("KVM_CREATE_VCPU", e))?;
    let mut s = vcpu.get_sregs().map_err(|e| VmmError::KvmIoctl("KVM_GET_SREGS", e))?;
    s.cs.base = 0;
    s.cs.selector = 0;
    vcpu.set_sregs(&s).map_err(|e| VmmError::KvmIoctl("KVM_SET_SREGS", e))?;
    let mut r = vcpu.get_regs().map_err(|e| VmmError::KvmIoctl("KVM_GET_REGS", e))?;
    r.rip = 0;
    r.rflags = 2;
    vcpu.set_regs(&r).map_err(|e| VmmError::KvmIoctl("KVM_SET_REGS", e))?;
    match vcpu.run() {
        Ok(VcpuExit::IoOut(0x10, _)) => Ok(0),
        other => Err(VmmError::Bench(format!("floor VM: unexpected exit {other:?}"))),
    }
}
