#!/usr/bin/env bash
# Soak (issue 11): SOAK_N applies (default 250, so that it stays near 5
# minutes on a loaded 2-core machine; SOAK_N=1000 for the full soak of the
# issue) alternating two rulesets under continuous traffic, every fifth one
# killed with SIGKILL at a random moment.  Throughout: traffic is wholly A or
# wholly B (a probe pair, two datagrams microseconds apart every 5 ms, is
# "neither" at most once in a row: a pair may straddle a switch, two in a
# row mean a window of milliseconds in which the program ran neither ruleset,
# or both); after every kill, status (which finishes or undoes the
# killed apply) names what the traffic shows.  Afterwards: exactly one
# program on the hook, no orphan program or link of the instance.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd ip tc jq ping bpftool python3
HOOKQ=$ROOT/build/sl-hookq
[ -x "$HOOKQ" ] || { skip all "build/sl-hookq missing"; exit 0; }
N=${SOAK_N:-250}

TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
id=${ID}q
inst=soak${id}
pin=/sys/fs/bpf/sluice/$inst
C=sl-$id-c DEV=slc$id
printf 'policy drop;\nrule alpha { allow icmp; allow udp 7; to 198.51.100.2; }\nrule shared { allow udp 9; to 192.0.2.2; }\n' > "$TMP/A"
printf 'policy drop;\nrule beta { allow icmp; allow udp 7; to 203.0.113.2; }\nrule shared { allow udp 9; to 192.0.2.2; }\n' > "$TMP/B"
PAIRS="python3 $ROOT/tests/tools/sl-pairs.py"

lab_up "$id" || { fail setup "cannot build the lab"; finish; }
on_exit lab_down "$id"
on_exit "$SLUICE" detach --all --instance "$inst"
in_c "$id" ping -c 1 -W 1 -q 198.51.100.2 >/dev/null
sl() { "$SLUICE" "$@" --instance "$inst"; }
up() { in_c "$id" ping -c 1 -W 0.6 -q "$1" >/dev/null 2>&1 && echo 1 || echo 0; }
traffic() { case "$(up 198.51.100.2)$(up 203.0.113.2)" in 10) echo A ;; 01) echo B ;; 11) echo none ;; *) echo stacked ;; esac; }
said() {
	case "$(sl stats --json 2>/dev/null | jq -r '[.rules[].name] | sort | join(",")')" in
	alpha,shared) echo A ;; beta,shared) echo B ;; *) echo other ;;
	esac
}

sl apply "$TMP/A" --dev "$DEV" --netns "$C" > "$TMP/out" 2>&1 || { fail "first apply" "$(cat "$TMP/out")"; finish; }

# the prober (tests/tools/sl-pairs.py): every 5 ms a datagram to A's address
# and, microseconds later from the same socket, one to B's; one line per
# pair, "10" = A, "01" = B.  (Ping pairs, two processes milliseconds apart,
# straddled the switches that applies of tens of ms now make often: two
# mixed pairs in a row happened without any window.)
in_s "$id" $PAIRS recv 198.51.100.2 203.0.113.2 7 "$TMP/pready" 1 "$TMP/psent" > "$TMP/probes" 2>"$TMP/precv.err" &
receiver=$!
on_exit kill $receiver
for _ in $(seq 100); do [ -e "$TMP/pready" ] && break; sleep 0.05; done
in_c "$id" $PAIRS send 198.51.100.2 203.0.113.2 7 5 "$TMP/pstop" > "$TMP/psent.out" 2>&1 &
prober=$!
on_exit kill $prober

# Every fifth apply is killed: every tenth at a random moment within the time
# the last apply took (however fast the machine), the others at a random step
# of the commit (SLUICE_FAULT, docs/operations.md), so that each kill lands.
steps=(apply-prepared apply-switched apply-zeroed apply-renamed)   # the steps of a re-apply
lies=0 killed=0 failed=0 dur_ms=500 i=0
while i=$((i + 1)); [ "$i" -le "$N" ]; do
	f=$TMP/A; [ $((i % 2)) = 1 ] && f=$TMP/B
	if [ $((i % 10)) = 0 ]; then
		# sluice itself in the background, not the function sl: $! must be the
		# apply's pid (killing a subshell that runs sl leaves its apply running)
		"$SLUICE" apply "$f" --instance "$inst" > "$TMP/out" 2>&1 &
		p=$!
		sleep "$(printf '0.%03d' $(( RANDOM % dur_ms % 1000 )))"
		kill -9 $p 2>/dev/null && killed=$((killed + 1))
		wait $p 2>/dev/null
	elif [ $((i % 5)) = 0 ]; then
		SLUICE_FAULT=${steps[RANDOM % ${#steps[@]}]} sl apply "$f" > "$TMP/out" 2>&1
		[ $? -eq 137 ] && killed=$((killed + 1))
	fi
	if [ $((i % 5)) = 0 ]; then
		st=$(said); tr=$(traffic)
		if [ "$st" != "$tr" ]; then
			lies=$((lies + 1)); echo "apply $i (killed): status says $st, traffic is $tr"
		fi
	else
		t0=$(date +%s%N)
		if ! sl apply "$f" > "$TMP/out" 2>&1; then
			failed=$((failed + 1)); echo "apply $i failed: $(head -c 300 "$TMP/out")"
		fi
		dur_ms=$(( ($(date +%s%N) - t0) / 1000000 + 1 ))
	fi
done
touch "$TMP/pstop"; wait $prober 2>/dev/null
mv "$TMP/psent.out" "$TMP/psent"        # the receiver's cue: the number of pairs
wait $receiver 2>/dev/null
N=$((i - 1))
T_PREFIX="soak/"
expect_eq "$N applies: none failed" "$failed" 0
expect_ge "applies killed with SIGKILL" "$killed" $(( N / 10 ))
expect_eq "after every kill, status named what the traffic showed" "$lies" 0
bad=$(awk '$1 != "10" && $1 != "01" { run++; if (run > 1) { n++; print "pairs " NR - 1 "-" NR ": " prev " " $1 > "/dev/stderr" } }
	   $1 == "10" || $1 == "01" { run = 0 } { prev = $1 } END { print n + 0 }' "$TMP/probes")
expect_ge "traffic probe pairs taken" "$(wc -l < "$TMP/probes")" 500
expect_eq "traffic always wholly A or wholly B (no two mixed probe pairs in a row)" "$bad" 0
echo "soak: $N applies, $killed killed, $(wc -l < "$TMP/probes") probe pairs, $(grep -cv '^\(10\|01\)$' "$TMP/probes") single mixed pairs (straddling a switch), ${SECONDS} s"

sl status > "$TMP/status" 2>&1
expect_eq "status at the end exits 0" "$?" 0
expect_eq "exactly one program on the hook" \
	"$(( $(in_c "$id" "$HOOKQ" "$DEV" | grep -c ' sluice_') + $(tc -n "$C" filter show dev "$DEV" egress | grep -c sluice_) ))" 1
att=$(bpftool -j map show pinned "$pin/att_counters" | jq ".id")
inst_progs() { progs=$(bpftool -j prog show | jq --argjson a "$att" '[.[] | select((.map_ids // []) | index($a))] | map(.id)'); }
one_prog() { inst_progs; [ "$(jq length <<<"$progs")" = 1 ]; }
wait_for 5 one_prog     # programs of the last old generation are freed after an RCU grace period
expect_eq "no orphan program: one program of the instance is alive" "$(jq length <<<"$progs")" 1
expect_eq "no orphan link: at most the one TCX link" \
	"$(bpftool -j link show | jq --argjson p "$progs" '[.[] | select(.prog_id as $x | $p | index($x))] | length')" 1
expect_eq "no leftover next-* pins" "$(ls "$pin" | grep -c '^next-')" 0
sl detach --all >/dev/null 2>&1
check "detach leaves nothing" test ! -e "$pin"
finish
