#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# portcullis-rec: the recorder around a local command, with a terminal
# (script gives it one) and without; the recording is sealed, parsed by
# Debian's asciinema, and carries the exit status or signal.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

pcl_require_cmd script jq asciinema
REC_BIN=$top_builddir/recorder/portcullis-rec
CASTVERIFY=$top_builddir/tests/tools/castverify
[ -x "$REC_BIN" ] || skip "recorder/portcullis-rec not built"
[ -x "$CASTVERIFY" ] || skip "tests/tools/castverify not built"
pcl_scratch
KEY=$SCRATCH/etc/seal.key
head -c 32 /dev/urandom > "$KEY"
chmod 0600 "$KEY"
T=$SCRATCH/t
mkdir -p "$T"

events() {
    grep -v '^#' "$1" | tail -n +2 | jq -j --arg c "$2" 'select(.[1] == $c) | .[2]'
}

trace "a command on a terminal: output recorded, exit status kept, sealed"
script -qec "$REC_BIN -o $T/a.cast -k $KEY -- sh -c 'echo hello from rec; exit 4'" /dev/null \
    < /dev/null > "$T/a.out" 2>&1
expect_eq "exit status" 4 "$?"
expect_match "the user saw the output" 'hello from rec' "$(cat "$T/a.out")"
expect_match "recorded output" 'hello from rec' "$(events "$T/a.cast" o)"
expect_match "exit marker" 'exit:4' "$(events "$T/a.cast" m)"
expect_eq "seal" valid "$("$CASTVERIFY" "$T/a.cast" "$KEY" | cut -d' ' -f1)"
pcl_asciinema_ok "$T/a.cast" || fail "asciinema cat refuses $T/a.cast"

trace "piped input reaches the command; built-in masking applies"
printf 'token AKIAIOSFODNN7EXAMPLE\n' | "$REC_BIN" -o "$T/b.cast" -k "$KEY" -- head -n 1 > "$T/b.out"
expect_eq "exit status" 0 "$?"
expect_match "the user saw it raw" 'AKIAIOSFODNN7EXAMPLE' "$(cat "$T/b.out")"
expect_nomatch "the recording did not keep it" 'AKIAIOSFODNN7EXAMPLE' "$(cat "$T/b.cast")"
expect_eq "seal" valid "$("$CASTVERIFY" "$T/b.cast" "$KEY" | cut -d' ' -f1)"

trace "death by signal: 128+N and an exit-signal marker"
script -qec "$REC_BIN -o $T/c.cast -k $KEY -- sh -c 'kill -TERM \$\$'" /dev/null < /dev/null > /dev/null 2>&1
rc=$?
expect_match "exit status 143 (script reports the signal its child died of)" '^(143|15)$' "$rc"
expect_match "signal marker" 'exit-signal:TERM' "$(events "$T/c.cast" m)"

trace "asciicast v3 on request: x event, seal in a comment line"
script -qec "$REC_BIN -F asciicast-v3 -o $T/d.cast -k $KEY -- sh -c 'echo v3; exit 2'" /dev/null < /dev/null > /dev/null 2>&1
expect_eq "exit status" 2 "$?"
expect_eq "version" 3 "$(head -n 1 "$T/d.cast" | jq .version)"
expect_eq "x event" 2 "$(events "$T/d.cast" x)"
expect_match "seal comment" '^# \{"portcullis-seal"' "$(tail -n 1 "$T/d.cast")"
expect_eq "seal" valid "$("$CASTVERIFY" "$T/d.cast" "$KEY" | cut -d' ' -f1)"

trace "an existing file is never overwritten"
"$REC_BIN" -o "$T/a.cast" -k "$KEY" -- true 2> "$T/e.err"
expect_eq "exit status" 70 "$?"
expect_match "message" 'File exists' "$(cat "$T/e.err")"

pcl_finish
