//! The `vmm` command.

use clap::Parser;
use std::process::ExitCode;
use vmm::cli::{Cli, Command};

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
        Command::Bench(_) => Err(vmm::error::VmmError::Usage("benchmarks are not built yet".into())),
        Command::FloorBoot => Ok(0),
    };
    match r {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("vmm: error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
