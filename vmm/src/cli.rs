//! Command-line interface definitions (clap).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// A KVM microVMM whose guest memory is governed by a host-side engine with
/// Linux semantics. A tiny guest runs ring-3 programs under real x86-64
/// paging; every page fault and memory syscall is resolved by the engine,
/// which owns the guest's page tables.
#[derive(Parser, Debug)]
#[command(
    name = "vmm",
    version,
    after_help = "Examples:\n  vmm run --program hello\n  vmm run --program touch -- 1000\n  vmm run --elf ./my-static-program -- arg1\n  vmm programs\n  vmm bench fault --json\n\nLogs: set RUST_LOG=debug (or trace) to see the vCPU loop and the engine."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Boot a microVM and run one program in ring 3 as process 1.
    Run(RunArgs),
    /// List the programs built into the guest image.
    Programs,
    /// Run scenario files in the microVM (or with --host, on the host kernel).
    Scenario(ScenarioArgs),
    /// Run scenarios both ways and report where the microVM and Linux differ.
    Diff(DiffArgs),
    /// Run a program to its checkpoint, then fork child VMs from it (or
    /// reset one child K times); see docs/vmfork.md.
    Fork(ForkArgs),
    /// Run a program to its checkpoint and save the whole VM to a directory.
    Snapshot(SnapshotArgs),
    /// Bring a saved VM back and run it to completion.
    Restore(RestoreArgs),
    /// Measure the VMM against floors measured in the same run.
    Bench(BenchArgs),
    /// The system calls the guest's kernel implements (docs/syscalls.md).
    Syscalls(SyscallsArgs),
    /// Run a static program natively and in the microVM and report where
    /// they differ (per test for TAP output); see docs/compare.md.
    #[command(
        after_help = "Exit status: 0 when both runs are the same, 1 when they differ, 2 for bad input.\n\nExamples:\n  vmm compare -- ./mremap_test\n  vmm compare --json --env LANG=C -- ./my-test arg"
    )]
    Compare(CompareArgs),
    /// Build Linux's mm selftests (a folder with build.sh) with glibc and
    /// musl and compare each with the host kernel (docs/linux-selftests.md).
    #[command(
        after_help = "Exit status: 0 when every selftest gives the host's results, 1 when one differs, 2 for bad input.\n\nExamples:\n  vmm selftests ../shared/linux-selftests\n  vmm selftests --markdown ../shared/linux-selftests > docs/linux-selftests.md"
    )]
    Selftests(SelftestsArgs),
    /// Send a command to a running VM's control socket (`vmm run --ctl SOCKET`):
    /// `unplug NAME`, `plug NAME PATH|memfd [SIZE]`, `devices`.
    Ctl(CtlArgs),
    /// (internal) The boot benchmark's floor: a minimal VM that runs to one `out`.
    #[command(name = "__floor-boot", hide = true)]
    FloorBoot,
}

#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// Guest RAM, e.g. 64M, 1G; the native side gets the resource limits of
    /// a machine this size.
    #[arg(long, short = 'm', default_value = "256M")]
    pub memory: String,
    /// Stop either run after this many seconds (status 124).
    #[arg(long, default_value_t = 60.0)]
    pub timeout: f64,
    /// Add to both runs' environment: KEY=VALUE (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Compare exactly: no rewriting of addresses, times and the program's pid.
    #[arg(long)]
    pub exact: bool,
    /// The report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// The program and its arguments (after `--`).
    #[arg(last = true)]
    pub command: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct SelftestsArgs {
    /// The selftests' folder (its build.sh builds DIR/glibc/NAME and DIR/musl/NAME).
    pub dir: PathBuf,
    /// Build into this directory (kept) instead of a scratch one.
    #[arg(long)]
    pub build_dir: Option<PathBuf>,
    /// Print docs/linux-selftests.md.
    #[arg(long, conflicts_with = "json")]
    pub markdown: bool,
    /// Every result and the document as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Guest RAM, e.g. 64M, 1G (suffixes K, M, G; MiB/GiB also accepted).
    #[arg(long, short = 'm', default_value = "256M")]
    pub memory: String,
    /// Built-in program to run (see `vmm programs`).
    #[arg(long, short = 'p', default_value = "hello", conflicts_with = "elf")]
    pub program: String,
    /// A static x86-64 Linux executable to run instead of a built-in program.
    #[arg(long)]
    pub elf: Option<PathBuf>,
    /// Stop the guest after this many seconds (exit status 124).
    #[arg(long, default_value_t = 60.0)]
    pub timeout: f64,
    /// Pages an anonymous fault populates at once (1 = Linux without mTHP).
    #[arg(long, default_value_t = 16)]
    pub anon_fault_around: u32,
    /// Pages a file read fault maps around itself (Linux's default is 16).
    #[arg(long, default_value_t = 16)]
    pub file_fault_around: u32,
    /// Do not print the summary line at the end.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Print the summary as JSON (on stderr, after the guest's output).
    #[arg(long)]
    pub json: bool,
    /// When each process ends, print its /proc/pid/maps and a per-page pagemap
    /// summary (A anonymous, S shared or zero page, F file, G guard, . absent).
    #[arg(long)]
    pub show_maps: bool,
    /// The guest's root file system: a host directory, read-only underneath
    /// with an in-memory writable layer above it (the host directory is never
    /// written). With --root, --elf names a path inside it. See
    /// docs/filesystems.md.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Give the guest a host file: NAME=PATH (read-write copy) or NAME=PATH:ro.
    /// The guest opens it as /NAME; changes are never written back.
    #[arg(long = "file", value_name = "NAME=PATH[:ro]")]
    pub files: Vec<String>,
    /// A memory-window device, hot-unpluggable: NAME=PATH[,size=SIZE] (a host
    /// file, mapped shared) or NAME=memfd,size=SIZE. The guest opens /dev/NAME.
    #[arg(long = "device", value_name = "NAME=PATH[,size=SIZE]")]
    pub devices: Vec<String>,
    /// Serve JSON commands on this Unix socket while the guest runs (see `vmm ctl`).
    #[arg(long, value_name = "SOCKET")]
    pub ctl: Option<PathBuf>,
    /// Testing aid: keep each unplugged backing mapped PROT_NONE, so any
    /// later host access to it would crash the VMM.
    #[arg(long, hide = true)]
    pub unplug_tripwire: bool,
    /// Testing aid: make the guest kernel fail (to check crash reports).
    #[arg(long, value_enum, hide = true)]
    pub inject: Option<Inject>,
    /// Testing aid: how live PTE changes reach the guest.
    #[arg(long, value_enum, default_value = "shim", hide = true)]
    pub pte_apply: PteApply,
    /// Set an environment variable for the program: KEY=VALUE (repeatable).
    /// The default environment is PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    /// and HOME=/; a KEY given here replaces its default.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Make the guest's randomness (getrandom, AT_RANDOM) reproducible.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Print each system call, signal and exit as strace does (on stderr,
    /// or into FILE with --strace=FILE).
    #[arg(long, value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "-")]
    pub strace: Option<String>,
    /// Arguments passed to the program (after `--`).
    #[arg(last = true)]
    pub args: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct SyscallsArgs {
    /// docs/syscalls.md: a row per x86-64 call (and per extension).
    #[arg(long, conflicts_with_all = ["json", "fuzz_list"])]
    pub markdown: bool,
    /// The implemented calls as JSON.
    #[arg(long, conflicts_with = "fuzz_list")]
    pub json: bool,
    /// The list the hostile-guest fuzzer takes (`fuzz SEED N calls=LIST`).
    #[arg(long, hide = true)]
    pub fuzz_list: bool,
}

#[derive(Args, Debug, Clone)]
pub struct ForkArgs {
    /// Child VMs to fork from the checkpoint (each sees its index, 0..N).
    #[arg(long, short = 'n', default_value_t = 1)]
    pub children: u64,
    /// Children running at once, each on its own thread (default: the host's CPUs).
    /// Output is reported in index order whatever the order they finish in.
    #[arg(long, value_name = "J", conflicts_with = "reset_loop")]
    pub jobs: Option<usize>,
    /// Instead: run one child K times, resetting it to the checkpoint each time.
    #[arg(long, value_name = "K", conflicts_with = "children")]
    pub reset_loop: Option<u64>,
    /// Testing aid: reset registers and engine state but not guest RAM (a
    /// broken reset, which the checksums must catch).
    #[arg(long, hide = true)]
    pub reset_keep_memory: bool,
    /// Testing aid: how a reset drops KVM's shadow page tables.
    #[arg(long, value_enum, default_value = "dummy-slot", hide = true)]
    pub reset_shadow: crate::vm::ShadowFlush,
    /// What children get of a --device window: the same backing (shared) or
    /// their own copy-on-write copy (copy); per device with NAME=MODE.
    /// Default: shared for a host file, copy for a memfd.
    #[arg(long = "device-mode", value_name = "[NAME=]shared|copy")]
    pub device_modes: Vec<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args, Debug, Clone)]
pub struct SnapshotArgs {
    /// Directory to write (replaced atomically if it exists).
    pub dir: PathBuf,
    /// What the snapshot keeps of a --device window: its host file's path
    /// (shared: a restore maps that file) or its bytes (copy); per device
    /// with NAME=MODE. Default: shared for a host file, copy for a memfd.
    #[arg(long = "device-mode", value_name = "[NAME=]shared|copy")]
    pub device_modes: Vec<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args, Debug, Clone)]
pub struct RestoreArgs {
    /// Snapshot directory written by `vmm snapshot`.
    pub dir: PathBuf,
    /// Populate guest RAM on first touch (userfaultfd) instead of up front.
    #[arg(long)]
    pub lazy: bool,
    #[arg(long, default_value_t = 60.0)]
    pub timeout: f64,
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct ScenarioArgs {
    /// Scenario files (see docs/scenarios.md).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Run natively on the host kernel instead of in the microVM.
    #[arg(long)]
    pub host: bool,
    #[arg(long)]
    pub json: bool,
    /// Print only summaries (and traces that failed).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Testing aid: break one engine rule in the microVM (controls of the corpus tests).
    #[arg(long, value_enum, hide = true)]
    pub inject: Option<ScenarioInject>,
}

#[derive(Args, Debug, Clone)]
pub struct DiffArgs {
    /// Scenario files (see docs/scenarios.md).
    pub files: Vec<PathBuf>,
    /// Also generate and compare N random scenarios.
    #[arg(long, value_name = "N")]
    pub random: Option<u64>,
    /// Seed of the random series.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Which statements random scenarios use (a seed names the same
    /// scenarios forever within one vocabulary).
    #[arg(long, value_enum, default_value_t = RandomVocabulary::Memory)]
    pub vocabulary: RandomVocabulary,
    /// Where shrunk reproducers of divergent random scenarios are saved.
    #[arg(long, default_value = ".")]
    pub save: PathBuf,
    #[arg(long)]
    pub json: bool,
    /// Print only divergences and the summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Testing aid: break one engine rule in the microVM (controls of the corpus tests).
    #[arg(long, value_enum, hide = true)]
    pub inject: Option<ScenarioInject>,
}

/// The statements `vmm diff --random` draws from.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RandomVocabulary {
    /// The memory operations: probes, mprotect, munmap, mremap, madvise,
    /// mlock, remap_file_pages, fork, maps, pagemap.
    Memory,
    /// Those, plus kernel accesses through user memory (read(2)/write(2) of
    /// a file into and out of the regions), process_madvise and smaps.
    Kernel,
}

/// Engine rules a scenario control breaks on purpose (microVM side only).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScenarioInject {
    /// A MAP_SHARED mapping of a file opened O_RDONLY may be made writable
    /// (Linux: EACCES from mmap and mprotect).
    SharedWritesIgnoreOpenMode,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inject {
    /// Clear the IDT so the first exception triple-faults.
    TripleFault,
    /// Unplug deletes the memslot without revoking any mapping (so a stale
    /// guest translation reaches the deleted window).
    SkipRevoke,
    /// With --unplug-tripwire: read the old backing after unplug (the
    /// tripwire's control: the VMM must die of SIGSEGV).
    TouchAfterUnplug,
    /// Recycled page-table frames get no cleaning stores (breaks the
    /// shadow-hazard rule; the control of the table-recycling e2e test).
    SkipTableHazards,
    /// The VMM panics at the guest's third system call.
    VmmPanic,
    /// The VMM fails with an internal error at the guest's third system call.
    VmmInternalError,
    /// The VMM drops every page fault and re-enters the guest (a livelock).
    VmmLivelock,
    /// `vmm fork` only: each child's IDT is cleared after the fork, so its
    /// first exception triple-faults (a guest-kernel crash in a child).
    ChildTripleFault,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PteApply {
    /// The guest shim replays each batch (correct everywhere).
    Shim,
    /// Host writes only (what this host's KVM does not see; for the control test).
    HostOnly,
}

#[derive(Args, Debug, Clone)]
pub struct CtlArgs {
    /// The VM's control socket.
    pub socket: PathBuf,
    /// The command and its arguments.
    #[arg(required = true, num_args = 1..)]
    pub command: Vec<String>,
    /// Print the JSON reply.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub which: BenchKind,
}

#[derive(Subcommand, Debug)]
pub enum BenchKind {
    /// Every benchmark, each in its own process, as JSON or as the markdown
    /// tables of docs/BENCHMARKS.md (dated, with the machine's load).
    All {
        /// Print the markdown tables.
        #[arg(long)]
        markdown: bool,
        /// Rewrite the generated tables of this file (e.g. docs/BENCHMARKS.md) in place.
        #[arg(long, value_name = "FILE")]
        update: Option<PathBuf>,
        /// Only these benchmarks (boot, fault, engine, scenario, nonlinear, unplug, fork, programs).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
    /// Operations per second of scenarios in the microVM and on the host kernel.
    Scenario {
        /// Scenario files (default: every file in tests/scenarios).
        files: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Process spawn to exit of `vmm run --program exit`, against a minimal VM process.
    Boot {
        /// Launches of each (median reported).
        #[arg(long, default_value_t = 21)]
        runs: u32,
        #[arg(long)]
        json: bool,
    },
    /// Cost of a forwarded demand fault from ring 3, against a null trap plus a bare exit.
    Fault {
        /// Pages touched per measurement.
        #[arg(long, default_value_t = 2000)]
        pages: u64,
        /// Repetitions (median reported).
        #[arg(long, default_value_t = 5)]
        runs: u32,
        #[arg(long)]
        json: bool,
    },
    /// Unplug: revoke latency by mapping processes and pages, and request-to-resume
    /// through the control path, as ratios to a bare exit measured in the same run.
    Unplug {
        /// Repetitions per configuration (median reported).
        #[arg(long, default_value_t = 5)]
        runs: u32,
        #[arg(long)]
        json: bool,
    },
    /// Whole-VM fork, reset, children's RSS and snapshot restore, against host fork() of the same memory.
    Fork {
        /// Guest RAM sizes in MiB.
        #[arg(long, value_delimiter = ',', default_values_t = [64u64, 1024])]
        sizes: Vec<u64>,
        /// Repetitions (median reported).
        #[arg(long, default_value_t = 5)]
        runs: u32,
        #[arg(long)]
        json: bool,
    },
    /// Engine-only cost of mmap, mprotect, guard install and fork, against the host kernel doing the same.
    Engine {
        /// Rounds; each gives every figure ~30 ms of samples (medians over all rounds).
        #[arg(long, default_value_t = 5)]
        runs: u32,
        #[arg(long)]
        json: bool,
    },
    /// Small real programs (tests/bench/progbench.c, built with gcc at bench time)
    /// natively, in gVisor (runsc, when installed) and in the microVM: ns per
    /// operation measured inside each program, and the ratios.
    Programs {
        #[arg(long)]
        json: bool,
        /// Fewer iterations (a short run, for tests).
        #[arg(long)]
        quick: bool,
        /// Only these cases (touch, fork, cow, mmap, mprotect, guard, getppid, pipe, read, exec, sh).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
    /// remap_file_pages of 10,000 scattered pages in one mapping: VMAs, remap and touch time, engine vs host kernel.
    Nonlinear {
        /// Rounds (medians reported).
        #[arg(long, default_value_t = 5)]
        runs: u32,
        #[arg(long)]
        json: bool,
    },
}
