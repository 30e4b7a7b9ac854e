#!/usr/bin/env bash
# The Debian package (make deb-check; .ci/run): linted, installed with dpkg -i
# into this machine's /, used as an operator would (check a shipped pack, man,
# completion, --version), an upgrade under traffic, then purged with no file
# left.  Root.  On a machine where sluice is installed already (by a package
# or by hand into /usr), it skips rather than replace someone's sluice; on
# failure the cleanup still detaches, purges and removes what it made.
#
# The upgrade: the release before pin layouts (ceb16c2, built from git
# history by tests/tools/old-release.sh; it has no debian/ to build a
# package from, so its binary is "the installed sluice") runs as the unit
# runs it (`sluice run`), enforcing in a namespace lab under paced allowed and
# denied traffic; the package is installed and the unit's restart done as
# systemd does it here without being PID 1 (SIGTERM, then the installed
# unit's ExecStart under its capability set): not one allowed datagram lost,
# none denied passes, the counters carried, status true throughout.  Then the
# package is installed again over itself (a package upgrade) while the
# instance runs: it keeps enforcing.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd dpkg lintian man ip jq setpriv
DEB=${1:-}
[ -f "$DEB" ] || { fail "the package" "no .deb given (make deb-check builds it)"; finish; }
if dpkg-query -W -f='${Status}' sluice 2>/dev/null | grep -q installed ||
   [ -e /usr/sbin/sluice ] || [ -e /usr/lib/cni/sluice-cni ]; then
	skip all "sluice is installed on this machine already: not replacing it"
	exit 0
fi
TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
id=${ID}p
inst=pk$id
NEW=$ROOT/build/sluice
UPGRADE_FROM=${UPGRADE_FROM:-ceb16c2}     # main before layout versions (layout 3)
OLD=$("$ROOT/tests/tools/old-release.sh" "$UPGRADE_FROM" 2> "$TMP/old.err")
[ $? -eq 1 ] && fail "build $UPGRADE_FROM" "$(tail -5 "$TMP/old.err")"

# lint: no error, no warning (overrides only with a reason: debian/*.lintian-overrides)
changes=${DEB%.deb}.changes
lintian --pedantic "$changes" > "$TMP/lintian" 2>&1
expect_eq "lintian: no error and no warning" "$(grep -E '^[EW]: ' "$TMP/lintian" | tr '\n' ';')" ""
check "the package: Rules-Requires-Root: no, debhelper compat 13" \
	grep -q '^Rules-Requires-Root: no' "$ROOT/debian/control"
check "the package depends on the libraries it links (shlibs)" \
	bash -c "dpkg-deb -f '$DEB' Depends | grep -q libbpf"

# install
on_exit dpkg --purge sluice
dpkg -i "$DEB" > "$TMP/dpkg.out" 2>&1 || { fail "dpkg -i" "$(tail -5 "$TMP/dpkg.out")"; finish; }
pass "dpkg -i installs the package"
quiet() { "$@" > /dev/null 2>&1; }
check "/usr/sbin/sluice check /usr/share/sluice/rules/securevideo.rules" \
	quiet /usr/sbin/sluice check /usr/share/sluice/rules/securevideo.rules
check "/usr/sbin/sluice check /etc/sluice/site.rules (the conffile)" quiet /usr/sbin/sluice check /etc/sluice/site.rules
check "the conffiles are under /etc" bash -c "dpkg-query -W -f='\${Conffiles}' sluice | grep -q /etc/sluice/site.rules"
check "sluice-cni in the CNI plugin directory" test -x /usr/lib/cni/sluice-cni
expect_eq "man -w sluice sluice.rules sluice-cni" "$(man -w sluice sluice.rules sluice-cni | tr '\n' ' ')" \
	"/usr/share/man/man8/sluice.8.gz /usr/share/man/man5/sluice.rules.5.gz /usr/share/man/man8/sluice-cni.8.gz "
check "the completion loads in bash (bash-completion's loader)" bash -c \
	'source /usr/share/bash-completion/bash_completion; _completion_loader sluice; complete -p sluice | grep -q _sluice'
v=$(/usr/sbin/sluice --version)
expect_eq "--version names the commit it was built from" "$(sed -n 's/^commit //p' <<<"$v")" \
	"$(cd "$ROOT" && c=$(git rev-parse --short=12 HEAD); git diff --quiet HEAD || c=$c-dirty; echo "$c")"
# the layout this tree writes (user/kernel/kernel.h), so that a new layout needs no edit here
LAYOUT=$(sed -n 's/^#define SL_LAYOUT_VERSION *\([0-9][0-9]*\).*/\1/p' "$ROOT/user/kernel/kernel.h")
check "--version: pin layout $LAYOUT" grep -q "^pin layout $LAYOUT " <<<"$v"
UNIT=/lib/systemd/system/sluice@.service
check "the unit is installed" test -f "$UNIT"

# the upgrade, under traffic
if [ ! -x "$OLD" ]; then
	skip "upgrade from the release before pin layouts" "$(cat "$TMP/old.err")"
else
	lab_up "$id" || { fail setup "cannot build the lab"; finish; }
	on_exit lab_down "$id"
	on_exit "$NEW" detach --all --instance "$inst"
	cat > "$TMP/rules" <<-'RULES'
	policy drop;
	rule video { allow udp 6000; to 192.0.2.2; }
	RULES
	RULES=$TMP/rules
	ARGS="--dev slc$id --netns sl-$id-c"
	# the unit's ExecStart under its capability set (as tests/e2e/systemd.sh)
	start_unit() {   # SLUICE-BINARY
		local caps bset=-all c
		caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")
		for c in $caps; do bset+=",+${c#CAP_}"; done
		# shellcheck disable=SC2086
		setpriv --inh-caps=-all --ambient-caps=-all --bounding-set="${bset,,}" --no-new-privs -- \
			"$1" run "$RULES" --instance "$inst" $ARGS 2>> "$TMP/run.log" &
		MAIN=$!
	}
	gen_is() { [ "$("$NEW" status --json --instance "$inst" 2>/dev/null | jq '.instances[0].generation')" = "$1" ]; }
	wait_for() { local n=$(( $1 * 10 )); shift; for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done; return 1; }
	start_unit "$OLD"
	on_exit kill "$MAIN"
	check "the old release runs as the unit (sluice run)" wait_for 10 gen_is 1
	expect_eq "the old release's instance has layout 3" \
		"$("$NEW" status --json --instance "$inst" | jq '.instances[0].layout')" 3

	N=3000
	for p in 6000 6001; do
		in_s "$id" "$SLUDP" recv 192.0.2.2 $p 1500 "$TMP/ready$p" > "$TMP/recv$p" 2>/dev/null &
		eval "rpid$p=\$!"
	done
	for _ in $(seq 100); do [ -e "$TMP/ready6000" ] && [ -e "$TMP/ready6001" ] && break; sleep 0.05; done
	in_c "$id" "$SLUDP" send 192.0.2.2 6000 $N 1000 > /dev/null 2>&1 &
	s1=$!
	in_c "$id" "$SLUDP" send 192.0.2.2 6001 $N 1000 > /dev/null 2>&1 &
	s2=$!
	( while kill -0 "$s1" 2>/dev/null; do
		"$NEW" status --instance "$inst" > /dev/null 2>>"$TMP/status.err" || echo bad
		sleep 0.05
	  done > "$TMP/status.bad" ) &
	poll=$!
	sleep 0.3
	# the package upgrade: dpkg -i of the new package over the old sluice, then
	# the unit's restart: stop (SIGTERM; the filter stays), start the installed one
	dpkg -i "$DEB" > "$TMP/dpkg2.out" 2>&1 || fail "dpkg -i over the running instance" "$(tail -3 "$TMP/dpkg2.out")"
	kill -TERM "$MAIN"
	wait "$MAIN"
	start_unit /usr/sbin/sluice
	on_exit kill "$MAIN"
	check "the restarted unit (the package's sluice run) took over: generation 2" wait_for 10 gen_is 2
	sleep 0.5
	# the package installed over itself while its instance runs
	dpkg -i "$DEB" > "$TMP/dpkg3.out" 2>&1 || fail "dpkg -i again (a package upgrade)" "$(tail -3 "$TMP/dpkg3.out")"
	wait "$s1" "$s2" "$poll" "$rpid6000" "$rpid6001"
	expect_eq "upgrade under traffic: not one allowed datagram lost" "$(awk '{print $4}' "$TMP/recv6000")" "$N"
	expect_eq "upgrade under traffic: not one denied datagram through" "$(awk '{print $2}' "$TMP/recv6001")" 0
	expect_eq "upgrade under traffic: status true throughout" "$(grep -c bad "$TMP/status.bad")" 0
	stats=$("$NEW" stats --json --instance "$inst")
	expect_eq "upgrade: counters carried over (video passed all $N)" "$(rule_stat "$stats" video pass_packets)" "$N"
	expect_eq "upgrade: layout $LAYOUT after the takeover" \
		"$("$NEW" status --json --instance "$inst" | jq '.instances[0].layout')" "$LAYOUT"
	kill -TERM "$MAIN"
	wait "$MAIN"
	"$NEW" detach --all --instance "$inst" > /dev/null 2>&1
fi

# purge: nothing left but what the operator wrote under /etc
files=$(dpkg-query -L sluice | while read -r f; do [ -f "$f" ] && echo "$f"; done)
mkdir -p /var/log/sluice /var/lib/sluice          # as the unit's LogsDirectory, StateDirectory
echo '{}' > /var/log/sluice/$inst.jsonl
echo 'RULES=/etc/sluice/site.rules' > "/etc/sluice/$inst.conf"     # the operator's
on_exit rmdir /etc/sluice
on_exit rm -f "/etc/sluice/$inst.conf"
dpkg --purge sluice > "$TMP/purge.out" 2>&1 || fail "dpkg --purge" "$(tail -3 "$TMP/purge.out")"
left=$(for f in $files; do [ -e "$f" ] && echo "$f"; done; for d in /var/log/sluice /var/lib/sluice; do [ -e "$d" ] && echo "$d"; done)
expect_eq "dpkg --purge: no file of the package left, nor its log and state directories" "$(echo $left)" ""
check "dpkg --purge: the operator's /etc/sluice/$inst.conf stays" test -f "/etc/sluice/$inst.conf"
check "dpkg --purge: the package is gone" bash -c '! dpkg-query -W -f="\${Status}" sluice 2>/dev/null | grep -q installed'
finish
