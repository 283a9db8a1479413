#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# What the bastion refuses, with which exit status and which words:
#   77  unknown target / not allowed (one message for both; reason in audit)
#   255 target leg failed: changed host key, no common algorithm, refused
#       credential, target down
#   64  smuggling attempts in SSH_ORIGINAL_COMMAND (nothing runs anywhere)
#   78  broken config or unsafe permissions (generic message; file:line in
#       the proxy log)
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

pcl_require_root_sshd
pcl_require_cmd jq
pcl_setup 22268 22269
WEAKKEX_PORT=22270
WEAKCIPHER_PORT=22271
pcl_start_target "KexAlgorithms diffie-hellman-group14-sha1" weakkex "$WEAKKEX_PORT"
pcl_start_target "Ciphers aes128-cbc" weakcipher "$WEAKCIPHER_PORT"
mkdir -p "$SCRATCH/other"
pcl_keygen "$SCRATCH/other/host_ed25519"
pcl_policy_target wrongkey "$TARGET_PORT" "$SCRATCH/other/host_ed25519.pub"
pcl_policy_target weakkex "$WEAKKEX_PORT" "$SCRATCH/weakkex/host_ed25519.pub"
pcl_policy_target weakcipher "$WEAKCIPHER_PORT" "$SCRATCH/weakcipher/host_ed25519.pub"
# Nothing listens on port 1 of the loopback: connection refused.
pcl_policy_target down 1
CONF=$SCRATCH/etc/portcullis.conf
POLICY=$SCRATCH/etc/policy.conf
T=$SCRATCH/t
mkdir -p "$T"

# req NAME USER SSH-ARGS...: one request; RC, OUT, ERR set.
req() {
    local n=$1
    shift
    bssh "$@" < /dev/null > "$T/$n.out" 2> "$T/$n.err"
    RC=$?
    OUT=$(cat "$T/$n.out")
    ERR=$(cat "$T/$n.err")
}

# deny_message TARGET: what every denied user reads (spec).
deny_message() {
    printf "portcullis: access to '%s' denied (unknown target or not allowed)" "$1"
}

# expect_audit WHAT JQ-FILTER [JQ-ARGS]: at least one event written since
# pcl_audit_mark matches.
expect_audit() {
    local what=$1 ev
    shift
    ev=$(pcl_audit_new "$@")
    if [ -z "$ev" ]; then
        fail "audit: no $what event since the request; new events:
$(pcl_show "$(tail -c +"$((PCL_AUDIT_OFF + 1))" "$SCRATCH/log/audit.json")")"
    fi
}

trace "control: db01 is reachable for $USER_A"
req ok "$USER_A" db01 -- echo ok
expect_eq "exit status ($ERR)" 0 "$RC"
expect_eq "stdout" ok "$OUT"

trace "unknown target: 77, the generic message, audit decision deny"
pcl_audit_mark
req unknown "$USER_A" nosuch -- id
expect_eq "exit status" 77 "$RC"
expect_eq "stderr" "$(deny_message nosuch)" "$ERR"
expect_eq "stdout" "" "$OUT"
expect_audit "decision deny for nosuch" \
    'select(.event=="decision" and .decision=="deny" and .target=="nosuch" and .user==$u)' \
    --arg u "$USER_A"
reason_unknown=$(pcl_audit_new 'select(.event=="decision") | .reason' -r)

trace "user not allowed ($USER_B on db01, excluded by !user:): 77, same message"
pcl_audit_mark
logins=$(pcl_target_logins)
req notallowed "$USER_B" db01 -- id
expect_eq "exit status" 77 "$RC"
expect_eq "stderr" "$(deny_message db01)" "$ERR"
expect_audit "decision deny for $USER_B on db01" \
    'select(.event=="decision" and .decision=="deny" and .target=="db01" and .user==$u)' \
    --arg u "$USER_B"
reason_denied=$(pcl_audit_new 'select(.event=="decision") | .reason' -r)
expect_eq "target logins (the target was not contacted)" "$logins" "$(pcl_target_logins)"
[ -n "$reason_unknown" ] && [ -n "$reason_denied" ] &&
    [ "$reason_unknown" != "$reason_denied" ] ||
    fail "audit reasons must tell unknown from not allowed: '$reason_unknown' vs '$reason_denied'"

trace "interactive request of a denied user: same 77 and message"
req notallowed_i "$USER_B" db01
expect_eq "exit status" 77 "$RC"
expect_eq "stderr" "$(deny_message db01)" "$(grep -v '^Pseudo-terminal will not be allocated' "$T/notallowed_i.err")"

trace "account not in the target's accounts (root@db01): 77, same message"
pcl_audit_mark
req badacct "$USER_A" root@db01 -- id
expect_eq "exit status" 77 "$RC"
expect_eq "stderr" "$(deny_message db01)" "$ERR"
expect_audit "decision deny for root@db01" \
    'select(.event=="decision" and .decision=="deny" and .target=="db01")'

trace "changed host key: 255, message about the host key, no login on the target"
pcl_audit_mark
logins=$(pcl_target_logins)
req wrongkey "$USER_A" wrongkey -- id
expect_eq "exit status" 255 "$RC"
expect_match "message" '^portcullis: .*[Hh]ost key' "$ERR"
expect_eq "stdout" "" "$OUT"
expect_eq "target logins (refused before authenticating)" "$logins" "$(pcl_target_logins)"
expect_audit "connect-failure for wrongkey" \
    'select(.event=="connect-failure" and .target=="wrongkey")'

trace "target offers only diffie-hellman-group14-sha1: 255, no common algorithm"
pcl_audit_mark
req weakkex "$USER_A" weakkex -- id
expect_eq "exit status" 255 "$RC"
expect_match "message" '^portcullis: .*[Nn]o common .*algorithm' "$ERR"
expect_eq "target logins" 0 "$(pcl_target_logins weakkex)"
expect_audit "connect-failure for weakkex" \
    'select(.event=="connect-failure" and .target=="weakkex")'

trace "target offers only aes128-cbc: 255, no common algorithm"
pcl_audit_mark
req weakcipher "$USER_A" weakcipher -- id
expect_eq "exit status" 255 "$RC"
expect_match "message" '^portcullis: .*[Nn]o common .*algorithm' "$ERR"
expect_eq "target logins" 0 "$(pcl_target_logins weakcipher)"
expect_audit "connect-failure for weakcipher" \
    'select(.event=="connect-failure" and .target=="weakcipher")'

trace "target refuses the vaulted key: 255, message about authentication"
pcl_audit_mark
mv "$SCRATCH/target_keys/$USER_B" "$SCRATCH/target_keys/$USER_B.off"
req noauth "$USER_A" "$USER_B@db01" -- id
mv "$SCRATCH/target_keys/$USER_B.off" "$SCRATCH/target_keys/$USER_B"
expect_eq "exit status" 255 "$RC"
expect_match "message" '^portcullis: .*([Aa]uthenticat|credential)' "$ERR"
expect_audit "connect-failure for $USER_B@db01" \
    'select(.event=="connect-failure" and .target=="db01" and .account==$a)' \
    --arg a "$USER_B"

trace "target down (connection refused): 255, message"
pcl_audit_mark
req down "$USER_A" down -- id
expect_eq "exit status" 255 "$RC"
expect_match "message" '^portcullis: ' "$ERR"
expect_audit "connect-failure for down" \
    'select(.event=="connect-failure" and .target=="down")'

# Smuggling: each would run `touch $PWN/N` somewhere if any shell saw it.
PWN=$SCRATCH/pwn
mkdir -p "$PWN"
chmod 1777 "$PWN"
long=$(printf 'a%.0s' $(seq 1 65))
n=0
while IFS= read -r line; do
    n=$((n + 1))
    # \n and \001 in the table stand for a newline and a control char.
    attempt=$(printf '%b' "${line//@PWN@/$PWN}")
    trace "smuggling attempt $n: $(printf '%q' "$attempt"): 64, nothing runs"
    pcl_audit_mark
    logins=$(pcl_target_logins)
    # "--": the local ssh must not take "-o..." as its own option; it
    # sends the rest verbatim as the command.
    req "smuggle$n" "$USER_A" -- "$attempt"
    expect_eq "exit status" 64 "$RC"
    expect_match "message" '^portcullis: ' "$ERR"
    expect_eq "stdout" "" "$OUT"
    expect_eq "target logins" "$logins" "$(pcl_target_logins)"
    expect_audit "decision deny" 'select(.event=="decision" and .decision=="deny")'
done <<EOF
-oProxyCommand=touch @PWN@/1
db01;touch @PWN@/2
\$(touch @PWN@/3)@db01
db01|touch @PWN@/4
'db01'
db01\\ntouch @PWN@/6
db01&touch @PWN@/7
\`touch @PWN@/8\`
db01>@PWN@/9
db01\\001
a@b@db01
$long
../db01
--help
EOF
trace "no smuggled command created a file"
expect_eq "files in $PWN" "" "$(ls -A "$PWN")"

# Configuration errors: the user learns nothing, the log says where.
GENERIC="portcullis: configuration error; contact the bastion administrators"
cp "$CONF" "$T/good.conf"
cp "$POLICY" "$T/good.policy"
restore() {
    install -o root -g root -m 0644 "$T/good.conf" "$CONF"
    install -o root -g root -m 0644 "$T/good.policy" "$POLICY"
    chmod 0640 "$SCRATCH/keys/db01"
    chmod 0750 "$SCRATCH/keys"
}

trace "unknown key in portcullis.conf: 78, generic message, file:line in the proxy log"
line=$(($(grep -n '^\[proxy\]$' "$CONF" | cut -d: -f1) + 1))
sed -i '/^\[proxy\]$/a no-such-key = 1' "$CONF"
: > "$SCRATCH/proxy.log"
req badconf "$USER_A" db01 -- id
restore
expect_eq "exit status" 78 "$RC"
expect_eq "stderr" "$GENERIC" "$ERR"
expect_match "proxy log" "$CONF:$line: .*no-such-key" "$(cat "$SCRATCH/proxy.log")"

trace "unknown key in policy.conf: 78, generic message, file:line in the proxy log"
printf 'no-such-key = 1\n' >> "$POLICY"
line=$(wc -l < "$POLICY")
: > "$SCRATCH/proxy.log"
req badpolicy "$USER_A" db01 -- id
restore
expect_eq "exit status" 78 "$RC"
expect_eq "stderr" "$GENERIC" "$ERR"
expect_match "proxy log" "$POLICY:$line: .*no-such-key" "$(cat "$SCRATCH/proxy.log")"

trace "world-writable policy.conf: 78, generic message"
chmod 0666 "$POLICY"
: > "$SCRATCH/proxy.log"
req wwpolicy "$USER_A" db01 -- id
restore
expect_eq "exit status" 78 "$RC"
expect_eq "stderr" "$GENERIC" "$ERR"
expect_match "proxy log names the file" "$POLICY" "$(cat "$SCRATCH/proxy.log")"

trace "credential readable by others (0644): 78, generic message"
chmod 0644 "$SCRATCH/keys/db01"
: > "$SCRATCH/proxy.log"
req wwkey "$USER_A" db01 -- id
restore
expect_eq "exit status" 78 "$RC"
expect_eq "stderr" "$GENERIC" "$ERR"
expect_match "proxy log names the file" "$SCRATCH/keys/db01" "$(cat "$SCRATCH/proxy.log")"

trace "credentials directory writable by the group (0770): 78, generic message"
chmod 0770 "$SCRATCH/keys"
: > "$SCRATCH/proxy.log"
req gwdir "$USER_A" db01 -- id
restore
expect_eq "exit status" 78 "$RC"
expect_eq "stderr" "$GENERIC" "$ERR"
expect_match "proxy log names the directory" "$SCRATCH/keys" "$(cat "$SCRATCH/proxy.log")"

trace "after restoring the files, db01 works again"
req ok2 "$USER_A" db01 -- echo ok
expect_eq "exit status ($ERR)" 0 "$RC"

pcl_finish
