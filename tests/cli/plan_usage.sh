#!/usr/bin/env bash
# plan, apply --confirm, confirm and verify without an instance (issue 21): usage
# and rule errors exit 2 before anything is read or changed, `check` counts the
# requirements a pack carries, a pack without requirements cannot be verified,
# and every shipped pack file still checks with its requirements.
source "$(dirname "$0")/../lib.sh"
need_cmd jq
S=${SLUICE_SAN:-$ROOT/build/sluice-san}
[ -x "$S" ] || S=$SLUICE
TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
printf 'policy drop;\nrule w { allow tcp 443; to 192.0.2.0/24; }\n' > "$TMP/ok.rules"
printf 'policy drop;\nrule w { allow tcp 10,000-60,000; to 192.0.2.0/24; }\n' > "$TMP/bad.rules"

"$S" plan > /dev/null 2>&1; expect_eq "plan without FILE: exit 2" "$?" 2
"$S" plan "$TMP/bad.rules" > /dev/null 2>&1; expect_eq "plan with a rule error: exit 2" "$?" 2
"$S" plan "$TMP/ok.rules" extra > /dev/null 2>&1; expect_eq "plan with two files: exit 2" "$?" 2
for d in 0s 5x -1m 25h abc ""; do
	"$S" apply "$TMP/ok.rules" --confirm "$d" > "$TMP/out" 2>&1
	expect_eq "apply --confirm '$d': exit 2" "$?" 2
done
check "... says what a duration is" grep -q "duration such as 90s, 5m or 1h" "$TMP/out"
"$S" run "$TMP/ok.rules" --confirm 5m > /dev/null 2>&1; expect_eq "run --confirm: exit 2" "$?" 2
"$S" confirm extra > /dev/null 2>&1; expect_eq "confirm with an argument: exit 2" "$?" 2
"$S" verify "$TMP/ok.rules" > "$TMP/out" 2>&1; expect_eq "verify a pack without requirements: exit 2" "$?" 2
check "... and says so" grep -q "has no requirements" "$TMP/out"
"$S" verify > /dev/null 2>&1; expect_eq "verify without PACK: exit 2" "$?" 2

printf 'policy drop;\nrequire r { allow tcp 443; to 192.0.2.1; }\nrequire q { allow udp 53; to 192.0.2.2; }\n' > "$TMP/req.rules"
expect_eq "check counts requirements (JSON)" "$("$S" check --json "$TMP/req.rules" 2>/dev/null | jq -c '[.rules, .requirements]')" '[0,2]'
check "check counts requirements (text)" bash -c "'$S' check '$TMP/req.rules' 2>/dev/null | grep -q '2 requirements for sluice verify'"
printf 'require r { deny tcp 443; to 192.0.2.1; }\n' > "$TMP/reqdeny.rules"
out=$("$S" check "$TMP/reqdeny.rules" 2>&1); rc=$?
check "a deny line in a requirement: exit 2 at its position" \
	bash -c "[ $rc -eq 2 ] && grep -q 'reqdeny.rules:1:9: error: requirement .r. has a deny line' <<<\"\$1\"" _ "$out"
for p in securevideo.rules securevideo/zoom.rules securevideo/one-click.rules; do
	n=$("$S" check --json "$ROOT/rules/$p" 2>/dev/null | jq '.requirements')
	check "rules/$p carries requirements" test "${n:-0}" -ge 1
done
finish
