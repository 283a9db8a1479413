#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# `portcullis -t`: a good portcullis.conf + policy.conf pass (exit 0, no
# output); each broken one is reported as "file:line: message" with the
# line of the mistake, and exit 1.  Unsafe permissions are refused when the
# proxy runs set-id, as it does under sshd.  No sshd needed.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (test users, setgid install)"
pcl_require_cmd setpriv ssh-keygen
pcl_scratch
pcl_create_users
pcl_make_keys
pcl_install_proxy
# A target host key to pin; no target sshd runs in this test.
TARGET_PORT=22261
mkdir -p "$SCRATCH/target"
pcl_keygen "$SCRATCH/target/host_ed25519"

PROXY=$SCRATCH/bin/portcullis
CONF=$SCRATCH/etc/portcullis.conf
POLICY=$SCRATCH/etc/policy.conf

# Good files; each case starts from them again.
pcl_write_conf
pcl_policy_begin
pcl_policy_target db01 "$TARGET_PORT"
pcl_policy_target app01 "$TARGET_PORT" "" "accounts = %u"
cp "$CONF" "$SCRATCH/good.conf"
cp "$POLICY" "$SCRATCH/good.policy"

restore() {
    install -o root -g root -m 0644 "$SCRATCH/good.conf" "$CONF"
    install -o root -g root -m 0644 "$SCRATCH/good.policy" "$POLICY"
}

# run_check [AS_USER]: runs `portcullis -t -f $CONF` (as root, or as a
# test user through the setgid binary); sets RC, OUT, ERR.
run_check() {
    if [ $# -gt 0 ]; then
        setpriv --reuid="$1" --regid="$(id -g "$1")" --init-groups \
            "$PROXY" -t -f "$CONF" > "$SCRATCH/out" 2> "$SCRATCH/err"
    else
        "$PROXY" -t -f "$CONF" > "$SCRATCH/out" 2> "$SCRATCH/err"
    fi
    RC=$?
    OUT=$(cat "$SCRATCH/out")
    ERR=$(cat "$SCRATCH/err")
}

# append FILE LINE...: appends lines; LINENO_OF is the line number of the
# first one appended.
append() {
    local f=$1
    shift
    LINENO_OF=$(($(wc -l < "$f") + 1))
    printf '%s\n' "$@" >> "$f"
}

# insert_after HEADER FILE TEXT: inserts the line TEXT right after the line
# HEADER (exact); LINENO_OF is its line number.
insert_after() {
    local h
    h=$(grep -nxF -- "$1" "$2" | head -n 1 | cut -d: -f1)
    [ -n "$h" ] || fatal "no line '$1' in $2"
    sed -i "${h}a\\
$3" "$2"
    LINENO_OF=$((h + 1))
}

# expect_diag FILE LINE [TOKEN]: -t exits 1 and reports FILE:LINE (TOKEN,
# when given, in that message); every other stderr line is either another
# report for that same line or a "portcullis: " summary, so a mistake is
# reported once, on its own line, and nowhere else.
expect_diag() {
    local file=$1 line=$2 token=${3:-} l ok=0 stray=
    expect_eq "exit status" 1 "$RC"
    while IFS= read -r l; do
        case $l in
        "$file:$line: "?*)
            if [ -z "$token" ] || [[ $l == *"$token"* ]]; then
                ok=1
            fi
            ;;
        "portcullis: "*) ;;
        *) stray="$stray$l"$'\n' ;;
        esac
    done <<< "$ERR"
    [ "$ok" = 1 ] ||
        fail "no \"$file:$line: ...${token:+$token...}\" diagnostic; stderr was:
$(pcl_show "$ERR")"
    [ -z "$stray" ] ||
        fail "unexpected diagnostics besides $file:$line:
$(pcl_show "$stray")"
    expect_eq "stdout of -t" "" "$OUT"
}

trace "good portcullis.conf and policy.conf: exit 0, silent"
restore
run_check
expect_eq "exit status" 0 "$RC"
expect_eq "stderr" "" "$ERR"
expect_eq "stdout" "" "$OUT"

trace "good files, checked as a user through the setgid binary: exit 0"
run_check "$USER_A"
expect_eq "exit status" 0 "$RC"
expect_eq "stderr" "" "$ERR"

trace "portcullis.conf: unknown key"
restore
insert_after '[proxy]' "$CONF" "no-such-key = 1"
run_check
expect_diag "$CONF" "$LINENO_OF" "no-such-key"

trace "portcullis.conf: unknown section"
restore
append "$CONF" "[bogus-section]"
run_check
expect_diag "$CONF" "$LINENO_OF" "bogus-section"

trace "portcullis.conf: bad duration"
restore
sed -i 's/^connect-timeout = .*/connect-timeout = 10 parsecs/' "$CONF"
run_check
expect_diag "$CONF" "$(grep -n '^connect-timeout' "$CONF" | cut -d: -f1)" \
    "connect-timeout"

trace "portcullis.conf: durations 10, 10s, 5m, 1h are accepted"
for d in 10 10s 5m 1h; do
    restore
    sed -i "s/^connect-timeout = .*/connect-timeout = $d/" "$CONF"
    run_check
    expect_eq "exit status with connect-timeout = $d ($ERR)" 0 "$RC"
done

trace "portcullis.conf: key outside of its section ([audit] key in [proxy])"
restore
insert_after '[proxy]' "$CONF" "json-log = /tmp/x.json"
run_check
expect_diag "$CONF" "$LINENO_OF" "json-log"

trace "policy.conf: unknown key in a target"
restore
append "$POLICY" "frobnicate = yes"
run_check
expect_diag "$POLICY" "$LINENO_OF" "frobnicate"

trace "policy.conf: unknown section"
restore
append "$POLICY" "" "[server db09]" "host = 127.0.0.1"
run_check
expect_diag "$POLICY" $((LINENO_OF + 1)) "server"

trace "policy.conf: [defaults] port and connect-timeout (spec keys) are accepted"
restore
sed -i 's/^\[defaults\]$/[defaults]\nport = 22\nconnect-timeout = 5s/' "$POLICY"
run_check
expect_eq "exit status ($ERR)" 0 "$RC"

trace "policy.conf: bad duration in [defaults]"
restore
sed -i 's/^\[defaults\]$/[defaults]\nconnect-timeout = -5/' "$POLICY"
run_check
expect_diag "$POLICY" "$(grep -n '^connect-timeout' "$POLICY" | cut -d: -f1)" \
    "connect-timeout"
expect_nomatch "a bad value, not an unknown key" "unknown key" "$ERR"

trace "policy.conf: target without host (reported at its header)"
restore
append "$POLICY" "" "[target nohost]" "description = no host" \
    "accounts = $USER_A" \
    "host-key = $(pcl_pubkey "$SCRATCH/target/host_ed25519.pub")" \
    "allow = user:$USER_A"
run_check
expect_diag "$POLICY" $((LINENO_OF + 1)) "host"

trace "policy.conf: target without a pinned host key (reported at its header)"
restore
append "$POLICY" "" "[target nokey]" "host = 127.0.0.1" "accounts = $USER_A" \
    "allow = user:$USER_A"
run_check
expect_diag "$POLICY" $((LINENO_OF + 1)) "host-key"

trace "policy.conf: target named like a verb (approve)"
restore
append "$POLICY" "" "[target approve]" "host = 127.0.0.1" \
    "accounts = $USER_A" \
    "host-key = $(pcl_pubkey "$SCRATCH/target/host_ed25519.pub")" \
    "allow = user:$USER_A"
run_check
expect_diag "$POLICY" $((LINENO_OF + 1)) "approve"

trace "policy.conf: duplicate target (reported at the second header)"
restore
append "$POLICY" "" "[target db01]" "host = 127.0.0.2" \
    "accounts = $USER_A" \
    "host-key = $(pcl_pubkey "$SCRATCH/target/host_ed25519.pub")" \
    "allow = user:$USER_A"
run_check
expect_diag "$POLICY" $((LINENO_OF + 1)) "db01"

trace "policy.conf: invalid target name"
restore
append "$POLICY" "" "[target .db01]" "host = 127.0.0.1"
run_check
expect_diag "$POLICY" $((LINENO_OF + 1))

trace "policy.conf: over-long line (inih limit) is an error, not truncated"
restore
long=$(printf 'x%.0s' $(seq 1 230))
append "$POLICY" "description = $long"
run_check
expect_diag "$POLICY" "$LINENO_OF"

trace "policy.conf: 199-byte line is still fine"
restore
# "description = " is 14 bytes; the line without its newline is 198 bytes.
sed -i "0,/^description = .*/s//description = $(printf 'y%.0s' $(seq 1 184))/" \
    "$POLICY"
run_check
expect_eq "exit status ($ERR)" 0 "$RC"

trace "policy.conf: bad host-key (not base64)"
restore
append "$POLICY" "host-key = ssh-ed25519 AAAA!!not-base64!!"
run_check
expect_diag "$POLICY" "$LINENO_OF" "host-key"

trace "policy.conf: bad host-key (unknown key type)"
restore
append "$POLICY" "host-key = ssh-foo $(cut -d' ' -f2 "$SCRATCH/target/host_ed25519.pub")"
run_check
expect_diag "$POLICY" "$LINENO_OF" "host-key"

trace "policy.conf: SHA256 fingerprint pin is accepted"
restore
append "$POLICY" "host-key = $(ssh-keygen -lf "$SCRATCH/target/host_ed25519.pub" | cut -d' ' -f2)"
run_check
expect_eq "exit status ($ERR)" 0 "$RC"

trace "policy.conf: unknown algorithm name"
restore
append "$POLICY" "kex = diffie-hellman-group-no-such"
run_check
expect_diag "$POLICY" "$LINENO_OF" "kex"

trace "policy.conf: bad allow entry"
restore
append "$POLICY" "allow = friend:alice"
run_check
expect_diag "$POLICY" "$LINENO_OF" "allow"

trace "two mistakes: both reported, each with its own line"
restore
append "$POLICY" "frobnicate = 1"
first=$LINENO_OF
append "$POLICY" "kex = no-such-kex"
second=$LINENO_OF
run_check
expect_eq "exit status" 1 "$RC"
expect_match "first mistake" "^$POLICY:$first: .*frobnicate" "$ERR"
expect_match "second mistake" "^$POLICY:$second: .*kex" "$ERR"

trace "missing portcullis.conf: exit 1, names the file"
restore
"$PROXY" -t -f "$SCRATCH/etc/no-such.conf" > "$SCRATCH/out" 2> "$SCRATCH/err"
RC=$?
ERR=$(cat "$SCRATCH/err")
expect_eq "exit status" 1 "$RC"
expect_match "message" "$SCRATCH/etc/no-such.conf" "$ERR"

# Unsafe permissions, with the proxy set-id (a user runs the setgid copy).
# These have no line: "file: message" (ini.h: line 0 omits it).
for what in conf policy; do
    for mode in 0666 0664; do
        trace "set-id: $what mode $mode is refused"
        restore
        if [ $what = conf ]; then f=$CONF; else f=$POLICY; fi
        chmod "$mode" "$f"
        run_check "$USER_A"
        expect_eq "exit status" 1 "$RC"
        expect_match "message names $f" "^$f(:[0-9]+)?: .+" "$ERR"
    done
done

trace "set-id: portcullis.conf owned by the user is refused"
restore
chown "$USER_A" "$CONF"
run_check "$USER_A"
expect_eq "exit status" 1 "$RC"
expect_match "message names $CONF" "^$CONF(:[0-9]+)?: .+" "$ERR"

trace "set-id: portcullis.conf reached through a symlink is refused"
restore
ln -s "$CONF" "$SCRATCH/etc/link.conf"
setpriv --reuid="$USER_A" --regid="$(id -g "$USER_A")" --init-groups \
    "$PROXY" -t -f "$SCRATCH/etc/link.conf" > "$SCRATCH/out" 2> "$SCRATCH/err"
RC=$?
ERR=$(cat "$SCRATCH/err")
expect_eq "exit status" 1 "$RC"
expect_match "message names the link" "$SCRATCH/etc/link.conf" "$ERR"
rm -f "$SCRATCH/etc/link.conf"

# Without set-id (a developer's private bastion: a plain copy of the
# binary), files owned by the invoking user are trusted, still not when
# others may write them.
install -o root -g root -m 0755 "$PCL_PROXY" "$SCRATCH/bin/portcullis-plain"
DEV=$SCRATCH/home/$USER_A/dev
install -d -o "$USER_A" -m 0755 "$DEV"
install -d -o "$USER_A" -m 0700 "$DEV/keys"
install -d -o "$USER_A" -m 0700 "$DEV/sessions"
head -c 32 /dev/urandom > "$DEV/seal.key"
chown "$USER_A" "$DEV/seal.key"
chmod 0600 "$DEV/seal.key"
sed -e "s|^policy = .*|policy = $DEV/policy.conf|" \
    -e "s|^credentials = .*|credentials = $DEV/keys|" \
    -e "s|^directory = .*|directory = $DEV/sessions|" \
    -e "s|^seal-key = .*|seal-key = $DEV/seal.key|" \
    -e "s|^index = .*|index = |" \
    -e "s|^json-log = .*|json-log = |" "$SCRATCH/good.conf" > "$DEV/portcullis.conf"
cp "$SCRATCH/good.policy" "$DEV/policy.conf"
chown "$USER_A" "$DEV/portcullis.conf" "$DEV/policy.conf"
chmod 0644 "$DEV/portcullis.conf" "$DEV/policy.conf"
run_dev() {
    setpriv --reuid="$USER_A" --regid="$(id -g "$USER_A")" --init-groups \
        "$SCRATCH/bin/portcullis-plain" -t -f "$DEV/portcullis.conf" \
        > "$SCRATCH/out" 2> "$SCRATCH/err"
    RC=$?
    ERR=$(cat "$SCRATCH/err")
}

trace "not set-id: files owned by the invoking user are accepted"
run_dev
expect_eq "exit status ($ERR)" 0 "$RC"

trace "not set-id: a user-owned but world-writable policy.conf is refused"
chmod 0666 "$DEV/policy.conf"
run_dev
expect_eq "exit status" 1 "$RC"
expect_match "message names the file" "^$DEV/policy.conf(:[0-9]+)?: .+" "$ERR"

trace "-T dumps every key as section.key = value, with the file's values"
restore
"$PROXY" -T -f "$CONF" > "$SCRATCH/out" 2> "$SCRATCH/err"
RC=$?
expect_eq "exit status" 0 "$RC"
expect_eq "stderr" "" "$(cat "$SCRATCH/err")"
dump=$(cat "$SCRATCH/out")
expect_match "policy path" "^proxy\.policy = $POLICY\$" "$dump"
expect_match "credentials" "^proxy\.credentials = $SCRATCH/keys\$" "$dump"
expect_match "json-log" "^audit\.json-log = $SCRATCH/log/audit\.json\$" "$dump"
expect_match "syslog" "^audit\.syslog = no\$" "$dump"
expect_eq "lines not of the form section.key = value" "" \
    "$(printf '%s\n' "$dump" | grep -Ev '^[a-z]+\.[a-z-]+ = ')"

trace "-T shows the documented defaults for keys the file leaves out"
cat > "$CONF" <<EOF
[proxy]
policy = $POLICY
credentials = $SCRATCH/keys
[recording]
directory = $SCRATCH/sessions
seal-key = $SCRATCH/etc/seal.key
[audit]
json-log = $SCRATCH/log/audit.json
[vault]
backend = keys
EOF
"$PROXY" -T -f "$CONF" > "$SCRATCH/out" 2> "$SCRATCH/err"
RC=$?
expect_eq "exit status ($(cat "$SCRATCH/err"))" 0 "$RC"
dump=$(cat "$SCRATCH/out")
expect_match "connect-timeout default 10" "^proxy\.connect-timeout = 10\$" "$dump"
expect_match "keepalive-interval default 30" "^proxy\.keepalive-interval = 30\$" "$dump"
expect_match "keepalive-count-max default 3" "^proxy\.keepalive-count-max = 3\$" "$dump"
expect_match "log-level default info" "^proxy\.log-level = info\$" "$dump"
expect_match "syslog default yes" "^audit\.syslog = yes\$" "$dump"
expect_match "recording format default" "^recording\.format = asciicast-v2\$" "$dump"
expect_match "recording input default" "^recording\.input = no\$" "$dump"
expect_match "recording on-error default" "^recording\.on-error = terminate\$" "$dump"
expect_match "mask-holdback default" "^recording\.mask-holdback = 50ms\$" "$dump"

trace "durations in -T are seconds (5m = 300, 1h = 3600)"
restore
sed -i 's/^connect-timeout = .*/connect-timeout = 5m/; s/^keepalive-interval = .*/keepalive-interval = 1h/' "$CONF"
"$PROXY" -T -f "$CONF" > "$SCRATCH/out" 2> "$SCRATCH/err"
dump=$(cat "$SCRATCH/out")
expect_match "5m" "^proxy\.connect-timeout = 300\$" "$dump"
expect_match "1h" "^proxy\.keepalive-interval = 3600\$" "$dump"

pcl_finish
