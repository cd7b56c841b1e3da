#!/usr/bin/env bash
# lib_cleanup.sh — the script tests' clean-up (lib.sh): a test's scratch directory goes when
# it passes (exit 0) or is skipped (77), and stays, its logs printed, when it fails — also when
# the test runs its own clean-up in front of lib.sh's (package.sh, backup_sandbox.sh,
# fault_disk.sh). The pattern '(exit $rc); cleanup' in such a trap ended it at the subshell
# under set -e: the package test, skipped on every host without systemd as PID 1, left 71 MB
# in /tmp at each run. No script may use that pattern again.
. "$(dirname "$0")/lib.sh"

# child RC CHAINED: a test that writes a log and exits RC, with lib.sh's trap alone (CHAINED
# 0) or behind its own clean-up (1); prints the child's scratch directory, its exit code and
# the path of its stderr
child() {
    local n="$T/child.$1.$2"
    {
        echo ". \"$RECD_SOURCE_DIR/tests/integration/lib.sh\""
        echo 'echo "$T" > "'"$n"'.dir"'
        echo 'echo "a line of the child log" > "$T/child.log"'
        if [ "$2" = 1 ]; then
            echo 'undo() { echo undone > "'"$n"'.undone"; }'
            echo "trap 'rc=\$?; undo; cleanup \"\$rc\"' EXIT"
        fi
        echo "exit $1"
    } > "$n.sh"
    local rc=0
    bash "$n.sh" > "$n.out" 2> "$n.err" || rc=$?
    echo "$rc"
}

for chained in 0 1; do
    for want in 0 77 1; do
        got="$(child "$want" "$chained")"
        n="$T/child.$want.$chained"
        [ "$got" = "$want" ] || fail "chained=$chained: the child exited $got, not $want: $(cat "$n.err")"
        dir="$(cat "$n.dir")"
        case "$dir" in /tmp/recd-test.*) ;; *) fail "child scratch directory: '$dir'" ;; esac
        if [ "$chained" = 1 ]; then
            [ -f "$n.undone" ] || fail "chained=$chained exit $want: the test's own clean-up did not run"
        fi
        if [ "$want" = 1 ]; then
            [ -d "$dir" ] || fail "chained=$chained: a failed test's directory was removed"
            grep -q "test failed (rc 1); logs in $dir" "$n.err" && grep -q "a line of the child log" "$n.err" ||
                fail "chained=$chained: a failed test's logs were not printed: $(cat "$n.err")"
            rm -rf "$dir"
        else
            [ ! -e "$dir" ] || { rm -rf "$dir"; fail "chained=$chained exit $want: $dir left behind"; }
        fi
    done
    pass "$( [ "$chained" = 1 ] && echo "behind a test's own clean-up" || echo "lib.sh's trap alone"): exit 0 and 77 remove the directory, exit 1 keeps it and prints the logs"
done

# the pattern that skipped the clean-up, in any script test
here="$RECD_SOURCE_DIR/tests"
if grep -rnE '\(exit "?\$\{?rc\}?"?\) *; *cleanup' "$here" --include='*.sh' | grep -v '^[^:]*:[0-9]*: *#' > "$T/pattern.txt"; then
    fail "'(exit \$rc); cleanup' in a trap (use cleanup \"\$rc\"): $(cat "$T/pattern.txt")"
fi
pass "no script test ends its trap with '(exit \$rc); cleanup'"
