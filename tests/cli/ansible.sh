#!/usr/bin/env bash
# The Ansible role of contrib/ansible without root or a kernel: the example
# playbook and inventory parse, every variable of the role is documented,
# and the plan task (action_plugins/sluice_plan.py) turns `sluice plan`'s exit
# status into Ansible's: 0 ok, 3 changed (the
# plan as the task's diff under --diff), anything else a failure with
# sluice's message.  A stub stands in for sluice here; tests/e2e/fleet.sh
# runs the role against real instances.
source "$(dirname "$0")/../lib.sh"
need_cmd ansible-playbook ansible-inventory jq
A=$ROOT/contrib/ansible
TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
export ANSIBLE_HOME=$TMP/ansible ANSIBLE_LOCAL_TEMP=$TMP/ansible/tmp ANSIBLE_REMOTE_TMP=$TMP/ansible/rtmp
export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCALHOST_WARNING=0
export ANSIBLE_DEPRECATION_WARNINGS=0 ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_PIPELINING=1
export ANSIBLE_CONFIG=$A/ansible.cfg

check "site.yml with inventory.example.yml passes --syntax-check" \
	bash -c "ansible-playbook -i '$A/inventory.example.yml' '$A/site.yml' --syntax-check > '$TMP/out' 2>&1"
expect_eq "inventory.example.yml: four gateways" \
	"$(ansible-inventory -i "$A/inventory.example.yml" --list 2>/dev/null | jq -r '._meta.hostvars | keys | length')" 4
for v in $(grep -o '^sluice_[a-z_]*' "$A/roles/sluice/defaults/main.yml"); do
	check "variable $v is documented in contrib/ansible/README.md" grep -q "| \`$v\` |" "$A/README.md"
done
check "site.yml stops at the first failure (max_fail_percentage: 0, any_errors_fatal)" \
	bash -c "grep -q '^  max_fail_percentage: 0$' '$A/site.yml' && grep -q '^  any_errors_fatal: true$' '$A/site.yml'"

# a stub sluice: plan exits with $PLAN_RC of its instance's name (p0, p3, p2)
cat > "$TMP/sluice" <<'EOF'
#!/bin/sh
[ "$1" = plan ] || exit 0
case "$4" in
p0) echo "plan: no change"; exit 0 ;;
p3) echo "  + rule portal (allow tcp 8081; 1 destinations) at position 2"; exit 3 ;;
*) echo "$2:2:1: error: unknown statement 'rul'" >&2; exit 2 ;;
esac
EOF
chmod +x "$TMP/sluice"
mkdir -p "$TMP/site"
echo 'policy drop;' > "$TMP/site/site.rules"
{
	echo "all:"
	echo "  vars: { ansible_connection: local, ansible_python_interpreter: /usr/bin/python3,"
	echo "          sluice_install: none, sluice_bin: $TMP/sluice, sluice_rules_dir: $TMP/site,"
	echo "          sluice_interfaces: [eth0], sluice_unit_config: false }"
	echo "  hosts:"
	for p in p0 p3 p2; do
		echo "    gw-$p: { sluice_instance: $p, sluice_etc_dir: $TMP/$p/etc, sluice_stage_dir: $TMP/$p/stage }"
	done
	# a gateway where the binary is not installed yet
	echo "    gw-p4: { sluice_instance: p4, sluice_etc_dir: $TMP/p4/etc, sluice_stage_dir: $TMP/p4/stage,"
	echo "             sluice_install: binary, sluice_binary_src: $TMP/sluice, sluice_bin: $TMP/p4/bin/sluice }"
} > "$TMP/inventory.yml"
ansible-playbook -i "$TMP/inventory.yml" "$A/site.yml" -e sluice_hosts=all -e sluice_serial=100% \
	--check --diff > "$TMP/out" 2>&1
expect_eq "--check with a plan that fails: the play fails" "$?" 2
check "plan exit 0: ok" bash -c "sed -n '/TASK \[sluice : plan:/,/^\$/p' '$TMP/out' | grep -q '^ok: \[gw-p0\]'"
check "plan exit 3: changed, the plan shown as the diff" \
	bash -c "grep -B3 '^changed: \[gw-p3\]' '$TMP/out' | grep -q '+ rule portal' &&
		grep -q 'sluice plan $TMP/p3/stage/site.rules --instance p3 (on gw-p3):' '$TMP/out'"
check "plan exit 2: failed with sluice's message" \
	grep -q "fatal: \[gw-p2\]: FAILED! .*sluice plan exited 2: $TMP/p2/stage/site.rules:2:1: error: unknown statement 'rul'" "$TMP/out"
check "no sluice installed yet: --check says so instead of planning" \
	grep -q "gw-p4: sluice is not installed yet; the real run installs it and adds instance p4 with every rule" "$TMP/out"
check "--check installed nothing" test ! -e "$TMP/p4/bin/sluice"
check "--check wrote nothing under /etc" bash -c "! ls '$TMP'/p*/etc > /dev/null 2>&1"
[ "$T_FAILED" -eq 0 ] || sed 's/^/    /' "$TMP/out" | tail -30
finish
