#!/usr/bin/env bash
# A fleet of three "gateways" on this machine, driven by ansible-playbook with
# the role of contrib/ansible (docs/fleet.md): each gateway is a namespace lab
# (scripts/lab.sh) with its own sluice instance on the client's uplink
# (apply --netns), all three in one inventory (connection local; host
# variables name the namespace, the interface and the instance).
#   0. the first rollout creates the three instances (nothing loaded before);
#   1. --check --diff of a good change shows each gateway's plan, changes nothing;
#   2. the good change: all three updated and confirmed, traffic in each lab
#      follows it, /etc (here per gateway under $TMP) names the new rules;
#   3. the same change again: changed=0 on every gateway;
#   4. a bad change that passes `sluice check` but breaks the video pack's
#      requirement: verify fails on the first gateway, which rolls back by
#      itself when its confirm window lapses; the other two never change; the
#      play fails and says why;
#   5. a change that passes verify but fails the site's own check (a probe of
#      the portal): the same stop at the first gateway.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd ip jq socat ansible-playbook
for c in plan verify confirm; do
	if ! "$SLUICE" "$c" --help > /dev/null 2>&1; then
		skip all "needs sluice $c (the plan / apply --confirm / verify contract of issue 21)"
		exit 0
	fi
done

TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
WINDOW=30   # apply -> status, verify, checks, confirm must fit, also on a loaded machine
BADWINDOW=10 # a failing change waits for its window to lapse: shorter, still room to fail first
GWS=(1 2 3)
gid() { echo "${ID}$1"; }              # lab id of gateway N
inst() { echo "fl${ID}$1"; }           # its sluice instance
host() { echo "gw$1-$ID"; }            # its inventory name

# --- the site's policy, three versions, each including the vendor's pack
# --- (video.rules: its rule, and its requirement: tcp 192.0.2.2:8080 allowed)
site() {   # DIR RULES...: site.rules = policy, the pack, then RULES
	mkdir -p "$1"
	{ echo 'policy drop;'; printf '%s\n' "${@:2}"; } > "$1/site.rules"
	cat > "$1/video.rules" <<'PACK'
# the video vendor's pack: what it needs, and the requirement sluice verify tests
rule video { allow tcp 8080; to 192.0.2.2; }
require video-media { allow tcp 8080; to 192.0.2.2; }
PACK
}
site "$TMP/v1" 'include "video.rules";'
site "$TMP/v2" 'include "video.rules";' 'rule portal { allow tcp 8081; to 192.0.2.2; }'
# bad: a site rule above the pack that takes the video's port -- a valid
# ruleset (check warns, exits 0), but the pack's required flow is blocked
site "$TMP/v3" 'rule no-legacy-8080 { deny tcp 8080; to 192.0.2.0/24; }' 'include "video.rules";' \
	'rule portal { allow tcp 8081; to 192.0.2.2; }'
check "setup: the bad change passes sluice check" bash -c "'$SLUICE' check '$TMP/v3/site.rules' > /dev/null 2>&1"

# --- three labs, no sluice yet
for n in "${GWS[@]}"; do
	id=$(gid "$n")
	lab_up "$id" || { fail setup "cannot build the namespace lab $id"; finish; }
	on_exit lab_down "$id"
	on_exit "$SLUICE" detach --all --instance "$(inst "$n")"
	for p in 8080 8081; do
		in_s "$id" socat TCP-LISTEN:$p,fork,reuseaddr,bind=192.0.2.2 EXEC:cat >/dev/null 2>&1 &
	done
done
listening() { local n; for n in "${GWS[@]}"; do
	[ "$(in_s "$(gid "$n")" ss -Hltn 'sport = :8080 or sport = :8081' | wc -l)" -ge 2 ] || return 1; done; }
wait_for 5 listening

tcp_ok() {   # N PORT: a TCP exchange to 192.0.2.2:PORT from gateway N's client
	in_c "$(gid "$1")" timeout 5 socat -T 2 -t 4 - "TCP:192.0.2.2:$2,connect-timeout=2" <<<"ping" 2>/dev/null |
		grep -q ping
}
tcp_fails() { ! tcp_ok "$@"; }
st() {   # N FIELD: a field of the instance in `sluice status --json`
	"$SLUICE" status --json --instance "$(inst "$1")" 2>/dev/null | jq -r ".instances[0].$2"
}

# --- the inventory: one local "host" per gateway
{
	echo "sluice_gateways:"
	echo "  vars:"
	echo "    ansible_connection: local"
	echo "    ansible_python_interpreter: /usr/bin/python3"
	echo "    sluice_install: none"
	echo "    sluice_bin: $SLUICE"
	echo "    sluice_rules_dir: \"{{ site_dir }}\""
	echo "    sluice_rules_file: site.rules"
	echo "    sluice_packs: [video.rules]"
	echo "    sluice_confirm_window: ${WINDOW}s"
	echo "    sluice_rollback_margin: 10"
	echo "  hosts:"
	for n in "${GWS[@]}"; do
		id=$(gid "$n")
		echo "    $(host "$n"):"
		echo "      sluice_instance: $(inst "$n")"
		echo "      sluice_netns: sl-$id-c"
		echo "      sluice_interfaces: [slc$id]"
		echo "      sluice_etc_dir: $TMP/gw$n/etc"
		echo "      sluice_stage_dir: $TMP/gw$n/stage"
		# the site's own checks: the video service and the portal answer from the LAN
		echo "      sluice_checks:"
		for p in 8080 8081; do
			echo "        - echo ping | timeout 5 ip netns exec sl-$id-c socat -T 2 - TCP:192.0.2.2:$p,connect-timeout=2 | grep -q ping"
		done
	done
} > "$TMP/inventory.yml"

export ANSIBLE_HOME=$TMP/ansible ANSIBLE_LOCAL_TEMP=$TMP/ansible/tmp ANSIBLE_REMOTE_TMP=$TMP/ansible/rtmp
export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCALHOST_WARNING=0
export ANSIBLE_DEPRECATION_WARNINGS=0 ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_PIPELINING=1
export ANSIBLE_CONFIG=$ROOT/contrib/ansible/ansible.cfg
play() {   # OUT SITE-DIR [ARGS...]: run the example playbook, its output in OUT
	local out=$1 dir=$2; shift 2
	ansible-playbook -i "$TMP/inventory.yml" "$ROOT/contrib/ansible/site.yml" \
		-e "site_dir=$dir" "$@" > "$out" 2>&1
}
recap() {   # OUT N KEY: a number from gateway N's line of the play recap
	sed -n "s/^$(host "$2") *: .*\b$3=\([0-9]*\).*/\1/p" "$1"
}

# --- 0. the first rollout: v1 on gateways that run no sluice yet (no site
# --- checks: the portal is not open yet)
T_PREFIX="fleet/first/"
play "$TMP/first.out" "$TMP/v1" -e '{"sluice_checks": []}'
rc=$?
expect_eq "ansible-playbook exits 0" "$rc" 0
[ "$rc" -eq 0 ] || sed 's/^/    /' "$TMP/first.out" | tail -40
for n in "${GWS[@]}"; do
	gen0[$n]=$(st "$n" generation)
	expect_eq "gateway $n: instance created and confirmed (generation, pending)" \
		"${gen0[$n]} $(st "$n" pending_confirm)" "1 null"
	check "gateway $n: tcp 8080 passes (video)" tcp_ok "$n" 8080
	check "gateway $n: tcp 8081 dropped (no portal rule yet)" tcp_fails "$n" 8081
done

# --- 1. --check --diff: each gateway's plan, nothing changed
T_PREFIX="fleet/check/"
play "$TMP/check.out" "$TMP/v2" --check --diff -e sluice_serial=100%
expect_eq "ansible-playbook --check --diff exits 0" "$?" 0
for n in "${GWS[@]}"; do
	check "gateway $n: the diff shows sluice plan of its instance" \
		grep -q "sluice plan .* --instance $(inst "$n") (on $(host "$n"))" "$TMP/check.out"
	expect_eq "gateway $n: generation unchanged" "$(st "$n" generation)" "${gen0[$n]}"
	check "gateway $n: its /etc still holds the old rules" \
		cmp -s "$TMP/v1/site.rules" "$TMP/gw$n/etc/$(inst "$n")/site.rules"
done
check "the plan names the added rule portal" grep -q 'portal' "$TMP/check.out"
check "port 8081 still dropped on gateway 1" tcp_fails 1 8081

# --- 2. the good change, gateway after gateway
T_PREFIX="fleet/rollout/"
play "$TMP/good.out" "$TMP/v2"
rc=$?
expect_eq "ansible-playbook exits 0" "$rc" 0
[ "$rc" -eq 0 ] || sed 's/^/    /' "$TMP/good.out" | tail -40
for n in "${GWS[@]}"; do
	gen1[$n]=$(st "$n" generation)
	check "gateway $n: a new generation (${gen0[$n]} -> ${gen1[$n]})" test "${gen1[$n]}" -gt "${gen0[$n]}"
	expect_eq "gateway $n: confirmed (nothing pending)" "$(st "$n" pending_confirm)" null
	check "gateway $n: tcp 8081 passes (the new rule)" tcp_ok "$n" 8081
	check "gateway $n: tcp 8080 passes (video)" tcp_ok "$n" 8080
	expect_ge "gateway $n: the recap counts changes" "$(recap "$TMP/good.out" "$n" changed)" 1
	check "gateway $n: the confirmed rules are under its /etc" \
		cmp -s "$TMP/v2/site.rules" "$TMP/gw$n/etc/$(inst "$n")/site.rules"
	check "gateway $n: the unit configuration names them" \
		grep -qx "RULES=$TMP/gw$n/etc/$(inst "$n")/site.rules" "$TMP/gw$n/etc/$(inst "$n").conf"
done
digest2=$(st 1 digest)
check "all three run the same ruleset (digest $digest2)" \
	test -n "$digest2" -a "$(st 2 digest)" = "$digest2" -a "$(st 3 digest)" = "$digest2"
check "the metrics carry the digest (sluice_ruleset_info)" bash -c \
	"'$SLUICE' stats --format prometheus --instance '$(inst 3)' | grep -q 'sluice_ruleset_info{sluice_instance=\"$(inst 3)\",.*digest=\"$digest2\"} 1'"

# --- 3. the same change again: nothing to do
T_PREFIX="fleet/idempotent/"
play "$TMP/again.out" "$TMP/v2"
expect_eq "ansible-playbook exits 0" "$?" 0
for n in "${GWS[@]}"; do
	expect_eq "gateway $n: changed=0 in the recap" "$(recap "$TMP/again.out" "$n" changed)" 0
	check "gateway $n: the play says it runs this policy already" \
		grep -q "$(host "$n"): instance $(inst "$n") runs this policy already (sluice plan: no change)" "$TMP/again.out"
	expect_eq "gateway $n: generation unchanged" "$(st "$n" generation)" "${gen1[$n]}"
done

# --- 4. a bad change: stopped at the first gateway, rolled back there
T_PREFIX="fleet/bad/"
t0=$(date +%s)
play "$TMP/bad.out" "$TMP/v3" -e sluice_confirm_window=${BADWINDOW}s
rc=$?
t1=$(date +%s)
check "ansible-playbook fails (exit $rc)" test "$rc" -ne 0
check "the play says verify failed on gateway 1 and names the requirement" \
	grep -q "$(host 1) (instance $(inst 1)) failed verify.*video-media" "$TMP/bad.out"
check "the play says gateway 1 was rolled back" grep -q "sluice rolled it back when the confirm window lapsed, it runs the ruleset it ran before (generation ${gen1[1]}, digest $digest2)" "$TMP/bad.out"
expect_eq "gateway 1: failed=1 in the recap" "$(recap "$TMP/bad.out" 1 failed)" 1
for n in 2 3; do
	check "gateway $n: not in the recap (never run)" bash -c "! grep -q '^$(host "$n") ' '$TMP/bad.out'"
	expect_eq "gateway $n: generation unchanged" "$(st "$n" generation)" "${gen1[$n]}"
	expect_eq "gateway $n: ruleset unchanged" "$(st "$n" digest)" "$digest2"
done
expect_eq "gateway 1: back on the good ruleset" "$(st 1 digest)" "$digest2"
expect_eq "gateway 1: nothing pending" "$(st 1 pending_confirm)" null
rb=$("$SLUICE" status --json --instance "$(inst 1)" | jq -r '.instances[0].rolled_back | "\(.generation) \(.at)"')
expect_eq "gateway 1: status says the bad generation was rolled back" "${rb%% *}" $((gen1[1] + 1))
rbt=$(date -d "${rb#* }" +%s 2>/dev/null || echo 0)
check "gateway 1: rolled back within its window (at +$((rbt - t0)) s of the play; window ${BADWINDOW}s, play $((t1 - t0)) s)" \
	test "$rbt" -ge $((t0 + BADWINDOW)) -a "$rbt" -le $((t0 + BADWINDOW + 30))
check "gateway 1: tcp 8080 passes again (video)" tcp_ok 1 8080
check "gateway 1: its /etc still holds the good rules" \
	cmp -s "$TMP/v2/site.rules" "$TMP/gw1/etc/$(inst 1)/site.rules"

# --- 5. a change that passes verify but fails the site's own check (the
# --- portal's rule dropped): the same stop, for another reason
T_PREFIX="fleet/check-fails/"
gen2=$(st 1 generation)
play "$TMP/bad2.out" "$TMP/v1" -e sluice_confirm_window=${BADWINDOW}s
rc=$?
check "ansible-playbook fails (exit $rc)" test "$rc" -ne 0
check "the play says the site's check failed on gateway 1 (the portal probe)" \
	grep -q "$(host 1) (instance $(inst 1)) failed the site's checks: .*:8081.* -- sluice rolled it back when the confirm window lapsed" "$TMP/bad2.out"
expect_eq "gateway 1: back on the good ruleset" "$(st 1 digest)" "$digest2"
expect_eq "gateway 1: the rolled-back generation is the one applied" \
	"$(st 1 rolled_back.generation)" $((gen2 + 1))
for n in 2 3; do
	expect_eq "gateway $n: generation unchanged" "$(st "$n" generation)" "${gen1[$n]}"
done
check "gateway 1: tcp 8081 passes again (portal)" tcp_ok 1 8081
finish
