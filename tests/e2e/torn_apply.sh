#!/usr/bin/env bash
# Issue 20 item 3, applied: a rules file rewritten in place while `apply`
# reads it never commits half of it, and a ruleset with no rule (an empty or
# truncated file) is refused unless --allow-empty: the running ruleset stays,
# its traffic still passes.  Real UDP in a two-namespace lab.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd ip jq

TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
inst=torn$ID
lab_up "$ID" || { fail setup "cannot build the namespace lab"; finish; }
on_exit lab_down "$ID"
on_exit "$SLUICE" detach --all --instance "$inst"

udp_count() {   # ADDR PORT N: send N datagrams from the client, print how many arrived
	local ready=$(mktemp -u "$TMP/ready.XXXXXXXX")
	in_s "$ID" "$SLUDP" recv "$1" "$2" 300 "$ready" > "$TMP/recv.out" 2>/dev/null &
	local pid=$!
	for _ in $(seq 50); do [ -e "$ready" ] && break; sleep 0.05; done
	in_c "$ID" "$SLUDP" send "$1" "$2" "$3" 0 > /dev/null
	wait $pid
	awk '{print $2}' "$TMP/recv.out"
}
gen() { "$SLUICE" status --json --instance "$inst" | jq -r '.instances[0].generation'; }

# A: allow udp 6000 to .2, then deny the /24.  B: the same with other names
# and one more rule.  Written in two pieces: a cut between them parses (the
# allow without the deny that follows).
A1='policy allow;
rule a-media { allow udp 6000; to 192.0.2.2; }
'
A2='rule a-block { deny any; to 192.0.2.0/24; }
'
B1='policy allow;
rule b-media { allow udp 6000; to 192.0.2.2; }
'
B2='rule b-extra { allow udp 6002; to 192.0.2.2; }
rule b-block { deny any; to 192.0.2.0/24; }
'
printf '%s%s' "$A1" "$A2" > "$TMP/site.rules"
if "$SLUICE" apply "$TMP/site.rules" --dev "slc$ID" --netns "sl-$ID-c" --instance "$inst" > "$TMP/out" 2>&1; then
	pass "apply the whole file"
else
	fail "apply the whole file" "$(cat "$TMP/out")"; finish
fi
expect_eq "udp 6000 passes" "$(udp_count 192.0.2.2 6000 10)" 10
expect_eq "udp 6001 is denied" "$(udp_count 192.0.2.2 6001 10)" 0
g0=$(gen)

# --- an empty file over a running ruleset: refused, nothing changes
: > "$TMP/site.rules"
"$SLUICE" apply "$TMP/site.rules" --instance "$inst" > "$TMP/out" 2>&1; rc=$?
expect_eq "an empty file: apply exits 2" "$rc" 2
check "... and says the ruleset has no rules and how to force it" \
	grep -q "no rules.*--allow-empty" "$TMP/out"
expect_eq "... the running generation is unchanged" "$(gen)" "$g0"
expect_eq "... udp 6000 still passes" "$(udp_count 192.0.2.2 6000 10)" 10
expect_eq "... udp 6001 still denied" "$(udp_count 192.0.2.2 6001 10)" 0
printf 'policy allow;\n# nothing yet\n' > "$TMP/site.rules"
"$SLUICE" apply "$TMP/site.rules" --instance "$inst" > "$TMP/out" 2>&1; rc=$?
expect_eq "a file with a policy and no rule: refused too (exit 2)" "$rc" 2
"$SLUICE" apply "$TMP/site.rules" --instance "$inst" --allow-empty > "$TMP/out" 2>&1; rc=$?
expect_eq "--allow-empty applies it" "$rc" 0
expect_eq "... and udp 6001 passes now (policy allow, no rule)" "$(udp_count 192.0.2.2 6001 5)" 5

# --- applies while a writer rewrites the file in place (truncate, write a
# piece, a pause, the rest): every committed generation is a whole version
rewriter "$TMP/site.rules" "$A1" "$A2" "$B1" "$B2" &
wpid=$!
on_exit "kill $wpid"
bad=0 ok=0 refused=0
for i in $(seq 25); do
	if "$SLUICE" apply "$TMP/site.rules" --instance "$inst" > "$TMP/out" 2>&1; then
		ok=$((ok + 1))
		names=$("$SLUICE" stats --json --instance "$inst" | jq -r '[.rules[].name] | join(",")')
		case $names in
		a-media,a-block|b-media,b-extra,b-block) ;;
		*) bad=$((bad + 1)); echo "    apply $i committed: $names" ;;
		esac
	elif grep -q "changed while it was read\|no rules" "$TMP/out"; then
		refused=$((refused + 1))
	else
		bad=$((bad + 1)); echo "    apply $i: $(head -c 200 "$TMP/out")"
	fi
done
kill $wpid; wait $wpid 2>/dev/null
expect_eq "25 applies under a rewriting writer: none committed half a file (ok $ok, refused $refused)" "$bad" 0
expect_ge "... most applied a whole version" "$ok" 12
finish
