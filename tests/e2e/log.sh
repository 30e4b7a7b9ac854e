#!/usr/bin/env bash
# End to end, drop events (docs/events.md) in the two-namespace lab, TC egress
# on the client's interface:
#  1. the SecureVideo pack in audit mode, plus a documentation-range rule:
#     traffic to allowed and disallowed destinations and ports, then
#     `sluice log --json` holds exactly the would-be drops (rule, reason,
#     addresses, ports), `sluice top` the same counts, and the --pcap file
#     read back by tshark / tcpdump the same packets;
#  2. filters (--dst, --rule, --verdict), text output, a second reader is
#     refused while one holds the ring buffer;
#  3. a flood of 100,000 packets: no more events than `log rate` allows,
#     emitted + suppressed + lost = 100,000 exactly, every emitted event read;
#  3b. a destination learned from the pack's resolver (dnsmasq at 192.0.2.53):
#     the event and `sluice top` name the rule and the host name;
#  4. `sluice run` as the reader: two `sluice log --follow` attached at once
#     get the same stream, --log-file gets it as JSON lines and is reopened
#     on SIGUSR1, `sluice log` without --follow gets run's backlog, and
#     `sluice top --from` the log file.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd ip jq

TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
id=${ID}l
inst=e2e${id}
C=sl-$id-c
DEV=slc$id

cat > "$TMP/rules" <<RULES
mode audit;
include "$ROOT/rules/securevideo.rules";
rule lab-media { allow udp 6000; allow tcp 8443; to 198.51.100.2; }
RULES

lab_up "$id" || { fail setup "cannot build the namespace lab"; finish; }
on_exit lab_down "$id"
on_exit "$SLUICE" detach --all --instance "$inst"
on_exit rm -f "/run/sluice/$inst.events.lock" "/run/sluice/$inst.sock"
in_c "$id" ping -c 1 -W 1 -q 198.51.100.2 >/dev/null 2>&1   # neighbours (audit mode passes it)
in_c "$id" ping -c 1 -W 1 -q 203.0.113.2 >/dev/null 2>&1

quiet() { "$@" > /dev/null 2>&1; }
# send ADDR PORT N: datagrams from the client
send() { in_c "$id" "$SLUDP" send "$1" "$2" "$3" "${4:-0}" >/dev/null 2>&1; }
ev() { "$SLUICE" stats --json --instance "$inst" | jq -r ".events.$1"; }

T_PREFIX="log/audit/"
if "$SLUICE" apply "$TMP/rules" --dev "$DEV" --netns "$C" --instance "$inst" > "$TMP/out" 2>&1; then
	pass "apply the SecureVideo pack in audit mode"
else
	fail "apply" "$(cat "$TMP/out")"; finish
fi
"$SLUICE" log --instance "$inst" > /dev/null 2>&1   # whatever the pings left
e_before=$(ev emitted)
send 198.51.100.2 6000 5        # allowed: no event
send 198.51.100.2 6001 7        # lab-media's address, not its port: near miss
send 203.0.113.2 7000 3         # no rule's address: policy
in_c "$id" ping -c 2 -i 0.2 -W 1 -q 203.0.113.2 >/dev/null 2>&1     # icmp: policy
"$SLUICE" log --json --instance "$inst" --pcap "$TMP/ev.pcap" > "$TMP/log.json" 2> "$TMP/log.err"
expect_eq "sluice log exits 0" "$?" 0
expect_eq "12 events: the would-be drops, nothing else" "$(wc -l < "$TMP/log.json")" 12
expect_eq "every event is an audit-drop" "$(jq -r .verdict "$TMP/log.json" | sort -u)" "audit-drop"
expect_eq "7 near misses of lab-media to 198.51.100.2 udp/6001" \
	"$(jq -c 'select(.reason == "near-miss" and .rule == "lab-media" and .dst == "198.51.100.2" and .proto == "udp" and .dport == 6001 and .src == "198.51.100.1" and .family == 4)' "$TMP/log.json" | wc -l)" 7
expect_eq "3 policy events to 203.0.113.2 udp/7000 with no rule" \
	"$(jq -c 'select(.reason == "policy" and .rule == null and .dst == "203.0.113.2" and .dport == 7000 and (.sport | type) == "number")' "$TMP/log.json" | wc -l)" 3
expect_eq "2 icmp echo requests: type 8 code 0" \
	"$(jq -c 'select(.proto == "icmp" and .sport == 8 and .dport == 0 and .dst == "203.0.113.2")' "$TMP/log.json" | wc -l)" 2
expect_eq "hook, dev and instance are named" \
	"$(jq -r '[.hook, .dev, .instance] | join(" ")' "$TMP/log.json" | sort -u)" "tc-egress $DEV $inst"
check "every key of the documented shape is there" quiet \
	jq -e -s 'all(.[]; has("time") and has("instance") and has("hook") and has("dev") and has("verdict") and has("reason") and has("rule") and has("family") and has("src") and has("dst") and has("proto") and has("sport") and has("dport") and has("len") and has("name"))' "$TMP/log.json"
expect_eq "nothing left in the buffer after the read" "$("$SLUICE" log --json --instance "$inst" | wc -l)" 0
expect_eq "stats --json: events.emitted grew by 12" "$(( $(ev emitted) - e_before ))" 12
expect_eq "stats: nothing suppressed, nothing lost" "$(ev suppressed)/$(ev lost)" "0/0"

# top: the same counts
"$SLUICE" top --from "$TMP/log.json" --json > "$TMP/top.json"
expect_eq "top: 3 entries" "$(jq '.entries | length' "$TMP/top.json")" 3
expect_eq "top: first entry 198.51.100.2 udp 6001 x7 lab-media" \
	"$(jq -r '.entries[0] | "\(.dst) \(.proto) \(.dport) \(.count) \(.rule)"' "$TMP/top.json")" "198.51.100.2 udp 6001 7 lab-media"
expect_eq "top: then 203.0.113.2 udp 7000 x3 (policy)" \
	"$(jq -r '.entries[1] | "\(.dst) \(.proto) \(.dport) \(.count) \(.reason)"' "$TMP/top.json")" "203.0.113.2 udp 7000 3 policy"
"$SLUICE" top --from "$TMP/log.json" --suggest > "$TMP/suggest" 2>&1
{ echo "policy drop;"; sed -n '/^rule /,/^}/p' "$TMP/suggest"; } > "$TMP/suggest.rules"
check "top --suggest prints rules that sluice check accepts" quiet "$SLUICE" check "$TMP/suggest.rules"
check "top --suggest allows udp 6001 to 198.51.100.2" bash -c "'$SLUICE' lookup --rules '$TMP/suggest.rules' 198.51.100.2 udp 6001 --json | jq -e '.verdict == \"allow\"' >/dev/null"

# pcap: the same packets
if command -v tshark >/dev/null; then
	tshark -r "$TMP/ev.pcap" -T fields -e ip.dst -e udp.dstport -e icmp.type 2>/dev/null | sort | uniq -c |
		awk '{$1=$1; print}' > "$TMP/pcap.txt"
	expect_eq "tshark -r: 12 packets" "$(tshark -r "$TMP/ev.pcap" 2>/dev/null | wc -l)" 12
	check "tshark -r: 7 to 198.51.100.2:6001, 3 to 203.0.113.2:7000, 2 echo requests" \
		bash -c "grep -qx '7 198.51.100.2 6001' $TMP/pcap.txt && grep -qx '3 203.0.113.2 7000' $TMP/pcap.txt && grep -qx '2 203.0.113.2 8' $TMP/pcap.txt"
elif command -v tcpdump >/dev/null; then
	expect_eq "tcpdump -r: 12 packets" "$(tcpdump -nr "$TMP/ev.pcap" 2>/dev/null | wc -l)" 12
else
	skip "pcap read back" "neither tshark nor tcpdump (scripts/install-deps installs them)"
fi

T_PREFIX="log/filters/"
send 198.51.100.2 6001 4
send 203.0.113.2 7000 2
"$SLUICE" log --json --instance "$inst" --dst 203.0.113.0/24 > "$TMP/f1.json"
expect_eq "--dst 203.0.113.0/24: the 2 to 203.0.113.2" "$(jq -r .dst "$TMP/f1.json" | sort | uniq -c | awk '{print $1, $2}')" "2 203.0.113.2"
send 198.51.100.2 6001 4
send 203.0.113.2 7000 2
"$SLUICE" log --json --instance "$inst" --rule lab-media --verdict audit-drop > "$TMP/f2.json"
expect_eq "--rule lab-media --verdict audit-drop: 4" "$(jq -r .rule "$TMP/f2.json" | sort | uniq -c | awk '{print $1, $2}')" "4 lab-media"
send 198.51.100.2 6001 1
"$SLUICE" log --instance "$inst" > "$TMP/text"
check "text: one aligned line naming verdict, reason, rule and endpoints" \
	grep -qE '^[0-9-]+T[0-9:.]+Z audit-drop +near-miss +lab-media +udp +198\.51\.100\.1:[0-9]+ -> 198\.51\.100\.2:6001 len [0-9]+ on '"$DEV"'$' "$TMP/text"
"$SLUICE" log --verdict nope --instance "$inst" > /dev/null 2>&1
expect_eq "--verdict nope: usage error (exit 2)" "$?" 2
# one reader: a second one is refused while the first holds the ring buffer
"$SLUICE" log --follow --json --instance "$inst" > "$TMP/hold.json" 2>&1 &
holder=$!
on_exit kill $holder 2>/dev/null
for _ in $(seq 40); do [ -s "/run/sluice/$inst.events.lock" ] && break; sleep 0.05; done
sleep 0.3
"$SLUICE" log --instance "$inst" > /dev/null 2> "$TMP/second.err"
expect_eq "a second reader is refused (exit 1)" "$?" 1
check "the refusal names the reader's pid and sluice run" \
	bash -c "grep -q 'read by process $holder' $TMP/second.err && grep -q 'sluice run' $TMP/second.err"

T_PREFIX="log/flood/"
e0=$(ev emitted) s0=$(ev suppressed) l0=$(ev lost) lines0=$(wc -l < "$TMP/hold.json")
t0=$(date +%s%N)
send 203.0.113.2 7002 100000
t1=$(date +%s%N)
sleep 1
kill -INT $holder; wait $holder
de=$(( $(ev emitted) - e0 )) ds=$(( $(ev suppressed) - s0 )) dl=$(( $(ev lost) - l0 ))
secs=$(( (t1 - t0 + 999999999) / 1000000000 ))
expect_eq "emitted + suppressed + lost == 100000 (emitted $de, suppressed $ds, lost $dl)" $(( de + ds + dl )) 100000
check "emitted ($de) <= burst 1000 + 1000/s x ${secs} s" test "$de" -le $(( 1000 + 1000 * secs + 1 ))
check "the limit did act: suppressed ($ds) >= 100000 - that" test "$ds" -ge $(( 100000 - 1000 - 1000 * secs - 1 - dl ))
expect_eq "every emitted event reached the reader" "$(( $(wc -l < "$TMP/hold.json") - lines0 ))" "$(( de ))"
expect_eq "nothing lost with a reader attached" "$dl" 0

T_PREFIX="log/name/"
# a learned destination: the pack's resolver (base.rules: 192.0.2.53) answers
# www.securevideo.com with 198.51.100.80; udp to it is a near miss of securevideo-web
if command -v dnsmasq >/dev/null && command -v dig >/dev/null; then
	ip -n "sl-$id-s" addr add 192.0.2.53/32 dev "sls$id"
	ip -n "sl-$id-s" addr add 198.51.100.80/32 dev "sls$id"
	in_s "$id" dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
		--listen-address=192.0.2.53 --port=53 --host-record=www.securevideo.com,198.51.100.80 \
		--pid-file="$TMP/dnsmasq.pid" --log-facility=- > "$TMP/dnsmasq.log" 2>&1 &
	dns_pid=$!
	on_exit kill $dns_pid 2>/dev/null
	for _ in $(seq 50); do
		[ -n "$(in_c "$id" dig @192.0.2.53 +short +time=1 +tries=1 www.securevideo.com 2>/dev/null)" ] && break
		sleep 0.1
	done
	expect_eq "the client resolves www.securevideo.com" \
		"$(in_c "$id" dig @192.0.2.53 +short +time=1 +tries=1 www.securevideo.com 2>/dev/null)" 198.51.100.80
	"$SLUICE" log --instance "$inst" > /dev/null 2>&1
	send 198.51.100.80 7777 2
	"$SLUICE" log --json --instance "$inst" > "$TMP/name.json"
	expect_eq "2 near misses of securevideo-web to the learned 198.51.100.80, named *.securevideo.com" \
		"$(jq -c 'select(.dst == "198.51.100.80" and .rule == "securevideo-web" and .reason == "near-miss" and .name == "*.securevideo.com")' "$TMP/name.json" | wc -l)" 2
	"$SLUICE" top --from "$TMP/name.json" > "$TMP/name.top"
	check "top shows the rule and the host name" grep -qE '^2 +198\.51\.100\.80 +udp +7777 +securevideo-web +near-miss .*\*\.securevideo\.com$' "$TMP/name.top"
else
	skip "learned host name" "dnsmasq or dig missing (scripts/install-deps installs them)"
fi

T_PREFIX="log/run/"
"$SLUICE" run "$TMP/rules" --dev "$DEV" --netns "$C" --instance "$inst" --log-file "$TMP/run.jsonl" \
	> "$TMP/run.out" 2>&1 &
runpid=$!
on_exit kill $runpid 2>/dev/null
for _ in $(seq 100); do [ -S "/run/sluice/$inst.sock" ] && break; sleep 0.1; done
check "sluice run listens on /run/sluice/$inst.sock" test -S "/run/sluice/$inst.sock"
"$SLUICE" log --follow --json --instance "$inst" > "$TMP/fa.json" 2>&1 &
fa=$!
"$SLUICE" log --follow --instance "$inst" > "$TMP/fb.txt" 2>&1 &
fb=$!
on_exit kill $fa $fb 2>/dev/null
sleep 1
send 198.51.100.2 6001 5
send 203.0.113.2 7000 3
got8() { [ "$(jq -c 'select(.dport == 6001 or .dport == 7000)' "$TMP/fa.json" 2>/dev/null | wc -l)" -ge 8 ] &&
	 [ "$(grep -cE ' -> (198\.51\.100\.2:6001|203\.0\.113\.2:7000) ' "$TMP/fb.txt")" -ge 8 ]; }
wait_for 10 got8
sleep 0.2       # nothing more arrives
kill -INT $fa $fb; wait $fa $fb 2>/dev/null
expect_eq "follower 1 (--json) got the 8 events" "$(jq -c 'select(.dport == 6001 or .dport == 7000)' "$TMP/fa.json" | wc -l)" 8
expect_eq "follower 2 (text), at the same time, got them too" "$(grep -cE ' -> (198\.51\.100\.2:6001|203\.0\.113\.2:7000) ' "$TMP/fb.txt")" 8
expect_eq "--log-file holds them as JSON lines" "$(jq -c 'select(.dport == 6001 or .dport == 7000)' "$TMP/run.jsonl" | wc -l)" 8
expect_eq "sluice log without --follow: run's backlog" "$("$SLUICE" log --json --instance "$inst" | jq -c 'select(.dport == 6001 or .dport == 7000)' | wc -l)" 8
mv "$TMP/run.jsonl" "$TMP/run.jsonl.1"
kill -USR1 $runpid
wait_for 10 test -e "$TMP/run.jsonl"
send 198.51.100.2 6001 2
got2() { [ "$(jq -c 'select(.dport == 6001)' "$TMP/run.jsonl" 2>/dev/null | wc -l)" -ge 2 ]; }
wait_for 10 got2
expect_eq "after SIGUSR1 the log file is reopened: the 2 new events there" "$(jq -c 'select(.dport == 6001)' "$TMP/run.jsonl" 2>/dev/null | wc -l)" 2
expect_eq "top --from the log file: 198.51.100.2 udp 6001 x5" \
	"$("$SLUICE" top --from "$TMP/run.jsonl.1" --json | jq -r '.entries[0] | "\(.dst) \(.dport) \(.count)"')" "198.51.100.2 6001 5"
"$SLUICE" top --window 3 --instance "$inst" > "$TMP/top.txt" &
tp=$!
sleep 0.3
send 203.0.113.2 7003 4
wait $tp
check "top --window on the instance (through run): 203.0.113.2 udp 7003 x4" \
	grep -qE '^4 +203\.0\.113\.2 +udp +7003 ' "$TMP/top.txt"
kill -TERM $runpid; wait $runpid
check "run removes its socket when it stops" test ! -e "/run/sluice/$inst.sock"
finish
