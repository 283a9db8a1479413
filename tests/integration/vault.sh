#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The vault end to end, against real sshd: the target key sealed in the
# file vault (AES-256-GCM) by portcullis-vault; a password target (sshd
# PasswordAuthentication) whose echoed password is masked in the
# recording; tampered, renamed and wrongly keyed entries refused; unsafe
# permissions refused; a keyboard-interactive target (sshd with its own
# PAM stack); master key rotation; the command backend with
# helper scripts (tokens, clean environment, timeout, output cap, non-zero
# exit). Ports 22350-22353.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

pcl_require_root_sshd
pcl_require_cmd jq openssl
VAULT_BIN=$top_builddir/vault/portcullis-vault
[ -x "$VAULT_BIN" ] || skip "vault/portcullis-vault not built"

BASTION_PORT=22350
TARGET_PORT=22351
PW_PORT=22352
KBD_PORT=22353
export BASTION_PORT TARGET_PORT
pcl_scratch
: > "$SCRATCH/known_hosts"
pcl_create_users
pcl_make_keys
pcl_install_proxy
pcl_start_target
CONF=$SCRATCH/etc/portcullis.conf
VDIR=$SCRATCH/vault
VKEY=$SCRATCH/etc/vault.key
FILE_VAULT="backend = file
directory = $VDIR
master-key = $VKEY"
PCL_VAULT_CONF=$FILE_VAULT pcl_write_conf
pcl_policy_begin
pcl_policy_target db01 "$TARGET_PORT"
T=$SCRATCH/t
mkdir -p "$T"
chmod 0755 "$T"

# vault ARGS...: the admin CLI on this test's config and group.
vault() {
    "$VAULT_BIN" -f "$CONF" -g "$TEST_GROUP" "$@"
}
# req NAME USER SSH-ARGS...: one request through the bastion; RC, OUT, ERR.
req() {
    local n=$1
    shift
    bssh "$@" < /dev/null > "$T/$n.out" 2> "$T/$n.err"
    RC=$?
    OUT=$(cat "$T/$n.out")
    ERR=$(cat "$T/$n.err")
}
GENERIC="portcullis: configuration error; contact the bastion administrators"
# refused NAME TARGET LOG-ERE: a request refused as a configuration error
# (78, the generic message) whose reason the proxy log gives.
refused() {
    : > "$SCRATCH/proxy.log"
    req "$1" "$USER_A" "$2" -- echo no
    expect_eq "$1: exit status" 78 "$RC"
    expect_eq "$1: stderr" "$GENERIC" "$ERR"
    expect_match "$1: proxy log" "$3" "$(cat "$SCRATCH/proxy.log")"
}
# events FILE CODE: the data of every event with that code, concatenated.
events() {
    tail -n +2 "$1" | jq -j --arg c "$2" 'select(.[1] == $c) | .[2]'
}

trace "portcullis-vault init: directory root:group 0750, master key 0640"
vault init > "$T/init.out" 2>&1 || fail "init failed: $(cat "$T/init.out")"
expect_eq "vault dir" "root $TEST_GROUP 750" "$(stat -c '%U %G %a' "$VDIR")"
expect_eq "master key" "root $TEST_GROUP 640 32" "$(stat -c '%U %G %a %s' "$VKEY")"
vault init > "$T/init2.out" 2>&1 && fail "a second init overwrote the master key"
expect_match "second init refused" "exists already" "$(cat "$T/init2.out")"

trace "add --ssh-key: sealed, the file holds no key material"
vault add db01 --ssh-key "$SCRATCH/keys/db01" > "$T/add.out" 2>&1 ||
    fail "add failed: $(cat "$T/add.out")"
expect_eq "entry" "root $TEST_GROUP 640" "$(stat -c '%U %G %a' "$VDIR/db01")"
expect_eq "magic" "PCLVLT01" "$(head -c 8 "$VDIR/db01")"
grep -q 'PRIVATE KEY\|openssh-key' "$VDIR/db01" && fail "plaintext key in the entry"
b64=$(sed -n 2p "$SCRATCH/keys/db01")
grep -qF "$b64" "$VDIR/db01" && fail "key body in the entry"
expect_nomatch "CLI output has no key" "PRIVATE|$b64" "$(cat "$T/add.out")"

trace "add refuses a key file readable by others, with a clear message"
install -m 0644 "$SCRATCH/keys/db01" "$T/open-key"
vault add loose --ssh-key "$T/open-key" > "$T/loose.out" 2>&1 &&
    fail "a 0644 key file was accepted"
expect_match "message" "readable by others" "$(cat "$T/loose.out")"
[ -e "$VDIR/loose" ] && fail "entry created from a 0644 file"

pcl_start_bastion
trace "a session authenticates with the key from the file vault"
pcl_audit_mark
req ok "$USER_A" db01 -- echo vaulted-ok
expect_eq "exit status ($ERR)" 0 "$RC"
expect_eq "output" "vaulted-ok" "$OUT"
ev=$(pcl_audit_new 'select(.event=="credential")')
expect_match "credential event" '"outcome":"fetched"' "$ev"
expect_match "credential type" '"credential_type":"ssh-key"' "$ev"
expect_match "vault backend" '"vault":"file"' "$ev"
expect_nomatch "no key in the event log" "PRIVATE|$b64" "$(cat "$SCRATCH/log/audit.json")"
expect_nomatch "no key in the proxy log" "PRIVATE|$b64" "$(cat "$SCRATCH/proxy.log")"

trace "a denied request never fetches a credential"
pcl_audit_mark
req deny "$USER_B" db01 -- true
expect_eq "exit status" 77 "$RC"
expect_eq "credential events" "" "$(pcl_audit_new 'select(.event=="credential")')"

trace "list shows metadata only"
vault list > "$T/list.out" 2>&1 || fail "list failed: $(cat "$T/list.out")"
expect_match "db01 row" "^db01 +ssh-key +[0-9]+ +[0-9T:-]+Z +[0-9a-f]{16}$" "$(cat "$T/list.out")"
expect_nomatch "no secret" "PRIVATE|$b64" "$(cat "$T/list.out")"

trace "a tampered entry is refused (78), the log says integrity"
cp -p "$VDIR/db01" "$T/db01.good"
size=$(stat -c %s "$VDIR/db01")
printf '\x55' | dd of="$VDIR/db01" bs=1 seek=$((size - 30)) conv=notrunc status=none
pcl_audit_mark
refused tamper db01 "integrity check"
expect_match "credential refused event" '"outcome":"refused"' \
    "$(pcl_audit_new 'select(.event=="credential")')"
cp -p "$T/db01.good" "$VDIR/db01"

trace "an entry copied under another name is refused (name bound as AAD)"
cp -p "$VDIR/db01" "$VDIR/db01-copy"
pcl_policy_target swapped "$TARGET_PORT" "" "credential = db01-copy"
refused swap swapped "integrity check"
rm -f "$VDIR/db01-copy"

trace "a wrong master key is refused by name"
cp -p "$VKEY" "$T/vault.key.good"
head -c 32 /dev/urandom > "$VKEY"
refused wrongkey db01 "wrong master key"
cp -p "$T/vault.key.good" "$VKEY"

trace "permissions too open: entry 0644, master key 0644, vault dir 0770"
chmod 0644 "$VDIR/db01"
refused openentry db01 "$VDIR/db01: readable by others"
chmod 0640 "$VDIR/db01"
chmod 0644 "$VKEY"
refused openkey db01 "$VKEY: readable by others"
"$SCRATCH/bin/portcullis" -t -f "$CONF" > "$T/t.out" 2>&1 &&
    fail "portcullis -t accepted a 0644 master key"
expect_match "portcullis -t names it" "$VKEY" "$(cat "$T/t.out")"
vault list > "$T/l.out" 2>&1 && fail "the CLI used a 0644 master key"
expect_match "CLI names it" "$VKEY: readable by others" "$(cat "$T/l.out")"
chmod 0640 "$VKEY"
chmod 0770 "$VDIR"
refused opendir db01 "$VDIR: writable by group"
chmod 0750 "$VDIR"
req ok2 "$USER_A" db01 -- echo again
expect_eq "restored: output ($ERR)" "again" "$OUT"

trace "the user cannot read the vault"
su -s /bin/sh "$USER_A" -c "cat '$VDIR/db01' '$VKEY'" > /dev/null 2>&1 &&
    fail "$USER_A read the vault"

trace "password target: sshd PasswordAuthentication, password from the vault"
PW="Pw-$(openssl rand -hex 12)"
printf '%s:%s\n' "$USER_A" "$PW" | chpasswd || fatal "chpasswd failed"
pcl_start_target "PasswordAuthentication yes
PubkeyAuthentication no" target2 "$PW_PORT"
printf '%s\n' "$PW" | vault add pw-db02 --password-stdin > "$T/addpw.out" 2>&1 ||
    fail "add --password-stdin failed: $(cat "$T/addpw.out")"
expect_nomatch "CLI output has no password" "$PW" "$(cat "$T/addpw.out")"
pcl_policy_target db02 "$PW_PORT" "$SCRATCH/target2/host_ed25519.pub" "credential = pw-db02
accounts = $USER_A"
# The account keeps its password in a file it prints on request.
printf 'the password is %s here\n' "$PW" > "$SCRATCH/home/$USER_A/pw.txt"
chown "$USER_A" "$SCRATCH/home/$USER_A/pw.txt"
pcl_audit_mark
req pw "$USER_A" db02 -- cat pw.txt
expect_eq "exit status ($ERR)" 0 "$RC"
expect_eq "the user's screen is untouched" "the password is $PW here" "$OUT"
expect_match "target accepted a password" "Accepted password for $USER_A" \
    "$(cat "$SCRATCH/target2/sshd.log")"
expect_match "credential type" '"credential_type":"password"' \
    "$(pcl_audit_new 'select(.event=="credential")')"

trace "the echoed password is masked in the recording"
REC=$(pcl_last_recording)
grep -qF "$PW" "$REC" && fail "the password is in the recording $REC"
expect_eq "replacement in place" 'the password is **** here' "$(events "$REC" o)"
expect_match "marker names the rule" '"mask:vault:password"' "$(grep '"m"' "$REC")"
expect_nomatch "no password in the logs" "$PW" \
    "$(cat "$SCRATCH/proxy.log" "$SCRATCH/log/audit.json" "$SCRATCH/target2/sshd.log")"

trace "keyboard-interactive target (sshd with its own PAM stack): same password"
# sshd names its PAM service after its program name: a symlink with a
# unique name reads /etc/pam.d/<that name>, removed at exit; the system's
# /etc/pam.d/sshd is not touched.
PAMSVC=pcl-vault-$$
PAMFILE=/etc/pam.d/$PAMSVC
[ -e "$PAMFILE" ] && fatal "$PAMFILE exists"
trap 'rc=$?; rm -f "$PAMFILE"; pcl_cleanup $rc' EXIT
printf '%s\n' 'auth required pam_unix.so' 'account required pam_unix.so' \
    'session required pam_permit.so' 'password required pam_deny.so' > "$PAMFILE"
ln -s "$SSHD" "$SCRATCH/bin/$PAMSVC"
SSHD=$SCRATCH/bin/$PAMSVC pcl_start_target "UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication no" target3 "$KBD_PORT"
pcl_policy_target db03 "$KBD_PORT" "$SCRATCH/target3/host_ed25519.pub" "credential = pw-db02
accounts = $USER_A"
req kbd "$USER_A" db03 -- cat pw.txt
expect_eq "exit status ($ERR)" 0 "$RC"
expect_eq "output" "the password is $PW here" "$OUT"
expect_match "target accepted keyboard-interactive" \
    "Accepted keyboard-interactive/pam for $USER_A" "$(cat "$SCRATCH/target3/sshd.log")"
grep -qF "$PW" "$(pcl_last_recording)" && fail "the password is in the recording"

trace "a wrong password is refused by the target (255)"
printf 'Wrong-%s\n' "$(openssl rand -hex 8)" | vault add pw-db02 --password-stdin --replace > /dev/null 2>&1
req badpw "$USER_A" db02 -- true
expect_eq "exit status" 255 "$RC"
expect_match "message" "refused the vaulted credential" "$ERR"
printf '%s\n' "$PW" | vault add pw-db02 --password-stdin --replace > /dev/null 2>&1

trace "rotate: new master key, every entry re-sealed, sessions still work"
old_id=$(vault list | awk '$1=="db01" {print $5}')
vault rotate > "$T/rot.out" 2>&1 || fail "rotate failed: $(cat "$T/rot.out")"
expect_match "rotate output" "2 entries re-sealed" "$(cat "$T/rot.out")"
expect_eq "key file holds one key" 32 "$(stat -c %s "$VKEY")"
expect_eq "key file mode" "root $TEST_GROUP 640" "$(stat -c '%U %G %a' "$VKEY")"
ids=$(vault list | awk 'NR>1 {print $5}' | sort -u)
expect_eq "one key id for all entries" 1 "$(printf '%s\n' "$ids" | wc -l)"
[ "$ids" != "$old_id" ] || fail "key id unchanged after rotate"
cmp -s "$VKEY" "$T/vault.key.good" && fail "master key unchanged"
req rot1 "$USER_A" db01 -- echo rotated
expect_eq "key session after rotate ($ERR)" "rotated" "$OUT"
req rot2 "$USER_A" db02 -- echo rotated
expect_eq "password session after rotate ($ERR)" "rotated" "$OUT"
expect_eq "no temporary files left" "" "$(ls -A "$VDIR" | grep '^\.' || true)"

trace "export-ca-pub prints the CA's public key only"
pcl_keygen "$T/ca"
chmod 0600 "$T/ca"
vault add ca --ca-key "$T/ca" > /dev/null 2>&1 || fail "add --ca-key failed"
expect_eq "public key" "$(pcl_pubkey "$T/ca.pub")" "$(vault export-ca-pub ca | cut -d' ' -f1,2)"
vault export-ca-pub db01 > "$T/nca.out" 2>&1 && fail "export-ca-pub of an ssh key"
expect_match "refused" "not a CA key" "$(cat "$T/nca.out")"
pcl_policy_target caonly "$TARGET_PORT" "" "credential = ca"
req calogin "$USER_A" caonly -- true
expect_eq "a CA key is no login credential" 78 "$RC"

trace "remove"
vault remove ca > /dev/null || fail "remove failed"
[ -e "$VDIR/ca" ] && fail "entry still there"

trace "one administrator at a time: a locked vault is not changed"
exec 9< "$VDIR"
flock -x 9
printf 'Another-%s\n' "$RANDOM$RANDOM" | vault add pw-db02 --password-stdin --replace > "$T/lock.out" 2>&1 &&
    fail "add ran while the vault was locked"
expect_match "message" "locked by another portcullis-vault" "$(cat "$T/lock.out")"
exec 9<&-
req afterlock "$USER_A" db02 -- echo unchanged
expect_eq "the password entry is unchanged ($ERR)" "unchanged" "$OUT"

# ---------------------------------------------------------------- command
HELPERS=$SCRATCH/helpers
install -d -m 0755 "$HELPERS"
: > "$T/helper.log"
chmod 0666 "$T/helper.log"
# helper NAME BODY: a root-owned helper script. bash -p: without it a
# shell gives up the set-id group the proxy runs with (and the helper
# could not read what only group portcullis may read).
helper() {
    printf '#!/bin/bash -p\n%s\n' "$2" > "$HELPERS/$1"
    chmod 0755 "$HELPERS/$1"
}
helper good "printf '%s\\n' \"\$@\" > $T/helper.log; env >> $T/helper.log; cat $SCRATCH/keys/db01"
helper sleepy "sleep 30; cat $SCRATCH/keys/db01"
helper big "head -c 100000 /dev/urandom | base64"
helper failing "cat $SCRATCH/keys/db01; exit 3"
helper password "printf '%s\\n' '$PW'"
use_helper() {
    PCL_VAULT_CONF="backend = command
command = $HELPERS/$1 --target %t --account %a --user %u --cred %c --session %s
command-timeout = 1500ms
command-max-output = 8192" pcl_write_conf
}

trace "command backend: helper's key used; tokens expanded; clean environment"
use_helper good
pcl_audit_mark
req cmd "$USER_A" db01 -- echo via-helper
expect_eq "output ($ERR)" "via-helper" "$OUT"
sid=$(pcl_audit_new 'select(.event=="credential") | .session_id' -r)
expect_eq "helper argv" "--target
db01
--account
$USER_A
--user
$USER_A
--cred
db01
--session
$sid" "$(head -n 10 "$T/helper.log")"
# bash adds PWD, SHLVL and _ itself.
expect_eq "helper environment" "PATH=/usr/bin:/bin" \
    "$(tail -n +11 "$T/helper.log" | grep -Ev '^(PWD|SHLVL|_)=' | sort)"
expect_match "vault" '"vault":"command"' "$(pcl_audit_new 'select(.event=="credential")')"

trace "command backend: a helper past its timeout is killed and refused"
use_helper sleepy
t0=$(date +%s)
refused slow db01 "timed out after 1500 ms"
t1=$(date +%s)
[ $((t1 - t0)) -lt 10 ] || fail "the refusal took $((t1 - t0)) s"

trace "command backend: oversized output refused"
use_helper big
refused big db01 "more than 8192 bytes"

trace "command backend: non-zero exit refused even with a key on stdout"
use_helper failing
refused failing db01 "exited with status 3"

trace "command backend: a helper others could change is not run"
use_helper good
chmod 0775 "$HELPERS/good"
: > "$T/helper.log"
refused gwhelper db01 "$HELPERS/good: writable by group"
expect_eq "the helper did not run" "" "$(cat "$T/helper.log")"
chmod 0755 "$HELPERS/good"

trace "command backend: a password from the helper, masked in the recording"
use_helper password
req cmdpw "$USER_A" db02 -- cat pw.txt
expect_eq "output ($ERR)" "the password is $PW here" "$OUT"
REC=$(pcl_last_recording)
grep -qF "$PW" "$REC" && fail "the password is in the recording $REC"
expect_eq "masked" 'the password is **** here' "$(events "$REC" o)"

pcl_finish
