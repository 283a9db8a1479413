#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Replay through the bastion: `ssh bastion sessions` and
# `ssh -t bastion replay ID` for a user whose [role] allows them, denied
# (77, audited) for one whose role does not; the recording is opened with
# the proxy's group privilege, which is dropped before it is played
# through the safety filter.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

pcl_require_root_sshd
pcl_require_cmd jq sqlite3
pcl_setup 22400 22401
T=$SCRATCH/t
mkdir -p "$T"
printf '\n[role auditors]\nmembers = user:%s\nmay = replay, sessions\n' \
    "$USER_A" >> "$SCRATCH/etc/policy.conf"
role_line=$(grep -n "^members = user:$USER_A" "$SCRATCH/etc/policy.conf" | cut -d: -f1)

trace "a session to record (a title sequence in its output)"
bssh "$USER_A" db01 -- printf "'\\033]2;EVILTITLE\\007replayed through the bastion\\n'" \
    < /dev/null > "$T/s.out" 2> "$T/s.err"
expect_eq "exit status ($(cat "$T/s.err"))" 0 "$?"
REC=$(pcl_last_recording)
[ -n "$REC" ] || fatal "no recording"
ID=$(basename "$REC" .cast)

trace "sessions: the role's member sees the index"
pcl_audit_mark
bssh "$USER_A" sessions < /dev/null > "$T/l.out" 2> "$T/l.err"
expect_eq "exit status ($(cat "$T/l.err"))" 0 "$?"
expect_match "heading" '^SESSION +START' "$(cat "$T/l.out")"
expect_match "the session" "^$ID .*ended .*$USER_A .*db01 +0 +printf" "$(cat "$T/l.out")"
expect_match "audited allow with the role's line" . \
    "$(pcl_audit_new 'select(.event=="decision" and .decision=="allow" and (.rule|endswith($r)))' --arg r ":$role_line")"

trace "sessions and replay denied to a user without the role"
pcl_audit_mark
bssh "$USER_B" sessions < /dev/null > "$T/d.out" 2> "$T/d.err"
expect_eq "exit status" 77 "$?"
expect_match "message" "'sessions' is not allowed" "$(cat "$T/d.err")"
expect_eq "nothing listed" "" "$(cat "$T/d.out")"
bssh "$USER_B" -tt replay "$ID" < /dev/null > "$T/d2.out" 2>&1
expect_eq "replay exit status" 77 "$?"
expect_nomatch "nothing played" 'replayed through' "$(cat "$T/d2.out")"
expect_match "audited deny" . \
    "$(pcl_audit_new 'select(.event=="decision" and .decision=="deny" and .rule=="default-deny")')"

trace "replay ID through the bastion, with a terminal: played, filtered"
bssh "$USER_A" -tt replay "${ID:0:12}" < /dev/null > "$T/r.out" 2> "$T/r.err"
expect_eq "exit status ($(cat "$T/r.err"))" 0 "$?"
expect_match "recorded text" 'replayed through the bastion' "$(cat "$T/r.out")"
expect_nomatch "no title sequence" 'EVILTITLE' "$(cat "$T/r.out")"
expect_match "the filter's note" 'were not passed' "$(cat "$T/r.out")"
expect_nomatch "no --raw hint (there is no raw mode here)" '--raw' "$(cat "$T/r.out")"

trace "replay --follow: a running session watched through the bastion to its end"
bssh "$USER_A" db01 -- sh -c "'echo live one; sleep 3; echo live two; sleep 1'" \
    < /dev/null > "$T/live.out" 2>&1 &
live_pid=$!
for i in $(seq 1 50); do
    LIVE=$(pcl_recordings | tail -n 1)
    [ "$LIVE" != "$REC" ] && grep -q 'live one' "$LIVE" 2>/dev/null && break
    sleep 0.1
done
[ "$LIVE" != "$REC" ] || fatal "the live session left no recording"
start=$(date +%s)
bssh "$USER_A" -tt replay "$(basename "$LIVE" .cast)" --follow < /dev/null > "$T/f.out" 2> "$T/f.err" &
follow_pid=$!
# While it plays, neither proxy (the live session's, the player's) holds
# the group: the player dropped it once the recording and its seal were open.
sleep 1
tgid=$(getent group "$TEST_GROUP" | cut -d: -f3)
nproxy=0 held=""
for d in /proc/[0-9]*; do
    [ "$(readlink "$d/exe" 2>/dev/null)" = "$SCRATCH/bin/portcullis" ] || continue
    nproxy=$((nproxy + 1))
    awk '/^Gid:/ { print $2, $3, $4, $5 }' "$d/status" 2>/dev/null |
        grep -qw -- "$tgid" && held="$held ${d#/proc/}"
done
[ "$nproxy" -ge 2 ] || fail "expected two proxies running, found $nproxy"
expect_eq "no proxy holds group $TEST_GROUP while following" "" "$held"
wait "$follow_pid"
expect_eq "exit status ($(cat "$T/f.err"))" 0 "$?"
expect_match "the line written while following" 'live two' "$(cat "$T/f.out")"
[ $(( $(date +%s) - start )) -ge 2 ] || fail "follow ended before the session did"
wait "$live_pid"

trace "replay: an index row naming a file outside the recording directory"
# The index is group-writable and derived: a row that names another file
# the group can read (here a copy of a real recording) is not played.
mkdir -p "$SCRATCH/outside"
cp "$REC" "$SCRATCH/outside/x.cast"
chgrp -R "$TEST_GROUP" "$SCRATCH/outside"
chmod 0750 "$SCRATCH/outside"
chmod 0640 "$SCRATCH/outside/x.cast"
FAKE=abcdef0123456789abcdef0123456789
sqlite3 "$SCRATCH/sessions/index.sqlite" "INSERT INTO sessions (session_id, user, target, recording, start) VALUES ('$FAKE', '$USER_B', 'db01', '$SCRATCH/sessions/../outside/x.cast', 1);" ||
    fatal "cannot add the row"
bssh "$USER_A" -tt replay "$FAKE" < /dev/null > "$T/o.out" 2>&1
expect_eq "exit status" 70 "$?"
expect_nomatch "nothing played" 'replayed through' "$(cat "$T/o.out")"
sqlite3 "$SCRATCH/sessions/index.sqlite" "UPDATE sessions SET recording = '$SCRATCH/outside/x.cast' WHERE session_id = '$FAKE';"
bssh "$USER_A" -tt replay "$FAKE" < /dev/null > "$T/o.out" 2>&1
expect_eq "exit status (absolute path elsewhere)" 70 "$?"
expect_nomatch "nothing played (absolute path elsewhere)" 'replayed through' "$(cat "$T/o.out")"

trace "replay: a recording edited after its seal is not played"
cp -p "$REC" "$T/rec.orig"
sed -i 's/replayed through/REPLAYED THROUGH/' "$REC"
bssh "$USER_A" -tt replay "$ID" < /dev/null > "$T/e.out" 2>&1
expect_eq "exit status" 77 "$?"
expect_match "told" 'does not match its seal: not played' "$(cat "$T/e.out")"
expect_nomatch "nothing played" 'REPLAYED THROUGH' "$(cat "$T/e.out")"
cp -p "$T/rec.orig" "$REC"

trace "-t: a session index in a directory open to others is refused"
install -d -o root -g "$TEST_GROUP" -m 2775 "$SCRATCH/idx"
sed -i "s|^index = .*|index = $SCRATCH/idx/index.sqlite|" "$SCRATCH/etc/portcullis.conf"
"$SCRATCH/bin/portcullis" -t -f "$SCRATCH/etc/portcullis.conf" > "$T/t.out" 2>&1
expect_eq "-t exit status" 1 "$?"
expect_match "-t names it" 'session index directory: .*open to others' "$(cat "$T/t.out")"
chmod 2770 "$SCRATCH/idx"
"$SCRATCH/bin/portcullis" -t -f "$SCRATCH/etc/portcullis.conf" > "$T/t.out" 2>&1
expect_eq "-t exit status with 2770 ($(cat "$T/t.out"))" 0 "$?"
sed -i "s|^index = .*|index = $SCRATCH/sessions/index.sqlite|" "$SCRATCH/etc/portcullis.conf"

trace "replay: a malformed or unknown id"
bssh "$USER_A" replay 'x;id' < /dev/null > /dev/null 2> "$T/u.err"
expect_eq "malformed: exit status" 64 "$?"
expect_match "usage" 'usage: ssh -t BASTION replay' "$(cat "$T/u.err")"
bssh "$USER_A" replay 0000000000000000 < /dev/null > /dev/null 2> "$T/u.err"
expect_eq "unknown: exit status" 77 "$?"

pcl_finish
