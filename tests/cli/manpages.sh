#!/usr/bin/env bash
# The man pages against the code, no root (issue 22):
#   sluice(8)        every command of `sluice --help` has a section, and each
#                    section lists exactly the options its `--help` defines;
#   sluice.rules(5)  every keyword the parser recognises (user/front: weq()
#                    words, the keyword tables, the choices, the protocols) is
#                    in it, in bold;
#   sluice-cni(8)    every CNI command and configuration key of user/cni;
# each renders without a groff warning; `sluice --version` names the version
# of debian/changelog, a commit, libbpf and the pin layout.
source "$(dirname "$0")/../lib.sh"
need_cmd man
S=${SLUICE_SAN:-$ROOT/build/sluice-san}
[ -x "$S" ] || S=$SLUICE
cd "$ROOT"
M8=user/cli/sluice.8 M5=user/front/sluice.rules.5 MC=user/cni/sluice-cni.8

for f in $M8 $M5 $MC; do
	w=$(LC_ALL=C.UTF-8 man --warnings=all -E UTF-8 -l "$f" 2>&1 >/dev/null)
	expect_eq "$f renders without warnings" "$w" ""
done

# the long options an option line of `--help` defines ("  -d, --dev IFACE", "      --hook HOOK")
help_opts() { "$S" "$1" --help | grep -oE '^ {2,6}(-[a-zA-Z], )?--[a-z][a-z-]*' | grep -oE -- '--[a-z-]+' | sort -u; }
# the long options the .TP entries of section "sluice CMD" of sluice(8) list
man_opts() {
	awk -v c="$1" '/^\.S[SH] /{ on = ($0 ~ "^\\.SS \"sluice " c "( |\")") ; next }
		on && prev ~ /^\.TP/ { print } { prev = $0 }' "$M8" |
		grep -oE -- '\\-\\-[a-z][a-z\\-]*' | sed 's/\\//g' | sort -u
}
cmds=$("$S" --help | awk '/^commands:/{on=1; next} on && /^  [a-z]/{print $1}')
check "sluice --help lists commands" test -n "$cmds"
for c in $cmds; do
	if ! grep -q "^\.SS \"sluice $c[ \"]" "$M8"; then
		fail "sluice(8) has a section for sluice $c" "no .SS \"sluice $c ...\" in $M8"
		continue
	fi
	want=$(help_opts "$c" | grep -vx -- '--verbose')
	got=$(man_opts "$c")
	if [ "$c" = run ]; then          # run: apply's options, said so, and its own
		want=$(comm -23 <(echo "$want") <(help_opts apply))
		grep -q 'Takes every option of' "$M8" || fail "sluice(8): run takes apply's options" "not said"
	fi
	missing=$(comm -23 <(echo "$want") <(echo "$got") | tr '\n' ' ')
	extra=$(comm -13 <(echo "$want") <(echo "$got") | tr '\n' ' ')
	expect_eq "sluice(8) sluice $c: every option of --help" "$missing" ""
	expect_eq "sluice(8) sluice $c: no option --help lacks" "$extra" ""
done
[ "$(help_opts apply | wc -l)" -ge 10 ] && pass "the option extraction finds apply's options" ||
	fail "the option extraction finds apply's options" "$(help_opts apply | tr '\n' ' ')"

# sluice.rules(5): the grammar's keywords.  Hint-only words are recognised to
# say what to write instead (`from`, `dst`, `dest`: "destinations are written
# `to A, B;`"), not part of the language.
kw=$( { grep -ohE 'weq\([^,]*, "[a-z0-9]+"\)' user/front/*.c | grep -oE '"[a-z0-9]+"'
	grep -ohE 'parse_choice\([^"]*"[a-z]+", "[a-z]+"' user/front/*.c | grep -oE '"[a-z]+"'
	grep -ohE '(kw|names)\[\] = \{[^}]*' user/front/*.c | grep -oE '"[a-z0-9]+"'
	sed -n '/kw\[\] = {/,/NULL/p' user/front/parse.c | grep -oE '"[a-z0-9]+"'
      } | tr -d '"' | sort -u | grep -vxE 'from|dst|dest')
bold=$( { grep -E '^\.(B|BR|BI|IR|RB) ' "$M5" | sed -E 's/^\.[A-Z]+ //'
	  grep -oE '\\fB[^\\]*' "$M5" | sed 's/\\fB//'
	} | tr -c 'a-z0-9\n' ' ' | tr ' ' '\n' | grep -v '^$' | sort -u)
check "the grammar's keyword extraction finds them" test "$(wc -w <<<"$kw")" -ge 25
missing=$(comm -23 <(echo "$kw") <(echo "$bold") | tr '\n' ' ')
expect_eq "sluice.rules(5): every keyword of the grammar, in bold" "$missing" ""

# sluice-cni(8): commands and configuration keys
ccmds=$(grep -ohE 'CNI_COMMAND is not set \([A-Z, ]+\)' user/cni/*.c | sed 's/.*(//' | grep -oE '[A-Z]{2,}' | sort -u)
keys=$(grep -ohE 'opt_[a-z]+\(c->root, "[a-zA-Z_]+"' user/cni/*.c | grep -oE '"[a-zA-Z_]+"' | tr -d '"' |
	grep -vxE 'cniVersion|name|prevResult|runtimeConfig|args|capabilities' | sort -u)
check "sluice-cni: commands and keys found in user/cni" test -n "$ccmds" -a -n "$keys"
cb=$(grep -E '^\.B ' "$MC" | sed 's/^\.B //' | sort -u)
missing=$(comm -23 <(echo "$ccmds"; echo "$keys" | sort -u) <(echo "$cb") | sort -u | tr '\n' ' ')
expect_eq "sluice-cni(8): every CNI command and configuration key" "$missing" ""

# --version
v=$("$S" --version)
want=$(sed -n '1s/^sluice (\([^)-]*\).*/\1/p' debian/changelog)
expect_eq "--version: the version of debian/changelog" "$(sed -n 1p <<<"$v")" "sluice $want"
check "--version: a commit" grep -qE '^commit [0-9a-f]{7,}' <<<"$v"
check "--version: libbpf" grep -qE '^libbpf v?[0-9]+\.[0-9]+' <<<"$v"
check "--version: pin layout 5" grep -q '^pin layout 5 ' <<<"$v"
expect_eq "sluice version = sluice --version" "$("$S" version)" "$v"
# from a tarball without git (git archive fills COMMIT in: export-subst)
if git -C "$ROOT" rev-parse HEAD > /dev/null 2>&1; then
	D=$(mktemp -d)
	git -C "$ROOT" archive HEAD | tar -x -C "$D"
	rm -rf "$D/.git"
	GIT_CEILING_DIRECTORIES=$D make -s -C "$D" build/version.h > /dev/null 2>&1
	expect_eq "from a git archive tarball: version.h names the commit" \
		"$(sed -n 's/.*SLUICE_COMMIT "\(.*\)"/\1/p' "$D/build/version.h" 2>/dev/null)" \
		"$(git -C "$ROOT" rev-parse --short HEAD)"
	rm -rf "$D"
else
	skip "from a git archive tarball: version.h names the commit" "not a git clone"
fi
finish
