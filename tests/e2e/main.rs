//! End-to-end tests: each boots real microVMs on /dev/kvm through the `vmm`
//! binary, exactly as a user would run it. They fail (never skip) when
//! /dev/kvm is missing or not accessible.

mod abi;
mod bench_programs;
mod boot;
mod busybox_root;
mod common;
mod compare;
mod cprog;
mod fuzz;
mod idle;
mod same_as_linux;
mod scenarios;
mod selftests;
mod startup;
mod tables;
mod unplug;
mod vmfork;
