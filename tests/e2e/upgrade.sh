#!/usr/bin/env bash
# Upgrades under traffic (issue 22, docs/upgrades.md): the release before pin
# layouts (commit $UPGRADE_FROM, built from this repository's own history
# into build/upgrade-from-<commit>/, kept for later runs) enforces a ruleset
# in a namespace lab; this sluice reads it (status, stats, lookup: layout 3),
# then takes it over with an apply while paced allowed and denied datagrams
# flow and `status` is polled: not one allowed datagram lost, not one denied
# datagram through, status true throughout, the counters carried over, the
# layout pin committed (4).  Then the refusals: a newer layout (5) is refused
# by status, stats, apply and detach, naming it, and the filter keeps
# enforcing; a kept map whose value size differs from this sluice's BPF
# object is never reinterpreted (status and apply name the map).
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd ip jq git bpftool make

UPGRADE_FROM=${UPGRADE_FROM:-ceb16c2}     # main before layout versions (layout 3)
NEW=$SLUICE
TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
id=${ID}g
inst=up$id
PINS=/sys/fs/bpf/sluice/$inst

# The old release, from git history (tests/tools/old-release.sh; built once)
OLD=$("$ROOT/tests/tools/old-release.sh" "$UPGRADE_FROM" 2> "$TMP/old.err")
case $? in
0) ;;
2) skip all "$(cat "$TMP/old.err")"; exit 0 ;;
*) fail "build $UPGRADE_FROM" "$(tail -5 "$TMP/old.err")"; finish ;;
esac
check "the release to upgrade from ($UPGRADE_FROM) built" test -x "$OLD"

lab_up "$id" || { fail setup "cannot build the lab"; finish; }
on_exit lab_down "$id"
on_exit "$NEW" detach --all --instance "$inst"
on_exit "$NEW" detach --all --instance "${inst}m"
cat > "$TMP/rules" <<'RULES'
policy drop;
rule video { allow udp 6000; to 192.0.2.2; }
RULES

"$OLD" apply "$TMP/rules" --dev "slc$id" --netns "sl-$id-c" --instance "$inst" > /dev/null 2>"$TMP/err" ||
	{ fail "the old release applies" "$(cat "$TMP/err")"; finish; }
check "the old release writes no layout pin (layout 3)" test ! -e "$PINS/layout"

# A newer sluice reads the older instance.
st=$("$NEW" status --json --instance "$inst")
expect_eq "status reads the old instance: layout 3" "$(jq '.instances[0].layout' <<<"$st")" 3
expect_eq "status reads the old instance: generation 1, attached" \
	"$(jq -r '.instances[0] | "\(.generation) \(.attachments[0].dev)"' <<<"$st")" "1 slc$id"
expect_eq "lookup reads the old instance's maps" \
	"$("$NEW" lookup --json --instance "$inst" 192.0.2.2 udp 6000 | jq -r '"\(.verdict) \(.rule)"')" "allow video"

# Paced traffic: allowed (6000) and denied (6001), 1500 datagrams each, 1 ms apart.
N=1500
for p in 6000 6001; do
	in_s "$id" "$SLUDP" recv 192.0.2.2 $p 1500 "$TMP/ready$p" > "$TMP/recv$p" 2>/dev/null &
	eval "rpid$p=\$!"
done
for _ in $(seq 100); do [ -e "$TMP/ready6000" ] && [ -e "$TMP/ready6001" ] && break; sleep 0.05; done
in_c "$id" "$SLUDP" send 192.0.2.2 6000 $N 1000 > /dev/null 2>&1 &
s1=$!
in_c "$id" "$SLUDP" send 192.0.2.2 6001 $N 1000 > /dev/null 2>&1 &
s2=$!
# status polled all along: true before, during and after the takeover
( while kill -0 "$s1" 2>/dev/null; do
	"$NEW" status --instance "$inst" > /dev/null 2>>"$TMP/status.err" || echo bad
	sleep 0.05
  done > "$TMP/status.bad" ) &
poll=$!
sleep 0.5
"$NEW" apply "$TMP/rules" --instance "$inst" > "$TMP/apply.out" 2>&1
arc=$?
wait "$s1" "$s2" "$poll" "$rpid6000" "$rpid6001"
expect_eq "apply of this sluice takes over the layout-3 instance under traffic" "$arc" 0
expect_eq "not one allowed datagram lost across the upgrade" "$(awk '{print $4}' "$TMP/recv6000")" "$N"
expect_eq "not one denied datagram through across the upgrade" "$(awk '{print $2}' "$TMP/recv6001")" 0
expect_eq "status true throughout the upgrade" "$(grep -c bad "$TMP/status.bad")" 0
st=$("$NEW" status --json --instance "$inst")
expect_eq "after the takeover: layout 5, generation 2" \
	"$(jq -r '.instances[0] | "\(.layout) \(.generation)"' <<<"$st")" "5 2"
stats=$("$NEW" stats --json --instance "$inst")
# counters carried: every allowed datagram counted once, by the old program or the new
expect_eq "counters carried over: video passed all $N" "$(rule_stat "$stats" video pass_packets)" "$N"
expect_ge "counters carried over: the policy dropped the denied ones" \
	"$(jq '.policy.drop_packets' <<<"$stats")" "$N"

# Downgrade: a layout newer than this sluice's is refused, naming it; nothing changes.
bpftool map update pinned "$PINS/layout" key 0 0 0 0 value 6 0 0 0
for cmd in "status" "stats" "lookup 192.0.2.2 udp 6000" "apply $TMP/rules" "detach --all"; do
	"$NEW" $cmd --instance "$inst" > /dev/null 2> "$TMP/err"
	rc=$?
	if [ $rc -eq 1 ] && grep -q "pin layout 6, written by a newer sluice" "$TMP/err"; then
		pass "a newer layout: ${cmd%% *} refuses and names layout 6"
	else
		fail "a newer layout: ${cmd%% *} refuses and names layout 6" "exit $rc: $(cat "$TMP/err")"
	fi
done
ready=$TMP/ready2
in_s "$id" "$SLUDP" recv 192.0.2.2 6001 300 "$ready" > "$TMP/recv" 2>/dev/null &
rpid=$!
for _ in $(seq 50); do [ -e "$ready" ] && break; sleep 0.05; done
in_c "$id" "$SLUDP" send 192.0.2.2 6001 20 >/dev/null 2>&1
wait "$rpid"
expect_eq "the refused instance still enforces (udp 6001 dropped)" "$(awk '{print $2}' "$TMP/recv")" 0
bpftool map update pinned "$PINS/layout" key 0 0 0 0 value 5 0 0 0
check "layout 5 again: status" "$NEW" status --instance "$inst" > /dev/null

# A map that does not match the BPF object's declaration is never reinterpreted.
m=${inst}m
"$NEW" apply "$TMP/rules" --dev "slc$id" --netns "sl-$id-c" --hook tc-ingress --instance "$m" > /dev/null 2>"$TMP/err" ||
	fail "apply a second instance" "$(cat "$TMP/err")"
rm -f "/sys/fs/bpf/sluice/$m/ev_ctr"
bpftool map create "/sys/fs/bpf/sluice/$m/ev_ctr" type percpu_array key 4 value 16 entries 4 name ev_ctr
for cmd in "status" "apply $TMP/rules"; do
	"$NEW" $cmd --instance "$m" > /dev/null 2> "$TMP/err"
	rc=$?
	if [ $rc -ne 0 ] && grep -q "ev_ctr: the pinned map is percpu_array, key 4, value 16 bytes" "$TMP/err" &&
	   grep -q "does not reinterpret it" "$TMP/err"; then
		pass "a map of another shape: ${cmd%% *} refuses and names ev_ctr"
	else
		fail "a map of another shape: ${cmd%% *} refuses and names ev_ctr" "exit $rc: $(cat "$TMP/err")"
	fi
done
check "detach --all still removes it" "$NEW" detach --all --instance "$m"
finish
