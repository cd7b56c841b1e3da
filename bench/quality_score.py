#!/usr/bin/env python3
"""quality_score.py META RECS K — leak-free scoring of the test cases of a replay.

META: recctl replay --meta-log lines (event_id, user_id, item_id, phase, session, position,
test_case). RECS: `recctl tail --kind recs` JSON lines. A test case (test_case = 1) at
position j of its session is scored against the list published for its user with seq = j:
the list computed from exactly the user's first j events, i.e. before this click (recd runs
the test phase with batch.max_records = 1, so such a list exists for every click).
Prints JSON {"hr_at_K":..,"mrr_at_K":..,"cases":..,"missing_lists":..,"leak_checked":..}
(percent).

Leak check: the scored list must have been triggered by the click just before the test case
(its trigger_event_id is the event at position j - 1 of the session); a list with another or no
trigger means the seq/position alignment this scoring rests on does not hold, and the script
exits 1 instead of printing figures."""
import json, sys

meta_path, recs_path, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
lists = {}
with open(recs_path) as f:
    for line in f:
        r = json.loads(line)
        v = r.get("value")
        if not v:
            continue
        lists[(r["key"], v["seq"])] = ([it["item_id"] for it in v["items"][:k]],
                                       v.get("trigger_event_id"))
rows = []
event_at = {}   # (user, position) -> event id
with open(meta_path) as f:
    for line in f:
        ev, user, item, phase, sess, pos, test = line.rstrip("\n").split("\t")
        event_at[(user, int(pos))] = ev
        rows.append((user, item, int(pos), test))
cases = hits = missing = 0
rr = 0.0
bad = []
for user, item, pos, test in rows:
    if test != "1":
        continue
    cases += 1
    got = lists.get((user, pos))
    if got is None:
        missing += 1
        continue
    lst, trigger = got
    want = event_at.get((user, pos - 1))
    if want is None or trigger != want:
        bad.append((user, pos, trigger, want))
        continue
    if item in lst:
        hits += 1
        rr += 1.0 / (lst.index(item) + 1)
if bad:
    print(f"quality_score: {len(bad)} of {cases} scored lists were not triggered by the click "
          f"before their test case, e.g. user {bad[0][0]} position {bad[0][1]}: trigger "
          f"{bad[0][2]!r}, expected {bad[0][3]!r}", file=sys.stderr)
    sys.exit(1)
print(json.dumps({f"hr_at_{k}": round(100.0 * hits / max(cases, 1), 2),
                  f"mrr_at_{k}": round(100.0 * rr / max(cases, 1), 2),
                  "cases": cases, "missing_lists": missing, "leak_checked": cases - missing}))
