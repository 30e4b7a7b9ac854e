#!/usr/bin/env bash
# End to end: `sluice verify` on the shipped packs loaded into a test
# instance on a veth in a namespace: every requirement of rules/securevideo.rules
# and of the engine packs passes through the attached program
# (BPF_PROG_TEST_RUN; nothing is sent, vendor addresses only in crafted
# frames); a pack without requirements is a usage error; with a line removed
# from a rule, or a deny rule put before, verify fails (exit 1) and names the
# rule that blocks the requirement.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd ip jq findmnt

TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
inst=vf$ID
V() { "$SLUICE" verify "$@" --instance "$inst"; }
load() {   # RULES: applied to the client's veth
	"$SLUICE" apply "$1" --dev "slc$ID" --netns "sl-$ID-c" --instance "$inst" > "$TMP/apply.out" 2>&1 ||
		{ fail "apply $(basename "$1")" "$(cat "$TMP/apply.out")"; finish; }
}

lab_up "$ID" || { fail setup "cannot build the namespace lab"; exit 1; }
on_exit lab_down "$ID"
on_exit "$SLUICE" detach --all --instance "$inst"

load "$ROOT/rules/securevideo.rules"
V "$ROOT/rules/securevideo.rules" > "$TMP/out" 2>&1
expect_eq "packs/securevideo-exit-0" "$?" 0
out=$(V "$ROOT/rules/securevideo.rules" --json 2>/dev/null)
expect_eq "packs/securevideo-json" "$(jq -c '[.passed, .blocked, ([.requirements[].vendor] | unique)]' <<<"$out")" \
	'[2,0,["one-click","zoom"]]'
check "packs/flows-sampled" jq -e '[.requirements[].flows] | all(. > 20)' <<<"$out"
for p in zoom one-click; do
	V "$ROOT/rules/securevideo/$p.rules" > "$TMP/out" 2>&1
	expect_eq "packs/$p-exit-0" "$?" 0
done
V "$ROOT/rules/securevideo/vsee.rules" > "$TMP/out" 2>&1
expect_eq "packs/no-requirements-exit-2" "$?" 2
check "packs/no-requirements-says-so" grep -q "has no requirements" "$TMP/out"

# A line removed from a rule: zoom's UDP media goes; verify names zoom-media
mkdir -p "$TMP/r" && cp -r "$ROOT/rules/." "$TMP/r/"
awk '/^rule zoom-media/ { inrule = 1 } inrule && /allow udp/ && !done { done = 1; next } /^}/ { inrule = 0 } { print }' \
	"$ROOT/rules/securevideo/zoom.rules" > "$TMP/r/securevideo/zoom.rules"
load "$TMP/r/securevideo.rules"
V "$ROOT/rules/securevideo.rules" > "$TMP/out" 2>&1
expect_eq "removed/exit-1" "$?" 1
check "removed/names-the-rule-text" grep -q "zoom-media-flows .*BLOCKED.*rule zoom-media covers the address but not" "$TMP/out"
out=$(V "$ROOT/rules/securevideo.rules" --json 2>/dev/null)
expect_eq "removed/json" "$(jq -c '[.requirements[] | [.requirement, .result, .blocked_by.rule]]' <<<"$out")" \
	'[["zoom-media-flows","blocked","zoom-media"],["one-click-media-flows","pass",null]]'

# A deny rule first: One-Click's STUN port blocked by it
{ echo 'rule no-stun { deny udp 3478; to any; }'; cat "$ROOT/rules/securevideo.rules"; } > "$TMP/r/deny.rules"
sed -i 's|^include "|include "'"$ROOT"'/rules/|' "$TMP/r/deny.rules"
load "$TMP/r/deny.rules"
out=$(V "$ROOT/rules/securevideo.rules" --json 2>/dev/null)
expect_eq "deny/exit-1" "$(V "$ROOT/rules/securevideo.rules" >/dev/null 2>&1; echo $?)" 1
expect_eq "deny/json" "$(jq -c '[.requirements[] | [.result, .blocked_by.rule, (.blocked_by.flow | test("udp .*:3478$"))]]' <<<"$out")" \
	'[["blocked","no-stun",true],["blocked","no-stun",true]]'

# Every hook and direction: XDP (outbound), tc-ingress inbound (the remote side is
# the source), a cgroup; each requirement's flows run through all three programs
inst2=vg$ID
on_exit "$SLUICE" detach --all --instance "$inst2"
cat > "$TMP/hooks.rules" <<'RULES'
policy drop;
rule web { allow tcp 443; allow udp 3478; to 198.51.100.0/24, 2001:db8:5::/48; }
require need-web { allow tcp 443; allow udp 3478; to 198.51.100.0/24, 2001:db8:5::/48; }
require need-dns { allow udp 53; to 198.51.100.9; }
RULES
cg=$(findmnt -t cgroup2 -n -o TARGET | head -n 1)
ok=1
"$SLUICE" apply "$TMP/hooks.rules" --hook xdp --dev "slc$ID" --netns "sl-$ID-c" --instance "$inst2" > "$TMP/out" 2>&1 || ok=0
"$SLUICE" apply "$TMP/hooks.rules" --hook tc-ingress --direction inbound --dev "slc$ID" --netns "sl-$ID-c" \
	--instance "$inst2" >> "$TMP/out" 2>&1 || ok=0
if [ -n "$cg" ] && mkdir -p "$cg/slv$ID"; then
	on_exit rmdir "$cg/slv$ID"
	"$SLUICE" apply "$TMP/hooks.rules" --cgroup "$cg/slv$ID" --instance "$inst2" >> "$TMP/out" 2>&1 || ok=0
fi
if [ $ok = 1 ]; then
	out=$("$SLUICE" verify "$TMP/hooks.rules" --instance "$inst2" --json 2>/dev/null)
	n=$(jq '.attachments' <<<"$out")
	expect_ge "hooks/attachments" "$n" 2
	# 2 prefixes x 3 addresses x 2 ports, through every attachment
	expect_eq "hooks/pass-everywhere" "$(jq -c '.requirements[0] | [.result, .flows]' <<<"$out")" "[\"pass\",$((12 * n))]"
	expect_eq "hooks/blocked-named" "$(jq -c '.requirements[1] | [.result, .blocked_flows, .blocked_by.rule]' <<<"$out")" \
		"[\"blocked\",$n,\"web\"]"
	st=$("$SLUICE" stats --instance "$inst2" --json)
	expect_eq "hooks/no-probe-malformed" "$(jq '.malformed' <<<"$st")" 0
else
	fail "hooks/apply" "$(cat "$TMP/out")"
fi
finish
