#!/usr/bin/env bash
# bench/quality [DATASET_DIR ...] — leak-free online quality of recd on real session data,
# through a real Kafka broker (scripts/kafka.sh) and the real daemon.
#
# Per dataset (default: ../shared/data/diginetica-srgnn and ../shared/data/retailrocket-sbr):
#   1. replay the training sessions into topic train.clicks and the test sessions into
#      test.clicks (recctl replay; --meta-log marks the test cases);
#   2. per variant (recd's default configuration, and each signal ablated): recd learns online
#      from train.clicks (batches of 500), then consumes test.clicks with batch.max_records = 1,
#      so it publishes a list after every click and keeps learning throughout;
#   3. every test case (the next click of a test session) is scored against the list recd
#      published for that user from exactly the clicks before it (quality_score.py);
#   4. baselines POP, S-POP and session Item-KNN on the same stream come from the offline
#      evaluator (bench/offline, same protocol, no Kafka) when it is built.
# Writes bench/results/quality.json ({"<dataset>": {"<method>": {"hr_at_20", "mrr_at_20"}}})
# and prints a table. RECD_QUALITY_VARIANTS="recd no_knn ..." limits the variants.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${RECD_BUILD_DIR:-$root/build}"
if [ ! -x "$build/daemon/recd" ] || [ ! -x "$build/tools/recctl" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$build" -j"$(nproc)" >/dev/null
fi
RECD="$build/daemon/recd"; RECCTL="$build/tools/recctl"
K=20
datasets=("$@")
[ ${#datasets[@]} -gt 0 ] || datasets=("$root/../shared/data/diginetica-srgnn" "$root/../shared/data/retailrocket-sbr")
variants=(${RECD_QUALITY_VARIANTS:-recd no_knn no_next no_covis no_in_session fixed_blend})
declare -A tuning=(
    [recd]="" [no_knn]="signals=29" [no_next]="signals=27" [no_covis]="signals=23"
    [no_in_session]="signals=15" [fixed_blend]="" )
T="$(mktemp -d /tmp/recd-quality.XXXXXX)"
cleanup() { "$root/scripts/kafka.sh" stop "$T/kafka" >/dev/null 2>&1 || true; rm -rf "$T"; }
trap cleanup EXIT
mkdir -p "$root/bench/results"
out="$root/bench/results/quality.json"
echo "{}" > "$T/results.json"

"$root/scripts/kafka.sh" start "$T/kafka" > "$T/bootstrap.txt"
B="$(sed 's/BOOTSTRAP=//' "$T/bootstrap.txt")"

for ds in "${datasets[@]}"; do
    name="$(basename "$ds")"
    echo "== $name"
    "$RECCTL" -b "$B" --topic-clicks "$name.train" topics create --partitions 1 >/dev/null
    "$RECCTL" -b "$B" --topic-clicks "$name.test" topics create --partitions 1 >/dev/null
    "$RECCTL" -b "$B" --topic-clicks "$name.train" replay "$ds" --phase train --meta-log "$T/$name.train.meta" | tail -1
    "$RECCTL" -b "$B" --topic-clicks "$name.test" replay "$ds" --phase test --meta-log "$T/$name.meta" | tail -1
    for v in "${variants[@]}"; do
        sd="$T/$name.$v.state"
        learn=true; [ "$v" = fixed_blend ] && learn=false
        common="kafka = { brokers = \"$B\"; group_id = \"q-$name-$v\"; properties = { linger_ms = \"0\"; }; };
state = { dir = \"$sd\"; };
metrics = { enabled = false; };
daemon = { log_level = \"notice\"; };
pipeline = { chain = [\"sessionize\", \"sgd\", \"rerank\"]; };
operators = { sgd = { learn_blend = $learn; tuning = \"${tuning[$v]}\"; }; rerank = { n = $K; }; };"
        printf '%s\ntopics = { clicks = "%s.train"; recommendations = "%s.%s.trainrecs"; };\nbatch = { max_records = 500; max_wait_ms = 200; };\n' \
            "$common" "$name" "$name" "$v" > "$T/train.conf"
        printf '%s\ntopics = { clicks = "%s.test"; recommendations = "%s.%s.recs"; };\nbatch = { max_records = 1; max_wait_ms = 200; };\n' \
            "$common" "$name" "$name" "$v" > "$T/test.conf"
        t0=$SECONDS
        "$RECD" -c "$T/train.conf" --exit-idle 5000 2>>"$T/$name.$v.log"
        t1=$SECONDS
        "$RECD" -c "$T/test.conf" --exit-idle 5000 2>>"$T/$name.$v.log"
        t2=$SECONDS
        "$RECCTL" -b "$B" --topic-recommendations "$name.$v.recs" tail --kind recs --from-beginning \
            --idle-ms 5000 > "$T/$name.$v.recs.json"
        score="$(python3 "$root/bench/quality_score.py" "$T/$name.meta" "$T/$name.$v.recs.json" $K)"
        echo "   $v: $score (train $((t1 - t0)) s, test $((t2 - t1)) s)"
        python3 - "$T/results.json" "$name" "$v" "$score" $((t1 - t0)) $((t2 - t1)) <<'PY'
import json, sys
f, ds, v, score, ttrain, ttest = sys.argv[1:]
r = json.load(open(f)); s = json.loads(score)
method = "recd" if v == "recd" else f"recd_{v}"
s["train_seconds"] = int(ttrain); s["test_seconds"] = int(ttest)
r.setdefault(ds, {})[method] = s
json.dump(r, open(f, "w"), indent=1, sort_keys=True)
PY
    done
    ev="$build/bench/offline/sessrec_offline_eval"
    if [ -x "$ev" ]; then
        "$ev" "$ds" --json > "$T/$name.offline.json" 2>/dev/null && python3 - "$T/results.json" "$name" "$T/$name.offline.json" <<'PY' || true
import json, sys
f, ds, off = sys.argv[1:]
r = json.load(open(f)); o = json.load(open(off))
for m, s in o.items():
    r.setdefault(ds, {})[f"offline_{m}"] = s
json.dump(r, open(f, "w"), indent=1, sort_keys=True)
PY
    fi
done
cp "$T/results.json" "$out"
echo
python3 - "$out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{'dataset':22} {'method':28} {'HR@20':>7} {'MRR@20':>7}")
for ds, methods in r.items():
    for m, s in sorted(methods.items()):
        print(f"{ds:22} {m:28} {s.get('hr_at_20', float('nan')):7.2f} {s.get('mrr_at_20', float('nan')):7.2f}")
PY
echo "wrote $out"
