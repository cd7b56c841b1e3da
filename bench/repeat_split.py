#!/usr/bin/env python3
"""bench/repeat_split.py SRC OUT_DIR [--max-len N] [--gap G]

A repeat-heavy, long-session variant of a session dataset in the srgnn format (one session
per line, chronological), for the validation of in-session repeat signals (docs/QUALITY.md,
"Long sessions with returns").

Real shoppers come back to a product across visits; the public splits cut their history into
short sessions and carry no user id. This rebuilds long "shopper sessions" from real sessions
alone: in file (time) order, each session is appended to the most recently extended open chain
it shares an item with (an approximation of "the same shopper again"), else it starts a new
chain; a chain is closed once it has >= MAX_LEN clicks. Chains are written in the order of
their first session; items are kept as clicked (no de-duplication). Chains shorter than
MIN_LEN clicks are kept as they are (they are the short sessions of the shop).

SRC is a dataset directory in the srgnn format, or a JSON-lines file from `recctl gen --jsonl`
(the synthetic shop, which has user ids): then each user's sessions are concatenated (views,
in event-time order) and cut at a session boundary once the piece has >= MAX_LEN clicks.

Only train_sessions.txt of SRC_DIR is read (its last 10% is what `--valid` of the offline
evaluator scores, so the validation split is built from train sessions only); OUT_DIR gets
train_sessions.txt (all chains) and a placeholder test_sessions.txt holding the last 10% of
the chains, so that the directory also loads without --valid. Never write OUT_DIR into the
repository: use /tmp. Deterministic; prints statistics of the result.
"""
import argparse
import os
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--max-len", type=int, default=40)
    ap.add_argument("--gap", type=int, default=0,
                    help="drop a click that repeats one of the chain's last GAP clicks")
    args = ap.parse_args()
    if os.path.isfile(args.src):
        return from_users(args)
    sessions = [l.split() for l in open(os.path.join(args.src, "train_sessions.txt"))]
    sessions = [s for s in sessions if s]
    chains = []          # list of item lists
    closed = []          # bool per chain
    last_touch = []      # index of the session that last extended the chain
    owner = {}           # item -> chain ids that contain it (most recent last)
    for si, s in enumerate(sessions):
        best = -1
        for it in set(s):
            for c in owner.get(it, ()):
                if not closed[c] and (best < 0 or last_touch[c] > last_touch[best]):
                    best = c
        if best < 0:
            best = len(chains)
            chains.append([])
            closed.append(False)
            last_touch.append(si)
        c = chains[best]
        for it in s:
            if args.gap and it in c[-args.gap:]:
                continue
            c.append(it)
        last_touch[best] = si
        for it in set(s):
            lst = owner.setdefault(it, [])
            if not lst or lst[-1] != best:
                lst.append(best)
                if len(lst) > 8:
                    del lst[0]
        if len(chains[best]) >= args.max_len:
            closed[best] = True
    # in the order of their last session (a session is dated by its end, as in the srgnn files)
    order = sorted(range(len(chains)), key=lambda c: last_touch[c])
    chains = [chains[c] for c in order if chains[c]]
    write(args, chains, "%d sessions" % len(sessions))


def from_users(args):
    import json
    users = {}   # user -> [[session_id, [items]], ...] in event-time order
    lastts = {}
    for line in open(args.src):
        e = json.loads(line)
        if e.get("_kind") != "click" or e.get("kind") != "VIEW":
            continue
        u = users.setdefault(e["user_id"], [])
        if not u or u[-1][0] != e["session_id"]:
            u.append([e["session_id"], []])
        it = e["item_id"].lstrip("i")
        if args.gap and it in u[-1][1][-args.gap:]:
            continue
        u[-1][1].append(it)
        lastts[(e["user_id"], len(u) - 1)] = e["ts"]
    pieces = []   # (end ts, items)
    for uid, sess in users.items():
        cur, end = [], 0
        for k, (_, items) in enumerate(sess):
            cur.extend(items)
            end = lastts[(uid, k)]
            if len(cur) >= args.max_len:
                pieces.append((end, cur))
                cur = []
        if cur:
            pieces.append((end, cur))
    pieces.sort(key=lambda p: p[0])
    write(args, [p[1] for p in pieces], "%d users" % len(users))


def write(args, chains, what):
    sessions_desc = what
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "train_sessions.txt"), "w") as f:
        for c in chains:
            f.write(" ".join(c) + "\n")
    with open(os.path.join(args.out, "test_sessions.txt"), "w") as f:
        for c in chains[len(chains) - len(chains) // 10:]:
            f.write(" ".join(c) + "\n")
    # statistics of the validation part (the last 10% of the chains)
    val = chains[len(chains) - len(chains) // 10:]
    cases = rep = far = 0
    for c in val:
        seen = {}
        for i, it in enumerate(c):
            if i >= 1:
                cases += 1
                if it in seen:
                    rep += 1
                    if i - seen[it] >= 10:
                        far += 1
            seen[it] = i
    n = sum(len(c) for c in chains)
    print("%s -> %d chains, %.1f clicks/chain; validation: %d chains, %.1f clicks/chain, "
          "%d cases, next click a repeat %.1f%%, a repeat of an item last seen >= 10 clicks earlier %.1f%%"
          % (sessions_desc, len(chains), n / len(chains), len(val),
             sum(len(c) for c in val) / max(1, len(val)), cases, 100.0 * rep / max(1, cases),
             100.0 * far / max(1, cases)), file=sys.stderr)


if __name__ == "__main__":
    main()
