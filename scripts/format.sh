#!/bin/sh
# Format every tracked C source with the style in .clang-format (docs/ARCHITECTURE.md "Code
# style"). --check: list the files that would change and exit 1 if any. Needs clang-format >= 17;
# installs 18.1.8 from PyPI into build/format-venv on first use.
set -eu
cd "$(dirname "$0")/.."
venv=build/format-venv
cf=$venv/bin/clang-format
if [ ! -x "$cf" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q clang-format==18.1.8
fi
files=$(git ls-files '*.c' '*.h' | grep -v 'minilm_unicode_tables\.c$')
if [ "${1:-}" = "--check" ]; then
    bad=0
    for f in $files; do
        if ! "$cf" --dry-run -Werror "$f" >/dev/null 2>&1; then
            echo "$f"
            bad=1
        fi
    done
    exit $bad
fi
# shellcheck disable=SC2086
"$cf" -i $files
