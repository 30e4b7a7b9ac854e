#!/usr/bin/env bash
# The sluice command line without root: check, lookup --rules, dump --rules,
# exit codes, error positions, JSON shapes.  Runs the ASan/UBSan build.
source "$(dirname "$0")/../lib.sh"
need_cmd jq
S=${SLUICE_SAN:-$ROOT/build/sluice-san}
[ -x "$S" ] || S=$SLUICE
TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'

cat > "$TMP/good.rules" <<'EOF2'
policy drop;
set media { 192.0.2.0/25, 2001:db8:1::/64 }
rule video { allow tcp 443; allow udp 8801-8810; to @media; }
rule block { deny any; to 192.0.2.64/26; }
rule web { allow tcp 80; to 198.51.100.0/24; }
EOF2

# exit codes and summary
out=$("$S" check "$TMP/good.rules" 2>"$TMP/err"); rc=$?
expect_eq "check good file exits 0" "$rc" 0
check "check prints a summary" grep -q "ok: 3 rules" <<<"$out"
check "check warns that 192.0.2.64/26 overlaps rule video" grep -qiE "192.0.2.64/26.*(overlap|inside|nested|within)" "$TMP/err"
j=$("$S" check --json "$TMP/good.rules" 2>/dev/null)
expect_eq "check --json: ok, rules" "$(jq -r '"\(.ok) \(.rules)"' <<<"$j")" "true 3"
check "check --json: warnings listed with positions" \
	jq -e '.diagnostics | map(select(.severity == "warning" and .line > 0 and .column > 0)) | length > 0' <<<"$j"

# errors: file:line:col, exit 2, hints
printf 'policy drop;\nrule r { allow tcp 443; to 10.0.0.1/24; }\n' > "$TMP/hostbits.rules"
"$S" check "$TMP/hostbits.rules" > /dev/null 2>"$TMP/err"; rc=$?
expect_eq "host bits: exit 2" "$rc" 2
check "host bits: error at 2:28" grep -q "hostbits.rules:2:28: error" "$TMP/err"
check "host bits: hint shows 10.0.0.0/24" grep -q "10.0.0.0/24" "$TMP/err"

printf 'rule r {\n  allow udp 10,000-60,000;\n  to 192.0.2.1;\n}\n' > "$TMP/commas.rules"
"$S" check "$TMP/commas.rules" > /dev/null 2>"$TMP/err"; rc=$?
expect_eq "thousands separator: exit 2" "$rc" 2
check "thousands separator: hint 10000-60000" grep -q "10000-60000" "$TMP/err"
check "thousands separator: position line 2" grep -q "commas.rules:2:" "$TMP/err"

printf 'rule r { allow tcp 443 to 192.0.2.1; }\n' > "$TMP/semi.rules"
"$S" check "$TMP/semi.rules" > /dev/null 2>"$TMP/err"; rc=$?
expect_eq "missing ';': exit 2" "$rc" 2
check "missing ';': names file:line:col and what was expected" grep -qE "semi.rules:1:[0-9]+: error: .*expected" "$TMP/err"

"$S" check "$TMP/does-not-exist.rules" > /dev/null 2>"$TMP/err"; rc=$?
expect_eq "missing file: exit 2" "$rc" 2
check "missing file: names the path" grep -q "does-not-exist.rules" "$TMP/err"

"$S" frobnicate > /dev/null 2>&1; expect_eq "unknown command: exit 2" "$?" 2
"$S" check > /dev/null 2>&1; expect_eq "check without a file: exit 2" "$?" 2
check "--help on a command" bash -c "'$S' lookup --help | grep -q 'usage: sluice lookup'"
check "help lists every command" bash -c "'$S' help | grep -q dump"

# lookup --rules: the DESIGN.md section 5 shape, no root needed
lk() { "$S" lookup --json --rules "$TMP/good.rules" "$@" 2>/dev/null; }
expect_eq "lookup 192.0.2.10 udp 8805 -> allow video" \
	"$(lk 192.0.2.10 udp 8805 | jq -r '"\(.verdict) \(.rule) \(.reason)"')" "allow video rule"
expect_eq "lookup 192.0.2.10 udp 8811 -> near miss video" \
	"$(lk 192.0.2.10 udp 8811 | jq -r '"\(.verdict) \(.rule) \(.reason)"')" "drop video near_miss"
expect_eq "lookup 192.0.2.70 udp 9 -> deny block (first match after video misses)" \
	"$(lk 192.0.2.70 udp 9 | jq -r '"\(.verdict) \(.rule) \(.reason)"')" "drop block rule"
expect_eq "lookup 192.0.2.70 tcp 443 -> allow video (first match wins over nested deny)" \
	"$(lk 192.0.2.70 tcp 443 | jq -r '"\(.verdict) \(.rule)"')" "allow video"
expect_eq "lookup 203.0.113.1 tcp 443 -> policy, rule null" \
	"$(lk 203.0.113.1 tcp 443 | jq -r '"\(.verdict) \(.rule) \(.reason)"')" "drop null policy"
expect_eq "lookup 2001:db8:1::5 tcp 443 -> allow video" \
	"$(lk 2001:db8:1::5 tcp 443 | jq -r '"\(.verdict) \(.rule)"')" "allow video"
expect_eq "lookup --fragment 192.0.2.10 udp -> allow (ports ignored)" \
	"$("$S" lookup --json --fragment --rules "$TMP/good.rules" 192.0.2.10 udp 1 | jq -r .verdict)" "allow"
"$S" lookup --rules "$TMP/good.rules" 192.0.2.300 > /dev/null 2>&1
expect_eq "lookup of a bad address exits 2" "$?" 2

# dump --rules: JSON image
d=$("$S" dump --json --rules "$TMP/good.rules" 2>/dev/null)
expect_eq "dump --json: prefixes" "$(jq '.dst4 | length' <<<"$d") $(jq '.dst6 | length' <<<"$d")" "3 1"
check "dump --json: 192.0.2.64/26 has its own class" \
	jq -e '[.dst4[] | select(.prefix == "192.0.2.64/26")] | length == 1' <<<"$d"
check "dump text" bash -c "'$S' dump --rules '$TMP/good.rules' | grep -q 'dst4 (3 prefixes)'"

finish
