#!/usr/bin/env bash
# End to end: a ruleset on the client's TC egress (TCX, then clsact), real
# TCP, UDP and ICMP between two namespaces over veth; what arrives, what does
# not, counters through `sluice stats --json` and `bpftool map dump`, atomic
# re-apply under continuous traffic, a bad rules file leaving the running
# ruleset untouched, and a clean detach.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd ip bpftool jq socat ping

TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'

cat > "$TMP/rules" <<'RULES'
policy drop;
rule counted { allow udp 6000; to 192.0.2.2; }
rule web {
    allow tcp 8080;
    allow udp 5000, 7000;
    allow icmp;
    allow icmpv6;
    to 192.0.2.2, 2001:db8:1::2;
}
rule blocked { deny any; to 198.51.100.0/24; }
rule web6 { allow tcp 8080; allow udp 7000; to 2001:db8:2::2; }
RULES
# the same policy for the traffic under test, other rule order and names
cat > "$TMP/rules2" <<'RULES'
policy drop;
rule web6 { allow tcp 8080; allow udp 7000; to 2001:db8:2::2; }
rule web-b { allow udp 7000, 5000; allow tcp 8080; allow icmp; allow icmpv6; to 192.0.2.2, 2001:db8:1::2; }
rule counted { allow udp 6000; to 192.0.2.2; }
rule blocked { deny any; to 198.51.100.0/24; }
RULES
printf 'policy drop;\nrule broken { allow tcp 10,000-60,000; to 192.0.2.2; }\n' > "$TMP/bad"

tcp_ok() {   # ID ADDR PORT: a TCP exchange succeeds
	local a="TCP:$2:$3"
	[[ $2 == *:* ]] && a="TCP6:[$2]:$3"
	in_c "$1" timeout 5 socat -T 2 -t 4 - "$a,connect-timeout=2" <<<"ping" 2>/dev/null | grep -q ping
}

tcp_fails() { ! tcp_ok "$@"; }

udp_count() {   # ID ADDR PORT N GAP: send N datagrams, print how many arrived
	local id=$1 a=$2 p=$3 n=$4 gap=${5:-0} ready=$(mktemp -u "$TMP/ready.XXXXXXXX")
	in_s "$id" "$SLUDP" recv "$a" "$p" 300 "$ready" > "$TMP/recv.out" 2>/dev/null &
	local pid=$!
	for _ in $(seq 50); do [ -e "$ready" ] && break; sleep 0.05; done
	in_c "$id" "$SLUDP" send "$a" "$p" "$n" "$gap" > /dev/null
	wait $pid
	awk '{print $2}' "$TMP/recv.out"
}

run_mode() {   # tcx | clsact
	local mode=$1
	local id=${ID}${mode:0:1}
	local inst=e2e$id
	local T_PREFIX="tc_egress/$mode/" pin=/sys/fs/bpf/sluice/$inst
	lab_up "$id" || { fail setup "cannot build the namespace lab"; return; }
	on_exit lab_down "$id"
	on_exit "$SLUICE" detach --all --instance "$inst"

	# TCP echo servers in the server namespace
	in_s "$id" socat TCP-LISTEN:8080,fork,reuseaddr,bind=192.0.2.2 EXEC:cat >/dev/null 2>&1 &
	in_s "$id" socat TCP6-LISTEN:8080,fork,reuseaddr,bind=[2001:db8:1::2] EXEC:cat >/dev/null 2>&1 &
	in_s "$id" socat TCP6-LISTEN:8080,fork,reuseaddr,bind=[2001:db8:2::2] EXEC:cat >/dev/null 2>&1 &
	in_s "$id" socat TCP-LISTEN:8081,fork,reuseaddr,bind=192.0.2.2 EXEC:cat >/dev/null 2>&1 &
	listening() { [ "$(in_s "$id" ss -Hltn 'sport = :8080 or sport = :8081' | wc -l)" -ge 4 ]; }
	wait_for 5 listening
	check "baseline tcp 192.0.2.2:8081 reachable without sluice" tcp_ok "$id" 192.0.2.2 8081

	if ! "$SLUICE" apply "$TMP/rules" --dev "slc$id" --netns "sl-$id-c" --instance "$inst" \
		--tc-mode "$mode" > "$TMP/apply.out" 2>&1; then
		fail "apply" "$(cat "$TMP/apply.out")"
		return
	fi
	pass "apply"
	local st
	st=$("$SLUICE" status --json --instance "$inst")
	expect_eq "status shows the $mode attachment" \
		"$(jq -r '.instances[0].attachments[0].mode + " " + .instances[0].attachments[0].dev' <<<"$st")" \
		"$mode slc$id"
	local lid=""
	if [ "$mode" = tcx ]; then
		lid=$(jq -r '.instances[0].attachments[0].link_id' <<<"$st")
		expect_eq "bpftool: link $lid runs the pinned program" \
			"$(bpftool -j link show id "$lid" | jq .prog_id)" "$(bpftool -j prog show pinned "$pin/prog-0" | jq .id)"
		expect_eq "bpftool: link $lid is attached to slc$id" \
			"$(bpftool -j link show id "$lid" | jq -r '.type')" "11"
	else
		check "tc filter shows the clsact program" \
			bash -c "tc -n sl-$id-c filter show dev slc$id egress | grep -q sluice_tc"
	fi

	# --- what passes and what does not
	check "tcp 192.0.2.2:8080 allowed" tcp_ok "$id" 192.0.2.2 8080
	check "tcp 192.0.2.2:8081 dropped (port not allowed)" tcp_fails "$id" 192.0.2.2 8081
	check "tcp [2001:db8:1::2]:8080 allowed" tcp_ok "$id" 2001:db8:1::2 8080
	check "tcp [2001:db8:2::2]:8080 allowed (rule web6)" tcp_ok "$id" 2001:db8:2::2 8080
	check "icmp echo 192.0.2.2 allowed" in_c "$id" ping -c 2 -i 0.2 -W 1 -q 192.0.2.2
	check "icmpv6 echo 2001:db8:1::2 allowed" in_c "$id" ping -6 -c 2 -i 0.2 -W 1 -q 2001:db8:1::2
	check "icmp echo 198.51.100.2 denied" bash -c "! ip netns exec sl-$id-c ping -c 1 -W 1 -q 198.51.100.2 >/dev/null"
	check "icmpv6 echo 2001:db8:2::2 dropped (only tcp/udp there)" \
		bash -c "! ip netns exec sl-$id-c ping -6 -c 1 -W 1 -q 2001:db8:2::2 >/dev/null"

	# --- exact counters: fresh traffic with known counts
	local s0 s1 d
	s0=$("$SLUICE" stats --json --instance "$inst")
	expect_eq "udp 192.0.2.2:6000 x50 all arrive" "$(udp_count "$id" 192.0.2.2 6000 50)" 50
	expect_eq "udp 192.0.2.2:6001 x20 none arrive" "$(udp_count "$id" 192.0.2.2 6001 20)" 0
	expect_eq "udp 198.51.100.2:6000 x30 none arrive" "$(udp_count "$id" 198.51.100.2 6000 30)" 0
	expect_eq "udp 203.0.113.2:6000 x10 none arrive" "$(udp_count "$id" 203.0.113.2 6000 10)" 0
	s1=$("$SLUICE" stats --json --instance "$inst")
	d() { echo $(( $(rule_stat "$s1" "$1" "$2") - $(rule_stat "$s0" "$1" "$2") )); }
	expect_eq "stats: counted pass_packets +50" "$(d counted pass_packets)" 50
	# 16-byte payload: 14 ethernet + 20 IPv4 + 8 UDP + 16
	expect_eq "stats: counted pass_bytes +50*58" "$(d counted pass_bytes)" $((50 * 58))
	expect_eq "stats: counted near-miss drops +20 (udp/6001)" "$(d counted near_miss_packets)" 20
	expect_eq "stats: counted drop_packets +20" "$(d counted drop_packets)" 20
	expect_eq "stats: last near miss is udp/6001" "$(rule_stat "$s1" counted last_near_miss)" "udp/6001"
	expect_eq "stats: blocked drop_packets +30" "$(d blocked drop_packets)" 30
	# policy drops: the 10 unmatched plus the 20 near misses (also policy drops)
	expect_eq "stats: policy drop_packets +30" \
		"$(( $(jq .policy.drop_packets <<<"$s1") - $(jq .policy.drop_packets <<<"$s0") ))" 30
	check "stats: non_ip counted ARP" test "$(jq .non_ip <<<"$s1")" -gt 0

	# the same counters through bpftool alone, rule names from the rules map
	local slot bt
	slot=$(bpftool -j map dump pinned "$pin/rules" |
		jq -r '.[].formatted | select(.value.name == "counted") | .key')
	bt=$(bpftool -j map dump pinned "$pin/counters" |
		jq --argjson k "$slot" '[.[].formatted | select(.key == $k) | .values[].value.pass_packets] | add')
	expect_eq "bpftool: counters[rules.counted].pass_packets == sluice stats" \
		"$bt" "$(rule_stat "$s1" counted pass_packets)"

	# lookup from the loaded maps agrees with the traffic
	expect_eq "lookup (maps) 192.0.2.2 udp 6001 -> near_miss counted" \
		"$("$SLUICE" lookup --json --instance "$inst" 192.0.2.2 udp 6001 | jq -r '.verdict + " " + .reason + " " + .rule')" \
		"drop near_miss counted"

	# the loaded maps and the rules file give the same answers
	local t ok_all=1 a b
	for t in "192.0.2.2 udp 6000" "192.0.2.2 tcp 8080" "192.0.2.2 tcp 8081" "198.51.100.2 udp 1" \
		"198.51.100.77 icmp" "203.0.113.2 tcp 80" "2001:db8:2::2 tcp 8080" "2001:db8:2::2 udp 7000" \
		"2001:db8:1::2 icmpv6" "2001:db8:1::2 udp 5001" "192.0.2.3 udp 5000"; do
		a=$("$SLUICE" lookup --json --instance "$inst" $t | jq -c '[.verdict, .rule, .reason]')
		b=$("$SLUICE" lookup --json --rules "$TMP/rules" $t | jq -c '[.verdict, .rule, .reason]')
		[ -n "$a" ] && [ "$a" == "$b" ] || { ok_all=0; echo "lookup $t: maps $a, rules $b"; }
	done
	expect_eq "lookup from the maps == lookup --rules on 11 tuples" "$ok_all" 1
	expect_eq "lookup (maps) 198.51.100.2 udp 1 -> deny blocked" \
		"$("$SLUICE" lookup --json --instance "$inst" 198.51.100.2 udp 1 | jq -r '.verdict + " " + .rule')" \
		"drop blocked"

	# --- a broken rules file changes nothing
	local gen0 gen1
	gen0=$("$SLUICE" status --json --instance "$inst" | jq '.instances[0].generation')
	"$SLUICE" apply "$TMP/bad" --instance "$inst" > /dev/null 2>&1
	expect_eq "apply of a bad file exits 2" "$?" 2
	gen1=$("$SLUICE" status --json --instance "$inst" | jq '.instances[0].generation')
	expect_eq "bad file: generation unchanged" "$gen1" "$gen0"
	check "bad file: traffic still allowed" tcp_ok "$id" 192.0.2.2 8080

	# --- atomic re-apply under continuous traffic: no allowed packet lost
	# (4 s of traffic: at least 10 replaces even when an apply takes 300 ms)
	# (the receiver waits 5 s of silence before it stops, so that a sender
	# starved of CPU by the apply loop on a 2-core machine is not cut short)
	local ready=$TMP/ready.atomic.$mode d0
	d0=$("$SLUICE" stats --json --instance "$inst" | jq '.policy.drop_packets')
	in_s "$id" "$SLUDP" recv 192.0.2.2 7000 5000 "$ready" > "$TMP/atomic.out" 2>"$TMP/atomic.gaps" &
	local rpid=$!
	for _ in $(seq 50); do [ -e "$ready" ] && break; sleep 0.05; done
	in_c "$id" "$SLUDP" send 192.0.2.2 7000 40000 100 > "$TMP/atomic.sent" 2>&1 &
	local spid=$! n=0 ok=1
	while kill -0 $spid 2>/dev/null; do
		if [ $((n % 2)) -eq 0 ]; then f=$TMP/rules2; else f=$TMP/rules; fi
		"$SLUICE" apply "$f" --instance "$inst" > /dev/null 2>&1 || ok=0
		n=$((n + 1))
	done
	wait $rpid
	expect_eq "re-apply: every apply succeeded" "$ok" 1
	expect_ge "re-apply: at least 10 replaces during the stream" "$n" 10
	expect_eq "re-apply: the sender sent all 40000" "$(awk '{print $2}' "$TMP/atomic.sent")" 40000
	expect_eq "re-apply: sluice dropped nothing during the stream (policy drops +0)" \
		"$(( $("$SLUICE" stats --json --instance "$inst" | jq '.policy.drop_packets') - d0 ))" 0
	cat "$TMP/atomic.gaps" >&2
	expect_eq "re-apply: 40000 datagrams sent, all received ($n replaces)" \
		"$(awk '{print $4}' "$TMP/atomic.out")" 40000
	# counters survive for unchanged names ('counted' kept its slot)
	local s2
	s2=$("$SLUICE" stats --json --instance "$inst")
	check "re-apply: counters of an unchanged rule survive" \
		test "$(rule_stat "$s2" counted pass_packets)" -ge "$(rule_stat "$s1" counted pass_packets)"

	# --- detach leaves no trace
	check "detach" "$SLUICE" detach --dev "slc$id" --netns "sl-$id-c" --instance "$inst"
	check "detach: pins gone" test ! -e "$pin"
	if [ "$mode" = tcx ]; then
		check "detach: the TCX link is gone" ids_gone link "$lid"
	else
		check "detach: no filter on the interface" \
			bash -c "! tc -n sl-$id-c filter show dev slc$id egress | grep -q sluice"
	fi
	check "detach: denied destination reachable again" in_c "$id" ping -c 1 -W 1 -q 198.51.100.2
}

run_mode tcx; run_cleanup
run_mode clsact; run_cleanup
finish
