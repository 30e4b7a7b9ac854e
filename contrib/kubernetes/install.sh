#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# install.sh - run by the sluice-cni DaemonSet (sluice-cni.yaml) on every node:
# copies the plugin and the pod rules (every *.rules of the ConfigMap) onto the
# node and chains sluice-cni into the node's CNI configuration (the first
# *.conflist in lexical order, the one the container runtime uses), with the
# keys of the ConfigMap's sluice-cni.json (the "rulesBy" mapping, "host", ...)
# merged into its entry; then keeps all of it in place: the primary network
# plugin may rewrite its conflist, the ConfigMap may change.
#   install.sh            install and watch (the DaemonSet's command)
#   install.sh once       install, do not watch (tests)
#   install.sh uninstall  remove the conflist entry (run it on a node by hand;
#                         the binary stays so that pods started with it can be
#                         deleted)
# The entry is never removed when the pod stops: a rolling update must not
# let pods start unfiltered.
set -eu
HOST=${HOST:-/host}
CNI_BIN=${CNI_BIN:-$HOST/opt/cni/bin}
CNI_CONF=${CNI_CONF:-$HOST/etc/cni/net.d}
RULES_SRC=${RULES_SRC:-/config/pods.rules}
RULES_NODE=${RULES_NODE:-/etc/sluice/pods.rules}     # as the node sees it (the default rules)
CONFIG_DIR=${CONFIG_DIR:-$(dirname "$RULES_SRC")}      # every *.rules here goes to /etc/sluice
PLUGIN_CONF=${PLUGIN_CONF:-$CONFIG_DIR/sluice-cni.json} # extra keys of the entry (optional)
PLUGIN=${PLUGIN:-/sluice-cni}
MODE=${SLUICE_MODE:-}                    # "", "enforce" or "audit" (overrides the file's)
INTERVAL=${INTERVAL:-30}

conflist() { ls "$CNI_CONF"/*.conflist 2>/dev/null | sort | head -n 1; }

edit() {   # FILE JQ-FILTER: rewrite FILE atomically
	jq --arg r "$RULES_NODE" --arg m "$MODE" --argjson x "$(extra)" "$2" "$1" > "$1.sluice.tmp" &&
		mv "$1.sluice.tmp" "$1"
}
extra() { if [ -s "$PLUGIN_CONF" ]; then jq -c . "$PLUGIN_CONF"; else echo '{}'; fi; }
# the entry this node should have
ENTRY='{type: "sluice-cni", rules: $r, hook: "tc-ingress"} + (if $m == "" then {} else {mode: $m} end) + $x'

install_once() {
	if ! cmp -s "$PLUGIN" "$CNI_BIN/sluice-cni"; then
		cp "$PLUGIN" "$CNI_BIN/.sluice-cni.tmp" && chmod 0755 "$CNI_BIN/.sluice-cni.tmp"
		mv "$CNI_BIN/.sluice-cni.tmp" "$CNI_BIN/sluice-cni"
		echo "installed $CNI_BIN/sluice-cni"
	fi
	mkdir -p "$HOST$(dirname "$RULES_NODE")"
	if ! cmp -s "$RULES_SRC" "$HOST$RULES_NODE"; then
		cp "$RULES_SRC" "$HOST$RULES_NODE.tmp" && mv "$HOST$RULES_NODE.tmp" "$HOST$RULES_NODE"
		echo "installed $RULES_NODE (new pods get it; running pods keep theirs)"
	fi
	for r in "$CONFIG_DIR"/*.rules; do   # the files "rulesBy" names
		[ -e "$r" ] && [ "$r" != "$RULES_SRC" ] || continue
		n=$HOST$(dirname "$RULES_NODE")/$(basename "$r")
		if ! cmp -s "$r" "$n"; then
			cp "$r" "$n.tmp" && mv "$n.tmp" "$n" && echo "installed ${n#"$HOST"}"
		fi
	done
	f=$(conflist)
	if [ -z "$f" ]; then
		echo "no *.conflist in $CNI_CONF yet (the primary network plugin writes it); waiting"
		return 0
	fi
	if ! jq -e '.plugins | map(.type) | index("sluice-cni")' "$f" > /dev/null; then
		edit "$f" ".plugins += [$ENTRY]"
		echo "chained sluice-cni into $f"
	elif ! jq -e --arg r "$RULES_NODE" --arg m "$MODE" --argjson x "$(extra)" \
		"[.plugins[] | select(.type == \"sluice-cni\")] == [$ENTRY]" "$f" > /dev/null; then
		edit "$f" "(.plugins | map(.type == \"sluice-cni\") | index(true)) as \$i |
			.plugins[\$i] = ($ENTRY) | .plugins |= [foreach .[] as \$p (0; . + (if \$p.type == \"sluice-cni\" then 1 else 0 end);
			if \$p.type != \"sluice-cni\" or . == 1 then \$p else empty end)]"
		echo "updated sluice-cni's entry in $f (new pods get it)"
	fi
}

if [ "${1:-}" = uninstall ]; then
	f=$(conflist)
	[ -n "$f" ] && edit "$f" 'del(.plugins[] | select(.type == "sluice-cni"))' && echo "removed from $f"
	exit 0
fi
if [ "${1:-}" = once ]; then
	install_once
	exit 0
fi
while :; do
	install_once
	sleep "$INTERVAL"
done
