#!/bin/sh
# Regenerates docs/linux-selftests.md: Linux's mm selftests built with glibc and musl and each compared
# with the host kernel under `vmm compare` (vmm selftests). The selftests' folder is VMM_LINUX_SELFTESTS,
# else ../shared/linux-selftests beside the repository, else /work/shared/linux-selftests.
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${VMM_LINUX_SELFTESTS:-}
[ -n "$dir" ] || { [ -d "$root/../shared/linux-selftests" ] && dir=$root/../shared/linux-selftests; }
[ -n "$dir" ] || { [ -d /work/shared/linux-selftests ] && dir=/work/shared/linux-selftests; }
[ -n "$dir" ] || { echo "no selftests folder: set VMM_LINUX_SELFTESTS to Linux's mm selftests (a folder with build.sh)" >&2; exit 2; }
cd "$root"
cargo build --release -q
# Exit status 1 (a difference) still writes the document; the e2e test judges it.
target/release/vmm selftests --markdown "$dir" > docs/linux-selftests.md.new || [ $? -eq 1 ]
mv docs/linux-selftests.md.new docs/linux-selftests.md
echo "wrote docs/linux-selftests.md"
