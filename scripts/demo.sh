#!/usr/bin/env bash
# demo.sh [DATASET_DIR] — the README's first command: install the build dependencies, build
# recd, and run the embedded demo (librdkafka's in-process mock cluster, no broker needed).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${RECD_BUILD_DIR:-$root/build}"
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRECD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target recd
exec "$build/daemon/recd" --demo "$@"
