#!/usr/bin/env bash
# state_lock.sh — a second recd on the same state directory exits non-zero with a clear
# message; a missing state directory is created; recctl checkpoint while recd runs copies a
# populated state (every replayed click applied) whose digest equals the state's.
source "$(dirname "$0")/lib.sh"
N=3000
start_broker 1
"$RECCTL_BIN" replay "$RECD_DATA/diginetica-srgnn" -b "$B" --phase train --limit $N \
    > "$T/replay.log" 2>&1 || fail "replay failed: $(cat "$T/replay.log")"

write_conf "$T/a.conf" "$T/state/nested/dir"
start_recd "$T/a.conf" "$T/first.log"
for _ in $(seq 1 100); do [ -f "$T/state/nested/dir/recd.lock" ] && break; sleep 0.1; done
[ -d "$T/state/nested/dir" ] || fail "state directory not created"
sleep 0.5
rc=0; "$RECD_BIN" -c "$T/a.conf" 2>"$T/second.log" || rc=$?
[ $rc -ne 0 ] || fail "second recd exited 0"
grep -q "state directory $T/state/nested/dir is in use by another process (pid $RECD_PID)" "$T/second.log" \
    || fail "unclear message: $(cat "$T/second.log")"
pass "second recd refused (exit $rc): $(grep 'in use' "$T/second.log")"
# wait until recd has applied every replayed click (its committed input offset in the state)
consumed() { "$RECCTL_BIN" state offsets --state "$T/state/nested/dir" 2>/dev/null \
    | awk '$1 == "shop.clicks" { s += $3 } END { print s + 0 }'; }
for _ in $(seq 1 300); do [ "$(consumed)" -ge $N ] && break; sleep 0.2; done
[ "$(consumed)" -ge $N ] || fail "recd applied $(consumed) of $N clicks in 60 s"
# recctl checkpoint while recd runs: recd takes it between two batches (SIGUSR1)
"$RECCTL_BIN" checkpoint "$T/ckpt" --state "$T/state/nested/dir" --timeout 30 > "$T/ckpt.log" 2>&1 \
    || fail "recctl checkpoint: $(cat "$T/ckpt.log")"
[ -f "$T/ckpt/CURRENT" ] || fail "checkpoint has no CURRENT file"
grep -q "checkpoint written to $T/state/nested/dir/checkpoint.staging.[0-9]*$" "$T/first.log" || fail "recd did not log the staged checkpoint"
ls -d "$T"/state/nested/dir/checkpoint.staging.* 2>/dev/null && fail "a staged checkpoint was left behind"
pass "recctl checkpoint while running: $(cat "$T/ckpt.log")"
kill -TERM "$RECD_PID"; wait "$RECD_PID" || fail "first recd did not exit 0 on SIGTERM"
[ "$(digest "$T/ckpt")" = "$(digest "$T/state/nested/dir")" ] || fail "checkpoint digest differs from the state"
# not an empty store: the checkpoint holds every click's offset
ck="$("$RECCTL_BIN" state offsets --state "$T/ckpt" | awk '$1 == "shop.clicks" { s += $3 } END { print s + 0 }')"
[ "$ck" -eq $N ] || fail "the checkpoint's clicks offset is $ck, want $N"
pass "checkpoint of a populated store: $ck clicks applied"
pass "checkpoint digest equals the state's (documented restore: stop, replace state.dir, start)"
pass "first recd exited 0 on SIGTERM"
echo "state_lock: all passed"
