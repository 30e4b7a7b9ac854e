#!/usr/bin/env bash
# tests/cli/valgrind.sh - no leak and no memory error in `sluice check` on
# the shipped packs, and (root) in `sluice apply` + `sluice detach` in a
# namespace lab: valgrind --leak-check=full on build/sluice (not the
# sanitized binary: ASan and valgrind do not mix).
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
cd "$ROOT"
need_cmd valgrind
VG=(valgrind -q --suppressions="$ROOT/tests/cli/valgrind.supp" --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99)
LOG=$(mktemp "/tmp/sl-vg-$ID.XXXX")
T_FINAL='rm -f "$LOG"'

vg() {   # NAME ARGS...: passes if sluice exits 0..2 and valgrind saw nothing
	local name=$1 rc; shift
	"${VG[@]}" "$SLUICE" "$@" > /dev/null 2> "$LOG"
	rc=$?
	if [ $rc -eq 99 ] || grep -q '^==[0-9]*==' "$LOG"; then
		fail "$name" "valgrind: $(grep -m3 '^==' "$LOG" | tr '\n' ' ')"
	elif [ $rc -gt 2 ]; then
		fail "$name" "exit $rc: $(tail -2 "$LOG" | tr '\n' ' ')"
	else
		pass "$name"
	fi
}

vg "check securevideo.rules: no leak" check rules/securevideo.rules
vg "check lab.rules: no leak" check rules/examples/lab.rules
vg "check a file with errors: no leak" check tests/fuzz/corpus/fuzz_rules/errors.rules
vg "check --json: no leak" check --json rules/securevideo.rules

if [ "$(id -u)" -ne 0 ]; then
	skip "apply/detach under valgrind" "needs root (network namespaces, BPF)"
	finish
fi
on_exit "lab_down $ID"
on_exit "$SLUICE detach --all --instance vg-$ID"
if ! lab_up "$ID" >/dev/null 2>&1; then
	fail "lab" "cannot build the namespace lab"
	finish
fi
vg "apply (attach) under valgrind: no leak" apply rules/examples/lab.rules --dev "slc$ID" --netns "sl-$ID-c" --instance "vg-$ID"
vg "apply (atomic replace) under valgrind: no leak" apply rules/securevideo.rules --instance "vg-$ID"
vg "stats under valgrind: no leak" stats --instance "vg-$ID"
vg "stats --format prometheus under valgrind: no leak" stats --format prometheus --instance "vg-$ID"
vg "detach under valgrind: no leak" detach --all --instance "vg-$ID"
finish
