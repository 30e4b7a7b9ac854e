# tests/lib.sh - shared by the shell tests (cli, e2e).  Every check prints
# one line: "PASS name" / "FAIL name: why" / "SKIP name: why".
# Tests create names unique to the run (ID) and clean up in an EXIT trap.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SLUICE=${SLUICE:-$ROOT/build/sluice}
SLUDP=${SLUDP:-$ROOT/build/sl-udp}
ID=${ID:-$(printf '%x%03x' $(( $$ % 4096 )) $(( RANDOM % 4096 )))}   # <= 6 chars
T_FAILED=0
T_PREFIX=${T_PREFIX:-$(basename "$0" .sh)/}

pass() { echo "PASS $T_PREFIX$1"; }
fail() { echo "FAIL $T_PREFIX$1: ${2:-}"; T_FAILED=1; }
skip() { echo "SKIP $T_PREFIX$1: ${2:-}"; }

# check NAME COMMAND...: passes if COMMAND succeeds.
check() {
	local name=$1; shift
	if "$@"; then pass "$name"; else fail "$name" "command failed: $*"; fi
}

# expect_eq NAME GOT WANT
expect_eq() {
	if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi
}

# expect_ge NAME GOT MIN
expect_ge() {
	if [ "$2" -ge "$3" ] 2>/dev/null; then pass "$1"; else fail "$1" "got '$2', want >= $3"; fi
}

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		skip "${1:-all}" "needs root (network namespaces, BPF)"
		exit 0
	fi
}

need_cmd() {
	for c in "$@"; do
		if ! command -v "$c" >/dev/null; then
			skip "all" "needs $c (scripts/install-deps installs it)"
			exit 0
		fi
	done
}

# Cleanup actions run in reverse order on exit, also on failure.
T_CLEANUP=()
on_exit() { T_CLEANUP=("$*" "${T_CLEANUP[@]}"); }
run_cleanup() {
	local c
	for c in "${T_CLEANUP[@]}"; do eval "$c" >/dev/null 2>&1; done
	T_CLEANUP=()
}
# T_FINAL: run after the cleanups, once, at exit (e.g. removing a temp dir)
trap 'run_cleanup; eval "${T_FINAL:-}"' EXIT
trap 'exit 130' INT TERM

finish() { run_cleanup; exit $T_FAILED; }

# rewriter FILE A1 A2 B1 B2: rewrite FILE in place for ever, as an editor or
# `cat new > file` does (truncate, the first piece, 10 ms, the second):
# version A (A1 A2), then B, 150-350 ms apart.  Run it in the background.
rewriter() {
	while :; do
		{ printf '%s' "$2"; sleep 0.01; printf '%s' "$3"; } > "$1"
		sleep 0.$((15 + RANDOM % 20))
		{ printf '%s' "$4"; sleep 0.01; printf '%s' "$5"; } > "$1"
		sleep 0.$((15 + RANDOM % 20))
	done
}

# wait_for SECONDS COMMAND...: poll (every 0.1 s) until COMMAND succeeds.
wait_for() { local n=$(( $1 * 10 )); shift; for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done; return 1; }

# ids_gone KIND ID...: true once no BPF object (prog, link, map) of these ids
# is loaded; polls up to 5 s.  A detach takes the program off the hook at
# once, but a pin's last reference goes after an RCU grace period and the
# object is freed from a workqueue after that: `bpftool KIND show id` right
# after a detach may still find it.
ids_gone() {
	local kind=$1 i left; shift
	for _ in $(seq 100); do
		left=0
		for i in "$@"; do bpftool "$kind" show id "$i" >/dev/null 2>&1 && left=1; done
		[ "$left" = 0 ] && return 0
		sleep 0.05
	done
	return 1
}

# sum_stats JSON RULE FIELD: a rule's counter from `sluice stats --json`.
rule_stat() { jq -r --arg r "$2" --arg f "$3" '.rules[] | select(.name == $r) | .[$f]' <<<"$1"; }
