//! The host kernel's placement limits, read once at start-up, so the engine
//! places mappings as the reference kernel does.
//!
//! Owns Linux's mmap_min_addr as security/min_addr.c computes it:
//! max(vm.mmap_min_addr, CONFIG_LSM_MMAP_MIN_ADDR). The sysctl is in
//! /proc/sys/vm/mmap_min_addr (the DAC value: an unprivileged mapping below
//! it is EPERM). The effective value is asked of the host kernel with one
//! hinted mapping (`probe_mmap_min_addr`); only if that gives no usable
//! answer is the LSM value, a build option, read from the running kernel's
//! configuration (/boot/config-RELEASE, else /proc/config.gz); a
//! configuration without CONFIG_SECURITY has none. When no configuration can
//! be read it is taken as 65536, the Kconfig default that x86-64 distribution
//! kernels (and this project's reference host) use.

use guest_mm::engine::{DEFAULT_DAC_MMAP_MIN_ADDR, DEFAULT_LSM_MMAP_MIN_ADDR};
use std::io::Read;

/// (dac_mmap_min_addr, mmap_min_addr) of the host.
pub fn mmap_min_addr() -> (u64, u64) {
    let dac =
        std::fs::read_to_string("/proc/sys/vm/mmap_min_addr").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(DEFAULT_DAC_MMAP_MIN_ADDR);
    if let Some(eff) = probe_mmap_min_addr().filter(|&e| e >= dac) {
        return (dac, eff);
    }
    let lsm = kernel_config().map_or(DEFAULT_LSM_MMAP_MIN_ADDR, |c| lsm_mmap_min_addr(&c));
    (dac, dac.max(lsm))
}

/// Below the usual load address of a program: a probe answer at or above it
/// means the hint's range was taken, not that the minimum is that high.
const PROBE_LIMIT: u64 = 0x40_0000;

/// Asks the host kernel itself: a mapping hinted at the first page is
/// placed at PAGE_ALIGN(mmap_min_addr) when that range is free (mm/mmap.c
/// round_hint_to_min), which in this process it is. Two syscalls, where the
/// configuration costs a decompression of /proc/config.gz on every start.
fn probe_mmap_min_addr() -> Option<u64> {
    let page = 4096usize;
    // SAFETY: a fresh PROT_NONE anonymous mapping with a hint but without
    // MAP_FIXED cannot replace any existing mapping; it is unmapped at once
    // and never accessed.
    let p = unsafe {
        libc::mmap(page as *mut libc::c_void, page, libc::PROT_NONE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE, -1, 0)
    };
    if p == libc::MAP_FAILED {
        return None;
    }
    // SAFETY: `p` is the mapping made above, of `page` bytes, used by nothing.
    unsafe { libc::munmap(p, page) };
    let addr = p as u64;
    (addr < PROBE_LIMIT).then_some(addr)
}

/// The running kernel's build configuration, if it can be read.
fn kernel_config() -> Option<String> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    if let Ok(c) = std::fs::read_to_string(format!("/boot/config-{}", release.trim())) {
        return Some(c);
    }
    let gz = std::fs::read("/proc/config.gz").ok()?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut text).ok()?;
    Some(text)
}

/// CONFIG_LSM_MMAP_MIN_ADDR of a configuration (0 when it has none, as
/// without CONFIG_SECURITY).
pub fn lsm_mmap_min_addr(config: &str) -> u64 {
    config
        .lines()
        .find_map(|l| l.strip_prefix("CONFIG_LSM_MMAP_MIN_ADDR="))
        .and_then(|v| {
            let v = v.trim();
            match v.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).ok(),
                None => v.parse().ok(),
            }
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsm_value_comes_from_the_config_line_and_is_zero_without_one() {
        assert_eq!(lsm_mmap_min_addr("CONFIG_SECURITY=y\nCONFIG_LSM_MMAP_MIN_ADDR=65536\n"), 65536);
        assert_eq!(lsm_mmap_min_addr("CONFIG_LSM_MMAP_MIN_ADDR=0x1000\n"), 4096);
        assert_eq!(lsm_mmap_min_addr("# CONFIG_SECURITY is not set\n"), 0);
    }

    #[test]
    fn this_hosts_effective_minimum_is_at_least_the_sysctl() {
        let (dac, eff) = mmap_min_addr();
        assert!(eff >= dac);
    }

    #[test]
    fn the_probe_agrees_with_the_kernel_configuration_when_there_is_one() {
        let Some(config) = kernel_config() else { return };
        let dac: u64 = std::fs::read_to_string("/proc/sys/vm/mmap_min_addr").unwrap().trim().parse().unwrap();
        let from_config = dac.max(lsm_mmap_min_addr(&config));
        assert_eq!(probe_mmap_min_addr(), Some(from_config.next_multiple_of(4096)));
    }
}
