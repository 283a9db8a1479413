#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The portcullis demo: a self-contained bastion on 127.0.0.1.
#
# Installs what it needs (Debian 12, root), builds, then brings up a target
# sshd ("db01") and a bastion sshd whose ForceCommand is portcullis, with
# two demo users (alice may reach db01, bob may not) and their keys in a
# scratch directory. It runs a short scripted session through the bastion,
# shows the event log, prints how to ssh in by hand and, in a terminal,
# waits for Enter. Then it stops every process it started (by PID) and
# removes the users, the group and the scratch directory.
#
# Usage: demo/demo.sh [--no-wait]
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
wait_for_enter=1
[ "${1:-}" = --no-wait ] && wait_for_enter=0
[ -t 0 ] || wait_for_enter=0

if [ "$(id -u)" != 0 ]; then
    echo "demo: run as root (it installs packages, creates two users and runs sshd on 127.0.0.1)" >&2
    exit 1
fi
"$here/scripts/install-deps.sh" || exit 1
# The build log in a fresh file of our own: a fixed name in /tmp is one
# that another local user could have made (a symlink, or a file of theirs)
# before root writes to it.
build_log=$(mktemp /tmp/portcullis-demo-build.XXXXXX) || exit 1
"$here/scripts/build.sh" >"$build_log" 2>&1 || {
    tail -30 "$build_log"
    echo "demo: build failed (full log: $build_log)" >&2
    exit 1
}
rm -f "$build_log"

export top_srcdir=$here top_builddir=$here
# shellcheck source=../tests/lib.sh
. "$here/tests/lib.sh"
PCL_TEST=demo

# Readable names instead of the test suite's pct<PID>a: the demo's users.
pcl_create_users() {
    USER_A=pcldemo-alice
    USER_B=pcldemo-bob
    TEST_GROUP=pcldemo-portcullis
    EXTRA_GROUP=pcldemo-dba
    local g u
    for g in "$TEST_GROUP" "$EXTRA_GROUP"; do
        getent group "$g" >/dev/null && fatal "group $g exists (another demo running?)"
        groupadd "$g" || fatal "groupadd $g failed"
        PCL_GROUPS+=("$g")
    done
    for u in "$USER_A" "$USER_B"; do
        getent passwd "$u" >/dev/null && fatal "user $u exists (another demo running?)"
        useradd -m -d "$SCRATCH/home/$u" -s /bin/sh -p '*' -G "$EXTRA_GROUP" "$u" ||
            fatal "useradd $u failed"
        PCL_USERS+=("$u")
        PCL_GROUPS+=("$u")
    done
    export USER_A USER_B TEST_GROUP EXTRA_GROUP
}

B=$'\033[1m'; N=$'\033[0m'
say() { printf "\n${B}== %s${N}\n" "$*"; }
run() {
    # Shows the command as the user would type it, then runs it.
    local who=$1; shift
    printf '%s$ ssh bastion %s\n' "$who" "${*@Q}"
    bssh "$who" "$@"
    printf '   (exit status %s)\n' "$?"
}

say "Bringing up a target sshd (db01) on 127.0.0.1:22231 and a bastion sshd on 127.0.0.1:22230"
pcl_setup 22230 22231
# The target key sealed in the vault (AES-256-GCM), as portcullis-vault does.
pcl_file_vault
sed -i "s/^description = .*/description = PostgreSQL primary (demo target)/" "$SCRATCH/etc/policy.conf"
echo "scratch directory: $SCRATCH"
echo "bastion users: $USER_A (in group $EXTRA_GROUP), $USER_B (explicitly excluded)"
echo "policy ($SCRATCH/etc/policy.conf):"
sed -n '/^\[target/,$p' "$SCRATCH/etc/policy.conf" | sed 's/^/    /'

say "1. What may alice reach?"
run "$USER_A" list

say "2. A command on db01 through the bastion (stdout, stderr and exit status pass through)"
run "$USER_A" db01 -- 'echo "hello from $(hostname) as $(id -un)"; echo "this line is stderr" >&2; exit 3'
REC2=$(pcl_last_recording)

say "2b. A secret on screen: the user sees it, the recording does not"
run "$USER_A" db01 -- 'echo "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE"'
REC2B=$(pcl_last_recording)

say "3. An interactive shell on db01 (a PTY end to end; expect types for us)"
pcl_bssh_argv "$USER_A"
expect -f - -- "${PCL_ARGV[@]}" <<'EXP'
set timeout 20
log_user 1
spawn -noecho {*}[lrange $argv 0 end] -tt db01
# Give ssh's terminal a size: ssh sends a window-change, the proxy passes it.
stty rows 30 columns 100 < $spawn_out(slave,name)
expect -re {\$ $}
send "stty size; echo \$TERM; exit\r"
expect eof
EXP

say "4. Refusals: each a clear message and a distinct exit status"
run "$USER_A" db99
run "$USER_B" db01
run "$USER_A" 'db01;id'

say "5. The event log ($SCRATCH/log/audit.json): every decision and session"
jq -c '{time, event, user, target, decision, reason, kex, cipher,
        hostkey_fingerprint, exit_status, "end": ."end"}
       | with_entries(select(.value != null))' "$SCRATCH/log/audit.json"

say "6. The proxy's log: the negotiated crypto of the target leg"
grep -E 'kex|ended' "$SCRATCH/proxy.log" | tail -4

say "7. Every session was recorded (asciicast v2, sealed): $(pcl_recordings | wc -l) recordings"
pcl_recordings | sed "s|^$SCRATCH/||; s|^|    |"
echo "Recording of step 2 ($REC2):"
sed 's/^/    /' "$REC2"
echo "Its seal (${REC2}.seal):"
sed 's/^/    /' "$REC2.seal"
echo "Recording of step 2b, secret masked:"
grep -v '^{' "$REC2B" | sed 's/^/    /'
echo "Replayed with the stock asciinema player (asciinema cat):"
LC_ALL=C.UTF-8 script -qec "asciinema cat '$REC2'" /dev/null </dev/null | sed 's/^/    /'
echo "The security team's tool: the seal checked, then the session played (portcullis-replay):"
REPLAY=$top_builddir/replay/portcullis-replay
"$REPLAY" verify -f "$SCRATCH/etc/portcullis.conf" "$REC2" | sed 's/^/    /'
{ "$REPLAY" -f "$SCRATCH/etc/portcullis.conf" -s 8 "$REC2" </dev/null; echo; } |
    sed '/^$/d; s/^/    /'
echo "An edited copy is caught (the seal no longer matches) and not played:"
cp "$REC2" "$SCRATCH/edited.cast"
cp "$REC2.seal" "$SCRATCH/edited.cast.seal"
sed -i 's/hello from/HELLO FROM/' "$SCRATCH/edited.cast"
"$REPLAY" -f "$SCRATCH/etc/portcullis.conf" "$SCRATCH/edited.cast" </dev/null 2>&1 |
    sed "s|$SCRATCH/||; s/^/    /"

say "8. Signing in with the company's IdP: OIDC device flow (RFC 8628), pam_portcullis"
# shellcheck source=../tests/idp/idp.sh
. "$here/tests/idp/idp.sh"
if command -v node >/dev/null && [ -d "$IDP_DIR/node_modules/oidc-provider" ]; then
    pcl_mkca "$SCRATCH/pki"
    pcl_oidc_files "$TEST_GROUP"
    { pcl_oidc_keys 22303; echo "qr = yes"; } >> "$SCRATCH/etc/portcullis.conf"
    OP_GROUPS="{\"$USER_A\":[\"dba\"]}" pcl_idp_start 22303
    echo "A test IdP (oidc-provider) on https://127.0.0.1:22303; the bastion now asks for a key, then the device flow."
    pcl_stop_sshd bastion
    pcl_start_oidc_bastion
    echo "alice runs ssh; a browser (here curl, as alice at the IdP) approves the code:"
    pcl_oidc_login "$USER_A" approve "$USER_A" db01 -- 'echo "signed in, on $(hostname) as $(id -un)"'
    printf '%s\n' "$OUT" | tr -d '\r' | grep -v '^== ' | sed 's/^/    /'
    printf '   (exit status %s)\n' "$RC"
    echo "The sign-in and the proxy's decision, with the IdP subject and groups:"
    jq -c 'select(.event == "oidc-login" or (.event == "decision" and .subject != null))
           | {event, user, result, method, subject, groups, idp_groups, decision}
           | with_entries(select(.value != null))' "$SCRATCH/log/audit.json" | sed 's/^/    /'
else
    echo "(skipped: node or tests/idp/node_modules missing; scripts/build.sh runs npm ci)"
fi

if [ "$wait_for_enter" = 1 ]; then
cat <<EOF

${B}Try it by hand${N} (as root, in another terminal, while this demo runs):

  ssh -F /dev/null -o UserKnownHostsFile=$SCRATCH/known_hosts \\
      -i $SCRATCH/client/$USER_A -p 22230 -t $USER_A@127.0.0.1          # menu
  ssh ... -t $USER_A@127.0.0.1 db01                                    # shell on db01
  ssh ... $USER_A@127.0.0.1 db01 -- uname -a                           # one command
  ssh ... -i $SCRATCH/client/$USER_B $USER_B@127.0.0.1 db01             # denied

Logs: $SCRATCH/proxy.log (diagnostics), $SCRATCH/log/audit.json (events).
EOF
    [ -s "$SCRATCH/pam.d/sshd" ] && cat <<EOF
After the key, the bastion shows a URL and a code: approve it as the IdP
user $USER_A (any password) in a browser that trusts $SCRATCH/pki/ca.crt,
or with curl:
  $here/tests/idp/approve.sh $SCRATCH/pki/ca.crt URL CODE $USER_A
then press Enter.
EOF
    printf '\nPress Enter to stop the demo and remove its users and files. '
    read -r _
else
    echo "(Run it in a terminal to keep the bastion up and try it by hand.)"
fi
say "Stopping: sshd processes by PID, users $USER_A and $USER_B, scratch directory"
pcl_finish
