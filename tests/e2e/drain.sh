#!/usr/bin/env bash
# End to end: re-applying a big ruleset (more than SL_DRAIN_MIN = 100000
# entries) empties the old generation's tries in a detached process instead
# of freeing them in one go (user/kernel/drain.c slk_drain_old): the command returns
# at once with its output captured, the old dst4 is still there when it
# returns and gone a little later, the new generation's tables are whole,
# traffic passes throughout, and no process is left behind.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd ip bpftool jq pgrep
SLB=$ROOT/build/sl-bench
[ -x "$SLB" ] || { skip all "needs $SLB (make test builds it)"; exit 0; }

TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
inst=drn$ID pin=/sys/fs/bpf/sluice/drn$ID

# 300000 random prefixes over four rules, plus the lab rules (203.0.113.0/25
# and 203.0.113.128/26 allow udp 3478, 5004-5010)
"$SLB" gen "$TMP" 4 300000 11 lab > /dev/null
first=$(grep -v '^#' "$TMP/r0.txt" | head -1)      # a prefix of rule synth-0
probe=${first%/*}

lab_up "$ID" || { echo "cannot build the lab"; exit 1; }
on_exit lab_down "$ID"
on_exit "$SLUICE" detach --all --instance "$inst"

check "apply 300000 prefixes" "$SLUICE" apply "$TMP/synth.rules" --dev "slc$ID" --netns "sl-$ID-c" --instance "$inst"
old=$(bpftool -j map show pinned "$pin/dst4" | jq .id)
check "the running dst4 has an id" test -n "$old"

# re-apply with its output captured: a drainer holding the pipe would make
# this wait for the whole drain
out=$("$SLUICE" apply "$TMP/synth.rules" --instance "$inst" 2>&1)
rc=$?
check "re-apply succeeds" test $rc -eq 0
check "the old dst4 still exists when the command has returned (drained in the background)" \
	bpftool map show id "$old"
new=$(bpftool -j map show pinned "$pin/dst4" | jq .id)
check "the new generation has its own dst4" test -n "$new" -a "$new" != "$old"
check "a drainer runs" pgrep -f "sluice apply $TMP/synth.rules"

udp_ok() {   # N datagrams to 203.0.113.2:5004 all arrive
	local n=$1 ready=$(mktemp -u "$TMP/ready.XXXXXXXX")
	in_s "$ID" "$SLUDP" recv 203.0.113.2 5004 300 "$ready" > "$TMP/recv.out" 2>/dev/null &
	local pid=$!
	for _ in $(seq 50); do [ -e "$ready" ] && break; sleep 0.05; done
	in_c "$ID" "$SLUDP" send 203.0.113.2 5004 "$n" 200 > /dev/null
	wait $pid
	[ "$(awk '{print $2}' "$TMP/recv.out")" = "$n" ]
}
check "allowed traffic passes while the old tries are drained (500 datagrams)" udp_ok 500

gone=0
for _ in $(seq 120); do
	if ! bpftool map show id "$old" > /dev/null 2>&1; then gone=1; break; fi
	sleep 0.25
done
check "the old dst4 is gone within 30 s (the drainer let go of it)" test $gone = 1
left=1
for _ in $(seq 40); do
	pgrep -f "sluice apply $TMP/synth.rules" > /dev/null || { left=0; break; }
	sleep 0.25
done
check "no drainer process is left" test $left = 0

# the new generation was not touched by the drainer
check "the new dst4 is the running one, still there" \
	test "$(bpftool -j map show pinned "$pin/dst4" | jq .id)" = "$new"
check "lookup from the loaded maps: $probe is rule synth-0" \
	bash -c "'$SLUICE' lookup '$probe' udp 3478 --instance '$inst' --json | jq -e '.rule == \"synth-0\" and .verdict == \"allow\"' > /dev/null"
check "lookup from the loaded maps: 203.0.113.5 udp 5004 is rule lab-turn" \
	bash -c "'$SLUICE' lookup 203.0.113.5 udp 5004 --instance '$inst' --json | jq -e '.rule == \"lab-turn\"' > /dev/null"
check "allowed traffic passes after the drain (500 datagrams)" udp_ok 500
check "stats still read" bash -c "'$SLUICE' stats --instance '$inst' --json | jq -e '.rules | length > 0' > /dev/null"

finish
