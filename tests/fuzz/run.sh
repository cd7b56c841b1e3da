#!/usr/bin/env bash
# run.sh — run recd's libFuzzer targets (tests/fuzz/README.md).
#
#   tests/fuzz/run.sh BUILD_DIR                # replay, then fuzz every target for a bounded time
#   tests/fuzz/run.sh --replay-only BUILD_DIR  # replay only (ctest: fuzz_regressions, label fault)
#
# BUILD_DIR was configured with -DRECD_FUZZ=ON -DCMAKE_C_COMPILER=clang and built.
#  1. Replay: every file in tests/fuzz/regressions/<target>/ and every seed is run once through
#     its target (libFuzzer runs file arguments and exits).
#  2. Fuzz: each target, one process on one core, for RECD_FUZZ_SECONDS (default 20) seconds,
#     or for RECD_FUZZ_RUNS executions when that is set (the long run: RECD_FUZZ_RUNS=10000000).
#     The corpus grows in RECD_FUZZ_WORK/<target>/corpus (default BUILD_DIR/tests/fuzz/work) and
#     is reused by the next run; the seeds in the source tree are only read.
# Any crash, sanitizer report (ASan, UBSan, LeakSanitizer), timeout (> 10 s for one input),
# out-of-memory (> 2 GB) or broken invariant fails the run (exit 1) and leaves the input in
# RECD_FUZZ_WORK/<target>/ (crash-*, leak-*, timeout-*, oom-*): copy it to
# tests/fuzz/regressions/<target>/ once the bug is fixed.
#
# Environment: RECD_FUZZ_SECONDS, RECD_FUZZ_RUNS, RECD_FUZZ_TARGETS (a subset, e.g. "fuzz_decode"),
# RECD_FUZZ_WORK; ASAN_OPTIONS / LSAN_OPTIONS / UBSAN_OPTIONS are appended to the defaults
# below (lsan.supp suppresses one known libconfig 1.5 leak).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
replay_only=0
if [ "${1:-}" = "--replay-only" ]; then
    replay_only=1
    shift
fi
if [ $# -ne 1 ] || [ ! -d "$1" ]; then
    echo "usage: $0 [--replay-only] BUILD_DIR   (configured with -DRECD_FUZZ=ON)" >&2
    exit 64
fi
build="$(cd "$1" && pwd)"
bindir="$build/tests/fuzz"
if [ ! -f "$bindir/targets.txt" ]; then
    echo "run.sh: $bindir/targets.txt missing: configure $build with -DRECD_FUZZ=ON and build it" >&2
    exit 1
fi
secs="${RECD_FUZZ_SECONDS:-20}"
runs="${RECD_FUZZ_RUNS:-}"
work="${RECD_FUZZ_WORK:-$bindir/work}"
targets="${RECD_FUZZ_TARGETS:-$(cat "$bindir/targets.txt")}"

export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$here/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then
    for s in llvm-symbolizer llvm-symbolizer-14; do
        if command -v "$s" >/dev/null 2>&1; then
            export ASAN_SYMBOLIZER_PATH="$(command -v "$s")"
            break
        fi
    done
fi

# Seed directories (read-only) and dictionary of each target.
seeds() {
    case "$1" in
    fuzz_decode) echo "$here/corpus/click $here/corpus/purchase $here/corpus/query" \
                      "$here/corpus/item $here/corpus/deletion $here/corpus/recommendations" ;;
    fuzz_config) echo "$here/corpus/config $root/conf $root/tests/conf" ;;
    fuzz_tokenizer) echo "$here/corpus/tokenizer" ;;
    *) echo "run.sh: no seeds known for target $1" >&2; return 1 ;;
    esac
}
dict() {
    case "$1" in
    fuzz_decode) echo "$here/dict/decode.dict" ;;
    fuzz_config) echo "$here/dict/config.dict" ;;
    fuzz_tokenizer) echo "$here/dict/tokenizer.dict" ;;
    esac
}

# Extra libFuzzer flags of each target.
# fuzz_config: libconfig 1.5 leaks a string token on many syntax errors (lsan.supp), so nearly
# every mutated input has more mallocs than frees and would trigger libFuzzer's per-input leak
# check, a full LeakSanitizer heap scan (~30 ms); after 1000 of them libFuzzer turns the check
# off by itself. So it is off from the start: leaks are still found by LeakSanitizer at exit
# (with the suppressions), which fails the run, and find_culprit below names the input.
flags() {
    case "$1" in
    fuzz_config) echo "-detect_leaks=0" ;;
    esac
}

# After a failure without an artifact (a leak reported at exit): run the work corpus one input
# at a time, newest first, and name the first that fails on its own.
find_culprit() {
    local t="$1" bin="$bindir/$1" f n=0
    while IFS= read -r f; do
        n=$((n + 1))
        [ "$n" -le 5000 ] || break
        if ! "$bin" -timeout=10 -rss_limit_mb=2048 "$f" >"$work/$t/culprit.log" 2>&1; then
            echo "run.sh: $t: this input fails on its own: $f (log $work/$t/culprit.log)" >&2
            tail -n 40 "$work/$t/culprit.log" >&2
            return 0
        fi
    done < <(ls -1t "$work/$t/corpus"/* 2>/dev/null)
    echo "run.sh: $t: no single corpus input reproduces the failure on its own" >&2
}

failed=""
start=$SECONDS

# ---- 1. replay ------------------------------------------------------------------------------
for t in $targets; do
    bin="$bindir/$t"
    [ -x "$bin" ] || { echo "run.sh: $bin not built" >&2; exit 1; }
    mkdir -p "$work/$t"
    files=()
    for d in "$here/regressions/$t" $(seeds "$t"); do
        [ -d "$d" ] || continue
        while IFS= read -r -d '' f; do
            files+=("$f")
        done < <(find "$d" -type f ! -name 'README*' -print0 | sort -z)
    done
    log="$work/$t/replay.log"
    if [ ${#files[@]} -eq 0 ]; then
        echo "run.sh: $t: nothing to replay" >&2
        failed="$failed $t(replay)"
        continue
    fi
    if "$bin" -timeout=10 -rss_limit_mb=2048 "${files[@]}" >"$log" 2>&1; then
        echo "run.sh: $t: replayed ${#files[@]} inputs (regressions + seeds): ok"
    else
        echo "run.sh: $t: REPLAY FAILED (log $log):" >&2
        tail -n 60 "$log" >&2
        failed="$failed $t(replay)"
    fi
done
if [ "$replay_only" = 1 ]; then
    if [ -n "$failed" ]; then
        echo "run.sh: FAILED:$failed" >&2
        exit 1
    fi
    exit 0
fi

# ---- 2. fuzz ---------------------------------------------------------------------------------
for t in $targets; do
    case "$failed" in *" $t("*) continue ;; esac
    bin="$bindir/$t"
    mkdir -p "$work/$t/corpus"
    # libFuzzer only ever adds files to the corpus directory: shrink it to a minimal set that
    # keeps its coverage once it is large (-merge=1), so that build dirs reused by many runs
    # do not start ever more slowly.
    if [ "$(find "$work/$t/corpus" -type f | wc -l)" -gt 3000 ]; then
        rm -rf "$work/$t/corpus.merged"
        mkdir -p "$work/$t/corpus.merged"
        # shellcheck disable=SC2046
        if "$bin" -merge=1 $(flags "$t") -timeout=10 -rss_limit_mb=2048 "$work/$t/corpus.merged" \
                "$work/$t/corpus" >"$work/$t/merge.log" 2>&1; then
            rm -rf "$work/$t/corpus"
            mv "$work/$t/corpus.merged" "$work/$t/corpus"
            echo "run.sh: $t: corpus merged to $(find "$work/$t/corpus" -type f | wc -l) inputs"
        else
            rm -rf "$work/$t/corpus.merged"
        fi
    fi
    if [ -n "$runs" ]; then
        limit=(-runs="$runs")
        what="$runs executions"
    else
        limit=(-max_total_time="$secs")
        what="$secs s"
    fi
    log="$work/$t/fuzz.log"
    touch "$work/$t/.start"
    t0=$SECONDS
    echo "run.sh: $t: fuzzing for $what (log $log)"
    # shellcheck disable=SC2046
    if "$bin" "${limit[@]}" $(flags "$t") -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="$work/$t/" -dict="$(dict "$t")" \
            "$work/$t/corpus" $(seeds "$t") >"$log" 2>&1; then
        execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
        rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
        ncorp="$(find "$work/$t/corpus" -type f | wc -l)"
        echo "run.sh: $t: ok: ${execs:-?} executions in $((SECONDS - t0)) s (${rate:-?} exec/s)," \
             "corpus $ncorp inputs"
    else
        echo "run.sh: $t: FAILED (log $log):" >&2
        tail -n 80 "$log" >&2
        echo "run.sh: $t: input(s) that failed:" >&2
        arts="$(find "$work/$t" -maxdepth 1 -type f -newer "$work/$t/.start" \( -name 'crash-*' \
                -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \))"
        if [ -n "$arts" ]; then
            echo "$arts" >&2
        else
            find_culprit "$t"
        fi
        echo "run.sh: reproduce with: $bin FILE; after the fix copy FILE to" \
             "tests/fuzz/regressions/$t/" >&2
        failed="$failed $t"
    fi
done

if [ -n "$failed" ]; then
    echo "run.sh: FAILED:$failed ($((SECONDS - start)) s)" >&2
    exit 1
fi
echo "run.sh: all fuzz targets passed ($((SECONDS - start)) s)"
