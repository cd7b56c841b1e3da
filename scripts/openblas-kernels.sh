#!/usr/bin/env bash
# openblas-kernels.sh — the OpenBLAS core types (OPENBLAS_CORETYPE values) of Debian's
# DYNAMIC_ARCH OpenBLAS that this CPU can run, one per line on stdout; the others, with the
# instruction set they need, on stderr (forcing a kernel the CPU lacks ends in SIGILL).
#
# The list is the x86-64 kernels recd's guarantees are tested on (docs/RELIABILITY.md, "Results
# across CPUs"): SkylakeX and Cooperlake (AVX-512), Haswell and Zen (AVX2 + FMA), Sandybridge
# (AVX), Prescott (SSE3: also what OpenBLAS 0.3.21 falls back to on a CPU it does not know).
set -euo pipefail
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() { for f in "$@"; do case "$flags" in *" $f "*) ;; *) return 1 ;; esac; done; }
want() {   # want CORE FLAG...
    local core="$1"; shift
    if has "$@"; then echo "$core"; else echo "openblas-kernels: $core skipped: the CPU lacks $*" >&2; fi
}
want SkylakeX avx512f avx512cd avx512bw avx512dq avx512vl
want Cooperlake avx512f avx512bw avx512vl avx512_bf16
want Haswell avx2 fma
want Zen avx2 fma
want Sandybridge avx
want Prescott pni
