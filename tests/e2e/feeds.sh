#!/usr/bin/env bash
# End to end: `sluice run` keeps a URL set current (issue 21 item 3,
# docs/feeds.md).  A local HTTPS server on 127.0.0.1 (throwaway CA) serves
# the vendor's list; the lab's client sends real UDP to documentation
# addresses.  sluice run starts with an empty cache (it fetches the set
# before its first apply), then the served list changes (198.51.100.0/24
# out, 203.0.113.0/24 in) and run picks it up within its refresh (2 s) and
# re-applies: the new range passes, the removed one drops, and a stream to
# the unchanged 192.0.2.0/24 loses no packet across the swap; counters
# carry over.  status --json and the metrics show the set (last success,
# change, +1 -1, entries).  A bad list (empty 200) then keeps the running
# ruleset, and status and metrics say why.  A stalled server holds only the
# fetcher's thread: SIGHUP is served at once.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
source "$ROOT/tests/tools/feedlib.sh"
need_root
need_cmd ip jq openssl python3 curl ss

TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
export SLUICE_FEED_DIR=$TMP/cache
id=$ID inst=feed$ID
[ -x "$SLUICE" ] || { fail setup "$SLUICE is not built (make)"; finish; }
[ -x "$SLUDP" ] || { fail setup "$SLUDP is not built (make test)"; finish; }

wait_for() {   # SECONDS COMMAND...
	local n=$(( $1 * 10 )); shift
	for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
	return 1
}
free_port() {
	local p
	for _ in $(seq 50); do
		p=$(( 20000 + RANDOM % 40000 ))
		[ -z "$(ss -Htln "sport = :$p")" ] && { echo "$p"; return 0; }
	done
	return 1
}
udp_count() {   # ADDR N: send N datagrams to ADDR:7000, print how many arrived
	local ready=$(mktemp -u "$TMP/ready.XXXXXXXX")
	in_s "$id" "$SLUDP" recv "$1" 7000 300 "$ready" > "$TMP/recv.out" 2>/dev/null &
	local pid=$!
	for _ in $(seq 50); do [ -e "$ready" ] && break; sleep 0.05; done
	in_c "$id" "$SLUDP" send "$1" 7000 "$2" 0 > /dev/null
	wait $pid
	awk '{print $2}' "$TMP/recv.out"
}
verdict() { "$SLUICE" lookup --instance "$inst" "$1" udp 7000 --json 2>/dev/null | jq -r .verdict; }
verdict_is() { [ "$(verdict "$1")" = "$2" ]; }
feed_json() { "$SLUICE" status --json 2>/dev/null | jq -c --arg k "$1" '.feeds[] | select(.set == "vendor") | .[$k]'; }

mkdir -p "$TMP/www"
feed_pki "$TMP" || { fail setup "openssl cannot make the test CA"; finish; }
printf '# vendor list (test)\n192.0.2.0/24\n198.51.100.0/24\n' > "$TMP/www/vendor.txt"
feed_server "$TMP" "$TMP/www" || { fail setup "HTTPS server: $(cat "$TMP/server.err")"; finish; }
cat > "$TMP/rules" <<EOF
policy drop;
set vendor url "https://127.0.0.1:$FEED_PORT/vendor.txt" ca "ca.pem" refresh 2s;
rule vendor-media { allow udp 7000; to @vendor; }
EOF
MPORT=$(free_port) || { fail setup "no free port"; finish; }

lab_up "$id" || { fail setup "cannot build the namespace lab"; finish; }
on_exit lab_down "$id"
on_exit "$SLUICE" detach --all --instance "$inst"
out=$("$SLUICE" apply "$TMP/rules" --dev "slc$id" --netns "sl-$id-c" --instance "$inst" 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q "rules:2:16: error: URL set 'vendor' has no good copy" <<<"$out" &&
	grep -q 'run `sluice fetch ' <<<"$out" && ! "$SLUICE" status --instance "$inst" > /dev/null 2>&1; then
	pass "apply with no copy yet: exit 2 at file:line:col, says to run sluice fetch, loads nothing"
else
	fail "apply with no copy yet" "rc $rc: $out"
fi
"$SLUICE" run "$TMP/rules" --dev "slc$id" --netns "sl-$id-c" --instance "$inst" \
	--metrics "127.0.0.1:$MPORT" 2> "$TMP/run.log" &
RUN_PID=$!
on_exit kill "$RUN_PID"
if ! wait_for 15 grep -q 'running (pid' "$TMP/run.log"; then
	fail "sluice run started" "$(cat "$TMP/run.log")"
	finish
fi
check "run: fetched the set with no copy before its first apply" \
	grep -q "set vendor: first copy: 2 entries" "$TMP/run.log"
expect_eq "run: first list in force" "$(verdict 198.51.100.2) $(verdict 203.0.113.2)" "allow drop"
expect_eq "traffic: 198.51.100.2 passes" "$(udp_count 198.51.100.2 20)" 20
expect_eq "traffic: 203.0.113.2 (not in the list) dropped" "$(udp_count 203.0.113.2 20)" 0

# --- the vendor changes its list while a stream to an unchanged entry runs
ready=$TMP/ready.stream
in_s "$id" "$SLUDP" recv 192.0.2.2 7000 5000 "$ready" > "$TMP/stream.out" 2>/dev/null &
rpid=$!
for _ in $(seq 50); do [ -e "$ready" ] && break; sleep 0.05; done
in_c "$id" "$SLUDP" send 192.0.2.2 7000 60000 100 > "$TMP/stream.sent" 2>&1 &
spid=$!
sleep 0.5
t0=$(date +%s%3N)
printf '192.0.2.0/24\n203.0.113.0/24\n' > "$TMP/www/vendor.txt"
if wait_for 10 verdict_is 203.0.113.2 allow; then
	t1=$(date +%s%3N)
	pass "run: picked up the change in $((t1 - t0)) ms (refresh 2s)"
	if kill -0 "$spid" 2>/dev/null; then
		pass "traffic: the stream was still running when the new list took effect"
	else
		fail "traffic: the swap came after the stream ended" "the loss check below proves nothing"
	fi
else
	fail "run: picked up the change" "$(tail -n5 "$TMP/run.log")"
fi
wait $spid
wait $rpid
sent=$(awk '{print $2}' "$TMP/stream.sent")
got=$(awk '{print $2}' "$TMP/stream.out")
if [ -n "$sent" ] && [ "$sent" -gt 0 ] && [ "$got" = "$sent" ]; then
	pass "traffic: no packet to the unchanged 192.0.2.0/24 lost across the swap ($got of $sent)"
else
	fail "traffic: stream to the unchanged entry" "received '$got' of '$sent'"
fi
check "run: logged the change" grep -q "set vendor: changed: 2 entries (+1 -1)" "$TMP/run.log"
expect_eq "traffic: 203.0.113.2 (added) passes now" "$(udp_count 203.0.113.2 20)" 20
expect_eq "traffic: 198.51.100.2 (removed) dropped now" "$(udp_count 198.51.100.2 20)" 0
pp=$("$SLUICE" stats --json --instance "$inst" | jq '.rules[] | select(.name == "vendor-media") | .pass_packets')
expect_ge "counters carried over the re-apply (vendor-media passed $pp)" "${pp:-0}" "$(( ${got:-0} + 40 ))"
expect_eq "status --json: the set's change" \
	"$(feed_json entries) $(feed_json added) $(feed_json removed) $(feed_json failing)" "2 1 1 false"
ls_=$(feed_json last_success)
check "status --json: last success is recent" \
	bash -c "[ \"\$(printf '%.0f' '$ls_')\" -ge \$(( \$(date +%s) - 30 )) ]"
m=$(curl -s "http://127.0.0.1:$MPORT/metrics")
check "metrics: sluice_feed_last_success_timestamp_seconds of the set" grep -q \
	"^sluice_feed_last_success_timestamp_seconds{sluice_instance=\"$inst\",set=\"vendor\"} 1" <<<"$m"
check "metrics: sluice_feed_entries" grep -q \
	"^sluice_feed_entries{sluice_instance=\"$inst\",set=\"vendor\"} 2$" <<<"$m"

# --- a bad list: the running ruleset stays, and everyone is told
: > "$TMP/www/vendor.txt"
empty_counted() { [ "$(feed_json failures | jq .empty)" -ge 1 ]; }
check "bad list: counted (failures.empty) in status --json" wait_for 10 empty_counted
check "bad list: logged with its reason" grep -q "set vendor: empty: .*kept the last good copy" \
	"$TMP/run.log"
expect_eq "bad list: status shows the set failing" "$(feed_json failing)" true
expect_eq "bad list: the running ruleset is unchanged" "$(udp_count 203.0.113.2 20)" 20
m=$(curl -s "http://127.0.0.1:$MPORT/metrics")
check "metrics: sluice_feed_fetch_failures_total{reason=\"empty\"}" grep -Eq \
	"^sluice_feed_fetch_failures_total\\{sluice_instance=\"$inst\",set=\"vendor\",reason=\"empty\"\\} [1-9]" <<<"$m"
if command -v promtool >/dev/null; then
	check "metrics: promtool check metrics accepts the exposition" \
		bash -c "curl -s http://127.0.0.1:$MPORT/metrics | promtool check metrics"
fi
# --- a stalled vendor holds only the fetcher: SIGHUP is still served at once
gen() { "$SLUICE" status --json --instance "$inst" 2>/dev/null | jq -r '.instances[0].generation'; }
printf '192.0.2.0/24\n203.0.113.0/24\n' > "$TMP/www/vendor.txt"
echo 30 > "$TMP/www/vendor.txt.stall"
stalled() { grep -q '^STALL /vendor.txt' "$TMP/www/requests.log"; }
if wait_for 10 stalled; then
	g0=$(gen)
	kill -HUP "$RUN_PID"
	gen_moved() { [ "$(gen)" != "$g0" ]; }
	check "stalled fetch: SIGHUP re-applied within 3 s all the same" wait_for 3 gen_moved
else
	fail "stalled fetch" "the server saw no request within 10 s"
fi
kill "$RUN_PID" 2>/dev/null
wait "$RUN_PID" 2>/dev/null
finish
