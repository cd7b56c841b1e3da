#!/usr/bin/env python3
"""quality_score.py META RECS K — leak-free scoring of the test cases of a replay.

META: recctl replay --meta-log lines (event_id, user_id, item_id, phase, session, position,
test_case). RECS: `recctl tail --kind recs` JSON lines. A test case (test_case = 1) at
position j of its session is scored against the list published for its user with seq = j:
the list computed from exactly the user's first j events, i.e. before this click (recd runs
the test phase with batch.max_records = 1, so such a list exists for every click).
Prints JSON {"hr_at_K":..,"mrr_at_K":..,"cases":..,"missing_lists":..} (percent)."""
import json, sys

meta_path, recs_path, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
lists = {}
with open(recs_path) as f:
    for line in f:
        r = json.loads(line)
        v = r.get("value")
        if not v:
            continue
        lists[(r["key"], v["seq"])] = [it["item_id"] for it in v["items"][:k]]
cases = hits = missing = 0
rr = 0.0
with open(meta_path) as f:
    for line in f:
        ev, user, item, phase, sess, pos, test = line.rstrip("\n").split("\t")
        if test != "1":
            continue
        cases += 1
        lst = lists.get((user, int(pos)))
        if lst is None:
            missing += 1
            continue
        if item in lst:
            hits += 1
            rr += 1.0 / (lst.index(item) + 1)
print(json.dumps({f"hr_at_{k}": round(100.0 * hits / max(cases, 1), 2),
                  f"mrr_at_{k}": round(100.0 * rr / max(cases, 1), 2),
                  "cases": cases, "missing_lists": missing}))
