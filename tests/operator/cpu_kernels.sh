#!/usr/bin/env bash
# cpu_kernels.sh TEST_PIPELINE — recd's results do not depend on the CPU: test_pipeline's
# test_fingerprint (the state digest and every published list, score bits included, of a
# stream through the default chain) is run under every OpenBLAS kernel this CPU can execute
# (scripts/openblas-kernels.sh; the ones it cannot are named, not silently dropped) and all
# fingerprints must be equal. Fails with fewer than two kernels: nothing would be compared.
set -euo pipefail
bin="${1:?usage: cpu_kernels.sh TEST_PIPELINE}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
T="$(mktemp -d /tmp/recd-cpu-kernels.XXXXXX)"
trap 'rm -rf "$T"' EXIT

mapfile -t kernels < <("$root/scripts/openblas-kernels.sh")
if [ "${#kernels[@]}" -lt 2 ]; then
    echo "cpu_kernels: only ${#kernels[@]} kernel(s) runnable here: nothing to compare" >&2
    exit 1
fi
for k in "${kernels[@]}"; do
    : > "$T/fp"
    if ! OPENBLAS_CORETYPE="$k" RECD_TEST_FILTER=test_fingerprint RECD_FINGERPRINT_FILE="$T/fp" \
        "$bin" > "$T/$k.log" 2>&1; then
        cat "$T/$k.log" >&2
        echo "cpu_kernels: test_fingerprint failed under OPENBLAS_CORETYPE=$k" >&2
        exit 1
    fi
    [ -s "$T/fp" ] || { echo "cpu_kernels: no fingerprint under $k" >&2; exit 1; }
    printf '%-12s %s\n' "$k" "$(cat "$T/fp")"
    cat "$T/fp" >> "$T/all"
done
n="$(sort -u "$T/all" | wc -l)"
if [ "$n" -ne 1 ]; then
    echo "cpu_kernels: $n different results across ${#kernels[@]} kernels" >&2
    exit 1
fi
echo "cpu_kernels: one result under ${#kernels[@]} kernels (${kernels[*]})"
