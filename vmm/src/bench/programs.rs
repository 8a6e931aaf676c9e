//! `vmm bench programs`: small real programs, natively, in gVisor and in the
//! microVM, side by side.
//!
//! Each case is one run of the static benchmark program
//! (`tests/bench/progbench.c`, built at bench time by [`super::progbuild`])
//! that prints one figure, nanoseconds per operation, measured inside the
//! program (CLOCK_MONOTONIC), so process, sandbox and VM start-up are not in
//! it. The same binary runs three ways:
//!
//! - **native**: `PROGRAM CASE ARGS` on the host kernel;
//! - **gVisor**: `runsc --network=none --platform=ptrace do PROGRAM CASE ARGS`
//!   (the kvm platform does not start on this host), when `runsc` is on PATH;
//!   otherwise the column says `absent`. Any other failure of runsc is an
//!   error;
//! - **VM**: `vmm run -q --root ROOT --elf /bench/progbench -- CASE ARGS`,
//!   the root holding the program and busybox.
//!
//! A program may print `unsupported: WHAT ERRNO` when that kernel refuses
//! the operation (gVisor has no MADV_GUARD_INSTALL): the cell says so, and
//! its ratios are absent. Ratios are VM / native and VM / gVisor of the raw
//! figures. Nothing is asserted about the figures (docs/BENCHMARKS.md).
//!
//! Not here yet: a pthread case (threads are not in the guest kernel yet).

use super::progbuild::{self, Built, GUEST_PATH};
use crate::error::VmmError;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How gVisor is run here (see ../shared/PEERS.md).
pub const RUNSC_ARGS: [&str; 3] = ["--network=none", "--platform=ptrace", "do"];

/// One benchmark case: the program's case name and its arguments.
pub struct Case {
    pub name: &'static str,
    /// What one operation is ("page", "fork", ...): the figure is ns per it.
    pub per: &'static str,
    pub what: &'static str,
    pub full: &'static [&'static str],
    pub quick: &'static [&'static str],
}

/// The cases, in table order.
pub const CASES: &[Case] = &[
    Case {
        name: "touch",
        per: "page",
        what: "first write of each page of a fresh 64 MiB anonymous mapping",
        full: &["64", "5"],
        quick: &["16", "1"],
    },
    Case { name: "fork", per: "fork", what: "fork + child _exit + waitpid, 64 MiB touched", full: &["64", "20"], quick: &["16", "3"] },
    Case {
        name: "cow",
        per: "page",
        what: "child's first write of each of 64 MiB of pages after fork",
        full: &["64", "3"],
        quick: &["16", "1"],
    },
    Case { name: "mmap", per: "op", what: "mmap of one page, a write to it, munmap", full: &["5000", "5"], quick: &["300", "3"] },
    Case {
        name: "mprotect",
        per: "pair",
        what: "mprotect of the middle of 3 pages read-only (split) and back (merge)",
        full: &["5000", "5"],
        quick: &["300", "3"],
    },
    Case {
        name: "guard",
        per: "pair",
        what: "MADV_GUARD_INSTALL then MADV_GUARD_REMOVE of a page",
        full: &["5000", "5"],
        quick: &["300", "3"],
    },
    Case { name: "getppid", per: "call", what: "the getppid system call (null syscall)", full: &["20000", "5"], quick: &["1000", "3"] },
    Case {
        name: "pipe",
        per: "round trip",
        what: "one byte there and back between two processes over two pipes",
        full: &["2000", "5"],
        quick: &["200", "3"],
    },
    Case {
        name: "read",
        per: "MiB",
        what: "read(2) in 128 KiB chunks of a 64 MiB file in /tmp just written (page cache)",
        full: &["64", "10"],
        quick: &["16", "3"],
    },
    Case {
        name: "exec",
        per: "exec",
        what: "fork + execve of the static benchmark binary (`noop`) + waitpid",
        full: &["30"],
        quick: &["5"],
    },
    Case {
        name: "sh",
        per: "iteration",
        what: "`busybox sh -c` loop of `echo $i | tr 0-9 a-j > /dev/null` (20 iterations a run)",
        full: &["20", "5"],
        quick: &["5", "1"],
    },
];

/// Where a case ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    Native,
    Gvisor,
    Vm,
}

impl Column {
    pub const ALL: [Column; 3] = [Column::Native, Column::Gvisor, Column::Vm];

    pub fn label(self) -> &'static str {
        match self {
            Column::Native => "native",
            Column::Gvisor => "gVisor",
            Column::Vm => "VM",
        }
    }
}

/// A cell of the table.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Nanoseconds per operation.
    Measured(f64),
    /// The program's `unsupported: WHAT ERRNO`, without the prefix.
    Unsupported(String),
    /// The runtime is not installed (gVisor only).
    Absent,
}

impl Cell {
    fn ns(&self) -> Option<f64> {
        match self {
            Cell::Measured(v) => Some(*v),
            _ => None,
        }
    }

    fn status(&self) -> String {
        match self {
            Cell::Measured(_) => "measured".into(),
            Cell::Unsupported(why) => format!("unsupported: {why}"),
            Cell::Absent => "absent".into(),
        }
    }

    fn show(&self) -> String {
        match self {
            Cell::Measured(v) => show_ns(*v),
            Cell::Unsupported(why) => format!("unsupported ({why})"),
            Cell::Absent => "absent".into(),
        }
    }
}

/// "812 ns", "3.44 µs", "1.63 ms", "2.10 s".
pub fn show_ns(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.2} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

/// The program's stdout as a cell: a number, or `unsupported: ...`.
pub fn parse(stdout: &str) -> Option<Cell> {
    let s = stdout.trim();
    if let Some(why) = s.strip_prefix("unsupported: ") {
        return Some(Cell::Unsupported(why.to_string()));
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0).map(Cell::Measured)
}

fn ratio(a: &Cell, b: &Cell) -> Option<f64> {
    match (a.ns(), b.ns()) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

#[derive(Serialize)]
struct Row {
    case: &'static str,
    per: &'static str,
    what: &'static str,
    args: Vec<&'static str>,
    native_ns: Option<f64>,
    gvisor_ns: Option<f64>,
    vm_ns: Option<f64>,
    native_status: String,
    gvisor_status: String,
    vm_status: String,
    /// vm_ns / native_ns.
    vm_over_native: Option<f64>,
    /// vm_ns / gvisor_ns.
    vm_over_gvisor: Option<f64>,
}

#[derive(Serialize)]
struct Report {
    bench: &'static str,
    quick: bool,
    host_kernel: String,
    /// `runsc --version`'s first line; None when runsc is not on PATH.
    runsc_version: Option<String>,
    runsc_command: String,
    vm_command: String,
    cases: Vec<Row>,
}

/// `runsc` on PATH, if any.
fn find_runsc() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("runsc")).find(|p| p.is_file())
}

/// Runs a command to completion; its stdout, or an error naming `what`.
fn run(mut cmd: Command, what: &str) -> Result<String, VmmError> {
    let o = cmd.stdin(Stdio::null()).output().map_err(|e| VmmError::Bench(format!("{what}: could not start it: {e}")))?;
    if !o.status.success() {
        return Err(VmmError::Bench(format!(
            "{what} failed ({}):\nstdout: {}\nstderr: {}",
            o.status,
            String::from_utf8_lossy(&o.stdout).trim(),
            String::from_utf8_lossy(&o.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

fn runsc_version(runsc: &Path) -> Result<String, VmmError> {
    let mut c = Command::new(runsc);
    c.arg("--version");
    let out = run(c, "runsc --version")?;
    Ok(out.lines().next().unwrap_or("").trim().to_string())
}

/// One case in one column.
fn measure(case: &Case, args: &[&str], column: Column, built: &Built, runsc: Option<&Path>) -> Result<Cell, VmmError> {
    let mut cmd = match column {
        Column::Native => Command::new(&built.exe),
        Column::Gvisor => {
            let Some(runsc) = runsc else { return Ok(Cell::Absent) };
            let mut c = Command::new(runsc);
            c.args(RUNSC_ARGS).arg(&built.exe);
            c
        }
        Column::Vm => {
            let exe = std::env::current_exe().map_err(|e| VmmError::Host("finding our own executable", e))?;
            let mut c = Command::new(exe);
            c.args(["run", "-q", "--timeout", "600", "--root"]).arg(&built.root).args(["--elf", GUEST_PATH, "--"]);
            c
        }
    };
    cmd.arg(case.name).args(args);
    let what = format!("{} {} {}", case.name, args.join(" "), column.label());
    let out = run(cmd, &format!("progbench {what}"))?;
    parse(&out).ok_or_else(|| VmmError::Bench(format!("progbench {what} printed {:?}, not a figure", out.trim())))
}

/// `vmm bench programs [--json] [--quick] [--only CASE,...]`.
pub fn command(json: bool, quick: bool, only: &[String]) -> Result<i32, VmmError> {
    if let Some(bad) = only.iter().find(|o| !CASES.iter().any(|c| c.name == o.as_str())) {
        let names: Vec<&str> = CASES.iter().map(|c| c.name).collect();
        return Err(VmmError::Usage(format!("no benchmark program case {bad:?} (cases: {})", names.join(", "))));
    }
    let cases: Vec<&Case> = CASES.iter().filter(|c| only.is_empty() || only.iter().any(|o| o == c.name)).collect();
    eprintln!("vmm bench programs: building the benchmark program");
    let built = progbuild::build()?;
    let runsc = find_runsc();
    let version = runsc.as_deref().map(runsc_version).transpose()?;
    if runsc.is_none() {
        eprintln!("vmm bench programs: runsc is not on PATH: the gVisor column is absent (`bash ci/setup.sh` installs it)");
    }
    let total = cases.len() * Column::ALL.len();
    let mut rows = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let args = if quick { case.quick } else { case.full };
        let mut cells = Vec::new();
        for (j, column) in Column::ALL.into_iter().enumerate() {
            eprintln!("vmm bench programs: [{}/{total}] {} {}: {}", i * 3 + j + 1, case.name, args.join(" "), column.label());
            cells.push(measure(case, args, column, &built, runsc.as_deref())?);
        }
        let [native, gvisor, vm] = [&cells[0], &cells[1], &cells[2]];
        rows.push(Row {
            case: case.name,
            per: case.per,
            what: case.what,
            args: args.to_vec(),
            native_ns: native.ns(),
            gvisor_ns: gvisor.ns(),
            vm_ns: vm.ns(),
            native_status: native.status(),
            gvisor_status: gvisor.status(),
            vm_status: vm.status(),
            vm_over_native: ratio(vm, native),
            vm_over_gvisor: ratio(vm, gvisor),
        });
    }
    let report = Report {
        bench: "programs",
        quick,
        host_kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string(),
        runsc_version: version,
        runsc_command: format!("runsc {} PROGRAM", RUNSC_ARGS.join(" ")),
        vm_command: format!("vmm run -q --root ROOT --elf {GUEST_PATH}"),
        cases: rows,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        print_table(&report);
    }
    Ok(0)
}

fn show_ratio(r: Option<f64>) -> String {
    r.map_or("—".into(), |r| format!("{r:.2}×"))
}

fn print_table(r: &Report) {
    println!(
        "vmm bench programs{}: host Linux {}, gVisor {}",
        if r.quick { " --quick" } else { "" },
        r.host_kernel,
        r.runsc_version.as_deref().unwrap_or("absent")
    );
    let head = ["case", "per", "native", "gVisor", "VM", "VM/native", "VM/gVisor"];
    let mut lines = vec![head.map(String::from).to_vec()];
    for row in &r.cases {
        let cell = |ns: Option<f64>, status: &str| match ns {
            Some(v) => Cell::Measured(v).show(),
            None => status.to_string(),
        };
        lines.push(vec![
            row.case.to_string(),
            row.per.to_string(),
            cell(row.native_ns, &row.native_status),
            cell(row.gvisor_ns, &row.gvisor_status),
            cell(row.vm_ns, &row.vm_status),
            show_ratio(row.vm_over_native),
            show_ratio(row.vm_over_gvisor),
        ]);
    }
    let widths: Vec<usize> = (0..head.len()).map(|k| lines.iter().map(|l| l[k].chars().count()).max().unwrap_or(0)).collect();
    for l in &lines {
        let cols: Vec<String> = l
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(k, (s, w))| {
                let pad = w - s.chars().count();
                if k < 2 {
                    format!("{s}{}", " ".repeat(pad))
                } else {
                    format!("{}{s}", " ".repeat(pad))
                }
            })
            .collect();
        println!("{}", cols.join("  ").trim_end());
    }
    println!("(ns per operation measured inside the program; ratios of the raw figures)");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_figure_or_unsupported_is_parsed_and_anything_else_is_not() {
        assert_eq!(parse("1744.3\n"), Some(Cell::Measured(1744.3)));
        assert_eq!(parse("unsupported: MADV_GUARD_INSTALL EINVAL\n"), Some(Cell::Unsupported("MADV_GUARD_INSTALL EINVAL".into())));
        assert_eq!(parse(""), None);
        assert_eq!(parse("nan"), None);
        assert_eq!(parse("-3"), None);
        assert_eq!(parse("12 ns"), None);
    }

    #[test]
    fn ratios_need_two_figures() {
        assert_eq!(ratio(&Cell::Measured(30.0), &Cell::Measured(10.0)), Some(3.0));
        assert_eq!(ratio(&Cell::Measured(30.0), &Cell::Absent), None);
        assert_eq!(ratio(&Cell::Unsupported("x".into()), &Cell::Measured(1.0)), None);
    }

    #[test]
    fn figures_are_shown_with_a_unit_that_fits() {
        assert_eq!(show_ns(812.4), "812 ns");
        assert_eq!(show_ns(3443.8), "3.44 µs");
        assert_eq!(show_ns(1_633_140.1), "1.63 ms");
    }

    #[test]
    fn every_case_is_a_case_of_the_program() {
        for c in CASES {
            assert!(progbuild::SOURCE.contains(&format!("!strcmp(c, \"{}\")", c.name)), "{}", c.name);
            assert!(!c.full.is_empty() && c.full.len() == c.quick.len(), "{}", c.name);
        }
    }
}
