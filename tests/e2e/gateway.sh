#!/usr/bin/env bash
# The gateway recipe (issue 11 item 11): XDP on the LAN side and TC egress on
# the WAN side, one instance, in a three-namespace line (scripts/lab.sh).
#   - traffic from the LAN to the gateway itself (its own address, limited
#     broadcast: DHCP, its resolver, management) passes as control by default;
#     "host filter;" judges it instead; an address added later is covered once
#     sluice run sees it;
#   - a forwarded packet counts once in the rule totals (where it entered);
#     the gateway's own packets count on TC egress;
#   - in audit mode a forwarded would-be drop is one event, as it is one
#     count (issue 20 item 11: it was logged on both sides).
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd ip jq

TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
id=${ID}w
inst=gw${id}
C=sl-$id-c G=sl-$id-g S=sl-$id-s
printf 'policy drop;\nrule web { allow udp 6000; to 198.51.100.2; }\n' > "$TMP/rules"
{ echo 'host filter;'; cat "$TMP/rules"; } > "$TMP/rules.judge"
{ echo 'mode audit;'; cat "$TMP/rules"; } > "$TMP/rules.audit"

lab3_up "$id" || { fail setup "cannot build the three-namespace lab"; finish; }
on_exit lab3_down "$id"
on_exit "$SLUICE" detach --all --instance "$inst"
ip -n "$C" route add 255.255.255.255/32 dev "slc$id"     # limited broadcast out of the LAN side
in_c "$id" ping -c 1 -W 1 -q 198.51.100.2 >/dev/null

udp() {   # NS BIND-ADDR PORT FROM-NS DEST N: datagrams received
	local ns=$1 a=$2 p=$3 from=$4 dst=$5 n=$6 ready=$(mktemp -u "$TMP/ready.XXXXXXXX")
	ip netns exec "$ns" "$SLUDP" recv "$a" "$p" 300 "$ready" > "$TMP/recv.out" 2>/dev/null &
	local pid=$!
	for _ in $(seq 50); do [ -e "$ready" ] && break; sleep 0.05; done
	ip netns exec "$from" "$SLUDP" send "$dst" "$p" "$n" >/dev/null 2>&1
	wait $pid
	awk '{print $2}' "$TMP/recv.out"
}
gstat() { "$SLUICE" stats --json --instance "$inst" | jq "$1"; }
web_pass() { "$SLUICE" stats --json --instance "$inst" | jq '.rules[] | select(.name == "web") | .pass_packets'; }

T_PREFIX="gateway/"
"$SLUICE" apply "$TMP/rules" --hook xdp --dev "slgc$id" --netns "$G" --instance "$inst" > "$TMP/out" 2>&1 ||
	{ fail "apply xdp on the LAN side" "$(cat "$TMP/out")"; finish; }
"$SLUICE" apply "$TMP/rules" --dev "slgs$id" --netns "$G" --instance "$inst" > "$TMP/out" 2>&1 ||
	{ fail "apply tc-egress on the WAN side" "$(cat "$TMP/out")"; finish; }

expect_eq "LAN -> the gateway's own address (udp 5353 x10) passes" "$(udp "$G" 192.0.2.254 5353 "$C" 192.0.2.254 10)" 10
expect_eq "LAN -> 255.255.255.255:67 (DHCP) x10 reaches the gateway" "$(udp "$G" 255.255.255.255 67 "$C" 255.255.255.255 10)" 10
expect_eq "LAN -> a WAN address off the allowlist still dropped" "$(udp "$S" 203.0.113.2 6000 "$C" 203.0.113.2 10)" 0
before=$(web_pass)
expect_eq "forwarded udp 6000 x40 arrives" "$(udp "$S" 198.51.100.2 6000 "$C" 198.51.100.2 40)" 40
expect_eq "a forwarded packet counts once in the rule totals (+40, not +80)" "$(( $(web_pass) - before ))" 40
before=$(web_pass)
expect_eq "the gateway's own udp 6000 x10 arrives" "$(udp "$S" 198.51.100.2 6000 "$G" 198.51.100.2 10)" 10
expect_eq "the gateway's own packets count on TC egress (+10)" "$(( $(web_pass) - before ))" 10

# an address added later: sluice run keeps host_addrs current
"$SLUICE" run "$TMP/rules" --hook xdp --dev "slgc$id" --netns "$G" --instance "$inst" > "$TMP/run.log" 2>&1 &
rp=$!
on_exit kill $rp
for _ in $(seq 50); do grep -q "running (pid" "$TMP/run.log" && break; sleep 0.1; done
ip -n "$G" addr add 192.0.2.253/24 dev "slgc$id"
ok=0
for _ in $(seq 10); do [ "$(udp "$G" 192.0.2.253 5353 "$C" 192.0.2.253 3)" = 3 ] && { ok=1; break; }; sleep 0.3; done
expect_eq "an address added to the gateway is passed within seconds (sluice run)" "$ok" 1
kill $rp; wait $rp 2>/dev/null

# host filter: judged like any other destination
"$SLUICE" apply "$TMP/rules.judge" --instance "$inst" > "$TMP/out" 2>&1 || fail "apply host filter" "$(cat "$TMP/out")"
expect_eq "host filter: LAN -> the gateway's address is judged (dropped)" "$(udp "$G" 192.0.2.254 5353 "$C" 192.0.2.254 10)" 0
expect_eq "host filter: limited broadcast is judged (dropped)" "$(udp "$G" 255.255.255.255 67 "$C" 255.255.255.255 10)" 0

# audit mode: a forwarded would-be drop passes both hooks, one count, one event
"$SLUICE" apply "$TMP/rules.audit" --instance "$inst" > "$TMP/out" 2>&1 || fail "apply mode audit" "$(cat "$TMP/out")"
"$SLUICE" log --instance "$inst" > /dev/null 2>&1          # whatever came before
e0=$(gstat .events.emitted) a0=$(gstat .audit_pass)
expect_eq "audit: 50 forwarded datagrams off the allowlist arrive" "$(udp "$S" 203.0.113.2 6000 "$C" 203.0.113.2 50)" 50
expect_eq "audit: audit_pass +50 (counted once)" "$(( $(gstat .audit_pass) - a0 ))" 50
expect_eq "audit: events emitted +50, one per forwarded packet (not 100)" "$(( $(gstat .events.emitted) - e0 ))" 50
expect_eq "audit: sluice log holds 50 events to 203.0.113.2, all on the LAN side (xdp)" \
	"$("$SLUICE" log --json --instance "$inst" | jq -r 'select(.dst == "203.0.113.2") | .hook' | sort | uniq -c | awk '{print $1, $2}')" "50 xdp"
e0=$(gstat .events.emitted)
expect_eq "audit: the gateway's own 10 datagrams off the allowlist arrive" "$(udp "$S" 203.0.113.2 6000 "$G" 203.0.113.2 10)" 10
expect_eq "audit: the gateway's own would-be drops are 10 events (TC egress)" "$(( $(gstat .events.emitted) - e0 ))" 10
finish
