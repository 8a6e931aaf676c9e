#!/usr/bin/env bash
# Installs what the tests need and a fresh machine of ours (Debian) lacks:
# the C toolchains the ABI corpus is built with, busybox, strace, and gVisor's
# runsc (the third column of `vmm bench programs`). Called by
# ci/test.sh (the README's test command); a tool that cannot be had fails
# here, loudly, instead of letting its tests skip.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have gcc || need+=(gcc libc6-dev)
have musl-gcc || need+=(musl-tools)
[ -x /bin/busybox ] || need+=(busybox-static)
have strace || need+=(strace)
have runsc || need+=(runsc)
[ ${#need[@]} -eq 0 ] && exit 0
echo "ci/setup.sh: installing ${need[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    have sudo || { echo "ci/setup.sh: need root (or sudo) to install: ${need[*]}" >&2; exit 1; }
    sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
    { $sudo apt-get update >/dev/null && $sudo apt-get install -y --no-install-recommends "${need[@]}"; }
for t in gcc musl-gcc strace runsc; do have $t || { echo "ci/setup.sh: $t is still missing" >&2; exit 1; }; done
[ -x /bin/busybox ] || { echo "ci/setup.sh: /bin/busybox is still missing" >&2; exit 1; }
