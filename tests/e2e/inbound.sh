#!/usr/bin/env bash
# End to end, both directions from one rules file, in a gateway lab of four
# namespaces in a line:
#   client (c) -- gateway (g) -- router (r) =mtu 1280= server (s)
# sluice on the gateway's WAN interface: outbound on tc-egress and inbound on
# tc-ingress, one instance.
#  1. TCP and UDP flows to allowed destinations work both ways (IPv4, IPv6):
#     replies and the server's answers from its service port pass inbound.
#  2. Unsolicited traffic from other documentation addresses (and from an
#     allowed address's other ports) is dropped inbound and counted; without
#     the inbound attachment it arrives (the drop is sluice's).
#  3. Path MTU: the router's far side has mtu 1280 and the server's 1500, so
#     a large upload from the client (DF set) needs the router's "fragmentation
#     needed" / "packet too big", which comes from an address no rule names:
#     it passes because it quotes an allowed flow, and the transfer completes.
#  4. Neighbour discovery on the WAN link keeps working (control traffic).
#  5. status and stats say which attachment judges which direction.
source "$(dirname "$0")/../lib.sh"
need_root
need_cmd ip jq socat

TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
id=${ID}i
inst=e2e${id}
C=sl-$id-c G=sl-$id-g R=sl-$id-r S=sl-$id-s
LAN=slgc$id WAN=slgr$id

cat > "$TMP/rules" <<'RULES'
policy drop;
rule media {
    allow tcp 8443;
    allow udp 6000;
    allow icmp;
    allow icmpv6;
    to 198.51.100.10, 2001:db8:3::10;
}
RULES

lab_down4() {
	local ns pids
	for ns in "$C" "$G" "$R" "$S"; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill $pids 2>/dev/null
	done
	sleep 0.2
	for ns in "$C" "$G" "$R" "$S"; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill -9 $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}

lab_up4() {
	local ns
	for ns in "$C" "$G" "$R" "$S"; do ip netns add "$ns" || return 1; done
	ip -n "$C" link add "slc$id" type veth peer name "$LAN" netns "$G" || return 1
	ip -n "$G" link add "$WAN" type veth peer name "slrg$id" netns "$R" || return 1
	ip -n "$R" link add "slrs$id" type veth peer name "sls$id" netns "$S" || return 1
	for ns in "$C" "$G" "$R" "$S"; do
		ip -n "$ns" link set lo up
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_ra=0 \
			net.ipv6.conf.default.accept_ra=0
	done
	for ns in "$G" "$R"; do
		ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	done
	ip -n "$C" addr add 192.0.2.1/25 dev "slc$id"
	ip -n "$C" addr add 2001:db8:1::1/64 dev "slc$id" nodad
	ip -n "$G" addr add 192.0.2.126/25 dev "$LAN"
	ip -n "$G" addr add 2001:db8:1::fe/64 dev "$LAN" nodad
	ip -n "$G" addr add 192.0.2.129/25 dev "$WAN"
	ip -n "$G" addr add 2001:db8:2::1/64 dev "$WAN" nodad
	ip -n "$R" addr add 192.0.2.254/25 dev "slrg$id"
	ip -n "$R" addr add 2001:db8:2::fe/64 dev "slrg$id" nodad
	ip -n "$R" addr add 198.51.100.1/24 dev "slrs$id"
	ip -n "$R" addr add 203.0.113.1/24 dev "slrs$id"
	ip -n "$R" addr add 2001:db8:3::1/64 dev "slrs$id" nodad
	ip -n "$R" addr add 2001:db8:4::1/64 dev "slrs$id" nodad
	ip -n "$S" addr add 198.51.100.10/24 dev "sls$id"
	ip -n "$S" addr add 203.0.113.10/24 dev "sls$id"
	ip -n "$S" addr add 2001:db8:3::10/64 dev "sls$id" nodad
	ip -n "$S" addr add 2001:db8:4::10/64 dev "sls$id" nodad
	# the router's far side is the small link; the server does not know it
	ip -n "$R" link set "slrs$id" mtu 1280
	ip -n "$C" link set "slc$id" up
	ip -n "$G" link set "$LAN" up
	ip -n "$G" link set "$WAN" up
	ip -n "$R" link set "slrg$id" up
	ip -n "$R" link set "slrs$id" up
	ip -n "$S" link set "sls$id" up
	ip -n "$C" route add 198.51.100.0/24 via 192.0.2.126
	ip -n "$C" route add 203.0.113.0/24 via 192.0.2.126
	ip -n "$C" -6 route add 2001:db8:3::/64 via 2001:db8:1::fe
	ip -n "$C" -6 route add 2001:db8:4::/64 via 2001:db8:1::fe
	ip -n "$G" route add 198.51.100.0/24 via 192.0.2.254
	ip -n "$G" route add 203.0.113.0/24 via 192.0.2.254
	ip -n "$G" -6 route add 2001:db8:3::/64 via 2001:db8:2::fe
	ip -n "$G" -6 route add 2001:db8:4::/64 via 2001:db8:2::fe
	ip -n "$R" route add 192.0.2.0/25 via 192.0.2.129
	ip -n "$R" -6 route add 2001:db8:1::/64 via 2001:db8:2::1
	ip -n "$S" route add 192.0.2.0/24 via 198.51.100.1
	ip -n "$S" -6 route add 2001:db8:1::/48 via 2001:db8:3::1
}

lab_up4 || { fail setup "cannot build the four-namespace lab"; lab_down4; finish; }
on_exit lab_down4
on_exit "$SLUICE" detach --all --instance "$inst"
inc() { ip netns exec "$C" "$@"; }
quiet() { "$@" >/dev/null 2>&1; }
ins() { ip netns exec "$S" "$@"; }
for a in 198.51.100.10 203.0.113.10; do inc ping -c 1 -W 2 -q "$a" >/dev/null; done
for a in 2001:db8:3::10 2001:db8:4::10; do inc ping -6 -c 2 -i 0.2 -W 2 -q "$a" >/dev/null; done

# unsolicited SRC SPORT DST N: datagrams from the server side that reach the client
unsolicited() {
	local src=$1 sport=$2 dst=$3 n=$4 i fam=4
	[[ $dst == *:* ]] && fam=6
	: > "$TMP/recv.out"
	inc timeout 10 socat -u "UDP$fam-RECV:7000,bind=${dst/#*:*/[$dst]}" "OPEN:$TMP/recv.out,append" \
		2>/dev/null &
	local pid=$!
	for _ in $(seq 40); do inc ss -lun | grep -q ':7000 ' && break; sleep 0.05; done
	for i in $(seq "$n"); do
		echo "x$i" | ins socat -u - "UDP$fam-SENDTO:${dst/#*:*/[$dst]}:7000,bind=${src/#*:*/[$src]}:$sport" \
			2>/dev/null
	done
	sleep 0.5       # what is dropped never comes; what passes may still be on its way:
	for _ in $(seq 30); do [ "$(wc -l < "$TMP/recv.out")" -ge "$n" ] && break; sleep 0.1; done
	kill $pid 2>/dev/null; wait $pid 2>/dev/null
	wc -l < "$TMP/recv.out"
}

# echo_udp ADDR: the server answers from udp/6000; prints what the client got back
echo_udp() {
	local a=$1 fam=4 b
	[[ $a == *:* ]] && fam=6
	b=${a/#*:*/[$a]}
	ins timeout 10 socat "UDP$fam-RECVFROM:6000,bind=$b" SYSTEM:'read l; echo "pong $l"' 2>/dev/null &
	local pid=$!
	for _ in $(seq 100); do ins ss -Hlun 'sport = :6000' | grep -q . && break; sleep 0.05; done
	echo ping | inc timeout 5 socat -T 3 -t 4 - "UDP$fam:$b:6000" 2>/dev/null
	kill $pid 2>/dev/null; wait $pid 2>/dev/null
}

# upload ADDR BYTES: a TCP transfer client -> server:8443; prints the bytes received
upload() {
	local a=$1 n=$2 fam=4 b
	[[ $a == *:* ]] && fam=6
	b=${a/#*:*/[$a]}
	rm -f "$TMP/got"
	ins timeout 40 socat -u "TCP$fam-LISTEN:8443,bind=$b,reuseaddr" "OPEN:$TMP/got,creat,trunc" 2>/dev/null &
	local pid=$!
	for _ in $(seq 40); do ins ss -ltn | grep -q ':8443 ' && break; sleep 0.05; done
	head -c "$n" /dev/zero | inc timeout 30 socat -u - "TCP$fam:$b:8443" 2>/dev/null
	wait $pid 2>/dev/null
	stat -c %s "$TMP/got" 2>/dev/null || echo 0
}

# --- 0. without the inbound attachment, unsolicited traffic arrives -------------
T_PREFIX="inbound/baseline/"
expect_eq "no sluice: unsolicited udp from 203.0.113.10 x10 arrives" \
	"$(unsolicited 203.0.113.10 6000 192.0.2.1 10)" 10
expect_eq "no sluice: unsolicited udp from [2001:db8:4::10] x10 arrives" \
	"$(unsolicited 2001:db8:4::10 6000 2001:db8:1::1 10)" 10

# --- 1. outbound on tc-egress, inbound on tc-ingress of the WAN side ------------
T_PREFIX="inbound/apply/"
if "$SLUICE" apply "$TMP/rules" --hook tc-egress --dev "$WAN" --netns "$G" --instance "$inst" \
	> "$TMP/out" 2>&1; then pass "apply outbound on tc-egress"; else fail "apply outbound" "$(cat "$TMP/out")"; fi
if "$SLUICE" apply "$TMP/rules" --hook tc-ingress --direction inbound --dev "$WAN" --netns "$G" \
	--instance "$inst" > "$TMP/out" 2>&1; then pass "apply inbound on tc-ingress"
else fail "apply inbound" "$(cat "$TMP/out")"; fi
st=$("$SLUICE" status --json --instance "$inst")
expect_eq "status: tc-egress judges outbound" \
	"$(jq -r '.instances[0].attachments[] | select(.hook == "tc-egress") | .direction' <<<"$st")" outbound
expect_eq "status: tc-ingress judges inbound" \
	"$(jq -r '.instances[0].attachments[] | select(.hook == "tc-ingress") | .direction' <<<"$st")" inbound
check "status text names the directions" bash -c "'$SLUICE' status --instance '$inst' | grep -q 'tc-ingress.*inbound'"
"$SLUICE" apply "$TMP/rules" --hook tc-egress --direction inbound --dev "$WAN" --netns "$G" \
	--instance "$inst" > "$TMP/out" 2>&1
expect_eq "inbound on tc-egress is a usage error" "$?" 2
"$SLUICE" apply "$TMP/rules" --hook tc-ingress --dev "$WAN" --netns "$G" --instance "$inst" \
	> "$TMP/out" 2>&1
expect_eq "re-apply naming the inbound attachment without --direction inbound: refused" "$?" 1
check "the refusal says how" grep -q -- "--direction inbound" "$TMP/out"
expect_eq "... and the attachment still judges inbound" \
	"$("$SLUICE" status --json --instance "$inst" | jq -r '.instances[0].attachments[] | select(.hook == "tc-ingress") | .direction')" inbound
check "re-apply of both without --dev keeps each direction" \
	quiet "$SLUICE" apply "$TMP/rules" --instance "$inst"

# --- 2. allowed flows, both ways -----------------------------------------------
T_PREFIX="inbound/flows/"
expect_eq "udp to 198.51.100.10:6000 and its answer" "$(echo_udp 198.51.100.10)" "pong ping"
expect_eq "udp to [2001:db8:3::10]:6000 and its answer" "$(echo_udp 2001:db8:3::10)" "pong ping"
check "ping 198.51.100.10 (echo replies pass inbound)" quiet inc ping -c 2 -i 0.2 -W 2 -q 198.51.100.10
# neighbour discovery on the WAN link after a flush: NA/NS pass inbound (control)
ip -n "$G" -6 neigh flush dev "$WAN"
check "ping6 2001:db8:3::10 after a WAN neighbour flush (ND passes)" \
	quiet inc ping -6 -c 2 -i 0.2 -W 2 -q 2001:db8:3::10
expect_eq "tcp to 198.51.100.10:8443: 100 kB" "$(upload 198.51.100.10 100000)" 100000

# --- 3. unsolicited traffic: dropped and counted ---------------------------------
T_PREFIX="inbound/unsolicited/"
s0=$("$SLUICE" stats --json --instance "$inst")
expect_eq "udp from 203.0.113.10:6000 (no rule) x20 dropped" \
	"$(unsolicited 203.0.113.10 6000 192.0.2.1 20)" 0
expect_eq "udp from 198.51.100.10:5555 (not its port) x10 dropped" \
	"$(unsolicited 198.51.100.10 5555 192.0.2.1 10)" 0
expect_eq "udp from [2001:db8:4::10]:6000 x10 dropped" \
	"$(unsolicited 2001:db8:4::10 6000 2001:db8:1::1 10)" 0
s1=$("$SLUICE" stats --json --instance "$inst")
pol() { jq -r '.policy.drop_packets' <<<"$1"; }
ind() { jq -r '.attachments[] | select(.hook == "tc-ingress") | .drop_packets' <<<"$1"; }
expect_ge "counted: policy drops +40" "$(( $(pol "$s1") - $(pol "$s0") ))" 40
expect_ge "counted: the inbound attachment dropped +40" "$(( $(ind "$s1") - $(ind "$s0") ))" 40
expect_ge "counted: media drops +10 (near misses: the wrong port)" \
	"$(( $(rule_stat "$s1" media drop_packets) - $(rule_stat "$s0" media drop_packets) ))" 10
check "stats text names the directions" bash -c "'$SLUICE' stats --instance '$inst' | grep -q 'tc-ingress.*inbound'"

# --- 4. path MTU through sluice ---------------------------------------------------
T_PREFIX="inbound/pmtu/"
ip -n "$C" route flush cache 2>/dev/null
expect_eq "tcp upload of 3 MB to 198.51.100.10 across the mtu 1280 link" \
	"$(upload 198.51.100.10 3000000)" 3000000
check "the client learned the path MTU (fragmentation needed passed inbound)" \
	bash -c "ip -n '$C' route get 198.51.100.10 | grep -q 'mtu 1280'"
expect_eq "tcp upload of 3 MB to [2001:db8:3::10] across the mtu 1280 link" \
	"$(upload 2001:db8:3::10 3000000)" 3000000
check "the client learned the IPv6 path MTU (packet too big passed inbound)" \
	bash -c "ip -n '$C' -6 route get 2001:db8:3::10 | grep -q 'mtu 1280'"
check "lookup: the router's own address is not allowed (the errors passed by their quote)" \
	bash -c "'$SLUICE' lookup --instance '$inst' --inbound 192.0.2.254 icmp | grep -q '^drop'"

# --- 5. detach -------------------------------------------------------------------
T_PREFIX="inbound/detach/"
check "detach both" "$SLUICE" detach --dev "$WAN" --netns "$G" --instance "$inst"
expect_eq "after detach: unsolicited udp x5 arrives" "$(unsolicited 203.0.113.10 6000 192.0.2.1 5)" 5
finish
