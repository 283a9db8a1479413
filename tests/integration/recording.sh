#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Every session through the bastion leaves one recording: asciicast that
# Debian's asciinema parses, secrets masked (policy rules, the built-in
# set, typed passwords), sealed, stderr marked, exit recorded; a proxy
# killed mid-session leaves a file that parses and is reported unsealed; a
# recording that cannot be written ends the session.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

pcl_require_root_sshd
pcl_require_cmd jq asciinema script expect
CASTVERIFY=$top_builddir/tests/tools/castverify
[ -x "$CASTVERIFY" ] || skip "tests/tools/castverify not built (make check builds it)"
pcl_setup 22272 22273
cat >> "$SCRATCH/etc/policy.conf" <<EOF2

[mask internal-ips]
pattern = \\b10\\.\\d+\\.\\d+\\.\\d+\\b
replace = [internal-ip]
EOF2
sed -i "s/^\\[target db01\\]$/[target db01]\\nmask = builtin, internal-ips/" "$SCRATCH/etc/policy.conf"
T=$SCRATCH/t
mkdir -p "$T"

# verify FILE: the seal verdict word.
verify() {
    "$CASTVERIFY" "$1" "$SCRATCH/etc/seal.key" | cut -d' ' -f1
}
# events FILE CODE: the data of every event with that code, concatenated.
events() {
    grep -v '^#' "$1" | tail -n +2 | jq -j --arg c "$2" 'select(.[1] == $c) | .[2]'
}

trace "an exec session: one recording, parsed by asciinema, sealed"
n0=$(pcl_recordings | wc -l)
bssh "$USER_A" db01 -- 'echo "out line"; echo "err line" >&2; exit 3' > "$T/o" 2> "$T/e"
expect_eq "exit status" 3 "$?"
expect_eq "recordings made" 1 $(( $(pcl_recordings | wc -l) - n0 ))
REC=$(pcl_last_recording)
pcl_asciinema_ok "$REC" || fail "asciinema cat refuses $REC: $(head -c 600 "$REC")"
expect_eq "seal" valid "$(verify "$REC")"
expect_eq "stdout recorded" "out line" "$(events "$REC" o | head -n 1)"
expect_match "stderr recorded after its marker" '"stream:stderr"' "$(grep '"m"' "$REC")"
expect_match "exit status marker" '"exit:3"' "$(grep '"m"' "$REC")"
hdr=$(head -n 1 "$REC")
expect_eq "header user" "$USER_A" "$(jq -r .portcullis.user <<<"$hdr")"
expect_eq "header target" db01 "$(jq -r .portcullis.target <<<"$hdr")"
expect_eq "header command" 'echo "out line"; echo "err line" >&2; exit 3' \
    "$(jq -r .portcullis.command <<<"$hdr")"
sid=$(jq -r .portcullis.session_id <<<"$hdr")
expect_eq "file named after the session id" "$sid.cast" "$(basename "$REC")"
expect_match "date directories" "/sessions/[0-9]{4}/[0-9]{2}/[0-9]{2}/$sid.cast$" "$REC"
expect_match "audit: recording-end, sealed" '"seal":"sealed"' \
    "$(pcl_audit_events "select(.event==\"recording-end\" and .session_id==\"$sid\")")"

trace "the session index has the row, completed and sealed"
row=$(python3 - "$SCRATCH/sessions/index.sqlite" "$sid" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
r = db.execute('SELECT user, target, exit_status, seal, recording, bytes_out '
               'FROM sessions WHERE session_id = ?', (sys.argv[2],)).fetchone()
print("|".join(str(x) for x in r) if r else "none")
PY
)
expect_eq "index row" "$USER_A|db01|3|sealed|$REC|9" "$row"
expect_eq "index mode" 660 "$(stat -c %a "$SCRATCH/sessions/index.sqlite")"

trace "the recording belongs to group portcullis and is closed to others"
expect_eq "group" "$TEST_GROUP" "$(stat -c %G "$REC")"
expect_eq "mode" 640 "$(stat -c %a "$REC")"
expect_eq "day directory mode (setgid, sticky, group-writable)" 3770 \
    "$(stat -c %a "$(dirname "$REC")")"

trace "masking: policy rule and built-in set; the user's screen is untouched"
bssh "$USER_A" db01 -- 'echo "db at 10.20.30.40 key AKIAIOSFODNN7EXAMPLE ok"' > "$T/o"
expect_eq "user sees the raw output" "db at 10.20.30.40 key AKIAIOSFODNN7EXAMPLE ok" "$(cat "$T/o")"
REC=$(pcl_last_recording)
out=$(events "$REC" o)
expect_nomatch "no internal IP in the recording" '10\.20\.30\.40' "$out"
expect_nomatch "no access key in the recording" 'AKIAIOSFODNN7EXAMPLE' "$(cat "$REC")"
expect_match "replacement in place" 'db at \[internal-ip\] key' "$out"
expect_match "markers name the rules" 'mask:internal-ips' "$(events "$REC" m)"
expect_match "built-in rule marker" 'mask:builtin:' "$(events "$REC" m)"
expect_eq "seal" valid "$(verify "$REC")"

trace "5 MiB of random bytes: every line strict JSON, sealed, bounded events"
bssh "$USER_A" db01 -- 'head -c 5242880 /dev/urandom' > "$T/rnd"
expect_eq "user got every byte" 5242880 "$(stat -c %s "$T/rnd")"
REC=$(pcl_last_recording)
pcl_asciinema_ok "$REC" || fail "asciinema cat refuses the random recording"
bad=$(tail -n +2 "$REC" | jq -c 'select(length != 3)' 2>&1 | head -n 3)
expect_eq "every event is [time, code, data] JSON" "" "$bad"
expect_eq "seal" valid "$(verify "$REC")"
mono=$(tail -n +2 "$REC" | jq -s '[.[][0]] | . == sort')
expect_eq "times never decrease" true "$mono"

trace "interactive: a resize mid-session becomes an r event"
pcl_bssh_argv "$USER_A"
expect -f - -- "${PCL_ARGV[@]}" > "$T/x" 2>&1 <<'EXP'
set timeout 20
spawn -noecho {*}[lrange $argv 0 end] -tt db01
stty rows 24 columns 80 < $spawn_out(slave,name)
expect -re {\$ $}
send "echo first\r"
expect "first"
stty rows 40 columns 132 < $spawn_out(slave,name)
sleep 0.5
send "stty size\r"
expect "40 132"
send "exit\r"
expect eof
EXP
expect_eq "expect session" 0 "$?"
REC=$(pcl_last_recording)
expect_match "r event" '"r", "132x40"' "$(cat "$REC")"
pcl_asciinema_ok "$REC" || fail "asciinema cat refuses the interactive recording"
expect_eq "seal" valid "$(verify "$REC")"

trace "the proxy killed with SIGKILL mid-session: parses, reported unsealed"
bssh "$USER_A" db01 -- 'echo started; sleep 30' > "$T/o" 2>&1 &
bpid=$!
pcl_wait_for 10 grep -q started "$T/o" || fail "session did not start"
sleep 0.5
ppid=$(pgrep -n -f "$SCRATCH/bin/portcullis")
[ -n "$ppid" ] && kill -KILL "$ppid"
wait "$bpid" 2>/dev/null
REC=$(pcl_last_recording)
expect_eq "verdict" unsealed "$(verify "$REC")"
bad=$(grep -v '^#' "$REC" | tail -n +2 | jq -c 'select(length != 3)' 2>&1 | head -n 3)
expect_eq "what was written parses" "" "$bad"
expect_match "output before the kill is there" started "$(events "$REC" o)"

trace "typed passwords are masked in recorded input"
sed -i 's/^\[recording\]$/[recording]\ninput = yes/' "$SCRATCH/etc/portcullis.conf"
pcl_bssh_argv "$USER_A"
expect -f - -- "${PCL_ARGV[@]}" > "$T/x" 2>&1 <<'EXP'
set timeout 20
spawn -noecho {*}[lrange $argv 0 end] -tt db01
expect -re {\$ $}
# The prompt is assembled by the shell, so that the echo of this command
# line does not already contain "Password: " (expect would answer early).
send "read -r -s -p \"\$(printf 'Pass%s' 'word: ')\" pw; echo; echo \"len=\${#pw}\"\r"
expect "Password: "
send "hunter2secret\r"
expect "len=13"
send "echo visible-typing\r"
expect "visible-typing"
send "exit\r"
expect eof
EXP
expect_eq "expect session" 0 "$?"
REC=$(pcl_last_recording)
inp=$(events "$REC" i)
expect_nomatch "no password in recorded input" 'hunter2' "$inp"
expect_match "ordinary input is recorded" 'visible-typing' "$inp"
expect_match "passprompt marker" 'mask:passprompt' "$(events "$REC" m)"
sed -i '/^input = yes$/d' "$SCRATCH/etc/portcullis.conf"

trace "an Ed25519 seal key: the session's seal is checked with the public key"
openssl genpkey -algorithm ed25519 -out "$SCRATCH/etc/seal-ed25519.pem" 2>/dev/null
chown root:"$TEST_GROUP" "$SCRATCH/etc/seal-ed25519.pem"
chmod 0640 "$SCRATCH/etc/seal-ed25519.pem"
openssl pkey -in "$SCRATCH/etc/seal-ed25519.pem" -pubout -out "$T/seal.pub"
sed -i "s|^seal-key = .*|seal-key = $SCRATCH/etc/seal-ed25519.pem|" "$SCRATCH/etc/portcullis.conf"
bssh "$USER_A" db01 -- 'echo signed session' > "$T/o"
expect_eq "exit status" 0 "$?"
REC=$(pcl_last_recording)
expect_eq "alg" Ed25519 "$(jq -r .alg "$REC.seal")"
expect_eq "seal with the public key" valid \
    "$("$CASTVERIFY" "$REC" "$T/seal.pub" | cut -d' ' -f1)"
expect_eq "the HMAC key does not fit" key-unknown "$(verify "$REC")"
sed -i "s|^seal-key = .*|seal-key = $SCRATCH/etc/seal.key|" "$SCRATCH/etc/portcullis.conf"

trace "a recording that cannot be written ends the session"
if mount -t tmpfs -o size=256k,mode=2770 tmpfs "$SCRATCH/sessions" 2>/dev/null; then
    chgrp "$TEST_GROUP" "$SCRATCH/sessions"
    chmod 2770 "$SCRATCH/sessions"
    pcl_audit_mark
    bssh "$USER_A" db01 -- 'head -c 20000000 /dev/zero | tr "\0" x; echo; echo unreachable-end' > "$T/o" 2> "$T/e"
    rc=$?
    umount "$SCRATCH/sessions"
    expect_eq "exit status" 70 "$rc"
    expect_match "the user is told" 'recording failed' "$(cat "$T/e")"
    got=$(stat -c %s "$T/o")
    [ "$got" -lt 20000000 ] || fail "all $got bytes went through unrecorded"
    expect_nomatch "the end never reached the user" unreachable-end "$(tail -c 100 "$T/o")"
    expect_match "audit: recording-failure" '"event":"recording-failure"' \
        "$(pcl_audit_new 'select(.event=="recording-failure")')"
else
    echo "recording: cannot mount a tmpfs here; full-disk check not run" >&2
fi

pcl_finish
