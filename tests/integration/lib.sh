# lib.sh — shared helpers of recd's script tests (sourced). Every test gets a scratch
# directory and, when it asks for one, a real Kafka broker (scripts/kafka.sh) that is always
# stopped on exit, as are the recd processes it started.
set -euo pipefail

: "${RECD_BIN:?RECD_BIN not set (run through ctest)}"
: "${RECCTL_BIN:?RECCTL_BIN not set (run through ctest)}"
: "${RECD_SOURCE_DIR:?}"
RECD_DATA="${RECD_DATA:-$RECD_SOURCE_DIR/../shared/data}"
# RECD_SANITIZER: "asan" when recd was built with -DRECD_SANITIZE=ON (ctest sets it from the
# build; run by hand, the binary itself tells: it links the ASan runtime). A sanitizer build
# runs every test with smaller inputs (RECD_TEST_SCALE defaults to small) and skips the
# resource-budget assertions (sanitized_skip in fault_lib.sh), keeping every correctness check.
if [ "${RECD_SANITIZER:-none}" = none ] && grep -qa '__asan_init' "$RECD_BIN" 2>/dev/null; then
    RECD_SANITIZER=asan
fi
RECD_SANITIZER="${RECD_SANITIZER:-none}"
# RECD_TEST_SCALE=small (sanitizer tier) shrinks the event counts of the heavy tests
if [ "$RECD_SANITIZER" != none ]; then
    RECD_TEST_SCALE="${RECD_TEST_SCALE:-small}"
fi
RECD_TEST_SCALE="${RECD_TEST_SCALE:-full}"

T="$(mktemp -d /tmp/recd-test.XXXXXX)"
RECD_PIDS=()
BROKER_DIR=""

# cleanup [RC]: the exit code defaults to $? (the trap below). A test that chains its own
# clean-up in front passes its saved code: 'rc=$?; undo_mine; cleanup "$rc"' — not
# '(exit $rc); cleanup', which under set -e ends the trap at the subshell whenever rc is not 0,
# leaving the scratch directory (and a failed test's logs unprinted). The steps in front must
# not fail either (set +e first where they can: fault_disk.sh).
cleanup() {
    local rc=${1:-$?}
    for p in "${RECD_PIDS[@]:-}"; do
        [ -n "$p" ] && kill -KILL "$p" 2>/dev/null || true
    done
    if [ -n "$BROKER_DIR" ]; then
        "$RECD_SOURCE_DIR/scripts/kafka.sh" stop "$BROKER_DIR" || true
    fi
    if [ $rc -eq 77 ]; then   # a part could not run here (the test said which): ctest's skip
        rm -rf "$T"
    elif [ $rc -ne 0 ]; then
        echo "--- test failed (rc $rc); logs in $T ---" >&2
        for f in "$T"/*.log; do [ -f "$f" ] && { echo "== $f (tail)"; tail -30 "$f"; } >&2; done
    else
        rm -rf "$T"
    fi
    exit $rc
}
trap cleanup EXIT INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

start_broker() {
    BROKER_DIR="$T/kafka"
    local out
    out="$("$RECD_SOURCE_DIR/scripts/kafka.sh" start "$BROKER_DIR")"
    B="${out#BOOTSTRAP=}"
    export B
    "$RECCTL_BIN" topics create -b "$B" --partitions "${1:-1}" >/dev/null
}

# write_conf FILE STATE_DIR [extra libconfig text]
# SNAPSHOTS=1 (set by the crash, batch-boundary and fault tests): the sgd model is snapshotted
# every 1,024 logged events, committed 512 later, so that snapshots (written by a child
# process, their commits, the log deletions) fall inside the tests' kill and fault windows.
write_conf() {
    local snap=""
    [ "${SNAPSHOTS:-0}" = 1 ] && snap='operators = { sgd = { snapshot_every = 1024; snapshot_commit_after = 512; }; };'
    cat > "$1" <<CONF
daemon = { log_level = "info"; };
kafka = { brokers = "${B:-127.0.0.1:1}"; group_id = "recd-test"; stats_interval_ms = ${STATS_MS:-5000}; };
state = { dir = "$2"; block_cache_mb = 32; write_buffer_mb = 16; };
metrics = { enabled = false; };
batch = { max_records = ${BATCH:-500}; max_wait_ms = ${WAIT_MS:-200}; };
${snap}
${3:-}
CONF
}

# run_recd CONF LOG [args...] — foreground until it exits by itself (--exit-idle)
run_recd() {
    local conf="$1" log="$2"; shift 2
    "$RECD_BIN" -c "$conf" "$@" 2>>"$log"
}

# start_recd CONF LOG [args] — background; sets RECD_PID
start_recd() {
    local conf="$1" log="$2"; shift 2
    "$RECD_BIN" -c "$conf" "$@" 2>>"$log" &
    RECD_PID=$!
    RECD_PIDS+=("$RECD_PID")
}

# stop_recd PID NAME [SECONDS] — SIGTERM, then the exit status within SECONDS (60): a recd
# that hangs while it stops (e.g. in the group consumer's close) fails the test with its stack
stop_recd() {
    local pid="$1" name="$2" secs="${3:-60}" i
    kill -TERM "$pid" 2>/dev/null || fail "$name (pid $pid) is gone"
    for ((i = 0; i < secs * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        command -v gdb >/dev/null && gdb -p "$pid" -batch -ex "thread 1" -ex "bt 20" 2>/dev/null \
            | grep '^#' >&2
        kill -KILL "$pid"
        fail "$name (pid $pid) did not stop within ${secs} s of SIGTERM"
    fi
    wait "$pid"
}

digest() { "$RECCTL_BIN" state digest --state "$1"; }

# tail_json KIND FILE — every record of a topic as JSON lines
tail_json() {
    "$RECCTL_BIN" tail -b "$B" --kind "$1" --from-beginning --idle-ms "${IDLE_MS:-4000}" > "$2"
}
