#!/usr/bin/env bash
# tests/tools/old-release.sh COMMIT: build the sluice of COMMIT from this
# repository's own history into build/upgrade-from-COMMIT/ (git archive: no
# worktree to register or leave behind; kept for later runs) and print the
# path of its binary.  Exit 2 if the commit is not in the repository (a
# shallow clone), 1 if it does not build (the build log on stderr).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
c=$1
dir=$ROOT/build/upgrade-from-$c
bin=$dir/build/sluice
if [ ! -x "$bin" ]; then
	rm -rf "$dir"
	mkdir -p "$dir"
	if ! git -C "$ROOT" archive "$c" 2>/dev/null | tar -x -C "$dir" 2>/dev/null ||
	   [ ! -f "$dir/Makefile" ]; then
		rm -rf "$dir"
		echo "old-release: no commit $c in $ROOT (a shallow clone?)" >&2
		exit 2
	fi
	if ! make -s -C "$dir" -j2 all > "$dir.log" 2>&1; then
		tail -20 "$dir.log" >&2
		rm -rf "$dir"
		exit 1
	fi
fi
echo "$bin"
