#!/usr/bin/env bash
# test.sh — the README's second command: install everything (Debian packages, Kafka broker
# jars, model weights), build twice (release and ASan+UBSan), run the whole ctest suite in
# both, and the unit/operator tests under valgrind memcheck.
#
#   RECD_TEST_TIERS="release asan valgrind fuzz" (default: all four; fuzz = libFuzzer targets for
#   a bounded time each, RECD_FUZZ_SECONDS, after replaying tests/fuzz/regressions)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tiers="${RECD_TEST_TIERS:-release asan valgrind fuzz}"
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
    asan)
        b="$root/build-asan"
        cmake -S "$root" -B "$b" -DCMAKE_BUILD_TYPE=Debug -DRECD_SANITIZE=ON -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
        cmake --build "$b" -j"$jobs"
        # Everything again with smaller event counts, except three fault tests whose assertions
        # are about resources and timing that ASan itself changes (an RSS budget, a flood's
        # RSS, and a batch failing within a 2 s flush timeout during a broker outage): they run
        # in the release tier only.
        (cd "$b" && ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
            RECD_TEST_SCALE=small ctest --output-on-failure --timeout 1800 \
            -E '^(fault_poison|fault_broker_restart|fault_flood)$')
        ;;
    valgrind)
        b="$root/build-test"
        [ -d "$b" ] || { cmake -S "$root" -B "$b" >/dev/null; cmake --build "$b" -j"$jobs"; }
        (cd "$b" && ctest -L 'unit|operator' -E 'minilm_encoder' --output-on-failure \
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
