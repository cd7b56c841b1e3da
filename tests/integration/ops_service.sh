#!/usr/bin/env bash
# ops_service.sh — recd as a service: sd_notify (READY=1 after assignment, WATCHDOG=1 from
# the loop, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1), the metrics endpoint during
# a replay (counters move, /healthz, /readyz), the exposition's hygiene (HELP and TYPE for every
# family, process_* series, known label sets at 0 before any record: dead letters by topic and
# reason, the lag of the assigned partition), and SIGHUP reload with a good change, a bad file
# and a forbidden change.
source "$(dirname "$0")/lib.sh"
start_broker 1

python3 "$RECD_SOURCE_DIR/tests/integration/notify.py" "$T/notify.sock" "$T/notify.txt" &
RECD_PIDS+=($!)
for _ in $(seq 1 50); do [ -S "$T/notify.sock" ] && break; sleep 0.1; done

STATS_MS=500 BATCH=100 WAIT_MS=100 write_conf "$T/recd.conf" "$T/state" 'metrics = { enabled = true; listen = "127.0.0.1:0"; };'
sed -i '/^metrics = { enabled = false; };$/d' "$T/recd.conf"
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=1000000 start_recd "$T/recd.conf" "$T/recd.log"

port=""
for _ in $(seq 1 100); do
    port="$(grep -o 'metrics on http://127.0.0.1:[0-9]*' "$T/recd.log" | grep -o '[0-9]*$' || true)"
    [ -n "$port" ] && break; sleep 0.1
done
[ -n "$port" ] || fail "no metrics port in the log"
M="http://127.0.0.1:$port"
for _ in $(seq 1 150); do grep -q '^READY=1' "$T/notify.txt" 2>/dev/null && break; sleep 0.2; done
grep -q '^READY=1' "$T/notify.txt" || fail "no READY=1"
pass "READY=1 after assignment"

metric() { curl -sf "$M/metrics" | awk -v k="$1" '$1 == k {print $2}'; }
# exposition hygiene: every family has HELP and TYPE (none untyped), every sample belongs to a
# family with a TYPE line (histograms: _bucket/_sum/_count), TYPE and HELP once per family
check_exposition() {
    python3 - "$1" <<'PY' || fail "exposition of $1 (above)"
import re, sys
help, typ, bad = {}, {}, []
for n, l in enumerate(open(sys.argv[1]), 1):
    l = l.rstrip("\n")
    m = re.match(r"# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$", l)
    if m:
        d = help if m.group(1) == "HELP" else typ
        if m.group(2) in d:
            bad.append(f"line {n}: second {m.group(1)} for {m.group(2)}")
        d[m.group(2)] = m.group(3)
        continue
    if not l or l.startswith("#"):
        continue
    m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$", l)
    if not m:
        bad.append(f"line {n}: not a sample: {l}")
        continue
    name = m.group(1)
    fam = name
    for suf in ("_bucket", "_sum", "_count"):
        if name.endswith(suf) and typ.get(name[: -len(suf)]) == "histogram":
            fam = name[: -len(suf)]
    if fam not in typ:
        bad.append(f"line {n}: {name} has no TYPE line")
    float(m.group(3).replace("Inf", "inf"))
for f, t in typ.items():
    if t not in ("counter", "gauge", "histogram"):
        bad.append(f"{f}: TYPE {t}")
    if not help.get(f) or help[f] == "undeclared":
        bad.append(f"{f}: TYPE without HELP text")
for f in help:
    if f not in typ:
        bad.append(f"{f}: HELP without TYPE")
if bad:
    print("\n".join(bad[:20]), file=sys.stderr)
    sys.exit(1)
print(f"    {len(typ)} families, each with HELP and TYPE")
PY
}
# before any record: the known label sets are there at 0
curl -sf "$M/metrics" > "$T/metrics0.txt"
check_exposition "$T/metrics0.txt"
for series in 'recd_records_dead_lettered_total{topic="shop.clicks",reason="avro"} 0' \
              'recd_records_dead_lettered_total{topic="shop.purchases",reason="bad_price"} 0' \
              'recd_records_consumed_total{topic="shop.clicks"} 0' 'recd_batches_total 0' \
              'recd_users_forgotten_total 0' 'recd_users_expired_total 0' 'recd_ready 1' \
              'recd_config_reloads_total{result="failure"} 0' 'recd_batch_duration_seconds_count 0' \
              'recd_consumer_lag{topic="shop.clicks",partition="0"} ' \
              'process_resident_memory_bytes ' 'process_virtual_memory_bytes ' 'process_cpu_seconds_total ' \
              'process_open_fds ' 'process_max_fds ' 'process_start_time_seconds ' 'recd_state_disk_bytes '; do
    grep -qF -- "$series" "$T/metrics0.txt" || fail "metric $series missing before the first record"
done
pass "before any record: HELP/TYPE for every family, dead letters by topic and reason at 0, lag of the assigned partition, process_* series"

"$RECCTL_BIN" replay "$RECD_DATA/diginetica-srgnn" -b "$B" --limit 3000 --poison 10 --seed 3 \
    > "$T/replay.log" 2>&1 || fail "replay failed"
c1="$(metric 'recd_records_consumed_total{topic="shop.clicks"}')"
for _ in $(seq 1 100); do
    [ "$(curl -sf "$M/metrics" | awk '$1 ~ /^recd_records_dead_lettered_total/ {s += $2} END {print s + 0}')" -gt 0 ] && break
    sleep 0.2
done
sleep 1   # one more statistics interval (STATS_MS): the lag of the consumed partition
c2="$(metric 'recd_records_consumed_total{topic="shop.clicks"}')"
curl -sf "$M/metrics" > "$T/metrics.txt"
check_exposition "$T/metrics.txt"
python3 - "$T/metrics.txt" <<'PY' || fail "process_* series"
import sys, time
v = {l.split()[0]: float(l.split()[1]) for l in open(sys.argv[1]) if l.startswith("process_")}
need = ["process_resident_memory_bytes", "process_virtual_memory_bytes", "process_cpu_seconds_total",
        "process_open_fds", "process_max_fds", "process_start_time_seconds"]
bad = [n for n in need if v.get(n, 0) <= 0]
assert not bad, f"missing or not > 0: {bad} ({v})"
assert v["process_virtual_memory_bytes"] >= v["process_resident_memory_bytes"], v
assert v["process_open_fds"] <= v["process_max_fds"], v
assert time.time() - 600 < v["process_start_time_seconds"] <= time.time() + 5, v
print(f"    RSS {v['process_resident_memory_bytes'] / 2**20:.0f} MiB, CPU {v['process_cpu_seconds_total']:.2f} s, "
      f"{v['process_open_fds']:.0f} of {v['process_max_fds']:.0f} fds")
PY
dead="$(awk '$1 ~ /^recd_records_dead_lettered_total/ {s += $2} END {print s + 0}' "$T/metrics.txt")"
[ "$dead" -gt 0 ] || fail "no dead letters counted after the poison records"
disk="$(awk '$1 == "recd_state_disk_bytes" {print $2}' "$T/metrics.txt")"
[ "${disk%.*}" -gt 0 ] || fail "recd_state_disk_bytes: $disk"
pass "after the replay: process_* > 0, $dead dead letters counted, state on disk ${disk%.*} bytes"
# with promtool (Debian: prometheus): its lint of the exposition (recd_online_reciprocal_rank_sum
# keeps its established name), the shipped alerting rules, and those rules firing as intended
# (both installed by scripts/install-deps.sh --test: prometheus, python3-yaml for Debian's python)
command -v promtool >/dev/null 2>&1 && /usr/bin/python3 -c 'import yaml' 2>/dev/null ||
    fail "promtool or python3-yaml missing (scripts/install-deps.sh --test installs them)"
{
    promtool check metrics < "$T/metrics.txt" > "$T/promlint.txt" 2>&1 || true
    grep -v '^recd_online_reciprocal_rank_sum ' "$T/promlint.txt" | grep . && fail "promtool check metrics (above)"
    rules="$RECD_SOURCE_DIR/packaging/prometheus/recd-alerts.yml"
    promtool check rules "$rules" > "$T/promrules.txt" 2>&1 || fail "promtool check rules: $(cat "$T/promrules.txt")"
    # unit tests of the rules (annotations stripped: the tests look at when and with which labels)
    /usr/bin/python3 - "$rules" "$T/rules.yml" <<'PY'
import sys, yaml
r = yaml.safe_load(open(sys.argv[1]))
for g in r["groups"]:
    for rule in g["rules"]:
        rule.pop("annotations", None)
yaml.safe_dump(r, open(sys.argv[2], "w"))
PY
    cat > "$T/rules_test.yml" <<'YML'
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="recd",instance="h:9464"}'
        values: '1 1 0 0 0 0 0'
      - series: 'recd_ready{job="recd",instance="h:9464"}'
        values: '1 1 0 0 0 0 0'
      - series: 'recd_records_dead_lettered_total{job="recd",instance="h:9464",topic="shop.clicks",reason="avro"}'
        values: '0 0 0 1 1 1 1'
      - series: 'recd_records_dead_lettered_total{job="recd",instance="h:9464",topic="shop.clicks",reason="bad_id"}'
        values: '0 0 0 0 0 0 0'
      - series: 'recd_consumer_lag{job="recd",instance="h:9464",topic="shop.clicks",partition="0"}'
        values: '0+50000x40'
      - series: 'recd_batches_total{job="recd",instance="h:9464"}'
        values: '0+10x40'
      - series: 'process_start_time_seconds{job="recd",instance="h:9464"}'
        values: '100 100 200 200 300 300 300'
    alert_rule_test:
      - {eval_time: 1m, alertname: RecdNotReady, exp_alerts: []}
      - eval_time: 5m
        alertname: RecdNotReady
        exp_alerts: [{exp_labels: {severity: critical, job: recd, instance: "h:9464"}}]
      - eval_time: 5m
        alertname: RecdDown
        exp_alerts: [{exp_labels: {severity: critical, job: recd, instance: "h:9464"}}]
      - eval_time: 5m
        alertname: RecdRestarting
        exp_alerts: [{exp_labels: {severity: warning, job: recd, instance: "h:9464"}}]
      - {eval_time: 2m, alertname: RecdDeadLetters, exp_alerts: []}
      - eval_time: 4m
        alertname: RecdDeadLetters
        exp_alerts: [{exp_labels: {severity: warning, job: recd, instance: "h:9464", topic: shop.clicks, reason: avro}}]
      - eval_time: 30m
        alertname: RecdConsumerLagHigh
        exp_alerts: [{exp_labels: {severity: warning, job: recd, instance: "h:9464"}}]
      - eval_time: 35m
        alertname: RecdConsumerLagRising
        exp_alerts: [{exp_labels: {severity: warning, job: recd, instance: "h:9464"}}]
      - {eval_time: 35m, alertname: RecdNoProgress, exp_alerts: []}
  - interval: 1m
    input_series:
      - series: 'recd_ready{job="recd",instance="h:9464"}'
        values: '1x30'
      - series: 'recd_consumer_lag{job="recd",instance="h:9464",topic="shop.clicks",partition="0"}'
        values: '500x30'
      - series: 'recd_batches_total{job="recd",instance="h:9464"}'
        values: '7x30'
    alert_rule_test:
      - eval_time: 20m
        alertname: RecdNoProgress
        exp_alerts: [{exp_labels: {severity: critical, job: recd, instance: "h:9464"}}]
      - {eval_time: 20m, alertname: RecdConsumerLagRising, exp_alerts: []}
YML
    (cd "$T" && promtool test rules rules_test.yml) > "$T/promtest.txt" 2>&1 || fail "promtool test rules: $(cat "$T/promtest.txt")"
    pass "promtool: exposition lint clean, recd-alerts.yml valid, its alerts fire as intended"
}
[ -n "$c2" ] && [ "${c2%.*}" -gt 0 ] || fail "consumed counter did not move ($c1 -> $c2)"
for series in 'recd_records_decoded_total{topic="shop.clicks"}' 'recd_batches_total' \
              'recd_batch_duration_seconds_count' 'recd_build_info{' 'recd_records_dead_lettered_total{' \
              'recd_operator_duration_seconds_bucket{operator="rerank"' 'recd_operator_duration_seconds_bucket{operator="sessionize"' 'recd_state_size_bytes' \
              'recd_event_publish_latency_seconds_count' 'recd_consumer_lag{' 'recd_online_hit_ratio{' \
              'recd_users_forgotten_total 0' 'recd_state_point_reads_total{cf="users"}'; do
    grep -qF "$series" "$T/metrics.txt" || fail "metric $series missing"
done
grep -qE '[{,][a-z_]*user[a-z_]*="' "$T/metrics.txt" && fail "a metric carries a per-user label"
# the loop thread's CPU time per stage and operator: moving, and never above the wall time;
# the state's point lookups counted
python3 - "$T/metrics.txt" <<'PY' || fail "CPU-time series: see above"
import sys
m = {}
for l in open(sys.argv[1]):
    if l[0] != "#" and " " in l:
        k, v = l.rsplit(" ", 1)
        m[k] = float(v)
bad = []
for kind, lab in (("stage", "operators"), ("stage", "decode"), ("stage", "commit"), ("operator", "rerank"), ("operator", "sessionize")):
    cpu = m.get(f'recd_{kind}_cpu_seconds_total{{{kind}="{lab}"}}')
    wall = m.get(f'recd_stage_duration_seconds_total{{stage="{lab}"}}' if kind == "stage" else
                 f'recd_operator_duration_seconds_sum{{operator="{lab}"}}')
    if cpu is None or wall is None or not (0 < cpu <= wall * 1.02 + 0.002):
        bad.append(f"{kind} {lab}: cpu {cpu} wall {wall}")
if not m.get("recd_lists_published_total", 0) > 0:
    bad.append("recd_lists_published_total did not move")
if not m.get('recd_state_point_reads_total{cf="users"}', 0) > 0:
    bad.append("recd_state_point_reads_total{cf=\"users\"} did not move")
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
PY
pass "metrics move ($c1 -> $c2 clicks consumed) and carry the expected series"
curl -sf "$M/healthz" | grep -q '^ok' || fail "/healthz"
curl -sf "$M/readyz" | grep -q '^ready' || fail "/readyz: $(curl -s "$M/readyz")"
pass "/healthz and /readyz answer 200"
"$RECCTL_BIN" status --metrics "127.0.0.1:$port" > "$T/status.txt" || fail "recctl status: $(cat "$T/status.txt")"
grep -q '^readiness: ready' "$T/status.txt" && grep -q '^total lag: ' "$T/status.txt" || fail "recctl status output: $(cat "$T/status.txt")"
pass "recctl status: $(tail -1 "$T/status.txt")"
for _ in $(seq 1 30); do grep -q '^WATCHDOG=1' "$T/notify.txt" && break; sleep 0.2; done
grep -q '^WATCHDOG=1' "$T/notify.txt" || fail "no WATCHDOG=1"
pass "WATCHDOG=1 from the processing loop"

reload() {   # wait until the log has one more "reload" line than before
    local before; before=$(grep -c 'reload' "$T/recd.log" || true)
    kill -HUP "$RECD_PID"
    for _ in $(seq 1 50); do
        [ "$(grep -c 'reload' "$T/recd.log" || true)" -gt "$before" ] && return 0; sleep 0.1
    done
    fail "no reload outcome logged"
}
# good: a reloadable knob
sed -i 's/max_records = 100;/max_records = 300;/' "$T/recd.conf"
reload
grep -q 'configuration reloaded from .*; changed: batch.max_records 100 -> 300$' "$T/recd.log" ||
    fail "good reload not applied, or its line does not name the change: $(grep reloaded "$T/recd.log")"
# ... and in effect: a backlog is now consumed in batches of up to 300 records, not 100
b1="$(metric recd_batches_total)"; r1="$(metric 'recd_records_consumed_total{topic="shop.clicks"}')"
"$RECCTL_BIN" replay "$RECD_DATA/diginetica-srgnn" -b "$B" --phase train --limit 3000 \
    > "$T/replay2.log" 2>&1 || fail "second replay failed"
for _ in $(seq 1 100); do
    r2="$(metric 'recd_records_consumed_total{topic="shop.clicks"}')"
    [ "${r2%.*}" -ge $(( ${r1%.*} + 3000 )) ] && break; sleep 0.1
done
b2="$(metric recd_batches_total)"
db=$(( ${b2%.*} - ${b1%.*} )); dr=$(( ${r2%.*} - ${r1%.*} ))
[ "$dr" -ge 3000 ] || fail "the second replay was not consumed ($dr of 3000 records)"
[ $((dr / db)) -gt 100 ] || fail "reloaded batch.max_records not in effect: $dr records in $db batches"
pass "good reload applied and in effect: $dr records in $db batches (max_records 100 -> 300)"
# bad: a syntax error keeps the old config
cp "$T/recd.conf" "$T/good.conf"
echo 'batch = { max_records = ; };' >> "$T/recd.conf"
reload
grep -q 'reload rejected, keeping the running configuration:.*recd.conf:' "$T/recd.log" || fail "bad reload: $(tail -3 "$T/recd.log")"
pass "bad file rejected: $(grep 'reload rejected' "$T/recd.log" | tail -1)"
# forbidden: a non-reloadable key
cp "$T/good.conf" "$T/recd.conf"
echo 'topics = { clicks = "other.clicks"; };' >> "$T/recd.conf"
reload
grep -q 'reload rejected.*topics.clicks: cannot be changed by reload (restart required)' "$T/recd.log" \
    || fail "forbidden change: $(tail -3 "$T/recd.log")"
pass "non-reloadable change refused, naming the key"
for _ in $(seq 1 20); do
    curl -sf "$M/metrics" > "$T/m2.txt"
    grep -q 'recd_config_reloads_total{result="failure"} 2' "$T/m2.txt" && break; sleep 0.1
done
grep -q 'recd_config_reloads_total{result="failure"} 2' "$T/m2.txt" || fail "reload failure counter"
grep -q 'recd_config_reloads_total{result="success"} 1' "$T/m2.txt" || fail "reload success counter"
grep -q 'RELOADING=1' "$T/notify.txt" || fail "no RELOADING=1"
awk '/RELOADING=1/{r=1; next} r && /^READY=1/{ok=1} END{exit !ok}' "$T/notify.txt" || fail "no READY=1 after RELOADING=1"
pass "RELOADING=1 then READY=1 around SIGHUP"

kill -TERM "$RECD_PID"; wait "$RECD_PID" || fail "recd did not exit 0 on SIGTERM"
grep -q '^STOPPING=1' "$T/notify.txt" || fail "no STOPPING=1"
pass "SIGTERM: STOPPING=1, exit 0"
echo "ops_service: all passed"
