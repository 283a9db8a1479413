#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# portcullis-replay: playback driven in a real tmux with capture-pane at
# chosen times (idle limit, seek with --at and the keys, resize warning,
# pause and step), escape-sequence safety (title and OSC 52 clipboard do
# not reach the terminal unless --raw), follow mode on a live recording of
# portcullis-rec, casts made by `asciinema rec` played and exported,
# verify on a valid, a truncated, an edited and an unsealed file, list and
# search over an index written by lib/sessindex.c.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

pcl_require_cmd tmux script jq asciinema
REPLAY=$top_builddir/replay/portcullis-replay
REC_BIN=$top_builddir/recorder/portcullis-rec
MKINDEX=$top_builddir/tests/tools/mkindex
[ -x "$REPLAY" ] || skip "replay/portcullis-replay not built"
[ -x "$REC_BIN" ] || skip "recorder/portcullis-rec not built"
[ -x "$MKINDEX" ] || skip "tests/tools/mkindex not built"
pcl_scratch
KEY=$SCRATCH/etc/seal.key
head -c 32 /dev/urandom > "$KEY"
chmod 0600 "$KEY"
T=$SCRATCH/t
mkdir -p "$T"
export LC_ALL=C.UTF-8

# One tmux server for the test, on its own socket; its pid is stopped by
# the cleanup with the others.
TSOCK=$SCRATCH/tmux.sock
tm() { tmux -S "$TSOCK" "$@"; }
tm -f /dev/null new-session -d -s boot -x 80 -y 24 "sleep 600" ||
    fatal "tmux does not start"
PCL_PIDS+=("$(tm display -p -t boot '#{pid}')")
tm set -g set-clipboard on
tm set -g history-limit 0
tm set -g allow-rename on

# run NAME COLSxROWS CMD...: a window running CMD then "REPLAY-END rc".
run() {
    local name=$1 size=$2
    shift 2
    tm new-window -d -n "$name" \
        "$(printf '%q ' "$@"); echo REPLAY-END \$?; sleep 600"
    tm resize-window -t "$name" -x "${size%x*}" -y "${size#*x}" 2>/dev/null
}
screen() { tm capture-pane -p -t "$1"; }
# wait_for NAME ERE SECONDS: until the pane shows it; prints the pane.
wait_for() {
    local i
    for i in $(seq 1 $(($3 * 10))); do
        screen "$1" | grep -Eq -- "$2" && break
        sleep 0.1
    done
    screen "$1"
}

trace "idle limit: a 30 s pause is cut to 1 s by -i"
cat > "$T/idle.cast" <<'EOF'
{"version": 2, "width": 80, "height": 24}
[0.1, "o", "first line\r\n"]
[30.0, "o", "after the long pause\r\n"]
EOF
start=$(date +%s%N)
out=$(run idle 80x24 "$REPLAY" -i 1 "$T/idle.cast"; wait_for idle "REPLAY-END 0" 8)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_match "both lines shown" 'after the long pause' "$out"
expect_match "ended" 'REPLAY-END 0' "$out"
[ "$ms" -lt 6000 ] || fail "idle limit not applied: took $ms ms"

trace "-p without a terminal: refused at once (exit 4), not paused forever"
out=$(timeout 10 "$REPLAY" -p "$T/idle.cast" < /dev/null 2>&1)
rc=$?
expect_eq "-p without a terminal: exit status" 4 "$rc"
expect_match "-p without a terminal: message" '-p needs a terminal' "$out"

trace "the header's idle_time_limit applies; -I ignores it"
cat > "$T/hidle.cast" <<'EOF'
{"version": 2, "width": 80, "height": 24, "idle_time_limit": 0.5}
[0.1, "o", "header idle one\r\n"]
[40.0, "o", "header idle two\r\n"]
EOF
run hidle 80x24 "$REPLAY" "$T/hidle.cast"
expect_match "played within the header's limit" 'header idle two' \
    "$(wait_for hidle 'REPLAY-END 0' 5)"
run hidle2 80x24 "$REPLAY" -I "$T/hidle.cast"
sleep 2
out=$(screen hidle2)
expect_match "first line shown" 'header idle one' "$out"
expect_nomatch "-I waits the whole pause" 'header idle two' "$out"
tm send-keys -t hidle2 q

trace "seek: --at shows the screen as it was then (colours and cursor moves do not matter)"
{
    echo '{"version": 2, "width": 80, "height": 24}'
    for i in $(seq 1 40); do
        printf '[%d.0, "o", "\\u001b[2J\\u001b[H\\u001b[3%dmstep %d\\u001b[0m\\r\\n"]\n' "$i" $((i % 7)) "$i"
    done
} > "$T/steps.cast"
run seek 80x24 "$REPLAY" -p --at 20.5 "$T/steps.cast"
out=$(wait_for seek 'step 20' 3)
expect_match "screen at 20.5 s" '^step 20$' "$out"
expect_nomatch "nothing from later" 'step 21' "$out"

trace "keys: right arrow seeks 5 s forward, left 5 s back, '.' steps one event"
tm send-keys -t seek Right
expect_match "after Right" '^step 25$' "$(wait_for seek '^step 25$' 3)"
tm send-keys -t seek Left Left
expect_match "after Left Left" '^step 15$' "$(wait_for seek '^step 15$' 3)"
tm send-keys -t seek .
expect_match "after a step" '^step 16$' "$(wait_for seek '^step 16$' 3)"
sleep 1.2
expect_match "still paused" '^step 16$' "$(screen seek)"
tm send-keys -t seek ' '
expect_match "resumed" '^step 1[89]$' "$(wait_for seek '^step 1[89]$' 4)"
tm send-keys -t seek q
expect_match "q quits" 'REPLAY-END 0' "$(wait_for seek 'REPLAY-END' 3)"

trace "next marker key: jumps to the marker's time"
cat > "$T/marker.cast" <<'EOF'
{"version": 2, "width": 80, "height": 24}
[0.1, "o", "before marker\r\n"]
[50.0, "m", "here"]
[50.0, "o", "at the marker\r\n"]
[90.0, "o", "long after\r\n"]
EOF
run marker 80x24 "$REPLAY" -p "$T/marker.cast"
sleep 0.5
tm send-keys -t marker ']'
out=$(wait_for marker 'at the marker' 3)
expect_match "at the marker" 'at the marker' "$out"
expect_nomatch "not beyond" 'long after' "$out"
tm send-keys -t marker q

trace "resize: a recording larger than the terminal warns; the r event is respected"
cat > "$T/resize.cast" <<'EOF'
{"version": 2, "width": 80, "height": 24}
[0.1, "o", "small start\r\n"]
[0.2, "r", "132x50"]
[0.3, "o", "wide now\r\n"]
EOF
run resize 80x24 "$REPLAY" "$T/resize.cast"
out=$(wait_for resize 'REPLAY-END' 4)
expect_match "warning" 'recording is 132x50, this terminal 80x24' "$out"
expect_match "played on" 'wide now' "$out"
run resize2 80x24 "$REPLAY" --at 1 "$T/resize.cast"
out=$(wait_for resize2 'REPLAY-END' 4)
expect_match "warning after a seek past the r event" 'recording is 132x50' "$out"

trace "safety: title and OSC 52 clipboard in a recording do not reach the terminal"
cat > "$T/evil.cast" <<'EOF'
{"version": 2, "width": 80, "height": 24}
[0.1, "o", "\u001bkEVILNAME\u001b\\\u001b]2;EVILTITLE\u0007\u001b]52;c;RVZJTENMSVA=\u0007\u001b]8;;http://evil.example/\u0007link\u001b]8;;\u0007 \u001b[5n\u001b[c\u001bP+q544e\u001b\\visible text\r\n"]
EOF
run evil 80x24 "$REPLAY" "$T/evil.cast"
out=$(wait_for evil 'REPLAY-END' 4)
expect_match "text drawn" 'link visible text' "$out"
expect_match "the analyst is told" 'control sequences that act on the terminal were not passed' "$out"
expect_nomatch "no title" 'EVILTITLE' "$(tm display -p -t evil '#{pane_title}')"
expect_eq "no clipboard" "" "$(tm list-buffers 2>/dev/null)"
wins=$(tm list-windows -F '#{window_name}')
expect_match "the window keeps its name (ESC k dropped)" '^evil$' "$wins"
expect_nomatch "no window named by the recording" 'EVILNAME' "$wins"
expect_nomatch "no answer typed back" '0n|\?[0-9;]*c' "$out"
run evilraw 80x24 "$REPLAY" --raw "$T/evil.cast"
# ESC k renames the window itself: look for it among all windows.
for i in $(seq 1 40); do
    raw=$(tm list-windows -F '#{window_name}|#{pane_title}')
    printf '%s\n' "$raw" | grep -q '^EVILNAME|EVILTITLE$' && break
    sleep 0.1
done
expect_match "--raw passes the title and ESC k (the checks can see them)" \
    '^EVILNAME\|EVILTITLE$' "$raw"
expect_match "--raw passes OSC 52" 'EVILCLIP' "$(tm show-buffer 2>/dev/null)"

trace "asciicast v3 and a cast recorded by asciinema itself play"
tm new-window -d -n arec "asciinema rec -q -c 'printf \"\\033[32mfrom asciinema rec\\033[0m\\n\"; sleep 0.3' $T/ai.cast; echo REC-END; sleep 600"
wait_for arec 'REC-END' 15 > /dev/null
[ -s "$T/ai.cast" ] || fail "asciinema rec made no file"
run ai 80x24 "$REPLAY" "$T/ai.cast"
expect_match "asciinema's cast plays" 'from asciinema rec' "$(wait_for ai 'REPLAY-END 0' 5)"
"$REPLAY" export --cast v3 "$T/ai.cast" > "$T/ai3.cast"
expect_eq "converted to v3" 3 "$(head -n 1 "$T/ai3.cast" | jq .version)"
run ai3 80x24 "$REPLAY" "$T/ai3.cast"
expect_match "the v3 copy plays" 'from asciinema rec' "$(wait_for ai3 'REPLAY-END 0' 5)"
"$REPLAY" export --cast v2 "$T/ai3.cast" > "$T/ai2.cast"
pcl_asciinema_ok "$T/ai2.cast" || fail "asciinema refuses the v2 copy"
expect_eq "text of v2 and its v3 copy" "$("$REPLAY" export --text "$T/ai.cast")" \
    "$("$REPLAY" export --text "$T/ai3.cast")"

trace "follow: a live recording of portcullis-rec, to its end"
run live 80x24 "$REC_BIN" -o "$T/live.cast" -k "$KEY" -- \
    sh -c 'echo live one; sleep 2; echo live two; sleep 2; echo live three'
for i in $(seq 1 30); do [ -s "$T/live.cast" ] && break; sleep 0.1; done
run follow 80x24 "$REPLAY" --follow "$T/live.cast"
out=$(wait_for follow 'live two' 6)
expect_match "second line while live" 'live two' "$out"
expect_nomatch "still following" 'REPLAY-END' "$out"
out=$(wait_for follow 'REPLAY-END' 10)
expect_match "third line" 'live three' "$out"
expect_match "follow ends with the session" 'REPLAY-END 0' "$out"

trace "verify: valid, edited, truncated, unsealed, key unknown (exit 0..3)"
"$REPLAY" verify -k "$KEY" "$T/live.cast" > "$T/v.out"
expect_eq "valid" 0 "$?"
expect_match "says valid" ': valid lines=' "$(cat "$T/v.out")"
cp "$T/live.cast" "$T/edit.cast"
cp "$T/live.cast.seal" "$T/edit.cast.seal"
sed -i 's/live two/live TWO/' "$T/edit.cast"
"$REPLAY" verify -k "$KEY" "$T/edit.cast" > "$T/v.out"
expect_eq "edited" 2 "$?"
expect_match "says tampered" 'tampered' "$(cat "$T/v.out")"
head -n 3 "$T/live.cast" > "$T/trunc.cast"
cp "$T/live.cast.seal" "$T/trunc.cast.seal"
"$REPLAY" verify -k "$KEY" "$T/trunc.cast" > /dev/null
expect_eq "truncated" 2 "$?"
head -c 300 "$T/live.cast" > "$T/cut.cast"
"$REPLAY" verify -k "$KEY" "$T/cut.cast" > "$T/v.out"
expect_eq "cut short, no seal" 1 "$?"
expect_match "says unsealed" 'unsealed' "$(cat "$T/v.out")"
head -c 32 /dev/urandom > "$T/other.key"
chmod 0600 "$T/other.key"
"$REPLAY" verify -k "$T/other.key" "$T/live.cast" > /dev/null
expect_eq "another key" 3 "$?"

trace "play checks the seal first: tampered refused (2) unless --force; unsealed warned"
"$REPLAY" -k "$KEY" "$T/edit.cast" < /dev/null > "$T/p.out" 2> "$T/p.err"
expect_eq "tampered: not played" 2 "$?"
expect_match "says why" 'seal does not verify' "$(cat "$T/p.err")"
expect_eq "nothing drawn" "" "$(grep -c 'live TWO' "$T/p.out" | grep -v '^0$')"
"$REPLAY" -k "$KEY" --force "$T/edit.cast" < /dev/null > "$T/p.out" 2> "$T/p.err"
expect_eq "--force plays it" 0 "$?"
expect_match "--force: the edited text shown" 'live TWO' "$(cat "$T/p.out")"
expect_match "--force: warned" 'WARNING: .*seal tampered' "$(cat "$T/p.err")"
"$REPLAY" -k "$KEY" "$T/cut.cast" < /dev/null > /dev/null 2> "$T/p.err"
expect_match "unsealed: played with a warning" 'WARNING: .*seal unsealed' "$(cat "$T/p.err")"
"$REPLAY" -k "$KEY" "$T/live.cast" < /dev/null > /dev/null 2> "$T/p.err"
expect_eq "valid: no warning" "" "$(grep WARNING "$T/p.err")"

trace "list over an index written by lib/sessindex.c; metadata escaped"
IDX=$SCRATCH/index.db
S1=aaaaaaaa000000000000000000000001
S2=bbbbbbbb000000000000000000000002
S3=cccccccc000000000000000000000003
cp "$T/steps.cast" "$T/s1.cast"
cp "$T/live.cast" "$T/s2.cast"
printf '%s\n' \
    "$S1	alice	db01	-	$T/s1.cast	1795900000	1795900060	0" \
    "$S2	bob	web01	psql -c 'DROP TABLE users'	$T/s2.cast	1795990000	1795990100	3" \
    "$S3	alice	web01	evil $(printf '\033]2;PWNED\007')cmd	$T/s2.cast	1796000000	0	-" |
    "$MKINDEX" "$IDX" || fatal "mkindex failed"
out=$("$REPLAY" list --index "$IDX")
expect_match "three sessions" "$S1.*alice.*db01.*\\(shell\\)" "$out"
expect_match "exit column" "$S2.*bob.*web01 +3 " "$out"
expect_match "running session" "$S3.*running.*live" "$out"
expect_match "escape shown escaped" 'evil \\x1b\]2;PWNED\\x07cmd' "$out"
expect_nomatch "no raw ESC in the table" "$(printf '\033')" "$out"
expect_eq "--user" "$S1 $S3" "$("$REPLAY" list --index "$IDX" --user alice --json | jq -r '[.[].session_id] | join(" ")')"
expect_eq "--target and --exit" "$S2" "$("$REPLAY" list --index "$IDX" --target web01 --exit 3 --json | jq -r '.[].session_id')"
expect_eq "--command" "$S2" "$("$REPLAY" list --index "$IDX" --command 'DROP TABLE' --json | jq -r '.[].session_id')"
expect_eq "--since/--until" "$S2" "$("$REPLAY" list --index "$IDX" --since 2026-11-29 --until '2026-11-30 00:53:19' --json | jq -r '.[].session_id')"
expect_eq "json exit_status" 3 "$("$REPLAY" list --index "$IDX" --user bob --json | jq '.[0].exit_status')"

trace "search: rendered text over the index, with times; --at starts there"
out=$("$REPLAY" search --index "$IDX" 'live t(wo|hree)')
expect_eq "search exit" 0 "$?"
expect_match "hit in s2" "^$S2  00:00:0[0-9]\\.[0-9]{3} +[0-9]+  live two" "$out"
expect_match "hit in s3 too" "^$S3 .*live three" "$out"
out=$("$REPLAY" search --index "$IDX" --user alice '^step 3[0-9]$')
expect_eq "ten screens, each reported once" 10 "$(printf '%s\n' "$out" | grep -c "^$S1")"
expect_match "time of step 33" "^$S1  00:00:33\\.000 +1  step 33" "$out"
"$REPLAY" search --index "$IDX" 'never shown anywhere' > /dev/null
expect_eq "no match: exit 1" 1 "$?"
printf '{"version": 2, "width": 80, "height": 24}\n[1.0, "o", "DR\\u001b[31mOP\\u001b[0m TA"]\n[1.5, "o", "\\u001b[8GBLE x\\r\\n"]\n' > "$T/split.cast"
expect_match "colour codes and cursor moves do not hide it" '00:00:01\.500 +1  DROP TABLE x' \
    "$("$REPLAY" search 'DROP TABLE' "$T/split.cast")"
t=$("$REPLAY" search --index "$IDX" --json '^step 12$' | jq -r '.[0].time')
run at 80x24 "$REPLAY" --index "$IDX" -p --at "$t" "${S1:0:8}"
expect_match "ID prefix and --at from search" '^step 12$' "$(wait_for at '^step 12$' 3)"
tm send-keys -t at q

trace "export --text: the screen's text; metadata escaped"
out=$("$REPLAY" export --text "$T/live.cast")
expect_match "lines" 'live one' "$out"
expect_match "header facts" '^# session_id: [0-9a-f]{32}$' "$out"
expect_eq "exported text equals what the pane showed" \
    "$(printf 'live one\nlive two\nlive three')" "$(printf '%s\n' "$out" | grep '^live')"

pcl_finish
