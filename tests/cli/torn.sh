#!/usr/bin/env bash
# Torn reads (issue 20 item 3): a writer that rewrites a rules file in place
# (`cat new > site.rules`: truncate, then write) while sluice reads it.  sluice
# must read every file of a ruleset stably: a whole version, or a refusal
# that says the file changed while it was read; never half a file, never the
# empty file between the truncate and the write.  Also an include rewritten
# while its parent is read.  No root; the ASan build.
source "$(dirname "$0")/../lib.sh"
S=${SLUICE_SAN:-$ROOT/build/sluice-san}
[ -x "$S" ] || S=$SLUICE
need_cmd jq
TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'

# Version A: 3 rules, version B: 5.  Each is written in two pieces with a
# pause between them: a read in the pause sees at most one whole rule.
A1='policy drop;
rule a1 { allow tcp 443; to 198.51.100.1; }
rule a2 { allow'
A2=' udp 3478; to 198.51.100.2; }
rule a3 { deny any; to 198.51.100.0/24; }
'
B1='policy drop;
rule b1 { allow tcp 443; to 203.0.113.1; }
rule b2 { allow'
B2=' udp 3478; to 203.0.113.2; }
rule b3 { allow tcp 8801-8802; to 203.0.113.3; }
rule b4 { allow udp 8801-8810; to 203.0.113.4; }
rule b5 { deny any; to 203.0.113.0/24; }
'

# judge NAME FILE N-GOOD...: 60 checks while the writer runs; each must see a
# whole version (N-GOOD rules) or refuse because the file changed.
judge() {
	local name=$1 file=$2; shift 2
	local good=0 torn=0 refused=0 i out rc n bad=""
	for i in $(seq 60); do
		out=$("$S" check --json "$file" 2>/dev/null); rc=$?
		n=$(jq -r '.rules // empty' <<<"$out" 2>/dev/null)
		if [ $rc -eq 0 ] && [[ " $* " == *" $n "* ]]; then
			good=$((good + 1))
		elif [ $rc -eq 2 ] && grep -q 'changed while it was read' <<<"$out"; then
			refused=$((refused + 1))
		else
			torn=$((torn + 1)); bad="rc $rc rules '${n}': $(jq -c '.diagnostics[0].message // empty' <<<"$out" 2>/dev/null | head -c 160)"
		fi
	done
	expect_eq "$name: no check saw half a file (whole: $good, refused: $refused)" "$torn" 0
	[ "$torn" -eq 0 ] || echo "    last torn read: $bad"
	expect_ge "$name: most checks read a whole version" "$good" 30
}

rewriter "$TMP/site.rules" "$A1" "$A2" "$B1" "$B2" &
wpid=$!
on_exit "kill $wpid"
sleep 0.3
judge "rules file rewritten in place" "$TMP/site.rules" 3 5
kill $wpid; wait $wpid 2>/dev/null

# an include rewritten while the ruleset is read: the parent is unchanged
printf 'policy drop;\ninclude "inc.rules";\nrule last { deny any; to 192.0.2.0/24; }\n' > "$TMP/top.rules"
rewriter "$TMP/inc.rules" "${A1#policy drop;}" "$A2" "${B1#policy drop;}" "$B2" &
wpid=$!
on_exit "kill $wpid"
sleep 0.3
judge "include rewritten in place" "$TMP/top.rules" 4 6
kill $wpid; wait $wpid 2>/dev/null

# a file that keeps changing is refused with the reason, not read half
( while :; do printf 'policy drop;\nrule r { allow tcp 443; to 198.51.100.%d; }\n' $((RANDOM % 200)) > "$TMP/busy.rules"; sleep 0.01; done ) &
wpid=$!
on_exit "kill $wpid"
sleep 0.1
out=$("$S" check "$TMP/busy.rules" 2>&1); rc=$?
kill $wpid; wait $wpid 2>/dev/null
if [ $rc -eq 0 ]; then
	pass "a file rewritten every 10 ms: read whole (a quiet moment was found)"
else
	expect_eq "a file rewritten every 10 ms: exit 2" "$rc" 2
	check "... the error says it changed while it was read and what to do" \
		grep -q "changed while it was read.*nothing was applied" <<<"$out"
fi
finish
