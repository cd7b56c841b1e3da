#!/usr/bin/env bash
# recctl_config.sh — `recctl -c recd.conf` on a real broker: recctl takes brokers, topics,
# kafka.properties, state.dir, metrics.listen, kafka.group_id and the input codec from recd's
# own configuration, checked by recd's own tables (recd -t):
#   1. topics create / gen / produce / tail / lag / state / status use the configured names,
#      group, state directory and metrics address;
#   2. Confluent-framed clicks (schema id 7 in input.confluent_ids) that recd accepts are
#      decoded by `recctl -c … tail` — every one; without -c (positive control) none is;
#   3. explicit options win over the file wherever they stand; a file recd would refuse is
#      refused with its file:line and exit 78.
. "$(dirname "$0")/lib.sh"

start_broker 1
S="$RECD_SOURCE_DIR/schemas"
write_conf "$T/recd.conf" "$T/state" "topics = { clicks = \"cfg.clicks\"; purchases = \"cfg.purchases\";
  queries = \"cfg.queries\"; items = \"cfg.items\"; deletions = \"cfg.deletions\";
  recommendations = \"cfg.recs\"; dlq = \"cfg.dlq\"; };
input = { format = \"auto\"; confluent_ids = [ \"7:click:$S/click.avsc\" ]; };"
sed -i 's/^metrics = { enabled = false; };$/metrics = { enabled = false; listen = "127.0.0.1:9"; };/' "$T/recd.conf"
sed -i 's/group_id = "recd-test"/group_id = "cfg-group"/' "$T/recd.conf"
grep -q 'listen = "127.0.0.1:9"' "$T/recd.conf" && grep -q 'cfg-group' "$T/recd.conf" || fail "config"
"$RECD_BIN" -t -c "$T/recd.conf" >/dev/null 2>&1 || fail "recd -t refuses the test's config"
R() { "$RECCTL_BIN" -c "$T/recd.conf" "$@"; }

# 1. the configured topic names (no -b, no --topic-*: all from the file)
R topics create --partitions 2 > "$T/topics.out" 2>&1 || fail "topics create: $(cat "$T/topics.out")"
R metadata > "$T/md.out" 2>&1 || fail "metadata: $(cat "$T/md.out")"
for t in cfg.clicks cfg.purchases cfg.queries cfg.items cfg.deletions cfg.recs cfg.dlq; do
    grep -qw "$t" "$T/md.out" || fail "topic $t not created from the config: $(cat "$T/md.out")"
done
pass "topics create and metadata take the brokers and the seven topic names from the file"

# 2. the catalogue plain, the clicks Confluent-framed with id 7
R gen --users 40 --items 30 --events 0 --seed 5 > "$T/cat.log" 2>&1 || fail "gen: $(tail -2 "$T/cat.log")"
"$RECCTL_BIN" gen --users 40 --items 30 --events 600 --seed 5 --jsonl "$T/shop.jsonl" 2>/dev/null
grep '"_kind": *"click"' "$T/shop.jsonl" > "$T/clicks.jsonl" || true
N=$(wc -l < "$T/clicks.jsonl")
[ "$N" -gt 100 ] || fail "only $N clicks generated"
R produce --kind click --confluent-id 7 "$T/clicks.jsonl" > "$T/produce.log" 2>&1 \
    || fail "produce: $(tail -2 "$T/produce.log")"
run_recd "$T/recd.conf" "$T/recd.log" --exit-idle 3000 || fail "recd failed: $(tail -3 "$T/recd.log")"
grep -q "stopping: .* $((N + 30)) events, 0 dead-lettered" "$T/recd.log" \
    || fail "recd did not accept the $N Confluent-framed clicks (+ 30 items): $(grep stopping: "$T/recd.log")"
pass "recd accepted $N Confluent-framed clicks (schema id 7) from cfg.clicks"

# without -c: the ids are unknown — every record fails (the positive control) ...
"$RECCTL_BIN" -b "$B" --topic-clicks cfg.clicks tail --kind click --from-beginning --idle-ms 3000 \
    > "$T/tail.plain.json"
bad=$(grep -c '"error": *"unknown_schema_id: 7' "$T/tail.plain.json" || true)
[ "$bad" -eq "$N" ] || fail "without -c: $bad of $N records failed with unknown_schema_id (expected all)"
# ... with -c every one decodes, to the clicks that were produced
R tail --kind click --from-beginning --idle-ms 3000 > "$T/tail.json"
[ "$(wc -l < "$T/tail.json")" -eq "$N" ] || fail "tail -c printed $(wc -l < "$T/tail.json") records, expected $N"
grep -q '"error"' "$T/tail.json" && fail "tail -c: $(grep -c '"error"' "$T/tail.json") records failed to decode"
python3 - "$T/clicks.jsonl" "$T/tail.json" <<'PY' || fail "tail -c decoded different clicks"
import json, sys
sent = sorted((r["event_id"], r["user_id"], r["item_id"]) for r in map(json.loads, open(sys.argv[1])))
got = sorted((r["value"]["event_id"], r["value"]["user_id"], r["value"]["item_id"])
             for r in map(json.loads, open(sys.argv[2])))
sys.exit(0 if sent == got else 1)
PY
pass "tail: without -c 0 of $N decoded (unknown_schema_id 7); with -c all $N, equal to what was produced"

R tail --kind recs --from-beginning --idle-ms 3000 > "$T/recs.json"
users=$(python3 -c 'import json,sys; print(len({json.loads(l)["key"] for l in open(sys.argv[1])}))' "$T/recs.json")
[ "$users" -gt 0 ] || fail "no list on cfg.recs"
pass "tail --kind recs reads the configured recommendations topic ($users users)"

# state.dir, kafka.group_id, metrics.listen
[ "$(R state digest)" = "$(digest "$T/state")" ] || fail "state digest -c differs from --state"
R state offsets | grep -qP "^cfg.clicks\t" || fail "state offsets -c: $(R state offsets)"
R lag > "$T/lag.out" 2>&1 || fail "lag: $(cat "$T/lag.out")"
grep -q '^group cfg-group$' "$T/lag.out" || fail "lag did not use kafka.group_id: $(head -1 "$T/lag.out")"
grep -q '^cfg.clicks ' "$T/lag.out" || fail "lag: no cfg.clicks row: $(cat "$T/lag.out")"
rc=0; R status > "$T/status.out" 2>&1 || rc=$?
[ $rc -eq 2 ] && grep -q 'at 127.0.0.1:9$' "$T/status.out" || fail "status did not ask metrics.listen (rc $rc): $(cat "$T/status.out")"
pass "state digest/offsets, lag (group cfg-group) and status (127.0.0.1:9) take their defaults from the file"

# 3. explicit options win, before or after -c; a refused file exits 78 with file:line
"$RECCTL_BIN" --topic-clicks nope.clicks -c "$T/recd.conf" tail --kind click --idle-ms 1000 \
    > /dev/null 2> "$T/win1.err" || true
grep -q 'nope.clicks' "$T/win1.err" || fail "--topic-clicks before -c lost: $(cat "$T/win1.err")"
R tail --kind click --topic-clicks nope2.clicks --idle-ms 1000 > /dev/null 2> "$T/win2.err" || true
grep -q 'nope2.clicks' "$T/win2.err" || fail "--topic-clicks after -c lost: $(cat "$T/win2.err")"
[ "$(R state digest --state "$T/nowhere" 2>&1)" != "$(digest "$T/state")" ] || fail "--state lost to -c"
rc=0; "$RECCTL_BIN" -b 127.0.0.1:1 -c "$T/recd.conf" metadata --timeout-ms 1500 >/dev/null 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "-b before -c lost: metadata answered from the configured broker"
printf 'kafka = { brokers = "%s"; }; \ntopics = { clics = "x"; };\n' "$B" > "$T/bad.conf"
rc=0; "$RECCTL_BIN" -c "$T/bad.conf" tail --kind click --idle-ms 500 > /dev/null 2> "$T/bad.err" || rc=$?
[ $rc -eq 78 ] || fail "a refused config exited $rc, expected 78"
grep -q "$T/bad.conf:2: topics.clics: unknown key" "$T/bad.err" || fail "no file:line: $(cat "$T/bad.err")"
rc=0; "$RECCTL_BIN" state digest -c "$T/bad.conf" > /dev/null 2>&1 || rc=$?
[ $rc -eq 78 ] || fail "state digest -c with a refused config exited $rc, expected 78"
pass "options win over the file before or after -c; a refused file: exit 78 with file:line"
echo "recctl_config: all passed"
