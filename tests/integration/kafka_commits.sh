#!/usr/bin/env bash
# kafka_commits.sh — Kafka's committed offsets follow recd's state without one commit request
# per batch. With batch.max_records = 1 recd used to send an OffsetCommit per batch: tens of
# thousands queued on the group coordinator connection, the group's heartbeats waited behind
# them (REQTMOUT, "Offset commit failed: Local: Timed out") and the stop waited minutes for
# the queue. Now each batch only stores its offsets and librdkafka commits them every
# kafka.commit_interval_ms and at close. Checked: (1) the commits recd sent (librdkafka's cgrp
# debug log) are bounded by the run time / interval, not the number of batches; (2) none timed
# out or failed; (3) after the stop, the group's committed offset in Kafka (recctl lag) is the
# end of the input: the final commit happened.
source "$(dirname "$0")/lib.sh"
N=5000
[ "$RECD_TEST_SCALE" = small ] && N=2000
start_broker 1
"$RECCTL_BIN" replay "$RECD_DATA/diginetica-srgnn" -b "$B" --phase train --limit $N \
    > "$T/replay.log" 2>&1 || fail "replay failed"
BATCH=1 WAIT_MS=50 write_conf "$T/c.conf" "$T/state" \
    "pipeline = { chain = [\"sessionize\", \"sgd\", \"rerank\"]; };"
# librdkafka's consumer-group debug log shows every commit request
sed -i 's/group_id = "recd-test";/group_id = "commits"; commit_interval_ms = 1000; properties = { debug = "cgrp"; };/' "$T/c.conf"
sed -i 's/log_level = "info";/log_level = "info"; log_levels = { kafka = "debug"; };/' "$T/c.conf"
t0=$SECONDS
run_recd "$T/c.conf" "$T/c.log" --exit-idle 2000 || fail "recd failed"
wall=$((SECONDS - t0))
batches="$(grep -o 'stopping: [0-9]* batches' "$T/c.log" | grep -o '[0-9]*' || true)"
[ "${batches:-0}" -ge "$N" ] || fail "expected >= $N batches of one record, got '${batches:-none}'"
commits="$(grep -c 'Committing offsets for' "$T/c.log" || true)"
# one per commit_interval_ms while running, one at the stop (+ slack for the rebalance)
max=$((wall + 4))
echo "batches $batches, commit requests $commits in $wall s (at most $max allowed)"
[ "$commits" -ge 1 ] || fail "no offset commit at all (is the debug log missing?)"
[ "$commits" -le "$max" ] || fail "$commits commit requests for $batches batches: one per batch again?"
if grep -E 'REQTMOUT|COMMITFAIL|Offset commit .* failed' "$T/c.log" >&2; then
    fail "offset commits timed out or failed"
fi
pass "commits bounded by time, none failed"
"$RECCTL_BIN" -b "$B" lag --group commits > "$T/lag.txt" || fail "recctl lag failed"
cat "$T/lag.txt"
awk -v n="$N" '$1 == "shop.clicks" && $2 == 0 { ok = ($3 == n && $4 == n && $5 == 0) } END { exit !ok }' \
    "$T/lag.txt" || fail "the group's committed offset of shop.clicks[0] is not $N"
grep -q '^total lag 0$' "$T/lag.txt" || fail "recctl lag: total lag is not 0"
pass "Kafka's committed offset is the end of the input after the stop"
echo "kafka_commits: all passed"
