#!/usr/bin/env bash
# sluice-cni under a real runtime: podman (Debian 12: 4.3, CNI backend),
# runc, busybox.  Everything podman keeps lives in a temporary directory
# (storage, run root, containers.conf via CONTAINERS_CONF, the CNI network
# configurations); the bridges, host-local leases and CNI result cache of the
# two networks are removed on exit.  Two networks on documentation subnets:
#   A  bridge + sluice-cni (tc-ingress on each container's host-side veth;
#      "share": false: an instance per container)
#   B  bridge only
#   C  bridge + sluice-cni sharing instances, with a "rulesBy" mapping: the
#      containers named tele* get another rules file (podman passes the
#      container's name as K8S_POD_NAME)
# Shows: allowed traffic passes, the rest is dropped and counted per
# container; a container on B is unaffected; a restarted container (new
# veth) is filtered again; kill -9 then start works; `podman rm -f` leaves
# no instance, pins, links or programs; 10 containers started and removed in
# parallel leave nothing behind.  Traffic: UDP between containers of one
# bridge (no routing, no NAT); the sender runs inside the container.
source "$(dirname "$0")/../lib.sh"
need_root
need_cmd podman runc busybox jq nsenter bpftool gcc
CNI=${SLUICE_CNI:-$ROOT/build/sluice-cni}
[ -x "$CNI" ] || { fail build "$CNI is missing (make)"; finish; }

TMP=$(mktemp -d /tmp/sl-podman.XXXXXX)
# podman's leftovers in TMP (shm mounts of containers) are unmounted first
T_FINAL='findmnt -rn -o TARGET | grep "^$TMP" | sort -r | xargs -r umount -l 2>/dev/null; rm -rf "$TMP"'
id=${ID}p
NA=sl14a$id NB=sl14b$id NC=sl14c$id         # network names = bridge names
IMG=localhost/sluice-e2e-busybox:$id
k=$(( 16 * (1 + 0x${ID:0:2} % 14) ))         # a /28 per run
kc=$(( (k + 112) % 224 + 16 ))               # C: another /28 of 203.0.113.0/24 than B's
SUBA=198.51.100.$k/28 SUBB=203.0.113.$k/28 SUBC=203.0.113.$kc/28
SRVC=203.0.113.$((kc + 5))
SRVA=198.51.100.$((k + 5)) SRVB=203.0.113.$((k + 5))
# rlimits no higher than ours (runc may not raise them: no CAP_SYS_RESOURCE
# here), and at most 4096: podman runs runc under lower limits than its own
lim() { local v; v=$(ulimit "$1"); [ "$v" = unlimited ] || [ "$v" -gt 4096 ] && v=4096; echo "$v"; }
NOFILE=$(lim -Sn) NPROC=$(lim -Su)
# crun cannot run containers on hosts like this one (hybrid cgroups): runc, cgroupfs
P=(podman --root "$TMP/storage" --runroot "$TMP/run" --storage-driver vfs
   --runtime runc --cgroup-manager cgroupfs)
RUN=(run -d --ulimit "nofile=$NOFILE:$NOFILE" --ulimit "nproc=$NPROC:$NPROC" --label "sl14=$id")
mkdir -p "$TMP/net.d" "$TMP/cni-bin" "$TMP/tmp" "$TMP/rootfs/bin" "$TMP/rootfs/tmp"
ln -s "$CNI" "$TMP/cni-bin/sluice-cni"
cat > "$TMP/containers.conf" <<CONF
[network]
network_backend = "cni"
network_config_dir = "$TMP/net.d"
cni_plugin_dirs = ["$TMP/cni-bin", "/usr/lib/cni", "/opt/cni/bin"]
[engine]
tmp_dir = "$TMP/tmp"
events_logger = "none"
CONF
export CONTAINERS_CONF=$TMP/containers.conf
pm() { "${P[@]}" "$@"; }

cleanup_podman() {
	local c
	c=$(pm ps -aq --filter "label=sl14=$id" 2>/dev/null)
	[ -n "$c" ] && pm rm -f -t 0 $c
	pm network rm -f "$NA" "$NB" "$NC"
	pm rmi -f "$IMG"
	ip link del "$NA" 2>/dev/null; ip link del "$NB" 2>/dev/null; ip link del "$NC" 2>/dev/null
	rm -rf "/var/lib/cni/networks/$NA" "/var/lib/cni/networks/$NB" "/var/lib/cni/networks/$NC" \
	       /var/lib/cni/results/"$NA"-* /var/lib/cni/results/"$NB"-* /var/lib/cni/results/"$NC"-*
}
cleanup_instances() {   # whatever sluice-cni left for network A (nothing, if it works)
	local i
	for i in $("$SLUICE" status --json 2>/dev/null |
		   jq -r --arg n "$NA" --arg c "$NC" '.instances[] | select(.owner.network == $n or .owner.network == $c) | .instance'); do
		"$SLUICE" detach --all --instance "$i"
	done
}
on_exit cleanup_instances
on_exit cleanup_podman

# --- image: busybox and a static sl-udp in a rootfs tarball -----------------
cp "$(command -v busybox)" "$TMP/rootfs/bin/busybox"
for a in sh sleep cat ip true; do ln -s busybox "$TMP/rootfs/bin/$a"; done
if ! gcc -static -std=gnu11 -O2 "$ROOT/tests/tools/sl-udp.c" -o "$TMP/rootfs/bin/sl-udp" 2> "$TMP/gcc.err"; then
	skip all "cannot link sl-udp statically: $(head -c 200 "$TMP/gcc.err")"; finish
fi
tar -C "$TMP/rootfs" -cf "$TMP/rootfs.tar" .
if ! pm import "$TMP/rootfs.tar" "$IMG" > "$TMP/out" 2>&1; then
	fail image "podman import: $(tail -n 3 "$TMP/out")"; finish
fi

# --- networks: A with sluice-cni, B without -----------------------------------
cat > "$TMP/a.rules" <<RULES
policy drop;
rule peer { allow udp 6000; to $SRVA; }
RULES
for n in "$NA:$SUBA" "$NB:$SUBB"; do
	if ! pm network create --subnet "${n#*:}" --disable-dns "${n%%:*}" > "$TMP/out" 2>&1; then
		fail "network create" "${n%%:*} ${n#*:}: $(tail -n 2 "$TMP/out")"; finish
	fi
done
# only the bridge, named as the network (no NAT, no firewall plugin: nothing
# in the host's iptables), then sluice-cni on A
jq --arg r "$TMP/a.rules" --arg l "$TMP/cni.log" --arg b "$NA" '.plugins = [(.plugins[0] | .ipMasq = false | .bridge = $b),
	{type: "sluice-cni", rules: $r, log: $l, share: false}]' "$TMP/net.d/$NA.conflist" > "$TMP/a.json" &&
	mv "$TMP/a.json" "$TMP/net.d/$NA.conflist"
jq --arg b "$NB" '.plugins = [(.plugins[0] | .ipMasq = false | .bridge = $b)]' "$TMP/net.d/$NB.conflist" > "$TMP/b.json" &&
	mv "$TMP/b.json" "$TMP/net.d/$NB.conflist"

# --- can podman run containers here at all? ----------------------------------
if ! pm "${RUN[@]}" --name "srvb-$id" --network "$NB" --ip "$SRVB" "$IMG" sleep 3600 \
	> "$TMP/out" 2>&1; then
	skip all "podman cannot run a container on this machine: $(tail -n 2 "$TMP/out" | tr '\n' ' ')"
	finish
fi
T_PREFIX="podman/"
pass "a container runs (runc, cgroupfs, CNI backend)"

cid_of() { pm inspect -f '{{.Id}}' "$1" 2>/dev/null; }
pid_of() { pm inspect -f '{{.State.Pid}}' "$1" 2>/dev/null; }
inst_of() {   # CONTAINER: its sluice instance (status shows the container id)
	"$SLUICE" status --json 2>/dev/null |
		jq -r --arg c "$(cid_of "$1")" '[.instances[] | select(.owner.container == $c) | .instance] | first // empty'
}
ninst() {   # instances of network A
	"$SLUICE" status --json 2>/dev/null | jq --arg n "$NA" '[.instances[] | select(.owner.network == $n)] | length'
}
# udp FROM-CONTAINER SERVER-CONTAINER ADDR PORT N: datagrams that arrive
udp() {
	local from=$1 srv=$2 a=$3 p=$4 n=$5 ready=$(mktemp -u "$TMP/ready.XXXXXXXX") pid
	nsenter --net="/proc/$(pid_of "$srv")/ns/net" "$SLUDP" recv "$a" "$p" 500 "$ready" \
		> "$TMP/recv.out" 2>/dev/null &
	pid=$!
	for _ in $(seq 50); do [ -e "$ready" ] && break; sleep 0.05; done
	pm exec "$from" sl-udp send "$a" "$p" "$n" >/dev/null 2>&1
	wait $pid
	awk '{print $2}' "$TMP/recv.out"
}
note_ids() {   # INSTANCE: its links and programs, for gone()
	"$SLUICE" status --json --instance "$1" 2>/dev/null |
		jq -r '.instances[0].attachments[] | "link \(.link_id)\nprog \(.prog_id)"' >> "$TMP/ids"
}
gone() {   # every noted link and program is gone
	local kind n
	while read -r kind n; do
		bpftool "$kind" show id "$n" >/dev/null 2>&1 && return 1
	done < "$TMP/ids"
	return 0
}
: > "$TMP/ids"

# --- filtering per container -------------------------------------------------
pm "${RUN[@]}" --name "srva-$id" --network "$NA" --ip "$SRVA" "$IMG" sleep 3600 > "$TMP/out" 2>&1 ||
	fail "server on network A starts" "$(tail -n 3 "$TMP/out")"
pm "${RUN[@]}" --name "cli-$id" --network "$NA" "$IMG" sleep 3600 > "$TMP/out" 2>&1 ||
	fail "client on network A starts" "$(tail -n 3 "$TMP/out")"
pm "${RUN[@]}" --name "clib-$id" --network "$NB" "$IMG" sleep 3600 > /dev/null 2>&1
inst=$(inst_of "cli-$id")
check "the container has its own instance" test -n "$inst"
note_ids "$inst"
st=$("$SLUICE" status --json --instance "$inst" 2>/dev/null)
expect_eq "status: its container id and network" "$(jq -r '.instances[0].owner | "\(.container) \(.network)"' <<<"$st")" \
	"$(cid_of "cli-$id") $NA"
veth1=$(jq -r '.instances[0].attachments[0].dev' <<<"$st")
check "attached tc-ingress on its host-side veth" test "$(jq -r '.instances[0].attachments[0].hook' <<<"$st")" = tc-ingress
check "... which is a veth on bridge $NA" bash -c "ip -j link show dev '$veth1' | jq -e '.[0].master == \"$NA\"' >/dev/null"
expect_eq "allowed: udp $SRVA:6000 x20 arrives" "$(udp "cli-$id" "srva-$id" "$SRVA" 6000 20)" 20
expect_eq "not allowed: udp $SRVA:6001 x10 dropped" "$(udp "cli-$id" "srva-$id" "$SRVA" 6001 10)" 0
expect_ge "the drops are counted for this container" \
	"$("$SLUICE" stats --json --instance "$inst" | jq '.policy.drop_packets')" 10
expect_eq "network B (no plugin): udp $SRVB:6001 x10 arrives" "$(udp "clib-$id" "srvb-$id" "$SRVB" 6001 10)" 10
check "network B's containers have no instance" test -z "$(inst_of "clib-$id")"
pm "${RUN[@]}" --name "cli2-$id" --network "$NA" "$IMG" sleep 3600 > /dev/null 2>&1
i2=$(inst_of "cli2-$id")
expect_eq "a second container: its own counters (no drops yet)" \
	"$("$SLUICE" stats --json --instance "$i2" 2>/dev/null | jq '.policy.drop_packets')" 0
check "sluice-cni's log has the ADDs" grep -q "ADD network=$NA .* ok" "$TMP/cni.log"

# --- restart: new veth, filtered again ---------------------------------------
pm restart -t 0 "cli-$id" > /dev/null 2>&1
inst=$(inst_of "cli-$id")
note_ids "$inst"
veth2=$("$SLUICE" status --json --instance "$inst" 2>/dev/null | jq -r '.instances[0].attachments[0].dev')
check "restarted: an instance on its new veth" test -n "$veth2" -a "$veth2" != null
check "restarted: the old veth is gone" bash -c "! ip link show dev '$veth1' >/dev/null 2>&1 || test '$veth1' = '$veth2'"
expect_eq "restarted: one instance for the container" "$("$SLUICE" status --json 2>/dev/null |
	jq --arg c "$(cid_of "cli-$id")" '[.instances[] | select(.owner.container == $c)] | length')" 1
expect_eq "restarted: allowed passes" "$(udp "cli-$id" "srva-$id" "$SRVA" 6000 10)" 10
expect_eq "restarted: the rest is dropped again" "$(udp "cli-$id" "srva-$id" "$SRVA" 6001 10)" 0

# --- kill -9 of the container, start again: nothing blocks the ADD ----------
kill -9 "$(pid_of "cli-$id")"
for _ in $(seq 100); do
	[ "$(pm inspect -f '{{.State.Running}}' "cli-$id")" = false ] && break; sleep 0.1
done
pm start "cli-$id" > "$TMP/out" 2>&1
check "killed with -9, started again" test "$(pm inspect -f '{{.State.Running}}' "cli-$id")" = true
inst=$(inst_of "cli-$id")
note_ids "$inst"
expect_eq "after kill -9 and start: one instance for the container" "$("$SLUICE" status --json 2>/dev/null |
	jq --arg c "$(cid_of "cli-$id")" '[.instances[] | select(.owner.container == $c)] | length')" 1
expect_eq "after kill -9 and start: filtered" "$(udp "cli-$id" "srva-$id" "$SRVA" 6001 10)" 0
veth3=$("$SLUICE" status --json --instance "$inst" 2>/dev/null | jq -r '.instances[0].attachments[0].dev')

# --- podman rm -f leaves nothing -----------------------------------------------
pm rm -f -t 0 "cli-$id" "cli2-$id" > /dev/null 2>&1
check "rm -f: no instance left for the removed containers" test -z "$(inst_of "cli-$id")$("$SLUICE" status --json 2>/dev/null |
	jq -r --arg i "$i2" '.instances[] | select(.instance == $i) | .instance')"
check "rm -f: no pins" test ! -e "/sys/fs/bpf/sluice/$inst" -a ! -e "/sys/fs/bpf/sluice/$i2"
check "rm -f: no links, no programs" gone
check "rm -f: the veth is gone" bash -c "! ip link show dev '$veth3' >/dev/null 2>&1"
expect_eq "rm -f: only the server's instance is left on A" "$(ninst)" 1

# --- 10 containers at once -----------------------------------------------------
for k in $(seq 10); do
	pm "${RUN[@]}" --name "par$k-$id" --network "$NA" "$IMG" sleep 3600 > "$TMP/par.$k" 2>&1 &
done
wait
expect_eq "10 containers started in parallel: 11 instances on A" "$(ninst)" 11
for k in $(seq 10); do i=$(inst_of "par$k-$id"); [ -n "$i" ] && note_ids "$i"; done
expect_eq "one of them is filtered" "$(udp "par7-$id" "srva-$id" "$SRVA" 6001 10)" 0
for k in $(seq 10); do pm rm -f -t 0 "par$k-$id" > /dev/null 2>&1 & done
wait
expect_eq "removed in parallel: only the server's instance is left" "$(ninst)" 1
check "removed in parallel: no links, no programs" gone
check "removed in parallel: no veth left on $NA" bash -c \
	"test \"\$(ip -j link show master '$NA' | jq '[.[] | select(.ifname != null)] | length')\" -le 1"
pm rm -f -t 0 "srva-$id" > /dev/null 2>&1
expect_eq "the last container gone: no instance on A" "$(ninst)" 0

# --- network C: shared instances, two rulesets chosen by container name --------
T_PREFIX="podman/shared/"
printf 'policy drop;\nrule peer { allow udp 6000; to %s; }\n' "$SRVC" > "$TMP/c.rules"
printf 'policy drop;\nrule video { allow udp 6001; to %s; }\n' "$SRVC" > "$TMP/tele.rules"
if pm network create --subnet "$SUBC" --disable-dns "$NC" > "$TMP/out" 2>&1; then
	jq --arg r "$TMP/c.rules" --arg t "$TMP/tele.rules" --arg l "$TMP/cni.log" --arg b "$NC" \
		'.plugins = [(.plugins[0] | .ipMasq = false | .bridge = $b), {type: "sluice-cni", rules: $r,
		log: $l, rulesBy: [{name: "tele*", rules: $t}]}]' "$TMP/net.d/$NC.conflist" > "$TMP/c.json" &&
		mv "$TMP/c.json" "$TMP/net.d/$NC.conflist"
	pm "${RUN[@]}" --name "srvc-$id" --network "$NC" --ip "$SRVC" "$IMG" sleep 3600 > /dev/null 2>&1
	pm "${RUN[@]}" --name "web-$id" --network "$NC" "$IMG" sleep 3600 > /dev/null 2>&1
	pm "${RUN[@]}" --name "tele-$id" --network "$NC" "$IMG" sleep 3600 > "$TMP/out" 2>&1 ||
		fail "the tele container starts" "$(tail -n 3 "$TMP/out")"
	stc=$("$SLUICE" status --json 2>/dev/null)
	expect_eq "three containers, two rulesets: two instances on C" \
		"$(jq --arg n "$NC" '[.instances[] | select(.owner.network == $n)] | length' <<<"$stc")" 2
	expect_eq "the tele container's attachment names it (pod name = container name)" \
		"$(jq -r --arg c "$(cid_of "tele-$id")" '.instances[].attachments[] | select(.container == $c) | .pod_name' <<<"$stc")" \
		"tele-$id"
	expect_eq "web (default rules): udp 6000 arrives" "$(udp "web-$id" "srvc-$id" "$SRVC" 6000 10)" 10
	expect_eq "web: udp 6001 dropped" "$(udp "web-$id" "srvc-$id" "$SRVC" 6001 10)" 0
	expect_eq "tele (mapped rules): udp 6001 arrives" "$(udp "tele-$id" "srvc-$id" "$SRVC" 6001 10)" 10
	expect_eq "tele: udp 6000 dropped" "$(udp "tele-$id" "srvc-$id" "$SRVC" 6000 10)" 0
	expect_eq "tele's drops are its attachment's" "$(for i in $(jq -r --arg n "$NC" '.instances[] |
		select(.owner.network == $n) | .instance' <<<"$stc"); do "$SLUICE" stats --json --instance "$i"; done |
		jq -r --arg c "$(cid_of "tele-$id")" '.attachments[] | select(.container == $c) | .drop_packets')" 10
	pm rm -f -t 0 "srvc-$id" "web-$id" "tele-$id" > /dev/null 2>&1
	expect_eq "all removed: no instance on C" "$("$SLUICE" status --json 2>/dev/null |
		jq --arg n "$NC" '[.instances[] | select(.owner.network == $n)] | length')" 0
else
	fail "network C" "$(tail -n 2 "$TMP/out")"
fi
T_PREFIX="podman/"
"$SLUICE" gc > "$TMP/gc" 2>&1
check "sluice gc finds nothing of ours to remove" bash -c "! grep -q '$NA' '$TMP/gc'"
finish
