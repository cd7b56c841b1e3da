#!/usr/bin/env bash
# scaleout_exit_idle.sh — with kafka.learn_from = all, --exit-idle does not count the wait for
# the consumer group as idle.
#
# Under "all" every record is read by a reader of all partitions and held until the group has
# assigned the partitions and they have settled (kafka.handover_settle_ms); only then are the
# users' lists published. One instance, 3,000 clicks already in the broker, --exit-idle 1000:
# the reader takes every click well within the second, the group's assignment and the settle
# take longer. An instance that counted that wait as idle exited after a second with every
# record held: nothing applied, nothing published. With kafka.hold_buffer_records = 100 the
# wait also pauses and resumes the partitions' fetching many times: nothing may be lost.
. "$(dirname "$0")/lib.sh"

start_broker 2
python3 - "$T" <<'PY'
import json, sys
with open(sys.argv[1] + "/c.jsonl", "w") as f:
    for i in range(3000):
        f.write(json.dumps({"event_id": f"e{i}", "user_id": f"u{i % 300}", "item_id": f"i{i % 97}",
                            "ts": 1704067200000 + i * 1000, "kind": "VIEW"}) + "\n")
PY
"$RECCTL_BIN" -b "$B" produce --kind click "$T/c.jsonl" >/dev/null
write_conf "$T/a.conf" "$T/st"
sed -i 's/group_id = "recd-test";/group_id = "idle"; learn_from = "all"; hold_buffer_records = 100;/
s/log_level = "info";/log_level = "info"; log_levels = { kafka = "debug"; };/' "$T/a.conf"
grep -q 'hold_buffer_records = 100;' "$T/a.conf" && grep -q 'kafka = "debug"' "$T/a.conf" ||
    fail "config"

t0=$SECONDS
run_recd "$T/a.conf" "$T/a.log" --exit-idle 1000 || fail "recd failed"
secs=$((SECONDS - t0))
grep -q "no input for 1000 ms: exiting" "$T/a.log" || fail "recd did not exit by --exit-idle"
grep -q "assigned partition" "$T/a.log" || fail "the group never assigned a partition"
pauses="$(grep -c "records held, fetching paused" "$T/a.log" || true)"
[ "$pauses" -gt 0 ] || fail "kafka.hold_buffer_records = 100 never paused a partition"
off="$("$RECCTL_BIN" state offsets --state "$T/st" | awk '$1 == "shop.clicks" { s += $3 } END { print s + 0 }')"
[ "$off" = 3000 ] || fail "applied $off of 3000 clicks before --exit-idle ended recd"
"$RECCTL_BIN" tail -b "$B" --kind recs --from-beginning --idle-ms 3000 > "$T/out"
users="$(grep '"seq"' "$T/out" | grep -o '"key":"[^"]*"' | sort -u | wc -l)"
[ "$users" = 300 ] || fail "lists for $users of 300 users before --exit-idle ended recd (${secs} s)"
pass "--exit-idle waited for the group: lists for all 300 users, recd exited after ${secs} s ($pauses pauses at 100 held records, nothing lost)"
