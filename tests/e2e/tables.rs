//! Page-table frames recycled while KVM may still shadow them, on real KVM.
//!
//! The guest program `tablestorm` (guest-image/src/bin/tablestorm.rs) fills
//! guest RAM so that page-table allocations must take frames freed from
//! other processes' tables, then has children map, read and exit in turn,
//! each reading slots that the previous owner of its table frames had
//! present. Any value but the expected one is a stale translation. The
//! engine cleans such frames with guest stores (`frames`, "Shadow hazards");
//! the hidden `--inject skip-table-hazards` switch turns that off, and the
//! control shows this host's KVM then does hand a stale translation to ring 3.
//!
//! Data allocations take clean frames first; when the storm leaves only
//! hazardous ones, a frame KVM may still shadow becomes data and the VMM
//! drops every shadow page before the guest runs again (`frames`), which the
//! storm also shows: its data stays right across those flushes.

use crate::common::*;

/// 8 rounds of 128 regions: about 1 s; each round reuses ~260 table frames.
const ARGS: [&str; 2] = ["8", "128"];

fn storm(extra: &[&str]) -> Out {
    let mut args = vec!["run", "--json", "--memory", "8M"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--program", "tablestorm", "--"]);
    args.extend_from_slice(&ARGS);
    vmm(&args)
}

#[test]
fn recycled_table_frames_never_show_a_stale_translation() {
    let o = storm(&[]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("8 rounds, no stale translation"), "{}", o.stdout);
    // The storm must really recycle hazardous table frames, or it shows nothing.
    let reuses = o.summary()["hazardous_table_reuses"].as_u64().unwrap();
    assert!(reuses >= 500, "only {reuses} hazardous table frames were reused:\n{}", o.stderr);
    // And it runs out of clean frames for data, so hazardous frames became
    // data behind shadow flushes.
    let flushes = o.summary()["shadow_flushes"].as_u64().unwrap();
    assert!(flushes >= 1, "no shadow flush: the storm never gave a hazardous frame to data:\n{}", o.stderr);
}

#[test]
fn skipping_the_hazard_stores_shows_a_stale_translation_on_this_host() {
    // The control: the same storm with recycled table frames not cleaned.
    let o = storm(&["--inject", "skip-table-hazards"]);
    assert_eq!(o.code, 3, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("STALE"), "{}", o.stdout);
}
