#!/usr/bin/env bash
# Neighbour discovery is no covert channel (issue 20 item 2; docs/datapath.md
# §2 step 3): policy drop and no IPv6 rule, TC egress on the client's veth.
# A raw ICMPv6 socket (as a container has: CAP_NET_RAW) sends type 135 with
# a 1 KB payload to 2001:db8:1::2 at hop limit 64 and 255: judged by the
# rules (dropped), counted as policy drops; a small one at hop 255 (a NUD
# probe's shape) passes and counts as nd_pass; the kernel's own neighbour
# discovery still resolves the server.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd ip jq python3

TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
id=${ID}n
inst=nd${id}
C=sl-$id-c S=sl-$id-s DEV=slc$id
printf 'policy drop;\nrule web { allow udp 6000; to 198.51.100.2; }\n' > "$TMP/rules"

cat > "$TMP/nd.py" <<'PY'
import socket, struct, sys, time
mode = sys.argv[1]
if mode == "send":              # send DST TYPE HOP PAYLOAD N
    dst, typ, hop, plen, n = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, hop)
    msg = struct.pack("!BBHI", typ, 0, 0, 0) + b"SLND" + b"x" * (plen - 4)
    for _ in range(n):
        try:
            s.sendto(msg, (dst, 0))
        except OSError:         # ENOBUFS: the filter dropped it
            pass
        time.sleep(0.01)
else:                           # recv SECONDS READY DONE: count our marked messages
    import os                   # until 0.3 s after DONE exists (the sender ended), at most SECONDS
    secs, ready, done = float(sys.argv[2]), sys.argv[3], sys.argv[4]
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.settimeout(0.1)
    open(ready, "w").close()
    got, end, seen = 0, time.time() + secs, None
    while time.time() < end and not (seen and time.time() > seen + 0.3):
        if seen is None and os.path.exists(done):
            seen = time.time()
        try:
            b = s.recv(4096)
        except socket.timeout:
            continue
        if b[8:12] == b"SLND":     # after type, code, checksum, reserved
            got += 1
    print(got)
PY

lab_up "$id" || { fail setup "cannot build the namespace lab"; finish; }
on_exit lab_down "$id"
on_exit "$SLUICE" detach --all --instance "$inst"

T_PREFIX="nd/"
"$SLUICE" apply "$TMP/rules" --dev "$DEV" --netns "$C" --instance "$inst" > "$TMP/out" 2>&1 ||
	{ fail "apply policy drop, no IPv6 rule" "$(cat "$TMP/out")"; finish; }
g() { "$SLUICE" stats --json --instance "$inst" | jq ".$1"; }

# nd TYPE HOP PAYLOAD N: how many of N reached the server
nd() {
	local ready=$(mktemp -u "$TMP/ready.XXXXXXXX") done=$(mktemp -u "$TMP/done.XXXXXXXX")
	ip netns exec "$S" python3 "$TMP/nd.py" recv 15 "$ready" "$done" > "$TMP/recv.out" &
	local pid=$!
	for _ in $(seq 100); do [ -e "$ready" ] && break; sleep 0.05; done
	ip netns exec "$C" python3 "$TMP/nd.py" send 2001:db8:1::2 "$1" "$2" "$3" "$4"
	touch "$done"
	wait $pid
	cat "$TMP/recv.out"
}

ip netns exec "$C" ping -6 -c 1 -W 1 -q 2001:db8:1::2 > /dev/null 2>&1   # resolve the neighbour once
d0=$(g policy.drop_packets)
expect_eq "type 135, 1 KB, hop 64 to 2001:db8:1::2: none of 10 arrive" "$(nd 135 64 1024 10)" 0
expect_eq "type 135, 1 KB, hop 255 to 2001:db8:1::2: none of 10 arrive" "$(nd 135 255 1024 10)" 0
expect_eq "type 134, 16 bytes, hop 255 to 2001:db8:1::2 (no RA goes to a global address): none of 5" \
	"$(nd 134 255 8 5)" 0
expect_ge "... all 25 counted as policy drops (the kernel's own packets may add)" "$(( $(g policy.drop_packets) - d0 ))" 25
n0=$(g nd_pass)
expect_eq "type 135, 24 bytes, hop 255 (a NUD probe's shape) arrives: 5 of 5" "$(nd 135 255 16 5)" 5
check "... counted as nd_pass (+5 at least)" test "$(( $(g nd_pass) - n0 ))" -ge 5

# the kernel's own neighbour discovery still works under the stricter rule
ip -n "$C" neigh flush dev "$DEV"
ip -n "$S" neigh flush dev "sls$id"
ip netns exec "$C" ping -6 -c 1 -W 1 -q 2001:db8:1::2 > /dev/null 2>&1    # dropped, but resolves first
state=$(ip -n "$C" -6 neigh show 2001:db8:1::2 dev "$DEV" | awk '{print $NF}')
check "the client resolves 2001:db8:1::2 by real ND (state $state)" \
	grep -qE '^(REACHABLE|STALE|DELAY|PROBE)$' <<<"$state"
check "stats --json has nd_pass" test "$(g nd_pass)" -gt 0
check "the Prometheus exposition has sluice_nd_packets_total" \
	grep -q "^sluice_nd_packets_total{.*} [1-9]" <("$SLUICE" stats --format prometheus --instance "$inst")
finish
