#!/usr/bin/env bash
# What sluice keeps in /run/sluice does not pile up: an events reader removes
# its lock as it stops; `sluice detach --all` removes the instance's lock and
# an unheld events lock; `sluice gc` removes what killed processes left (the
# lock of an instance that is gone, an events lock nobody holds, the confirm
# log and dead socket of an instance that is gone) and keeps everything that
# is held or belongs to a live instance.  In the two-namespace lab.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/lab.sh"
need_root
need_cmd ip jq flock socat

TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
id=${ID}f
inst=rf${id}                    # a live instance
gone=rfg${id}                   # names of instances that do not exist
C=sl-$id-c
DEV=slc$id
R=/run/sluice
mkdir -p "$R"

printf 'policy drop;\nrule media { allow udp 6000; to 198.51.100.2; }\n' > "$TMP/rules"
lab_up "$id" || { fail setup "cannot build the namespace lab"; finish; }
on_exit lab_down "$id"
on_exit "$SLUICE" detach --all --instance "$inst"
on_exit 'rm -f $R/$inst.* $R/${gone}*'
on_exit 'kill $(jobs -p) 2>/dev/null'

"$SLUICE" apply "$TMP/rules" --dev "$DEV" --netns "$C" --instance "$inst" >/dev/null 2>&1 ||
	{ fail setup "apply: rc $?"; finish; }

# --- a reader removes its lock as it stops --------------------------------------
T_PREFIX="runfiles/reader/"
"$SLUICE" log --follow --instance "$inst" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$R/$inst.events.lock" ] && break; sleep 0.05; done
check "sluice log --follow holds $inst.events.lock" test -s "$R/$inst.events.lock"
"$SLUICE" log --instance "$inst" > "$TMP/second" 2>&1
expect_eq "a second reader is still refused" "$(grep -c 'are read by process' "$TMP/second")" 1
kill -TERM "$pid"; wait "$pid" 2>/dev/null
check "stopped, it removed the lock" test ! -e "$R/$inst.events.lock"
"$SLUICE" log --instance "$inst" > /dev/null 2>&1
expect_eq "sluice log (no --follow) leaves no lock" "$(ls "$R/$inst.events.lock" 2>/dev/null | wc -l)" 0

# --- gc: what is left by killed processes goes, what is held or live stays --------
T_PREFIX="runfiles/gc/"
"$SLUICE" log --follow --instance "$inst" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$R/$inst.events.lock" ] && break; sleep 0.05; done
kill -KILL "$pid"; wait "$pid" 2>/dev/null
check "a reader killed (SIGKILL) left its lock" test -e "$R/$inst.events.lock"
: > "$R/${gone}1.lock"                  # an apply killed between its lock and its pins
: > "$R/${gone}2.lock"                  # ... and one whose lock is held
flock "$R/${gone}2.lock" sleep 300 &
: > "$R/${gone}3.events.lock"           # held by a reader
flock "$R/${gone}3.events.lock" sleep 300 &
echo "old watchdog lines" > "$R/${gone}4.confirm.log"
echo "watchdog lines" > "$R/$inst.confirm.log"
socat -u "UNIX-LISTEN:$R/${gone}5.sock,type=5,fork" /dev/null 2>/dev/null &   # a `sluice run` listening
socat_pid=$!
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.bind(sys.argv[1])' \
	"$R/${gone}6.sock"                      # a killed run's socket: nobody listens
held() { ! flock -n "$1" true; }
listens() { ss -Hxl | grep -q "$R/${gone}5.sock"; }
wait_for 5 held "$R/${gone}2.lock"; wait_for 5 held "$R/${gone}3.events.lock"; wait_for 5 listens

"$SLUICE" gc --dry-run > "$TMP/dry" 2>&1
ours() { grep -E "$R/($inst|$gone)"; }   # other tests' leftovers may be listed too
expect_eq "--dry-run lists the four left behind" \
	"$(grep "^would remove $R/" "$TMP/dry" | ours | wc -l)" 4
check "... and removes nothing" test -e "$R/${gone}1.lock"
"$SLUICE" gc --json > "$TMP/gc.json" 2> "$TMP/gc.err"
expect_eq "gc: exit 0" "$?" 0
expect_eq "gc --json names the files it removed" "$(jq -r '.files[]' "$TMP/gc.json" | ours | sort | tr '\n' ' ')" \
	"$R/$inst.events.lock $R/${gone}1.lock $R/${gone}4.confirm.log $R/${gone}6.sock "
for f in "$inst.events.lock" "${gone}1.lock" "${gone}4.confirm.log" "${gone}6.sock"; do
	check "removed $f" test ! -e "$R/$f"
done
for f in "$inst.lock" "$inst.confirm.log" "${gone}2.lock" "${gone}3.events.lock" "${gone}5.sock"; do
	check "kept $f (live or held)" test -e "$R/$f"
done
check "the instance still runs" "$SLUICE" status --instance "$inst"
"$SLUICE" gc > "$TMP/again" 2>&1
check "a second gc: nothing to remove" grep -q "nothing to remove" "$TMP/again"
kill "$socat_pid" 2>/dev/null

# --- detach --all: the instance's lock and an unheld events lock go -------------
T_PREFIX="runfiles/detach/"
: > "$R/$inst.events.lock"              # as a killed reader leaves it
"$SLUICE" detach --all --instance "$inst" > /dev/null 2>&1
expect_eq "detach --all: exit 0" "$?" 0
check "its lock is gone" test ! -e "$R/$inst.lock"
check "the unheld events lock is gone" test ! -e "$R/$inst.events.lock"
check "the confirm log stays (the record of a rollback; gc removes it)" test -e "$R/$inst.confirm.log"
"$SLUICE" gc > /dev/null 2>&1
check "gc then removes it" test ! -e "$R/$inst.confirm.log"
finish
