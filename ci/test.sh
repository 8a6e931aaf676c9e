#!/usr/bin/env bash
# The project's test run, as the README gives it. Called by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --workspace
