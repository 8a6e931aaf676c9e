//! The `vmm` command.

use clap::Parser;
use std::process::ExitCode;
use vmm::cli::{BenchKind, Cli, Command};

fn main() -> ExitCode {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_writer(std::io::stderr).init();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // Help and version go to stdout with status 0; usage errors exit 2.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let r = match cli.command {
        Command::Run(a) => vmm::run::command(&a),
        Command::Programs => {
            for (name, desc, _) in vmm::images::PROGRAMS {
                println!("{name:<10} {desc}");
            }
            Ok(0)
        }
        Command::Scenario(a) => {
            vmm::scenario::run::inject(a.inject);
            vmm::scenario::commands::scenario(&a.files, a.host, a.json, a.quiet)
        }
        Command::Diff(a) => {
            if a.files.is_empty() && a.random.is_none() {
                Err(vmm::error::VmmError::Usage("vmm diff needs scenario files or --random N".into()))
            } else {
                vmm::scenario::run::inject(a.inject);
                vmm::scenario::commands::diff(&a.files, a.random, a.seed, a.vocabulary, a.json, a.quiet, &a.save)
            }
        }
        Command::Fork(a) => vmm::vmfork::command::command(&a),
        Command::Snapshot(a) => vmm::snapshot::command::snapshot(&a),
        Command::Restore(a) => vmm::snapshot::command::restore(&a),
        Command::Bench(b) => match b.which {
            BenchKind::All { markdown, update, only } => vmm::bench::all::command(markdown, update.as_deref(), &only),
            BenchKind::Scenario { files, json } => {
                let files = if files.is_empty() { vmm::scenario::commands::corpus() } else { files };
                vmm::scenario::commands::bench(&files, json)
            }
            BenchKind::Boot { runs, json } => vmm::bench::boot::command(runs, json),
            BenchKind::Fault { pages, runs, json } => vmm::bench::fault::command(pages, runs, json),
            BenchKind::Engine { runs, json } => vmm::bench::engine::command(runs, json),
            BenchKind::Nonlinear { runs, json } => vmm::bench::nonlinear::command(runs, json),
            BenchKind::Unplug { runs, json } => vmm::bench::unplug::command(runs, json),
            BenchKind::Fork { sizes, runs, json } => vmm::bench::fork::command(&sizes, runs, json),
            BenchKind::Programs { json, quick, only } => vmm::bench::programs::command(json, quick, &only),
        },
        Command::Syscalls(a) => {
            vmm::run::syscalls(&a);
            Ok(0)
        }
        Command::Compare(a) => vmm::compare::command(&a),
        Command::Selftests(a) => vmm::compare::selftests::command(&a),
        Command::Ctl(a) => vmm::ctl::command(&a.socket, &a.command, a.json),
        Command::FloorBoot => vmm::bench::boot::floor_process(),
    };
    match r {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("vmm: error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
