#!/usr/bin/env bash
# backup_sandbox.sh — backup and restore as OPERATIONS.md describes them, with recd confined
# as its unit confines it (ProtectSystem=strict, only its StateDirectory writable, its own
# uid): a private mount namespace in which every mount is read-only except the state's
# parent directory, and recd running as an unprivileged uid (65534).
#   - control: the confined recd cannot write outside that directory (a checkpoint it is
#     asked to write straight to the backup directory fails with "Read-only file system");
#   - `recctl checkpoint DIR` (root, outside the sandbox) of the running, confined recd
#     works: recd stages it in its state directory, recctl moves it (same filesystem) or
#     copies it (another filesystem: /dev/shm), owners kept; nothing staged is left behind;
#   - restore (copy back, chown to the service's uid) and re-consumption give the digest of
#     the store that was never interrupted; a staged checkpoint an interrupted recctl left
#     behind is removed at start.
. "$(dirname "$0")/lib.sh"

UID_SVC=65534
if ! unshare -m true 2>"$T/unshare.err"; then
    echo "SKIP: this host gives no mount namespaces (unshare -m: $(cat "$T/unshare.err")); the sandbox cannot be built" >&2
    exit 77
fi
command -v setpriv >/dev/null || fail "setpriv (util-linux) missing"

chmod 755 "$T"
SD="$T/var-lib-recd"          # the unit's StateDirectory (/var/lib/recd)
mkdir -p "$SD" "$T/bin" "$T/backup"
chown "$UID_SVC:$UID_SVC" "$SD"
cp "$RECD_BIN" "$T/bin/recd"  # executable by the service uid whatever the build tree's modes
chmod 755 "$T/bin/recd"

# confined CMD... — exec CMD as the service uid with every mount read-only but $SD (exec:
# call it in a subshell, "(confined ...)", or in the background, where $! is then CMD's pid)
confined() {
    exec unshare -m -- /bin/sh -ec '
        sd="$1"; shift
        mount --make-rprivate /
        mount --bind "$sd" "$sd"
        for m in $(awk "{print \$5}" /proc/self/mountinfo | sort -u); do
            [ "$m" = "$sd" ] && continue
            mount -o remount,bind,ro "$m" 2>/dev/null || true
        done
        mount -o remount,bind,rw "$sd"
        exec setpriv --reuid='"$UID_SVC"' --regid='"$UID_SVC"' --clear-groups "$@"' sh "$SD" "$@"
}
(confined /bin/sh -c "touch '$SD/probe' && ! touch '$T/probe' 2>/dev/null && ! touch /dev/shm/recd-probe-$$ 2>/dev/null") \
    || fail "the sandbox is not what it claims (state writable, the rest read-only)"
rm -f "$SD/probe"
pass "sandbox: only $SD writable, uid $UID_SVC"

start_broker 1
conf() {   # conf FILE STATE — offsets committed to Kafka every 200 ms (caught_up reads them)
    write_conf "$1" "$2"
    sed -i 's/^kafka = { brokers/kafka = { commit_interval_ms = 200; brokers/' "$1"
    chmod 644 "$1"
}
conf "$T/recd.conf" "$SD/state"
grep -q 'commit_interval_ms = 200; brokers' "$T/recd.conf" || fail "config: $(cat "$T/recd.conf")"
caught_up() {   # caught_up SECONDS — until the group's committed lag is 0 on every input
    for _ in $(seq 1 $(($1 * 2))); do
        "$RECCTL_BIN" -b "$B" lag --group recd-test 2>/dev/null | grep -qx 'total lag 0' && return 0
        sleep 0.5
    done
    fail "recd did not catch up within $1 s: $("$RECCTL_BIN" -b "$B" lag --group recd-test 2>&1 | tail -3)"
}

# One clicks partition and no other event topic: the digest of a restored store that
# re-consumed the rest can then equal the uninterrupted one's (the model depends on the
# interleaving of partitions and topics; OPERATIONS.md, "Backup and restore").
"$RECCTL_BIN" gen -b "$B" --users 300 --items 60 --events 0 --seed 4 > /dev/null 2>&1   # the catalogue
"$RECCTL_BIN" gen --users 300 --items 60 --events 8000 --seed 4 --jsonl "$T/shop.jsonl" 2>/dev/null
grep '"_kind": *"click"' "$T/shop.jsonl" > "$T/clicks.jsonl"
n=$(wc -l < "$T/clicks.jsonl"); head -n $((n / 2)) "$T/clicks.jsonl" > "$T/a.jsonl"
tail -n +$((n / 2 + 1)) "$T/clicks.jsonl" > "$T/b.jsonl"
"$RECCTL_BIN" -b "$B" produce --kind click "$T/a.jsonl" > /dev/null 2>&1 || fail "produce A"
confined "$T/bin/recd" -c "$T/recd.conf" 2>> "$T/recd.log" &
RECD_PID=$!; RECD_PIDS+=($RECD_PID)
caught_up 120
pid=$(cat "$SD/state/recd.lock")   # recd's pid (unshare -m: the same pid namespace)

# control: the old way, recd writing the checkpoint where the operator asked, cannot work here
echo "$T/backup/direct" > "$SD/state/checkpoint.request"
rm -f "$SD/state/checkpoint.done"; kill -USR1 "$pid"
for _ in $(seq 1 100); do [ -f "$SD/state/checkpoint.done" ] && break; sleep 0.1; done
grep -q 'Read-only file system' "$SD/state/checkpoint.done" 2>/dev/null \
    || fail "the confined recd could write $T/backup: $(cat "$SD/state/checkpoint.done" 2>&1)"
rm -f "$SD/state/checkpoint.done"
pass "control: the confined recd cannot write a checkpoint to $T/backup (Read-only file system)"

"$RECCTL_BIN" checkpoint "$T/backup/ck1" --state "$SD/state" > "$T/ck1.log" 2>&1 || fail "checkpoint: $(cat "$T/ck1.log")"
SHM="$(mktemp -u /dev/shm/recd-test-ck.XXXXXX)"
"$RECCTL_BIN" checkpoint "$SHM" --state "$SD/state" > "$T/ck2.log" 2>&1 || fail "checkpoint to /dev/shm: $(cat "$T/ck2.log")"
trap 'rc=$?; rm -rf "$SHM"; cleanup "$rc"' EXIT
ls -d "$SD"/state/checkpoint.staging.* 2>/dev/null && fail "a staged checkpoint was left in the state directory"
[ "$(stat -c %u "$T/backup/ck1/CURRENT")" = "$UID_SVC" ] && [ "$(stat -c %u "$SHM/CURRENT")" = "$UID_SVC" ] \
    || fail "owners not kept: $(stat -c '%n %u' "$T/backup/ck1/CURRENT" "$SHM/CURRENT")"
[ "$(digest "$T/backup/ck1")" = "$(digest "$SHM")" ] || fail "the moved and the copied checkpoint differ"
other_fs=$([ "$(stat -c %d "$SHM")" != "$(stat -c %d "$T/backup")" ] && echo "another filesystem, copied" || echo "the same filesystem here")
pass "recctl checkpoint of the confined recd: moved to $T/backup, and to /dev/shm ($other_fs); owners kept; nothing left staged"

# more input, then the uninterrupted store's digest
"$RECCTL_BIN" -b "$B" produce --kind click "$T/b.jsonl" > /dev/null 2>&1 || fail "produce B"
caught_up 120
kill -TERM "$RECD_PID"; wait "$RECD_PID" || fail "recd did not stop cleanly: $(tail -3 "$T/recd.log")"
want="$(digest "$SD/state")"

# restore the first checkpoint as OPERATIONS.md says: copy, chown to the service, start
mkdir -p "$SD/restored"; cp -a "$T/backup/ck1/." "$SD/restored/"
chown -R "$UID_SVC:$UID_SVC" "$SD/restored"
[ "$(digest "$SD/restored")" = "$(digest "$T/backup/ck1")" ] || fail "the restored copy's digest differs from the checkpoint's"
mkdir "$SD/restored/checkpoint.staging.99999"; echo x > "$SD/restored/checkpoint.staging.99999/u5"
chown -R "$UID_SVC:$UID_SVC" "$SD/restored/checkpoint.staging.99999"
conf "$T/restored.conf" "$SD/restored"
(confined "$T/bin/recd" -c "$T/restored.conf" --exit-idle 3000 2>> "$T/restored.log") \
    || fail "the restored recd failed: $(tail -3 "$T/restored.log")"
grep -q 'checkpoint.staging.99999, a checkpoint recctl did not take away' "$T/restored.log" \
    || fail "the abandoned staged checkpoint was not reported"
[ ! -e "$SD/restored/checkpoint.staging.99999" ] || fail "the abandoned staged checkpoint is still there"
got="$(digest "$SD/restored")"
[ "$got" = "$want" ] || fail "restored + re-consumed digest $got != uninterrupted $want"
pass "restore (cp -a, chown to uid $UID_SVC; digest = the checkpoint's) and re-consumption of $((n - n / 2)) clicks under the sandbox: digest $got = the uninterrupted store's; an abandoned staged checkpoint removed at start"
echo "backup_sandbox: all passed"
