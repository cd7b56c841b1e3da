#!/usr/bin/env bash
# state_batches.sh — determinism across batch boundaries: the same input with batch sizes
# 1, 7 and 500 gives the same state digest.
source "$(dirname "$0")/lib.sh"
export SNAPSHOTS=1   # sgd snapshots inside the kill/fault windows (lib.sh write_conf)
N=5000
[ "$RECD_TEST_SCALE" = small ] && N=1000
start_broker 1
"$RECCTL_BIN" replay "$RECD_DATA/diginetica-srgnn" -b "$B" --phase train --limit $N \
    > "$T/replay.log" 2>&1 || fail "replay failed"
declare -A d
for bs in 1 7 500; do
    BATCH=$bs WAIT_MS=50 write_conf "$T/b$bs.conf" "$T/s$bs" \
        "topics = { recommendations = \"recs.b$bs\"; dlq = \"dlq.b$bs\"; };"
    sed -i "s/group_id = \"recd-test\"/group_id = \"b$bs\"/" "$T/b$bs.conf"
    t0=$SECONDS
    run_recd "$T/b$bs.conf" "$T/b$bs.log" --exit-idle 3000 || fail "batch size $bs: recd failed"
    d[$bs]="$(digest "$T/s$bs")"
    echo "batch size $bs: digest ${d[$bs]} ($((SECONDS - t0)) s; $(grep -o '[0-9]* batches' "$T/b$bs.log"))"
done
[ "${d[1]}" = "${d[500]}" ] && [ "${d[7]}" = "${d[500]}" ] || fail "digests differ: ${d[*]}"
echo "state_batches: all passed (digest ${d[500]})"
