#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# mask-live through the real bastion: with it on, the user's own screen
# gets the masked output (held back like the recording, bounded under bulk
# output even when a replacement is longer than what it replaces); with it
# off, the user gets the target's bytes unchanged while the recording is
# masked either way. The mode is in the header and the audit event.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

pcl_require_root_sshd
pcl_require_cmd jq asciinema script expect
CASTVERIFY=$top_builddir/tests/tools/castverify
[ -x "$CASTVERIFY" ] || skip "tests/tools/castverify not built (make check builds it)"
pcl_setup 22290 22291
# A holdback long enough that a secret written in two pieces 100 ms apart
# is still seen whole.
sed -i 's/^\[recording\]$/[recording]\nmask-holdback = 1500ms/' "$SCRATCH/etc/portcullis.conf"
WIDE='<a-replacement-much-longer-than-the-single-byte-it-replaces>'
cat >> "$SCRATCH/etc/policy.conf" <<EOF2

[mask internal-ips]
pattern = \\b10\\.\\d+\\.\\d+\\.\\d+\\b
replace = [internal-ip]

[mask wide]
pattern = Q
replace = $WIDE
EOF2
sed -i "s/^\\[target db01\\]$/[target db01]\\nmask = builtin, internal-ips/" "$SCRATCH/etc/policy.conf"
pcl_policy_target live "$TARGET_PORT" "" "mask = builtin, internal-ips, wide
mask-live = yes"
T=$SCRATCH/t
mkdir -p "$T"

verify() {
    "$CASTVERIFY" "$1" "$SCRATCH/etc/seal.key" | cut -d' ' -f1
}
events() {
    grep -v '^#' "$1" | tail -n +2 | jq -j --arg c "$2" 'select(.[1] == $c) | .[2]'
}
SECRET_LINE='db at 10.20.30.40 key AKIAIOSFODNN7EXAMPLE ok'

trace "mask-live off (the default): the user sees the secret, the recording does not"
pcl_audit_mark
bssh "$USER_A" db01 -- "echo '$SECRET_LINE'" > "$T/o"
expect_eq "exit status" 0 "$?"
expect_eq "user sees the raw output" "$SECRET_LINE" "$(cat "$T/o")"
REC=$(pcl_last_recording)
expect_match "recording masked" 'db at \[internal-ip\] key \*+ ok' "$(events "$REC" o)"
expect_nomatch "no key in the recording" AKIAIOSFODNN7EXAMPLE "$(cat "$REC")"
expect_eq "header mask_live" no "$(head -n 1 "$REC" | jq -r .portcullis.mask_live)"
expect_eq "audit mask_live" '"no"' \
    "$(pcl_audit_new 'select(.event=="recording-end") | .mask_live')"
expect_eq "seal" valid "$(verify "$REC")"

trace "mask-live on: the user's screen is masked too, stdout and stderr"
pcl_audit_mark
bssh "$USER_A" live -- "echo '$SECRET_LINE'; echo 'err AKIAIOSFODNN7EXAMPLE' >&2" > "$T/o" 2> "$T/e"
expect_eq "exit status" 0 "$?"
expect_eq "user sees masked stdout" 'db at [internal-ip] key ******** ok' "$(cat "$T/o")"
expect_eq "user sees masked stderr" 'err ********' "$(cat "$T/e")"
REC=$(pcl_last_recording)
expect_match "recording masked" 'db at \[internal-ip\] key \*+ ok' "$(events "$REC" o)"
expect_nomatch "no key in the recording" AKIAIOSFODNN7EXAMPLE "$(cat "$REC")"
expect_eq "header mask_live" yes "$(head -n 1 "$REC" | jq -r .portcullis.mask_live)"
expect_eq "audit mask_live" '"yes"' \
    "$(pcl_audit_new 'select(.event=="recording-end") | .mask_live')"
pcl_asciinema_ok "$REC" || fail "asciinema cat refuses $REC"
expect_eq "seal" valid "$(verify "$REC")"

trace "mask-live on: a secret written in two pieces is held back and masked"
bssh "$USER_A" live -- "printf 'tok AKIAIOSF'; sleep 0.1; printf 'ODNN7EXAMPLE end\n'" > "$T/o"
expect_eq "exit status" 0 "$?"
expect_eq "user sees it masked" 'tok ******** end' "$(cat "$T/o")"

trace "mask-live on: a partial match is released after the holdback, not lost"
bssh "$USER_A" live -- "printf 'AKIA'; sleep 3; printf 'no more\n'" > "$T/o"
expect_eq "exit status" 0 "$?"
expect_eq "user gets every byte" 'AKIAno more' "$(cat "$T/o")"

trace "mask-live on: bulk output with a longer replacement stays complete"
# 300000 one-byte matches, each replaced by 60 bytes: 18 MB to the user
# for 300 kB from the target; the relay's buffers stay bounded.
bssh "$USER_A" live -- 'head -c 300000 /dev/zero | tr "\0" Q; echo; echo the-end' > "$T/o"
expect_eq "exit status" 0 "$?"
expect_eq "bytes on the user's screen" $((300000 * ${#WIDE} + 1 + 8)) "$(stat -c %s "$T/o")"
expect_eq "no unmasked byte" 0 "$(tr -cd Q < "$T/o" | wc -c)"
expect_eq "last line" the-end "$(tail -n 1 "$T/o")"
REC=$(pcl_last_recording)
expect_eq "seal" valid "$(verify "$REC")"

trace "mask-live on: 5 MiB of random bytes with secrets: the user gets the masked stream"
head -c 5242880 /dev/urandom | base64 -w 76 | sed 's/^\(.\{10\}\)\(.\{20\}\)/\1 AKIAIOSFODNN7EXAMPLE \2/' > "$T/in"
cp "$T/in" /tmp/pcl-mask-live-in.$$ && chmod 0644 /tmp/pcl-mask-live-in.$$
bssh "$USER_A" live -- "cat /tmp/pcl-mask-live-in.$$" > "$T/o"
rc=$?
rm -f /tmp/pcl-mask-live-in.$$
expect_eq "exit status" 0 "$rc"
sed -e 's/AKIAIOSFODNN7EXAMPLE/********/g' -e "s/Q/$WIDE/g" "$T/in" > "$T/want"
cmp -s "$T/want" "$T/o" || fail "the user's masked stream differs from the expected one ($(stat -c %s "$T/o") vs $(stat -c %s "$T/want") bytes)"
REC=$(pcl_last_recording)
expect_eq "seal" valid "$(verify "$REC")"
pcl_asciinema_ok "$REC" || fail "asciinema cat refuses the bulk recording"

trace "mask-live on, interactive: the terminal shows the masked secret"
pcl_bssh_argv "$USER_A"
expect -f - -- "${PCL_ARGV[@]}" > "$T/x" 2>&1 <<'EXP'
set timeout 20
spawn -noecho {*}[lrange $argv 0 end] -tt live
expect -re {\$ $}
# The secret is assembled by the shell, so the echo of the command line
# does not hold it.
send "printf 'k=%s%s\\n' AKIAIOSF ODNN7EXAMPLE\r"
expect {
    "AKIAIOSFODNN7EXAMPLE" { exit 3 }
    "k=********" {}
    timeout { exit 4 }
}
send "exit\r"
expect eof
EXP
expect_eq "expect session (3: secret on screen)" 0 "$?"
REC=$(pcl_last_recording)
expect_nomatch "no key in the recording" AKIAIOSFODNN7EXAMPLE "$(cat "$REC")"
expect_eq "seal" valid "$(verify "$REC")"

pcl_finish
