//! `vmm scenario`, `vmm diff` and `vmm bench scenario`.
//!
//! Exit statuses: 0 all good; 1 an expectation failed (scenario) or the
//! microVM and Linux diverged (diff); 2 a scenario file is bad (the message
//! names file:line:column).

use super::compile::{compile, Compiled};
use super::diff::{compare_with, Divergence, Normalise};
use super::parser::parse;
use super::random;
use super::run;
use super::trace::Trace;
use super::ScenarioError;
use crate::error::VmmError;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A loaded and compiled scenario file.
struct Loaded {
    name: String,
    source: String,
    programs: Vec<Compiled>,
}

fn load(path: &Path) -> Result<Loaded, Result<ScenarioError, VmmError>> {
    let name = path.display().to_string();
    let source = std::fs::read_to_string(path).map_err(|e| Err(VmmError::ReadFile(name.clone(), e)))?;
    load_text(&name, &source).map_err(Ok)
}

fn load_text(name: &str, source: &str) -> Result<Loaded, ScenarioError> {
    let ast = parse(name, source)?;
    let programs = compile(&ast)?;
    Ok(Loaded { name: name.to_string(), source: source.to_string(), programs })
}

fn label(name: &str, p: &Compiled) -> String {
    match &p.backing {
        Some(b) => format!("{name} [{b}]"),
        None => name.to_string(),
    }
}

#[derive(Serialize)]
struct ScenarioResult {
    file: String,
    backing: Option<String>,
    passed: bool,
    failed_expectations: Option<u32>,
    status: i32,
    trace: Vec<String>,
}

/// `vmm scenario [--host] FILE...`.
pub fn scenario(files: &[PathBuf], host: bool, json: bool, quiet: bool) -> Result<i32, VmmError> {
    let mut code = 0;
    let mut results = Vec::new();
    for f in files {
        let l = match load(f) {
            Ok(l) => l,
            Err(Ok(e)) => {
                eprintln!("vmm: {e}");
                code = 2;
                continue;
            }
            Err(Err(e)) => return Err(e),
        };
        for p in &l.programs {
            if let (true, Some((line, what))) = (host, p.extensions.first()) {
                // Linux cannot run our extensions (device plug/unplug, ...):
                // their expectations are checked in the microVM only.
                if !json {
                    println!("{}: skipped on the host kernel: uses {what} (our extension, line {line})", label(&l.name, p));
                }
                continue;
            }
            let t = if host { run::native(p)? } else { run::in_vm(p)? };
            let passed = t.passed();
            if !passed && code == 0 {
                code = 1;
            }
            if !json {
                if !quiet || !passed {
                    println!("== {} ({})", label(&l.name, p), if host { "host kernel" } else { "microVM" });
                    print!("{}", t.render(&l.source));
                }
                let verdict = match (t.failed, t.status) {
                    (Some(0), 0) => "all expectations met".to_string(),
                    (Some(n), _) if n > 0 => format!("{n} expectation(s) failed"),
                    (_, s) => format!("the runner ended abnormally (status {s})"),
                };
                println!("{}: {} ops, {verdict}", label(&l.name, p), t.entries.len());
            }
            results.push(ScenarioResult {
                file: l.name.clone(),
                backing: p.backing.clone(),
                passed,
                failed_expectations: t.failed,
                status: t.status,
                trace: t.entries.iter().map(|e| format!("L{} {}", e.line, e.text)).collect(),
            });
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&results).unwrap_or_default());
    }
    Ok(code)
}

/// What the comparison of this program leaves out (see diff::Normalise).
fn normalisation(p: &Compiled) -> Normalise {
    if p.backing.as_deref() == Some("file") {
        Normalise::FilePagePresence
    } else {
        Normalise::None
    }
}

/// Runs one compiled program both ways.
fn both(p: &Compiled) -> Result<(Trace, Trace), VmmError> {
    Ok((run::in_vm(p)?, run::native(p)?))
}

#[derive(Serialize)]
struct DiffResult {
    file: String,
    backing: Option<String>,
    /// "same", "diverged" or "skipped".
    result: String,
    line: Option<u32>,
    vm: Option<String>,
    host: Option<String>,
    note: Option<String>,
}

fn report_divergence(l: &Loaded, p: &Compiled, d: &Divergence) {
    let src = l.source.lines().nth((d.line as usize).wrapping_sub(1)).map_or("", str::trim);
    let at = if d.line == u32::MAX {
        "end".to_string()
    } else if d.line == 0 {
        "fixture".to_string()
    } else {
        d.line.to_string()
    };
    println!("DIVERGED {}:{at}: {src}", label(&l.name, p));
    println!("    microVM:     {}", d.vm);
    println!("    Linux host:  {}", d.host);
}

/// `vmm diff FILE...` and `vmm diff --random N --seed S`.
pub fn diff(
    files: &[PathBuf],
    random_n: Option<u64>,
    seed: u64,
    vocabulary: crate::cli::RandomVocabulary,
    json: bool,
    quiet: bool,
    save: &Path,
) -> Result<i32, VmmError> {
    let mut code = 0;
    let mut results = Vec::new();
    let mut inputs: Vec<(String, Result<Loaded, ScenarioError>)> = Vec::new();
    for f in files {
        match load(f) {
            Ok(l) => inputs.push((l.name.clone(), Ok(l))),
            Err(Ok(e)) => inputs.push((f.display().to_string(), Err(e))),
            Err(Err(e)) => return Err(e),
        }
    }
    if let Some(n) = random_n {
        for i in 0..n {
            let src = random::generate_with(seed, i, vocabulary);
            let name = format!("random(seed {seed}, #{i})");
            inputs.push((name.clone(), load_text(&name, &src)));
        }
    }
    let (mut same, mut diverged, mut skipped) = (0, 0, 0);
    for (name, l) in inputs {
        let l = match l {
            Ok(l) => l,
            Err(e) => {
                eprintln!("vmm: {e}");
                code = 2;
                continue;
            }
        };
        for p in &l.programs {
            if let Some((line, what)) = p.extensions.first() {
                skipped += 1;
                let note = format!("uses {what} (our extension, line {line}): checked by `vmm scenario` only");
                if !quiet && !json {
                    println!("skipped {}: {note}", label(&name, p));
                }
                results.push(DiffResult {
                    file: name.clone(),
                    backing: p.backing.clone(),
                    result: "skipped".into(),
                    line: None,
                    vm: None,
                    host: None,
                    note: Some(note),
                });
                continue;
            }
            let (vm, host) = both(p)?;
            match compare_with(&vm, &host, normalisation(p)) {
                None => {
                    same += 1;
                    if !quiet && !json {
                        println!("same     {} ({} ops)", label(&name, p), vm.entries.len());
                    }
                    results.push(DiffResult {
                        file: name.clone(),
                        backing: p.backing.clone(),
                        result: "same".into(),
                        line: None,
                        vm: None,
                        host: None,
                        note: None,
                    });
                }
                Some(d) => {
                    diverged += 1;
                    code = code.max(1);
                    if !json {
                        report_divergence(&l, p, &d);
                    }
                    let mut note = None;
                    if random_n.is_some() && l.name.starts_with("random(") {
                        let small = shrink_divergence(&l.source);
                        let path =
                            save.join(format!("diff-seed{seed}-{}.scn", l.name.rsplit('#').next().unwrap_or("0").trim_end_matches(')')));
                        if std::fs::write(&path, &small).is_ok() {
                            if !json {
                                println!("    reproducer ({} lines) saved to {}", small.lines().count(), path.display());
                            }
                            note = Some(format!("reproducer: {}", path.display()));
                        }
                    }
                    results.push(DiffResult {
                        file: name.clone(),
                        backing: p.backing.clone(),
                        result: "diverged".into(),
                        line: Some(d.line),
                        vm: Some(d.vm),
                        host: Some(d.host),
                        note,
                    });
                }
            }
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&results).unwrap_or_default());
    } else {
        println!("vmm diff: {same} same, {diverged} diverged, {skipped} skipped (extensions)");
    }
    Ok(code)
}

/// Shrinks a divergent scenario to a small reproducer (see random::shrink).
fn shrink_divergence(src: &str) -> String {
    let body = random::shrink(src, |candidate| {
        let Ok(l) = load_text("shrink", candidate) else { return false };
        l.programs.iter().all(|p| p.extensions.is_empty())
            && l.programs.iter().any(|p| both(p).ok().and_then(|(v, h)| compare_with(&v, &h, normalisation(p))).is_some())
    });
    format!("# reproducer shrunk by vmm diff --random\n{body}")
}

#[derive(Serialize)]
struct BenchScenario {
    bench: &'static str,
    scenarios: usize,
    ops: usize,
    vm_seconds: f64,
    host_seconds: f64,
    vm_ops_per_second: f64,
    host_ops_per_second: f64,
    ratio: f64,
}

/// `vmm bench scenario`: operations per second in the microVM and on the host
/// for the same scenarios (boot and process start included on both sides).
pub fn bench(files: &[PathBuf], json: bool) -> Result<i32, VmmError> {
    let mut programs = Vec::new();
    for f in files {
        match load(f) {
            Ok(l) => programs.extend(l.programs.into_iter().filter(|p| p.extensions.is_empty())),
            Err(Ok(e)) => {
                eprintln!("vmm: {e}");
                return Ok(2);
            }
            Err(Err(e)) => return Err(e),
        }
    }
    let (mut ops, mut tv, mut th) = (0usize, 0f64, 0f64);
    for p in &programs {
        let t = Instant::now();
        let v = run::in_vm(p)?;
        tv += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let _ = run::native(p)?;
        th += t.elapsed().as_secs_f64();
        ops += v.entries.len();
    }
    let (rv, rh) = (ops as f64 / tv.max(1e-9), ops as f64 / th.max(1e-9));
    let out = BenchScenario {
        bench: "scenario",
        scenarios: programs.len(),
        ops,
        vm_seconds: tv,
        host_seconds: th,
        vm_ops_per_second: rv,
        host_ops_per_second: rh,
        ratio: rv / rh,
    };
    let lines = vec![
        format!("vmm bench scenario: {} scenario runs, {ops} operations", programs.len()),
        format!("microVM {rv:>10.0} ops/s ({tv:.2} s)   host kernel {rh:>10.0} ops/s ({th:.2} s)   ratio {:.2}x", rv / rh),
    ];
    crate::bench::print(json, &out, &lines);
    Ok(0)
}

/// The scenario corpus shipped with the sources (tests/scenarios/*.scn).
pub fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "scn")).collect())
        .unwrap_or_default();
    v.sort();
    v
}
