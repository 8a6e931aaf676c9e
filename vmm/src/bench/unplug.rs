//! `vmm bench unplug`: what hot-unplug costs.
//!
//! Floor, measured in the same run: one bare exit (a ring-0 `out` loop,
//! `Machine::measure_bare_exits`).
//!
//! Measured:
//! - the unplug transaction (steps a to e of docs/unplug.md) and its revoke
//!   part, against the number of processes mapping the device (1, 16, 64)
//!   and the pages each has mapped (1, 512): the guest program `pmem chain`
//!   maps the device in every process of a fork chain and the last one asks
//!   for the unplug (deterministic point, no kick);
//! - from a control request (the mailbox the socket uses) to the vCPU being
//!   back in the guest, while the guest hammers the window in ring 3: the
//!   kick, the transaction, and the re-entry with the batch and a full flush.

use super::{median_us, print, Ratio};
use crate::ctl::{Command, Mailbox};
use crate::device::{BackingSource, PmemSpec};
use crate::error::VmmError;
use crate::machine::{BootSpec, Machine};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

#[derive(Serialize)]
struct Row {
    procs: u32,
    pages: u32,
    zapped: u64,
    revoke_us: f64,
    memslot_us: f64,
    transaction_us: f64,
    ratio_revoke: f64,
    ratio_transaction: f64,
}

#[derive(Serialize)]
struct UnplugBench {
    bench: &'static str,
    runs: u32,
    bare_exit_us: f64,
    rows: Vec<Row>,
    ctl_request_to_resume_us: f64,
    ctl_transaction_us: f64,
    ratio_ctl_request_to_resume: f64,
}

fn spec(program: &str, args: Vec<String>) -> Result<BootSpec, VmmError> {
    BootSpec::captured(program, args)
}

fn pmem(pages: u64) -> PmemSpec {
    PmemSpec { name: "pmem0".into(), source: BackingSource::Memfd, size: Some(pages * 4096) }
}

fn boot_with_device(program_args: Vec<String>, pages: u64) -> Result<Machine, VmmError> {
    let mut m = Machine::boot(crate::vm::open_kvm()?, &spec("pmem", program_args)?)?;
    m.plug(&pmem(pages)).map_err(|e| VmmError::Bench(e.to_string()))?;
    Ok(m)
}

pub fn command(runs: u32, json: bool) -> Result<i32, VmmError> {
    let runs = runs.max(1);
    let n = 20_000u64;
    let mut exits = Vec::new();
    for _ in 0..runs {
        let mut m = Machine::boot(crate::vm::open_kvm()?, &spec("exit", vec![])?)?;
        exits.push(m.measure_bare_exits(n)? / n as u32);
    }
    let exit = median_us(&mut exits);
    let mut rows = Vec::new();
    let mut lines = vec![format!("vmm bench unplug: median of {runs} runs; floor: bare exit {exit:.2} us")];
    for procs in [1u32, 16, 64] {
        for pages in [1u32, 512] {
            let (mut rv, mut tx, mut ms, mut zapped) = (Vec::new(), Vec::new(), Vec::new(), 0);
            for _ in 0..runs {
                let mut m = boot_with_device(vec!["chain".into(), procs.to_string(), pages.to_string()], 512)?;
                m.run(Duration::from_secs(60))?;
                let rep = m.hot.stats.reports.first().ok_or_else(|| VmmError::Bench("the guest did not unplug".into()))?;
                zapped = rep.zapped;
                rv.push(Duration::from_nanos(rep.revoke_ns));
                tx.push(Duration::from_nanos(rep.total_ns));
                ms.push(Duration::from_nanos(rep.memslot_ns));
            }
            let (r, t, slot) = (median_us(&mut rv), median_us(&mut tx), median_us(&mut ms));
            let rr = Ratio::new(&format!("revoke {procs:>2} procs x {pages:>3} pages"), "us", r, exit, None);
            let rt = Ratio::new("  whole transaction", "us", t, exit, None);
            lines.push(format!("{} ({zapped} entries zapped)", rr.line()));
            lines.push(format!("{} (memslot deletion {slot:.0} us)", rt.line()));
            rows.push(Row {
                procs,
                pages,
                zapped,
                revoke_us: r,
                memslot_us: slot,
                transaction_us: t,
                ratio_revoke: rr.ratio,
                ratio_transaction: rt.ratio,
            });
        }
    }
    // The control path while the guest hammers the window in ring 3.
    let (mut resume, mut ctl_tx) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let mut m = boot_with_device(vec!["hammer".into(), "0".into()], 16)?;
        let mb = Arc::new(Mailbox::default());
        m.hot.mailbox = Some(mb.clone());
        let client = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            let rx = mb.submit(Command::Unplug { device: "pmem0".into() });
            loop {
                match rx.recv_timeout(Duration::from_millis(2)) {
                    Ok(r) => return Some(r),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => mb.kick(),
                    Err(_) => return None,
                }
            }
        });
        m.run(Duration::from_secs(60))?;
        let reply = client.join().ok().flatten().ok_or_else(|| VmmError::Bench("no reply to the unplug".into()))?;
        let us = reply["request_to_resume_us"].as_f64().ok_or_else(|| VmmError::Bench(format!("unplug failed: {reply}")))?;
        resume.push(Duration::from_secs_f64(us / 1e6));
        ctl_tx.push(Duration::from_nanos(reply["total_ns"].as_u64().unwrap_or(0)));
    }
    let (rs, ct) = (median_us(&mut resume), median_us(&mut ctl_tx));
    let r = Ratio::new("ctl request -> back in guest", "us", rs, exit, None);
    lines.push(format!("{} (transaction {ct:.2} us)", r.line()));
    let out = UnplugBench {
        bench: "unplug",
        runs,
        bare_exit_us: exit,
        rows,
        ctl_request_to_resume_us: rs,
        ctl_transaction_us: ct,
        ratio_ctl_request_to_resume: r.ratio,
    };
    print(json, &out, &lines);
    Ok(0)
}
