#!/usr/bin/env bash
# contrib/kubernetes/install.sh (the DaemonSet's installer) against a fake
# node root in a temporary directory: the plugin and the rules are copied,
# sluice-cni is chained into the first conflist exactly once (also when run
# again), the other plugins and conflists are untouched, a new rules file is
# picked up, uninstall removes only the entry.  No root, no cluster.
source "$(dirname "$0")/../lib.sh"
need_cmd jq
INST=$ROOT/contrib/kubernetes/install.sh
TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
H=$TMP/host
mkdir -p "$H/opt/cni/bin" "$H/etc/cni/net.d" "$TMP/config"
printf '#!/bin/sh\necho plugin v1\n' > "$TMP/plugin"
printf 'policy drop;\nrule web { allow tcp 443; to 192.0.2.0/24; }\n' > "$TMP/config/pods.rules"
cat > "$H/etc/cni/net.d/10-mynet.conflist" <<'JSON'
{"cniVersion": "0.4.0", "name": "mynet", "plugins": [
 {"type": "bridge", "bridge": "cni0", "ipam": {"type": "host-local", "subnet": "198.51.100.0/24"}},
 {"type": "portmap", "capabilities": {"portMappings": true}}]}
JSON
echo '{"cniVersion": "0.4.0", "name": "other", "plugins": [{"type": "ptp"}]}' > "$H/etc/cni/net.d/20-other.conflist"
cp "$H/etc/cni/net.d/20-other.conflist" "$TMP/other.orig"
run() { HOST=$H PLUGIN=$TMP/plugin RULES_SRC=$TMP/config/pods.rules "$@" sh "$INST" once > "$TMP/out" 2>&1; }

T_PREFIX="k8s_install/"
run env; expect_eq "exit 0" "$?" 0
check "plugin installed, executable" test -x "$H/opt/cni/bin/sluice-cni"
check "rules installed" cmp -s "$TMP/config/pods.rules" "$H/etc/sluice/pods.rules"
F=$H/etc/cni/net.d/10-mynet.conflist
expect_eq "chained last into the first conflist" "$(jq -c '.plugins | map(.type)' "$F")" '["bridge","portmap","sluice-cni"]'
expect_eq "the entry names the node's rules path" "$(jq -c '.plugins[2]' "$F")" \
	'{"type":"sluice-cni","rules":"/etc/sluice/pods.rules","hook":"tc-ingress"}'
run env; run env
expect_eq "run again: still one entry" "$(jq '[.plugins[] | select(.type == "sluice-cni")] | length' "$F")" 1
check "the other conflist is untouched" cmp -s "$TMP/other.orig" "$H/etc/cni/net.d/20-other.conflist"
check "no temporary file left" bash -c "! { ls -A '$H/etc/cni/net.d'; ls -A '$H/opt/cni/bin'; } | grep -q 'tmp'"
printf 'policy drop;\nrule web { allow tcp 443, 8443; to 192.0.2.0/24; }\n' > "$TMP/config/pods.rules"
printf '#!/bin/sh\necho plugin v2\n' > "$TMP/plugin"
run env
check "a changed ConfigMap reaches the node" cmp -s "$TMP/config/pods.rules" "$H/etc/sluice/pods.rules"
check "a new plugin binary replaces the old" grep -q v2 "$H/opt/cni/bin/sluice-cni"
jq 'del(.plugins[] | select(.type == "sluice-cni"))' "$F" > "$F.x" && mv "$F.x" "$F"
run env SLUICE_MODE=audit
expect_eq "SLUICE_MODE sets the entry's mode" "$(jq -r '.plugins[] | select(.type == "sluice-cni") | .mode' "$F")" audit
# the mapping: sluice-cni.json's keys merged into the entry, every *.rules installed
printf 'policy drop;\nrule video { allow udp 6001; to 192.0.2.0/24; }\n' > "$TMP/config/tele.rules"
echo '{"rulesBy": [{"namespace": "tele-*", "rules": "/etc/sluice/tele.rules"}]}' > "$TMP/config/sluice-cni.json"
run env
check "every rules file of the ConfigMap installed" cmp -s "$TMP/config/tele.rules" "$H/etc/sluice/tele.rules"
expect_eq "the mapping is in the entry" "$(jq -c '.plugins[] | select(.type == "sluice-cni") | .rulesBy' "$F")" \
	'[{"namespace":"tele-*","rules":"/etc/sluice/tele.rules"}]'
echo '{"rulesBy": [{"namespace": "video-*", "rules": "/etc/sluice/tele.rules"}], "host": "filter"}' > "$TMP/config/sluice-cni.json"
run env
expect_eq "a changed mapping updates the entry in place" \
	"$(jq -c '[.plugins[] | select(.type == "sluice-cni") | [.rulesBy[0].namespace, .host, .mode]]' "$F")" \
	'[["video-*","filter",null]]'
expect_eq "... still after the others" "$(jq -c '.plugins | map(.type)' "$F")" '["bridge","portmap","sluice-cni"]'
rm -f "$TMP/config/sluice-cni.json" "$TMP/config/tele.rules"
HOST=$H sh "$INST" uninstall > "$TMP/out" 2>&1
expect_eq "uninstall removes only the entry" "$(jq -c '.plugins | map(.type)' "$F")" '["bridge","portmap"]'
check "uninstall keeps the binary (pods started with it must still be deleted)" test -x "$H/opt/cni/bin/sluice-cni"
rm -f "$H"/etc/cni/net.d/*.conflist
run env
check "no conflist yet: waits, says so" grep -q "waiting" "$TMP/out"
finish
