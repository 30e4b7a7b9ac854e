#!/usr/bin/env bash
# End to end: one program per hook, direction and network namespace, shared
# by the attachments (user/kernel/group.c).  Eight veths in one namespace
# (their peers in a second one), TC egress on all eight:
#  1. one program id behind all eight links and prog-<k> pins (not eight);
#  2. per-attachment counters still per attachment (packets sent out of one
#     veth are counted on that attachment only), a drop on one, a pass on
#     another;
#  3. a re-apply switches all eight to one new program; the counters stay;
#  4. tc-ingress on two of them beside it is a second program (two in all);
#  5. detach leaves no pin and no sluice program.
source "$(dirname "$0")/../lib.sh"
need_root
need_cmd ip tc bpftool jq

TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
id=${ID}x
inst=e2e${id}
pin=/sys/fs/bpf/sluice/$inst
A=sl-$id-a B=sl-$id-b
N=8

cat > "$TMP/rules" <<'RULES'
policy drop;
rule media { allow udp 6000; to 203.0.113.0/24; }
RULES
sed 's/allow udp 6000;/allow udp 6000, 6002;/' "$TMP/rules" > "$TMP/rules2"

ip netns add "$A" && ip netns add "$B" || { fail setup "cannot create namespaces"; finish; }
on_exit ip netns del "$B"
on_exit ip netns del "$A"
on_exit "$SLUICE" detach --all --instance "$inst"
devs=()
for i in $(seq 0 $((N - 1))); do
	ip -n "$A" link add "x$i" type veth peer name "y$i" netns "$B" || { fail setup "veth x$i"; finish; }
	ip -n "$A" addr add "203.0.113.$((4 * i + 1))/30" dev "x$i"
	ip -n "$B" addr add "203.0.113.$((4 * i + 2))/30" dev "y$i"
	ip -n "$A" link set "x$i" up
	ip -n "$B" link set "y$i" up
	devs+=(--dev "x$i")
done
# neighbours resolved before sluice is there (ARP passes anyway; fewer packets to account for)
for i in $(seq 0 $((N - 1))); do
	ip netns exec "$A" ping -c 1 -W 1 -q "203.0.113.$((4 * i + 2))" >/dev/null 2>&1
done

prog_ids() {   # the distinct program ids behind the instance's prog-<k> pins
	for p in "$pin"/prog-*; do bpftool -j prog show pinned "$p" | jq .id; done | sort -u
}
link_prog_ids() {   # ... and behind its links
	"$SLUICE" status --json --instance "$inst" | jq -r '.instances[0].attachments[].prog_id' | sort -u
}
attc() {   # DEV FIELD: that attachment's counter
	"$SLUICE" stats --json --instance "$inst" |
		jq -r --arg d "$1" --arg f "$2" '[.attachments[] | select(.dev == $d and .hook == "tc-egress")][0][$f]'
}
send() {   # VETH-INDEX PORT N: UDP datagrams out of x<i>
	ip netns exec "$A" "$SLUDP" send "203.0.113.$((4 * $1 + 2))" "$2" "$3" >/dev/null 2>&1
}

# 1. one program for eight attachments
if ! "$SLUICE" apply "$TMP/rules" "${devs[@]}" --netns "$A" --instance "$inst" > "$TMP/apply.out" 2>&1; then
	fail apply "$(cat "$TMP/apply.out")"
	finish
fi
npins=$(ls "$pin" | grep -c '^prog-')
expect_eq "apply to $N veths: a prog-<k> pin per attachment" "$npins" "$N"
expect_eq "apply to $N veths: one program id behind the $N pins (not one program per attachment)" \
	"$(prog_ids | wc -l)" 1
expect_eq "apply to $N veths: the $N links run that program" "$(link_prog_ids)" "$(prog_ids)"

# 2. counters per attachment
send 3 6000 5
send 5 6001 4
expect_ge "shared program: x3's allowed datagrams counted on x3" "$(attc x3 pass_packets)" 5
expect_ge "shared program: x5's disallowed datagrams dropped and counted on x5" "$(attc x5 drop_packets)" 4
expect_eq "shared program: x3 dropped none" "$(attc x3 drop_packets)" 0
expect_eq "shared program: no other attachment dropped anything" \
	"$("$SLUICE" stats --json --instance "$inst" | jq '[.attachments[] | select(.dev != "x5") | .drop_packets] | add')" 0
expect_eq "shared program: no packet on an unknown interface" \
	"$("$SLUICE" stats --json --instance "$inst" | jq .unknown_if)" 0

# 3. a re-apply: one new program, every link switched, counters kept
old=$(prog_ids)
if "$SLUICE" apply "$TMP/rules2" --instance "$inst" > "$TMP/apply.out" 2>&1; then
	new=$(prog_ids)
	if [ "$(wc -l <<<"$new")" -eq 1 ] && [ "$new" != "$old" ] && [ "$(link_prog_ids)" == "$new" ]; then
		pass "re-apply: the $N links switched to one new program"
	else
		fail "re-apply: the $N links switched to one new program" "old $old, pins now $new, links $(link_prog_ids | tr '\n' ' ')"
	fi
	send 5 6002 3
	expect_ge "re-apply: x3's counter kept" "$(attc x3 pass_packets)" 5
	expect_ge "re-apply: x5 now passes udp 6002" "$(attc x5 pass_packets)" 3
else
	fail re-apply "$(cat "$TMP/apply.out")"
fi

# 4. another hook beside it: a second program
if "$SLUICE" apply "$TMP/rules2" --dev x0 --dev x1 --hook tc-ingress --netns "$A" --instance "$inst" \
	> "$TMP/apply.out" 2>&1; then
	expect_eq "tc-ingress on 2 of them beside tc-egress on $N: two programs" "$(prog_ids | wc -l)" 2
	expect_eq "... behind $((N + 2)) pins" "$(ls "$pin" | grep -c '^prog-')" $((N + 2))
else
	fail "tc-ingress beside" "$(cat "$TMP/apply.out")"
fi

# 5. detach
ids=$(prog_ids)
"$SLUICE" detach --all --instance "$inst" >/dev/null 2>&1
for _ in $(seq 20); do   # links and programs are freed after an RCU grace period
	left=0
	for p in $ids; do bpftool prog show id "$p" >/dev/null 2>&1 && left=$((left + 1)); done
	[ "$left" -eq 0 ] && break
	sleep 0.1
done
expect_eq "detach: no program of the instance left" "$left" 0
if [ -e "$pin" ]; then fail "detach: the instance's pins are gone" "$(ls "$pin")"; else pass "detach: the instance's pins are gone"; fi
finish
