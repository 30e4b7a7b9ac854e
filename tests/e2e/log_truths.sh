#!/usr/bin/env bash
# What the event log and sluice run tell an operator must be true and loud
# (issue 20 item 13): lost events are reported by `sluice log`; --log-file is
# created 0600; --syslog with nothing listening on /dev/log says so; a
# reload of an unchanged pack does not print its warnings again; reading a
# name that is no instance leaves no lock file; a read-only /run/sluice
# gives one error, not a second, wrong one.  Real UDP in a namespace lab.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd ip jq unshare

TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
inst=lt$ID
lab_up "$ID" || { fail setup "cannot build the namespace lab"; finish; }
on_exit lab_down "$ID"
on_exit "$SLUICE" detach --all --instance "$inst"
on_exit rm -f "/run/sluice/$inst.events.lock" "/run/sluice/$inst.sock"

# a pack with a lint warning (the deny overlaps the allow), events unlimited
cat > "$TMP/site.rules" <<'RULES'
policy drop;
log rate 1000000;
rule media { allow udp 6000; to 192.0.2.2; }
rule block { deny any; to 192.0.2.0/24; }
RULES
"$SLUICE" apply "$TMP/site.rules" --dev "slc$ID" --netns "sl-$ID-c" --instance "$inst" > "$TMP/out" 2>&1 ||
	{ fail apply "$(cat "$TMP/out")"; finish; }

# --- 1. a flood of drops with no reader: the ring buffer fills, events are lost
in_c "$ID" "$SLUDP" send 192.0.2.2 6001 40000 0 > /dev/null
lost=$("$SLUICE" stats --json --instance "$inst" | jq -r '.events.lost')
check "a flood with no reader lost events ($lost)" test "${lost:-0}" -gt 0
"$SLUICE" log --instance "$inst" > "$TMP/log.out" 2> "$TMP/log.err"
check "sluice log says that events were lost before it came, and how many" \
	grep -q "$lost events were lost" "$TMP/log.err"
check "... on stderr, so that --json on stdout stays clean" bash -c "! grep -q 'were lost' '$TMP/log.out'"

# --- 2. sluice run: --log-file mode, --syslog with nothing listening, reloads
umask 022
"$SLUICE" run "$TMP/site.rules" --instance "$inst" --log-file "$TMP/events.jsonl" --syslog \
	> "$TMP/run.out" 2> "$TMP/run.err" &
RUN_PID=$!
on_exit kill "$RUN_PID"
for _ in $(seq 100); do grep -q 'running (pid' "$TMP/run.err" && break; sleep 0.1; done
expect_eq "--log-file is created 0600 (umask 022): its lines name destinations" \
	"$(stat -c %a "$TMP/events.jsonl" 2>/dev/null)" 600
if [ -S /dev/log ]; then
	skip "--syslog without a syslog socket" "/dev/log exists on this machine"
else
	check "--syslog with nothing on /dev/log: sluice run says events will not reach syslog" \
		grep -q -- "--syslog: nothing listens on /dev/log" "$TMP/run.err"
fi
w1=$(grep -c 'warning: ' "$TMP/run.err")
check "the first load logs the pack's warning" test "$w1" -ge 1
count_ge() { [ "$(grep -c -- "$1" "$2")" -ge "$3" ]; }   # PATTERN FILE N: N lines or more
kill -HUP "$RUN_PID"; wait_for 10 count_ge 'as at the last load' "$TMP/run.err" 1
kill -HUP "$RUN_PID"; wait_for 10 count_ge 'as at the last load' "$TMP/run.err" 2
expect_eq "two reloads of the unchanged pack: its warning is not logged again" \
	"$(grep -c 'warning: ' "$TMP/run.err")" "$w1"
check "... each reload says the warnings are as at the last load" \
	test "$(grep -c 'as at the last load' "$TMP/run.err")" -eq 2
printf 'rule extra { allow udp 7000; to 192.0.2.0/25; }\n' >> "$TMP/site.rules"
kill -HUP "$RUN_PID"; wait_for 10 count_ge 'warning: ' "$TMP/run.err" $((w1 + 1))
check "a changed pack with a new warning: the warnings are logged again" \
	test "$(grep -c 'warning: ' "$TMP/run.err")" -gt "$w1"
kill "$RUN_PID"; wait "$RUN_PID" 2>/dev/null
chmod 644 "$TMP/events.jsonl"
"$SLUICE" run "$TMP/site.rules" --instance "$inst" --log-file "$TMP/events.jsonl" > /dev/null 2> "$TMP/run2.err" &
RUN_PID=$!
for _ in $(seq 100); do grep -q 'running (pid' "$TMP/run2.err" && break; sleep 0.1; done
kill "$RUN_PID"; wait "$RUN_PID" 2>/dev/null
check "an existing --log-file that others can read is named, with the fix" \
	grep -q "other users can read it (mode 0644).*chmod 600" "$TMP/run2.err"

# --- 3. reading a name that is no instance leaves nothing behind
for cmd in "status" "stats" "lookup 192.0.2.2"; do
	"$SLUICE" $cmd --instance "nx$ID" > /dev/null 2>&1
done
check "status/stats/lookup of no instance leave no /run/sluice/nx$ID.lock" test ! -e "/run/sluice/nx$ID.lock"

# --- 4. a read-only /run/sluice: one error (the lock), not "not attached anywhere"
out=$(unshare -m bash -c "mount --bind /run/sluice /run/sluice && mount -o remount,bind,ro /run/sluice &&
	'$SLUICE' apply '$TMP/site.rules' --instance '$inst'" 2>&1); rc=$?
expect_eq "read-only /run/sluice: apply exits 1 (a runtime failure)" "$rc" 1
check "... names the lock and why" grep -q "/run/sluice/$inst.lock.*Read-only file system" <<<"$out"
check "... and does not add a wrong 'not attached anywhere'" bash -c "! grep -q 'not attached anywhere' <<<\"\$1\"" _ "$out"
finish
