#!/usr/bin/env bash
# End to end: host names learned from DNS answers (docs/dns.md).  A ruleset
# with host names on the client's TC egress; `sluice apply` adds the DNS
# learner on TC ingress of the same interface.  dnsmasq in the server
# namespace is the configured resolver (198.51.100.53, the rules file's
# `resolvers` statement, never /etc/resolv.conf); a second "rogue" dnsmasq on
# 198.51.100.54 is allowed by the rules for DNS but is not a resolver.  Both
# answer only their own records (documentation addresses), forward nothing.
#
#   - nothing passes to a name's address before its answer; after it, exactly
#     the rule's protocols and ports pass (exact name, *.domain, a CNAME chain
#     of 5 names, 20 A records, AAAA, DNS over TCP, a truncated UDP answer
#     retried over TCP)
#   - names no rule mentions, answers from a non-resolver, unsolicited answers
#     from the resolver's address: nothing learned, counters say why
#   - a deny rule before the name rule keeps the learned address denied
#   - TTL floor, grace and the 1-day cap in `sluice learned --json`; expiry
#     with --dns-floor 1 --dns-grace 1 drops new connections
#   - learned addresses survive a re-apply
#   - no race: 1000 fresh names resolved and a datagram sent right after each
#     answer, every datagram arrives; the cap is per name (64), not per
#     wildcard: all 1000 names under *.zoom.us keep their address (issue 20
#     item 5: the first 936 were evicted while the wildcard shared one ring)
#   - detach --all leaves no pin, program, link or filter; dnsmasq is gone
#   - the learner with clsact filters (--tc-mode clsact) as with TCX links
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd ip tc bpftool jq socat dnsmasq dig

TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'

id=$ID
C=sl-$id-c S=sl-$id-s DEV=slc$id SDEV=sls$id
inst=dns$id pin=/sys/fs/bpf/sluice/dns$id
RES=198.51.100.53 ROGUE=198.51.100.54
NRACE=${NRACE:-1000}

for f in "$SLUICE" "$SLUDP"; do
	[ -x "$f" ] || { fail setup "$f is not built (make)"; finish; }
done

cat > "$TMP/rules" <<'RULES'
policy drop;
resolvers 198.51.100.53;
rule dns { allow udp 53; allow tcp 53; to 198.51.100.53, 198.51.100.54; }
rule deny-first { deny any; to 203.0.113.30; }
rule zoom { allow tcp 443; allow udp 8801-8810; to zoom.us, *.zoom.us; }
rule vsee { allow tcp 443; to *.vsee.com; }
RULES

# --- the race names: r0..r999.zoom.us, each its own address, 1 in 4 IPv4
# (203.0.113.128-254 and 198.51.100.128-254, routed by the client to the
# server, which takes the whole /25s as local: no neighbour entry per
# address) and the rest IPv6 (2001:db8:3::/64, the same way).
: > "$TMP/race.list"
v4=0
for ((i = 0; i < NRACE; i++)); do
	if ((i % 4 == 0 && v4 < 254)); then
		if ((v4 < 127)); then a=203.0.113.$((128 + v4)); else a=198.51.100.$((1 + v4)); fi
		v4=$((v4 + 1))
		echo "r$i.zoom.us A $a 8802" >> "$TMP/race.list"
	else
		echo "r$i.zoom.us AAAA $(printf '2001:db8:3::%x' $((0x1000 + i))) 8803" >> "$TMP/race.list"
	fi
done
NRACE4=$(grep -c ' A ' "$TMP/race.list")
NRACE6=$(grep -c ' AAAA ' "$TMP/race.list")

# --- the resolver's records: documentation addresses only, no upstream
{
	echo no-resolv
	echo no-hosts
	echo bind-interfaces
	echo listen-address=$RES
	echo port=53
	echo local-ttl=30
	echo host-record=a.zoom.us,203.0.113.10
	echo host-record=zoom.us,203.0.113.11
	echo host-record=x.y.vsee.com,203.0.113.12
	echo host-record=unlisted.example,203.0.113.13
	# c1.zoom.us -> c2.other.test -> ... -> c5.other.test A 203.0.113.14
	echo cname=c1.zoom.us,c2.other.test
	echo cname=c2.other.test,c3.other.test
	echo cname=c3.other.test,c4.other.test
	echo cname=c4.other.test,c5.other.test
	echo host-record=c5.other.test,203.0.113.14
	for n in $(seq 100 119); do echo host-record=many.zoom.us,203.0.113.$n; done
	echo host-record=v6.zoom.us,2001:db8:2::10
	echo host-record=short.zoom.us,203.0.113.15,1
	echo host-record=huge.zoom.us,203.0.113.16,2147483647
	echo host-record=tcp.zoom.us,203.0.113.18
	echo host-record=denied.zoom.us,203.0.113.30
	# 40 A records: > 512 bytes, truncated over UDP without EDNS
	for n in $(seq 60 99); do echo host-record=big.vsee.com,198.51.100.$n; done
	while read -r name type addr port; do echo "host-record=$name,$addr"; done < "$TMP/race.list"
} > "$TMP/dnsmasq.conf"
{
	echo no-resolv
	echo no-hosts
	echo bind-interfaces
	echo listen-address=$ROGUE
	echo port=53
	echo host-record=tv.zoom.us,203.0.113.17
} > "$TMP/rogue.conf"

tcp_ok() {   # ADDR PORT: a TCP exchange from the client succeeds
	local a="TCP:$1:$2"
	[[ $1 == *:* ]] && a="TCP6:[$1]:$2"
	in_c "$id" timeout 5 socat -T 2 -t 4 - "$a,connect-timeout=2" <<<"ping" 2>/dev/null | grep -q ping
}
tcp_fails() { ! tcp_ok "$@"; }
quiet() { "$@" > "$TMP/quiet.out" 2>&1 || { cat "$TMP/quiet.out" >&2; return 1; }; }

udp_count() {   # BIND ADDR PORT N: send N datagrams from the client to ADDR, print how many arrived
	local ready=$(mktemp -u "$TMP/ready.XXXXXXXX")
	in_s "$id" "$SLUDP" recv "$1" "$3" 300 "$ready" > "$TMP/recv.out" 2>/dev/null &
	local pid=$!
	for _ in $(seq 50); do [ -e "$ready" ] && break; sleep 0.05; done
	in_c "$id" "$SLUDP" send "$2" "$3" "$4" > /dev/null
	wait $pid
	awk '{print $2}' "$TMP/recv.out"
}

dq() { in_c "$id" dig @$RES +time=2 +tries=1 "$@" 2>/dev/null; }   # dig from the client at the resolver
q() { dq +short "$@"; }   # answers only (addresses, CNAME targets)
addrs() { grep -E '^[0-9a-f.:]+$' | grep -E '[.:][0-9a-f]' | sort; }   # addresses of dig +short, sorted

learned_json() { "$SLUICE" learned --json --instance "$inst" 2>/dev/null; }
ctr() { jq -r --arg c "$1" '.counters[$c] // "missing"' <<<"${2:-$(learned_json)}"; }
# learned_has ADDR RULE [PATTERN...]: ADDR is learned, credited to RULE, with one of the patterns
learned_has() {
	local a=$1 r=$2; shift 2
	local pats='[]'
	[ $# -gt 0 ] && pats=$(printf '%s\n' "$@" | jq -R . | jq -sc .)
	learned_json | jq -e --arg a "$a" --arg r "$r" --argjson p "$pats" \
		'[.learned[] | select(.address == $a and (.rules | index($r)) != null and
			(($p | length) == 0 or (.name as $n | $p | index($n)) != null))] | length > 0' >/dev/null
}
learned_not() {   # ADDR: `sluice learned` works and does not list ADDR
	local j; j=$(learned_json) && jq -e '.learned | type == "array"' <<<"$j" >/dev/null &&
		! jq -e --arg a "$1" '.learned[] | select(.address == $a)' <<<"$j" >/dev/null
}
learned_field() {   # ADDR FIELD: the field of ADDR's first learned entry
	learned_json | jq -r --arg a "$1" --arg f "$2" '[.learned[] | select(.address == $a)][0][$f] // "none"'
}

pinned_progs() {   # "id name" of every program pinned by the instance
	local f
	for f in "$pin"/*; do bpftool -j prog show pinned "$f" 2>/dev/null | jq -r 'select(.id) | "\(.id) \(.name)"'; done | sort -u
}
learner_attached() {   # a TCX link runs a pinned sluice_learn, or a clsact ingress filter does
	local p
	tc -n "$C" filter show dev "$DEV" ingress 2>/dev/null | grep -q sluice_learn && return 0
	for p in $(pinned_progs | awk '$2 == "sluice_learn" {print $1}'); do
		bpftool -j link show | jq -e --argjson p "$p" '.[] | select(.prog_id == $p)' >/dev/null && return 0
	done
	return 1
}

# --- the lab: extra server addresses, routes for the race ranges
lab_up "$id" || { fail setup "cannot build the namespace lab"; finish; }
on_exit lab_down "$id"
{
	echo "addr add $RES/24 dev $SDEV"
	echo "addr add $ROGUE/24 dev $SDEV"
	for n in 10 11 12 13 14 15 16 17 18 19 30 $(seq 100 119); do echo "addr add 203.0.113.$n/32 dev $SDEV"; done
	for n in $(seq 60 99); do echo "addr add 198.51.100.$n/32 dev $SDEV"; done
	echo "addr add 2001:db8:2::10/128 dev $SDEV nodad"
	echo "route add local 203.0.113.128/25 dev lo"
	echo "route add local 198.51.100.128/25 dev lo"
	echo "route add local 2001:db8:3::/64 dev lo"
} > "$TMP/server.batch"
ip -n "$S" -batch "$TMP/server.batch" || { fail setup "server addresses"; finish; }
ip -n "$C" route add 203.0.113.128/25 via 198.51.100.2 &&
	ip -n "$C" route add 198.51.100.128/25 via 198.51.100.2 &&
	ip -n "$C" -6 route add 2001:db8:3::/64 via 2001:db8:2::2 || { fail setup "client routes"; finish; }

# --- servers: TCP echo on 443 (IPv4 and IPv6) and 80, the two DNS servers
in_s "$id" socat TCP4-LISTEN:443,fork,reuseaddr EXEC:cat >/dev/null 2>&1 &
in_s "$id" socat TCP4-LISTEN:80,fork,reuseaddr EXEC:cat >/dev/null 2>&1 &
in_s "$id" socat TCP6-LISTEN:443,fork,reuseaddr,ipv6only=1 EXEC:cat >/dev/null 2>&1 &
in_s "$id" dnsmasq --keep-in-foreground --conf-file="$TMP/dnsmasq.conf" \
	--pid-file="$TMP/dnsmasq.pid" --log-facility=- > "$TMP/dnsmasq.log" 2>&1 &
DNS_PID=$!
on_exit kill "$DNS_PID"
in_s "$id" dnsmasq --keep-in-foreground --conf-file="$TMP/rogue.conf" \
	--pid-file="$TMP/rogue.pid" --log-facility=- > "$TMP/rogue.log" 2>&1 &
ROGUE_PID=$!
on_exit kill "$ROGUE_PID"
on_exit "$SLUICE" detach --all --instance "$inst"
for _ in $(seq 50); do
	[ -n "$(q a.zoom.us)" ] && [ -n "$(in_c "$id" dig @$ROGUE +short +time=1 +tries=1 tv.zoom.us)" ] && break
	sleep 0.1
done

# --- dnsmasq answers as configured (before sluice: nothing is learned)
expect_eq "dnsmasq: a.zoom.us A" "$(q a.zoom.us)" 203.0.113.10
expect_eq "dnsmasq: zoom.us A" "$(q zoom.us)" 203.0.113.11
expect_eq "dnsmasq: x.y.vsee.com A" "$(q x.y.vsee.com)" 203.0.113.12
expect_eq "dnsmasq: unlisted.example A" "$(q unlisted.example)" 203.0.113.13
expect_eq "dnsmasq: c1.zoom.us is a chain of 4 CNAMEs to 203.0.113.14" \
	"$(q c1.zoom.us | tr '\n' ' ')" "c2.other.test. c3.other.test. c4.other.test. c5.other.test. 203.0.113.14 "
expect_eq "dnsmasq: many.zoom.us has 20 A records" "$(q many.zoom.us | addrs | wc -l)" 20
expect_eq "dnsmasq: v6.zoom.us AAAA" "$(q AAAA v6.zoom.us)" 2001:db8:2::10
expect_eq "dnsmasq: short.zoom.us TTL 1" "$(dq +noall +answer short.zoom.us | awk '{print $2, $5}')" "1 203.0.113.15"
expect_eq "dnsmasq: huge.zoom.us TTL 2147483647" \
	"$(dq +noall +answer huge.zoom.us | awk '{print $2, $5}')" "2147483647 203.0.113.16"
expect_eq "dnsmasq: a.zoom.us TTL 30 (below the floor)" "$(dq +noall +answer a.zoom.us | awk '{print $2}')" 30
expect_eq "dnsmasq: tcp.zoom.us A over TCP" "$(q +tcp tcp.zoom.us)" 203.0.113.18
expect_eq "dnsmasq: big.vsee.com truncated over UDP without EDNS" \
	"$(dq +noall +comments +noedns +ignore big.vsee.com | grep -c 'flags:.* tc')" 1
expect_eq "dnsmasq: big.vsee.com 40 A records over TCP" "$(q +tcp big.vsee.com | addrs | wc -l)" 40
expect_eq "dnsmasq: rogue answers tv.zoom.us" \
	"$(in_c "$id" dig @$ROGUE +short +time=1 +tries=1 tv.zoom.us)" 203.0.113.17
expect_eq "dnsmasq: rogue does not forward (a.zoom.us refused)" \
	"$(in_c "$id" dig @$ROGUE +short +time=1 +tries=1 a.zoom.us)" ""
expect_eq "dnsmasq: race names (r0 $(sed -n 1p "$TMP/race.list" | cut -d' ' -f3), r$((NRACE - 1)))" \
	"$(q r0.zoom.us) $(q AAAA r$((NRACE - 1)).zoom.us)" \
	"$(sed -n 1p "$TMP/race.list" | cut -d' ' -f3) $(tail -n1 "$TMP/race.list" | cut -d' ' -f3)"
check "baseline: tcp 203.0.113.10:443 reachable without sluice" tcp_ok 203.0.113.10 443
check "baseline: tcp [2001:db8:2::10]:443 reachable without sluice" tcp_ok 2001:db8:2::10 443
check "baseline: tcp 203.0.113.10:80 reachable without sluice" tcp_ok 203.0.113.10 80
expect_eq "baseline: udp to a race address (IPv4, routed) arrives" "$(udp_count 0.0.0.0 203.0.113.200 8802 1)" 1
expect_eq "baseline: udp to a race address (IPv6, routed) arrives" "$(udp_count :: 2001:db8:3::1234 8803 1)" 1

# --- first a ruleset without host names: its learning maps are minimal
# (issue 23: an instance of a small ruleset costs what it needs); the apply
# with names below makes them anew at full size, and learning works
maxent() { bpftool -j map show pinned "$pin/$1" 2>/dev/null | jq -r '.max_entries'; }
printf 'policy drop;\nrule dns { allow udp 53; allow tcp 53; to %s; }\n' "$RES" > "$TMP/nonames.rules"
if "$SLUICE" apply "$TMP/nonames.rules" --dev "$DEV" --netns "$C" --instance "$inst" > "$TMP/apply0.out" 2>&1; then
	expect_eq "no names: learned, pending, name_ring, name_rings, learn_bloom minimal" \
		"$(for m in learned pending name_ring name_rings learn_bloom; do maxent $m; done | tr '\n' ' ')" "64 64 1 1 1 "
	p0=$(for f in "$pin"/prog-*; do bpftool -j prog show pinned "$f" | jq -r '.map_ids[]'; done 2>/dev/null |
		sort -u | while read -r m; do bpftool -j map show id "$m" | jq -r 'select(.name == "pending_cl") | .max_entries'; done | sort -u)
	expect_eq "no names: pending_cl minimal" "${p0:-none}" 1
else
	fail "apply without names" "$(cat "$TMP/apply0.out")"
fi

# --- apply
if ! "$SLUICE" apply "$TMP/rules" --dev "$DEV" --netns "$C" --instance "$inst" > "$TMP/apply.out" 2>&1; then
	fail "apply" "$(cat "$TMP/apply.out")"
	finish
fi
pass "apply"
check "apply: no 'not enforced' warning for host names" bash -c "! grep -qi 'not enforced' $TMP/apply.out"
check "sluice learned --json works" bash -c "$SLUICE learned --json --instance $inst | jq -e '.learned and .counters' >/dev/null"
check "the learner runs on the ingress of $DEV" learner_attached
expect_eq "with names: learned, name_rings, learn_bloom made anew at full size" \
	"$(for m in learned name_rings learn_bloom; do maxent $m; done | tr '\n' ' ')" \
	"16384 $(awk '/define SL_NAME_RINGS/ {print $3}' "$ROOT/include/sluice.h") $((1 << ($(awk '/define SL_BLOOM_LOG/ {print $3}' "$ROOT/include/sluice.h") - 6))) "
L0=$(learned_json)

# 1. nothing before the answer
check "1. before DNS: tcp 203.0.113.10:443 dropped" tcp_fails 203.0.113.10 443

# 2. a.zoom.us (*.zoom.us)
expect_eq "2. dig a.zoom.us" "$(q a.zoom.us)" 203.0.113.10
check "2. after DNS: tcp 203.0.113.10:443 passes" tcp_ok 203.0.113.10 443
check "2. learned: 203.0.113.10 rule zoom, name a.zoom.us or *.zoom.us" \
	learned_has 203.0.113.10 zoom a.zoom.us '*.zoom.us'
r=$(learned_field 203.0.113.10 remaining_ms)
check "2. TTL 30 -> floor 60 + grace 120: remaining_ms in [170000, 180000] (got $r)" \
	test "$r" -ge 170000 -a "$r" -le 180000 2>/dev/null
expect_eq "2. learned: ttl 30 as answered" "$(learned_field 203.0.113.10 ttl)" 30
expect_ge "2. stats --json: dns.learned counter" \
	"$("$SLUICE" stats --json --instance "$inst" | jq '.dns.learned // -1')" 1
lk() { "$SLUICE" lookup --json --instance "$inst" "$@" 2>/dev/null | jq -r '"\(.verdict) \(.rule) \(.reason) \(.learned)"'; }
expect_eq "2. lookup (loaded maps) 203.0.113.10 tcp 443: allowed by zoom, learned" \
	"$(lk 203.0.113.10 tcp 443)" "allow zoom rule true"
expect_eq "2. lookup (loaded maps) 203.0.113.10 tcp 80: near miss of zoom, learned" \
	"$(lk 203.0.113.10 tcp 80)" "drop zoom near_miss true"
expect_eq "2. lookup (loaded maps) 203.0.113.13 (unlisted name) tcp 443: policy" \
	"$(lk 203.0.113.13 tcp 443)" "drop null policy false"
expect_eq "2. udp 203.0.113.10:8805 passes (zoom's udp ports)" "$(udp_count 203.0.113.10 203.0.113.10 8805 3)" 3
expect_eq "2. udp 203.0.113.10:8811 dropped (not a zoom port)" "$(udp_count 203.0.113.10 203.0.113.10 8811 3)" 0
check "2. tcp 203.0.113.10:80 dropped (not a zoom port)" tcp_fails 203.0.113.10 80
L1=$(learned_json)
check "2. counters: queries, answers, learned increased" \
	test "$(ctr queries "$L1")" -gt "$(ctr queries "$L0")" -a "$(ctr answers "$L1")" -gt "$(ctr answers "$L0")" \
	-a "$(ctr learned "$L1")" -gt "$(ctr learned "$L0")"

# 3. exact name, deeper wildcard, a name no rule mentions
q zoom.us >/dev/null; q x.y.vsee.com >/dev/null; q unlisted.example >/dev/null
check "3. zoom.us (exact): tcp 203.0.113.11:443 passes" tcp_ok 203.0.113.11 443
check "3. learned: 203.0.113.11 rule zoom, name zoom.us" learned_has 203.0.113.11 zoom zoom.us
check "3. x.y.vsee.com: tcp 203.0.113.12:443 passes" tcp_ok 203.0.113.12 443
check "3. learned: 203.0.113.12 rule vsee, name x.y.vsee.com or *.vsee.com" \
	learned_has 203.0.113.12 vsee x.y.vsee.com '*.vsee.com'
expect_eq "3. x.y.vsee.com: udp 203.0.113.12:8801 dropped (vsee is tcp only)" \
	"$(udp_count 203.0.113.12 203.0.113.12 8801 3)" 0
check "3. unlisted.example: tcp 203.0.113.13:443 dropped" tcp_fails 203.0.113.13 443
check "3. unlisted.example not learned" learned_not 203.0.113.13

# 4. CNAME chain
expect_eq "4. dig c1.zoom.us ends at 203.0.113.14" "$(q c1.zoom.us | tail -n1)" 203.0.113.14
check "4. CNAME chain: tcp 203.0.113.14:443 passes" tcp_ok 203.0.113.14 443
check "4. learned: 203.0.113.14 rule zoom" learned_has 203.0.113.14 zoom

# 5. 20 A records
q many.zoom.us >/dev/null
expect_eq "5. many.zoom.us: all 20 addresses learned" \
	"$(learned_json | jq '[.learned[] | select(.address | test("^203\\.0\\.113\\.1(0[0-9]|1[0-9])$")) | select(.rules | index("zoom")) | .address] | unique | length')" 20
check "5. many.zoom.us: tcp 203.0.113.100:443 passes" tcp_ok 203.0.113.100 443
check "5. many.zoom.us: tcp 203.0.113.119:443 passes" tcp_ok 203.0.113.119 443

# 6. IPv6
expect_eq "6. dig AAAA v6.zoom.us" "$(q AAAA v6.zoom.us)" 2001:db8:2::10
check "6. AAAA: tcp [2001:db8:2::10]:443 passes" tcp_ok 2001:db8:2::10 443
check "6. learned: 2001:db8:2::10 rule zoom" learned_has 2001:db8:2::10 zoom

# 7. DNS over TCP; a truncated UDP answer retried over TCP
check "7. before DNS: tcp 203.0.113.18:443 dropped" tcp_fails 203.0.113.18 443
expect_eq "7. dig +tcp tcp.zoom.us" "$(q +tcp tcp.zoom.us)" 203.0.113.18
check "7. DNS over TCP: tcp 203.0.113.18:443 passes" tcp_ok 203.0.113.18 443
check "7. learned: 203.0.113.18 rule zoom" learned_has 203.0.113.18 zoom
t0=$(ctr truncated)
q +noedns +ignore big.vsee.com >/dev/null
check "7. truncated UDP answer: counter truncated +1" test "$(ctr truncated)" -gt "$t0" 2>/dev/null
check "7. truncated UDP answer: nothing learned from it" learned_not 198.51.100.99
expect_eq "7. dig +noedns big.vsee.com retries over TCP: 40 addresses" "$(q +noedns big.vsee.com | addrs | wc -l)" 40
expect_eq "7. big.vsee.com: 40 addresses learned" \
	"$(learned_json | jq '[.learned[] | select(.address | test("^198\\.51\\.100\\.([6-9][0-9])$")) | select(.rules | index("vsee")) | .address] | unique | length')" 40
check "7. big.vsee.com: tcp 198.51.100.99:443 passes" tcp_ok 198.51.100.99 443

# 8. answers from elsewhere
L0=$(learned_json)
expect_eq "8. rogue (allowed for DNS, not a resolver) answers tv.zoom.us" \
	"$(in_c "$id" dig @$ROGUE +short +time=2 +tries=1 tv.zoom.us)" 203.0.113.17
check "8. rogue answer: 203.0.113.17 not learned" learned_not 203.0.113.17
check "8. rogue answer: tcp 203.0.113.17:443 dropped" tcp_fails 203.0.113.17 443
L1=$(learned_json)
check "8. rogue answer: counter spoofed or unsolicited increased" \
	test $(( $(ctr spoofed "$L1") + $(ctr unsolicited "$L1") )) -gt $(( $(ctr spoofed "$L0") + $(ctr unsolicited "$L0") ))
# an answer from the resolver's own address and port 53 that no query asked for:
# ux.zoom.us A 203.0.113.19
printf '\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00\x02ux\x04zoom\x02us\x00\x00\x01\x00\x01\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\xcb\x00\x71\x13' > "$TMP/ux.bin"
check "8. unsolicited answer sent from $RES:53" \
	in_s "$id" socat -u "OPEN:$TMP/ux.bin" "UDP4-SENDTO:198.51.100.1:33333,bind=$RES:53,reuseaddr"
sleep 0.2
L2=$(learned_json)
check "8. unsolicited answer: counter unsolicited increased" test "$(ctr unsolicited "$L2")" -gt "$(ctr unsolicited "$L1")"
check "8. unsolicited answer: 203.0.113.19 not learned" learned_not 203.0.113.19
check "8. unsolicited answer: tcp 203.0.113.19:443 dropped" tcp_fails 203.0.113.19 443

# 9. a deny rule before the name rule
s0=$("$SLUICE" stats --json --instance "$inst")
expect_eq "9. dig denied.zoom.us" "$(q denied.zoom.us)" 203.0.113.30
check "9. learned: 203.0.113.30 rule zoom" learned_has 203.0.113.30 zoom
check "9. deny-first still wins: tcp 203.0.113.30:443 dropped" tcp_fails 203.0.113.30 443
s1=$("$SLUICE" stats --json --instance "$inst")
check "9. stats: deny-first drop_packets increased" \
	test "$(rule_stat "$s1" deny-first drop_packets)" -gt "$(rule_stat "$s0" deny-first drop_packets)"
check "stats --json keeps its shape (rules, policy, attachments)" quiet jq -e '(.rules | type == "array") and
	(.policy.drop_packets | type == "number") and (.attachments | type == "array")' <<<"$s1"
check "stats: rule zoom passed packets" test "$(rule_stat "$s1" zoom pass_packets)" -gt 0

# the 1-day cap on a huge TTL
q huge.zoom.us >/dev/null
r=$(learned_field 203.0.113.16 remaining_ms)
check "TTL 2147483647 capped at 1 day + grace: remaining_ms in [86400000, 86520000] (got $r)" \
	test "$r" -ge 86400000 -a "$r" -le 86520000 2>/dev/null

# learned addresses survive a re-apply of the rules
check "re-apply the same rules" quiet "$SLUICE" apply "$TMP/rules" --instance "$inst"
check "re-apply: 203.0.113.10 still learned" learned_has 203.0.113.10 zoom
check "re-apply: tcp 203.0.113.10:443 still passes (no new DNS)" tcp_ok 203.0.113.10 443
check "re-apply: unlisted tcp 203.0.113.13:443 still dropped" tcp_fails 203.0.113.13 443

# 11. no race: every datagram sent right after its answer arrives
c0=$(ctr cap_name)
in_s "$id" "$SLUDP" recv 0.0.0.0 8802 3000 "$TMP/ready4" > "$TMP/race4.out" 2>/dev/null &
rp4=$!
in_s "$id" "$SLUDP" recv :: 8803 3000 "$TMP/ready6" > "$TMP/race6.out" 2>/dev/null &
rp6=$!
for _ in $(seq 50); do [ -e "$TMP/ready4" ] && [ -e "$TMP/ready6" ] && break; sleep 0.05; done
t_race=$SECONDS
in_c "$id" env SLUDP="$SLUDP" RES=$RES bash -c '
	bad=0
	while read -r name type addr port; do
		a=$(dig @$RES +short +time=2 +tries=1 "$name" $type)
		[ "$a" = "$addr" ] || { bad=$((bad + 1)); continue; }
		"$SLUDP" send "$a" $port 1 > /dev/null
	done
	echo $bad' < "$TMP/race.list" > "$TMP/race.bad"
t_race=$((SECONDS - t_race))
wait $rp4 $rp6
expect_eq "11. race: $NRACE names resolved as configured" "$(cat "$TMP/race.bad")" 0
expect_eq "11. race: $NRACE4 IPv4 datagrams, each sent right after its answer, all arrived (${t_race}s)" \
	"$(awk '{print $2}' "$TMP/race4.out")" "$NRACE4"
expect_eq "11. race: $NRACE6 IPv6 datagrams, each sent right after its answer, all arrived" \
	"$(awk '{print $2}' "$TMP/race6.out")" "$NRACE6"
# the cap is per name: every race name (one address each) under *.zoom.us stays
if ((NRACE > 64)); then
	expect_eq "11. per name: no cap_name eviction for $NRACE names of one address each" "$(ctr cap_name)" "$c0"
	first=$(sed -n 1p "$TMP/race.list" | cut -d' ' -f3)
	check "11. per name: the first race address ($first) is still learned" learned_has "$first" zoom
	expect_eq "11. per name: udp to $first passes" "$(udp_count 0.0.0.0 "$first" 8802 2)" 2
	last=$(tail -n1 "$TMP/race.list" | cut -d' ' -f3)
	expect_eq "11. per name: udp to the last race address ($last) passes" "$(udp_count :: "$last" 8803 2)" 2
fi

# 10. expiry: TTL 1, floor 1, grace 1
check "10. re-apply with --dns-floor 1 --dns-grace 1" \
	quiet "$SLUICE" apply "$TMP/rules" --instance "$inst" --dns-floor 1 --dns-grace 1
expect_eq "10. dig short.zoom.us" "$(q short.zoom.us)" 203.0.113.15
check "10. TTL 1: tcp 203.0.113.15:443 passes" tcp_ok 203.0.113.15 443
r=$(learned_field 203.0.113.15 remaining_ms)
check "10. learned: remaining_ms <= 2000 (got $r)" test "$r" -le 2000 2>/dev/null
sleep 3
check "10. after 3 s: a new connection to 203.0.113.15:443 is dropped" tcp_fails 203.0.113.15 443
r=$(learned_field 203.0.113.15 remaining_ms)
check "10. learned: 203.0.113.15 expired (remaining_ms $r)" bash -c "[ '$r' = none ] || [ '$r' -le 0 ]"

# --- the dns-learn attachment says what it read and learned, not "passed 0 dropped 0"
st=$("$SLUICE" status --instance "$inst" 2>/dev/null | grep ' dns-learn ')
check "status: the dns-learn attachment shows the answers it read and the addresses it learned ($st)" \
	bash -c "grep -qE 'answers read [1-9][0-9]*, addresses learned [1-9]' <<<\"\$1\" && ! grep -q 'passed 0 dropped 0' <<<\"\$1\"" _ "$st"
expect_ge "status --json: the dns-learn attachment's dns_learned" \
	"$("$SLUICE" status --json --instance "$inst" | jq '[.instances[0].attachments[] | select(.hook == "dns-learn") | .dns_learned] | first // 0')" 1

# --- detach --all leaves nothing
progs=$(pinned_progs | awk '{print $1}')
links=$("$SLUICE" status --json --instance "$inst" | jq -r '.instances[].attachments[].link_id // empty' | grep -v '^0$')
check "status: the instance has programs pinned ($(echo $progs)) and links ($(echo $links))" test -n "$progs" -a -n "$links"
check "detach --all" quiet "$SLUICE" detach --all --instance "$inst"
check "detach: pins gone" test ! -e "$pin"
check "detach: no program of the instance is loaded" ids_gone prog $progs
check "detach: no TCX link of the instance" ids_gone link $links
check "detach: no sluice filter on $DEV (egress, ingress)" \
	bash -c "! tc -n $C filter show dev $DEV egress | grep -q sluice && ! tc -n $C filter show dev $DEV ingress | grep -q sluice"
check "detach: status no longer lists the instance" \
	bash -c "! $SLUICE status --json | jq -e --arg i $inst '.instances[] | select(.instance == \$i)' >/dev/null"
check "detach: unlisted tcp 203.0.113.13:443 reachable again" tcp_ok 203.0.113.13 443

# --- the same with clsact filters instead of TCX links (a fresh instance: nothing learned)
inst=dnsc$id pin=/sys/fs/bpf/sluice/dnsc$id
on_exit "$SLUICE" detach --all --instance "$inst"
check "clsact: apply --tc-mode clsact" \
	quiet "$SLUICE" apply "$TMP/rules" --dev "$DEV" --netns "$C" --instance "$inst" --tc-mode clsact
check "clsact: the learner runs on the ingress of $DEV" learner_attached
check "clsact: before DNS: tcp 203.0.113.10:443 dropped" tcp_fails 203.0.113.10 443
expect_eq "clsact: dig a.zoom.us" "$(q a.zoom.us)" 203.0.113.10
check "clsact: after DNS: tcp 203.0.113.10:443 passes" tcp_ok 203.0.113.10 443
check "clsact: learned: 203.0.113.10 rule zoom" learned_has 203.0.113.10 zoom
check "clsact: detach --all" quiet "$SLUICE" detach --all --instance "$inst"
check "clsact: detach: pins gone" test ! -e "$pin"
check "clsact: detach: no sluice filter on $DEV (egress, ingress)" \
	bash -c "! tc -n $C filter show dev $DEV egress | grep -q sluice && ! tc -n $C filter show dev $DEV ingress | grep -q sluice"

# --- cleanup: dnsmasq is gone, the namespaces too
kill "$DNS_PID" "$ROGUE_PID" 2>/dev/null
for _ in $(seq 50); do kill -0 "$DNS_PID" 2>/dev/null || kill -0 "$ROGUE_PID" 2>/dev/null || break; sleep 0.1; done
check "cleanup: both dnsmasq processes are gone" bash -c "! kill -0 $DNS_PID 2>/dev/null && ! kill -0 $ROGUE_PID 2>/dev/null"
lab_down "$id"
check "cleanup: namespaces gone" bash -c "! ip netns list | grep -q 'sl-$id-'"
check "cleanup: no process left of this run's dnsmasq" bash -c "! pgrep -f '$TMP/(dnsmasq|rogue).conf' >/dev/null"
finish
