//! `vmm bench`: measurements, each reported as raw numbers beside a floor
//! measured in the same run, and their ratio.
//!
//! Owns the shared statistics (medians) and output (human or JSON). Nothing
//! here asserts a time: the figures are for people and for docs/BENCHMARKS.md.

pub mod all;
pub mod boot;
pub mod engine;
pub mod fault;
pub mod fork;
pub mod nonlinear;
pub mod progbuild;
pub mod programs;
pub mod unplug;

use serde::Serialize;
use std::time::Duration;

/// Median of a non-empty list of durations, in microseconds.
pub fn median_us(v: &mut [Duration]) -> f64 {
    v.sort();
    if v.is_empty() {
        return 0.0;
    }
    let mid = v.len() / 2;
    let m = if v.len() % 2 == 1 { v[mid] } else { (v[mid - 1] + v[mid]) / 2 };
    m.as_secs_f64() * 1e6
}

/// A figure against its floor.
#[derive(Clone, Debug, Serialize)]
pub struct Ratio {
    pub name: String,
    pub unit: String,
    pub measured: f64,
    pub floor: f64,
    pub ratio: f64,
    pub target: Option<f64>,
}

impl Ratio {
    pub fn new(name: &str, unit: &str, measured: f64, floor: f64, target: Option<f64>) -> Self {
        let ratio = if floor > 0.0 { measured / floor } else { f64::NAN };
        Ratio { name: name.into(), unit: unit.into(), measured, floor, ratio, target }
    }

    /// "boot: 3.1 ms vs floor 2.9 ms = 1.07x (target <= 1.5)".
    pub fn line(&self) -> String {
        let t = self.target.map_or(String::new(), |t| format!(" (target <= {t})"));
        format!(
            "{:<28} {:>10.2} {} vs floor {:>10.2} {} = {:.2}x{}",
            self.name, self.measured, self.unit, self.floor, self.unit, self.ratio, t
        )
    }
}

/// Prints a benchmark result, as JSON or as lines.
pub fn print<T: Serialize>(json: bool, value: &T, lines: &[String]) {
    if json {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
    } else {
        for l in lines {
            println!("{l}");
        }
    }
}
