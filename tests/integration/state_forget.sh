#!/usr/bin/env bash
# state_forget.sh — a user-deletion record removes the user's per-user state (the users,
# sessions and outputs column families) and publishes a tombstone, also when the user's events
# are in the same batch as the deletion; the deletion is logged once; it reaches the model:
# after `recctl state compact`, no byte of any file of the state directory holds the user id
# or one of the user's session keys (`recctl state audit`; before the deletion it finds them);
# nothing resurrects the user later unless new events arrive.
source "$(dirname "$0")/lib.sh"
start_broker 1
"$RECCTL_BIN" replay "$RECD_DATA/diginetica-srgnn" -b "$B" --phase train --limit 2000 \
    > "$T/replay.log" 2>&1 || fail "replay failed"
BATCH=5000; WAIT_MS=1500
write_conf "$T/recd.conf" "$T/state"
run_recd "$T/recd.conf" "$T/recd.log" --exit-idle 3000 || fail "first run failed"

X="$("$RECCTL_BIN" tail -b "$B" --kind click --from-beginning --idle-ms 3000 --max 1 | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["value"]["user_id"])')"
"$RECCTL_BIN" state show "$X" --state "$T/state" > "$T/x.before.json" || fail "user $X has no state before deletion"
pass "user $X has state: $(head -c 200 "$T/x.before.json")"
# positive control: before the deletion the state's files hold the user id and session keys
rc=0; "$RECCTL_BIN" state audit "$X" --sessions 1000 --state "$T/state" > "$T/audit.before" 2>&1 || rc=$?
[ $rc -eq 3 ] || fail "recctl state audit $X before the deletion: exit $rc (expected 3: found): $(cat "$T/audit.before")"
grep -q "the user id" "$T/audit.before" || fail "audit before: the user id not found: $(cat "$T/audit.before")"
grep -q "a session key of the user" "$T/audit.before" || fail "audit before: no session key found: $(cat "$T/audit.before")"
pass "before the deletion the state's files hold $X's id and session keys ($(wc -l < "$T/audit.before") hits)"

# Y: brand-new user whose clicks and deletion arrive in the same batch
Y="forget-me-y"
ts=1600000000000
printf '{"event_id":"y1","user_id":"%s","item_id":"1","ts":%d}\n{"event_id":"y2","user_id":"%s","item_id":"2","ts":%d}\n' \
    "$Y" $ts "$Y" $((ts + 1000)) | "$RECCTL_BIN" produce -b "$B" --kind click - || fail "produce Y clicks"
printf '{"user_id":"%s","requested_ts":%d}\n{"user_id":"%s","requested_ts":%d}\n' "$X" $ts "$Y" $((ts + 2000)) \
    | "$RECCTL_BIN" produce -b "$B" --kind deletion - || fail "produce deletions"
run_recd "$T/recd.conf" "$T/recd.log" --exit-idle 3000 || fail "second run failed"

for u in "$X" "$Y"; do
    rc=0; "$RECCTL_BIN" state show "$u" --state "$T/state" > "$T/show.json" 2>&1 || rc=$?
    [ $rc -eq 2 ] || fail "recctl state show $u after deletion: exit $rc: $(cat "$T/show.json")"
done
pass "recctl state show finds nothing for $X and $Y"
grep -q "sgd: model snapshot at" "$T/recd.log" || fail "no model snapshot after the deletions"
"$RECCTL_BIN" state compact --state "$T/state" || fail "recctl state compact failed"
for u in "$X" "$Y"; do
    rc=0; "$RECCTL_BIN" state audit "$u" --sessions 1000 --state "$T/state" > "$T/audit.after" 2>&1 || rc=$?
    [ $rc -eq 0 ] || fail "after the deletion and a compaction, the state still holds $u (exit $rc): $(cat "$T/audit.after")"
done
pass "after the deletion and a compaction no file of the state holds $X or $Y (id or session keys)"
# auditable: one journal line per executed deletion, naming the user
for u in "$X" "$Y"; do
    n="$(grep -cF "forget: user \"$u\" forgotten" "$T/recd.log" || true)"
    [ "$n" -eq 1 ] || fail "expected one journal line for the deletion of $u, found $n"
done
pass "one 'forget: user ... forgotten' journal line each for $X and $Y"

IDLE_MS=3000 tail_json recommendations "$T/recs.json"
python3 - "$T/recs.json" "$X" "$Y" <<'PY'
import json, sys
f, x, y = sys.argv[1:]
last = {}
for l in open(f):
    r = json.loads(l); last[r["key"]] = r["value"]
for u in (x, y):
    assert u in last, f"no record at all for {u}"
    assert last[u] is None, f"last record for {u} is not a tombstone: {last[u]}"
print(f"ok: last record for {x} and {y} is a tombstone")
PY

# more unrelated input: the users stay forgotten
"$RECCTL_BIN" replay "$RECD_DATA/diginetica-srgnn" -b "$B" --phase test --limit 500 > /dev/null 2>&1 || fail "replay 2"
run_recd "$T/recd.conf" "$T/recd.log" --exit-idle 3000 || fail "third run failed"
for u in "$X" "$Y"; do
    rc=0; "$RECCTL_BIN" state show "$u" --state "$T/state" >/dev/null 2>&1 || rc=$?
    [ $rc -eq 2 ] || fail "$u resurrected"
done
pass "still forgotten after more input"

# a new event brings the user back, as a new user (seq from 1)
printf '{"event_id":"y3","user_id":"%s","item_id":"3","ts":%d}\n' "$Y" $((ts + 5000)) \
    | "$RECCTL_BIN" produce -b "$B" --kind click - || fail "produce Y again"
run_recd "$T/recd.conf" "$T/recd.log" --exit-idle 3000 || fail "fourth run failed"
"$RECCTL_BIN" state show "$Y" --state "$T/state" | grep -qE '"seq": 1([^0-9]|$)' || fail "Y did not come back with seq 1"
pass "a new event for $Y starts a new user (seq 1)"
echo "state_forget: all passed"
