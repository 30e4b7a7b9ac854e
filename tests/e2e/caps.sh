#!/usr/bin/env bash
# Which capabilities each operation needs on this kernel (docs/operations.md,
# "Capabilities"; the hardened unit's CapabilityBoundingSet).  Each operation
# runs as root with a bounding set of exactly the capabilities listed (setpriv:
# a root process execs with permitted = bounding set), then once without each
# of them: it must succeed with the set and fail without any one of it.
# Host-side interfaces are a veth pair left down (no packet moves); the
# --netns case uses a lab namespace; the cgroup one a cgroup of its own.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd ip setpriv

TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
id=${ID}k
a=ska$id b=skb$id
cat > "$TMP/rules" <<'RULES'
policy drop;
rule web { allow udp 6000; to 192.0.2.2; }
RULES

ip link add "$a" type veth peer name "$b" || { fail setup "cannot create a veth pair"; finish; }
on_exit ip link del "$a"
lab_up "$id" || { fail setup "cannot build the lab"; finish; }
on_exit lab_down "$id"
CG2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts)
cg=
if [ -n "$CG2" ] && mkdir "$CG2/sl-caps-$id" 2>/dev/null; then
	cg=$CG2/sl-caps-$id
	on_exit rmdir "$cg"
fi
for i in 1 2 3 4 5; do on_exit "$SLUICE" detach --all --instance "k$id$i"; done

# with_caps "CAP_A CAP_B" CMD...: CMD as root with exactly these capabilities
with_caps() {
	local set=-all c
	for c in $1; do set+=",+${c#CAP_}"; done
	set=${set,,}
	shift
	setpriv --inh-caps=-all --ambient-caps=-all --bounding-set="$set" -- "$@"
}

# needs NAME "CAPS" CMD...: CMD succeeds with CAPS, fails without each one of
# them (the state is undone between tries by UNDO, when set)
UNDO=
needs() {
	local name=$1 caps=$2 c less ok=1
	shift 2
	for c in $caps; do
		less=$(tr ' ' '\n' <<<"$caps" | grep -vx "$c" | tr '\n' ' ')
		if with_caps "$less" "$@" > "$TMP/out" 2>&1; then
			fail "$name: fails without $c" "succeeded with only: $less"
			ok=0
		fi
		[ -n "$UNDO" ] && eval "$UNDO" > /dev/null 2>&1
	done
	if with_caps "$caps" "$@" > "$TMP/out" 2>&1; then
		[ $ok = 1 ] && pass "$name: needs exactly ${caps:-no capability}"
	else
		fail "$name: succeeds with ${caps:-no capability}" "$(tail -2 "$TMP/out")"
	fi
}

LOAD="CAP_BPF CAP_PERFMON"     # the verifier's checks of the programs (EINVAL without PERFMON)
UNDO="$SLUICE detach --all --instance k${id}1"
needs "apply tc-egress (TCX)" "$LOAD CAP_NET_ADMIN" \
	"$SLUICE" apply "$TMP/rules" --dev "$a" --instance "k${id}1"
UNDO="$SLUICE detach --all --instance k${id}2"
needs "apply tc-ingress (clsact)" "$LOAD CAP_NET_ADMIN" \
	"$SLUICE" apply "$TMP/rules" --dev "$b" --hook tc-ingress --tc-mode clsact --instance "k${id}2"
UNDO="$SLUICE detach --all --instance k${id}3"
needs "apply xdp" "$LOAD CAP_NET_ADMIN" \
	"$SLUICE" apply "$TMP/rules" --dev "$b" --hook xdp --instance "k${id}3"
UNDO="$SLUICE detach --all --instance k${id}4"
# setns() needs CAP_SYS_ADMIN, which on this kernel also passes every BPF check
# (bpf_capable, perfmon_capable, bpf_net_capable): alone it is enough
needs "apply --netns (enter a network namespace)" "CAP_SYS_ADMIN" \
	"$SLUICE" apply "$TMP/rules" --dev "slc$id" --netns "sl-$id-c" --instance "k${id}4"
if [ -n "$cg" ]; then
	UNDO="$SLUICE detach --all --instance k${id}5"
	needs "apply cgroup" "$LOAD CAP_NET_ADMIN" \
		"$SLUICE" apply "$TMP/rules" --hook cgroup --cgroup "$cg" --instance "k${id}5"
else
	skip "apply cgroup" "no cgroup v2 mount to make a cgroup in"
fi

# the readers: pins are opened by path (mode 0700, root), maps read by fd
UNDO=
"$SLUICE" apply "$TMP/rules" --dev "$a" --instance "k${id}1" > /dev/null 2>&1
needs "status" "" "$SLUICE" status --instance "k${id}1"
needs "stats" "" "$SLUICE" stats --instance "k${id}1"
needs "lookup" "" "$SLUICE" lookup --instance "k${id}1" 192.0.2.2 udp 6000
# loading a tc, XDP or cgroup_skb program is a networking privilege too
needs "replace a running ruleset (apply again)" "$LOAD CAP_NET_ADMIN" "$SLUICE" apply "$TMP/rules" --instance "k${id}1"

# detach: TCX and XDP links go with their pins; a clsact filter needs netlink
"$SLUICE" apply "$TMP/rules" --dev "$b" --hook xdp --instance "k${id}3" > /dev/null 2>&1
needs "detach (TCX link)" "" "$SLUICE" detach --all --instance "k${id}1"
needs "detach (XDP link)" "" "$SLUICE" detach --all --instance "k${id}3"
check "after detach without capabilities: no XDP program left" bash -c "! ip link show '$b' | grep -q xdp"
"$SLUICE" apply "$TMP/rules" --dev "$b" --hook tc-ingress --tc-mode clsact --instance "k${id}2" > /dev/null 2>&1
with_caps "CAP_BPF" "$SLUICE" detach --all --instance "k${id}2" > "$TMP/out" 2>&1
rc=$?
left=$(tc filter show dev "$b" ingress 2>/dev/null | grep -c 'handle 0x51c3')
if [ "$left" -gt 0 ] && { [ $rc -eq 0 ] || [ ! -e "/sys/fs/bpf/sluice/k${id}2" ]; }; then
	fail "detach without CAP_NET_ADMIN: fails and keeps the pins of a clsact filter it cannot remove" \
		"exit 0, $left filter lines left: $(cat "$TMP/out")"
else
	pass "detach without CAP_NET_ADMIN: fails and keeps the pins of a clsact filter it cannot remove"
fi
"$SLUICE" detach --all --instance "k${id}2" > /dev/null 2>&1

# the unit asks for exactly the union of the above
unit=$ROOT/scripts/systemd/sluice@.service.in
expect_eq "the unit's CapabilityBoundingSet is the measured union" \
	"$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr ' ' '\n' | sort | tr '\n' ' ')" \
	"CAP_BPF CAP_NET_ADMIN CAP_PERFMON CAP_SYS_ADMIN "
finish
