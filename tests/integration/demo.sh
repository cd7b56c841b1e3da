#!/usr/bin/env bash
# demo.sh — the README's first command, minus the install and the build (scripts/demo.sh runs
# `recd --demo`): recd starts librdkafka's in-process mock cluster, fills it with a synthetic
# shop, processes it until idle and prints the lists of a few users with their reasons. No
# broker needed. Checks: exit 0 within a time bound; every record produced is consumed, none
# dead-lettered; a few users each with 1..5 numbered items that carry a catalogue title, a
# score and a reason of rerank's vocabulary (with its because-item); the count of users with
# lists; the demo's scratch state directory removed.
source "$(dirname "$0")/lib.sh"

events=2000
limit=90   # seconds: the demo takes ~8 s here (3 s of it waiting to see the input idle)
rc=0
timeout -s KILL "$limit" "$RECD_BIN" --demo --demo-events "$events" >"$T/out.log" 2>"$T/err.log" || rc=$?
[ "$rc" -eq 0 ] || fail "recd --demo exited $rc (137: killed after ${limit} s)"
out="$T/out.log"

# input: the shop's events and its catalogue, all consumed, nothing dead-lettered
produced="$(sed -n 's/^recd demo: \([0-9]*\) records produced.*/\1/p' "$out")"
[ -n "$produced" ] || fail "no 'records produced' line"
[ "$produced" -ge "$events" ] || fail "$produced records produced for $events events"
grep -q "stopping: [0-9]* batches, $produced records, [0-9]* events, 0 dead-lettered" "$T/err.log" ||
    fail "recd did not consume the $produced records cleanly: $(grep stopping: "$T/err.log")"
pass "$produced records produced and consumed, none dead-lettered"

# output: user blocks, then the total
total="$(sed -n 's/^\([0-9]*\) users have recommendations\.$/\1/p' "$out")"
[ -n "$total" ] && [ "$total" -gt 0 ] || fail "no users with recommendations: $(tail -1 "$out")"
users="$(grep -c '^user [^ ]*  (seq [0-9]*, after event [^ ]*)$' "$out" || true)"
want=$(( total < 5 ? total : 5 ))
[ "$users" -eq "$want" ] || fail "$users users shown, expected $want of $total"
reasons='popular|similar_session|next_item|co_visited|in_session|similar_text|query_match'
awk -v reasons="^($reasons)\$" '
    /^user / { if (user != "" && n == 0) bad = bad "\n" user ": no items"; user = $2; n = 0; next }
    /^  [0-9]+\. / {
        n++
        if ($1 != n ".") bad = bad "\n" user ": item " n " numbered " $1
        # "  1. i165         Nexa Power Bank ...   score    1.354  reason X[ because of Y]"
        if (!match($0, / score +-?[0-9]+\.[0-9]+  reason [a-z_]+( because of [^ ]+)?$/))
            bad = bad "\n" user ": malformed item line: " $0
        r = $0; sub(/.*  reason /, "", r); sub(/ .*/, "", r)
        if (r !~ reasons) bad = bad "\n" user ": unknown reason " r
        if (r != "popular" && r != "query_match" && $0 !~ / because of /)
            bad = bad "\n" user ": reason " r " without its item"
        title = substr($0, 1, RSTART - 1); sub(/^  [0-9]+\. +[^ ]+ +/, "", title)
        if (title == "") bad = bad "\n" user ": item " $2 " has no title"
        items++
        if (n > 5) bad = bad "\n" user ": more than 5 items shown"
        next
    }
    END {
        if (user != "" && n == 0) bad = bad "\n" user ": no items"
        if (bad != "") { print substr(bad, 2) > "/dev/stderr"; exit 1 }
        print items
    }' "$out" >"$T/items" || fail "demo output (above)"
pass "$users of $total users shown with $(cat "$T/items") items, each with a title, score and reason"

dir="$(sed -n 's/.*(state in \([^)]*\)).*/\1/p' "$out")"
[ -n "$dir" ] || fail "no state directory named"
[ ! -e "$dir" ] || fail "the demo left its state directory $dir"
pass "recd --demo exit 0; state directory removed"
