#!/usr/bin/env bash
# Messages that must not mislead (issue 11, "Also"): one error for an option
# without its value, --dev suggested for a bare interface, "did you mean" for
# keyword typos, "1 error", a port without a protocol, audit-mode lookups, a
# UTF-8 BOM named, IPv4-mapped IPv6 addresses warned about, no FILE:0:0.
# No root (one root-only check: sluice run exits 2 on a rule error, as apply).
source "$(dirname "$0")/../lib.sh"
need_cmd jq
S=${SLUICE_SAN:-$ROOT/build/sluice-san}
[ -x "$S" ] || S=$SLUICE
TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
printf 'policy drop;\nrule w { allow tcp 443; to 192.0.2.0/24; }\n' > "$TMP/ok.rules"

out=$("$S" apply "$TMP/ok.rules" --dev 2>&1); rc=$?
expect_eq "--dev without a value: exit 2" "$rc" 2
expect_eq "--dev without a value: one error line" "$(grep -c '^sluice: ' <<<"$out")" 1
check "... that names --dev and says it needs a value" grep -q -- "--dev needs a value" <<<"$out"
out=$("$S" status --bogus 2>&1)
check "an unknown option is named" grep -q "unknown option --bogus" <<<"$out"
out=$("$S" apply "$TMP/ok.rules" eth0 2>&1); rc=$?
check "apply FILE eth0 suggests --dev eth0 (exit 2)" bash -c "[ $rc -eq 2 ] && grep -q -- '--dev eth0' <<<\"\$1\"" _ "$out"

printf 'polcy drop;\n' > "$TMP/t1.rules"
check "polcy: did you mean 'policy'?" bash -c "'$S' check '$TMP/t1.rules' 2>&1 | grep -q \"did you mean 'policy'\""
printf 'rule r { alow tcp 443; to 192.0.2.1; }\n' > "$TMP/t2.rules"
check "alow: did you mean 'allow'?" bash -c "'$S' check '$TMP/t2.rules' 2>&1 | grep -q \"did you mean 'allow'\""
out=$("$S" check "$TMP/t1.rules" 2>&1)
check "one error is '1 error', not '1 errors'" bash -c "grep -q ': 1 error, 0 warnings' <<<\"\$1\" && ! grep -q '1 errors' <<<\"\$1\"" _ "$out"

out=$("$S" lookup --rules "$TMP/ok.rules" 192.0.2.2 443 2>&1); rc=$?
check "lookup ADDR 443 suggests tcp 443 (exit 2)" bash -c "[ $rc -eq 2 ] && grep -q 'tcp 443' <<<\"\$1\"" _ "$out"

printf 'policy drop;\nmode audit;\nrule w { allow tcp 443; to 192.0.2.0/24; }\n' > "$TMP/audit.rules"
expect_eq "audit mode: lookup says 'audit: would drop'" \
	"$("$S" lookup --rules "$TMP/audit.rules" 203.0.113.1 tcp 443 2>/dev/null | cut -d' ' -f1-3)" "audit: would drop"
expect_eq "audit mode: JSON verdict allow, would drop" \
	"$("$S" lookup --json --rules "$TMP/audit.rules" 203.0.113.1 tcp 443 2>/dev/null | jq -r '"\(.verdict) \(.would)"')" "allow drop"
expect_eq "audit mode: an allowed destination has no 'would'" \
	"$("$S" lookup --json --rules "$TMP/audit.rules" 192.0.2.1 tcp 443 2>/dev/null | jq -r '"\(.verdict) \(.would)"')" "allow null"

printf '\xef\xbb\xbfpolicy drop;\n' > "$TMP/bom.rules"
check "a UTF-8 BOM is named as such" bash -c "'$S' check '$TMP/bom.rules' 2>&1 | grep -q 'byte-order mark'"
printf 'policy drop;\nrule r { allow tcp 443; to ::ffff:192.0.2.2; }\n' > "$TMP/mapped.rules"
out=$("$S" check "$TMP/mapped.rules" 2>&1)
check "::ffff:192.0.2.2 is warned about (never matches IPv4), with the fix" \
	bash -c "grep -q 'mapped.rules:2:28: warning: .*IPv4-mapped' <<<\"\$1\" && grep -q '192.0.2.2' <<<\"\$1\"" _ "$out"
out=$("$S" check "$TMP/missing.rules" 2>&1)
check "a missing file: no FILE:0:0" bash -c "! grep -q ':0:0' <<<\"\$1\" && grep -q 'missing.rules: error' <<<\"\$1\"" _ "$out"

if [ "$(id -u)" -eq 0 ]; then
	printf 'policy drop;\nrule r { alow tcp 443; to 192.0.2.1; }\n' > "$TMP/bad.rules"
	"$SLUICE" run "$TMP/bad.rules" --dev "nosuch$ID" --instance "hint$ID" > "$TMP/run.out" 2>&1
	expect_eq "sluice run exits 2 on a rule error, as apply does" "$?" 2
	check "... and logs no FILE:0:0" bash -c "! grep -q ':0:0' '$TMP/run.out'"
else
	skip "sluice run exit status" "needs root"
fi
finish
