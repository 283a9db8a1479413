#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The ssh-ca vault backend against a real target sshd that trusts the CA
# (TrustedUserCAKeys) and holds no authorized key at all: each session
# logs in with a fresh key and a certificate the proxy signed (principal
# = target account, key id naming the user and the session, permit-pty
# only with a terminal). Certificates made by the same code with the real
# ssh client: accepted when right, refused when expired, not yet valid or
# for another principal. Ports 22354-22355.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

pcl_require_root_sshd
pcl_require_cmd jq
VAULT_BIN=$top_builddir/vault/portcullis-vault
ISSUE=$top_builddir/tests/tools/sshcert-issue
[ -x "$VAULT_BIN" ] || skip "vault/portcullis-vault not built"
[ -x "$ISSUE" ] || skip "tests/tools/sshcert-issue not built (make check builds it)"

BASTION_PORT=22354
TARGET_PORT=22355
export BASTION_PORT TARGET_PORT
pcl_scratch
: > "$SCRATCH/known_hosts"
pcl_create_users
pcl_make_keys
pcl_install_proxy
CONF=$SCRATCH/etc/portcullis.conf
PCL_VAULT_CONF="backend = ssh-ca
directory = $SCRATCH/vault
master-key = $SCRATCH/etc/vault.key
certificate-validity = 2m
certificate-backdate = 30s" pcl_write_conf
T=$SCRATCH/t
mkdir -p "$T"
vault() {
    "$VAULT_BIN" -f "$CONF" -g "$TEST_GROUP" "$@"
}

trace "the CA key is sealed in the vault; its public key goes to the target"
vault init > /dev/null || fatal "vault init failed"
pcl_keygen "$T/ca"
chmod 0600 "$T/ca"
vault add bastion-ca --ca-key "$T/ca" > /dev/null || fatal "add --ca-key failed"
vault export-ca-pub bastion-ca > "$SCRATCH/etc/ca.pub"
expect_eq "exported CA key" "$(pcl_pubkey "$T/ca.pub")" "$(cut -d' ' -f1,2 "$SCRATCH/etc/ca.pub")"
chmod 0644 "$SCRATCH/etc/ca.pub"
# No authorized keys: only a certificate from the CA can log in.
pcl_start_target "TrustedUserCAKeys $SCRATCH/etc/ca.pub
AuthorizedKeysFile none"
pcl_policy_begin
pcl_policy_target db01 "$TARGET_PORT" "" "credential = bastion-ca"
pcl_start_bastion

trace "an exec session logs in with a certificate; the key id names user and session"
pcl_audit_mark
out=$(bssh "$USER_A" db01 -- 'echo via-ca; tty' 2>"$T/e")
expect_eq "output ($(cat "$T/e"))" "via-ca
not a tty" "$out"
sid=$(pcl_audit_new 'select(.event=="credential") | .session_id' -r)
expect_match "credential event" '"credential_type":"ssh-cert"' \
    "$(pcl_audit_new 'select(.event=="credential")')"
expect_match "vault" '"vault":"ssh-ca"' "$(pcl_audit_new 'select(.event=="credential")')"
log=$(grep "Accepted publickey for $USER_A" "$SCRATCH/target/sshd.log" | tail -n 1)
expect_match "certificate login with the key id" \
    "ED25519-CERT SHA256:[^ ]+ ID portcullis:$USER_A:$sid \(serial [0-9]+\) CA ED25519" "$log"

trace "a session with a terminal gets permit-pty"
out=$(bssh "$USER_A" -tt db01 -- tty 2>/dev/null | tr -d '\r')
expect_match "a pty on the target" "^/dev/pts/[0-9]+$" "$out"

trace "each session has its own key"
n=$(grep "Accepted publickey for $USER_A" "$SCRATCH/target/sshd.log" |
    grep -o 'ED25519-CERT SHA256:[^ ]*' | sort -u | wc -l)
expect_eq "distinct certified keys for 2 sessions" 2 "$n"

trace "the other account is certified for itself"
sed -i "s|^allow = .*|allow = group:$EXTRA_GROUP|" "$SCRATCH/etc/policy.conf"
out=$(bssh "$USER_A" "$USER_B@db01" -- whoami 2>"$T/e")
expect_eq "whoami ($(cat "$T/e"))" "$USER_B" "$out"

trace "a password entry is no CA key: refused"
printf 'Sekrit-%s\n' "$RANDOM$RANDOM" | vault add pw --password-stdin > /dev/null
pcl_policy_target pwca "$TARGET_PORT" "" "credential = pw"
bssh "$USER_A" pwca -- true > /dev/null 2>&1
expect_eq "exit status" 78 "$?"
expect_match "proxy log" "needs a CA key" "$(cat "$SCRATCH/proxy.log")"

# The same certificate code, driven by hand, with the real ssh client.
cert_ssh() {
    ssh "${PCL_SSH_OPTS[@]}" -o UserKnownHostsFile="$SCRATCH/known_hosts" \
        -i "$1" -o CertificateFile="$1-cert.pub" -p "$TARGET_PORT" \
        -l "$2" 127.0.0.1 "${@:3}" < /dev/null 2>"$T/ssh.err"
}
trace "ssh-keygen -L reads a certificate of lib/sshcert.c as made"
"$ISSUE" "$T/ca" "$USER_A" -30 120 0 "$T/good" || fatal "sshcert-issue failed"
L=$(ssh-keygen -L -f "$T/good-cert.pub")
expect_match "user certificate" "Type: ssh-ed25519-cert-v01@openssh.com user certificate" "$L"
expect_match "principal" "^ +$USER_A\$" "$L"
expect_match "no critical options" "Critical Options: \(none\)" "$L"
expect_nomatch "no extension without a pty" "permit-" "$L"
grep -qF "Signing CA: ED25519 $(ssh-keygen -lf "$T/ca.pub" | cut -d' ' -f2)" <<<"$L" ||
    fail "not signed by the CA: $L"

trace "the real ssh client logs in with it; without permit-pty no terminal"
out=$(cert_ssh "$T/good" "$USER_A" 'tty; echo done')
expect_eq "exec ($(cat "$T/ssh.err"))" "not a tty
done" "$out"
# ssh -tt treats a refused pty-req as fatal (255).
cert_ssh "$T/good" "$USER_A" -tt 'echo must-not-run' > "$T/o"
expect_eq "exit status with -tt" 255 "$?"
expect_match "pty refused" "PTY allocation request failed" "$(cat "$T/ssh.err")"
expect_eq "nothing ran" "" "$(cat "$T/o")"

trace "an expired certificate is refused"
"$ISSUE" "$T/ca" "$USER_A" -600 -60 1 "$T/expired"
cert_ssh "$T/expired" "$USER_A" true
expect_eq "exit status" 255 "$?"
expect_match "sshd says why" "expired|not yet valid|Certificate invalid" \
    "$(tail -n 20 "$SCRATCH/target/sshd.log")"

trace "a certificate not yet valid is refused"
"$ISSUE" "$T/ca" "$USER_A" 600 1200 1 "$T/future"
cert_ssh "$T/future" "$USER_A" true
expect_eq "exit status" 255 "$?"

trace "a certificate for another principal is refused"
"$ISSUE" "$T/ca" "$USER_B" -30 120 1 "$T/other"
cert_ssh "$T/other" "$USER_A" true
expect_eq "exit status" 255 "$?"
expect_match "sshd says why" "name is not a listed principal" \
    "$(tail -n 20 "$SCRATCH/target/sshd.log")"
cert_ssh "$T/other" "$USER_B" echo ok-as-b > "$T/o"
expect_eq "the same certificate works for its own principal" "ok-as-b" "$(cat "$T/o")"

trace "a certificate signed by another CA is refused"
pcl_keygen "$T/ca2"
"$ISSUE" "$T/ca2" "$USER_A" -30 120 1 "$T/rogue"
cert_ssh "$T/rogue" "$USER_A" true
expect_eq "exit status" 255 "$?"

pcl_finish
