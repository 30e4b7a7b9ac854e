#!/usr/bin/env bash
# sluice-cni with many containers on one network, called as a runtime calls
# it (no runtime): containers whose rules are the same share one instance
# (one program, one set of maps), each an attachment named by its container;
# "rulesBy" picks a container's rules from CNI_ARGS; traffic to the host is
# judged by the rules ("host": "filter", the default).  The lab:
#   sl-ID-h   the "host": a bridge slbID (192.0.2.254/24) with a veth per
#             container, an uplink slhID (198.51.100.254/24) to the server
#   sl-ID-s   a server at 198.51.100.2/24
#   sl-ID-kN  container N: eth0 192.0.2.(10+N)/24, via 192.0.2.254
# Direct CNI calls: ADD, CHECK, DEL, GC, concurrent ADDs and DELs, an ADD
# killed half-way (SLUICE_FAULT), a missing mapped rules file.
source "$(dirname "$0")/../lib.sh"
need_root
need_cmd ip jq nsenter bpftool
CNI=${SLUICE_CNI:-$ROOT/build/sluice-cni-san}
[ -x "$CNI" ] || CNI=$ROOT/build/sluice-cni
[ -x "$CNI" ] && [ -x "$SLUDP" ] || { fail build "$CNI or $SLUDP is missing (make)"; finish; }

N=${CNI_SHARE_N:-30}            # containers
NB=10                           # of which the last NB are "tele-" pods (ruleset B)
TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
id=${ID}m
H=sl-$id-h S=sl-$id-s BR=slb$id
NET=slsh-$id

cat > "$TMP/a.rules" <<'RULES'
policy drop;
rule dns   { allow udp 53; to 192.0.2.254; }      # what a container needs from its host
rule media { allow udp 6000; to 198.51.100.2; }
rule up    { allow udp 7000; to 198.51.100.254; }
RULES
cat > "$TMP/b.rules" <<'RULES'
policy drop;
rule dns   { allow udp 53; to 192.0.2.254; }
rule video { allow udp 6001; to 198.51.100.2; }
RULES

lab_down() {
	local ns pids
	for ns in $(ip netns list | awk '{print $1}' | grep "^sl-$id-"); do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill -9 $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}
cleanup_instances() {
	local i
	for i in /sys/fs/bpf/sluice/cni-slsh${id}-*; do
		[ -e "$i" ] || continue
		bpftool map dump pinned "$i/owner" 2>/dev/null | grep -q "$NET" &&
			"$SLUICE" detach --all --instance "${i##*/}" >/dev/null 2>&1
	done
	return 0
}
on_exit lab_down
on_exit cleanup_instances

ip netns add "$H" && ip netns add "$S" || { fail setup "netns"; finish; }
ip -n "$H" link set lo up
ip netns exec "$H" sysctl -qw net.ipv4.ip_forward=1
# a fixed address: a bridge without one takes its lowest port's, so adding a
# port (the collide step) could change it under the containers' neighbour
# entries, and their datagrams went to the old address and were dropped until
# the entry's probes ran out (~8 s; seen as "traffic unfiltered again: got 0")
ip -n "$H" link add "$BR" address 00:00:5e:00:53:01 type bridge && ip -n "$H" link set "$BR" up
ip -n "$H" addr add 192.0.2.254/24 dev "$BR"
ip -n "$H" link add "slh$id" type veth peer name "sls$id" netns "$S"
ip -n "$H" addr add 198.51.100.254/24 dev "slh$id" && ip -n "$H" link set "slh$id" up
ip -n "$S" addr add 198.51.100.2/24 dev "sls$id" && ip -n "$S" link set "sls$id" up
ip -n "$S" link set lo up
ip -n "$S" route add 192.0.2.0/24 via 198.51.100.254
mk_container() {   # N
	local k=sl-$id-k$1 hv=sk$id$1
	ip netns add "$k" || return 1
	ip -n "$k" link set lo up
	ip -n "$k" link add eth0 type veth peer name "$hv" netns "$H" || return 1
	ip -n "$H" link set "$hv" master "$BR" && ip -n "$H" link set "$hv" up
	ip -n "$k" addr add "192.0.2.$((10 + $1))/24" dev eth0 && ip -n "$k" link set eth0 up
	ip -n "$k" route add default via 192.0.2.254
}
for n in $(seq 1 "$N"); do mk_container "$n" || { fail setup "container $n"; finish; }; done

# conf N [EXTRA-KEYS]: the plugin configuration for container N
conf() {
	jq -nc --arg n "$NET" --arg r "$TMP/a.rules" --arg b "$TMP/b.rules" --arg br "$BR" \
		--arg hv "sk$id$1" --arg ns "/run/netns/sl-$id-k$1" --argjson x "{${2:-}}" '{
		cniVersion: "1.1.0", name: $n, type: "sluice-cni", rules: $r,
		rulesBy: [{namespace: "tele-*", rules: $b}, {name: "missing-*", rules: "/nonexistent/sl.rules"}],
		prevResult: {cniVersion: "1.1.0", interfaces: [{name: $br}, {name: $hv},
			{name: "eth0", sandbox: $ns}], ips: [{address: "192.0.2.10/24", interface: 2}]}} + $x'
}
podns() { [ "$1" -gt $((N - NB)) ] && echo tele-video || echo default; }
# cni COMMAND N [VAR=VALUE...]: stdout in $TMP/out.N, exit status in $TMP/rc.N
cni() {
	local cmd=$1 n=$2; shift 2
	conf "$n" "${EXTRA:-}" | nsenter --net=/run/netns/$H env CNI_COMMAND="$cmd" CNI_CONTAINERID="c${id}x$n" \
		CNI_NETNS="/run/netns/sl-$id-k$n" CNI_IFNAME=eth0 CNI_PATH=/opt/cni/bin \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=$(podns "$n");K8S_POD_NAME=pod$n" "$@" \
		"$CNI" > "$TMP/out.$n" 2> "$TMP/err.$n"
	echo $? > "$TMP/rc.$n"
}
rc() { cat "$TMP/rc.$1"; }
insts() { ls -d /sys/fs/bpf/sluice/cni-slsh${id}-* 2>/dev/null | wc -l; }
status() { "$SLUICE" status --json 2>/dev/null; }
att_of() {   # N FIELD: the stats of container N's attachment
	local i
	for i in /sys/fs/bpf/sluice/cni-slsh${id}-*; do
		"$SLUICE" stats --json --instance "${i##*/}" 2>/dev/null
	done | jq -r --arg c "c${id}x$1" --arg f "$2" '.attachments[] | select(.container == $c) | .[$f]'
}
udp() {   # N ADDR PORT COUNT [NS]: datagrams from container N that reach ADDR:PORT (a listener in NS)
	local ready=$(mktemp -u "$TMP/ready.XXXXXXXX")
	ip netns exec "${5:-$S}" "$SLUDP" recv "$2" "$3" 300 "$ready" > "$TMP/recv.out" 2>/dev/null &
	local pid=$!
	for _ in $(seq 50); do [ -e "$ready" ] && break; sleep 0.05; done
	ip netns exec "sl-$id-k$1" "$SLUDP" send "$2" "$3" "$4" >/dev/null 2>&1
	wait $pid
	awk '{print $2}' "$TMP/recv.out"
}

# --- ADD: the first applies, the rest join ---------------------------------
T_PREFIX="cni_share/add/"
t0=$(date +%s%N)
for n in $(seq 1 "$N"); do cni ADD "$n"; done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
bad=0; for n in $(seq 1 "$N"); do [ "$(rc "$n")" = 0 ] || { bad=$n; break; }; done
expect_eq "$N ADDs exit 0" "$bad" 0
[ "$bad" = 0 ] || cat "$TMP/out.$bad" "$TMP/err.$bad"
echo "# $N ADDs in $ms ms"
expect_eq "two rulesets, two instances" "$(insts)" 2
js=$(status)
expect_eq "one program per instance" "$(jq -r --arg n "$NET" '[.instances[] | select(.owner.network == $n) |
	([.attachments[].prog_id] | unique | length)] | join(",")' <<<"$js")" "1,1"
expect_eq "an attachment per container" "$(jq -r --arg n "$NET" '[.instances[] | select(.owner.network == $n) |
	(.attachments | length)] | sort | join(",")' <<<"$js")" "$NB,$((N - NB))"
expect_eq "each attachment names its container and pod" "$(jq -r --arg c "c${id}x$N" '.instances[].attachments[] |
	select(.container == $c) | "\(.dev) \(.pod_namespace)/\(.pod_name)"' <<<"$js")" "sk$id$N tele-video/pod$N"
jq -r --arg n "$NET" '.instances[] | select(.owner.network == $n) | .attachments[] |
	"prog \(.prog_id)\nlink \(.link_id)"' <<<"$js" | sort -u > "$TMP/ids"

# --- traffic: each container judged by its own rules; counters per container
T_PREFIX="cni_share/traffic/"
expect_eq "A: allowed udp 6000 arrives" "$(udp 1 198.51.100.2 6000 7)" 7
expect_eq "A: udp 6001 dropped" "$(udp 1 198.51.100.2 6001 9)" 0
expect_eq "A: its attachment counted the 9 drops" "$(att_of 1 drop_packets)" 9
expect_eq "B: allowed udp 6001 arrives" "$(udp "$N" 198.51.100.2 6001 5)" 5
expect_eq "B: udp 6000 dropped" "$(udp "$N" 198.51.100.2 6000 4)" 0
expect_eq "B: its attachment counted the 4 drops" "$(att_of "$N" drop_packets)" 4
expect_eq "another A container counted none" "$(att_of 2 drop_packets)" 0
inst_b=$(status | jq -r --arg c "c${id}x$N" '.instances[] | select(any(.attachments[]; .container == $c)) | .instance')
expect_eq "B's drop events name its container and pod (sluice log --json)" \
	"$("$SLUICE" log --json --instance "$inst_b" 2>/dev/null | jq -r --arg c "c${id}x$N" \
		'select(.dport == 6000 and .container == $c) | "\(.pod_namespace)/\(.pod_name)"' | sort | uniq -c | awk '{print $1, $2}')" \
	"4 tele-video/pod$N"
udp "$N" 198.51.100.2 6000 2 >/dev/null   # (the JSON read above consumed the first ones)
check "... and the text line names them" bash -c "'$SLUICE' log --instance '$inst_b' 2>/dev/null |
	grep -q 'container c${id}x$N.* pod tele-video/pod$N'"
expect_eq "B's metrics carry its container and pod (6 drops: 4 + 2)" \
	"$("$SLUICE" stats --format prometheus --instance "$inst_b" 2>/dev/null |
		grep "^sluice_attachment_packets_total{.*container=\"c${id}x$N\",pod_namespace=\"tele-video\",pod_name=\"pod$N\",verdict=\"drop\"}" |
		awk '{print $2}')" 6

# --- the host: judged by the rules ("host": "filter" is the default) ----------
T_PREFIX="cni_share/host/"
expect_eq "DNS to the bridge address (a rule) arrives" "$(udp 2 192.0.2.254 53 5 "$H")" 5
expect_eq "another port of the bridge address: dropped" "$(udp 2 192.0.2.254 5353 5 "$H")" 0
expect_eq "the host's uplink address, allowed port" "$(udp 2 198.51.100.254 7000 5 "$H")" 5
expect_eq "the host's uplink address, another port: dropped" "$(udp 2 198.51.100.254 7001 5 "$H")" 0
expect_eq "B has no rule for the uplink: dropped" "$(udp "$N" 198.51.100.254 7000 5 "$H")" 0

# --- CHECK -------------------------------------------------------------------
T_PREFIX="cni_share/check/"
cni CHECK 1
expect_eq "CHECK of a sharing container: exit 0" "$(rc 1):$(cat "$TMP/out.1")" "0:"
cp "$TMP/b.rules" "$TMP/b.orig"
echo 'rule extra { allow udp 6002; to 198.51.100.2; }' >> "$TMP/b.rules"
cni CHECK "$N"
expect_eq "CHECK after its rules changed: code 103" "$(rc "$N"):$(jq -r .code "$TMP/out.$N")" "1:103"
mk_container 98
cni ADD 98
expect_eq "an ADD after the change gets the new rules: a third instance" "$(rc 98):$(insts)" "0:3"
expect_eq "... which allow udp 6002" "$(udp 98 198.51.100.2 6002 3)" 3
cni DEL 98
expect_eq "... gone with its container" "$(insts)" 2
cp "$TMP/b.orig" "$TMP/b.rules"

# --- the mapping: a missing file fails ADD, nothing attached -------------------
T_PREFIX="cni_share/mapping/"
mk_container 99
conf 99 | nsenter --net=/run/netns/$H env CNI_COMMAND=ADD CNI_CONTAINERID="c${id}x99" \
	CNI_NETNS="/run/netns/sl-$id-k99" CNI_IFNAME=eth0 CNI_ARGS="K8S_POD_NAMESPACE=x;K8S_POD_NAME=missing-1" \
	"$CNI" > "$TMP/out.99" 2>/dev/null
r=$?
expect_eq "missing mapped file: ADD fails with code 100" "$r:$(jq -r .code "$TMP/out.99")" "1:100"
check "... and the message names the file" grep -q /nonexistent/sl.rules "$TMP/out.99"
expect_eq "... and nothing is attached to its veth" \
	"$(status | jq -r --arg d "sk${id}99" '[.instances[].attachments[] | select(.dev == $d)] | length')" 0

# --- concurrent: DELs and ADDs at once -----------------------------------------
T_PREFIX="cni_share/parallel/"
for n in $(seq 1 10); do cni DEL "$n" & done
for n in $(seq 31 40); do mk_container "$n"; done
for n in $(seq 31 40); do cni ADD "$n" & done
wait
bad=0; for n in $(seq 1 10) $(seq 31 40); do [ "$(rc "$n")" = 0 ] || bad=$n; done
expect_eq "10 DELs and 10 ADDs at once: all exit 0" "$bad" 0
expect_eq "attachments now" "$(status | jq -r --arg n "$NET" '[.instances[] | select(.owner.network == $n) |
	.attachments[]] | length')" "$N"
expect_eq "a container added meanwhile is filtered (B)" "$(udp 35 198.51.100.2 6000 5)" 0
expect_eq "... and counted" "$(att_of 35 drop_packets)" 5

# --- an ADD killed half-way: the next call undoes it -----------------------------
T_PREFIX="cni_share/crash/"
mk_container 41; mk_container 42
cni ADD 41 SLUICE_FAULT=join-attached
expect_eq "ADD killed after its attach (SIGKILL)" "$(rc 41)" 137
cni ADD 42
expect_eq "the next ADD: exit 0" "$(rc 42)" 0
expect_eq "... and it undid the killed one's attachment" \
	"$(status | jq -r --arg d "sk${id}41" '[.instances[].attachments[] | select(.dev == $d)] | length')" 0
check "... no journal pins left" test -z "$(ls /sys/fs/bpf/sluice/cni-slsh${id}-*/ 2>/dev/null | grep '^next-')"
cni ADD 41
expect_eq "ADD of the killed container again: exit 0" "$(rc 41)" 0
expect_eq "... filtered (B)" "$(udp 41 198.51.100.2 6000 3)" 0

# --- interfaces whose indexes collide in the table: a second program, not one each
T_PREFIX="cni_share/collide/"
mk_indexed() {   # N IFINDEX: container N whose host-side veth has that index
	local k=sl-$id-k$1 hv=sk$id$1
	ip netns add "$k" && ip -n "$k" link set lo up &&
	ip -n "$H" link add "$hv" index "$2" type veth peer name eth0 netns "$k" &&
	ip -n "$H" link set "$hv" master "$BR" && ip -n "$H" link set "$hv" up &&
	ip -n "$k" addr add "192.0.2.$((10 + $1))/24" dev eth0 && ip -n "$k" link set eth0 up &&
	ip -n "$k" route add default via 192.0.2.254
}
if mk_indexed 50 31000 && mk_indexed 51 32024; then
	cni ADD 50; cni ADD 51
	expect_eq "two ADDs whose veths take one slot: exit 0" "$(rc 50):$(rc 51)" "0:0"
	expect_eq "... their instance (B) runs two programs, not one per container" "$(status | jq -r --arg c "c${id}x51" \
		'.instances[] | select(any(.attachments[]; .container == $c)) | [.attachments[].prog_id] | unique | length')" 2
	expect_eq "... the second is filtered" "$(udp 51 198.51.100.2 6000 4)" 0
	expect_eq "... and counted as its own" "$(att_of 51 drop_packets)" 4
	expect_eq "... the first passes what it may" "$(udp 50 198.51.100.2 6001 3)" 3
	cni DEL 50; cni DEL 51
else
	skip "colliding interface indexes" "ip link add ... index N is not supported here"
fi

# --- GC: what the runtime no longer lists goes -----------------------------------
T_PREFIX="cni_share/gc/"
valid=$(for n in $(seq 11 "$N") $(seq 31 40) 42; do echo "c${id}x$n"; done |
	jq -R '{containerID: ., ifname: "eth0"}' | jq -sc .)
EXTRA="\"cni.dev/valid-attachments\": $valid" cni GC 0
expect_eq "GC: exit 0" "$(rc 0)" 0
expect_eq "GC removed container 41" \
	"$(status | jq -r --arg c "c${id}x41" '[.instances[].attachments[] | select(.container == $c)] | length')" 0
expect_eq "GC kept the rest" "$(status | jq -r --arg n "$NET" '[.instances[] | select(.owner.network == $n) |
	.attachments[]] | length')" "$((N + 1))"

# --- DEL of every container: nothing left -----------------------------------------
T_PREFIX="cni_share/del/"
names=$(ls -d /sys/fs/bpf/sluice/cni-slsh${id}-* | xargs -n1 basename)
bad=0
for n in $(seq 11 "$N") $(seq 31 40) 42; do cni DEL "$n"; [ "$(rc "$n")" = 0 ] || bad=$n; done
expect_eq "every DEL: exit 0" "$bad" 0
expect_eq "no instance left" "$(insts)" 0
left=0
for i in $names; do [ -e "/run/sluice/$i.lock" ] && left=1; done
expect_eq "no lock file left" "$left" 0
left=0
while read -r kind n; do bpftool "$kind" show id "$n" >/dev/null 2>&1 && left="$kind $n"; done < "$TMP/ids"
expect_eq "no program or link left" "$left" 0
# DEL detaches its link before it drops the pin (a link freed by its last
# reference alone left the kernel's deferred work: traffic right after the
# DELs was still judged, a flaky check until attach.c did BPF_LINK_DETACH);
# the tries are for ARP, which may have to resolve again after a quiet minute
# (a filter left behind would drop every try; so did a bridge whose address
# moved when the collide step added ports: the lab's bridge has a fixed one)
got=0 tries=0
for _ in 1 2 3 4 5 6 7 8; do tries=$((tries + 1)); got=$(udp "$N" 198.51.100.2 6000 3); [ "$got" = 3 ] && break; sleep 1; done
echo "# traffic unfiltered again: $tries tries"
expect_eq "traffic unfiltered again" "$got" 3
if [ "$got" != 3 ] && [ -n "${SL_DEBUG:-}" ]; then
	ip netns exec "$H" bpftool net show; ip netns exec "sl-$id-k$N" ip -br addr; ip netns exec "sl-$id-k$N" ip route
	ip netns exec "$H" ip -br link | head -50; ip netns exec "$H" ip route
fi
finish
