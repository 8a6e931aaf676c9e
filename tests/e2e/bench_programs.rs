//! `vmm bench programs --quick --json`: every case has a figure in each of
//! the three columns (native, gVisor, microVM) and the ratios are the raw
//! figures' ratios. No time is asserted. gVisor must be installed (`bash
//! ci/setup.sh` installs Debian's runsc): its absence fails the test.

use crate::common::*;
use serde_json::Value;

/// The cases the benchmark must have, in order.
const CASES: [&str; 11] = ["touch", "fork", "cow", "mmap", "mprotect", "guard", "getppid", "pipe", "read", "exec", "sh"];

/// Cells gVisor may refuse, with the program's reason: gVisor has no guard regions.
const GVISOR_UNSUPPORTED: [(&str, &str); 1] = [("guard", "unsupported: MADV_GUARD_INSTALL EINVAL")];

fn figure(row: &Value, key: &str) -> f64 {
    let v = row[key].as_f64().unwrap_or_else(|| panic!("{}: {key} is not a number: {row}", row["case"]));
    assert!(v.is_finite() && v > 0.0, "{}: {key} = {v}", row["case"]);
    v
}

fn same_ratio(row: &Value, key: &str, a: f64, b: f64) {
    let r = figure(row, key);
    assert!((r - a / b).abs() <= 1e-9 * r.abs(), "{}: {key} = {r}, but the raw figures give {}", row["case"], a / b);
}

#[test]
fn bench_programs_has_three_figures_per_case_and_ratios_of_them() {
    let o = vmm(&["bench", "programs", "--quick", "--json"]);
    assert_eq!(o.code, 0, "vmm bench programs failed:\n{}", o.stderr);
    let j: Value = serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", o.stdout));
    let version = j["runsc_version"].as_str().unwrap_or_else(|| {
        panic!("runsc is not installed, so the gVisor column is absent: run `bash ci/setup.sh` (it installs Debian's runsc)")
    });
    assert!(version.starts_with("runsc version"), "{version}");
    assert!(!j["host_kernel"].as_str().unwrap_or("").is_empty(), "no host kernel in {j}");
    assert_eq!(j["quick"], true);
    let rows = j["cases"].as_array().expect("cases");
    let names: Vec<&str> = rows.iter().map(|r| r["case"].as_str().unwrap_or("?")).collect();
    assert_eq!(names, CASES);
    for row in rows {
        let case = row["case"].as_str().unwrap();
        assert_eq!(row["native_status"], "measured", "{row}");
        assert_eq!(row["vm_status"], "measured", "{row}");
        let (native, vm) = (figure(row, "native_ns"), figure(row, "vm_ns"));
        same_ratio(row, "vm_over_native", vm, native);
        match GVISOR_UNSUPPORTED.iter().find(|(c, _)| *c == case) {
            Some((_, why)) if row["gvisor_status"] != "measured" => {
                assert_eq!(row["gvisor_status"], *why, "{row}");
                assert!(row["gvisor_ns"].is_null() && row["vm_over_gvisor"].is_null(), "{row}");
            }
            _ => {
                assert_eq!(row["gvisor_status"], "measured", "{row}");
                same_ratio(row, "vm_over_gvisor", vm, figure(row, "gvisor_ns"));
            }
        }
    }
}

#[test]
fn bench_programs_only_runs_the_named_cases_and_refuses_unknown_ones() {
    let o = vmm(&["bench", "programs", "--quick", "--json", "--only", "getppid,exec"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let j: Value = serde_json::from_str(&o.stdout).unwrap();
    let names: Vec<&str> = j["cases"].as_array().unwrap().iter().map(|r| r["case"].as_str().unwrap()).collect();
    assert_eq!(names, ["getppid", "exec"]);
    let bad = vmm(&["bench", "programs", "--only", "nosuch"]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("nosuch") && bad.stderr.contains("touch"), "{}", bad.stderr);
}
