//! The reset loop: one child VM run again and again from the same checkpoint.
//!
//! Owns `ResetLoop`. After each run the child's guest RAM is put back by
//! undoing only what changed (`dirty::scan` + `dirty::revert`: the private
//! copies in its copy-on-write view of the base), KVM's shadow pages are
//! dropped by reloading the memslot (the restored pages include guest page
//! tables, whose host-side change this host's KVM would never notice), and
//! the kernel, engine, registers and FPU are set back from the checkpoint's
//! image. Iteration k sees k as the checkpoint call's return value.

use super::dirty::{self, Range};
use super::Base;
use crate::error::VmmError;
use crate::kernel::console::Console;
use crate::machine::{Ending, Machine};
use crate::vm::ShadowFlush;
use std::fs::File;
use std::time::{Duration, Instant};

/// What one reset cost.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ResetCost {
    pub dirty_pages: u64,
    pub ranges: u64,
    pub scan: Duration,
    pub revert: Duration,
    pub slot: Duration,
    pub state: Duration,
    pub total: Duration,
}

/// A child that can be reset to the checkpoint.
pub struct ResetLoop<'a> {
    base: &'a Base,
    pub child: Machine,
    pagemap: File,
    /// Testing aid: false leaves guest RAM as the last run left it.
    pub revert_memory: bool,
    pub shadow: ShadowFlush,
}

impl<'a> ResetLoop<'a> {
    /// Forks the child (index 0) whose output is captured.
    pub fn new(base: &'a Base) -> Result<Self, VmmError> {
        // A reset would have to revert window copies and re-plug windows a
        // run unplugged, and cannot revert a shared backing: not supported.
        if !base.windows.is_empty() {
            return Err(VmmError::Usage(format!(
                "--reset-loop is not supported with plugged devices ({}); fork children instead",
                base.state.devices.names().join(", ")
            )));
        }
        let child = base.fork(0, Console::Capture(Vec::new(), Vec::new()))?;
        Ok(ResetLoop { base, child, pagemap: dirty::open_pagemap()?, revert_memory: true, shadow: ShadowFlush::DummySlot })
    }

    pub fn run(&mut self, timeout: Duration) -> Result<Ending, VmmError> {
        self.child.run(timeout)
    }

    /// Takes the output captured since the last call.
    pub fn take_output(&mut self) -> (Vec<u8>, Vec<u8>) {
        match std::mem::replace(&mut self.child.kernel.console, Console::Capture(Vec::new(), Vec::new())) {
            Console::Capture(o, e) => (o, e),
            Console::Inherit => (Vec::new(), Vec::new()),
        }
    }

    /// Puts the child back at the checkpoint; the next run sees `index`.
    pub fn reset(&mut self, index: u64) -> Result<ResetCost, VmmError> {
        let t0 = Instant::now();
        let ranges: Vec<Range> = dirty::scan(self.child.ram(), &self.pagemap)?;
        let t1 = Instant::now();
        if self.revert_memory {
            dirty::revert(self.child.ram(), &ranges)?;
        }
        let t2 = Instant::now();
        match self.shadow {
            ShadowFlush::DummySlot => self.child.vm().flush_shadow()?,
            ShadowFlush::ReloadRam => self.child.vm().reload_slot()?,
            ShadowFlush::None => {}
        }
        let t3 = Instant::now();
        self.child.rearm(&self.base.state, index)?;
        let t4 = Instant::now();
        tracing::debug!(pages = ranges.len(), scan = ?(t1 - t0), revert = ?(t2 - t1), slot = ?(t3 - t2), state = ?(t4 - t3), "reset");
        Ok(ResetCost {
            dirty_pages: ranges.iter().map(|r| (r.end - r.start) >> 12).sum(),
            ranges: ranges.len() as u64,
            scan: t1 - t0,
            revert: t2 - t1,
            slot: t3 - t2,
            state: t4 - t3,
            total: t4 - t0,
        })
    }
}
