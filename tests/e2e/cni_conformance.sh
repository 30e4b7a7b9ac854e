#!/usr/bin/env bash
# sluice-cni called as a runtime calls it (CNI_COMMAND, CNI_CONTAINERID,
# CNI_NETNS, CNI_IFNAME, CNI_PATH in the environment, the configuration on
# stdin) without a runtime, in the three-namespace lab of scripts/lab.sh:
#   sl-ID-c  the "container" (its interface slcID is CNI_IFNAME)
#   sl-ID-g  the "host": the plugin runs in its network namespace (nsenter,
#            so that the mount namespace and bpffs stay the host's), the
#            host side of the veth is slgcID
#   sl-ID-s  a server at 198.51.100.2 the container talks to
# prevResult is shaped like the bridge plugin's (bridge, host veth, container
# interface with a sandbox).  Every command, every configuration version,
# every error path, DEL twice, real traffic; with an instance per container
# ("share": false; cni_share.sh tests shared instances).
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd ip jq nsenter bpftool
# the ASan/UBSan build when there is one (make check builds it): a memory
# error or a leak on any path fails the test
CNI=${SLUICE_CNI:-$ROOT/build/sluice-cni-san}
[ -x "$CNI" ] || CNI=$ROOT/build/sluice-cni
[ -x "$CNI" ] || { fail build "$CNI is missing (make)"; finish; }

TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
id=${ID}n
C=sl-$id-c G=sl-$id-g S=sl-$id-s
NET=sl14-$id
NS=/run/netns/$C
HOSTIF=slgc$id IFN=slc$id
VERSIONS="0.3.0 0.3.1 0.4.0 1.0.0 1.1.0"

cat > "$TMP/rules" <<'RULES'
policy drop;
rule media { allow udp 6000; allow icmp; to 198.51.100.2; }
RULES
cp "$TMP/rules" "$TMP/rules.orig"
printf 'policy drop;\nrule broken { allow udp 6000 to 198.51.100.2; }\n' > "$TMP/bad.rules"

# remove whatever this run's network left, whatever happened
cleanup_instances() {
	local i
	for i in $("$SLUICE" status --json 2>/dev/null |
		   jq -r --arg n "$NET" '.instances[] | select(.owner.network == $n) | .instance'); do
		"$SLUICE" detach --all --instance "$i"
	done
	for i in /sys/fs/bpf/sluice/cni-*; do   # owner records left without an instance
		[ -e "$i/owner" ] && [ ! -e "$i/config" ] &&
			bpftool map dump pinned "$i/owner" 2>/dev/null | grep -q "$NET" && rm -f "$i/owner" && rmdir "$i"
	done
}
lab3_up "$id" || { fail setup "cannot build the three-namespace lab"; finish; }
on_exit lab3_down "$id"
on_exit cleanup_instances
in_c "$id" ping -c 1 -W 1 -q 198.51.100.2 >/dev/null

# conf VERSION [EXTRA-KEYS] [PREV]: a plugin configuration as a runtime passes it
conf() {
	local v=$1 extra=${2:-} prev=${3-default}
	if [ "$prev" = default ]; then
		prev=$(jq -nc --arg v "$v" --arg h "$HOSTIF" --arg c "$IFN" --arg ns "$NS" '{
			cniVersion: $v,
			interfaces: [{name: "cni-br0", mac: "02:00:00:00:00:01"},
				     {name: $h, mac: "02:00:00:00:00:02"},
				     {name: $c, mac: "02:00:00:00:00:03", sandbox: $ns}],
			ips: [{address: "192.0.2.1/24", gateway: "192.0.2.254", interface: 2}],
			routes: [{dst: "198.51.100.0/24", gw: "192.0.2.254"}],
			dns: {nameservers: ["192.0.2.254"]}}')
	fi
	jq -nc --arg v "$v" --arg n "$NET" --arg r "$TMP/rules" --argjson x "{${extra}}" \
		--argjson p "${prev:-null}" '{cniVersion: $v, name: $n, type: "sluice-cni", rules: $r, share: false}
		+ (if $p then {prevResult: $p} else {} end) + $x'
}
# cni COMMAND CONTAINERID [VAR=VALUE...] < conf: run the plugin in the "host"
# namespace; stdout in $TMP/out, exit status in $RC
cni() {
	local cmd=$1 cid=$2; shift 2
	nsenter --net=/run/netns/$G env CNI_COMMAND="$cmd" CNI_CONTAINERID="$cid" CNI_NETNS="$NS" \
		CNI_IFNAME="$IFN" CNI_PATH=/usr/lib/cni:/opt/cni/bin "$@" "$CNI" > "$TMP/out" 2> "$TMP/err"
	RC=$?
	if grep -q -E 'Sanitizer|runtime error:' "$TMP/err"; then
		fail "sanitizers are quiet ($cmd $cid)" "$(grep -m 3 -E 'ERROR|runtime error|SUMMARY' "$TMP/err")"
	fi
}
inst_of() {   # CONTAINERID: its instance (from sluice status)
	"$SLUICE" status --json 2>/dev/null |
		jq -r --arg c "$1" '[.instances[] | select(.owner.container == $c) | .instance] | first // empty'
}
udp() {   # PORT N: datagrams from the container that reach the server
	local p=$1 n=$2 ready=$(mktemp -u "$TMP/ready.XXXXXXXX")
	ip netns exec "$S" "$SLUDP" recv 198.51.100.2 "$p" 300 "$ready" > "$TMP/recv.out" 2>/dev/null &
	local pid=$!
	for _ in $(seq 50); do [ -e "$ready" ] && break; sleep 0.05; done
	in_c "$id" "$SLUDP" send 198.51.100.2 "$p" "$n" >/dev/null 2>&1
	wait $pid
	awk '{print $2}' "$TMP/recv.out"
}
note_ids() {   # INSTANCE: remember its links and programs (no_trace checks they are gone)
	"$SLUICE" status --json --instance "$1" 2>/dev/null |
		jq -r '.instances[0].attachments[] | "link \(.link_id)\nprog \(.prog_id)"' >> "$TMP/ids"
}
no_trace() {   # nothing of this run's network: no instance, no pins, no noted link or program
	local kind n
	[ -z "$("$SLUICE" status --json 2>/dev/null | jq -r --arg n "$NET" \
		'.instances[] | select(.owner.network == $n) | .instance')" ] || return 1
	for n in /sys/fs/bpf/sluice/cni-*/owner; do
		[ -e "$n" ] && bpftool map dump pinned "$n" 2>/dev/null | grep -q "$NET" && return 1
	done
	[ -e "$TMP/ids" ] || return 0
	while read -r kind n; do
		ids_gone "$kind" "$n" || return 1
	done < "$TMP/ids"
	return 0
}
# err_is NAME CODE: the last call failed with the spec's error object and CODE
err_is() {
	local code msg
	code=$(jq -r '.code' "$TMP/out" 2>/dev/null)
	msg=$(jq -r '.msg' "$TMP/out" 2>/dev/null)
	if [ "$RC" -ne 0 ] && [ "$code" = "$2" ] && [ -n "$msg" ] && [ "$msg" != null ] &&
	   jq -e '.cniVersion' "$TMP/out" >/dev/null; then
		pass "$1"
	else
		fail "$1" "exit $RC, output: $(tr -d '\n' < "$TMP/out" | head -c 300)"
	fi
}

# --- VERSION -----------------------------------------------------------------
T_PREFIX="cni_conformance/version/"
cni VERSION "" < /dev/null
expect_eq "exit 0 without stdin" "$RC" 0
expect_eq "supportedVersions" "$(jq -c .supportedVersions "$TMP/out")" \
	'["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]'
echo '{"cniVersion": "0.4.0"}' | cni VERSION ""
expect_eq "answers in the version asked" "$(jq -r .cniVersion "$TMP/out")" "0.4.0"

# --- every version: ADD, CHECK, traffic, DEL twice ---------------------------
n=0
for v in $VERSIONS; do
	T_PREFIX="cni_conformance/$v/"
	cid=c${id}v$((n++))0123456789abcdef
	conf "$v" > "$TMP/conf"
	cni ADD "$cid" < "$TMP/conf"
	if [ "$RC" -eq 0 ]; then pass "ADD exit 0"; else fail "ADD exit 0" "$(cat "$TMP/out" "$TMP/err")"; fi
	expect_eq "ADD prints prevResult unchanged" "$(jq -S -c . "$TMP/out")" \
		"$(jq -S -c '.prevResult' "$TMP/conf")"
	inst=$(inst_of "$cid")
	note_ids "$inst"
	check "status shows the container id and network" test -n "$inst"
	expect_eq "status: network name" "$("$SLUICE" status --json --instance "$inst" |
		jq -r '.instances[0].owner.network')" "$NET"
	expect_eq "attached tc-ingress on the host-side veth" "$("$SLUICE" status --json --instance "$inst" |
		jq -r '.instances[0].attachments | map("\(.hook) \(.dev)") | join(",")')" "tc-ingress $HOSTIF"
	cni CHECK "$cid" < "$TMP/conf"
	case $v in
	0.3.*) err_is "CHECK is not defined before 0.4.0 (code 1)" 1 ;;
	*) expect_eq "CHECK exit 0, no output" "$RC:$(cat "$TMP/out")" "0:" ;;
	esac
	expect_eq "allowed udp 198.51.100.2:6000 x20 arrives" "$(udp 6000 20)" 20
	expect_eq "other udp 198.51.100.2:6001 x10 dropped" "$(udp 6001 10)" 0
	expect_ge "the drops are counted for this container" \
		"$("$SLUICE" stats --json --instance "$inst" | jq '.policy.drop_packets')" 10
	cni DEL "$cid" < "$TMP/conf"
	expect_eq "DEL exit 0, no output" "$RC:$(cat "$TMP/out")" "0:"
	cni DEL "$cid" < "$TMP/conf"
	expect_eq "DEL again: exit 0" "$RC" 0
	check "nothing left (instance, pins, link)" no_trace
	expect_eq "traffic is unfiltered again" "$(udp 6001 10)" 10
done

# --- DEL without prevResult, without CNI_NETNS; DEL of what never was -------
T_PREFIX="cni_conformance/del/"
cid=d${id}
conf 1.0.0 > "$TMP/conf"
cni ADD "$cid" < "$TMP/conf"
expect_eq "ADD" "$RC" 0
conf 1.0.0 "" "" > "$TMP/conf.noprev"
cni DEL "$cid" CNI_NETNS= < "$TMP/conf.noprev"
expect_eq "DEL without prevResult and CNI_NETNS: exit 0" "$RC" 0
check "... and it removed the instance" no_trace
cni DEL never-added-$id < "$TMP/conf.noprev"
expect_eq "DEL of a container never added: exit 0" "$RC" 0
cni DEL "$cid" CNI_IFNAME= < "$TMP/conf.noprev"
err_is "DEL without CNI_IFNAME: code 4" 4

# --- CHECK fails when the program is gone or the rules differ ----------------
T_PREFIX="cni_conformance/check/"
cid=k${id}
conf 1.0.0 > "$TMP/conf"
cni ADD "$cid" < "$TMP/conf"
inst=$(inst_of "$cid")
printf 'policy drop;\nrule media { allow udp 6000, 6001; allow icmp; to 198.51.100.2; }\n' > "$TMP/rules"
cni CHECK "$cid" < "$TMP/conf"
err_is "rules file changed: CHECK fails (code 103)" 103
cp "$TMP/rules.orig" "$TMP/rules"
cni CHECK "$cid" < "$TMP/conf"
expect_eq "rules restored: CHECK passes" "$RC" 0
conf 1.0.0 '"mode": "audit"' > "$TMP/conf.audit"
cni CHECK "$cid" < "$TMP/conf.audit"
err_is "mode changed in the configuration: CHECK fails (code 103)" 103
# a program put in front of sluice's on the hook (issue 20 item 1): the container is not filtered
fpin=/sys/fs/bpf/slfgn$id
on_exit rm -f "$fpin"
hk=$("$SLUICE" status --json --instance "$inst" | jq -r '.instances[0].attachments[0].hook')
nsenter --net=/run/netns/$G "$ROOT/build/sl-hookq" before "$HOSTIF" "${hk#tc-}" "$ROOT/build/foreign.bpf.o" "$fpin" >/dev/null
cni CHECK "$cid" < "$TMP/conf"
err_is "a program in front of sluice's: CHECK fails (code 102)" 102
check "... and says BYPASSED" grep -q BYPASSED "$TMP/out"
rm -f "$fpin"
cni CHECK "$cid" < "$TMP/conf"
expect_eq "the program in front removed: CHECK passes" "$RC" 0
link=$("$SLUICE" status --json --instance "$inst" | jq -r '.instances[0].attachments[0].link_id')
bpftool link detach id "$link" 2>/dev/null
cni CHECK "$cid" < "$TMP/conf"
err_is "program detached behind its back: CHECK fails (code 102)" 102
cni DEL "$cid" < "$TMP/conf"
expect_eq "DEL of the broken attachment: exit 0" "$RC" 0
cni CHECK "$cid" < "$TMP/conf"
err_is "CHECK after DEL: code 102" 102
check "nothing left" no_trace

# --- the same attachment added again (runtime restarted, no DEL) ------------
T_PREFIX="cni_conformance/re-add/"
cid=r${id}
cni ADD "$cid" < "$TMP/conf"
cni ADD "$cid" < "$TMP/conf"
expect_eq "second ADD without DEL: exit 0" "$RC" 0
inst=$(inst_of "$cid")
expect_eq "one instance, one attachment" "$("$SLUICE" status --json 2>/dev/null | jq --arg c "$cid" \
	'[.instances[] | select(.owner.container == $c) | .attachments[]] | length')" 1
cni DEL "$cid" < "$TMP/conf"
check "DEL removes it" no_trace

# --- hook tc-egress, mode audit, log ------------------------------------------
T_PREFIX="cni_conformance/options/"
cid=e${id}
conf 1.0.0 '"hook": "tc-egress"' > "$TMP/conf.egress"
cni ADD "$cid" < "$TMP/conf.egress"
expect_eq "tc-egress: ADD" "$RC" 0
inst=$(inst_of "$cid")
expect_eq "tc-egress: attached to the container's interface" "$("$SLUICE" status --json --instance "$inst" |
	jq -r '.instances[0].attachments[0] | "\(.hook) \(.dev)"')" "tc-egress $IFN"
note_ids "$inst"
expect_eq "tc-egress: on the container's interface index" "$("$SLUICE" status --json --instance "$inst" |
	jq '.instances[0].attachments[0].ifindex')" "$(ip -n "$C" -j link show dev "$IFN" | jq '.[0].ifindex')"
expect_eq "tc-egress: allowed passes" "$(udp 6000 10)" 10
expect_eq "tc-egress: other dropped" "$(udp 6001 10)" 0
cni CHECK "$cid" < "$TMP/conf.egress"
expect_eq "tc-egress: CHECK" "$RC" 0
cni DEL "$cid" < "$TMP/conf.egress"
expect_eq "tc-egress: DEL" "$RC" 0
check "tc-egress: nothing left" no_trace
cid=a${id}
conf 1.0.0 "\"mode\": \"audit\", \"log\": \"$TMP/cni.log\"" > "$TMP/conf.audit"
cni ADD "$cid" < "$TMP/conf.audit"
inst=$(inst_of "$cid")
expect_eq "audit: status says audit" "$("$SLUICE" status --json --instance "$inst" | jq -r '.instances[0].mode')" audit
expect_eq "audit: would-be drops arrive" "$(udp 6001 10)" 10
expect_ge "audit: ... and are counted" "$("$SLUICE" stats --json --instance "$inst" | jq '.policy.drop_packets')" 10
cni DEL "$cid" < "$TMP/conf.audit"
check "log: one line per call" grep -q "ADD network=$NET container=${cid:0:12} ifname=$IFN instance=$inst ok" "$TMP/cni.log"
check "log: the DEL too" grep -q "DEL network=$NET" "$TMP/cni.log"

# --- error paths: the spec's error object, a non-zero exit, nothing attached -
T_PREFIX="cni_conformance/errors/"
cid=x${id}
errcase() {   # NAME CODE CONF-FILE [VAR=VALUE...]
	local name=$1 code=$2 f=$3; shift 3
	cni ADD "$cid" "$@" < "$f"
	err_is "$name (code $code)" "$code"
	check "$name: nothing attached" no_trace
}
nsenter --net=/run/netns/$G env -u CNI_COMMAND "$CNI" < /dev/null > "$TMP/out" 2> "$TMP/err"; RC=$?
err_is "no CNI_COMMAND (code 4)" 4
echo '{"cniVersion": "1.0.0"}' > "$TMP/c"; cni FROB "$cid" < "$TMP/c"; err_is "unknown command (code 4)" 4
echo '{"cniVersion": "1.0.0", ' > "$TMP/c"; errcase "not JSON" 6 "$TMP/c"
echo '[1]' > "$TMP/c"; errcase "not an object" 6 "$TMP/c"
conf 0.2.0 > "$TMP/c"; errcase "cniVersion 0.2.0" 1 "$TMP/c"
conf 1.0.0 | jq 'del(.cniVersion)' > "$TMP/c"; errcase "no cniVersion" 1 "$TMP/c"
conf 1.0.0 | jq 'del(.rules)' > "$TMP/c"; errcase "no rules" 7 "$TMP/c"
conf 1.0.0 | jq 'del(.name)' > "$TMP/c"; errcase "no network name" 7 "$TMP/c"
conf 1.0.0 | jq --arg r "$TMP/bad.rules" '.rules = $r' > "$TMP/c"; errcase "rules with a syntax error" 100 "$TMP/c"
check "the details name file:line:col" bash -c "jq -r .details '$TMP/out' | grep -q 'bad.rules:2:'"
conf 1.0.0 | jq '.rules = "/nonexistent/sl14.rules"' > "$TMP/c"; errcase "rules file missing" 100 "$TMP/c"
conf 1.0.0 '"hook": "xdp"' > "$TMP/c"; errcase "hook xdp" 7 "$TMP/c"
conf 1.0.0 '"mode": "loose"' > "$TMP/c"; errcase "mode loose" 7 "$TMP/c"
conf 1.0.0 '"log": "relative.log"' > "$TMP/c"; cd "$TMP"; errcase "log not absolute" 7 "$TMP/c"; cd "$ROOT"
check "log not absolute: nothing written relative to the working directory" test ! -e "$TMP/relative.log"
conf 1.0.0 '"rules": 5' > "$TMP/c"; errcase "rules not a string" 7 "$TMP/c"
conf 1.0.0 '"prevResult": "x"' > "$TMP/c"; errcase "prevResult not an object" 6 "$TMP/c"
conf 1.0.0 "" "" > "$TMP/c"; errcase "ADD without prevResult" 7 "$TMP/c"
conf 1.0.0 > "$TMP/c"
errcase "no CNI_CONTAINERID" 4 "$TMP/c" CNI_CONTAINERID=
errcase "no CNI_IFNAME" 4 "$TMP/c" CNI_IFNAME=
errcase "no CNI_NETNS" 4 "$TMP/c" CNI_NETNS=
errcase "CNI_NETNS does not exist" 3 "$TMP/c" CNI_NETNS=/run/netns/sl14-none-$id
errcase "CNI_IFNAME not in the container" 3 "$TMP/c" CNI_IFNAME=nosuch0
errcase "CNI_IFNAME not a veth" 7 "$TMP/c" CNI_IFNAME=lo
conf 1.0.0 | jq '.prevResult.interfaces |= map(select(.sandbox or .name == "cni-br0"))' > "$TMP/c"
errcase "host veth not in prevResult" 7 "$TMP/c"
conf 1.0.0 > "$TMP/c"; cni GC "$cid" < "$TMP/c"; err_is "GC with cniVersion 1.0.0 (code 1)" 1
conf 1.0.0 > "$TMP/c"; cni STATUS "$cid" < "$TMP/c"; err_is "STATUS with cniVersion 1.0.0 (code 1)" 1

# --- CNI 1.1: GC and STATUS ----------------------------------------------------
T_PREFIX="cni_conformance/1.1/"
conf 1.1.0 > "$TMP/conf"
cni ADD keep-$id < "$TMP/conf"
# a second container with its own veth (two instances on one hook of one
# interface are refused as stacking: a container's veth is its own)
D=sl-$id-d
ip netns add "$D" && on_exit ip netns del "$D"
ip -n "$G" link add "sld$id" type veth peer name eth0 netns "$D"
ip -n "$G" link set "sld$id" up; ip -n "$D" link set eth0 up
jq --arg h "sld$id" --arg ns "/run/netns/$D" \
	'.prevResult.interfaces = [{name: $h}, {name: "eth0", sandbox: $ns}]' "$TMP/conf" > "$TMP/conf-d"
cni ADD drop-$id CNI_NETNS=/run/netns/$D CNI_IFNAME=eth0 < "$TMP/conf-d"
[ "$RC" -eq 0 ] || cat "$TMP/out" >&2
expect_eq "two attachments added" "$("$SLUICE" status --json 2>/dev/null | jq --arg n "$NET" '[.instances[] | select(.owner.network == $n)] | length')" 2
conf 1.1.0 "" "" | jq --arg k keep-$id --arg i "$IFN" '. + {"cni.dev/valid-attachments": [{containerID: $k, ifname: $i}]}' > "$TMP/c"
cni GC "" CNI_NETNS= CNI_IFNAME= < "$TMP/c"
expect_eq "GC: exit 0" "$RC" 0
check "GC removed the attachment not listed" test -z "$(inst_of drop-$id)"
check "GC kept the listed one" test -n "$(inst_of keep-$id)"
conf 1.1.0 "" "" | jq '.name = "other-net"' | jq '. + {"cni.dev/valid-attachments": []}' > "$TMP/c"
cni GC "" < "$TMP/c"
check "GC of another network leaves ours alone" test -n "$(inst_of keep-$id)"
conf 1.1.0 "" "" > "$TMP/c"; cni GC "" < "$TMP/c"; err_is "GC without valid-attachments (code 7)" 7
cni DEL keep-$id < "$TMP/conf"
cni STATUS "" < "$TMP/conf"
expect_eq "STATUS: exit 0 when ready" "$RC:$(cat "$TMP/out")" "0:"
conf 1.1.0 | jq --arg r "$TMP/bad.rules" '.rules = $r' > "$TMP/c"; cni STATUS "" < "$TMP/c"
err_is "STATUS with a broken rules file: plugin not available (code 50)" 50
check "nothing left" no_trace

# --- a container gone without DEL: sluice gc, and the next ADD, clean up -----
T_PREFIX="cni_conformance/stale/"
mkstale() {   # N [EXTRA-KEYS]: a container netns with a veth to the host, ADDed, then deleted (no DEL)
	local x=sl-$id-x$1
	ip netns add "$x" && on_exit ip netns del "$x"
	ip -n "$G" link add "slx$1$id" type veth peer name eth0 netns "$x"
	ip -n "$G" link set "slx$1$id" up; ip -n "$x" link set eth0 up
	conf 1.0.0 "${2:-}" | jq --arg h "slx$1$id" --arg ns "/run/netns/$x" \
		'.prevResult.interfaces = [{name: $h}, {name: "eth0", sandbox: $ns}]' > "$TMP/c"
	cni ADD stale$1-$id CNI_NETNS=/run/netns/$x CNI_IFNAME=eth0 < "$TMP/c"
	[ "$RC" -eq 0 ] || cat "$TMP/out" >&2
	ip netns del "$x"           # the runtime died: no DEL
}
mkstale 1
s1=$(inst_of stale1-$id)
check "a stale instance exists" test -n "$s1"
"$SLUICE" gc --dry-run > "$TMP/gc" 2>&1
check "sluice gc --dry-run lists it" grep -q "would remove $s1" "$TMP/gc"
check "... and keeps it" test -e "/sys/fs/bpf/sluice/$s1"
"$SLUICE" gc --json > "$TMP/gc" 2>&1
expect_eq "sluice gc removes it" "$(jq -r --arg s "$s1" '.removed[].instance | select(. == $s)' "$TMP/gc")" "$s1"
check "its pins are gone" test ! -e "/sys/fs/bpf/sluice/$s1"
mkstale 2
s2=$(inst_of stale2-$id)
conf 1.0.0 > "$TMP/conf"
cni ADD fresh-$id < "$TMP/conf"
check "the next ADD removes what a vanished container left" test ! -e "/sys/fs/bpf/sluice/$s2"
cni DEL fresh-$id < "$TMP/conf"
mkstale 3 '"hook": "tc-egress"'
s3=$(inst_of stale3-$id)
check "tc-egress, container gone: an instance is left" test -n "$s3"
note_ids "$s3"
conf 1.0.0 '"hook": "tc-egress"' > "$TMP/c"
cni DEL stale3-$id CNI_NETNS=/run/netns/sl-$id-x3 CNI_IFNAME=eth0 < "$TMP/c"
expect_eq "tc-egress, the runtime's DEL after the netns went: exit 0" "$RC" 0
check "... and it removed the instance" test ! -e "/sys/fs/bpf/sluice/$s3"
check "nothing left" no_trace

# --- many ADDs and DELs at once (the instance lock) ---------------------------
# ten containers, each with its own veth (two instances on one hook of one
# interface are refused as stacking: a test that ADDs ten to one veth passed
# only when the concurrent ADDs raced past each other's records)
T_PREFIX="cni_conformance/parallel/"
for k in $(seq 10); do
	x=sl-$id-p$k
	ip netns add "$x" && on_exit ip netns del "$x"
	ip -n "$G" link add "slp$k$id" type veth peer name eth0 netns "$x"
	ip -n "$G" link set "slp$k$id" up; ip -n "$x" link set eth0 up
	conf 1.0.0 | jq --arg h "slp$k$id" --arg ns "/run/netns/$x" \
		'.prevResult.interfaces = [{name: $h}, {name: "eth0", sandbox: $ns}]' > "$TMP/conf.p$k"
done
# each call its own output files
par() { (local t=$TMP; TMP=$TMP/p$2; mkdir -p "$TMP"; cni "$1" "par$2-$id" CNI_NETNS=/run/netns/sl-$id-p$2 CNI_IFNAME=eth0 < "$t/conf.p$2"; echo "$RC" > "$t/rc.$1.$2"; [ "$RC" -eq 0 ] || echo "$1 par$2: $(head -c 400 "$TMP/out")" >&2) & }
for k in $(seq 10); do par ADD "$k"; done; wait
expect_eq "10 ADDs at once: all exit 0" "$(cat "$TMP"/rc.ADD.* | sort -u | tr -d '\n')" 0
for k in $(seq 10); do note_ids "$(inst_of par$k-$id)"; done
expect_eq "10 instances" "$("$SLUICE" status --json 2>/dev/null | jq --arg n "$NET" '[.instances[] | select(.owner.network == $n)] | length')" 10
expect_eq "each veth runs its own container's program (10 programs on 10 veths)" \
	"$(for k in $(seq 10); do ip netns exec "$G" "$ROOT/build/sl-hookq" "slp$k$id" 2>/dev/null | grep -c sluice_; done | sort -u | tr -d '\n')" 1
for k in $(seq 10); do par DEL "$k"; done; wait
expect_eq "10 DELs at once: all exit 0" "$(cat "$TMP"/rc.DEL.* | sort -u | tr -d '\n')" 0
check "nothing left" no_trace

# --- ADDs while a writer rewrites the rules file in place ---------------------
# An ADD reads the file once and checks it did not change only once the
# verifier has loaded the program (its settle wait runs beside the load):
# a changed file is read again, so no container ever runs half a file.
T_PREFIX="cni_conformance/torn/"
A1='policy drop;
rule a-media { allow udp 6000; allow icmp; to 198.51.100.2; }
'
A2='rule a-block { deny any; to 198.51.100.0/24; }
'
B1='policy drop;
rule b-media { allow udp 6000; allow icmp; to 198.51.100.2; }
'
B2='rule b-extra { allow udp 6002; to 198.51.100.2; }
rule b-block { deny any; to 198.51.100.0/24; }
'
rewriter "$TMP/rules" "$A1" "$A2" "$B1" "$B2" &
wpid=$!
on_exit "kill $wpid"
conf 1.0.0 > "$TMP/conf.torn"
bad=0 ok=0 refused=0 again=0
for k in $(seq 15); do
	cni ADD "torn$k-$id" < "$TMP/conf.torn"
	grep -q "changed while it was read (nothing was attached); reading it again" "$TMP/err" && again=$((again + 1))
	if [ "$RC" -eq 0 ]; then
		ok=$((ok + 1))
		names=$("$SLUICE" stats --json --instance "$(inst_of "torn$k-$id")" | jq -r '[.rules[].name] | join(",")')
		case $names in
		a-media,a-block|b-media,b-extra,b-block) ;;
		*) bad=$((bad + 1)); echo "    ADD $k runs: $names" ;;
		esac
		cni DEL "torn$k-$id" < "$TMP/conf.torn"
	elif grep -q "no rules\|changed while it was read" "$TMP/out" "$TMP/err"; then
		refused=$((refused + 1))
	else
		bad=$((bad + 1)); echo "    ADD $k: $(head -c 300 "$TMP/out")"
	fi
done
kill $wpid; wait $wpid 2>/dev/null
cp "$TMP/rules.orig" "$TMP/rules"
expect_eq "15 ADDs under a rewriting writer: no container runs half a file (ok $ok, refused $refused, read again $again)" "$bad" 0
expect_ge "... most ran a whole version" "$ok" 8
check "nothing left" no_trace
finish
