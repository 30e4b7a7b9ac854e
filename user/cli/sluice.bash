# bash completion for sluice(8)                    -*- shell-script -*-
# SPDX-License-Identifier: GPL-2.0-only
# Commands and options come from `sluice --help` and `sluice COMMAND --help`
# (so they are never out of date); instance names from the pins
# (/sys/fs/bpf/sluice, readable by root), interfaces from /sys/class/net or,
# after --netns NAME, from `ip -n NAME link`; files for rules, logs, pcap.

_sluice_instances()
{
	local root=${SLUICE_PIN_ROOT:-/sys/fs/bpf/sluice} d
	for d in "$root"/*/; do
		[ -d "$d" ] && d=${d%/} && printf '%s\n' "${d##*/}"
	done 2>/dev/null
}

_sluice_ifaces()
{
	local ns=$1
	if [ -n "$ns" ]; then
		ip -n "$ns" -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'
	else
		ls /sys/class/net 2>/dev/null
	fi
}

_sluice()
{
	local cur prev words cword
	_init_completion || return

	local sluice=${words[0]} cmd="" i ns=""
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-*) ;;
		*) if [ -z "$cmd" ]; then cmd=${words[i]}; fi ;;
		esac
		if [[ ${words[i]} == -n || ${words[i]} == --netns ]] && ((i + 1 < cword)); then
			[[ $cmd == gc || $cmd == top ]] || ns=${words[i + 1]}
		fi
	done

	if [ -z "$cmd" ]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--help --version' -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$("$sluice" --help 2>/dev/null |
				awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }')" -- "$cur"))
		fi
		return
	fi

	case $prev in
	-i | --instance)
		COMPREPLY=($(compgen -W "$(_sluice_instances)" -- "$cur")); return ;;
	-d | --dev)
		[[ $cmd == gc ]] || { COMPREPLY=($(compgen -W "$(_sluice_ifaces "$ns")" -- "$cur")); return; } ;;
	--netns)
		COMPREPLY=($(compgen -W "$(ls /run/netns 2>/dev/null)" -- "$cur")); return ;;
	-n)
		case $cmd in
		apply | run | detach) COMPREPLY=($(compgen -W "$(ls /run/netns 2>/dev/null)" -- "$cur")); return ;;
		esac ;;
	--hook)
		COMPREPLY=($(compgen -W 'tc-egress tc-ingress xdp cgroup' -- "$cur")); return ;;
	--direction)
		COMPREPLY=($(compgen -W 'outbound inbound' -- "$cur")); return ;;
	--tc-mode)
		COMPREPLY=($(compgen -W 'auto tcx clsact' -- "$cur")); return ;;
	--xdp-mode)
		COMPREPLY=($(compgen -W 'auto native generic' -- "$cur")); return ;;
	-f | --format)
		[[ $cmd == stats ]] && { COMPREPLY=($(compgen -W 'text json prometheus' -- "$cur")); return; } ;;
	--verdict)
		COMPREPLY=($(compgen -W 'drop audit-drop pass' -- "$cur")); return ;;
	--cgroup | --feed-dir)
		_filedir -d; return ;;
	-r | --rules | --log-file | --pcap | --from)
		_filedir; return ;;
	--metrics | --dns-floor | --dns-grace | -w | --window | --limit | --dst | --rule)
		return ;;
	esac

	if [[ $cur == -* ]]; then
		local of=$cmd
		[[ $cmd == run ]] && of="run apply"       # run takes every option of apply
		COMPREPLY=($(compgen -W "$(for c in $of; do "$sluice" "$c" --help 2>/dev/null |
			grep -oE '^ {2,6}(-[a-zA-Z], )?--[a-z][a-z-]*' | grep -oE -- '--[a-z-]+'; done) --help" -- "$cur"))
		return
	fi
	case $cmd in
	check | apply | run | fetch) _filedir ;;            # the rules file
	help) COMPREPLY=($(compgen -W "$("$sluice" --help 2>/dev/null |
		awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }')" -- "$cur")) ;;
	lookup) [[ $prev == udp || $prev == tcp ]] || COMPREPLY=($(compgen -W 'tcp udp icmp icmpv6' -- "$cur")) ;;
	esac
}
complete -F _sluice sluice
