#!/usr/bin/env bash
# The shipped rule packs (rules/securevideo.rules and what it includes) with
# the sluice command line, no root: `sluice check` succeeds with the
# warnings the vendor list deserves (a duplicate, nested prefixes), a note per
# host-name rule (learned from DNS) and no error; each file checks on its own; the commands
# docs/hospital.md shows work as written.  The per-address, per-port proof is
# tests/prog/test_packs.c.
source "$(dirname "$0")/../lib.sh"
need_cmd jq
S=${SLUICE_SAN:-$ROOT/build/sluice-san}
[ -x "$S" ] || S=$SLUICE
cd "$ROOT"
TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
P=rules/securevideo.rules

out=$("$S" check $P 2>"$TMP/err"); rc=$?
expect_eq "check $P exits 0" "$rc" 0
check "check prints ok and the counts" grep -q "^$P: ok: 10 rules, 324 IPv4 and 5 IPv6 prefixes" <<<"$out"
check "no error" bash -c "! grep -q ': error:' '$TMP/err'"
check "warns: 16.63.30.0/24 listed twice (zoom-ips.txt)" \
	grep -q "zoom-ips.txt:[0-9]*:[0-9]*: warning: 16.63.30.0/24 is listed twice" "$TMP/err"
check "warns: 193.122.36.0/22 inside 193.122.32.0/21" \
	grep -q "warning: 193.122.36.0/22 is inside 193.122.32.0/21" "$TMP/err"
check "warns: 193.123.44.0/22 inside 193.123.40.0/21" \
	grep -q "warning: 193.123.44.0/22 is inside 193.123.40.0/21" "$TMP/err"
check "warns: 198.251.192.0/22 inside 198.251.128.0/17" \
	grep -q "warning: 198.251.192.0/22 is inside 198.251.128.0/17" "$TMP/err"
for r in securevideo-web securevideo-pubnub securevideo-cert-status zoom-web one-click-signaling vsee; do
	check "notes: host names of rule $r are learned from DNS" grep -q "note: rule $r: the addresses of .* are learned from DNS" "$TMP/err"
done

j=$("$S" check --json $P 2>/dev/null)
expect_eq "check --json: ok, errors, warnings, rules, host names" \
	"$(jq -r '"\(.ok) \(.errors) \(.warnings) \(.rules) \(.host_names)"' <<<"$j")" "true 0 4 10 15"
expect_eq "check --json: every warning has a file, line and column" \
	"$(jq '[.diagnostics[] | select(.severity == "warning" and (.line < 1 or .column < 1 or .file == null))] | length' <<<"$j")" 0

for f in rules/base.rules rules/securevideo/*.rules; do
	"$S" check "$f" > /dev/null 2>"$TMP/err"; rc=$?
	expect_eq "check $f on its own exits 0" "$rc" 0
done

# The comment in one-click.rules: the document's 10,000-60,000 is an error with a hint.
mkdir -p "$TMP/p" && cp -r rules/base.rules rules/securevideo.rules rules/securevideo "$TMP/p/"
sed -i 's/10000-60000;/10,000-60,000;/' "$TMP/p/securevideo/one-click.rules"
"$S" check "$TMP/p/securevideo.rules" > /dev/null 2>"$TMP/err"; rc=$?
expect_eq "the document's '10,000-60,000' written as is: exit 2" "$rc" 2
check "... error names one-click.rules and hints 10000-60000" \
	bash -c "grep -q 'one-click.rules:[0-9]*:[0-9]*: error' '$TMP/err' && grep -q '10000-60000' '$TMP/err'"

# A vendor update is a paste: a new range appended to zoom-ips.txt is enforced.
cp -r rules/base.rules rules/securevideo.rules rules/securevideo "$TMP/" 2>/dev/null
printf '\n# pasted update\n203.0.113.0/24, 2001:db8:77::/48\n' >> "$TMP/securevideo/zoom-ips.txt"
expect_eq "a range pasted into zoom-ips.txt is allowed on udp 8801" \
	"$("$S" lookup --json --rules "$TMP/securevideo.rules" 203.0.113.9 udp 8801 2>/dev/null | jq -r '"\(.verdict) \(.rule)"')" \
	"allow zoom-media"

# docs/hospital.md: the commands it shows that need no root.
lk() { "$S" lookup --json --rules $P "$@" 2>/dev/null | jq -r '"\(.verdict) \(.rule) \(.reason)"'; }
expect_eq "lookup 3.7.35.1 udp 8801 -> allow zoom-media" "$(lk 3.7.35.1 udp 8801)" "allow zoom-media rule"
expect_eq "lookup 3.7.35.1 udp 8811 -> near miss zoom-media" "$(lk 3.7.35.1 udp 8811)" "drop zoom-media near_miss"
expect_eq "lookup 34.203.254.10 udp 20000 -> allow one-click-media" "$(lk 34.203.254.10 udp 20000)" "allow one-click-media rule"
expect_eq "lookup 2407:30c0::1 tcp 443 -> allow zoom-media" "$(lk 2407:30c0::1 tcp 443)" "allow zoom-media rule"
expect_eq "lookup 192.0.2.53 udp 53 -> allow dns" "$(lk 192.0.2.53 udp 53)" "allow dns rule"
expect_eq "lookup 8.8.8.8 tcp 443 -> policy drop" "$(lk 8.8.8.8 tcp 443)" "drop null policy"
# docs/hospital.md: the site file it shows checks, with and without audit mode.
mkdir -p "$TMP/s" && cp -r rules/base.rules rules/securevideo.rules rules/securevideo "$TMP/s/"
sed -n '/^       # rules\/site.rules/,/^       rule site-web/s/^       //p' docs/hospital.md > "$TMP/s/site.rules"
check "docs/hospital.md: the site.rules example is there" grep -q '^rule site-web { allow tcp 80, 443; to any; }' "$TMP/s/site.rules"
"$S" check "$TMP/s/site.rules" > /dev/null 2>&1; expect_eq "docs/hospital.md: its site.rules checks" "$?" 0
expect_eq "site.rules: tcp 443 to anywhere allowed by site-web" \
	"$("$S" lookup --json --rules "$TMP/s/site.rules" 198.51.100.80 tcp 443 2>/dev/null | jq -r '"\(.verdict) \(.rule)"')" "allow site-web"
expect_eq "site.rules: udp 8801 to a Zoom address still credited to zoom-media" \
	"$("$S" lookup --json --rules "$TMP/s/site.rules" 3.7.35.1 udp 8801 2>/dev/null | jq -r '.rule')" "zoom-media"
echo 'mode audit;' >> "$TMP/s/site.rules"
"$S" check "$TMP/s/site.rules" > /dev/null 2>&1; expect_eq "site.rules with 'mode audit;' checks" "$?" 0
sed 's/^# mode audit;/mode audit;/' rules/securevideo.rules > "$TMP/s/securevideo.rules"
check "uncommenting '# mode audit;' in securevideo.rules gives an audit-mode ruleset" \
	bash -c "'$S' dump --json --rules '$TMP/s/securevideo.rules' 2>/dev/null | grep -q '\"mode\":\"audit\"'"
if [ -f docs/hospital.md ]; then
	check "docs/hospital.md: its sluice check output line matches" \
		bash -c "grep -qF \"\$(build/sluice check $P 2>/dev/null)\" docs/hospital.md || grep -qF \"\$('$S' check $P 2>/dev/null)\" docs/hospital.md"
fi
finish
