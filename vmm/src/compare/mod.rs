//! `vmm compare`: one static program run natively and in the microVM, and
//! where the two differ. The program-level `vmm diff`.
//!
//! Owns the comparison: the native run (`native`, under the microVM's
//! documented conditions), the microVM run (a fresh VM in this process with
//! the console captured), the explicit rewriting of what must differ
//! (`normalize`), and the verdict. When both outputs are TAP (`tap`: what
//! kselftest prints) the verdict is per test: the same result, or the
//! host's against the VM's, plus the plan and the exit status; otherwise
//! stdout, stderr (without the VMM's own `vmm: ` lines) and the exit status
//! must be equal after the rewriting. docs/compare.md is the user's guide.

pub mod native;
pub mod normalize;
pub mod selftests;
pub mod tap;

use crate::cli::{Cli, CompareArgs};
use crate::error::VmmError;
use crate::machine::Machine;
use clap::Parser;
use normalize::Rules;
use std::time::Duration;

/// One run's outcome, as compared.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Side {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A test whose result differs.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TestDiff {
    pub number: u32,
    pub name: String,
    pub host: Option<&'static str>,
    pub vm: Option<&'static str>,
}

/// One test's result on each side (TAP mode).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TestResult {
    pub number: u32,
    pub name: String,
    pub host: Option<String>,
    pub vm: Option<String>,
}

/// What was compared and how it came out.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    pub program: String,
    /// "tap" or "raw".
    pub mode: &'static str,
    pub same: bool,
    pub exit: (i32, i32),
    /// TAP: number of tests seen on either side, and those that differ.
    pub tests: usize,
    pub test_diffs: Vec<TestDiff>,
    /// TAP: every test's result on both sides, by number.
    pub results: Vec<TestResult>,
    pub plan: (Option<u32>, Option<u32>),
    /// Raw mode: the first differing line of each stream (1-based) and a hunk.
    pub stdout_diff: Option<(usize, String)>,
    pub stderr_diff: Option<(usize, String)>,
}

/// The microVM's stderr without the VMM's own lines.
pub fn guest_stderr(vm_stderr: &str) -> String {
    vm_stderr.split_inclusive('\n').filter(|l| !l.starts_with("vmm: ")).collect()
}

/// The first line where `a` and `b` differ (1-based) and a short hunk.
pub fn first_difference(a: &str, b: &str) -> Option<(usize, String)> {
    if a == b {
        return None;
    }
    let (al, bl): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let i = al.iter().zip(&bl).take_while(|(x, y)| x == y).count();
    let mut hunk = String::new();
    for l in al.iter().skip(i.saturating_sub(2)).take(2.min(i)) {
        hunk.push_str(&format!("   {l}\n"));
    }
    for l in al.iter().skip(i).take(3) {
        hunk.push_str(&format!("  -{l}\n"));
    }
    for l in bl.iter().skip(i).take(3) {
        hunk.push_str(&format!("  +{l}\n"));
    }
    if al.len() == bl.len() && i == al.len() {
        hunk.push_str("  (the same lines; the streams differ in their last newline)\n");
    }
    Some((i + 1, hunk))
}

/// Compares two runs already normalised.
pub fn compare(program: &str, host: &Side, vm: &Side) -> Report {
    let vm_err = guest_stderr(&vm.stderr);
    let exit = (host.code, vm.code);
    match (tap::parse(&host.stdout), tap::parse(&vm.stdout)) {
        (Some(h), Some(v)) => {
            let mut numbers: Vec<u32> = h.tests.keys().chain(v.tests.keys()).copied().collect();
            numbers.sort_unstable();
            numbers.dedup();
            let test_diffs: Vec<TestDiff> = numbers
                .iter()
                .filter_map(|n| {
                    let (hr, vr) = (h.tests.get(n), v.tests.get(n));
                    if hr.map(|t| t.1) == vr.map(|t| t.1) {
                        return None;
                    }
                    let name = hr.or(vr).map_or(String::new(), |t| t.0.clone());
                    Some(TestDiff { number: *n, name, host: hr.map(|t| t.1.label()), vm: vr.map(|t| t.1.label()) })
                })
                .collect();
            let results = numbers
                .iter()
                .map(|n| {
                    let (hr, vr) = (h.tests.get(n), v.tests.get(n));
                    let name = hr.or(vr).map_or(String::new(), |t| t.0.clone());
                    TestResult { number: *n, name, host: hr.map(|t| t.1.label().into()), vm: vr.map(|t| t.1.label().into()) }
                })
                .collect();
            let same = test_diffs.is_empty() && h.plan == v.plan && exit.0 == exit.1;
            Report {
                program: program.into(),
                mode: "tap",
                same,
                exit,
                tests: numbers.len(),
                test_diffs,
                results,
                plan: (h.plan, v.plan),
                stdout_diff: None,
                stderr_diff: None,
            }
        }
        _ => {
            let stdout_diff = first_difference(&host.stdout, &vm.stdout);
            let stderr_diff = first_difference(&host.stderr, &vm_err);
            let same = stdout_diff.is_none() && stderr_diff.is_none() && exit.0 == exit.1;
            Report {
                program: program.into(),
                mode: "raw",
                same,
                exit,
                tests: 0,
                test_diffs: Vec::new(),
                results: Vec::new(),
                plan: (None, None),
                stdout_diff,
                stderr_diff,
            }
        }
    }
}

impl Report {
    /// The human report: one line, then what differs.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let exit = if self.exit.0 == self.exit.1 {
            format!("exit status {} both", self.exit.0)
        } else {
            format!("exit status: host {}, vm {}", self.exit.0, self.exit.1)
        };
        if self.mode == "tap" {
            let verdict = if self.same { "the same" } else { "different" };
            s.push_str(&format!(
                "vmm compare: {} (TAP, {} tests): {}; {} same, {} differ; {exit}\n",
                self.program,
                self.tests,
                verdict,
                self.tests - self.test_diffs.len(),
                self.test_diffs.len()
            ));
            if self.plan.0 != self.plan.1 {
                s.push_str(&format!("  plan: host {:?}, vm {:?}\n", self.plan.0, self.plan.1));
            }
            for d in &self.test_diffs {
                s.push_str(&format!(
                    "  test {} {:?}: host {}, vm {}\n",
                    d.number,
                    d.name,
                    d.host.unwrap_or("missing"),
                    d.vm.unwrap_or("missing")
                ));
            }
        } else {
            let stream = |d: &Option<(usize, String)>| d.as_ref().map_or("same".to_string(), |(l, _)| format!("differs at line {l}"));
            s.push_str(&format!(
                "vmm compare: {}: {}; stdout {}, stderr {}, {exit}\n",
                self.program,
                if self.same { "the same" } else { "different" },
                stream(&self.stdout_diff),
                stream(&self.stderr_diff)
            ));
            for (name, d) in [("stdout", &self.stdout_diff), ("stderr", &self.stderr_diff)] {
                if let Some((_, hunk)) = d {
                    s.push_str(&format!("  {name}: --- host +++ vm\n{hunk}"));
                }
            }
        }
        s
    }
}

/// Runs `a.command` in a fresh microVM with the console captured.
fn run_vm(a: &CompareArgs, exe: &str) -> Result<(Side, crate::machine::BootSpec), VmmError> {
    let mut argv: Vec<String> = vec!["vmm".into(), "run".into(), "-q".into(), "--memory".into(), a.memory.clone()];
    argv.extend(["--timeout".into(), a.timeout.to_string()]);
    for e in &a.env {
        argv.extend(["--env".into(), e.clone()]);
    }
    argv.extend(["--elf".into(), exe.into(), "--".into()]);
    argv.extend(a.command[1..].iter().cloned());
    let cli = Cli::try_parse_from(&argv).map_err(|e| VmmError::Usage(e.to_string()))?;
    let crate::cli::Command::Run(run) = cli.command else { unreachable!("built as a run command") };
    let (mut spec, timeout) = crate::run::spec_from_args(&run)?;
    spec.capture = true;
    spec.quiet = true;
    let mut m = Machine::boot(crate::vm::open_kvm()?, &spec)?;
    let code = m.run(timeout)?.shell_code();
    let (out, err) = m.captured();
    let side = Side { code, stdout: String::from_utf8_lossy(out).into_owned(), stderr: String::from_utf8_lossy(err).into_owned() };
    Ok((side, spec))
}

/// `vmm compare`: returns 0 when the runs are the same, 1 when they differ.
pub fn command(a: &CompareArgs) -> Result<i32, VmmError> {
    let report = run(a)?;
    if a.json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        print!("{}", report.text());
    }
    Ok(if report.same { 0 } else { 1 })
}

/// Runs `a.command` both ways and compares the runs.
pub fn run(a: &CompareArgs) -> Result<Report, VmmError> {
    let Some(program) = a.command.first() else {
        return Err(VmmError::Usage("vmm compare needs a program: vmm compare [options] -- PROGRAM [ARGS...]".into()));
    };
    // Both sides get the same absolute path as argv[0] and AT_EXECFN, and
    // the native side runs in another directory.
    let exe = std::fs::canonicalize(program).map_err(|e| VmmError::ReadFile(program.clone(), e))?;
    let exe_s = exe.display().to_string();
    let (vm, spec) = run_vm(a, &exe_s)?;
    let rules = Rules { enabled: !a.exact };
    let threads = crate::kernel::max_threads_for_ram(spec.memory) as u64;
    let nat = native::run(&native::NativeSpec {
        exe: &exe,
        args: &a.command[1..],
        env: &spec.env,
        rlimits: linux_abi::resource::init_rlimits(threads),
        thp_off: true,
        timeout: Duration::from_secs_f64(a.timeout),
    })?;
    let host = Side {
        code: nat.code,
        stdout: normalize::normalize(&String::from_utf8_lossy(&nat.stdout), rules, Some(nat.pid)),
        stderr: normalize::normalize(&String::from_utf8_lossy(&nat.stderr), rules, Some(nat.pid)),
    };
    let vm = Side {
        code: vm.code,
        stdout: normalize::normalize(&vm.stdout, rules, None),
        stderr: normalize::normalize(&vm.stderr, rules, None),
    };
    Ok(compare(program, &host, &vm))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(code: i32, out: &str, err: &str) -> Side {
        Side { code, stdout: out.into(), stderr: err.into() }
    }

    #[test]
    fn tap_results_are_compared_per_test_and_the_rest_raw() {
        let h = side(0, "1..3\nok 1 a\nok 2 b\n# noise 1\nok 3 c # SKIP x\n", "");
        let v = side(0, "1..3\nok 1 a\nnot ok 2 b\n# noise 2\nok 3 c # SKIP y\n", "");
        let r = compare("p", &h, &v);
        assert_eq!((r.mode, r.same, r.tests), ("tap", false, 3));
        assert_eq!(r.test_diffs, [TestDiff { number: 2, name: "b".into(), host: Some("ok"), vm: Some("not ok") }]);
        assert!(r.text().contains("test 2 \"b\": host ok, vm not ok"), "{}", r.text());
        assert!(compare("p", &h, &side(0, "1..3\nok 1 a\nok 2 b\nok 3 c # SKIP z\n", "")).same, "diagnostics and reasons are not compared");
        assert!(!compare("p", &h, &side(1, &h.stdout, "")).same, "the exit status is");
        // Not TAP on one side: raw comparison.
        let r = compare("p", &side(0, "hello\n", ""), &side(0, "hellp\n", "vmm: a line of the VMM\n"));
        assert_eq!((r.mode, r.same, r.stdout_diff.as_ref().map(|d| d.0), r.stderr_diff.is_none()), ("raw", false, Some(1), true));
        assert!(compare("p", &side(3, "x\n", "e\n"), &side(3, "x\n", "e\nvmm: pid 1 killed\n")).same);
    }
}
