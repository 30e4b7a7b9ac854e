#!/usr/bin/env bash
# The systemd unit sluice@.service as `make install` installs it: it verifies
# with systemd-analyze, and its ExecStart and ExecReload lines, run
# as systemd would run them (EnvironmentFile, %i, ${RULES} one word, $ARGS
# split, $MAINPID), attach and replace a ruleset in a namespace lab:
# ExecStart is `sluice run` (Type=notify: it stays in the foreground),
# ExecReload sends it SIGHUP; stop (SIGTERM) keeps the filter, and a restart
# under traffic lets no denied datagram through (issue 11 item 9).
# Hardened (issue 22): systemd-analyze security --offline=true scores the
# unit at 3.0 or lower, and ExecStart runs with the unit's capability
# bounding set and NoNewPrivileges (setpriv), as systemd would run it.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd ip jq make

TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
P=$TMP/prefix
id=${ID}u
inst=unit$id

make -s -C "$ROOT" install PREFIX="$P" CNIDIR="$P/lib/cni" > "$TMP/install.out" 2>&1 ||
	{ fail "make install" "$(tail -5 "$TMP/install.out")"; finish; }
UNIT=$P/lib/systemd/system/sluice@.service
check "make install: binary and unit installed" test -x "$P/sbin/sluice" -a -f "$UNIT"
check "make install: the CNI plugin, man pages, completion, rule packs (README, Install)" \
	test -x "$P/lib/cni/sluice-cni" -a -f "$P/share/man/man8/sluice.8" -a -f "$P/share/man/man5/sluice.rules.5" \
	-a -f "$P/share/man/man8/sluice-cni.8" -a -f "$P/share/bash-completion/completions/sluice" \
	-a -f "$P/share/sluice/rules/securevideo.rules"
if command -v systemd-analyze >/dev/null; then
	# (its Documentation= names man pages: the installed ones)
	check "systemd-analyze verify accepts the unit" env MANPATH="$P/share/man" systemd-analyze verify "$UNIT"
	score=$(systemd-analyze security --offline=true "$UNIT" 2>&1 |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 3.0) }'; then
		pass "systemd-analyze security: exposure $score <= 3.0"
	else
		fail "systemd-analyze security: exposure <= 3.0" "got '${score:-no score}'"
	fi
else
	skip "systemd-analyze verify" "systemd-analyze is not installed"
fi

lab_up "$id" || { fail setup "cannot build the lab"; finish; }
on_exit lab_down "$id"
on_exit "$P/sbin/sluice" detach --all --instance "$inst"
cat > "$TMP/rules" <<'RULES'
policy drop;
rule web { allow udp 6000; to 192.0.2.2; }
RULES
cat > "$TMP/$inst.conf" <<CONF
RULES=$TMP/rules
ARGS=--dev slc$id --netns sl-$id-c
CONF

# Run a unit's Exec line the way systemd does, with the conf file's variables.
exec_line() {   # KEY: in the caller's (sub)shell, which the command replaces
	local line
	line=$(sed -n "s/^$1=//p" "$UNIT")
	line=${line//%i/$inst}
	# EnvironmentFile: KEY=VALUE, the value verbatim (spaces included)
	while IFS='=' read -r k v; do [ -n "$k" ] && export "$k=$v"; done < "$TMP/$inst.conf"
	line=${line//\$\{RULES\}/\"$RULES\"}
	[ "$1" = ExecStart ] && line="$HARDEN $line"
	eval "exec $line"
}
run_exec() { ( exec_line "$1" ); }
# The unit's capabilities and NoNewPrivileges, as systemd applies them to a
# root service: the bounding set is all the process can ever have.
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")
bset=-all
for c in $caps; do bset+=",+${c#CAP_}"; done
HARDEN="setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=${bset,,}"
grep -q '^NoNewPrivileges=yes' "$UNIT" && HARDEN+=" --no-new-privs"
HARDEN+=" --"
check "the unit names its capabilities (CapabilityBoundingSet)" test -n "$caps"
check "the unit sets NoNewPrivileges, ProtectSystem=strict, StateDirectory, LogsDirectory" \
	bash -c "grep -q '^NoNewPrivileges=yes' '$UNIT' && grep -q '^ProtectSystem=strict' '$UNIT' &&
		 grep -q '^StateDirectory=sluice' '$UNIT' && grep -q '^LogsDirectory=sluice' '$UNIT'"
gen_is() { [ "$("$P/sbin/sluice" status --json --instance "$inst" 2>/dev/null | jq '.instances[0].generation')" = "$1" ]; }
wait_for() { local n=$(( $1 * 10 )); shift; for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done; return 1; }
check "the unit runs sluice run (Type=notify)" grep -q '^Type=notify' "$UNIT"
exec_line ExecStart 2> "$TMP/run.log" &     # the background subshell becomes sluice run
MAINPID=$!
on_exit kill "$MAINPID"
export MAINPID
check "ExecStart attaches and stays in the foreground" wait_for 10 gen_is 1
check "ExecStart: sluice run is running" kill -0 "$MAINPID"
expect_eq "status: attached to slc$id" \
	"$("$P/sbin/sluice" status --json --instance "$inst" | jq -r '.instances[0].attachments[0].dev')" "slc$id"
ready=$TMP/ready
in_s "$id" "$SLUDP" recv 192.0.2.2 6001 300 "$ready" > "$TMP/recv" 2>/dev/null &
rpid=$!
for _ in $(seq 50); do [ -e "$ready" ] && break; sleep 0.05; done
in_c "$id" "$SLUDP" send 192.0.2.2 6001 10 >/dev/null 2>&1
wait "$rpid"
expect_eq "the unit's ruleset filters: udp 6001 dropped" "$(awk '{print $2}' "$TMP/recv")" 0
check "ExecReload (SIGHUP to the main PID)" run_exec ExecReload
check "after reload: generation 2" wait_for 10 gen_is 2
# stop keeps enforcing; restart (stop + start) and reload never leave a window
check "the unit has no ExecStop: stop keeps the filter (documented choice)" bash -c "! grep -q '^ExecStop=' '$UNIT'"
ready=$TMP/ready2
in_s "$id" "$SLUDP" recv 192.0.2.2 6001 1500 "$ready" > "$TMP/recv" 2>/dev/null &
rpid=$!
for _ in $(seq 50); do [ -e "$ready" ] && break; sleep 0.05; done
in_c "$id" "$SLUDP" send 192.0.2.2 6001 400 5000 >/dev/null 2>&1 &     # 2 s of denied datagrams
spid=$!
sleep 0.2
# systemd's stop: the unit's ExecStop (if it has one), then SIGTERM to the main PID
grep -q '^ExecStop=' "$UNIT" && run_exec ExecStop
kill -TERM "$MAINPID"
wait "$MAINPID"
expect_eq "SIGTERM (systemd's stop): sluice run exits 0" "$?" 0
check "after stop the instance still filters" gen_is 2
exec_line ExecStart 2>> "$TMP/run.log" &    # systemd's start: the restart's second half
MAINPID=$!
on_exit kill "$MAINPID"
check "restart: the new sluice run replaced the ruleset (generation 3)" wait_for 10 gen_is 3
wait "$spid"
wait "$rpid"
expect_eq "restart under traffic: not one denied datagram passed (no window)" "$(awk '{print $2}' "$TMP/recv")" 0
kill -TERM "$MAINPID"
wait "$MAINPID"
finish
