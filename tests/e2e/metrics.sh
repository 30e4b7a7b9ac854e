#!/usr/bin/env bash
# End to end: the Prometheus exposition (README "Monitoring").  The lab of
# lab.sh with the ruleset on the client's TC egress, dnsmasq in the server
# namespace as the resolver (198.51.100.53), only documentation addresses.
#   (a) `sluice run --metrics 127.0.0.1:PORT` serves GET /metrics (other
#       paths 404, other methods 405); promtool check metrics accepts it and
#       `sluice stats --format prometheus`
#   (b) a real Prometheus server (Debian's package, on 127.0.0.1, a temporary
#       config and data dir) scrapes it every second while UDP flows (passes,
#       near misses, deny drops, policy drops); after the traffic stops, the
#       values Prometheus stored equal `sluice stats --json` taken around the
#       same scrape (taken again if the counters moved meanwhile)
#   (c) 200 concurrent scrapes are all answered; with 200 idle connections
#       and a client sending its request one byte a second held open, a
#       fresh scrape is answered at once, Prometheus keeps scraping, the slow
#       client gets its answer in the end, and DNS learning through sluice
#       run (a 100-record answer: the rest past the BPF walk arrives through
#       the ring buffer) is as quick as without them
#   (d) re-applies (SIGHUP, alternating two files) during scrapes: every
#       scrape is whole and valid, its ruleset figures are those of its
#       generation (never a mix), generations and counters never go back
#   (e) a port already in use: exit 1, the address named, what to do said,
#       nothing applied
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd ip jq curl socat dnsmasq dig prometheus promtool

TMP=$(mktemp -d)
T_FINAL='[ -n "${KEEP_TMP:-}" ] && echo "kept $TMP" || rm -rf "$TMP"'

id=$ID
C=sl-$id-c S=sl-$id-s DEV=slc$id SDEV=sls$id
inst=met$id inst2=mex$id
RES=198.51.100.53

[ -x "$SLUICE" ] || { fail setup "$SLUICE is not built (make)"; finish; }
[ -x "$SLUDP" ] || { fail setup "$SLUDP is not built (make test)"; finish; }

free_port() {   # a TCP port nothing listens on (127.0.0.1)
	local p
	for _ in $(seq 50); do
		p=$(( 20000 + RANDOM % 40000 ))
		[ -z "$(ss -Htln "sport = :$p")" ] && { echo "$p"; return 0; }
	done
	return 1
}
wait_for() {   # SECONDS COMMAND...
	local n=$(( $1 * 10 )); shift
	for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
	return 1
}
now_ms() { date +%s%3N; }

cat > "$TMP/a.rules" <<'RULES'
policy drop;
resolvers 198.51.100.53;
rule dns { allow udp 53; allow tcp 53; to 198.51.100.53; }
rule media { allow udp 8801-8810; to 192.0.2.0/25, 2001:db8:1::/64; }
rule app { allow tcp 443; to *.example.test; }
rule block { deny any; to 203.0.113.0/24; }
RULES
{ cat "$TMP/a.rules"; echo 'rule extra { allow udp 9000; to 198.51.100.77; }'; } > "$TMP/b.rules"
{
	echo no-resolv; echo no-hosts; echo bind-interfaces
	echo listen-address=$RES; echo port=53; echo local-ttl=300; echo edns-packet-max=4096
	for n in $(seq 100 199); do echo host-record=many.example.test,198.51.100.$n; done
	for n in $(seq 100 199); do echo host-record=many2.example.test,192.0.2.$n; done
} > "$TMP/dnsmasq.conf"

lab_up "$id" || { fail setup "cannot build the namespace lab"; finish; }
on_exit lab_down "$id"
# jumbo frames: a 100-record answer is one datagram
ip -n "$C" link set "$DEV" mtu 9000 && ip -n "$S" link set "$SDEV" mtu 9000 &&
	ip -n "$S" addr add $RES/24 dev "$SDEV" || { fail setup "server address, mtu"; finish; }
in_s "$id" dnsmasq --keep-in-foreground --conf-file="$TMP/dnsmasq.conf" --pid-file="$TMP/dnsmasq.pid" \
	> "$TMP/dnsmasq.log" 2>&1 &
on_exit kill $!
dig_c() { in_c "$id" dig @$RES +time=2 +tries=1 +short +bufsize=4096 +ignore "$@" 2>/dev/null; }
wait_for 5 test -n "$(dig_c many.example.test)" || { fail setup "dnsmasq does not answer"; finish; }

PORT=$(free_port) && PPORT=$(free_port) || { fail setup "no free port"; finish; }
while [ "$PPORT" = "$PORT" ]; do PPORT=$(free_port); done
URL=http://127.0.0.1:$PORT/metrics

# ------------------------------------------------------------------ (a)
on_exit "$SLUICE" detach --all --instance "$inst"
cp "$TMP/a.rules" "$TMP/cur.rules"     # (d) swaps it for SIGHUP
"$SLUICE" run "$TMP/cur.rules" --dev "$DEV" --netns "$C" --instance "$inst" --metrics "$PORT" \
	2> "$TMP/run.log" &
RUN_PID=$!
on_exit kill "$RUN_PID"
check "a. sluice run: started" wait_for 15 grep -q 'running (pid' "$TMP/run.log"
check "a. sluice run logs the endpoint" grep -q "metrics: serving http://127.0.0.1:$PORT/metrics" "$TMP/run.log"
expect_eq "a. GET /metrics: 200" "$(curl -s -o "$TMP/m1" -w '%{http_code}' "$URL")" 200
expect_eq "a. content type text/plain; version=0.0.4" \
	"$(curl -s -o /dev/null -w '%{content_type}' "$URL")" "text/plain; version=0.0.4; charset=utf-8"
check "a. promtool check metrics accepts the endpoint's text" bash -c "promtool check metrics < '$TMP/m1'"
check "a. the endpoint has the instance's rules" grep -q "sluice_rule_packets_total{sluice_instance=\"$inst\",rule=\"media\",action=\"allow\",verdict=\"pass\"}" "$TMP/m1"
check "a. the endpoint binds 127.0.0.1 only" bash -c "ss -Htln 'sport = :$PORT' | grep -q '127.0.0.1:$PORT' && ! ss -Htln 'sport = :$PORT' | grep -qv '127.0.0.1:$PORT'"
expect_eq "a. GET / : 404" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/")" 404
expect_eq "a. GET /metrics/x : 404" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/x")" 404
expect_eq "a. POST /metrics : 405" "$(curl -s -o /dev/null -w '%{http_code}' -d x "$URL")" 405
expect_eq "a. HEAD /metrics : 200" "$(curl -s -I -o /dev/null -w '%{http_code}' "$URL")" 200
printf 'GARBAGE\r\n\r\n' | timeout 5 socat -T 5 - TCP:127.0.0.1:$PORT > "$TMP/garbage" 2>/dev/null
rc=$?
check "a. a malformed request: the connection is closed at once (socat exit $rc, not 124), nothing but an HTTP error sent" \
	bash -c "[ $rc != 124 ] && { [ ! -s '$TMP/garbage' ] || grep -q '^HTTP/1.[01] 4' '$TMP/garbage'; }"
"$SLUICE" stats --format prometheus --instance "$inst" > "$TMP/s1"
check "a. promtool check metrics accepts sluice stats --format prometheus" bash -c "promtool check metrics < '$TMP/s1'"
"$SLUICE" stats --format prometheus > "$TMP/s_all"
check "a. stats --format prometheus without --instance covers this instance too" grep -q "sluice_instance=\"$inst\"" "$TMP/s_all"
check "a. endpoint and stats --format prometheus: the same families (but the endpoint's own sluice_metrics_*)" \
	diff <(grep '^# TYPE' "$TMP/m1" | grep -v '^# TYPE sluice_metrics_') <(grep '^# TYPE' "$TMP/s1")
check "a. the endpoint has its own connection families" grep -q '^# TYPE sluice_metrics_connections_closed_total counter' "$TMP/m1"
# the textfile recipe (contrib/prometheus/sluice-textfile.service), into a temporary directory
mkdir -p "$TMP/textfile"
cmd=$(sed -n "s/^ExecStart=\/bin\/sh -c '\(.*\)'$/\1/p" "$ROOT/contrib/prometheus/sluice-textfile.service")
check "a. the textfile unit's command writes sluice.prom by a rename" \
	env DIR="$TMP/textfile" PATH="$(dirname "$SLUICE"):$PATH" sh -c "$cmd"
check "a. ... promtool accepts it, no temporary file is left" \
	bash -c "promtool check metrics < '$TMP/textfile/sluice.prom' && [ \"\$(ls '$TMP/textfile')\" = sluice.prom ]"

# ------------------------------------------------------------------ (b)
mkdir -p "$TMP/prom"
cat > "$TMP/prom.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $ROOT/contrib/prometheus/alerts.yml
scrape_configs:
  - job_name: sluice
    static_configs:
      - targets: ['127.0.0.1:$PORT']
EOF
check "b. promtool check config (with the shipped alerts)" bash -c "promtool check config '$TMP/prom.yml' > '$TMP/promtool.out' 2>&1"
prometheus --config.file="$TMP/prom.yml" --storage.tsdb.path="$TMP/prom" \
	--web.listen-address="127.0.0.1:$PPORT" > "$TMP/prom.log" 2>&1 &
PROM_PID=$!
on_exit kill "$PROM_PID"
PAPI=http://127.0.0.1:$PPORT/api/v1
pq() { curl -sf --get "$PAPI/query" --data-urlencode "query=$1"; }
pq1() { pq "$1" | jq -r '.data.result[0].value[1] // "none"'; }
check "b. prometheus ready" wait_for 30 curl -sf -o /dev/null "http://127.0.0.1:$PPORT/-/ready"
up_is_1() { [ "$(pq1 "up{job=\"sluice\"}")" = 1 ]; }
check "b. prometheus scrapes the endpoint (up == 1)" wait_for 20 up_is_1 ||
	curl -s "$PAPI/targets" | jq -c '.data.activeTargets[] | {health, lastError, lastScrapeDuration}' 

# traffic while it scrapes: passes, near misses, deny drops, policy drops
in_c "$id" "$SLUDP" send 192.0.2.2 8801 400 10000 > /dev/null 2>&1 &
t1=$!
in_c "$id" "$SLUDP" send 192.0.2.2 9999 300 13000 > /dev/null 2>&1 &
t2=$!
in_c "$id" "$SLUDP" send 203.0.113.2 7 200 20000 > /dev/null 2>&1 &
t3=$!
in_c "$id" "$SLUDP" send 198.51.100.99 5000 100 40000 > /dev/null 2>&1 &
t4=$!
# a scrape while t1 (4 s) still sends: the first value above 0, polled
mid=none
for _ in $(seq 60); do
	mid=$(pq1 "sluice_rule_packets_total{sluice_instance=\"$inst\",rule=\"media\",verdict=\"pass\"}")
	[ "$mid" != none ] && [ "${mid%.*}" -gt 0 ] 2>/dev/null && break
	kill -0 $t1 2>/dev/null || break
	sleep 0.1
done
wait $t1 $t2 $t3 $t4
check "b. prometheus saw the counters move while traffic flowed (media pass: $mid)" \
	test "$mid" != none -a "${mid:-0}" -gt 0 -a "${mid:-0}" -lt 400 2>/dev/null
sleep 1

stats_lines() {   # sluice stats --json -> "key value" lines
	"$SLUICE" stats --json --instance "$inst" | jq -r '
		(.rules[] | "rule_packets \(.name) pass \(.pass_packets)", "rule_packets \(.name) drop \(.drop_packets)",
		            "rule_bytes \(.name) pass \(.pass_bytes)", "rule_bytes \(.name) drop \(.drop_bytes)",
		            "near_miss \(.name) - \(.near_miss_packets)"),
		"policy_packets - pass \(.policy.pass_packets)", "policy_packets - drop \(.policy.drop_packets)",
		"policy_bytes - pass \(.policy.pass_bytes)", "policy_bytes - drop \(.policy.drop_bytes)",
		"malformed - - \(.malformed)", "non_ip - - \(.non_ip)", "fragment - - \(.fragments)",
		"control - - \(.control)", "nd - - \(.nd_pass)", "audit_pass - - \(.audit_pass)",
		(.attachments[] | ("\(.hook)/\(.dev // .cgroup)\(if .netns then "@" + .netns else "" end)") as $w |
		  "att_packets \($w) pass \(.pass_packets)", "att_packets \($w) drop \(.drop_packets)",
		  "att_bytes \($w) pass \(.pass_bytes)", "att_bytes \($w) drop \(.drop_bytes)"),
		(.dns | to_entries[] | "dns \(.key) - \(.value)")' | sort
}
prom_lines() {   # the same keys from Prometheus' newest samples
	pq "{__name__=~\"sluice_(rule_packets|rule_bytes|rule_near_miss_packets|policy_packets|policy_bytes|malformed_packets|non_ip_packets|fragment_packets|control_packets|nd_packets|audit_pass_packets|attachment_packets|attachment_bytes|dns_.*)_total\",sluice_instance=\"$inst\"}" |
	jq -r '.data.result[] | .metric as $m | .value[1] as $v |
		($m.__name__ | sub("^sluice_"; "") | sub("_total$"; "")) as $n |
		if $n == "rule_packets" or $n == "rule_bytes" then "\($n) \($m.rule) \($m.verdict) \($v)"
		elif $n == "rule_near_miss_packets" then "near_miss \($m.rule) - \($v)"
		elif $n == "policy_packets" or $n == "policy_bytes" then "\($n) - \($m.verdict) \($v)"
		elif $n == "attachment_packets" or $n == "attachment_bytes" then
			"\($n | sub("attachment"; "att")) \($m.hook)/\($m.dev) \($m.verdict) \($v)"
		elif $n == "dns_answers_ignored" then "dns \($m.reason) - \($v)"
		elif $n == "dns_cap_hits" then
			"dns \({"name": "cap_name", "total": "cap_total", "slots": "slots_full", "class": "cap_class",
			       "rings": "rings_full", "pending_client": "pending_client"}[$m.cap]) - \($v)"
		elif $n == "dns_cname_chain_long" then "dns chain_long - \($v)"
		elif ($n | startswith("dns_")) then "dns \($n | sub("^dns_"; "")) - \($v)"
		else "\($n | sub("_packets$"; "")) - - \($v)" end' | sort
}
scrape_ts() { pq "timestamp(sluice_ruleset_generation{sluice_instance=\"$inst\"})" | jq -r '.data.result[0].value[1] // 0'; }
scrape_after() { awk -v a="$(scrape_ts)" -v b="$1" 'BEGIN { exit !(a > b + 0.3) }'; }
same=no
for try in 1 2 3 4 5; do
	stats_lines > "$TMP/st1"
	t0=$(date +%s.%N)
	# a scrape that began 0.3 s after (the endpoint reuses a text for 0.2 s)
	wait_for 5 scrape_after "$t0"
	prom_lines > "$TMP/pr"
	stats_lines > "$TMP/st2"
	if cmp -s "$TMP/st1" "$TMP/st2"; then same=yes; break; fi
	sleep 1   # the counters moved (ARP, neighbour discovery): once more
done
check "b. the counters held still around one scrape (try $try)" test $same = yes
check "b. traffic was counted: media pass 400, near misses 300, block drops 200, policy drops >= 100" \
	bash -c "grep -qx 'rule_packets media pass 400' '$TMP/st1' && grep -qx 'near_miss media - 300' '$TMP/st1' &&
		grep -qx 'rule_packets block drop 200' '$TMP/st1' && awk '\$1 == \"policy_packets\" && \$3 == \"drop\" && \$4 >= 100 { ok = 1 } END { exit !ok }' '$TMP/st1'"
expect_eq "b. Prometheus has as many of these series as stats --json has values" \
	"$(wc -l < "$TMP/pr")" "$(wc -l < "$TMP/st1")"
check "b. every value Prometheus stored equals sluice stats --json at the same moment" \
	diff "$TMP/st1" "$TMP/pr"
expect_eq "b. ruleset rules (Prometheus)" "$(pq1 "sluice_ruleset_rules{sluice_instance=\"$inst\"}")" \
	"$("$SLUICE" status --json --instance "$inst" | jq -r '.instances[0].rules')"
expect_eq "b. ruleset prefixes ipv4 (Prometheus = status --json)" \
	"$(pq1 "sluice_ruleset_prefixes{sluice_instance=\"$inst\",family=\"ipv4\"}")" \
	"$("$SLUICE" status --json --instance "$inst" | jq -r '.instances[0].prefixes4')"
expect_eq "b. ruleset prefixes ipv6 (Prometheus = status --json)" \
	"$(pq1 "sluice_ruleset_prefixes{sluice_instance=\"$inst\",family=\"ipv6\"}")" \
	"$("$SLUICE" status --json --instance "$inst" | jq -r '.instances[0].prefixes6')"
# every query of the Grafana dashboard, with its variables filled in
jq -r '.panels[].targets[]?.expr' "$ROOT/contrib/grafana/sluice.json" |
	sed -e "s/\\\$instance/$inst/g; s/\\\$rule/.*/g; s/\\\$__rate_interval/10s/g" > "$TMP/exprs"
qbad=0 qdata=0
while read -r e; do
	r=$(pq "$e") || { qbad=$((qbad + 1)); echo "refused: $e"; continue; }
	jq -e '.data.result | length > 0' <<<"$r" > /dev/null && qdata=$((qdata + 1))
done < "$TMP/exprs"
expect_eq "b. Prometheus accepts every query of the Grafana dashboard ($(wc -l < "$TMP/exprs"))" "$qbad" 0
expect_ge "b. ... and all but the 'attachments gone' one return data" "$qdata" $(( $(wc -l < "$TMP/exprs") - 1 ))
nalerts=$(grep -c '^ *- alert:' "$ROOT/contrib/prometheus/alerts.yml")
check "b. the shipped alerts loaded in Prometheus ($nalerts rules, healthy)" \
	bash -c "curl -sf '$PAPI/rules' | jq -e '[.data.groups[].rules[] | select(.health == \"ok\")] | length == $nalerts' >/dev/null"
check "b. SluiceAllowedRuleDrops fires for media's near misses (pending or firing)" \
	wait_for 10 bash -c "curl -sf '$PAPI/alerts' | jq -e '.data.alerts[] | select(.labels.alertname == \"SluiceAllowedRuleDrops\" and .labels.rule == \"media\")' >/dev/null"

# ------------------------------------------------------------------ (c)
learn_ms() {   # NAME ADDR-PREFIX: ms from the client's query until its last address is learned
	local t0 last
	t0=$(now_ms)
	dig_c "$1" > "$TMP/ans"
	last=$(tail -n1 "$TMP/ans")
	[ "$(grep -c "^$2" "$TMP/ans")" = 100 ] || { echo "no-answer"; return; }
	wait_for 10 bash -c "'$SLUICE' learned --json --instance '$inst' | jq -e --arg a '$last' '.learned[] | select(.address == \$a and .live)' >/dev/null" ||
		{ echo "never"; return; }
	echo $(( $(now_ms) - t0 ))
}
base_ms=$(learn_ms many.example.test 198.51.100.)
check "c. baseline: the last of 100 records (via the ring buffer) learned ($base_ms ms)" test "$base_ms" -lt 5000 2>/dev/null

seq 200 | sed "s|.*|url = \"$URL\"|" > "$TMP/curl200"
curl -s --parallel --parallel-immediate --parallel-max 200 -K "$TMP/curl200" -o /dev/null \
	-w '%{http_code}\n' > "$TMP/codes200" 2>/dev/null
expect_eq "c. 200 concurrent scrapes: all answered 200" "$(grep -c '^200$' "$TMP/codes200")" 200

# 200 idle connections and a client sending one byte per second
bash -c "for i in \$(seq 200); do exec {fd}<>/dev/tcp/127.0.0.1/$PORT || exit 1; done; sleep 40" 2>/dev/null &
IDLE_PID=$!
on_exit kill "$IDLE_PID"
bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; req=\$'GET /metrics HTTP/1.0\r\n\r\n';
	for ((i = 0; i < \${#req}; i++)); do printf '%s' \"\${req:i:1}\" >&3; sleep 1; done; cat <&3" > "$TMP/slow" 2>/dev/null &
SLOW_PID=$!
on_exit kill "$SLOW_PID"
sleep 2
t0=$(now_ms)
code=$(curl -s -m 5 -o "$TMP/m2" -w '%{http_code}' "$URL")
dt=$(( $(now_ms) - t0 ))
expect_eq "c. with 200 idle connections and a slow client open: a scrape is answered" "$code" 200
check "c. ... at once ($dt ms < 2000)" test "$dt" -lt 2000
load_ms=$(learn_ms many2.example.test 192.0.2.)
sleep $(( 6 - ($(now_ms) - t0) / 1000 )) 2>/dev/null   # 8 s into the idle connections' 10 s
check "c. ... DNS learning through sluice run is not delayed ($load_ms ms; without them $base_ms ms)" \
	test "$load_ms" -lt $(( base_ms + 2000 )) 2>/dev/null
n0=$(pq1 "count_over_time(up{job=\"sluice\"}[5s])")
u=$(pq1 "min_over_time(up{job=\"sluice\"}[5s])")
check "c. ... and Prometheus' scrapes kept succeeding (up over the last 5 s: min $u, $n0 samples)" test "$u" = 1
check "c. the slow client (one byte a second) was closed without an answer (no request within 2 s)" \
	wait_for 10 bash -c "! kill -0 $SLOW_PID 2>/dev/null && ! grep -q '^HTTP' '$TMP/slow'"
kill "$IDLE_PID" 2>/dev/null
check "c. sluice run still running" kill -0 "$RUN_PID"

# (c2) issue 20 item 7: 1,000 idle connections and 300 slowloris clients
# (a header byte a second): scrapes must keep being answered, at once
flood_scrapes() {   # NAME RECONNECT TIMEOUT MIN-ANSWERED
	python3 "$ROOT/tests/tools/sl-flood.py" "$PORT" 12 1000 300 "$2" > "$TMP/flood.out" 2>&1 &
	FLOOD_PID=$!
	on_exit kill "$FLOOD_PID"
	sleep 3
	local ok=0 slowest=0 i t0 dt code
	for i in $(seq 8); do
		t0=$(now_ms)
		code=$(curl -s -m "$3" -o "$TMP/m3" -w '%{http_code}' "$URL")
		dt=$(( $(now_ms) - t0 )); [ $dt -gt $slowest ] && slowest=$dt
		[ "$code" = 200 ] && grep -q '^sluice_ruleset_generation' "$TMP/m3" && ok=$((ok + 1))
		sleep 0.5
	done
	expect_ge "c2. $1: $ok of 8 scrapes answered within $3 s (slowest $slowest ms)" "$ok" "$4"
	wait "$FLOOD_PID"
	sleep 1         # the storm's last connections drain before the next section times scrapes
}
flood_scrapes "1,000 idle + 300 slowloris connections" 0 3 8
full=$(awk '/^sluice_metrics_connections_closed_total\{reason="full"\}/ {print $2}' "$TMP/m3")
slow=$(awk '/^sluice_metrics_connections_closed_total\{reason="slow"\}/ {print $2}' "$TMP/m3")
check "c2. the endpoint counts what it closed (full: $full, slow: $slow; $(cat "$TMP/flood.out"))" \
	test "${full:-0}" -gt 0 -a "${slow:-0}" -gt 0
# an attacker that reconnects as fast as it is closed makes it a contest for
# CPU (tens of thousands of connects a second): scrapes still get through
flood_scrapes "the same, each reconnecting as soon as it is closed" 1 8 6
check "c2. sluice run still running" kill -0 "$RUN_PID"

# ------------------------------------------------------------------ (d)
p4a=$("$SLUICE" check --json "$TMP/a.rules" | jq -r .prefixes4)
p4b=$("$SLUICE" check --json "$TMP/b.rules" | jq -r .prefixes4)
(
	for i in $(seq 8); do
		if [ $((i % 2)) = 1 ]; then cp "$TMP/b.rules" "$TMP/cur.rules"; else cp "$TMP/a.rules" "$TMP/cur.rules"; fi
		kill -HUP "$RUN_PID"; sleep 1.5
	done
	sleep 2
) &
HUP_PID=$!
: > "$TMP/scrapes"
: > "$TMP/seen"
bad=0 n=0
while kill -0 "$HUP_PID" 2>/dev/null; do
	curl -s -m 5 -o "$TMP/sc" -w '%{http_code}\n' "$URL" >> "$TMP/scrapes"
	n=$((n + 1))
	promtool check metrics < "$TMP/sc" > /dev/null 2>&1 || bad=$((bad + 1))
	# generation, IPv4 prefixes, rule extra shown, media's passes
	awk -v i="$inst" '
		$1 == "sluice_ruleset_generation{sluice_instance=\"" i "\"}" { g = $2 }
		$1 == "sluice_ruleset_prefixes{sluice_instance=\"" i "\",family=\"ipv4\"}" { p = $2 }
		$1 ~ "^sluice_rule_packets_total{sluice_instance=\"" i "\",rule=\"extra\"" { x = 1 }
		$1 == "sluice_rule_packets_total{sluice_instance=\"" i "\",rule=\"media\",action=\"allow\",verdict=\"pass\"}" { m = $2 }
		END { print (g == "" ? "none" : g), p + 0, x + 0, m + 0 }' "$TMP/sc" >> "$TMP/seen"
done
wait "$HUP_PID"
# which file each generation came from: sluice run logs "generation N (R rules)"
sed -n "s/.*instance $inst: generation \([0-9]*\) (\([0-9]*\) rules).*/\1 \2/p" "$TMP/run.log" > "$TMP/gens"
awk -v p4a="$p4a" -v p4b="$p4b" -v rb="$(grep -c '^rule ' "$TMP/b.rules")" '
	FNR == NR { rules[$1] = $2; next }
	$1 == "none" { bad++; next }
	{
		isb = rules[$1] == rb
		# a B generation shows rule extra; an A one may too, while B loads
		if ($2 != (isb ? p4b : p4a) || (isb && !$3)) mix++
		if ($1 < lg || $4 < lm) back++
		lg = $1; lm = $4
	}
	END { printf "%d %d %d %d\n", bad, mix, back, lg }' "$TMP/gens" "$TMP/seen" > "$TMP/verdict"
read -r whole mix back lastgen < "$TMP/verdict"
expect_ge "d. scrapes during 8 re-applies" "$n" 10
expect_eq "d. every scrape answered 200" "$(grep -vc '^200$' "$TMP/scrapes")" 0
expect_eq "d. every scrape valid (promtool check metrics)" "$bad" 0
expect_eq "d. every scrape has the instance's ruleset" "$whole" 0
expect_eq "d. no scrape mixed two generations (its prefixes and rules are its generation's)" "$mix" 0
expect_eq "d. generations and counters never went back" "$back" 0
check "d. the re-applies happened (last generation seen $lastgen >= 5)" test "$lastgen" -ge 5

# ------------------------------------------------------------------ (e)
# the running sluice run holds PORT
"$SLUICE" run "$TMP/a.rules" --dev "$DEV" --netns "$C" --instance "$inst2" --metrics "127.0.0.1:$PORT" \
	> "$TMP/inuse.out" 2> "$TMP/inuse.err"
rc=$?
expect_eq "e. a port in use: exit 1" "$rc" 1
check "e. the error names the address and says it is in use" grep -q "127.0.0.1:$PORT: the address is already in use" "$TMP/inuse.err"
check "e. ... and what to do" grep -q "give another port" "$TMP/inuse.err"
check "e. nothing was applied (no instance $inst2)" test ! -e /sys/fs/bpf/sluice/$inst2
kill -TERM "$RUN_PID"
wait "$RUN_PID"
expect_eq "sluice run: exits 0 on SIGTERM (the metrics threads stopped)" "$?" 0
check "after sluice run: the port is free" bash -c "[ -z \"\$(ss -Htln 'sport = :$PORT')\" ]"
finish
