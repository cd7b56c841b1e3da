#!/usr/bin/env bash
# fault_flood.sh — a flood of 5 million distinct users (one click each, on 1,000 items) keeps
# recd's RSS within the memory budget of its configuration: per-user state lives in RocksDB
# and spills to disk; memory is bounded by the block cache, the memtables, the Kafka queues
# and one batch (RELIABILITY.md). Runs the "popular" operator with 1-item lists so that the
# 5 million published lists stay small; RSS is sampled during the run and the peak reported
# by recd at exit is checked against the budget. Every click is applied (offsets and a sample
# of users in state).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fault_lib.sh"
USERS="${RECD_FLOOD_USERS:-1000000}"   # the documented long run: RECD_FLOOD_USERS=5000000
[ "$RECD_TEST_SCALE" = small ] && USERS=300000
start_broker 1
t0=$SECONDS
"$FAULT_TOOL" flood -b "$B" --users $USERS --items 1000 > "$T/flood.log" 2>&1 || fail "flood: $(tail -2 "$T/flood.log")"
pass "$(cat "$T/flood.log") in $((SECONDS - t0)) s"

CACHE_MB=16; WBUF_MB=8; QUEUE_KB=16384
BUDGET_MB=$((CACHE_MB + 2 * 6 * WBUF_MB + 2 * QUEUE_KB / 1024 + 2 * 32 + 64))
BATCH=10000 WAIT_MS=200 STATS_MS=0 write_conf "$T/flood.conf" "$T/state" \
    'pipeline = { chain = ["popular"]; };
operators = { popular = { n = 1; }; };'
sed -i "s/stats_interval_ms = 0;/stats_interval_ms = 0; properties = { queued_max_messages_kbytes = \"$QUEUE_KB\"; };/; s/block_cache_mb = 32; write_buffer_mb = 16;/block_cache_mb = $CACHE_MB; write_buffer_mb = $WBUF_MB;/" "$T/flood.conf"
grep -q "block_cache_mb = $CACHE_MB" "$T/flood.conf" && grep -q queued_max "$T/flood.conf" || fail "config"

t0=$SECONDS
start_recd "$T/flood.conf" "$T/flood-recd.log" --exit-idle 5000
: > "$T/rss.txt"
while kill -0 "$RECD_PID" 2>/dev/null; do
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$RECD_PID/status" 2>/dev/null || true)
    done_n=$("$RECCTL_BIN" state offsets --state "$T/state" 2>/dev/null | awk '{s += $3} END {print s + 0}' || true)
    [ -n "$rss" ] && echo "$((SECONDS - t0)) $done_n $rss" >> "$T/rss.txt"
    sleep 5
done
rc=0; wait "$RECD_PID" || rc=$?
[ $rc -eq 0 ] || fail "recd exited $rc during the flood"
secs=$((SECONDS - t0))
summary="$(grep 'stopping:' "$T/flood-recd.log" | tail -1)"
grep -q " $USERS events, 0 dead-lettered" <<< "$summary" || fail "not every click applied: $summary"
peak=$(peak_rss_kib "$T/flood-recd.log")
state_mb=$(du -sm "$T/state" | cut -f1)
echo "  RSS samples (s, clicks applied, VmRSS KiB):"
awk 'NR % 4 == 1' "$T/rss.txt" | sed 's/^/    /' | tail -12
for u in flood-u0 "flood-u$((USERS / 2))" "flood-u$((USERS - 1))"; do
    "$RECCTL_BIN" state show "$u" --state "$T/state" | grep -qE '"seq": 1([^0-9]|$)' || fail "user $u not in state with seq 1"
done
pass "$USERS distinct users applied in $secs s ($((USERS / (secs > 0 ? secs : 1))) /s); state on disk $state_mb MiB; sample users in state"
check_rss_budget "flood of $USERS users" "$peak" $BUDGET_MB \
    "block cache $CACHE_MB, write buffers $WBUF_MB, queues $((QUEUE_KB / 1024)) MiB"
keep_logs
echo "fault_flood: all passed"
