#!/usr/bin/env bash
# sluice top --suggest allows only what was observed (issue 20 item 12):
# every destination on the protocols and ports it was seen on, never the
# cross product of a group's destinations and ports.  From a crafted event
# log (top --from); the suggestion is checked by `sluice lookup --rules`.
# No root; the ASan build.
source "$(dirname "$0")/../lib.sh"
S=${SLUICE_SAN:-$ROOT/build/sluice-san}
[ -x "$S" ] || S=$SLUICE
need_cmd jq
TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'

ev() {   # DST PROTO DPORT [NAME]
	local name=null
	[ -n "${4:-}" ] && name="\"$4\""
	printf '{"time":"2026-12-06T12:00:00.000Z","instance":"x","hook":"tc-egress","dev":"eth0","verdict":"drop","reason":"policy","rule":null,"family":%s,"src":"192.0.2.1","dst":"%s","proto":"%s","sport":40000,"dport":%s,"len":60,"name":%s,"direction":"outbound"}\n' \
		"$([[ $1 == *:* ]] && echo 6 || echo 4)" "$1" "$2" "$3" "$name"
}
{
	ev 203.0.113.99 tcp 8080; ev 203.0.113.99 tcp 8080; ev 203.0.113.99 udp 5000
	ev 203.0.113.80 tcp 443; ev 203.0.113.80 udp 443
	ev 203.0.113.7 tcp 443; ev 203.0.113.7 udp 443
	ev 198.51.100.9 udp 3478
	ev 2001:db8:5::1 tcp 443; ev 2001:db8:5::2 udp 8801
} > "$TMP/ev.json"
"$S" top --from "$TMP/ev.json" --suggest > "$TMP/out" 2>&1
{ echo "policy drop;"; sed -n '/^rule /,/^}/p' "$TMP/out"; } > "$TMP/s.rules"
check "the suggestion is a ruleset sluice check accepts" bash -c "'$S' check '$TMP/s.rules' >/dev/null 2>&1"

verdict() { "$S" lookup --rules "$TMP/s.rules" "$1" "$2" "$3" --json 2>/dev/null | jq -r .verdict; }
for seen in "203.0.113.99 tcp 8080" "203.0.113.99 udp 5000" "203.0.113.80 tcp 443" "203.0.113.80 udp 443" \
	    "203.0.113.7 tcp 443" "198.51.100.9 udp 3478" "2001:db8:5::1 tcp 443" "2001:db8:5::2 udp 8801"; do
	expect_eq "seen, allowed: $seen" "$(verdict $seen)" allow
done
for unseen in "203.0.113.99 tcp 443" "203.0.113.99 udp 443" "203.0.113.80 tcp 8080" "203.0.113.80 udp 5000" \
	      "203.0.113.7 tcp 8080" "203.0.113.5 tcp 443" "2001:db8:5::1 udp 8801" "2001:db8:5::2 tcp 443"; do
	expect_eq "never seen, still dropped: $unseen" "$(verdict $unseen)" drop
done
expect_eq "destinations seen on the same ports share one rule (.7 and .80)" \
	"$(grep -c '^    to .*203.0.113.7, 203.0.113.80;\|^    to .*203.0.113.80, 203.0.113.7;' "$TMP/out")" 1
finish
