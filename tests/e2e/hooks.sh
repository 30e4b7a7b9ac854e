#!/usr/bin/env bash
# End to end, every attach point, in a three-namespace line
#   client/"container" (c) -- gateway/"host" (g) -- server/WAN (s):
#  1. tc-ingress on the host side of the container's veth (recipe a): only the
#     container's traffic is filtered, the host's own is not.
#  2. a gateway running XDP on its LAN side and TC egress on its WAN side at
#     once, one instance: per-attachment counters, atomic re-apply of both.
#  3. cgroup_skb/egress on a cgroup with a process in it (recipe b): only that
#     workload is filtered.
#  4. coexistence: a foreign tc filter and a foreign XDP program stay as they
#     were; sluice refuses to replace the XDP program.
#  5. detach leaves no trace (tc filter show, ip link, bpftool, bpffs).
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd ip tc bpftool jq ping

TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
FOREIGN=$ROOT/build/foreign.bpf.o
id=${ID}h
inst=e2e${id}
pin=/sys/fs/bpf/sluice/$inst
C=sl-$id-c G=sl-$id-g S=sl-$id-s

cat > "$TMP/rules" <<'RULES'
policy drop;
rule web { allow udp 6000; allow tcp 8080; allow icmp; allow icmpv6; to 198.51.100.2, 2001:db8:2::2; }
rule blocked { deny any; to 203.0.113.0/24; }
RULES
sed 's/allow udp 6000;/allow udp 6000, 6002;/' "$TMP/rules" > "$TMP/rules2"

lab3_up "$id" || { fail setup "cannot build the three-namespace lab"; finish; }
on_exit lab3_down "$id"
on_exit "$SLUICE" detach --all --instance "$inst"
# neighbours first, so that no test packet waits for resolution
in_c "$id" ping -c 1 -W 1 -q 198.51.100.2 >/dev/null
in_c "$id" ping -c 1 -W 1 -q 203.0.113.2 >/dev/null
in_c "$id" ping -6 -c 2 -i 0.2 -W 1 -q 2001:db8:2::2 >/dev/null

# udp SRC_NS_CMD ADDR PORT N: datagrams that arrive at the server
udp() {
	local from=$1 a=$2 p=$3 n=$4 ready=$(mktemp -u "$TMP/ready.XXXXXXXX")
	ip netns exec "$S" "$SLUDP" recv "$a" "$p" 300 "$ready" > "$TMP/recv.out" 2>/dev/null &
	local pid=$!
	for _ in $(seq 50); do [ -e "$ready" ] && break; sleep 0.05; done
	eval "$from" "$SLUDP" send "$a" "$p" "$n" >/dev/null 2>&1
	wait $pid
	awk '{print $2}' "$TMP/recv.out"
}
FROM_C="ip netns exec $C"
FROM_G="ip netns exec $G"
attc() {   # STATS_JSON HOOK FIELD: an attachment's counter
	jq -r --arg h "$2" --arg f "$3" '.attachments[] | select(.hook == $h) | .[$f]' <<<"$1"
}
LINKS=""   # link ids sluice reported, to check they are gone after detach
note_links() { LINKS="$LINKS $("$SLUICE" status --json --instance "$inst" | jq -r '.instances[0].attachments[].link_id // empty')"; }
gone_clean() {   # nothing of sluice on the gateway's interfaces, no links, no pins
	local l
	! tc -n "$G" filter show dev "slgc$id" ingress 2>/dev/null | grep -q sluice &&
	! tc -n "$G" filter show dev "slgs$id" egress 2>/dev/null | grep -q sluice &&
	! ip -n "$G" link show dev "slgc$id" | grep -q "prog/xdp" &&
	[ ! -e "$pin" ] || return 1
	ids_gone link $LINKS
}

# --- 0. `ip netns exec` would give sluice a private /sys: it must refuse ------
T_PREFIX="hooks/netns-exec/"
in_g "$id" "$SLUICE" apply "$TMP/rules" --dev "slgc$id" --instance "$inst" > "$TMP/out" 2>&1
expect_eq "apply under ip netns exec refuses (exit 1)" "$?" 1
check "the refusal names --netns" grep -q -- "--netns" "$TMP/out"
check "nothing attached (no TCX link, no filter, no pins)" bash -c "! bpftool -j link show | jq -e '.[] | select(.type == 11 and .ifindex == $(ip -n $G -j link show dev slgc$id | jq '.[0].ifindex'))' >/dev/null 2>&1 && ! tc -n $G filter show dev slgc$id egress | grep -q sluice && test ! -e $pin"

# --- 1. tc-ingress on the container's host-side veth -------------------------
T_PREFIX="hooks/tc-ingress/"
if "$SLUICE" apply "$TMP/rules" --hook tc-ingress --dev "slgc$id" --netns "$G" --instance "$inst" \
	> "$TMP/out" 2>&1; then pass "apply"; else fail "apply" "$(cat "$TMP/out")"; fi
expect_eq "container udp 198.51.100.2:6000 x40 arrive" "$(udp "$FROM_C" 198.51.100.2 6000 40)" 40
expect_eq "container udp 198.51.100.2:6001 x20 dropped" "$(udp "$FROM_C" 198.51.100.2 6001 20)" 0
expect_eq "container udp 203.0.113.2:6000 x10 denied" "$(udp "$FROM_C" 203.0.113.2 6000 10)" 0
expect_eq "host's own udp 203.0.113.2:6000 x10 not filtered" "$(udp "$FROM_G" 203.0.113.2 6000 10)" 10
st=$("$SLUICE" stats --json --instance "$inst")
expect_ge "per-attachment: tc-ingress passed >= 40" "$(attc "$st" tc-ingress pass_packets)" 40
expect_ge "per-attachment: tc-ingress dropped >= 30" "$(attc "$st" tc-ingress drop_packets)" 30
expect_eq "stats: blocked drop_packets == 10" "$(rule_stat "$st" blocked drop_packets)" 10
note_links
check "detach" "$SLUICE" detach --dev "slgc$id" --netns "$G" --instance "$inst"
check "detach: nothing left" gone_clean
expect_eq "after detach: container udp 203.0.113.2:6000 x10 arrive" "$(udp "$FROM_C" 203.0.113.2 6000 10)" 10

# --- 2. gateway: XDP on the LAN side + TC egress on the WAN side ---------------
T_PREFIX="hooks/gateway/"
if "$SLUICE" apply "$TMP/rules" --hook xdp --dev "slgc$id" --netns "$G" --instance "$inst" \
	> "$TMP/out" 2>&1; then pass "apply xdp on LAN side"; else fail "apply xdp" "$(cat "$TMP/out")"; fi
if "$SLUICE" apply "$TMP/rules" --hook tc-egress --dev "slgs$id" --netns "$G" --instance "$inst" \
	> "$TMP/out" 2>&1; then pass "apply tc-egress on WAN side"; else fail "apply tc-egress" "$(cat "$TMP/out")"; fi
s=$("$SLUICE" status --json --instance "$inst")
expect_eq "status: two attachments" "$(jq '.instances[0].attachments | length' <<<"$s")" 2
check "status: XDP mode reported (native or generic)" \
	jq -e '.instances[0].attachments[] | select(.hook == "xdp") | .mode | test("^xdp-(native|generic)$")' <<<"$s"
check "status: every attachment has its own program and link" \
	jq -e '[.instances[0].attachments[] | .prog_id, .link_id] | map(select(. > 0)) | unique | length == 4' <<<"$s"
check "ip link shows sluice's XDP program on the LAN side" \
	bash -c "ip -n $G link show dev slgc$id | grep -q 'prog/xdp'"
expect_eq "LAN client udp 198.51.100.2:6000 x40 arrive" "$(udp "$FROM_C" 198.51.100.2 6000 40)" 40
expect_eq "LAN client udp 203.0.113.2:6000 x20 dropped" "$(udp "$FROM_C" 203.0.113.2 6000 20)" 0
expect_eq "gateway's own udp 203.0.113.2:6000 x10 dropped on WAN egress" "$(udp "$FROM_G" 203.0.113.2 6000 10)" 0
st=$("$SLUICE" stats --json --instance "$inst")
expect_eq "per-attachment: XDP dropped the LAN client's 20" "$(attc "$st" xdp drop_packets)" 20
expect_eq "per-attachment: TC egress dropped the gateway's 10" "$(attc "$st" tc-egress drop_packets)" 10
expect_ge "per-attachment: TC egress passed the forwarded 40" "$(attc "$st" tc-egress pass_packets)" 40
expect_eq "total: blocked drop_packets == 30 (shared maps)" "$(rule_stat "$st" blocked drop_packets)" 30
g0=$(jq '.instances[0].generation' <<<"$s")
check "re-apply without --dev switches both" "$SLUICE" apply "$TMP/rules2" --instance "$inst"
s=$("$SLUICE" status --json --instance "$inst")
expect_eq "re-apply: generation +1, still two attachments" \
	"$(jq '"\(.instances[0].generation) \(.instances[0].attachments | length)"' -r <<<"$s")" "$((g0 + 1)) 2"
expect_eq "re-apply: the new port 6002 passes through both" "$(udp "$FROM_C" 198.51.100.2 6002 20)" 20
check "re-apply is idempotent for named devices" \
	"$SLUICE" apply "$TMP/rules2" --hook xdp --dev "slgc$id" --netns "$G" --instance "$inst"
expect_eq "idempotent: still two attachments" \
	"$("$SLUICE" status --json --instance "$inst" | jq '.instances[0].attachments | length')" 2
note_links
check "detach --all" "$SLUICE" detach --all --instance "$inst"
check "detach --all: nothing left" gone_clean

# --- 3. cgroup: one workload's egress ----------------------------------------
T_PREFIX="hooks/cgroup/"
CGMNT=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
if [ -z "$CGMNT" ]; then
	skip "all" "no cgroup v2 hierarchy mounted"
else
	CG=$CGMNT/sluice-test-$id
	mkdir "$CG" && on_exit rmdir "$CG"
	if "$SLUICE" apply "$TMP/rules" --cgroup "sluice-test-$id" --instance "$inst" > "$TMP/out" 2>&1; then
		pass "apply --cgroup (relative to $CGMNT)"
	else
		fail "apply --cgroup" "$(cat "$TMP/out")"
	fi
	IN_CG="bash -c 'echo \$\$ > $CG/cgroup.procs && exec ip netns exec $C \"\$@\"' --"
	expect_eq "workload in the cgroup: udp 198.51.100.2:6000 x30 arrive" "$(udp "$IN_CG" 198.51.100.2 6000 30)" 30
	expect_eq "workload in the cgroup: udp 198.51.100.2:6001 x20 dropped" "$(udp "$IN_CG" 198.51.100.2 6001 20)" 0
	expect_eq "process outside the cgroup, same namespace: udp 6001 x20 arrive" \
		"$(udp "$FROM_C" 198.51.100.2 6001 20)" 20
	check "bpftool cgroup tree shows the program" \
		bash -c "bpftool cgroup tree $CGMNT | grep -A2 sluice-test-$id | grep -q sluice_cgroup"
	st=$("$SLUICE" stats --json --instance "$inst")
	expect_eq "per-attachment: cgroup dropped 20" "$(attc "$st" cgroup drop_packets)" 20
	check "detach --cgroup" "$SLUICE" detach --cgroup "$CG" --instance "$inst"
	check "detach: bpftool cgroup tree shows nothing" \
		bash -c "! bpftool cgroup tree $CGMNT | grep -q sluice_cgroup"
	check "detach: pins gone" test ! -e "$pin"
fi

# --- 4. coexistence with programs sluice did not attach ---------------------
T_PREFIX="hooks/coexist/"
tc -n "$G" qdisc add dev "slgs$id" clsact
tc -n "$G" filter add dev "slgs$id" egress prio 7 bpf da obj "$FOREIGN" sec tc
ip -n "$G" link set dev "slgs$id" xdpgeneric obj "$FOREIGN" sec xdp
foreign_tc() { tc -n "$G" filter show dev "slgs$id" egress | grep -q "foreign.bpf.o"; }
foreign_xdp() { ip -n "$G" link show dev "slgs$id" | grep -q "prog/xdp"; }
check "setup: foreign tc filter and XDP program present" eval "foreign_tc && foreign_xdp"
"$SLUICE" apply "$TMP/rules" --hook xdp --dev "slgs$id" --netns "$G" --instance "$inst" > "$TMP/out" 2>&1
expect_eq "apply --hook xdp on an interface with a foreign XDP program fails" "$?" 1
check "the refusal says why" grep -q "another XDP program" "$TMP/out"
check "the foreign XDP program is still attached" foreign_xdp
check "a failed first apply leaves no instance" test ! -e "$pin"
for mode in tcx clsact; do
	if "$SLUICE" apply "$TMP/rules" --dev "slgs$id" --netns "$G" --instance "$inst" --tc-mode $mode \
		> "$TMP/out" 2>&1; then pass "$mode: apply beside the foreign filter"; else fail "$mode: apply" "$(cat "$TMP/out")"; fi
	expect_eq "$mode: gateway's own udp 203.0.113.2:6000 x10 dropped" "$(udp "$FROM_G" 203.0.113.2 6000 10)" 0
	expect_eq "$mode: gateway's own udp 198.51.100.2:6000 x10 arrive" "$(udp "$FROM_G" 198.51.100.2 6000 10)" 10
	[ "$mode" = clsact ] && check "clsact: sluice's filter is first in line (priority 1)" \
		bash -c "tc -n $G filter show dev slgs$id egress | grep -E 'pref 1 .*sluice_tc' >/dev/null"
	check "$mode: detach" "$SLUICE" detach --dev "slgs$id" --netns "$G" --instance "$inst"
	check "$mode: the foreign tc filter is still there" foreign_tc
	check "$mode: the foreign XDP program is still there" foreign_xdp
	check "$mode: the clsact qdisc is still there" bash -c "tc -n $G qdisc show dev slgs$id | grep -q clsact"
	check "$mode: no sluice filter or link left" bash -c "! tc -n $G filter show dev slgs$id egress | grep -q sluice && test ! -e $pin"
done

finish
