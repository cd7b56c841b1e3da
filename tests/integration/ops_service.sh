#!/usr/bin/env bash
# ops_service.sh — recd as a service: sd_notify (READY=1 after assignment, WATCHDOG=1 from
# the loop, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1), the metrics endpoint during
# a replay (counters move, /healthz, /readyz), and SIGHUP reload with a good change, a bad
# file and a forbidden change.
source "$(dirname "$0")/lib.sh"
start_broker 1
"$RECCTL_BIN" replay "$RECD_DATA/diginetica-srgnn" -b "$B" --limit 3000 --poison 10 --seed 3 \
    > "$T/replay.log" 2>&1 || fail "replay failed"

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
c1="$(metric 'recd_records_consumed_total{topic="shop.clicks"}')"
for _ in $(seq 1 50); do curl -sf "$M/metrics" | grep -q '^recd_consumer_lag{' && break; sleep 0.2; done
c2="$(metric 'recd_records_consumed_total{topic="shop.clicks"}')"
curl -sf "$M/metrics" > "$T/metrics.txt"
[ -n "$c2" ] && [ "${c2%.*}" -gt 0 ] || fail "consumed counter did not move ($c1 -> $c2)"
for series in 'recd_records_decoded_total{topic="shop.clicks"}' 'recd_batches_total' \
              'recd_batch_duration_seconds_count' 'recd_build_info{' 'recd_records_dead_lettered_total{' \
              'recd_operator_duration_seconds_bucket{operator="rerank"' 'recd_operator_duration_seconds_bucket{operator="sessionize"' 'recd_state_size_bytes' \
              'recd_event_publish_latency_seconds_count' 'recd_consumer_lag{' 'recd_online_hit_ratio{' \
              'recd_users_forgotten_total 0'; do
    grep -qF "$series" "$T/metrics.txt" || fail "metric $series missing"
done
grep -qE '[{,][a-z_]*user[a-z_]*="' "$T/metrics.txt" && fail "a metric carries a per-user label"
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
grep -q 'configuration reloaded' "$T/recd.log" || fail "good reload not applied"
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
