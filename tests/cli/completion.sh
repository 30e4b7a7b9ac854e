#!/usr/bin/env bash
# The bash completion (user/cli/sluice.bash; installed as
# /usr/share/bash-completion/completions/sluice), loaded in bash with
# bash-completion as a user's shell loads it, no root: commands, each
# command's options (from its --help), option values, instance names (from a
# pin root given by SLUICE_PIN_ROOT), interfaces.
source "$(dirname "$0")/../lib.sh"
BC=/usr/share/bash-completion/bash_completion
[ -r "$BC" ] || { skip all "needs bash-completion (scripts/install-deps installs it)"; exit 0; }
TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
mkdir -p "$TMP/pins/wan" "$TMP/pins/lan0" "$TMP/bin"
ln -s "$SLUICE" "$TMP/bin/sluice"

# complete "WORDS...": what <TAB> offers after them (the last word is the one completed)
complete_words() {
	PATH=$TMP/bin:$PATH SLUICE_PIN_ROOT=$TMP/pins bash -c '
		source "$1"; source "$2"; shift 2
		COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_sluice sluice "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$BC" "$ROOT/user/cli/sluice.bash" "$@"
}
has() { local want=$1; shift; grep -qx -- "$want" <<<"$(complete_words "$@")"; }

check "completion loads in bash with bash-completion" \
	bash -c "source $BC && source $ROOT/user/cli/sluice.bash && complete -p sluice | grep -q _sluice"
check "commands: sluice ap<TAB> -> apply" has apply sluice ap
check "commands: every command of sluice --help" \
	test "$(complete_words sluice "" | wc -l)" -eq "$("$SLUICE" --help | awk '/^commands:/{on=1;next} on && /^  [a-z]/' | wc -l)"
check "options: sluice apply --ho<TAB> -> --hook" has --hook sluice apply --ho
check "options: sluice run --met<TAB> -> --metrics" has --metrics sluice run /etc/x --met
check "options: sluice run --d<TAB> -> --dev (apply's options)" has --dev sluice run /etc/x --d
check "option values: --hook x<TAB> -> xdp" has xdp sluice apply f --hook x
check "option values: stats --format p<TAB> -> prometheus" has prometheus sluice stats --format p
check "instances: status --instance w<TAB> -> wan (from the pins)" has wan sluice status --instance w
check "instances: -i <TAB> lists both" test "$(complete_words sluice stats -i "" | tr '\n' ' ')" = "lan0 wan "
check "interfaces: apply --dev l<TAB> -> lo" has lo sluice apply f --dev l
touch "$TMP/site.rules"
check "files: sluice check <TAB> completes a rules file" has "$TMP/site.rules" sluice check "$TMP/site"
finish
