#!/usr/bin/env bash
# Hostile files (issue 11 item 3): an include or address file that is a
# device (/dev/zero, /dev/urandom: they grow without bound), a FIFO (blocks
# forever) or too big is refused at once with file:line:col and a clear
# message; never read, never "an empty file".  No root; the ASan build.
source "$(dirname "$0")/../lib.sh"
S=${SLUICE_SAN:-$ROOT/build/sluice-san}
[ -x "$S" ] || S=$SLUICE
TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
mkfifo "$TMP/fifo"

# refused NAME FILE WANT-POSITION: check exits 2 within 5 s, names the position and why
refused() {
	local name=$1 file=$2 pos=$3 out rc
	out=$(timeout 5 "$S" check "$file" 2>&1); rc=$?
	if [ $rc -eq 2 ] && grep -q "^$pos: error: .*not a regular file\|^$pos: error: .*larger than 256 MiB" <<<"$out"; then
		pass "$name: refused at $pos with the reason"
	else
		fail "$name" "rc $rc (124 = hung), output: $(head -c 300 <<<"$out")"
	fi
}

printf 'policy drop;\ninclude "/dev/zero";\n' > "$TMP/zero.rules"
refused 'include "/dev/zero"' "$TMP/zero.rules" "$TMP/zero.rules:2:9"
printf 'policy drop;\ninclude "fifo";\n' > "$TMP/fifo.rules"
refused 'include of a FIFO' "$TMP/fifo.rules" "$TMP/fifo.rules:2:9"
printf 'policy drop;\nrule r { allow tcp 443; to file "/dev/urandom"; }\n' > "$TMP/urandom.rules"
refused 'address file "/dev/urandom"' "$TMP/urandom.rules" "$TMP/urandom.rules:2:33"
printf 'policy drop;\nset s file "fifo";\nrule r { allow tcp 443; to @s; }\n' > "$TMP/setfifo.rules"
refused 'set from a FIFO' "$TMP/setfifo.rules" "$TMP/setfifo.rules:2:12"
truncate -s 300M "$TMP/big.txt"
printf 'policy drop;\nrule r { allow tcp 443; to file "big.txt"; }\n' > "$TMP/big.rules"
refused 'address file of 300 MiB' "$TMP/big.rules" "$TMP/big.rules:2:33"

# the rules file itself
out=$(timeout 5 "$S" check "$TMP/fifo" 2>&1); rc=$?
expect_eq "a FIFO as the rules file: exit 2, not a hang" "$rc" 2
check "... says it is not a regular file" grep -q "not a regular file" <<<"$out"
out=$(timeout 5 "$S" check /dev/zero 2>&1); rc=$?
expect_eq "/dev/zero as the rules file: exit 2" "$rc" 2
# a directory still says so
out=$(timeout 5 "$S" check "$TMP" 2>&1); rc=$?
check "a directory: exit 2, 'Is a directory'" bash -c "[ $rc -eq 2 ] && grep -q 'Is a directory' <<<\"\$1\"" _ "$out"
# a regular file next to them still works
printf '192.0.2.0/24\n' > "$TMP/ok.txt"
printf 'policy drop;\nrule r { allow tcp 443; to file "ok.txt"; }\n' > "$TMP/ok.rules"
check "a regular address file is read" "$S" check "$TMP/ok.rules"
finish
