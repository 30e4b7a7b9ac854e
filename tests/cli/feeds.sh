#!/usr/bin/env bash
# URL sets and the last-good cache (issue 21 items 1-2, docs/feeds.md), no
# root: a local HTTPS server on 127.0.0.1 with a throwaway CA serves lists
# that change between fetches.  A set without a copy refuses to load (rule
# error, exit 2, file:line:col, "run `sluice fetch FILE`"); the first fetch
# stores a copy that check and lookup --rules use with no network; a 304;
# entries added and removed; then each bad fetch (shrink over the guard,
# fewer than min-entries, empty 200, malformed body, oversized body, HTTP
# 500, redirect to http, server down, wrong CA, token going backwards)
# keeps the last good copy, exits 1 and names its reason, which the state
# file counts.  JSON with a filter.  The ASan build.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/tools/feedlib.sh"
need_cmd openssl python3 jq
S=${SLUICE_SAN:-$ROOT/build/sluice-san}
[ -x "$S" ] || S=$SLUICE
TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
export SLUICE_FEED_DIR=$TMP/cache
mkdir -p "$TMP/www"
feed_pki "$TMP" || { fail setup "openssl cannot make the test CA"; exit 1; }
printf '# Zoom.txt (test)\n198.51.100.0/25\n198.51.100.128/25\n203.0.113.0/25\n203.0.113.128/25\n' \
	> "$TMP/www/zoom.txt"
feed_server "$TMP" "$TMP/www" || { fail setup "the HTTPS server did not start: $(cat "$TMP/server.err")"; exit 1; }
U=https://127.0.0.1:$FEED_PORT

cat > "$TMP/r.rules" <<EOF
policy drop;
set zoom url "$U/zoom.txt" ca "ca.pem" max-shrink 25% min-entries 2 max-size 1K;
rule zoom-media { allow udp 8801-8810; to @zoom; }
EOF

verdict() {   # ADDRESS: the verdict of udp/8801 from the rules file (the cached copy)
	"$S" lookup --rules "$TMP/r.rules" "$1" udp 8801 --json 2>/dev/null | jq -r .verdict
}
failures() {  # REASON: the state file's count
	jq -r --arg r "$1" '.failures[$r]' "$SLUICE_FEED_DIR"/zoom-*.json
}
# bad_fetch NAME REASON: fetch exits 1, names REASON, keeps the copy (198.51.100.5 and
# 203.0.113.200 stay allowed), and the state file counts REASON once more
bad_fetch() {
	local name=$1 reason=$2 before out rc
	before=$(failures "$reason")
	out=$("$S" fetch "$TMP/r.rules" 2>&1); rc=$?
	if [ $rc -eq 1 ] && grep -q "set zoom: $reason: .*kept the last good copy" <<<"$out"; then
		pass "$name: exit 1, reason $reason, last good copy kept"
	else
		fail "$name" "rc $rc: $out"
	fi
	expect_eq "$name: the copy stays in force" "$(verdict 198.51.100.5) $(verdict 203.0.113.200)" \
		"allow allow"
	expect_eq "$name: counted in the state file" "$(failures "$reason")" "$((before + 1))"
}

# --- parse errors: file:line:col, what was expected, a hint
printf 'set z url "http://127.0.0.1/z.txt";\nset y url "https://x.example/z" refesh 6h;\nset v url "https://x.example/z" format json "a[?b=c].d";\nset w url "https://x.example/z" max-shrink 120%%;\n' > "$TMP/bad.rules"
out=$("$S" check "$TMP/bad.rules" 2>&1); rc=$?
expect_eq "parse errors: exit 2" "$rc" 2
grep -q "^$TMP/bad.rules:1:11: error: URL set 'z': \"http://127.0.0.1/z.txt\" is not an https:// URL" <<<"$out" &&
	grep -q "hint: .*write insecure-http" <<<"$out" &&
	pass "parse error: http:// refused at 1:11, insecure-http named" ||
	fail "parse error: http://" "$out"
grep -q "^$TMP/bad.rules:2:33: error: expected an option of the URL set" <<<"$out" &&
	grep -q "hint: did you mean 'refresh'?" <<<"$out" &&
	pass "parse error: a misspelt option at 2:33 suggests the right one" ||
	fail "parse error: misspelt option" "$out"
check "parse error: a bad JSON path at 3:45 says what is wrong" \
	grep -q "^$TMP/bad.rules:3:45: error: bad JSON path \"a\[?b=c\].d\": expected '==' after the field 'b'" <<<"$out"
check "parse error: max-shrink over 100% at 4:44" grep -q "^$TMP/bad.rules:4:44: error: bad max-shrink '120%'" <<<"$out"

# --- no copy yet: a rule error with the position and what to do
out=$("$S" check "$TMP/r.rules" 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q "^$TMP/r.rules:2:14: error: URL set 'zoom' has no good copy" <<<"$out" &&
	grep -q 'run `sluice fetch '"$TMP"'/r.rules`' <<<"$out"; then
	pass "no copy: check exits 2 at file:line:col and says to run sluice fetch"
else
	fail "no copy" "rc $rc: $out"
fi

# --- the first fetch; check and lookup then work from the cache
out=$("$S" fetch "$TMP/r.rules" 2>&1); rc=$?
expect_eq "first fetch: exit 0" "$rc" 0
check "first fetch: says so" grep -q "set zoom: first copy: 4 entries (+4 -0)" <<<"$out"
check "check passes from the cache" bash -c "\"$S\" check \"$TMP/r.rules\" >/dev/null"
expect_eq "lookup --rules uses the copy" "$(verdict 198.51.100.5) $(verdict 192.0.2.5)" "allow drop"
check "the copy is an address list with a header" grep -q "^# sluice URL set 'zoom'" \
	"$SLUICE_FEED_DIR"/zoom-*.list
stale=$(find "$SLUICE_FEED_DIR" -name '.*' ! -name '.*.lock' | wc -l)
expect_eq "no temporary files left in the cache" "$stale" 0

# --- 304 with the ETag
out=$("$S" fetch "$TMP/r.rules" 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q "not modified (304)" <<<"$out" &&
	tail -n1 "$TMP/www/requests.log" | grep -q '304 inm="'; then
	pass "304: If-None-Match sent, not modified"
else
	fail "304" "rc $rc: $out; $(tail -n2 "$TMP/www/requests.log")"
fi

# --- entries added and removed
printf '198.51.100.0/25\n198.51.100.128/25\n203.0.113.128/25\n192.0.2.0/24\n' > "$TMP/www/zoom.txt"
out=$("$S" fetch --json "$TMP/r.rules" 2>&1); rc=$?
expect_eq "change: +1 -1 in fetch --json" \
	"$rc $(jq -c '.sets[0] | [.changed, .entries, .added, .removed]' <<<"$out")" "0 [true,4,1,1]"
expect_eq "change: the added entry allowed, the removed one not" \
	"$(verdict 192.0.2.5) $(verdict 203.0.113.5)" "allow drop"
printf '198.51.100.0/25\n198.51.100.128/25\n203.0.113.0/25\n203.0.113.128/25\n192.0.2.0/24\n' \
	> "$TMP/www/zoom.txt"
"$S" fetch "$TMP/r.rules" >/dev/null 2>&1
good=$(cat "$TMP/www/zoom.txt")

# --- the guards and failures, each keeping the copy
printf '198.51.100.0/25\n198.51.100.128/25\n203.0.113.0/25\n' > "$TMP/www/zoom.txt"
bad_fetch "shrink 5 -> 3 over max-shrink 25%" shrink
printf '198.51.100.0/25\n' > "$TMP/www/zoom.txt"
bad_fetch "fewer than min-entries" min_entries
: > "$TMP/www/zoom.txt"
bad_fetch "empty 200" empty
printf '<html><body>Please sign in</body></html>\n' > "$TMP/www/zoom.txt"
bad_fetch "malformed body" parse
for i in $(seq 80); do echo "198.51.100.$i/32"; done > "$TMP/www/zoom.txt"
bad_fetch "oversized body (max-size 1K)" too_large
printf '%s\n' "$good" > "$TMP/www/zoom.txt"
echo 500 > "$TMP/www/zoom.txt.status"
bad_fetch "HTTP 500" http_status
rm -f "$TMP/www/zoom.txt.status"
echo "http://127.0.0.1:$FEED_PORT/zoom.txt" > "$TMP/www/zoom.txt.location"
bad_fetch "redirect to http://" redirect
rm -f "$TMP/www/zoom.txt.location"
sed 's/ca "ca.pem"/ca "other-ca.pem"/' "$TMP/r.rules" > "$TMP/wrongca.rules"
before=$(failures tls)
out=$("$S" fetch "$TMP/wrongca.rules" 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -q "set zoom: tls: .*kept the last good copy" <<<"$out" &&
	[ "$(failures tls)" = $((before + 1)) ] && [ "$(verdict 203.0.113.5)" = allow ]; then
	pass "wrong CA: tls, last good copy kept, counted"
else
	fail "wrong CA" "rc $rc: $out"
fi
feed_stop
bad_fetch "server down" network

# --- the server back: the copy is refreshed; the state shows the last error
FEED_PORT=$FEED_PORT feed_server "$TMP" "$TMP/www" || fail "restart" "$(cat "$TMP/server.err")"
out=$("$S" fetch "$TMP/r.rules" 2>&1); rc=$?
expect_eq "server back: fetch ok" "$rc" 0
expect_eq "state: last reason none, last error kept" \
	"$(jq -r '.last_reason + " " + (.last_error | split(":")[0])' "$SLUICE_FEED_DIR"/zoom-*.json)" \
	"none network"

# --- JSON with a filter, and a token that goes backwards
cat > "$TMP/www/ranges.json" <<'EOF'
{"syncToken": "1700000200", "createDate": "2023-11-14-22-16-40",
 "prefixes": [{"ip_prefix": "198.51.100.0/24", "service": "AMAZON"},
              {"ip_prefix": "203.0.113.0/24", "service": "EC2"}]}
EOF
cat > "$TMP/j.rules" <<EOF
set aws url "$U/ranges.json" ca "ca.pem" format json "prefixes[?service=='AMAZON'].ip_prefix";
rule aws { allow tcp 443; to @aws; }
EOF
out=$("$S" fetch "$TMP/j.rules" 2>&1); rc=$?
jv() { "$S" lookup --rules "$TMP/j.rules" "$1" tcp 443 --json 2>/dev/null | jq -r .verdict; }
expect_eq "JSON: fetched with the filter" "$rc $(jv 198.51.100.9) $(jv 203.0.113.9)" "0 allow drop"
sed -i 's/1700000200/1700000100/; s/198.51.100.0/192.0.2.0/' "$TMP/www/ranges.json"
out=$("$S" fetch "$TMP/j.rules" 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -q "set aws: token_backwards: token 1700000100 is older than the copy's 1700000200" <<<"$out" &&
	[ "$(jv 198.51.100.9) $(jv 192.0.2.9)" = "allow drop" ]; then
	pass "JSON: syncToken going backwards refused, copy kept"
else
	fail "token backwards" "rc $rc: $out"
fi

# --- the cache directory from --feed-dir
out=$("$S" check "$TMP/r.rules" --feed-dir "$TMP/elsewhere" 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q "fetch $TMP/r.rules --feed-dir $TMP/elsewhere" <<<"$out"; then
	pass "--feed-dir: another cache (empty), named in the hint"
else
	fail "--feed-dir" "rc $rc: $out"
fi
finish
