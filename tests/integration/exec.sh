#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Exec requests through the bastion (`ssh bastion TARGET [--] CMD`) behave
# like a direct ssh to the target: separate stdout/stderr, exit status and
# death by signal passed through, binary-exact data both ways, no output
# lost when the command exits at once, and the command reaches the target's
# shell verbatim.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

pcl_require_root_sshd
pcl_require_cmd jq sha256sum
pcl_setup 22264 22265
pcl_policy_target db02 "$TARGET_PORT"
pcl_policy_target secret01 "$TARGET_PORT" "" "allow = user:$USER_B"
T=$SCRATCH/t
mkdir -p "$T"

# via_bastion NAME USER SSH-ARGS... / direct NAME ACCOUNT SSH-ARGS...:
# run with stdin from $T/in (or /dev/null), stdout/stderr/status kept
# in $T/NAME.out, .err, .rc.
via_bastion() {
    local n=$1
    shift
    bssh "$@" < "${STDIN:-/dev/null}" > "$T/$n.out" 2> "$T/$n.err"
    echo $? > "$T/$n.rc"
}
direct() {
    local n=$1
    shift
    tssh "$@" < "${STDIN:-/dev/null}" > "$T/$n.out" 2> "$T/$n.err"
    echo $? > "$T/$n.rc"
}

# same_file WHAT A B: byte-exact comparison with a readable report.
same_file() {
    if ! cmp -s "$2" "$3"; then
        fail "$1: $(basename "$2") and $(basename "$3") differ:
$(diff <(head -c 4000 "$2" | cat -A) <(head -c 4000 "$3" | cat -A) | head -n 30)"
        return 1
    fi
}

# same_as_direct WHAT B D: outputs and status of runs B and D are equal.
same_as_direct() {
    same_file "$1: stdout" "$T/$3.out" "$T/$2.out"
    same_file "$1: stderr" "$T/$3.err" "$T/$2.err"
    expect_eq "$1: exit status" "$(cat "$T/$3.rc")" "$(cat "$T/$2.rc")"
}

trace "stdout and stderr are separate streams, each byte-exact"
CMD='echo out1; echo err1 >&2; printf "out2"; printf "err2\n\tx" >&2'
via_bastion sep "$USER_A" db01 -- "$CMD"
printf 'out1\nout2' > "$T/sep.want.out"
printf 'err1\nerr2\n\tx' > "$T/sep.want.err"
same_file "stdout" "$T/sep.want.out" "$T/sep.out"
same_file "stderr" "$T/sep.want.err" "$T/sep.err"
expect_eq "exit status" 0 "$(cat "$T/sep.rc")"
direct sepd "$USER_A" "$CMD"
same_as_direct "same as direct ssh" sep sepd

trace "exit status passed through: 0 1 3 42 255"
for s in 0 1 3 42 255; do
    via_bastion "st$s" "$USER_A" db01 -- "echo bye >&2; exit $s"
    expect_eq "exit $s" "$s" "$(cat "$T/st$s.rc")"
    expect_eq "stderr with exit $s" "bye" "$(cat "$T/st$s.err")"
done

for sig in TERM KILL HUP; do
    trace "death by SIG$sig: same exit status and stderr as a direct ssh, sent as exit-signal"
    CMD="echo before; kill -$sig \$\$; echo after"
    via_bastion "sig$sig" "$USER_A" db01 -- "$CMD"
    direct "sig${sig}d" "$USER_A" "$CMD"
    same_as_direct "killed by SIG$sig" "sig$sig" "sig${sig}d"
    # ssh -v names the channel request that ended the command: the
    # target's exit-signal must reach the client as exit-signal too.
    via_bastion "sigv$sig" "$USER_A" -v db01 -- "$CMD"
    direct "sigv${sig}d" "$USER_A" -v "$CMD"
    expect_eq "exit-status/exit-signal requests seen by ssh -v" \
        "$(grep -o 'rtype exit-[a-z]*' "$T/sigv${sig}d.err")" \
        "$(grep -o 'rtype exit-[a-z]*' "$T/sigv$sig.err")"
done
ev=$(pcl_audit_events 'select(.event=="session-end" and .exit_signal=="TERM")')
[ -n "$ev" ] || fail "no session-end audit event with exit_signal TERM"

trace "64 MiB of random data through stdin and back (cat), byte-exact"
head -c 64M /dev/urandom > "$T/big"
pcl_audit_mark
STDIN=$T/big via_bastion big "$USER_A" db01 -- cat
expect_eq "exit status ($(head -c 300 "$T/big.err"))" 0 "$(cat "$T/big.rc")"
expect_eq "size" "$(stat -c %s "$T/big")" "$(stat -c %s "$T/big.out")"
expect_eq "sha256" "$(sha256sum < "$T/big")" "$(sha256sum < "$T/big.out")"
expect_eq "stderr" "" "$(cat "$T/big.err")"
ev=$(pcl_audit_new 'select(.event=="session-end")')
expect_eq "session-end bytes_in/bytes_out/bytes_err" "67108864 67108864 0" \
    "$(printf '%s\n' "$ev" | jq -r '"\(.bytes_in) \(.bytes_out) \(.bytes_err)"' 2>&1)"
rm -f "$T/big" "$T/big.out"

trace "the command exits without reading 8 MiB of stdin: no hang, status kept"
head -c 8M /dev/urandom > "$T/unread"
STDIN=$T/unread via_bastion unread "$USER_A" db01 -- 'head -c 10 > /dev/null; echo read10; exit 6'
STDIN=$T/unread direct unreadd "$USER_A" 'head -c 10 > /dev/null; echo read10; exit 6'
same_as_direct "unread stdin" unread unreadd
expect_eq "exit status" 6 "$(cat "$T/unread.rc")"

trace "the local reader of stdout goes away: ssh ends like a direct one"
bssh "$USER_A" db01 -- cat < "$T/unread" 2> "$T/gone1.err" | head -c 100 > /dev/null
rc_b=${PIPESTATUS[0]}
tssh "$USER_A" cat < "$T/unread" 2> "$T/gone1d.err" | head -c 100 > /dev/null
rc_d=${PIPESTATUS[0]}
# ssh dies of SIGPIPE (141) when it writes after the reader left, or
# reports 255 when the session closes first: a race that a direct ssh
# has too, so either ends it; what must not happen is a hang (124).
expect_match "direct ssh ends (timeout gives 124)" '^(141|255)$' "$rc_d"
expect_match "ssh through the bastion ends (timeout gives 124)" '^(141|255)$' "$rc_b"
rm -f "$T/unread"

trace "stdin EOF reaches the target (cat ends, the command goes on)"
printf 'abc' > "$T/abc"
STDIN=$T/abc via_bastion eof "$USER_A" db01 -- 'cat; echo " eof-seen"'
expect_eq "stdout" "abc eof-seen" "$(cat "$T/eof.out")"
expect_eq "exit status" 0 "$(cat "$T/eof.rc")"

trace "ssh -n: no stdin, no hang"
via_bastion n "$USER_A" -n db01 -- 'cat; echo done'
expect_eq "stdout" "done" "$(cat "$T/n.out")"
expect_eq "exit status" 0 "$(cat "$T/n.rc")"

trace "instant exit after much output: nothing lost (seq, both streams)"
via_bastion seq "$USER_A" db01 -- 'seq 1 200000; seq 1 50000 >&2; exit 5'
seq 1 200000 > "$T/seq.want.out"
seq 1 50000 > "$T/seq.want.err"
same_file "stdout" "$T/seq.want.out" "$T/seq.out"
same_file "stderr" "$T/seq.want.err" "$T/seq.err"
expect_eq "exit status" 5 "$(cat "$T/seq.rc")"

trace "instant exit after 100000 bytes printed by one printf"
via_bastion xs "$USER_A" db01 -- "printf 'x%.0s' \$(seq 1 100000)"
expect_eq "only x, 100000 of them" "0 100000" \
    "$(tr -d x < "$T/xs.out" | wc -c | tr -d ' ') $(wc -c < "$T/xs.out" | tr -d ' ')"

trace "instant exit after 1 MiB of base64"
via_bastion b64 "$USER_A" db01 -- 'head -c 1M /dev/urandom | base64; echo END'
expect_eq "size" "$(($(head -c 1M /dev/zero | base64 | wc -c) + 4))" \
    "$(wc -c < "$T/b64.out" | tr -d ' ')"
expect_eq "last line" "END" "$(tail -n 1 "$T/b64.out")"
expect_eq "exit status" 0 "$(cat "$T/b64.rc")"

# Each command: the output through the bastion equals a direct ssh's, in
# both request forms `TARGET -- CMD` and `TARGET CMD`.
i=0
while IFS= read -r CMD; do
    i=$((i + 1))
    trace "verbatim command $i: $CMD"
    direct "q${i}d" "$USER_A" "$CMD"
    via_bastion "q${i}a" "$USER_A" db01 -- "$CMD"
    same_as_direct "db01 -- CMD" "q${i}a" "q${i}d"
    via_bastion "q${i}b" "$USER_A" db01 "$CMD"
    same_as_direct "db01 CMD" "q${i}b" "q${i}d"
done <<'EOF'
echo "a  b" $HOME
printf '[%s]\n' "a  b" 'c  d' e\ \ f "$((6*7))" '$((6*7))'
printf '[%s]\n' "tab	tab" x	y
echo a -- b; echo -- c
echo héllo wörld; echo "\\" '\\'
cd /etc && echo host*; echo ~
x=1; [ "$x" = 1 ] && echo "yes $x" || echo no; (exit 4)
   echo leading-spaces
echo "semi;colon" 'pipe|bar' "amp&" dollar\$ `echo back`
EOF

trace "db01 --    CMD: the blanks after -- are not part of the command"
via_bastion lead "$USER_A" db01 -- "   echo x"
expect_eq "stdout" "x" "$(cat "$T/lead.out")"

trace "db01 -- CMD containing a newline reaches the shell as two lines"
via_bastion nl "$USER_A" db01 -- $'echo one\necho two'
direct nld "$USER_A" $'echo one\necho two'
same_as_direct "newline in command" nl nld

trace "exec with -tt gets a PTY on the target, without -t none (as direct)"
CMD='if [ -t 0 ]; then echo tty-yes; else echo tty-no; fi; echo "T=$TERM"; echo err >&2'
TERM=vt220 via_bastion ptyt "$USER_A" -tt db01 -- "$CMD"
TERM=vt220 direct ptytd "$USER_A" -tt "$CMD"
same_as_direct "with -tt" ptyt ptytd
expect_match "pty" '^tty-yes' "$(cat "$T/ptyt.out")"
via_bastion ptyn "$USER_A" -T db01 -- "$CMD"
direct ptynd "$USER_A" -T "$CMD"
same_as_direct "with -T" ptyn ptynd
expect_match "no pty" '^tty-no' "$(cat "$T/ptyn.out")"

trace "the client goes away mid-command: the proxy ends, session-end end=client"
pcl_audit_mark
pcl_bssh_argv "$USER_A"
"${PCL_ARGV[@]}" db01 -- 'echo started; exec sleep 30' < /dev/null > "$T/gone.out" 2>&1 &
client=$!
started() {
    [ -n "$(pcl_audit_new 'select(.event=="session-start" and .command=="echo started; exec sleep 30") | .pid' -r)" ] &&
        grep -q started "$T/gone.out"
}
if pcl_wait_for 15 started; then
    proxy=$(pcl_audit_new 'select(.event=="session-start" and .command=="echo started; exec sleep 30") | .pid' -r)
    kill -TERM "$client"
    wait "$client" 2>/dev/null
    pcl_wait_for 10 pcl_not_running "$proxy" ||
        fail "proxy pid $proxy still running 10 s after its client went away"
    ev=$(pcl_audit_new 'select(.event=="session-end" and .pid==$p) | .end' -r --arg p "$proxy")
    expect_eq "session-end end" client "$ev"
else
    kill -TERM "$client" 2>/dev/null
    wait "$client" 2>/dev/null
    fail "session never started: $(cat "$T/gone.out")"
fi

trace "ACCOUNT@TARGET picks the account; the default is the first listed"
via_bastion acct_default "$USER_A" db01 -- id -un
expect_eq "default account" "$USER_A" "$(cat "$T/acct_default.out")"
via_bastion acct_b "$USER_A" "$USER_B@db01" -- id -un
expect_eq "$USER_B@db01" "$USER_B" "$(cat "$T/acct_b.out")"
via_bastion acct_b2 "$USER_A" "$USER_B@db01" id -un
expect_eq "$USER_B@db01 (no --)" "$USER_B" "$(cat "$T/acct_b2.out")"

trace "no command, no PTY: the allowed targets, NAME<TAB>DESCRIPTION"
printf 'db01\ttest target db01\ndb02\ttest target db02\n' > "$T/list.want"
via_bastion list "$USER_A" -T
same_file "list" "$T/list.want" "$T/list.out"
expect_eq "exit status" 0 "$(cat "$T/list.rc")"
expect_eq "stderr" "" "$(cat "$T/list.err")"

trace "the list verb gives the same list"
via_bastion listv "$USER_A" list
same_file "list verb" "$T/list.want" "$T/listv.out"
expect_eq "exit status" 0 "$(cat "$T/listv.rc")"

trace "the help verb: exit 0 with some text"
via_bastion help "$USER_A" help
expect_eq "exit status" 0 "$(cat "$T/help.rc")"
[ -s "$T/help.out" ] || [ -s "$T/help.err" ] || fail "help printed nothing"

trace "a reserved verb (watch) is not implemented yet: exit 64"
via_bastion approve "$USER_A" watch
expect_eq "exit status" 64 "$(cat "$T/approve.rc")"
expect_match "message" '^portcullis: ' "$(cat "$T/approve.err")"

pcl_finish
