#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Faults during a session, each ending in the state portcullis(8)
# documents (FAULTS): the target's sshd killed; the target stalled (its
# session sshd stopped: only the keepalive can tell); the client gone; the
# proxy killed with SIGKILL; a target much faster than a slow user; the
# approval store locked by another writer.
# Each time: the user is told (when still
# there), the recording is valid (sealed, or reported unsealed after a
# SIGKILL), the audit record is written, no process is left behind on
# either side, and nothing more reaches the user.
#
# Covered elsewhere, not repeated here: the recording disk full
# (recording.sh, "a recording that cannot be written ends the session");
# the basic SIGKILL check of the recording (recording.sh). The wall clock
# is not jumped: see FAULTS in portcullis(8).
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

pcl_require_root_sshd
pcl_require_cmd jq sqlite3
CASTVERIFY=$top_builddir/tests/tools/castverify
REPLAY=$top_builddir/replay/portcullis-replay
[ -x "$CASTVERIFY" ] || skip "tests/tools/castverify not built (make check builds it)"
[ -x "$REPLAY" ] || skip "replay/portcullis-replay not built"
pcl_setup 22500 22501
# Keepalive every second, three unanswered ones end the session: the stall
# case is over in seconds, not minutes.
sed -i -e 's/^keepalive-interval = .*/keepalive-interval = 1/' \
    -e 's/^keepalive-count-max = .*/keepalive-count-max = 3/' \
    "$SCRATCH/etc/portcullis.conf"
T=$SCRATCH/t
mkdir -p "$T"
pgrep -u "$USER_A" > "$T/base.pids"
# db02 needs an approval (the store as make install lays it out).
install -d -o root -g "$TEST_GROUP" -m 2770 "$SCRATCH/approvals"
printf '\n[approval]\ndirectory = %s\npoll-interval = 200ms\n' \
    "$SCRATCH/approvals" >> "$SCRATCH/etc/portcullis.conf"
pcl_policy_target db02 "$TARGET_PORT" "" "approval = user:$USER_B"

# A target command that writes for ever: once its sshd is gone its next
# write fails and it ends (SIGPIPE), so nothing is left on the target.
TICK='echo started; while :; do echo tick; sleep 0.2; done'

# start_session NAME [ssh args]: the ssh client in the background, its
# stdout/stderr in $T/NAME.out / .err; waits for "started".
start_session() {
    local name=$1
    shift
    pcl_audit_mark
    # ssh itself in the background (not bssh's subshell), so that killing
    # $CLIENT kills the client; ended() makes sure it is gone.
    pcl_bssh_argv "$USER_A"
    "${PCL_ARGV[@]}" "$@" db01 -- "$TICK" > "$T/$name.out" 2> "$T/$name.err" &
    CLIENT=$!
    pcl_wait_for 15 grep -q started "$T/$name.out" ||
        fail "$name: the session did not start: $(cat "$T/$name.err")"
    PROXY=$(pgrep -n -f "^$SCRATCH/bin/portcullis ")
    [ -n "$PROXY" ] || fail "$name: no proxy process"
}

# target_session_pids: the target's sshd processes serving our session
# (the privileged monitor, children of the listener, and the session
# process of the user below it).
target_session_pids() {
    local l m
    l=$(cat "$SCRATCH/target/sshd.pid")
    for m in $(pgrep -P "$l"); do
        echo "$m"
        pgrep -P "$m" -u "$USER_A"
    done
}

# client_rc: the exit status of the ssh client (waits for it).
client_rc() {
    wait "$CLIENT"
}

no_proxy() { ! pgrep -f "^$SCRATCH/bin/portcullis " >/dev/null; }
# Processes of USER_A's uid that were not there before the first session:
# a uid is reused after userdel, and another test's leftover (recording.sh
# leaves a target-side "sleep 30" behind a SIGKILLed proxy) must not count.
user_procs() { pgrep -u "$USER_A" | grep -vxF -f "$T/base.pids"; }
no_user_procs() { [ -z "$(user_procs)" ]; }

# ended NAME END SEAL: the defined end state after the fault.
ended() {
    local name=$1 end=$2 seal=$3 ev rec v
    pcl_wait_for 15 pcl_not_running "$CLIENT" || {
        fail "$name: the ssh client still runs"
        kill -KILL "$CLIENT" 2>/dev/null
    }
    pcl_wait_for 15 no_proxy || fail "$name: a proxy process is left: $(pgrep -a -f "$SCRATCH/bin/portcullis")"
    pcl_wait_for 15 no_user_procs ||
        fail "$name: processes of $USER_A left: $(user_procs | xargs -r ps -o pid=,args= -p)"
    ev=$(pcl_audit_new 'select(.event=="session-end")')
    if [ "$end" = none ]; then
        expect_eq "$name: no session-end after SIGKILL" "" "$ev"
        expect_match "$name: session-start was written" '"event":"session-start"' \
            "$(pcl_audit_new 'select(.event=="session-start")')"
    else
        expect_match "$name: audit session-end, end=$end" "\"end\":\"$end\"" "$ev"
        expect_match "$name: audit recording-end, seal=$seal" "\"seal\":\"$seal\"" \
            "$(pcl_audit_new 'select(.event=="recording-end")')"
    fi
    rec=$(pcl_last_recording)
    v=$("$CASTVERIFY" "$rec" "$SCRATCH/etc/seal.key" | cut -d' ' -f1)
    if [ "$seal" = sealed ]; then
        expect_eq "$name: castverify" valid "$v"
    else
        expect_eq "$name: castverify" unsealed "$v"
    fi
    bad=$(grep -v '^#' "$rec" | tail -n +2 | jq -c 'select(length != 3)' 2>&1 | head -n 3)
    expect_eq "$name: every event line parses" "" "$bad"
    expect_match "$name: output before the fault is recorded" started \
        "$(grep -v '^#' "$rec" | tail -n +2 | jq -j 'select(.[1]=="o") | .[2]')"
    REC=$rec
}

# ------------------------------------------------------------------
trace "the target's sshd killed mid-session: user told, end=error, sealed"
start_session kill
pids=$(target_session_pids)
[ -n "$pids" ] || fail "no target sshd process found for the session"
kill -KILL $pids
client_rc
rc=$?
expect_eq "kill: exit status (as ssh reports a lost connection)" 255 "$rc"
expect_match "kill: the user is told" 'connection to db01 lost' "$(cat "$T/kill.err")"
ended kill error sealed

# ------------------------------------------------------------------
trace "the target stalls (its session sshd stopped): the keepalive ends it"
start_session stall
pids=$(target_session_pids)
[ -n "$pids" ] || fail "no target sshd process found for the session"
t0=$EPOCHREALTIME
kill -STOP $pids
# The bound: 4 s of silence (3 keepalives unanswered), plus slack for a busy host.
if pcl_wait_for 20 pcl_not_running "$CLIENT"; then
    secs=$(awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $t0 }")
    echo "faults: stalled session ended after ${secs}s"
else
    fail "stall: the session still runs 20 s after the target stopped"
    kill -KILL "$CLIENT" 2>/dev/null
fi
client_rc
rc=$?
kill -CONT $pids 2>/dev/null
expect_eq "stall: exit status" 255 "$rc"
expect_match "stall: the user is told" 'connection to db01 lost' "$(cat "$T/stall.err")"
ended stall error sealed
expect_match "stall: the proxy log says why" 'not responding' "$(cat "$SCRATCH/proxy.log")"

# ------------------------------------------------------------------
trace "an idle session outlives several keepalive rounds (no false stall)"
pcl_audit_mark
out=$(bssh "$USER_A" db01 -- 'sleep 5; echo awake' 2>&1)
expect_eq "idle: output after 5 quiet seconds" awake "$out"

# ------------------------------------------------------------------
trace "the client vanishes (ssh killed, no PTY): end=client, sealed"
start_session vanish
kill -KILL "$CLIENT"
wait "$CLIENT" 2>/dev/null
ended vanish client sealed
n=$(wc -l < "$T/vanish.out")
sleep 1
expect_eq "vanish: nothing written after the client died" "$n" "$(wc -l < "$T/vanish.out")"

# ------------------------------------------------------------------
trace "the client vanishes with a PTY: the proxy ends, sealed"
start_session vanishpty -tt
kill -KILL "$CLIENT"
wait "$CLIENT" 2>/dev/null
ended vanishpty '(client|signal)' sealed

# ------------------------------------------------------------------
trace "the proxy killed with SIGKILL: target side ends, recording unsealed"
start_session proxykill
# What was written before the last flush survives (flush-interval 200ms).
sleep 0.5
kill -KILL "$PROXY"
client_rc
ended proxykill none unsealed
v=$("$REPLAY" verify -k "$SCRATCH/etc/seal.key" "$REC" 2>&1)
rc=$?
expect_eq "replay verify exit status (1: unsealed)" 1 "$rc"
expect_match "replay verify says unsealed" '[Uu]nsealed|not sealed' "$v"

# ------------------------------------------------------------------
trace "a target much faster than a slow user: memory stays bounded, nothing lost"
# libssh 0.10 opens the channel window again after every read, whatever it
# still holds: a proxy that read only what the slow user could take let
# libssh buffer without bound, and at 256 MiB libssh dropped the buffer
# and crashed the proxy (seen with zeros through a PTY in make bench).
FLOOD=$((320 * 1048576))
cat > "$T/slow.py" <<'PY'
import os, sys, time
# Reads stdin 4 KiB every 2 ms for argv[1] seconds, then at full speed;
# prints the byte count.
total, until = 0, time.monotonic() + float(sys.argv[1])
while time.monotonic() < until:
    b = os.read(0, 4096)
    if not b:
        break
    total += len(b)
    time.sleep(0.005)
while True:
    b = os.read(0, 1 << 20)
    if not b:
        break
    total += len(b)
print(total)
PY
pcl_audit_mark
pcl_bssh_argv "$USER_A"
# stderr interleaved (a line every 10 ms, as tar v or a build prints): in
# libssh 0.10 a stderr packet reopens the window the stdout backlog closed.
"${PCL_ARGV[@]}" db01 -- "echo started; (i=0; while [ \$i -lt 2000 ]; do echo progress \$i >&2; i=\$((i + 1)); sleep 0.002; done) & yes 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ | head -c $FLOOD; wait" \
    > >(python3 "$T/slow.py" 6 > "$T/flood.out") 2> "$T/flood.err" < /dev/null &
CLIENT=$!
peak=0
while kill -0 "$CLIENT" 2>/dev/null; do
    for p in $(pgrep -f "^$SCRATCH/bin/portcullis "); do
        kb=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$p/status" 2>/dev/null)
        [ -n "$kb" ] && [ "$kb" -gt "$peak" ] && peak=$kb
    done
    sleep 0.1
done
client_rc
rc=$?
expect_eq "flood: exit status" 0 "$rc"
pcl_wait_for 30 test -s "$T/flood.out" || fail "flood: the slow reader did not finish"
expect_eq "flood: every byte reached the slow user" $((FLOOD + 8)) "$(cat "$T/flood.out")"
expect_eq "flood: every stderr line arrived" 2000 "$(grep -c '^progress ' "$T/flood.err")"
ended flood remote sealed
echo "faults: the proxy's VmRSS peaked at $peak kB"
# An ASan build's quarantine holds freed memory by design: no bound there.
if ! nm "$PCL_PROXY" 2>/dev/null | grep -q __asan_init &&
    ! nm -D "$PCL_PROXY" 2>/dev/null | grep -q __asan_init; then
    [ "$peak" -lt 65536 ] ||
        fail "flood: the proxy grew to $peak kB (libssh buffering without bound?)"
fi

# ------------------------------------------------------------------
trace "the approval store locked by another writer: the request fails closed"
out=$(bssh "$USER_A" db02 --reason "faults test" -- echo let-through 2>&1 < /dev/null)
rc=$?
expect_eq "first request: stored, come back later (EX_TEMPFAIL)" 75 "$rc"
DB=$SCRATCH/approvals/approvals.sqlite
[ -f "$DB" ] || fail "no approval store at $DB"
# Another writer holds the write lock (BEGIN EXCLUSIVE) until told, longer
# than the proxy waits for it (10 s).
mkfifo "$T/lock.in"
sqlite3 "$DB" < "$T/lock.in" > "$T/lock.out" 2>&1 &
LOCKER=$!
PCL_PIDS+=("$LOCKER")
exec 7> "$T/lock.in"
echo 'BEGIN EXCLUSIVE; SELECT count(*) FROM sqlite_master;' >&7
pcl_wait_for 10 grep -q '^[0-9]' "$T/lock.out" ||
    fail "sqlite3 did not take the lock: $(cat "$T/lock.out")"
logins=$(pcl_target_logins)
pcl_audit_mark
t0=$EPOCHREALTIME
# The store cannot even be opened for the pending request's lookup: the
# proxy waits out its busy timeout, then refuses.
out=$(bssh "$USER_A" db02 --reason "faults test" -- echo let-through-2 2>&1 < /dev/null)
rc=$?
secs=$(awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $t0 }")
echo "faults: the request on the locked store ended after ${secs}s, exit $rc"
echo 'COMMIT;' >&7
exec 7>&-
wait "$LOCKER"
expect_eq "locked: exit status (EX_SOFTWARE)" 70 "$rc"
expect_match "locked: the user is told" 'approval store cannot be' "$out"
expect_nomatch "locked: nothing ran" 'let-through' "$out"
expect_eq "locked: the target saw no login" "$logins" "$(pcl_target_logins)"
expect_eq "locked: no session-start" "" "$(pcl_audit_new 'select(.event=="session-start")')"
expect_match "locked: the log says why" 'approval store.*(busy|locked)' "$(cat "$SCRATCH/proxy.log")"
out=$(bssh "$USER_A" db02 --reason "faults test" -- echo let-through-2 2>&1 < /dev/null)
rc=$?
expect_eq "lock released: the pending request is found again" 75 "$rc"

pcl_finish
