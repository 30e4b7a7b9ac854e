#!/usr/bin/env bash
# End to end: `sluice run` (docs/dns.md "sluice run").  The dns.sh lab: the
# ruleset on the client's TC egress, dnsmasq in the server namespace as the
# configured resolver (198.51.100.53, the rules file's `resolvers`), only
# documentation addresses, nothing forwarded.  `sluice run` applies the file
# and stays in the foreground:
#   (a) a name with 100 A records resolved by the client: the BPF learner
#       walks 64 records, the rest reach user space through the dns_fallback
#       ring buffer and are learned through sluice_inject (per-name cap 64:
#       the last 64 of the answer stay, the address after the BPF walk passes)
#   (b) exact names are resolved by sluice itself at start: learned with no
#       client query, and a client connecting to such an address (as from its
#       own cache: no DNS query) passes
#   (c) a TTL-1 name is re-resolved when its TTL (floor 2 s) runs out: the
#       learned entry stays live past TTL + grace with no client query
#   (d) SIGHUP with a broken file keeps the running ruleset, with a good one
#       applies it; SIGTERM ends sluice run and leaves the filter in place;
#       detach --all removes everything
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd ip bpftool jq socat dnsmasq dig

TMP=$(mktemp -d)
T_FINAL='cp "$TMP/run.log" /tmp/last-run.log 2>/dev/null; rm -rf "$TMP"'

id=$ID
C=sl-$id-c S=sl-$id-s DEV=slc$id SDEV=sls$id
inst=run$id pin=/sys/fs/bpf/sluice/run$id
RES=198.51.100.53

[ -x "$SLUICE" ] || { fail setup "$SLUICE is not built (make)"; finish; }

cat > "$TMP/rules" <<'RULES'
policy drop;
resolvers 198.51.100.53;
rule dns { allow udp 53; allow tcp 53; to 198.51.100.53; }
rule zoom { allow tcp 443; to zoom.us, short.zoom.us, *.zoom.us; }
RULES

{
	echo no-resolv
	echo no-hosts
	echo bind-interfaces
	echo listen-address=$RES
	echo port=53
	echo local-ttl=300
	echo edns-packet-max=4096
	echo host-record=zoom.us,203.0.113.11
	echo host-record=short.zoom.us,203.0.113.15,1
	echo host-record=other.zoom.us,203.0.113.16
	for n in $(seq 100 199); do echo host-record=many.zoom.us,203.0.113.$n; done
} > "$TMP/dnsmasq.conf"

tcp_ok() {   # ADDR PORT: a TCP exchange from the client succeeds
	in_c "$id" timeout 5 socat -T 2 -t 4 - "TCP:$1:$2,connect-timeout=2" <<<"ping" 2>/dev/null | grep -q ping
}
tcp_fails() { ! tcp_ok "$@"; }
quiet() { "$@" > "$TMP/quiet.out" 2>&1 || { cat "$TMP/quiet.out" >&2; return 1; }; }
q() { in_c "$id" dig @$RES +time=2 +tries=1 +short "$@" 2>/dev/null; }
learned_json() { "$SLUICE" learned --json --instance "$inst" 2>/dev/null; }
ctr() { jq -r --arg c "$1" '.counters[$c] // "missing"' <<<"${2:-$(learned_json)}"; }
learned_has() {   # ADDR NAME: ADDR is learned (live) for the pattern NAME
	learned_json | jq -e --arg a "$1" --arg n "$2" \
		'[.learned[] | select(.address == $a and .name == $n and .live)] | length > 0' >/dev/null
}
learned_field() { learned_json | jq -r --arg a "$1" --arg f "$2" '[.learned[] | select(.address == $a)][0][$f] // "none"'; }
wait_for() {   # SECONDS COMMAND...: until COMMAND succeeds
	local n=$(( $1 * 10 )); shift
	for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
	return 1
}
generation() { "$SLUICE" status --json --instance "$inst" 2>/dev/null | jq -r '.instances[0].generation // "none"'; }
gen_is() { [ "$(generation)" = "$1" ]; }
alive() { kill -0 "$RUN_PID" 2>/dev/null; }

# --- the lab: jumbo MTU so that a 100-record answer is one UDP datagram
lab_up "$id" || { fail setup "cannot build the namespace lab"; finish; }
on_exit lab_down "$id"
ip -n "$C" link set "$DEV" mtu 9000 && ip -n "$S" link set "$SDEV" mtu 9000 ||
	{ fail setup "mtu 9000"; finish; }
{
	echo "addr add $RES/24 dev $SDEV"
	for n in 11 15 16 $(seq 100 199); do echo "addr add 203.0.113.$n/32 dev $SDEV"; done
} > "$TMP/server.batch"
ip -n "$S" -batch "$TMP/server.batch" || { fail setup "server addresses"; finish; }
in_s "$id" socat TCP4-LISTEN:443,fork,reuseaddr EXEC:cat >/dev/null 2>&1 &
in_s "$id" socat TCP4-LISTEN:80,fork,reuseaddr EXEC:cat >/dev/null 2>&1 &
in_s "$id" dnsmasq --keep-in-foreground --conf-file="$TMP/dnsmasq.conf" \
	--pid-file="$TMP/dnsmasq.pid" --log-queries --log-facility=- > "$TMP/dnsmasq.log" 2>&1 &
DNS_PID=$!
on_exit kill "$DNS_PID"
on_exit "$SLUICE" detach --all --instance "$inst"
wait_for 5 test -n "$(q zoom.us)"
expect_eq "dnsmasq: zoom.us A" "$(q zoom.us)" 203.0.113.11
expect_eq "dnsmasq: many.zoom.us has 100 A records in one UDP answer" \
	"$(q +bufsize=4096 +ignore many.zoom.us | grep -c '^203\.')" 100
check "baseline: tcp 203.0.113.11:443 reachable without sluice" tcp_ok 203.0.113.11 443
check "baseline: tcp 203.0.113.16:80 reachable without sluice" tcp_ok 203.0.113.16 80

# --- sluice run
"$SLUICE" run "$TMP/rules" --dev "$DEV" --netns "$C" --instance "$inst" --dns-floor 2 --dns-grace 2 \
	2> "$TMP/run.log" &
RUN_PID=$!
on_exit kill "$RUN_PID"
check "sluice run: started and says it runs" wait_for 10 grep -q 'running (pid' "$TMP/run.log"
check "sluice run: the process is alive" alive
expect_eq "sluice run: applied (generation 1)" "$(generation)" 1
q0=$(grep -c 'query\[' "$TMP/dnsmasq.log")

# (b) exact names resolved by sluice itself, no client query
check "b. zoom.us learned by sluice run (no client query)" wait_for 10 learned_has 203.0.113.11 zoom.us
check "b. short.zoom.us learned by sluice run" wait_for 10 learned_has 203.0.113.15 short.zoom.us
check "b. *.zoom.us names are not resolved by sluice run (other.zoom.us not learned)" \
	bash -c "! $SLUICE learned --json --instance $inst | jq -e '.learned[] | select(.address == \"203.0.113.16\")' >/dev/null"
L=$(learned_json)
expect_ge "b. counter injected: sluice run's answers went through sluice_inject" "$(ctr injected "$L")" 2
check "b. sluice run logged the resolution" grep -q 'resolve zoom.us A: 1 address' "$TMP/run.log"
check "b. a client with the address cached (no DNS query): tcp 203.0.113.11:443 passes" tcp_ok 203.0.113.11 443
check "b. other.zoom.us, never resolved: tcp 203.0.113.16:443 dropped" tcp_fails 203.0.113.16 443

# (a) 100 A records: 64 in BPF, the rest through the ring buffer
f0=$(ctr fallback)
l0=$(ctr learned)
q +bufsize=4096 +ignore many.zoom.us > "$TMP/many"
expect_eq "a. the client resolves many.zoom.us: 100 addresses" "$(grep -c '^203\.' "$TMP/many")" 100
check "a. sluice run read the fallback event of many.zoom.us" \
	wait_for 5 grep -q 'fallback: answer for many.zoom.us' "$TMP/run.log"
L=$(learned_json)
expect_eq "a. counter fallback +1" "$(( $(ctr fallback "$L") - f0 ))" 1
expect_ge "a. counter learned: all 100 addresses went through the learner" "$(( $(ctr learned "$L") - l0 ))" 100
check "a. the log says 36 more address records were learned" \
	grep -q 'many.zoom.us.*64 records walked in BPF.*36 more address records in 1 messages, 36 learned' "$TMP/run.log"
jq -r '.learned[] | select(.name == "*.zoom.us" and .live) | .address' <<<"$L" | sort > "$TMP/got"
tail -n 64 "$TMP/many" | sort > "$TMP/want"
check "a. learned for *.zoom.us: exactly the last 64 addresses of the answer (per-name cap 64)" \
	diff "$TMP/want" "$TMP/got"
last=$(tail -n1 "$TMP/many") first=$(head -n1 "$TMP/many")
check "a. tcp to the answer's last address ($last, past the BPF walk) passes" tcp_ok "$last" 443
check "a. tcp to the answer's first address ($first, evicted by the cap) is dropped" tcp_fails "$first" 443

# (c) TTL 1 (floor 2, grace 2): refreshed by sluice run, no client query
r1=$(learned_field 203.0.113.15 remaining_ms)
sleep 5
r2=$(learned_field 203.0.113.15 remaining_ms)
sleep 3
r3=$(learned_field 203.0.113.15 remaining_ms)
check "c. short.zoom.us (TTL 1 -> floor 2 + grace 2 = 4 s) still live 5 s and 8 s later ($r1, $r2, $r3 ms left)" \
	test "$r2" -gt 0 -a "$r3" -gt 0 2>/dev/null
check "c. tcp 203.0.113.15:443 passes 8 s after it was first learned" tcp_ok 203.0.113.15 443
nq=$(grep -c 'query\[A\] short.zoom.us from 198.51.100.1' "$TMP/dnsmasq.log")
expect_ge "c. dnsmasq saw sluice run ask for short.zoom.us again (queries: $nq)" "$nq" 3

# (d) SIGHUP: a broken file changes nothing, a good one is applied
cp "$TMP/rules" "$TMP/rules.good"
echo 'rule broken { allow tcp 443 to 192.0.2.9; }' >> "$TMP/rules"
kill -HUP "$RUN_PID"
check "d. SIGHUP with a broken file: the error is logged" \
	wait_for 5 grep -Eq 'errors?; nothing was loaded, the running ruleset is unchanged' "$TMP/run.log"
check "d. the error names the file, line and column" grep -q "^sluice run: $TMP/rules:5:[0-9]*: error: " "$TMP/run.log"
check "d. still running" alive
expect_eq "d. still generation 1" "$(generation)" 1
check "d. the running ruleset still filters: tcp 203.0.113.11:443 passes" tcp_ok 203.0.113.11 443
{ cat "$TMP/rules.good"; echo 'rule extra { allow tcp 443; to 203.0.113.16; }'; } > "$TMP/rules"
kill -HUP "$RUN_PID"
check "d. SIGHUP with a good file: generation 2" wait_for 10 gen_is 2
check "d. the new rule is in force: tcp 203.0.113.16:443 passes" tcp_ok 203.0.113.16 443
check "d. zoom.us still learned after the re-apply" learned_has 203.0.113.11 zoom.us

# SIGTERM: sluice run ends, the filter stays
kill -TERM "$RUN_PID"
wait "$RUN_PID"
rc=$?
expect_eq "SIGTERM: sluice run exits 0" "$rc" 0
check "SIGTERM: logged that the filter stays" grep -q 'the filter stays in place' "$TMP/run.log"
check "after sluice run: the instance is still attached" \
	bash -c "$SLUICE status --json --instance $inst | jq -e '.instances[0].attachments | length > 0' >/dev/null"
check "after sluice run: still filtering (tcp 203.0.113.16:80 dropped, 443 passes)" \
	bash -c "$(declare -f tcp_ok in_c); id=$id; ! tcp_ok 203.0.113.16 80 && tcp_ok 203.0.113.16 443"
check "every log line of sluice run is one line starting 'sluice run: '" \
	bash -c "! grep -v '^sluice run: ' '$TMP/run.log'"
check "detach --all" quiet "$SLUICE" detach --all --instance "$inst"
check "detach: pins gone" test ! -e "$pin"
check "detach: no sluice program on $DEV (tcx, clsact)" \
	bash -c "! ip netns exec $C bpftool net show dev $DEV | grep -q sluice"
check "detach: tcp 203.0.113.16:80 reachable again" tcp_ok 203.0.113.16 80
finish
