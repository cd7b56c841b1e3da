#!/usr/bin/env bash
# e2e_replay.sh — real broker + recd: replay 5,000 Diginetica clicks with 100 garbage records
# interleaved; every user gets Recommendations that decode against the schema, every garbage
# record lands in the DLQ with its headers, every good record is processed.
source "$(dirname "$0")/lib.sh"
N=5000; P=100
start_broker 1
"$RECCTL_BIN" replay "$RECD_DATA/diginetica-srgnn" -b "$B" --limit $N --poison $P --seed 7 \
    --poison-log "$T/poison.txt" > "$T/replay.log" 2>&1 || fail "replay failed: $(cat "$T/replay.log")"
pass "replay: $(tail -1 "$T/replay.log")"

write_conf "$T/recd.conf" "$T/state"
run_recd "$T/recd.conf" "$T/recd.log" --exit-idle 4000 || fail "recd exited non-zero"
summary="$(grep 'stopping:' "$T/recd.log")"
pass "recd: $summary"

tail_json click "$T/clicks.json"
tail_json recommendations "$T/recs.json"
tail_json dlq "$T/dlq.json"

python3 - "$T" $N $P "$summary" <<'PY'
import json, re, sys
t, n, p, summary = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
# the output contract: every reason recd emits is one the schema documents
import os
_doc = next(f["type"]["items"]["fields"] for f in json.load(open(os.path.join(os.environ["RECD_SOURCE_DIR"], "schemas/recommendations.avsc")))["fields"] if f["name"] == "items")
reasons = set(re.search(r"one of: ([a-z_, ]+)\.", next(x["doc"] for x in _doc if x["name"] == "reason")).group(1).split(", "))
def lines(f):
    with open(f) as fh:
        return [json.loads(l) for l in fh if l.strip()]
clicks = lines(f"{t}/clicks.json"); recs = lines(f"{t}/recs.json"); dlq = lines(f"{t}/dlq.json")
dead_at = {(d["headers"]["source.topic"], int(d["headers"]["source.partition"]),
            int(d["headers"]["source.offset"])) for d in dlq}
good = [c for c in clicks if "error" not in c and c.get("value")
        and (c["topic"], c["partition"], c["offset"]) not in dead_at]
users = {c["value"]["user_id"] for c in good if c["value"].get("user_id")}
bad_click_topic = len(clicks) - len(good)
m = re.search(r"(\d+) records, (\d+) events, (\d+) dead-lettered", summary)
records, events, dead = map(int, m.groups())
errs = [r for r in recs if "error" in r]
assert not errs, f"{len(errs)} recommendation records do not decode: {errs[:2]}"
rec_users = {r["key"] for r in recs if r.get("value")}
missing = users - rec_users
assert len(good) == n and events == n, f"good clicks {len(good)}, events {events}, want exactly {n}"
assert not missing, f"{len(missing)} users without recommendations, e.g. {sorted(missing)[:3]}"
for r in recs:
    v = r["value"]
    assert v["user_id"] == r["key"] and v["seq"] >= 1 and 0 < len(v["items"]) <= 20, v
    for it in v["items"]:
        assert it["reason"] in reasons and it["item_id"], (it, reasons)
assert len(dlq) == p == dead, f"DLQ has {len(dlq)} records, recd dead-lettered {dead}, injected {p}"
for d in dlq:
    h = d["headers"]
    for k in ("source.topic", "source.partition", "source.offset", "error.class", "error.message"):
        assert k in h and h[k] != "", (k, d)
assert records == events + dead, (records, events, dead)
classes = sorted({d["headers"]["error.class"] for d in dlq})
print(f"ok: {events} events processed, {len(users)} users, {len(recs)} recommendation records "
      f"(all decode), {len(dlq)} DLQ records with headers; DLQ classes: {', '.join(classes)}")
PY
echo "e2e_replay: all passed"
