#!/usr/bin/env bash
# state_lock.sh — a second recd on the same state directory exits non-zero with a clear
# message; a missing state directory is created.
source "$(dirname "$0")/lib.sh"

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
kill -TERM "$RECD_PID"; wait "$RECD_PID" || fail "first recd did not exit 0 on SIGTERM"
pass "first recd exited 0 on SIGTERM"
echo "state_lock: all passed"
