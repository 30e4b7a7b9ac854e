#!/usr/bin/env bash
# Never lie (issue 11): what status/stats say is what runs, and sluice says
# when it filters nothing.
#   item 4: a failed apply leaves the rules status/stats print unchanged; stats read
#           during applies list one generation's rules, never both
#   item 6: a 4096-rule file applies over a running 4096-rule file of other names
#   item 8: an interface deleted and recreated: status exits non-zero (GONE), apply
#           with no attachment left warns and exits non-zero, sluice run re-attaches
#   item 10: a second instance on the same hook is refused, naming the first;
#           --allow-stack stacks
#   item 3: under sluice run, SIGHUP with a FIFO include neither wedges nor applies
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd ip tc jq ping
HOOKQ=$ROOT/build/sl-hookq

TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
id=${ID}n
inst=hon${id}
inst2=hon${id}b
C=sl-$id-c S=sl-$id-s DEV=slc$id

cat > "$TMP/A" <<'R'
policy drop;
rule alpha { allow icmp; to 198.51.100.2; }
rule shared { allow udp 9; to 192.0.2.2; }
R
cat > "$TMP/B" <<'R'
policy drop;
rule beta { allow icmp; to 203.0.113.2; }
rule shared { allow udp 9; to 192.0.2.2; }
R
{ cat "$TMP/A"; echo 'rule gamma { allow tcp 443; to 192.0.2.9; }'; } > "$TMP/A+gamma"

lab_up "$id" || { fail setup "cannot build the lab"; finish; }
on_exit lab_down "$id"
on_exit "$SLUICE" detach --all --instance "$inst"
on_exit "$SLUICE" detach --all --instance "$inst2"
in_c "$id" ping -c 1 -W 1 -q 198.51.100.2 >/dev/null

sl() { "$SLUICE" "$@" --instance "$inst"; }
up() { in_c "$id" ping -c 1 -W 0.6 -q "$1" >/dev/null 2>&1 && echo 1 || echo 0; }
traffic() { case "$(up 198.51.100.2)$(up 203.0.113.2)" in 10) echo A ;; 01) echo B ;; 11) echo none ;; *) echo stacked ;; esac; }
names() { sl stats --json 2>/dev/null | jq -r '[.rules[].name] | sort | join(",")'; }

# --- item 4 ------------------------------------------------------------------
T_PREFIX="honest/failed-apply/"
sl apply "$TMP/A" --dev "$DEV" --netns "$C" >/dev/null 2>&1 || fail "apply A" "rc $?"
sl apply "$TMP/A+gamma" --dev "nosuch$id" --netns "$C" > "$TMP/out" 2>&1
expect_eq "apply to a missing interface fails" "$?" 1
expect_eq "stats: the rules that run, not the one that never loaded" "$(names)" "alpha,shared"
expect_eq "status: 2 rules" "$(sl status --json | jq '.instances[0].rules')" 2
T_PREFIX="honest/stats-during-applies/"
( for i in $(seq 1 8); do sl apply "$TMP/B" >/dev/null 2>&1; sl apply "$TMP/A" >/dev/null 2>&1; done ) &
ap=$!
mixed=0 reads=0
while kill -0 $ap 2>/dev/null; do
	n=$(names); reads=$((reads + 1))
	case "$n" in alpha,shared|beta,shared) ;; *) mixed=$((mixed + 1)); echo "read $reads: $n" ;; esac
done
wait $ap
expect_ge "stats read during 16 applies" "$reads" 10
expect_eq "no read lists both generations' rules (or none)" "$mixed" 0

# --- item 6 ------------------------------------------------------------------
T_PREFIX="honest/4096-rules/"
big() {   # PREFIX: 4096 rules of distinct names and prefixes
	echo "policy drop;"
	for i in $(seq 0 4095); do printf 'rule %s%d { allow tcp 443; to 2001:db8:%x::/48; }\n' "$1" "$i" "$i"; done
}
big one > "$TMP/big1"; big two > "$TMP/big2"
if sl apply "$TMP/big1" > "$TMP/out" 2>&1; then pass "a 4096-rule file applies"; else fail "a 4096-rule file applies" "$(tail -2 "$TMP/out")"; fi
if sl apply "$TMP/big2" > "$TMP/out" 2>&1; then pass "another 4096-rule file of other names applies over it"
else fail "another 4096-rule file applies over it" "$(tail -2 "$TMP/out")"; fi
expect_eq "stats lists the 4096 new rules only" "$(sl stats --json | jq '[.rules[] | select(.name | startswith("two"))] | length'):$(sl stats --json | jq '.rules | length')" "4096:4096"
sl apply "$TMP/A" > /dev/null 2>&1
expect_eq "and back to A: traffic A" "$(traffic)" A

# --- item 10 -----------------------------------------------------------------
T_PREFIX="honest/stack/"
"$SLUICE" apply "$TMP/B" --dev "$DEV" --netns "$C" --instance "$inst2" > "$TMP/out" 2>&1
expect_eq "a second instance on the same hook is refused" "$?" 1
check "the refusal names the instance already there" grep -q "instance '$inst'" "$TMP/out"
check "and says how to stack" grep -q -- "--allow-stack" "$TMP/out"
expect_eq "nothing changed: traffic A" "$(traffic)" A
"$SLUICE" apply "$TMP/B" --dev "$DEV" --netns "$C" --instance "$inst2" --allow-stack > "$TMP/out" 2>&1
expect_eq "--allow-stack stacks" "$?" 0
expect_eq "both run: stacked" "$(traffic)" stacked
"$SLUICE" detach --all --instance "$inst2" >/dev/null 2>&1

# --- item 8 ------------------------------------------------------------------
recreate() {   # delete the client's veth and create it again with the same names
	ip -n "$C" link del "$DEV"
	ip -n "$C" link add "$DEV" type veth peer name "sls$id" netns "$S"
	local n
	for n in 192.0.2 198.51.100 203.0.113; do
		ip -n "$C" addr add "$n.1/24" dev "$DEV"
		ip -n "$S" addr add "$n.2/24" dev "sls$id"
	done
	ip -n "$C" link set "$DEV" up
	ip -n "$S" link set "sls$id" up
	sleep 0.3
}
T_PREFIX="honest/gone/"
recreate
expect_eq "the recreated interface is unfiltered" "$(traffic)" none
sl status > "$TMP/status" 2>&1
expect_eq "status exits non-zero when an attachment is GONE" "$?" 1
check "status says GONE and that traffic is not filtered" bash -c "grep -q GONE $TMP/status && grep -q 'not filtered' $TMP/status"
sl apply "$TMP/A" > "$TMP/out" 2>&1
expect_eq "apply ending with 0 attachments exits non-zero" "$?" 1
check "... and warns that it filters nothing" grep -q "filters nothing" "$TMP/out"
sl detach --all >/dev/null 2>&1

T_PREFIX="honest/run-reattach/"
"$SLUICE" run "$TMP/A" --dev "$DEV" --netns "$C" --instance "$inst" > "$TMP/run.log" 2>&1 &
rp=$!
on_exit kill $rp
for _ in $(seq 50); do grep -q "running (pid" "$TMP/run.log" && break; sleep 0.1; done
expect_eq "sluice run filters: traffic A" "$(traffic)" A
recreate
ok=0
for _ in $(seq 20); do [ "$(traffic)" = A ] && { ok=1; break; }; sleep 0.3; done
expect_eq "the interface came back: sluice run re-attached within 6 s (traffic A)" "$ok" 1
sl status >/dev/null 2>&1
expect_eq "status exits 0 again" "$?" 0
check "run logged the re-attach" grep -qi "re-attach" "$TMP/run.log"

# --- item 3 under sluice run ---------------------------------------------------
T_PREFIX="honest/run-hostile/"
mkfifo "$TMP/fifo"
cp "$TMP/A" "$TMP/A.orig"
printf 'include "fifo";\n' >> "$TMP/A"
refusals() { [ "$(grep -c "not a regular file" "$TMP/run.log")" -ge "$1" ]; }
kill -HUP $rp
wait_for 10 refusals 1
expect_eq "SIGHUP with a FIFO include: the running ruleset stays (traffic A)" "$(traffic)" A
check "run logged the refusal" grep -q "not a regular file" "$TMP/run.log"
printf 'include "/dev/zero";\n' > "$TMP/A"
kill -HUP $rp
wait_for 10 refusals 2
expect_eq "SIGHUP with /dev/zero: the running ruleset stays" "$(traffic)" A
kill -TERM $rp
ok=0
for _ in $(seq 30); do kill -0 $rp 2>/dev/null || { ok=1; break; }; sleep 0.1; done
expect_eq "SIGTERM still ends sluice run within 3 s" "$ok" 1
cp "$TMP/A.orig" "$TMP/A"

# --- under ip netns exec: /sys without the host's bpffs ---------------------------
# pins made in that mount namespace's own bpffs vanish when sluice exits, and the
# links and the filter with them: apply must refuse, also from a script under it
T_PREFIX="honest/ip-netns-exec/"
inst3=hon${id}x
on_exit "$SLUICE" detach --all --instance "$inst3"
ip netns exec "$C" "$SLUICE" apply "$TMP/A" --dev "$DEV" --instance "$inst3" > "$TMP/nx.out" 2>&1
expect_eq "apply under ip netns exec: refused" "$?" 1
check "... saying why and what to do" grep -q "netns NAME" "$TMP/nx.out"
ip netns exec "$C" bash -c "'$SLUICE' apply '$TMP/A' --dev '$DEV' --instance '$inst3'" > "$TMP/nx.out" 2>&1
expect_eq "apply from a shell under ip netns exec: refused" "$?" 1
expect_eq "... and the device has no second sluice program" \
	"$("$SLUICE" status --json 2>/dev/null | jq -r --arg i "$inst3" '[.instances[] | select(.instance == $i)] | length')" 0
nsenter --net="/run/netns/$C" "$SLUICE" apply "$TMP/B" --dev "$DEV" --instance "$inst3" --allow-stack > "$TMP/nx.out" 2>&1
expect_eq "apply under nsenter --net (the host's mounts): works" "$?" 0
expect_eq "... and its pins are the host's" "$("$SLUICE" status --json 2>/dev/null |
	jq -r --arg i "$inst3" '[.instances[] | select(.instance == $i)] | length')" 1
"$SLUICE" detach --all --instance "$inst3" >/dev/null 2>&1
finish
