#!/usr/bin/env bash
# End to end: `sluice plan` against a loaded instance (exit 3 with changes,
# 0 without, --json shape, every kind of change seen through the pins),
# `apply --confirm` rolled back after its window although the shell that
# applied it was killed (kill -9 of its whole process group; the detached
# watchdog rolls back and real TCP between two namespaces follows the old
# rules again), kept after `sluice confirm`, a first apply with --confirm
# detached when unconfirmed, and `status --json` naming the rules file,
# digest, applied time and the pending confirmation.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd ip jq socat setsid

TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
inst=pc$ID
J() { "$SLUICE" "$@" --instance "$inst" --json 2>/dev/null; }

# A: 192.0.2.2 allowed.  B: 198.51.100.2 instead, a rule more, A's rule moved.
cat > "$TMP/a.rules" <<'RULES'
policy drop;
rule web { allow tcp 8080; to 192.0.2.2; }
rule spare { allow udp 5000; to 203.0.113.0/24; }
RULES
cat > "$TMP/b.rules" <<'RULES'
policy drop;
rule spare { allow udp 5000-5001; to 203.0.113.0/24; }
rule web { allow tcp 8080; to 198.51.100.2; }
rule newrule { deny any; to 192.0.2.0/24; }
RULES
sed 's/policy drop;/policy drop;\nmode audit;/' "$TMP/a.rules" > "$TMP/audit.rules"
sed 's/allow tcp 8080/deny tcp 8080/' "$TMP/a.rules" > "$TMP/action.rules"

tcp_ok() { in_c "$ID" timeout 5 socat -T 2 -t 4 - "TCP:$1:8080,connect-timeout=2" <<<"ping" 2>/dev/null | grep -q ping; }
follows_a() { tcp_ok 192.0.2.2 && ! tcp_ok 198.51.100.2; }
follows_b() { tcp_ok 198.51.100.2 && ! tcp_ok 192.0.2.2; }
wait_for() {   # SECONDS COMMAND...: poll until it holds
	local n=$(( $1 * 10 )); shift
	for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
	return 1
}

lab_up "$ID" || { fail setup "cannot build the namespace lab"; exit 1; }
on_exit lab_down "$ID"
on_exit "$SLUICE" detach --all --instance "$inst"
for a in 192.0.2.2 198.51.100.2; do
	in_s "$ID" socat TCP-LISTEN:8080,fork,reuseaddr,bind=$a EXEC:cat >/dev/null 2>&1 &
done
listening() { [ "$(in_s "$ID" ss -Hltn 'sport = :8080' | wc -l)" -ge 2 ]; }
wait_for 5 listening

# ---- plan
"$SLUICE" plan "$TMP/a.rules" --instance "$inst" > "$TMP/out" 2>&1
expect_eq "plan/nothing-loaded-exit-3" "$?" 3
out=$(J plan "$TMP/a.rules")
expect_eq "plan/nothing-loaded-json" "$(jq -c '[.loaded, .changes, .counts.added]' <<<"$out")" '[false,true,2]'
"$SLUICE" plan "$TMP/bad-missing.rules" --instance "$inst" >/dev/null 2>&1
expect_eq "plan/usage-error-exit-2" "$?" 2

if ! "$SLUICE" apply "$TMP/a.rules" --dev "slc$ID" --netns "sl-$ID-c" --instance "$inst" > "$TMP/out" 2>&1; then
	fail apply "$(cat "$TMP/out")"
	finish
fi
check "apply/a-traffic" follows_a
"$SLUICE" plan "$TMP/a.rules" --instance "$inst" > "$TMP/out" 2>&1
expect_eq "plan/no-change-exit-0" "$?" 0
check "plan/no-change-says-so" grep -q "plan: no change" "$TMP/out"
"$SLUICE" plan "$TMP/b.rules" --instance "$inst" > "$TMP/out" 2>&1
expect_eq "plan/changes-exit-3" "$?" 3
out=$(J plan "$TMP/b.rules")
expect_eq "plan/json-counts" "$(jq -c '.counts | [.added, .removed, .changed, .moved, .counters_kept]' <<<"$out")" '[1,0,2,1,2]'
expect_eq "plan/json-dst-added" "$(jq -r '.rules[] | select(.name=="web") | .destinations_added[0]' <<<"$out")" 198.51.100.2/32
expect_eq "plan/json-dst-removed" "$(jq -r '.rules[] | select(.name=="web") | .destinations_removed[0]' <<<"$out")" 192.0.2.2/32
expect_eq "plan/json-ports" "$(jq -r '.rules[] | select(.name=="spare") | [.protocols_changed, .old_protocols, .new_protocols] | @tsv' <<<"$out")" \
	"$(printf 'true\tudp 5000\tudp 5000-5001')"
expect_eq "plan/json-added-rule" "$(jq -r '.rules[] | select(.name=="newrule") | [.change, .counters_kept] | @tsv' <<<"$out")" "$(printf 'added\tfalse')"
expect_eq "plan/json-loaded-file" "$(jq -r '.loaded_rules_file' <<<"$out")" "$(realpath "$TMP/a.rules")"
out=$(J plan "$TMP/audit.rules")
expect_eq "plan/json-mode" "$(jq -c '[.mode.old, .mode.new, .counts.changed]' <<<"$out")" '["enforce","audit",0]'
out=$(J plan "$TMP/action.rules")
expect_eq "plan/json-action" "$(jq -r '.rules[] | select(.name=="web") | [.old_action, .new_action] | @tsv' <<<"$out")" "$(printf 'allow\tdeny')"
check "plan/changed-nothing" follows_a

# ---- status names what is loaded
st=$(J status)
expect_eq "status/rules-file" "$(jq -r '.instances[0].rules_file' <<<"$st")" "$(realpath "$TMP/a.rules")"
check "status/digest" jq -e '.instances[0].digest | test("^[0-9a-f]{16}$")' <<<"$st"
check "status/applied-at" jq -e '.instances[0].applied_at | test("^20")' <<<"$st"
expect_eq "status/no-pending" "$(jq -r '.instances[0].pending_confirm' <<<"$st")" null

# ---- --confirm, the applying shell killed: the watchdog rolls back
# (windows of 10 s where traffic is probed before the deadline: a probe that
# ends blocked takes 2 s, and the machine may be slow)
setsid bash -c "\"$SLUICE\" apply \"$TMP/b.rules\" --instance $inst --confirm 10s > \"$TMP/confirm.out\" 2>&1; sleep 60" &
shell=$!
wait_for 10 grep -q "PENDING CONFIRMATION" "$TMP/confirm.out"
kill -9 -- "-$shell" 2>/dev/null; kill -9 "$shell" 2>/dev/null
wait "$shell" 2>/dev/null
check "confirm/applied" follows_b
st=$(J status)
check "confirm/status-pending" jq -e '.instances[0].pending_confirm | test("^20")' <<<"$st"
check "confirm/rolled-back-with-shell-killed" wait_for 20 follows_a
st=$(J status)
expect_eq "confirm/status-rolled-back" "$(jq -c '.instances[0] | [.pending_confirm, .rolled_back.generation, .rules_file]' <<<"$st")" \
	"[null,2,\"$(realpath "$TMP/a.rules")\"]"
"$SLUICE" confirm --instance "$inst" > /dev/null 2>&1
expect_eq "confirm/late-exit-1" "$?" 1

# ---- --confirm, then confirm: kept
"$SLUICE" apply "$TMP/b.rules" --instance "$inst" --confirm 5s > "$TMP/out" 2>&1
"$SLUICE" confirm --instance "$inst" > "$TMP/out" 2>&1
expect_eq "confirm/confirm-exit-0" "$?" 0
sleep 6
check "confirm/kept-after-window" follows_b
"$SLUICE" confirm --instance "$inst" > /dev/null 2>&1
expect_eq "confirm/nothing-pending-exit-1" "$?" 1
"$SLUICE" plan "$TMP/b.rules" --instance "$inst" > /dev/null 2>&1
expect_eq "confirm/plan-no-change-after-confirm" "$?" 0

# ---- the watchdog killed too: status says the window lapsed (exit 1), a late confirm rolls back
"$SLUICE" apply "$TMP/a.rules" --instance "$inst" > /dev/null 2>&1
"$SLUICE" apply "$TMP/b.rules" --instance "$inst" --confirm 3s > "$TMP/out" 2>&1
wd=$(sed -n 's/.*rollback watchdog: pid \([0-9]*\).*/\1/p' "$TMP/out")
if [ -n "$wd" ] && kill -9 "$wd" 2>/dev/null; then
	sleep 4
	"$SLUICE" status --instance "$inst" > "$TMP/st" 2>&1
	expect_eq "lapsed/status-exit-1" "$?" 1
	check "lapsed/status-says-so" grep -q "CONFIRM WINDOW LAPSED.*ROLLBACK PENDING" "$TMP/st"
	check "lapsed/still-b-until-someone-acts" follows_b
	"$SLUICE" confirm --instance "$inst" > "$TMP/out" 2>&1
	expect_eq "lapsed/confirm-exit-1" "$?" 1
	check "lapsed/confirm-rolled-back" follows_a
else
	fail "lapsed/watchdog-pid" "$(cat "$TMP/out")"
fi

# ---- the watchdog killed, sluice run running: run rolls back
"$SLUICE" run "$TMP/a.rules" --instance "$inst" > "$TMP/run.log" 2>&1 &
run=$!
on_exit kill "$run"
wait_for 10 grep -q "generation" "$TMP/run.log"
"$SLUICE" apply "$TMP/b.rules" --instance "$inst" --confirm 10s > "$TMP/out" 2>&1
wd=$(sed -n 's/.*rollback watchdog: pid \([0-9]*\).*/\1/p' "$TMP/out")
[ -n "$wd" ] && kill -9 "$wd" 2>/dev/null
check "run/applied" follows_b
check "run/rolled-back-by-run" wait_for 20 follows_a
check "run/logged" grep -q "confirmation window lapsed unconfirmed: rolled back" "$TMP/run.log"
kill "$run" 2>/dev/null; wait "$run" 2>/dev/null

# ---- a record of another generation (as an older sluice leaves it) is never trusted
pin=/sys/fs/bpf/sluice/$inst
"$SLUICE" apply "$TMP/a.rules" --instance "$inst" > /dev/null 2>&1
mv "$pin/source" "$pin/source-kept"
"$SLUICE" apply "$TMP/b.rules" --instance "$inst" > /dev/null 2>&1
mv "$pin/source-kept" "$pin/source"
"$SLUICE" plan "$TMP/b.rules" --instance "$inst" > "$TMP/out" 2>&1
expect_eq "stale/plan-exit-1" "$?" 1
check "stale/plan-says-why" grep -q "recorded source is of generation" "$TMP/out"
"$SLUICE" apply "$TMP/a.rules" --instance "$inst" --confirm 5s > "$TMP/out" 2>&1
expect_eq "stale/confirm-refused" "$?" 1
check "stale/still-b" follows_b
"$SLUICE" apply "$TMP/b.rules" --instance "$inst" > "$TMP/out" 2>&1
check "stale/apply-says-unknown" grep -q "changes: not known" "$TMP/out"
"$SLUICE" plan "$TMP/b.rules" --instance "$inst" > /dev/null 2>&1
expect_eq "stale/plan-after-apply-exit-0" "$?" 0

# ---- a first apply with --confirm, unconfirmed: detached
"$SLUICE" detach --all --instance "$inst" > /dev/null 2>&1
"$SLUICE" apply "$TMP/b.rules" --dev "slc$ID" --netns "sl-$ID-c" --instance "$inst" --confirm 10s > "$TMP/out" 2>&1
check "confirm/first-applied" follows_b
check "confirm/first-detached" wait_for 20 test ! -e "/sys/fs/bpf/sluice/$inst"
check "confirm/first-traffic-unfiltered" wait_for 3 tcp_ok 192.0.2.2
finish
