#!/usr/bin/env bash
# The README's test command: installs what the tests need (ci/setup.sh),
# then runs every test. Called by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
# Property tests run from a fixed seed (the same cases every run) and from this
# rotating one (new cases every run); both are printed by the tests, and a
# failing case is saved in guest-mm/tests/**/*.proptest-regressions.
export PROPTEST_ROTATING_SEED="${PROPTEST_ROTATING_SEED:-$(date +%s)}"
echo "ci: property tests' rotating seed: PROPTEST_ROTATING_SEED=$PROPTEST_ROTATING_SEED"
cargo test --release --workspace
