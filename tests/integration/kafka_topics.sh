#!/usr/bin/env bash
# kafka_topics.sh — recd and its topics on a real broker (scripts/kafka.sh, which has
# auto.create.topics.enable=true, Kafka's default):
#   1. a missing recommendations topic is created by recd, compacted, with the clicks topic's
#      partition count (not auto-created by the producer with cleanup.policy=delete);
#   2. an existing recommendations topic with cleanup.policy=delete: recd stays not ready,
#      /readyz and the log say why, nothing is consumed; after kafka-configs sets compact,
#      recd starts by itself (it checks again every 10 s) and publishes;
#      with kafka.require_compacted_output = false it is not checked;
#   3. /readyz names the reason while recd waits: an input topic that does not exist,
#      brokers that do not answer.
. "$(dirname "$0")/lib.sh"

start_broker 3
KCONF() { "$RECD_SOURCE_DIR/scripts/kafka.sh" configs --bootstrap-server "$B" --entity-type topics "$@"; }

# conf NAME EXTRA — metrics on an ephemeral port, its own group
conf() {
    write_conf "$T/$1.conf" "$T/state.$1" "metrics = { enabled = true; listen = \"127.0.0.1:0\"; };
$2"
    sed -i '/^metrics = { enabled = false; };$/d' "$T/$1.conf"
    sed -i "s/group_id = \"recd-test\"/group_id = \"$1\"/" "$T/$1.conf"
}

# readyz LOG — recd's current /readyz answer ("CODE text"), empty while it has no port
readyz() {
    python3 - "$1" <<'PY'
import re, sys, urllib.request, urllib.error
m = re.findall(r"metrics on http://127\.0\.0\.1:(\d+)/", open(sys.argv[1]).read())
if not m:
    sys.exit(0)
try:
    r = urllib.request.urlopen(f"http://127.0.0.1:{m[-1]}/readyz", timeout=2)
    print(r.status, r.read().decode().strip())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode().strip())
except Exception:
    pass
PY
}

# wait_readyz LOG PATTERN SECONDS — until /readyz matches PATTERN (grep -E)
wait_readyz() {
    local ans=""
    for _ in $(seq 1 $(($3 * 5))); do
        ans="$(readyz "$1")"
        if grep -qE "$2" <<<"$ans"; then return 0; fi
        sleep 0.2
    done
    fail "/readyz never matched '$2' within $3 s; last answer: '$ans'"
}

policy() { KCONF --entity-name "$1" --describe --all 2>/dev/null | grep -o 'cleanup.policy=[a-z,]*' | head -1; }

"$RECCTL_BIN" gen -b "$B" --users 50 --items 30 --events 300 --seed 3 >/dev/null

# 1. a missing recommendations topic: created compacted, 3 partitions like the clicks topic
conf one 'topics = { recommendations = "recs.one"; dlq = "dlq.one"; };'
start_recd "$T/one.conf" "$T/one.log"
wait_readyz "$T/one.log" '^200 ready' 60
grep -q 'created the recommendations topic recs.one (cleanup.policy=compact, 3 partitions' "$T/one.log" ||
    fail "no 'created the recommendations topic' line: $(grep -i topic "$T/one.log" | tail -3)"
[ "$(policy recs.one)" = "cleanup.policy=compact" ] || fail "recs.one: $(policy recs.one)"
"$RECCTL_BIN" metadata -b "$B" 2>/dev/null | grep -E 'recs\.one' | grep -q 'partitions=3' ||
    fail "recs.one partitions: $("$RECCTL_BIN" metadata -b "$B" | grep recs.one)"
grep -q 'created the dead-letter topic dlq.one' "$T/one.log" || fail "dlq.one not created by recd"
kill -TERM "$RECD_PID"; wait "$RECD_PID" || fail "recd (one) did not stop cleanly"
pass "a missing recommendations topic is created compacted with the clicks topic's 3 partitions"

# 2. an existing, not compacted recommendations topic (auto-created by a producer)
echo '{"event_id":"e1","user_id":"x","item_id":"i1","ts":1700000000000,"kind":"VIEW"}' |
    "$RECCTL_BIN" -b "$B" produce --kind click --topic recs.two >/dev/null
[ "$(policy recs.two)" = "cleanup.policy=delete" ] || fail "recs.two setup: $(policy recs.two)"
# recctl topics create reports it (exit 1, with the fix) instead of "exists"
rc=0; "$RECCTL_BIN" -b "$B" --topic-recommendations recs.two topics create > "$T/tc.out" 2> "$T/tc.err" || rc=$?
[ $rc -eq 1 ] || fail "topics create on a delete-policy recommendations topic exited $rc"
grep -q '^exists  recs.two (cleanup.policy=delete, NOT compacted)$' "$T/tc.out" || fail "topics create: $(cat "$T/tc.out")"
grep -q 'recs.two exists with cleanup.policy=delete but must be compacted.*--add-config cleanup.policy=compact' "$T/tc.err" ||
    fail "topics create: no fix named: $(cat "$T/tc.err")"
grep -q '^exists  shop.items (cleanup.policy=compact)$' "$T/tc.out" || fail "topics create: items: $(cat "$T/tc.out")"
pass "recctl topics create: an existing delete-policy recommendations topic is reported with its fix (exit 1)"
conf two 'topics = { recommendations = "recs.two"; };'
start_recd "$T/two.conf" "$T/two.log"
wait_readyz "$T/two.log" '^503 .*recs.two has cleanup.policy=delete, not compact' 30
grep -q 'not starting: the recommendations topic recs.two has cleanup.policy=delete' "$T/two.log" ||
    fail "no 'not starting' line"
sleep 2
grep -q 'ready: state open' "$T/two.log" && fail "recd became ready with a delete-policy output topic"
"$RECCTL_BIN" metadata -b "$B" >/dev/null
KCONF --entity-name recs.two --alter --add-config cleanup.policy=compact >/dev/null
"$RECCTL_BIN" -b "$B" --topic-recommendations recs.two topics create > "$T/tc.out" 2>&1 ||
    fail "topics create after the fix: $(cat "$T/tc.out")"
grep -q '^exists  recs.two (cleanup.policy=compact)$' "$T/tc.out" || fail "topics create after the fix: $(cat "$T/tc.out")"
wait_readyz "$T/two.log" '^200 ready' 40
grep -q 'recs.two is compacted now: starting' "$T/two.log" || fail "no 'compacted now' line"
n=0
for _ in $(seq 1 40); do
    n="$("$RECCTL_BIN" tail -b "$B" --kind recs --topic recs.two --from-beginning \
        --idle-ms 1500 2>/dev/null | grep -c "\"seq\"" || true)"
    [ "$n" -gt 0 ] && break
    sleep 0.5
done
[ "$n" -gt 0 ] || fail "nothing published to recs.two after the fix"
kill -TERM "$RECD_PID"; wait "$RECD_PID" || fail "recd (two) did not stop cleanly"
pass "a delete-policy output topic keeps recd not ready with the reason; compacting it starts recd ($n lists)"

echo '{"event_id":"e1","user_id":"x","item_id":"i1","ts":1700000000000,"kind":"VIEW"}' |
    "$RECCTL_BIN" -b "$B" produce --kind click --topic recs.three >/dev/null
conf three 'topics = { recommendations = "recs.three"; };'
sed -i 's/^kafka = { /kafka = { require_compacted_output = false; /' "$T/three.conf"
grep -c require_compacted_output "$T/three.conf" | grep -qx 1 || fail "config three: $(cat "$T/three.conf")"
start_recd "$T/three.conf" "$T/three.log"
wait_readyz "$T/three.log" '^200 ready' 60
kill -TERM "$RECD_PID"; wait "$RECD_PID" || fail "recd (three) did not stop cleanly"
[ "$(policy recs.three)" = "cleanup.policy=delete" ] || fail "recs.three changed: $(policy recs.three)"
pass "require_compacted_output = false: not checked"

# 3. the reason while waiting: a missing input topic, then unreachable brokers
conf four 'topics = { clicks = "no.such.clicks"; purchases = "no.such.purchases";
  queries = "no.such.queries"; deletions = "no.such.deletions"; recommendations = "recs.four"; };'
start_recd "$T/four.conf" "$T/four.log"
wait_readyz "$T/four.log" '^503 .*input topic no.such.clicks does not exist' 30
kill -TERM "$RECD_PID"; wait "$RECD_PID" || fail "recd (four) did not stop cleanly"
pass "/readyz: input topic missing"

conf five ''
sed -i "s/brokers = \"$B\"/brokers = \"127.0.0.1:1\"/" "$T/five.conf"
grep -q '127.0.0.1:1"' "$T/five.conf" || fail "config five"
start_recd "$T/five.conf" "$T/five.log"
wait_readyz "$T/five.log" '^503 .*brokers unreachable \(127.0.0.1:1\)' 40
kill -TERM "$RECD_PID"; wait "$RECD_PID" || fail "recd (five) did not stop cleanly"
pass "/readyz: brokers unreachable"
