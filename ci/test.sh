#!/usr/bin/env bash
# The project's two set-up commands, as the README gives them. Called by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --workspace
# The main job (the README's first command) must keep working too.
cargo run --release -- run --program hello
