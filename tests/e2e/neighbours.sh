#!/usr/bin/env bash
# Never silently open (issue 20): what runs on sluice's hooks is read from the
# kernel, not from sluice's records (kernel/live.c).
#   item 1:  a foreign TCX program attached in front (BPF_F_BEFORE) makes the
#            attachment BYPASSED in status (exit 1) and metrics; a re-apply and
#            sluice run put sluice first again; a clsact filter replaced at
#            sluice's handle is BYPASSED, and detach leaves it alone
#   item 4:  the config pin removed: status and stats --format prometheus remove
#            nothing, traffic stays filtered, status says what is wrong
#   item 8:  zero attachments: status exits 1; status during a detach never says
#            GONE; a renamed interface shows its new name and apply --dev NEWNAME
#            does not stack a second link; an interface moved to another
#            namespace shows where it is now
#   item 9:  a first apply to three interfaces killed after the first: status and
#            recovery name the two that are not filtered
#   item 10: sluice run after an external detach --all says so and exits 1
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd ip tc jq ping nsenter
HOOKQ=$ROOT/build/sl-hookq
FOREIGN=$ROOT/build/foreign.bpf.o

TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
id=${ID}o
inst=nb${id}
C=sl-$id-c S=sl-$id-s DEV=slc$id
pin=/sys/fs/bpf/sluice/$inst
fpin=/sys/fs/bpf/slfgn$id

cat > "$TMP/A" <<'R'
policy drop;
rule alpha { allow icmp; to 198.51.100.2; }
R

lab_up "$id" || { fail setup "cannot build the lab"; finish; }
on_exit lab_down "$id"
on_exit "$SLUICE" detach --all --instance "$inst"
on_exit rm -f "$fpin" "${fpin}b"
in_c "$id" ping -c 1 -W 1 -q 198.51.100.2 >/dev/null
in_c "$id" ping -c 1 -W 1 -q 203.0.113.2 >/dev/null

sl() { "$SLUICE" "$@" --instance "$inst"; }
up() { in_c "$id" ping -c 1 -W 0.6 -q "$1" >/dev/null 2>&1 && echo 1 || echo 0; }
traffic() { case "$(up 198.51.100.2)$(up 203.0.113.2)" in 10) echo A ;; 11) echo none ;; *) echo other ;; esac; }
state() { sl status --json 2>/dev/null | jq -r "[.instances[0].attachments[]${1:-} | .state] | join(\",\")"; }
first() { in_c "$id" "$HOOKQ" "${1:-$DEV}" | awk '$1 == "tcx-egress" { print $3; exit }'; }
foreign_before() {   # PIN: a foreign TCX egress program in front of everything on DEV
	nsenter --net="/run/netns/$C" "$HOOKQ" before "$DEV" egress "$FOREIGN" "$1" >/dev/null
}

# --- item 1: TCX ---------------------------------------------------------------
T_PREFIX="neighbours/tcx/"
sl apply "$TMP/A" --dev "$DEV" --netns "$C" > "$TMP/out" 2>&1 || fail "apply" "$(cat "$TMP/out")"
expect_eq "filtering: traffic A" "$(traffic)" A
foreign_before "$fpin" || fail "foreign program in front" "sl-hookq before failed"
expect_eq "a foreign TC_ACT_OK program in front: denied traffic passes (the bypass is real)" "$(traffic)" none
sl status > "$TMP/status" 2>&1
expect_eq "status exits 1" "$?" 1
check "status says BYPASSED and names the program in front" grep -q "BYPASSED.*foreign_tc" "$TMP/status"
expect_eq "status --json: state BYPASSED" "$(state)" BYPASSED
sl stats --format prometheus > "$TMP/prom" 2>&1
check "metrics: sluice_attachment_state BYPASSED 1" grep -q "^sluice_attachment_state{sluice_instance=\"$inst\".*state=\"BYPASSED\"} 1" "$TMP/prom"
check "metrics: sluice_instance_enforcing 0" grep -q "^sluice_instance_enforcing{sluice_instance=\"$inst\"} 0" "$TMP/prom"
sl apply "$TMP/A" > "$TMP/out" 2>&1
expect_eq "re-apply exits 0" "$?" 0
check "re-apply says sluice runs first again" grep -q "first again" "$TMP/out"
expect_eq "sluice's program is first on the hook" "$(first)" sluice_tc
expect_eq "traffic A again" "$(traffic)" A
expect_eq "status: enforcing" "$(state)" enforcing

T_PREFIX="neighbours/run-restores/"
"$SLUICE" run "$TMP/A" --dev "$DEV" --netns "$C" --instance "$inst" > "$TMP/run.log" 2>&1 &
rp=$!
on_exit kill $rp
for _ in $(seq 50); do grep -q "running (pid" "$TMP/run.log" && break; sleep 0.1; done
foreign_before "${fpin}b"
ok=0
for _ in $(seq 30); do [ "$(first)" = sluice_tc ] && [ "$(state)" = enforcing ] && { ok=1; break; }; sleep 0.2; done
expect_eq "sluice run puts sluice first again within 6 s" "$ok" 1
expect_eq "traffic A" "$(traffic)" A
check "run logged the BYPASSED attachment" grep -q "BYPASSED.*foreign_tc" "$TMP/run.log"
check "run logged that it put sluice first" grep -q "attached again in first place" "$TMP/run.log"

# --- item 10: sluice run after an external detach --all ------------------------------
T_PREFIX="neighbours/run-detached/"
sl detach --all >/dev/null 2>&1
for _ in $(seq 50); do kill -0 $rp 2>/dev/null || break; sleep 0.1; done
if kill -0 $rp 2>/dev/null; then fail "sluice run stops after an external detach --all" "still running after 5 s"
else wait $rp; expect_eq "sluice run stops after an external detach --all, exit 1" "$?" 1; fi
check "run says loudly that nothing is filtered" grep -q "detached from outside.*NOTHING IS FILTERED" "$TMP/run.log"
rm -f "$fpin" "${fpin}b"

# --- item 1: clsact ----------------------------------------------------------------
T_PREFIX="neighbours/clsact/"
sl apply "$TMP/A" --dev "$DEV" --netns "$C" --tc-mode clsact > "$TMP/out" 2>&1 || fail "apply clsact" "$(cat "$TMP/out")"
h=$(sl status --json | jq -r '.instances[0].attachments[0].handle')
p=$(sl status --json | jq -r '.instances[0].attachments[0].priority')
tc -n "$C" filter replace dev "$DEV" egress handle "$(printf '0x%x' "$h")" prio "$p" bpf da obj "$FOREIGN" sec tc
expect_eq "a foreign filter at sluice's handle: denied traffic passes (the bypass is real)" "$(traffic)" none
sl status > "$TMP/status" 2>&1
expect_eq "status exits 1" "$?" 1
check "status says BYPASSED: the foreign program runs in sluice's place" grep -q "BYPASSED.*foreign_tc.*in sluice's place" "$TMP/status"
sl apply "$TMP/A" > "$TMP/out" 2>&1
expect_eq "re-apply: exit 0, traffic A, enforcing" "$?:$(traffic):$(state)" "0:A:enforcing"
tc -n "$C" filter add dev "$DEV" egress handle 0x77 prio 1 bpf da obj "$FOREIGN" sec tc
expect_eq "a foreign filter before sluice's: BYPASSED" "$(state)" BYPASSED
sl apply "$TMP/A" > "$TMP/out" 2>&1
expect_eq "a re-apply that cannot put a clsact filter first exits 1" "$?" 1
tc -n "$C" filter del dev "$DEV" egress handle 0x77 prio 1 bpf
tc -n "$C" filter replace dev "$DEV" egress handle "$(printf '0x%x' "$h")" prio "$p" bpf da obj "$FOREIGN" sec tc
sl detach --all > "$TMP/out" 2>&1
expect_eq "detach --all exits 0" "$?" 0
check "detach leaves the foreign filter at sluice's handle in place" bash -c "tc -n $C filter show dev $DEV egress | grep -q foreign_tc"
check "... and says so" grep -q "left in place" "$TMP/out"
tc -n "$C" filter del dev "$DEV" egress handle "$(printf '0x%x' "$h")" prio "$p" bpf 2>/dev/null

# --- item 4: a read-only command never removes ------------------------------------
T_PREFIX="neighbours/config-pin-lost/"
sl apply "$TMP/A" --dev "$DEV" --netns "$C" > "$TMP/out" 2>&1 || fail "apply" "$(cat "$TMP/out")"
rm -f "$pin/config"
sl status > "$TMP/status" 2>&1
expect_eq "status exits 1" "$?" 1
check "status says the config pin is missing and traffic is still filtered" bash -c "grep -q 'config is missing' $TMP/status && grep -q 'still filtered' $TMP/status"
sl stats --format prometheus >/dev/null 2>&1
sl lookup 198.51.100.2 >/dev/null 2>&1; sl learned >/dev/null 2>&1; sl stats >/dev/null 2>&1
expect_eq "after status and stats --format prometheus: still filtered (traffic A)" "$(traffic)" A
check "the instance's pins are still there" test -e "$pin/attachments"
sl apply "$TMP/A" --dev "$DEV" --netns "$C" > "$TMP/out" 2>&1
expect_eq "apply repairs it: exit 0, status 0, traffic A" "$?:$(sl status >/dev/null 2>&1; echo $?):$(traffic)" "0:0:A"
expect_eq "one sluice program on the hook" "$(in_c "$id" "$HOOKQ" "$DEV" | grep -c sluice_)" 1

# --- item 8: renamed interface --------------------------------------------------
T_PREFIX="neighbours/rename/"
ip -n "$C" link set "$DEV" down; ip -n "$C" link set "$DEV" name "${DEV}r"; ip -n "$C" link set "${DEV}r" up
expect_eq "status shows the interface's current name" "$(sl status --json | jq -r '.instances[0].attachments[0].dev')" "${DEV}r"
sl apply "$TMP/A" --dev "${DEV}r" --netns "$C" > "$TMP/out" 2>&1
expect_eq "apply --dev NEWNAME exits 0" "$?" 0
expect_eq "one sluice program on the renamed interface (no second link)" "$(in_c "$id" "$HOOKQ" "${DEV}r" | grep -c sluice_)" 1
expect_eq "one attachment, enforcing" "$(state)" enforcing
ip -n "$C" link set "${DEV}r" down; ip -n "$C" link set "${DEV}r" name "$DEV"; ip -n "$C" link set "$DEV" up
sl detach --all >/dev/null 2>&1

T_PREFIX="neighbours/netns-move/"
ip netns add "sl-$id-m" && on_exit ip netns del "sl-$id-m"
ip -n "$C" link add "slm$id" type veth peer name "sln$id"
ip -n "$C" link set "slm$id" up
sl apply "$TMP/A" --dev "slm$id" --netns "$C" >/dev/null 2>&1
ip -n "$C" link set "slm$id" netns "sl-$id-m"
expect_eq "an interface moved to another namespace: status shows where it is now, still enforcing" \
	"$(sl status --json | jq -r '.instances[0].attachments[0] | "\(.dev)@\(.netns) \(.state)"')" "slm$id@sl-$id-m enforcing"
sl apply "$TMP/A" --dev "slm$id" --netns "sl-$id-m" > "$TMP/out" 2>&1
expect_eq "apply --dev NAME --netns NEWNS: exit 0, one sluice program there, one attachment" \
	"$?:$(ip netns exec "sl-$id-m" "$HOOKQ" "slm$id" | grep -c sluice_):$(state)" "0:1:enforcing"
sl detach --all >/dev/null 2>&1

# --- item 8: zero attachments; detach during status -------------------------------
T_PREFIX="neighbours/zero/"
ip -n "$C" link add "slx$id" type veth peer name "sly$id"
ip -n "$C" link set "slx$id" up
sl apply "$TMP/A" --dev "slx$id" --netns "$C" >/dev/null 2>&1
ip -n "$C" link del "slx$id"
sl apply "$TMP/A" >/dev/null 2>&1
sl status > "$TMP/status" 2>&1
expect_eq "status of an instance with no attachment exits 1" "$?" 1
check "... and says it filters nothing" grep -q "filters nothing" "$TMP/status"
sl detach --all >/dev/null 2>&1

T_PREFIX="neighbours/detach-during-status/"
ip -n "$C" link add "slx$id" type veth peer name "sly$id"
ip -n "$C" link set "slx$id" up
gone=0
for i in $(seq 1 20); do
	sl apply "$TMP/A" --dev "$DEV" --dev "slx$id" --netns "$C" >/dev/null 2>&1
	sl detach --dev "slx$id" --netns "$C" >/dev/null 2>&1 &
	sl status > "$TMP/st.$i" 2>&1
	wait $!
	grep -q GONE "$TMP/st.$i" && gone=$((gone + 1))
done
expect_eq "status never says GONE for an attachment detached on purpose (20 runs)" "$gone" 0
sl detach --all >/dev/null 2>&1

# --- item 9: a first apply to three interfaces killed after the first ---------------
T_PREFIX="neighbours/killed-first-apply/"
ip -n "$C" link add "slz$id" type veth peer name "slw$id"
ip -n "$C" link set "slz$id" up
SLUICE_FAULT=apply-attached:1 "$SLUICE" apply "$TMP/A" --dev "$DEV" --dev "slx$id" --dev "slz$id" \
	--netns "$C" --instance "$inst" > "$TMP/out" 2>&1
expect_eq "the apply was killed after its first attach" "$?" 137
sl status > "$TMP/status" 2>&1
expect_eq "status exits 1" "$?" 1
check "recovery names both interfaces that are not filtered" bash -c "grep -q 'never attached.*slx$id.*NOT filtered' $TMP/status && grep -q 'never attached.*slz$id.*NOT filtered' $TMP/status"
expect_eq "status --json: one enforcing, two NOT-ATTACHED" "$(state)" "enforcing,NOT-ATTACHED,NOT-ATTACHED"
expect_eq "the one it reached filters (traffic A)" "$(traffic)" A
sl apply "$TMP/A" --dev "slx$id" --dev "slz$id" --netns "$C" >/dev/null 2>&1
expect_eq "apply again attaches them: all enforcing" "$(state)" "enforcing,enforcing,enforcing"
sl detach --all >/dev/null 2>&1

finish
