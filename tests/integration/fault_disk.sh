#!/usr/bin/env bash
# fault_disk.sh — resource faults of the state store, on the real broker with a Diginetica
# replay already in Kafka:
#   A. full disk: the state directory on a small tmpfs (needs mount rights; without them the
#      test runs B and exits 77, which ctest reports as skipped). recd keeps 2 x write_buffer_mb + 16 MiB free for RocksDB: once the
#      filesystem has less, it must refuse to commit the batch, report not ready (/readyz
#      503, STATUS= to systemd) and exit non-zero; started again on the still-full disk it
#      must fail again without advancing its offsets; on a 100 % full filesystem it must exit
#      1 without opening RocksDB (no abort); once the filesystem is grown it resumes and its
#      state digest equals an unconstrained run's.
#   B. RocksDB write errors: recd under RLIMIT_FSIZE (ulimit -f, SIGXFSZ ignored), so state
#      files cannot grow past a few MB and writes fail with EFBIG: same expectations.
source "$(dirname "$0")/lib.sh"
export SNAPSHOTS=1   # sgd snapshots inside the kill/fault windows (lib.sh write_conf)
source "$(dirname "$0")/fault_lib.sh"
N=60000; SMALL_MB=40; SMALL_WB=4; FSIZE_KB=3072
[ "$RECD_TEST_SCALE" = small ] && N=20000 && SMALL_MB=24 && SMALL_WB=1 && FSIZE_KB=1536
start_broker 1
"$RECCTL_BIN" replay "$RECD_DATA/diginetica-srgnn" -b "$B" --phase train --limit $N \
    > "$T/replay.log" 2>&1 || fail "replay failed"

# reference: unconstrained
STATS_MS=0 write_conf "$T/ref.conf" "$T/ref" 'topics = { recommendations = "recs.ref"; dlq = "dlq.ref"; };'
sed -i 's/group_id = "recd-test"/group_id = "ref"/' "$T/ref.conf"
run_recd "$T/ref.conf" "$T/ref.log" --exit-idle 3000 || fail "reference run failed"
ref="$(digest "$T/ref")"
pass "unconstrained run: digest $ref, state $(du -sm "$T/ref" | cut -f1) MiB"

python3 "$RECD_SOURCE_DIR/tests/integration/notify.py" "$T/notify.sock" "$T/notify.txt" &
RECD_PIDS+=($!)
for _ in $(seq 1 50); do [ -S "$T/notify.sock" ] && break; sleep 0.1; done

# fconf NAME STATE [WRITE_BUFFER_MB] — config with metrics on an ephemeral port and static
# membership
fconf() {
    BATCH=200 WAIT_MS=100 STATS_MS=0 write_conf "$T/$1.conf" "$2" \
        "topics = { recommendations = \"recs.$1\"; dlq = \"dlq.$1\"; };
metrics = { enabled = true; listen = \"127.0.0.1:0\"; };"
    sed -i '/^metrics = { enabled = false; };$/d' "$T/$1.conf"
    sed -i "s/group_id = \"recd-test\"; stats_interval_ms = 0;/group_id = \"$1\"; stats_interval_ms = 0; properties = { group_instance_id = \"$1-1\"; };/" "$T/$1.conf"
    sed -i "s/write_buffer_mb = 16;/write_buffer_mb = ${3:-16};/" "$T/$1.conf"
    grep -q "group_id = \"$1\"" "$T/$1.conf" || fail "config $1"
}

# watch_ready LOG OUT — poll recd's /readyz (port from its log) every 20 ms until it stops
# answering; OUT gets each change of answer
watch_ready() {
    python3 - "$1" "$2" <<'PY' &
import re, sys, time, urllib.request, urllib.error
log, out = sys.argv[1], sys.argv[2]
port = None
t_end = time.time() + 60
while port is None and time.time() < t_end:
    try:
        m = re.findall(r"metrics on http://127\.0\.0\.1:(\d+)/", open(log).read())
        port = m[-1] if m else None
    except OSError:
        pass
    time.sleep(0.02)
last, seen = None, False
with open(out, "w") as f:
    while time.time() < t_end + 600:
        try:
            r = urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
            ans = f"{r.status} {r.read().decode().strip()}"
        except urllib.error.HTTPError as e:
            ans = f"{e.code} {e.read().decode().strip()}"
        except Exception:
            if seen:
                break
            time.sleep(0.02)
            continue
        seen = True
        if ans != last:
            f.write(ans + "\n"); f.flush(); last = ans
        time.sleep(0.02)
PY
    RECD_PIDS+=($!)
    WATCH_PID=$!
}

# expect_failure NAME LOG WHAT — recd (SUP_PID) must exit non-zero after a failed commit
expect_failure() {
    local name="$1" log="$2" what="$3" rc=0
    for _ in $(seq 1 1200); do kill -0 "$SUP_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SUP_PID" 2>/dev/null && fail "$name: recd still running after 120 s on a $what"
    wait "$SUP_PID" || rc=$?
    [ $rc -ne 0 ] || fail "$name: recd exited 0 on a $what"
    [ $rc -lt 128 ] || fail "$name: recd was killed by signal $((rc - 128)) on a $what (not a clean failure)"
    FAIL_LINE="$(grep -E 'nothing committed|cannot open state|<3>state' "$log" | tail -1)"
    [ -n "$FAIL_LINE" ] || fail "$name: no failure logged: $(tail -3 "$log")"
    echo "  $name: exit $rc: ${FAIL_LINE:0:220}"
}

# ---- A. full disk ----
if mkdir -p "$T/small" && mount -t tmpfs -o size=${SMALL_MB}m tmpfs "$T/small" 2>/dev/null; then
    cleanup_mount() { umount -l "$T/small" 2>/dev/null || true; }
    trap 'rc=$?; set +e; cleanup_mount; cleanup "$rc"' EXIT INT TERM
    fconf full "$T/small/state" $SMALL_WB
    : > "$T/ready.full"
    NOTIFY_SOCKET="$T/notify.sock" sup_start full "$T/full.conf" "$T/full.log"
    watch_ready "$T/full.log" "$T/ready.full"
    expect_failure full "$T/full.log" "full disk"
    grep -qi 'no space left' <<< "$FAIL_LINE" || fail "full: the failure does not say the disk is full: $FAIL_LINE"
    wait "$WATCH_PID" 2>/dev/null || true
    grep -q '^200 ready' "$T/ready.full" || fail "full: /readyz never answered ready: $(cat "$T/ready.full")"
    grep -q '^503 not ready: .*[Nn]o space left' "$T/ready.full" || fail "full: /readyz did not report the failure: $(cat "$T/ready.full")"
    grep -q '^STATUS=failed, exiting: .*[Nn]o space left' "$T/notify.txt" || fail "full: no STATUS= for systemd: $(tail -3 "$T/notify.txt")"
    pass "full disk ($SMALL_MB MiB tmpfs, $((2 * SMALL_WB + 16)) MiB kept free): batch not committed, /readyz 503 ($(grep '^503' "$T/ready.full" | head -1 | cut -c1-120)), STATUS= sent, exit non-zero"
    offs1="$("$RECCTL_BIN" state offsets --state "$T/small/state")" || fail "full: state unreadable after the failure"
    df -k "$T/small" | tail -1 | awk '{print "  full: tmpfs used " $3 " KiB of " $2 " KiB"}'

    # started again on the still-full disk (RocksDB released its preallocated WAL space on
    # close: a ballast file takes the free space down to half the headroom): fails again,
    # offsets unchanged
    free_kb=$(df -k --output=avail "$T/small" | tail -1)
    ballast_kb=$((free_kb - (2 * SMALL_WB + 16) * 512))
    [ $ballast_kb -gt 0 ] && { dd if=/dev/zero of="$T/small/ballast" bs=1024 count=$ballast_kb status=none || fail "ballast"; }
    sup_start full "$T/full.conf" "$T/full.log"
    expect_failure full "$T/full.log" "full disk (second start)"
    offs2="$("$RECCTL_BIN" state offsets --state "$T/small/state")" || fail "full: state unreadable"
    [ "$offs1" = "$offs2" ] || fail "full: offsets moved while the disk was full: [$offs1] -> [$offs2]"
    pass "restart on the full disk: fails again, offsets unchanged ($(tr '\t\n' ': ' <<< "$offs1"))"

    # a completely full filesystem (0 bytes free): recd must not even open RocksDB (the
    # system's librocksdb aborts when its LOG file cannot be written twice in a row)
    dd if=/dev/zero of="$T/small/ballast2" bs=4096 status=none 2>/dev/null || true
    sup_start full "$T/full.conf" "$T/full.log"
    expect_failure full "$T/full.log" "100 % full disk"
    grep -q 'cannot open state: no space left' <<< "$FAIL_LINE" || fail "full: 100 % full disk: $FAIL_LINE"
    pass "start on a 100 % full filesystem: exit 1 before opening the store, not an abort"

    # space returns
    rm -f "$T/small/ballast" "$T/small/ballast2"
    mount -o remount,size=512m "$T/small" || fail "cannot grow the tmpfs"
    sup_start full "$T/full.conf" "$T/full.log"
    sup_until_caught_up full "$T/full.conf" "$T/full.log" "$B" "$T/small/state" 180 shop.clicks
    d="$(digest "$T/small/state")"
    [ "$d" = "$ref" ] || fail "full: digest after the disk was grown $d != unconstrained $ref"
    pass "disk grown: recd resumed, digest equals the unconstrained run: $d"
    DISK_A="ran"
else
    echo "SKIP A (full disk): cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN); B covers write errors"
    DISK_A="skipped"
fi

# ---- B. RocksDB write errors: RLIMIT_FSIZE ----
fconf fsize "$T/fsize"
: > "$T/ready.fsize"
(trap '' XFSZ; ulimit -f $FSIZE_KB; exec env NOTIFY_SOCKET="$T/notify.sock" "$RECD_BIN" -c "$T/fsize.conf") 2>> "$T/fsize.log" &
SUP_PID=$!; RECD_PIDS+=($SUP_PID)
watch_ready "$T/fsize.log" "$T/ready.fsize"
expect_failure fsize "$T/fsize.log" "file size limit"
grep -qi 'file too large\|IO error' <<< "$FAIL_LINE" || fail "fsize: the failure is not a write error: $FAIL_LINE"
wait "$WATCH_PID" 2>/dev/null || true
grep -q '^503 not ready' "$T/ready.fsize" || fail "fsize: /readyz did not report the failure: $(cat "$T/ready.fsize")"
offs1="$("$RECCTL_BIN" state offsets --state "$T/fsize")" || fail "fsize: state unreadable after the failure"
pass "write errors (RLIMIT_FSIZE $FSIZE_KB KiB): batch not committed, /readyz 503, exit non-zero; offsets at $(tr '\t\n' ': ' <<< "$offs1")"
sup_start fsize "$T/fsize.conf" "$T/fsize.log"
sup_until_caught_up fsize "$T/fsize.conf" "$T/fsize.log" "$B" "$T/fsize" 180 shop.clicks
d="$(digest "$T/fsize")"
[ "$d" = "$ref" ] || fail "fsize: digest after the limit was lifted $d != unconstrained $ref"
pass "limit lifted: recd resumed, digest equals the unconstrained run: $d"
keep_logs
if [ "$DISK_A" = skipped ]; then
    # part B passed, but part A did not run: not a pass (ctest's SKIP_RETURN_CODE 77 shows it)
    echo "fault_disk: part A (full disk) NOT RUN (no mount rights); part B passed (digest $ref)"
    exit 77
fi
echo "fault_disk: all passed (full disk: ran; write errors: ran; digest $ref)"
