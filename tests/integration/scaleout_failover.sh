#!/usr/bin/env bash
# scaleout_failover.sh — a kill -9 of an owner whose survivor had applied less than the owner
# published (kafka.learn_from = all, real broker, two recd processes). The owner commits every
# 5 s (kafka.commit_interval_ms) while it publishes every batch; the kill comes once its output
# shows it 200 clicks past the group's commit (read back from the output topic: b first catches
# up with the whole input, which took up to ~30 s here); the survivor applies only 10 past that
# commit (kafka.follow_ahead). Without reading the output topic the survivor would publish the
# newest lists of the users it applied past the commit from its older state, lower seqs than the
# dead owner's, then publish their next events' seqs once more. Checked:
#   - the survivor logged that the dead owner had published past what it had applied (else the
#     test did not exercise the case, and says so);
#   - no user's seq goes backwards on the recommendations topic;
#   - every user's highest seq equals a one-instance run's (nothing applied twice or lost).
# Then the same for an owner killed before its first regular commit in a new group (below).
source "$(dirname "$0")/lib.sh"
EVENTS=45000; RATE=1000
[ "$RECD_TEST_SCALE" = small ] && EVENTS=30000 && RATE=800
USERS=2000
start_broker 4

for n in a b; do
    write_conf "$T/$n.conf" "$T/$n" 'kafka = { brokers = "'"$B"'"; group_id = "fo"; learn_from = "all";
  follow_interval_ms = 100; commit_interval_ms = 5000; follow_ahead = 10;
  properties = { group_instance_id = "'"$n"'"; session_timeout_ms = "6000"; }; };'
    sed -i '2d' "$T/$n.conf"   # write_conf's own kafka group: keep this one
done
write_conf "$T/ref.conf" "$T/ref" 'topics = { recommendations = "recs.ref"; dlq = "dlq.ref"; };
kafka = { brokers = "'"$B"'"; group_id = "ref"; learn_from = "all"; };'
sed -i '2d' "$T/ref.conf"

"$RECCTL_BIN" gen -b "$B" --users $USERS --items 400 --events $EVENTS --rate $RATE \
    > "$T/gen.log" 2>&1 &
GEN=$!
# a stays up to the end: it exits once the input has been idle for 40 s (after the generator;
# long enough for the wait below and b's session timeout: a takes b's partitions over first)
start_recd "$T/a.conf" "$T/a.log" --exit-idle 40000; A=$RECD_PID
sleep 2
start_recd "$T/b.conf" "$T/b.log"; BP=$RECD_PID
for _ in $(seq 1 600); do   # until b publishes for a partition (< 60 s), then 4 s of its output
    grep -q "publishing for partition" "$T/b.log" && break
    sleep 0.1
done
grep -q "publishing for partition" "$T/b.log" || fail "b never published for a partition in 60 s"
# the case needs b to have published well past the group's last commit of its partition (the
# survivor applies only follow_ahead = 10 past it): read b's output (the recd.source header:
# the input offsets a list was computed from) until it is 200 clicks past that commit
ahead_of_commit() {
    "$RECCTL_BIN" tail -b "$B" --topic shop.recommendations --kind recommendations \
        --from-beginning --idle-ms 200 2>/dev/null | python3 -c "
import json, re, sys
committed = {int(p): int(c) for p, c in re.findall(
    r'assigned partition (\d+): the group committed (-?\d+)/', open('$T/b.log').read())}
best = {}
for line in sys.stdin:
    src = json.loads(line).get('headers', {}).get('recd.source')
    if src:
        p, offs = src.split(':')
        best[int(p)] = max(best.get(int(p), -1), int(offs.split(',')[0]))
print(max((best.get(p, -1) - c for p, c in committed.items()), default=-1))"
}
gap=-1
for _ in $(seq 1 120); do   # < 60 s (b first catches up with the whole input: ~30 s)
    gap="$(ahead_of_commit)"
    [ "${gap:--1}" -ge 200 ] && break
    sleep 0.5
done
[ "${gap:--1}" -ge 200 ] || fail "b never published 200 clicks past the group's commit in 60 s (largest gap: $gap)"
parts="$(grep -o 'publishing for partition [0-9]*' "$T/b.log" | awk '{print $4}' | sort -u | tr '\n' ' ')"
kill -KILL "$BP"; wait "$BP" 2>/dev/null || true
echo "  kill -9 of b (publishing for partitions ${parts}; ${gap} clicks past the commit) at ${SECONDS}s"
wait $GEN || fail "generator failed: $(tail -3 "$T/gen.log")"
wait "$A" || fail "instance a failed: $(tail -3 "$T/a.log")"
run_recd "$T/ref.conf" "$T/ref.log" --exit-idle 5000 || fail "reference run failed"

behind="$(grep -c 'past its last commit and past' "$T/a.log" || true)"
[ "$behind" -ge 1 ] || fail "the survivor never found the killed owner ahead of it (the test did not exercise the case: $(grep 'publishing for partition' "$T/a.log" | tail -2))"
pass "a took over $behind partition(s) from b, which had published past its commit and past a's position"

"$RECCTL_BIN" tail -b "$B" --topic shop.recommendations --kind recommendations --from-beginning \
    --idle-ms 4000 > "$T/recs.fo.json"
"$RECCTL_BIN" tail -b "$B" --topic recs.ref --kind recommendations --from-beginning \
    --idle-ms 4000 > "$T/recs.ref.json"
python3 - "$T" <<'PY'
import json, sys
t = sys.argv[1]
def scan(f):
    top, back, dup, ex = {}, 0, 0, None
    for l in open(f):
        if not l.strip():
            continue
        r = json.loads(l)
        u, v = r["key"], r["value"]
        if v is None:
            top.pop(u, None)
            continue
        s, prev = v["seq"], top.get(u)
        if prev is not None and s < prev:
            back += 1
            ex = ex or (u, prev, s)
        elif prev is not None and s == prev:
            dup += 1
        top[u] = max(s, prev or 0)
    return top, back, dup, ex
fo, back, dup, ex = scan(f"{t}/recs.fo.json")
ref, _, _, _ = scan(f"{t}/recs.ref.json")
assert back == 0, f"{back} records with a seq below an earlier one of the same user, e.g. {ex}"
assert fo.keys() == ref.keys(), f"users differ: {len(fo)} vs {len(ref)}"
diff = [u for u in ref if fo[u] != ref[u]]
assert not diff, f"{len(diff)} users' highest seq differ, e.g. {diff[0]}: {fo[diff[0]]} vs {ref[diff[0]]}"
print(f"ok: {len(ref)} users: no seq went backwards, highest seq per user equal to the "
      f"one-instance run's; {dup} lists published again with the same seq")
PY

# ---- an owner killed before its first commit ----
# A new group (nothing committed) and an owner c that never reaches its first regular commit
# (kafka.commit_interval_ms = 1 h): killed after it published, it leaves only the commit it
# stamps before its first list (stamp_commit). The survivor d applies only 10 records past
# that commit before it owns the partitions. Without the stamp, d found nothing that told it
# to read the output topic and published every user's lists again from the first offset:
# seqs below c's. Checked: d learns how far c published, no seq goes backwards, and every
# user's last list has seq = its clicks.
NC=20000; [ "$RECD_TEST_SCALE" = small ] && NC=8000
nc_topics="--topic-clicks nc.clicks --topic-purchases nc.purchases --topic-queries nc.queries --topic-items nc.items --topic-deletions nc.deletions --topic-recommendations nc.recs --topic-dlq nc.dlq"
# shellcheck disable=SC2086
"$RECCTL_BIN" topics create -b "$B" --partitions 4 $nc_topics > /dev/null || fail "create nc topics"
# shellcheck disable=SC2086
"$RECCTL_BIN" replay "$RECD_DATA/diginetica-srgnn" -b "$B" $nc_topics --phase train --limit $NC \
    > "$T/nc-replay.log" 2>&1 || fail "replay: $(tail -3 "$T/nc-replay.log")"
for n in c d; do
    write_conf "$T/$n.conf" "$T/$n" 'kafka = { brokers = "'"$B"'"; group_id = "nc"; learn_from = "all";
  follow_interval_ms = 100; commit_interval_ms = 3600000; follow_ahead = 10;
  properties = { group_instance_id = "'"$n"'"; session_timeout_ms = "6000"; }; };
topics = { clicks = "nc.clicks"; purchases = "nc.purchases"; queries = "nc.queries"; items = "nc.items";
  deletions = "nc.deletions"; recommendations = "nc.recs"; dlq = "nc.dlq"; };'
    sed -i '2d' "$T/$n.conf"
done
start_recd "$T/c.conf" "$T/c.log"; CP=$RECD_PID
published=0
for _ in $(seq 1 300); do   # until c has published lists for a twentieth of the input (< 60 s)
    published="$("$RECCTL_BIN" tail -b "$B" --topic nc.recs --kind recommendations --from-beginning \
        --idle-ms 200 2>/dev/null | wc -l)"
    [ "$published" -ge $((NC / 20)) ] && break
    sleep 0.2
done
[ "$published" -ge $((NC / 20)) ] || fail "c published $published lists in 60 s"
kill -KILL "$CP"; wait "$CP" 2>/dev/null || true
! grep -q "handover offsets committed\|handing over" "$T/c.log" || fail "c committed a handover before its kill"
echo "  kill -9 of c after $published lists, before its first regular commit"
# d: c's membership lasts its session timeout (6 s), then d owns every partition
run_recd "$T/d.conf" "$T/d.log" --exit-idle 20000 || fail "d failed: $(tail -3 "$T/d.log")"
grep -q "past its last commit and past" "$T/d.log" || fail "d did not learn how far c published: $(grep -E 'publishing for partition|stamp' "$T/d.log" | head -4)"
pass "d read how far c published in $(grep -c 'past its last commit and past' "$T/d.log") partition(s) (c's stamp: $(grep -c 'with a stamp before publishing' "$T/c.log") partition(s))"
"$RECCTL_BIN" tail -b "$B" --topic nc.clicks --kind click --from-beginning --idle-ms 3000 > "$T/nc.clicks.json"
"$RECCTL_BIN" tail -b "$B" --topic nc.recs --kind recommendations --from-beginning --idle-ms 3000 > "$T/nc.recs.json"
python3 - "$T/nc.clicks.json" "$T/nc.recs.json" <<'PY'
import collections, json, sys
n = collections.Counter(json.loads(l)["value"]["user_id"] for l in open(sys.argv[1]) if l.strip())
last, back, ex = {}, 0, None
for l in open(sys.argv[2]):
    if not l.strip():
        continue
    r = json.loads(l)
    if r["value"] is None:
        continue
    u, s = r["key"], r["value"]["seq"]
    if u in last and s < last[u]:
        back += 1
        ex = ex or (u, last[u], s)
    last[u] = max(s, last.get(u, 0))
assert back == 0, f"{back} lists with a seq below an earlier one of the same user, e.g. {ex}"
wrong = [u for u in n if last.get(u) != n[u]]
assert not wrong, f"{len(wrong)} users' highest seq != their clicks, e.g. {wrong[0]}: {last.get(wrong[0])} vs {n[wrong[0]]}"
print(f"ok: {len(n)} users, {sum(n.values())} clicks: no seq went backwards, every user's highest seq = its clicks")
PY
echo "scaleout_failover: all passed"
