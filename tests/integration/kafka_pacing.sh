#!/usr/bin/env bash
# kafka_pacing.sh — a backlog is consumed in step by event time (kafka.max_event_skew_ms).
#
# 400 users click every 2 days and 40 others buy every day, for 120 days; all of it is in the broker
# before recd starts (a catch-up, a restore, a new instance). The purchases topic is 5x
# smaller, so Kafka delivers it far faster than the clicks: without pacing its event time
# races months ahead, and with pipeline.user_ttl_days = 30 the clicking users, active hours
# ago in the clicks' time, expire (a tombstone each). With pacing no user may expire: nobody is idle
# for 30 days (a partition can run the skew, 5 days here, plus one batch ahead: 100 purchases
# are 2.5 days). The unpaced run is the control that shows the test can fail. Its read order is
# made certain rather than left to the fetcher (which may deliver the one deletion before or after
# the clicks): it consumes the purchases and the deletion first, then the clicks, produced once
# it is idle, which is the race at its extreme.
. "$(dirname "$0")/lib.sh"

start_broker 1
python3 - "$T" <<'PY'
import json, sys
T = sys.argv[1]
t0 = 1704067200000  # 2024-01-01
H = 3600 * 1000
with open(f"{T}/clicks.jsonl", "w") as c, open(f"{T}/purchases.jsonl", "w") as p:
    for step in range(120 * 4):                       # every 6 h for 120 days
        for u in range(step % 8, 400, 8):             # each of 400 users every 2 days
            ts = t0 + step * 6 * H + u * 1000
            c.write(json.dumps({"event_id": f"c{step}-{u}", "user_id": f"u{u}",
                                "item_id": f"i{(step + u) % 50}", "ts": ts, "kind": "VIEW"}) + "\n")
        for b in range(40) if step % 4 == 0 else ():  # 40 buyers every day
            p.write(json.dumps({"event_id": f"p{step}-{b}", "user_id": f"b{b}",
                                "order_id": f"o{step}-{b}", "ts": t0 + step * 6 * H + b * 1000 + 500,
                                "lines": [{"item_id": f"i{b % 50}", "quantity": 1,
                                           "unit_price": 9.5}]}) + "\n")
PY
"$RECCTL_BIN" -b "$B" produce --kind purchase "$T/purchases.jsonl" >/dev/null
# u3 asks to be forgotten an hour after its last click (2024-04-28 18:00:03): read long before
# the clicks (a small topic), the deletion must wait until every partition has passed its time,
# or the clicks behind it recreate u3's state. Purchases pass it before their end, so the
# deletion is released by the event-time rule, not by the partitions running out.
echo '{"user_id":"u3","requested_ts":1714330800000,"reason":"test"}' |
    "$RECCTL_BIN" -b "$B" produce --kind deletion >/dev/null
n_clicks=$(wc -l < "$T/clicks.jsonl")
n_purchases=$(wc -l < "$T/purchases.jsonl")

# consume NAME SKEW_MS — consume what is in the broker with its own group, state and output
# topic, until idle
consume() {
    BATCH=100 WAIT_MS=50 write_conf "$T/$1.conf" "$T/state.$1" \
        "pipeline = { user_ttl_days = 30.0; };
topics = { recommendations = \"recs.$1\"; };"
    sed -i "s/group_id = \"recd-test\";/group_id = \"$1\"; max_event_skew_ms = $2;/" "$T/$1.conf"
    grep -q "max_event_skew_ms = $2;" "$T/$1.conf" || fail "config $1"
    local t0=$SECONDS
    run_recd "$T/$1.conf" "$T/$1.log" --exit-idle 4000 || fail "recd ($1) failed"
    echo "$1: consumed in $((SECONDS - t0 - 4)) s" >&2
}

# run NAME SKEW_MS — consume everything (consume), check that every record was taken; prints
# the number of expiry tombstones it published (u3's deletion aside)
run() {
    consume "$1" "$2"
    local off
    off="$("$RECCTL_BIN" state offsets --state "$T/state.$1" | awk '$1 == "shop.clicks" { print $3 }')"
    [ "$off" = "$n_clicks" ] || fail "$1: consumed $off of $n_clicks clicks"
    # the purchases, paced, waited in memory (kafka.pace_buffer_records): every one taken
    off="$("$RECCTL_BIN" state offsets --state "$T/state.$1" | awk '$1 == "shop.purchases" { print $3 }')"
    [ "$off" = "$n_purchases" ] || fail "$1: consumed $off of $n_purchases purchases"
    "$RECCTL_BIN" tail -b "$B" --kind recs --topic "recs.$1" --from-beginning --idle-ms 3000 \
        > "$T/$1.out"
    grep '"value":null' "$T/$1.out" | grep -vc '"key":"u3"' || true   # u3: its deletion
    "$RECCTL_BIN" state show u3 --state "$T/state.$1" >/dev/null 2>&1 && echo 0 > "$T/$1.u3" ||
        echo $? > "$T/$1.u3"
}

# the control: the purchases and the deletion, then the clicks
consume unpaced 0
[ "$("$RECCTL_BIN" state offsets --state "$T/state.unpaced" |
      awk '$1 == "shop.user-deletions" { print $3 }')" = 1 ] ||
    fail "control: the deletion was not consumed before the clicks were produced"
"$RECCTL_BIN" -b "$B" produce --kind click "$T/clicks.jsonl" >/dev/null
unpaced="$(run unpaced 0)"
[ "$unpaced" -gt 0 ] ||
    fail "control: without pacing no user expired; the backlog did not race (the test cannot tell)"
[ "$(cat "$T/unpaced.u3")" = 0 ] ||
    fail "control: without pacing u3's clicks did not outlive its deletion (the test cannot tell)"
pass "control: without pacing $unpaced users expired while they were active, and u3's clicks read after its deletion brought its state back"

paced="$(run paced 432000000)"
[ "$paced" -eq 0 ] || fail "with pacing $paced users expired (none was idle for 30 days)"
lists="$(grep -c '"seq"' "$T/paced.out" || true)"
[ "$lists" -gt 0 ] || fail "paced: no lists published"
pass "with pacing no user expired ($lists lists)"
[ "$(cat "$T/paced.u3")" = 2 ] || fail "with pacing u3 has state after its deletion (recctl state show: $(cat "$T/paced.u3"))"
[ "$(grep '"key":"u3"' "$T/paced.out" | tail -1 | grep -c '"value":null')" = 1 ] ||
    fail "with pacing u3's last record is not a tombstone"
pass "with pacing the deletion waited for u3's older clicks: no state, a tombstone last"
