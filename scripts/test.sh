#!/usr/bin/env bash
# test.sh — the README's second command: install everything (Debian packages, Kafka broker
# jars, model weights), build twice (release and ASan+UBSan), run the whole ctest suite in
# both, and the unit/operator tests under valgrind memcheck.
#
#   RECD_TEST_TIERS="release kernels asan valgrind fuzz" (default: all five; kernels = the unit,
#   operator and state tests that need no broker once per OpenBLAS kernel this CPU can run,
#   scripts/openblas-kernels.sh, so that green on one host means green on every x86-64 host;
#   fuzz = libFuzzer targets for a bounded time each, RECD_FUZZ_SECONDS, after replaying
#   tests/fuzz/regressions). A host's own OPENBLAS_CORETYPE is kept by every other tier.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tiers="${RECD_TEST_TIERS:-release kernels asan valgrind fuzz}"
jobs="$(nproc)"

"$root/scripts/install-deps.sh" --test
if [ -x "$root/scripts/install-model.sh" ]; then
    "$root/scripts/install-model.sh"
fi

start=$SECONDS
for tier in $tiers; do
    case "$tier" in
    release)
        b="$root/build-test"
        cmake -S "$root" -B "$b" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
        cmake --build "$b" -j"$jobs"
        (cd "$b" && ctest --output-on-failure --timeout 1800)
        ;;
    kernels)
        b="$root/build-test"
        [ -d "$b" ] || { cmake -S "$root" -B "$b" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null; cmake --build "$b" -j"$jobs"; }
        # The script tests labelled state start a broker and run minutes: the release and ASan
        # tiers run them; their state does not touch OpenBLAS (cpu_kernels checks the digest
        # and the lists under every kernel). cpu_kernels sets the kernel itself.
        for k in $("$root/scripts/openblas-kernels.sh"); do
            echo "test.sh: kernels tier: OPENBLAS_CORETYPE=$k"
            (cd "$b" && OPENBLAS_CORETYPE="$k" ctest -L 'unit|operator|state' \
                -E '^(cpu_kernels|state_crash|state_batches|state_forget|state_lock)$' \
                --output-on-failure --timeout 900) || { echo "test.sh: failed under OPENBLAS_CORETYPE=$k" >&2; exit 1; }
        done
        ;;
    asan)
        b="$root/build-asan"
        cmake -S "$root" -B "$b" -DCMAKE_BUILD_TYPE=Debug -DRECD_SANITIZE=ON -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
        cmake --build "$b" -j"$jobs"
        # The whole suite again with smaller event counts. ctest gives the script tests
        # RECD_SANITIZER=asan (tests/CMakeLists.txt): the fault tests keep every correctness
        # check but skip their RSS-budget assertions (ASan's shadow memory and quarantine make
        # RSS meaningless; the release tier asserts them) and say so in their output.
        (cd "$b" && ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
            RECD_TEST_SCALE=small ctest --output-on-failure --timeout 1800)
        ;;
    valgrind)
        b="$root/build-test"
        [ -d "$b" ] || { cmake -S "$root" -B "$b" >/dev/null; cmake --build "$b" -j"$jobs"; }
        # memcheck is for the C test binaries: the bash and Python checks in these labels
        # (cpu_kernels, bench_report, lib_cleanup) and the slow encoder test are left out
        (cd "$b" && ctest -L 'unit|operator' -E 'minilm_encoder|cpu_kernels|bench_report|lib_cleanup' --output-on-failure \
            -T memcheck >/tmp/recd-memcheck.log 2>&1) || { cat /tmp/recd-memcheck.log; exit 1; }
        grep -E "tests passed|Memory checking" /tmp/recd-memcheck.log || true
        ;;
    fuzz)
        b="$root/build-fuzz"
        CC=clang cmake -S "$root" -B "$b" -DRECD_FUZZ=ON -DRECD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
        cmake --build "$b" -j"$jobs"
        RECD_FUZZ_SECONDS="${RECD_FUZZ_SECONDS:-20}" "$root/tests/fuzz/run.sh" "$b"
        ;;
    *) echo "test.sh: unknown tier $tier" >&2; exit 64 ;;
    esac
done
echo "test.sh: all tiers ($tiers) passed in $((SECONDS - start)) s"
