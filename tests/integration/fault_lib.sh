# fault_lib.sh — helpers of the fault tests (sourced after lib.sh): the mock cluster driver,
# a restart-on-failure supervisor for recd (what systemd's Restart=on-failure does), catch-up
# detection from the offsets in recd's state, and per-user checks of the output.
: "${FAULT_TOOL:=${RECD_BUILD_DIR:-}/tests/fault/fault_tool}"
[ -x "$FAULT_TOOL" ] || fail "fault_tool not built ($FAULT_TOOL)"

# ---- mock cluster (fault_tool mock), commands through a FIFO ----
# mock_start ARGS... — sets MB (bootstrap list)
mock_start() {
    mkfifo "$T/mock.in"
    "$FAULT_TOOL" mock "$@" < "$T/mock.in" > "$T/mock.out" 2> "$T/mock.log" &
    MOCK_PID=$!
    RECD_PIDS+=($MOCK_PID)
    exec 7> "$T/mock.in"
    for _ in $(seq 1 100); do grep -q '^BOOTSTRAP=' "$T/mock.out" 2>/dev/null && break; sleep 0.1; done
    MB="$(sed -n 's/^BOOTSTRAP=//p' "$T/mock.out")"
    [ -n "$MB" ] || fail "mock cluster did not start: $(cat "$T/mock.log")"
    export MB
}

mock_stop() { mock quit; exec 7>&-; wait "$MOCK_PID" 2>/dev/null || true; }

# mock CMD... — one fault command; fails the test unless the driver answers "ok"
mock() {
    local before; before=$(wc -l < "$T/mock.out")
    echo "$*" >&7
    for _ in $(seq 1 100); do
        [ "$(wc -l < "$T/mock.out")" -gt "$before" ] && break; sleep 0.05
    done
    local ans; ans="$(tail -1 "$T/mock.out")"
    case "$ans" in ok*) echo "  [$(date +%T)] mock: $*" ;; *) fail "mock $*: $ans" ;; esac
}

# ---- recd under a supervisor ----
# sup_start NAME CONF LOG — (re)start recd; SUP_PID, SUP_STARTS[NAME], SUP_FAILS[NAME]
declare -A SUP_STARTS SUP_FAILS
sup_start() {
    local name="$1" conf="$2" log="$3"
    start_recd "$conf" "$log"
    SUP_PID=$RECD_PID
    SUP_STARTS[$name]=$(( ${SUP_STARTS[$name]:-0} + 1 ))
}

# sup_check NAME CONF LOG — if recd exited: non-zero = restart it (after 1 s, like
# RestartSec); zero = an unexpected clean exit, fail
sup_check() {
    local name="$1" conf="$2" log="$3" rc=0
    kill -0 "$SUP_PID" 2>/dev/null && return 0
    wait "$SUP_PID" || rc=$?
    [ $rc -ne 0 ] || fail "$name: recd exited 0 on its own"
    SUP_FAILS[$name]=$(( ${SUP_FAILS[$name]:-0} + 1 ))
    echo "  [$(date +%T)] $name: recd exited $rc ($(grep -E 'main: batch of|fatal Kafka|<3>state|<3>main' "$log" | tail -1 | cut -c1-240)); restarting"
    sleep 1
    sup_start "$name" "$conf" "$log"
}

# sup_wait NAME CONF LOG PID — wait for another process (a replay), supervising recd meanwhile;
# returns that process's exit status
sup_wait() {
    local name="$1" conf="$2" log="$3" pid="$4" rc=0
    while kill -0 "$pid" 2>/dev/null; do sup_check "$name" "$conf" "$log"; sleep 0.2; done
    wait "$pid" || rc=$?
    return $rc
}

# caught_up BROKERS STATE TOPIC... — every partition of the topics has its state offset at
# the topic's end (high watermark)
caught_up() {
    local brokers="$1" state="$2"; shift 2
    local offs; offs="$("$RECCTL_BIN" state offsets --state "$state" 2>/dev/null)" || return 1
    local t p h
    for t in "$@"; do
        while read -r p h _; do
            [ "$h" -eq 0 ] && continue
            grep -qP "^\Q$t\E\t$p\t$h\$" <<< "$offs" || return 1
        done < <("$FAULT_TOOL" hwm -b "$brokers" --topic "$t" 2>/dev/null || echo "0 -1")
    done
}

# sup_until_caught_up NAME CONF LOG BROKERS STATE DEADLINE_S TOPIC... — supervise recd until its
# state has consumed the topics to their end, then SIGTERM it (must exit 0)
sup_until_caught_up() {
    local name="$1" conf="$2" log="$3" brokers="$4" state="$5" limit="$6"
    local deadline=$((SECONDS + limit))
    shift 6
    local t0=$SECONDS next_report=$((SECONDS + 10))
    while :; do
        sup_check "$name" "$conf" "$log"
        caught_up "$brokers" "$state" "$@" && break
        if [ $SECONDS -ge $next_report ]; then
            echo "  [$(date +%T)] $name: catching up: $("$RECCTL_BIN" state offsets --state "$state" 2>/dev/null | tr '\t\n' ': ')"
            next_report=$((SECONDS + 10))
        fi
        [ $SECONDS -lt $deadline ] || fail "$name: recd did not consume $* to the end within $limit s: state offsets $("$RECCTL_BIN" state offsets --state "$state" 2>/dev/null | tr '\t\n' ': ')"
        sleep 0.5
    done
    echo "  [$(date +%T)] $name: caught up after $((SECONDS - t0)) s"
    sleep 1   # let a last batch (items etc.) commit
    kill -TERM "$SUP_PID"
    local rc=0; wait "$SUP_PID" || rc=$?
    [ $rc -eq 0 ] || fail "$name: recd exited $rc on SIGTERM"
}

# complete_logs BROKERS TOPIC... — no record was ever dropped from these topics (the mock
# cluster keeps at most 5 MB per partition and drops the oldest batches beyond that)
complete_logs() {
    local brokers="$1" t p h l; shift
    for t in "$@"; do
        while read -r p h l; do
            [ "$l" -eq 0 ] || fail "$t[$p] starts at offset $l: the broker dropped records"
        done < <("$FAULT_TOOL" hwm -b "$brokers" --topic "$t")
    done
}

# peak_rss_kib LOG — the peak RSS recd reported in its last "stopping:" line
peak_rss_kib() { grep -o 'peak RSS [0-9]* KiB' "$1" | tail -1 | grep -o '[0-9]*'; }

# check_rss_budget WHAT PEAK_KIB BUDGET_MB DETAIL — fail unless the peak RSS is within the
# budget. Under a sanitizer build (RECD_SANITIZER, lib.sh) the check is skipped, loudly: ASan's
# shadow memory, redzones and quarantine (256 MiB by default) make RSS meaningless, so the
# budget is asserted by the release tier only.
check_rss_budget() {
    local what="$1" kib="$2" budget="$3" detail="$4"
    [ -n "$kib" ] || fail "$what: recd reported no peak RSS"
    if [ "$RECD_SANITIZER" != none ]; then
        echo "SKIPPED: $what: RSS budget check skipped because of the sanitizer build" \
             "(RECD_SANITIZER=$RECD_SANITIZER: shadow memory and quarantine make RSS meaningless;" \
             "the release tier asserts it): peak RSS $((kib / 1024)) MiB, budget $budget MiB not checked"
        return 0
    fi
    [ "$kib" -le $((budget * 1024)) ] || fail "$what: peak RSS $((kib / 1024)) MiB over the budget of $budget MiB"
    pass "$what: peak RSS $((kib / 1024)) MiB within the budget of $budget MiB ($detail)"
}

# check_users CLICKS_JSON RECS_JSON — every user of the click topic has a last
# Recommendations record whose seq equals the user's number of clicks in the topic (no event
# lost, none applied twice), and seq never goes backwards per user.
check_users() {
    python3 - "$1" "$2" <<'PY'
import collections, json, sys
clicks, recs = sys.argv[1], sys.argv[2]
n = collections.Counter()
for l in open(clicks):
    if l.strip():
        r = json.loads(l)
        if r.get("value") and "error" not in r:
            n[r["value"]["user_id"]] += 1
last = {}
for l in open(recs):
    if not l.strip():
        continue
    r = json.loads(l)
    v = r["value"]
    if v is None:
        continue
    p = last.get(r["key"])
    assert p is None or v["seq"] >= p, f"seq went backwards for {r['key']}: {p} -> {v['seq']}"
    last[r["key"]] = v["seq"]
missing = [u for u in n if u not in last]
wrong = [u for u in n if u in last and last[u] != n[u]]
assert not missing, f"{len(missing)} users without recommendations, e.g. {missing[:3]}"
assert not wrong, (f"{len(wrong)} users' last seq != their clicks, e.g. "
                   + ", ".join(f"{u}: seq {last[u]} vs {n[u]} clicks" for u in wrong[:3]))
print(f"ok: {len(n)} users, {sum(n.values())} clicks: every user's last list has seq = its clicks")
PY
}

# FAULT_KEEP=DIR keeps a copy of the scratch directory (logs, states) of a passing test
keep_logs() { if [ -n "${FAULT_KEEP:-}" ]; then mkdir -p "$FAULT_KEEP" && cp -r "$T"/. "$FAULT_KEEP"/ 2>/dev/null || true; fi; }

# ---- the real broker: stop and start it again in place (same port, same log dirs) ----
# broker_stop — SIGTERM (clean shutdown), wait until it is gone; BROKER_ARGV keeps its command
broker_stop() {
    local pid; pid="$(cat "$BROKER_DIR/broker.pid")"
    mapfile -d '' BROKER_ARGV < "/proc/$pid/cmdline"
    BROKER_CWD="$(readlink "/proc/$pid/cwd")"
    kill -TERM "$pid"
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; sleep 1; }
    echo "  [$(date +%T)] broker stopped"
}

# broker_start — the same command again; waits until it answers a metadata request
broker_start() {
    (cd "$BROKER_CWD" && exec setsid "${BROKER_ARGV[@]}" >> "$BROKER_DIR/stdout.log" 2>&1 < /dev/null) &
    echo $! > "$BROKER_DIR/broker.pid"
    for _ in $(seq 1 240); do
        "$RECCTL_BIN" metadata -b "$B" > /dev/null 2>&1 && break
        sleep 0.25
    done
    "$RECCTL_BIN" metadata -b "$B" > /dev/null 2>&1 || fail "broker did not come back"
    echo "  [$(date +%T)] broker up again"
}
