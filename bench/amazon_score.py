#!/usr/bin/env python3
"""amazon_score.py TRAIN_META TEST_META RECS K [RARE_MAX [CASES_OUT]] — HR@K and NDCG@K of the held-out
next item of every user, overall and by how often the target occurred in the training clicks.

TRAIN_META / TEST_META: `recctl replay --meta-log` lines (event_id, user_id, item_id, phase,
session_index, position, test_case) of the train and test phases of one split. RECS: `recctl
tail --kind recs` JSON lines of everything recd published for the split (train and test runs).
A test case (test_case = 1) at position j is scored against the list published for its user
with seq = j: the list computed from exactly the user's first j events, i.e. the last list the
user got before the test click (amazon-recbole: the one published at the end of the train
batch holding the user's last train click). If several lists carry that seq, the last one
counts. HR@K = target in the top K; NDCG@K = 1 / log2(rank + 1) (rank 1 = top; one relevant
item, so IDCG = 1). Both in percent.

Buckets by the target's count in the training clicks of the split (all users' train-phase
clicks): cold = 0, rare = 1..RARE_MAX (default 4), frequent = more.

Diagnostics: text_slots = share of list slots (over the scored lists) whose reason is
similar_text or query_match; cold_slots / rare_slots = share of slots holding cold / rare
items (can the method recommend them at all?).
CASES_OUT (optional): one line per test case "user<TAB>bucket<TAB>rank" (rank 0 = not in the
top K), for paired comparisons between methods.
Prints one JSON object."""
import json
import math
import sys
from collections import Counter

train_meta, test_meta, recs_path, k = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rare_max = int(sys.argv[5]) if len(sys.argv) > 5 else 4
cases_out = open(sys.argv[6], "w") if len(sys.argv) > 6 else None

train_count = Counter()
with open(train_meta) as f:
    for line in f:
        ev, user, item, phase, sess, pos, test = line.rstrip("\n").split("\t")
        if phase == "train":
            train_count[item] += 1

lists = {}
with open(recs_path) as f:
    for line in f:
        r = json.loads(line)
        v = r.get("value")
        if not v:
            continue
        lists[(r["key"], v["seq"])] = [(it["item_id"], it["reason"]) for it in v["items"][:k]]


def bucket(n):
    return "cold" if n == 0 else "rare" if n <= rare_max else "frequent"


acc = {b: {"cases": 0, "hits": 0, "dcg": 0.0} for b in ("all", "cold", "rare", "frequent")}
missing = slots = text_slots = cold_slots = rare_slots = 0
with open(test_meta) as f:
    for line in f:
        ev, user, item, phase, sess, pos, test = line.rstrip("\n").split("\t")
        if test != "1":
            continue
        b = bucket(train_count[item])
        for name in ("all", b):
            acc[name]["cases"] += 1
        lst = lists.get((user, int(pos)))
        if lst is None:
            missing += 1
            if cases_out:
                cases_out.write(f"{user}\t{b}\t0\n")
            continue
        for it, reason in lst:
            slots += 1
            text_slots += reason in ("similar_text", "query_match")
            n = train_count[it]
            cold_slots += n == 0
            rare_slots += 0 < n <= rare_max
        ids = [it for it, _ in lst]
        rank = ids.index(item) + 1 if item in ids else 0
        if cases_out:
            cases_out.write(f"{user}\t{b}\t{rank}\n")
        if rank:
            for name in ("all", b):
                acc[name]["hits"] += 1
                acc[name]["dcg"] += 1.0 / math.log2(rank + 1)


def metrics(a):
    c = a["cases"]
    return {f"hr_at_{k}": round(100.0 * a["hits"] / c, 2) if c else None,
            f"ndcg_at_{k}": round(100.0 * a["dcg"] / c, 2) if c else None,
            "cases": c}


out = metrics(acc["all"])
for b in ("cold", "rare", "frequent"):
    out[b] = metrics(acc[b])
out["missing_lists"] = missing
out["rare_max"] = rare_max
out["text_slots"] = round(100.0 * text_slots / max(slots, 1), 2)
out["cold_slots"] = round(100.0 * cold_slots / max(slots, 1), 2)
out["rare_slots"] = round(100.0 * rare_slots / max(slots, 1), 2)
print(json.dumps(out))
if cases_out:
    cases_out.close()
