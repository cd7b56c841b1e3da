#!/usr/bin/env bash
# fault_broker_mock.sh — broker faults from librdkafka's mock cluster (3 brokers, every topic
# with 3 replicas) while a rate-limited Diginetica replay is produced and recd consumes it:
# produce errors, fetch errors (disconnects, NOT_LEADER, OFFSET_OUT_OF_RANGE that makes
# librdkafka rewind a partition — the catalogue reader's and the event consumer's),
# offset-commit errors, heartbeat/join/sync errors, two coordinator moves, a partition leader
# move, the leader broker down and up. recd runs under a restart-on-failure supervisor (as
# under systemd). Afterwards:
#   - its state digest (offsets included: same input topics) equals a fault-free run's;
#   - the whole catalogue was consumed (items offset at the end);
#   - every user's last published list has seq = the user's clicks in the topic (no event
#     lost, none applied twice), i.e. final recommendations for every user.
source "$(dirname "$0")/lib.sh"
export SNAPSHOTS=1   # sgd snapshots inside the kill/fault windows (lib.sh write_conf)
source "$(dirname "$0")/fault_lib.sh"
N=40000; ITEMS=300
[ "$RECD_TEST_SCALE" = small ] && N=8000
RATE=$((N / 12))

mock_start --brokers 3 --topic shop.clicks:1:3 --topic shop.purchases:1:3 --topic shop.queries:1:3 \
    --topic shop.items:1:3 --topic shop.user-deletions:1:3 --topic recs.fault:4:3 --topic dlq.fault:1:3 \
    --topic recs.ref:4:3 --topic dlq.ref:1:3
echo "mock cluster: $MB"
mock leader shop.clicks 0 1
mock leader shop.items 0 2
"$RECCTL_BIN" gen -b "$MB" --items $ITEMS --users 1 --events 0 > "$T/catalogue.log" 2>&1 \
    || fail "catalogue: $(tail -3 "$T/catalogue.log")"

# Short group sessions: after a coordinator move the mock coordinator completes the rejoin
# only when the previous session has timed out (45 s by default).
props='properties = { session_timeout_ms = "6000"; heartbeat_interval_ms = "1000"; };'
B="$MB" BATCH=100 WAIT_MS=50 STATS_MS=0 write_conf "$T/fault.conf" "$T/fault" \
    'topics = { recommendations = "recs.fault"; dlq = "dlq.fault"; };'
B="$MB" STATS_MS=0 write_conf "$T/ref.conf" "$T/ref" 'topics = { recommendations = "recs.ref"; dlq = "dlq.ref"; };'
sed -i "s/group_id = \"recd-test\"; stats_interval_ms = 0;/group_id = \"fault\"; stats_interval_ms = 0; $props/" "$T/fault.conf"
sed -i "s/group_id = \"recd-test\"; stats_interval_ms = 0;/group_id = \"ref\"; stats_interval_ms = 0; $props/" "$T/ref.conf"
grep -q 'group_id = "fault"' "$T/fault.conf" && grep -q 'group_id = "ref"' "$T/ref.conf" || fail "config"

# ---- the faulty run: replay and recd at the same time, faults on a schedule ----
# The catalogue reader's first fetch gets OFFSET_OUT_OF_RANGE (librdkafka then resets the
# partition by auto.offset.reset).
mock berr 2 Fetch OFFSET_OUT_OF_RANGE
sup_start fault "$T/fault.conf" "$T/fault.log"
# The schedule counts from recd's readiness, not its exec: start-up takes a variable time
# (against the mock the output-topic check waits out its 5 s timeout), and faults meant for
# the consumer must land while it fetches a live replay. The replay starts with the clock
# and lasts >= 12 s (rate-limited), so every fault below meets traffic.
for _ in $(seq 1 300); do
    grep -q 'main: ready: ' "$T/fault.log" && break
    sup_check fault "$T/fault.conf" "$T/fault.log"; sleep 0.2
done
grep -q 'main: ready: ' "$T/fault.log" || fail "recd not ready within 60 s: $(tail -3 "$T/fault.log")"
"$RECCTL_BIN" replay "$RECD_DATA/diginetica-srgnn" -b "$MB" --phase train --limit $N --rate $RATE \
    > "$T/replay.log" 2>&1 &
REPLAY_PID=$!
RECD_PIDS+=($REPLAY_PID)
t0=$SECONDS
at() {   # at SECONDS CMD... — run a mock command at t0 + SECONDS, supervising meanwhile
    local when=$((t0 + $1)); shift
    while [ $SECONDS -lt $when ]; do sup_check fault "$T/fault.conf" "$T/fault.log"; sleep 0.2; done
    mock "$@"
}
at 1 err Produce NOT_LEADER_FOR_PARTITION NOT_LEADER_FOR_PARTITION REQUEST_TIMED_OUT _TRANSPORT NOT_ENOUGH_REPLICAS
at 2 berr 1 Fetch OFFSET_OUT_OF_RANGE
at 2 err Fetch NOT_LEADER_FOR_PARTITION UNKNOWN_TOPIC_OR_PART _TRANSPORT
at 3 err OffsetCommit NOT_COORDINATOR COORDINATOR_NOT_AVAILABLE REQUEST_TIMED_OUT
at 4 err JoinGroup COORDINATOR_LOAD_IN_PROGRESS NOT_COORDINATOR
at 4 err SyncGroup REBALANCE_IN_PROGRESS
at 4 err Heartbeat REBALANCE_IN_PROGRESS
at 5 coord group fault 2
at 6 leader shop.clicks 0 3
at 6 err Produce _TRANSPORT NOT_LEADER_FOR_PARTITION
at 7 down 3
# queued while broker 3 (the clicks leader) is down: the consumer's first fetch after it is
# back fails — the replay is still producing then, so that fetch is certain to happen
at 10 berr 3 Fetch OFFSET_OUT_OF_RANGE
at 10 up 3
at 11 coord group fault 3
at 12 err OffsetCommit UNKNOWN_MEMBER_ID
rc=0; sup_wait fault "$T/fault.conf" "$T/fault.log" $REPLAY_PID || rc=$?
[ $rc -eq 0 ] || fail "replay into the mock cluster failed: $(tail -3 "$T/replay.log")"
pass "replay under faults: $(tail -1 "$T/replay.log")"
sup_until_caught_up fault "$T/fault.conf" "$T/fault.log" "$MB" "$T/fault" 240 shop.clicks shop.items
fault="$(digest "$T/fault")"
skipped=$( (grep -o '[0-9]* skipped as already consumed' "$T/fault.log" || true) | awk '{s += $1} END {print s + 0}')
resets=$(grep -c 'offset reset' "$T/fault.log" || true)
[ "$resets" -gt 0 ] || fail "no partition was rewound: the OFFSET_OUT_OF_RANGE faults did not happen"
# broker 3's OFFSET_OUT_OF_RANGE comes after thousands of clicks: their redelivery must be
# met by the fence (a digest equal to the reference then shows none was applied twice)
[ "$skipped" -gt 0 ] || fail "no rewound record reached the fence after $resets offset reset(s)"
pass "faulty run caught up: ${SUP_STARTS[fault]} start(s), ${SUP_FAILS[fault]:-0} non-zero exit(s), $resets offset reset(s) by librdkafka, $skipped rewound record(s) skipped by the fence; digest $fault"

mock pending
pending="$(tail -1 "$T/mock.out")"
[ "$pending" = "ok pending 0" ] || fail "injected per-broker errors were never triggered ($pending)"

# ---- the fault-free reference over the same input topics ----
run_recd "$T/ref.conf" "$T/ref.log" --exit-idle 3000 || fail "reference run failed"
ref="$(digest "$T/ref")"
[ "$fault" = "$ref" ] || fail "digest under faults $fault != fault-free $ref"
pass "digest under faults equals the fault-free run: $ref"
"$RECCTL_BIN" state offsets --state "$T/fault" | grep -qP "^shop.items\t0\t$ITEMS\$" || fail "catalogue not consumed in full"
pass "catalogue consumed in full ($ITEMS items)"

"$RECCTL_BIN" tail -b "$MB" --kind click --from-beginning --idle-ms 3000 > "$T/clicks.json"
"$RECCTL_BIN" tail -b "$MB" --topic recs.fault --kind recommendations --from-beginning --idle-ms 3000 > "$T/recs.json"
complete_logs "$MB" shop.clicks shop.items recs.fault
check_users "$T/clicks.json" "$T/recs.json" || fail "per-user check"
mock_stop
keep_logs
echo "fault_broker_mock: all passed ($N clicks; digest $ref)"
