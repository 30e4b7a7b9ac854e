# scripts/lab.sh - a two-namespace lab for the demo and the end-to-end tests.
#   client namespace  sl-ID-c, interface slcID:  192.0.2.1, 198.51.100.1, 203.0.113.1,
#                                                2001:db8:1::1, 2001:db8:2::1
#   server namespace  sl-ID-s, interface slsID:  the same networks, host .2 / ::2
# Only documentation ranges; nothing leaves the two namespaces.

lab_up() {   # ID
	local id=$1 c=sl-$1-c s=sl-$1-s
	ip netns add "$c" || return 1
	ip netns add "$s" || { ip netns del "$c"; return 1; }
	ip -n "$c" link add "slc$id" type veth peer name "sls$id" netns "$s" || return 1
	for ns in "$c" "$s"; do
		ip -n "$ns" link set lo up
		# no IPv6 DAD delay, no router solicitations noise
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	done
	local n
	for n in 192.0.2 198.51.100 203.0.113; do
		ip -n "$c" addr add "$n.1/24" dev "slc$id"
		ip -n "$s" addr add "$n.2/24" dev "sls$id"
	done
	for n in 1 2; do
		ip -n "$c" addr add "2001:db8:$n::1/64" dev "slc$id" nodad
		ip -n "$s" addr add "2001:db8:$n::2/64" dev "sls$id" nodad
	done
	ip -n "$c" link set "slc$id" up
	ip -n "$s" link set "sls$id" up
}

lab_down() {   # ID: kill what runs in the namespaces (it would keep them alive), delete them
	local ns pids
	for ns in "sl-$1-c" "sl-$1-s"; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill $pids 2>/dev/null
	done
	[ -n "${pids:-}" ] && sleep 0.2
	for ns in "sl-$1-c" "sl-$1-s"; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill -9 $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}

# in_c ID CMD...: run in the client namespace; in_s: in the server's
in_c() { local id=$1; shift; ip netns exec "sl-$id-c" "$@"; }
in_s() { local id=$1; shift; ip netns exec "sl-$id-s" "$@"; }

# lab3_up ID: three namespaces in a line, for gateways and container hosts:
#   sl-ID-c (client, LAN, "container")  slcID   192.0.2.1/24        2001:db8:1::1/64
#   sl-ID-g (gateway, "host")           slgcID  192.0.2.254/24      2001:db8:1::fe/64   (LAN side)
#                                       slgsID  198.51.100.254/24   2001:db8:2::fe/64   (WAN side)
#   sl-ID-s (server, WAN)               slsID   198.51.100.2/24, 203.0.113.2/24, 2001:db8:2::2/64
# The gateway forwards; routes cover the documentation ranges only.
lab3_up() {   # ID
	local id=$1 c=sl-$1-c g=sl-$1-g s=sl-$1-s ns
	ip netns add "$c" && ip netns add "$g" && ip netns add "$s" || return 1
	ip -n "$c" link add "slc$id" type veth peer name "slgc$id" netns "$g" || return 1
	ip -n "$s" link add "sls$id" type veth peer name "slgs$id" netns "$g" || return 1
	for ns in "$c" "$g" "$s"; do
		ip -n "$ns" link set lo up
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	done
	ip netns exec "$g" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	ip -n "$c" addr add 192.0.2.1/24 dev "slc$id"
	ip -n "$c" addr add 2001:db8:1::1/64 dev "slc$id" nodad
	ip -n "$g" addr add 192.0.2.254/24 dev "slgc$id"
	ip -n "$g" addr add 2001:db8:1::fe/64 dev "slgc$id" nodad
	ip -n "$g" addr add 198.51.100.254/24 dev "slgs$id"
	ip -n "$g" addr add 2001:db8:2::fe/64 dev "slgs$id" nodad
	ip -n "$s" addr add 198.51.100.2/24 dev "sls$id"
	ip -n "$s" addr add 203.0.113.2/24 dev "sls$id"
	ip -n "$s" addr add 2001:db8:2::2/64 dev "sls$id" nodad
	ip -n "$c" link set "slc$id" up
	ip -n "$g" link set "slgc$id" up
	ip -n "$g" link set "slgs$id" up
	ip -n "$s" link set "sls$id" up
	ip -n "$c" route add 198.51.100.0/24 via 192.0.2.254
	ip -n "$c" route add 203.0.113.0/24 via 192.0.2.254
	ip -n "$c" -6 route add 2001:db8:2::/64 via 2001:db8:1::fe
	ip -n "$s" route add 192.0.2.0/24 via 198.51.100.254
	ip -n "$s" -6 route add 2001:db8:1::/64 via 2001:db8:2::fe
	# 203.0.113.0/24 lives on the server's link: the gateway reaches it there
	ip -n "$g" route add 203.0.113.0/24 dev "slgs$id"
}

lab3_down() {   # ID
	local ns pids
	for ns in "sl-$1-c" "sl-$1-g" "sl-$1-s"; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill $pids 2>/dev/null
	done
	sleep 0.2
	for ns in "sl-$1-c" "sl-$1-g" "sl-$1-s"; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill -9 $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}

in_g() { local id=$1; shift; ip netns exec "sl-$id-g" "$@"; }
