#!/usr/bin/env bash
# A local user cannot flood the learner's pending queries (issue 20 item 6;
# docs/dns.md "Floods"): root in the client namespace asks the resolver
# (a small resolver that answers 1.5 s late) for victim.good.example; while
# the answer is on its way, uid 65534 from the same address sends 40,000
# queries (more than four times the 8192 pending entries).  The answer is still learned
# (each client, address and uid, displaces only its own queries) and
# pending_client counts the flood's displaced queries.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd ip jq dig setpriv /usr/bin/python3

TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
chmod 755 "$TMP"
id=${ID}f
inst=fl$id
C=sl-$id-c S=sl-$id-s
RES=198.51.100.2

cat > "$TMP/rules" <<RULES
policy drop;
resolvers $RES;
rule dns { allow udp 53; to $RES; }
rule good { allow tcp 443; to *.good.example; }
RULES
cat > "$TMP/res.py" <<'PY'
# the resolver: victim.good.example -> 203.0.113.77, answered 1.5 s late; nothing else answered
import socket, struct, sys, threading
res, ready = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((res, 53))
open(ready, "w").close()
want = b"\x06victim\x04good\x07example\x00"
while True:
    d, a = s.recvfrom(4096)
    if d[12:12 + len(want)] != want:
        continue
    q = d[12:12 + len(want) + 4]
    r = d[:2] + struct.pack("!HHHHH", 0x8180, 1, 1, 0, 0) + q + \
        struct.pack("!HHHIH", 0xc00c, 1, 1, 300, 4) + socket.inet_aton("203.0.113.77")
    threading.Timer(1.5, s.sendto, (r, a)).start()
PY
cat > "$TMP/flood.py" <<'PY'
import os, socket, struct, sys
res, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
q = b"".join(bytes([len(l)]) + l.encode() for l in "x.good.example".split(".")) + b"\0" + struct.pack("!HH", 1, 1)
for i in range(n):
    try:
        s.sendto(struct.pack("!HHHHHH", i & 0xffff, 0x0100, 1, 0, 0, 0) + q, (res, 53))
    except OSError:
        pass
PY
chmod 644 "$TMP/flood.py"

lab_up "$id" || { fail setup "cannot build the namespace lab"; finish; }
on_exit lab_down "$id"
on_exit "$SLUICE" detach --all --instance "$inst"
ip netns exec "$S" /usr/bin/python3 "$TMP/res.py" "$RES" "$TMP/ready" > "$TMP/res.log" 2>&1 &
on_exit kill $!
for _ in $(seq 50); do [ -e "$TMP/ready" ] && break; sleep 0.1; done
T_PREFIX="dns_flood/"
"$SLUICE" apply "$TMP/rules" --dev "slc$id" --netns "$C" --instance "$inst" > "$TMP/out" 2>&1 ||
	{ fail "apply" "$(cat "$TMP/out")"; finish; }
ctr() { "$SLUICE" learned --json --instance "$inst" | jq -r ".counters.$1"; }
p0=$(ctr pending_client) q0=$(ctr queries)

ip netns exec "$C" dig @$RES +short +time=3 +tries=1 +retry=0 victim.good.example > "$TMP/dig.out" 2>&1 &
dpid=$!
sleep 0.05
ip netns exec "$C" setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 "$TMP/flood.py" "$RES" 40000
wait $dpid
echo "# queries recorded meanwhile: $(( $(ctr queries) - q0 ))"
expect_eq "root's answer arrived (1.5 s late, after the flood)" "$(cat "$TMP/dig.out")" 203.0.113.77
check "root's answer was learned although uid 65534 flooded 40,000 queries meanwhile" \
	jq -e '.learned[] | select(.address == "203.0.113.77")' <("$SLUICE" learned --json --instance "$inst")
check "the flood displaced only its own queries (pending_client +$(( $(ctr pending_client) - p0 )))" \
	test "$(( $(ctr pending_client) - p0 ))" -ge 30000
finish
