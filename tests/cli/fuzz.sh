#!/usr/bin/env bash
# tests/cli/fuzz.sh - runs each libFuzzer target (tests/fuzz/, built by make
# check as build/fuzz/<target>) over its seed corpus and then for
# FUZZ_SECONDS seconds (default 20) of new inputs.  No root needed.  New
# inputs go to a temporary directory, never into the repository's corpus;
# a crash is kept in build/fuzz/artifacts/ and its reproduction command
# is printed.  `make fuzz` runs the same with FUZZ_SECONDS=$(FUZZ_TIME).
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"
SECS=${FUZZ_SECONDS:-20}
ART=$ROOT/build/fuzz/artifacts
mkdir -p "$ART"
WORK=$(mktemp -d "/tmp/sl-fuzz-$ID.XXXX")
T_FINAL='rm -rf "$WORK"'
# The targets are built with their own sanitizers; leak checks stay on.
unset ASAN_OPTIONS UBSAN_OPTIONS
for t in fuzz_rules fuzz_pkt fuzz_dns; do
	bin=$ROOT/build/fuzz/$t
	if [ ! -x "$bin" ]; then
		fail "$t" "$bin missing (make build/fuzz/$t; needs clang with libFuzzer)"
		continue
	fi
	mkdir -p "$WORK/$t" "$WORK/$t.run"
	# run from an empty directory: include/file in fuzzed rules resolve there
	( cd "$WORK/$t.run" && "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$ART/$t-" \
		"$WORK/$t" "$ROOT/tests/fuzz/corpus/$t" ) > "$WORK/$t.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/$t.log")
	if [ $rc -eq 0 ]; then
		pass "$t: ${runs:-?} inputs in ${SECS} s, no crash, leak or oracle/table disagreement"
	else
		crash=$(grep -o "Test unit written to [^ ]*" "$WORK/$t.log" | tail -1 | sed 's/Test unit written to //')
		fail "$t" "exit $rc; reproduce: (cd /tmp && $bin ${crash:-<input>})"
		grep -E "ERROR|SUMMARY|fuzz:|runtime error" "$WORK/$t.log" | head -5 | sed 's/^/    /'
	fi
done
finish
