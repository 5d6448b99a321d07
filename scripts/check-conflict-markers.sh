#!/usr/bin/env sh
# Fails when any tracked text file still holds a merge-conflict marker (a line starting with seven '<', '|' or
# '>' and then a space or the line's end). Run by `make check`; `git grep -I` skips binary files.
#   scripts/check-conflict-markers.sh [repository root]    exit status: 0 clean, 1 markers found
# A line of seven '=' alone is not checked: Markdown uses it to underline a heading.
set -eu
ROOT=${1:-$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)}
if git -C "$ROOT" grep -I -n -E '^(<{7}|\|{7}|>{7})( |$)' -- . ; then
    echo "check-conflict-markers: unresolved merge-conflict markers above. Fix: resolve the conflict in each file named, then commit" >&2
    exit 1
fi
