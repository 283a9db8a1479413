#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The Linux audit trail: with a private auditd (its own config, log and
# plugin directory; nothing under /etc touched), a session through the
# bastion leaves one record per event, found with `ausearch -if FILE -i`,
# of the record type portcullis-audit(5) gives, with the same fields as
# the JSON log.  The proxy reaches the kernel through the file capability
# make install sets (cap_audit_write=p, next to the setgid bit), holds it
# only in its permitted set while it runs, and nothing else; without it
# the kernel refuses (EPERM), the proxy says so once and goes on, unless
# `[audit] required = yes`, which refuses the session.  A copy that holds
# the capability without the set-id bit is still privileged (AT_SECURE): it
# trusts no user-owned configuration.
#
# Skips (77) where auditd cannot run: no auditctl/auditd, a kernel or
# container that refuses audit control, an audit daemon already running
# (it is not replaced), or audit configuration locked (enabled 2).  The
# kernel's `enabled` flag is restored to its previous value afterwards,
# and only the auditd started here is stopped, by its PID.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

pcl_require_root_sshd
pcl_require_cmd jq setcap getcap capsh
[ -x /usr/sbin/auditd ] && command -v auditctl >/dev/null &&
    command -v ausearch >/dev/null || skip "auditd, auditctl or ausearch not installed"
status=$(auditctl -s 2>&1) || skip "auditctl -s refused here: $status"
AUDIT_ENABLED0=$(awk '$1 == "enabled" { print $2 }' <<<"$status")
pid0=$(awk '$1 == "pid" { print $2 }' <<<"$status")
[ "$AUDIT_ENABLED0" != 2 ] || skip "audit configuration is locked (enabled 2)"
[ "${pid0:-0}" = 0 ] || skip "an audit daemon (pid $pid0) is already running"

AUDITD_PID=
# Stops the auditd started here (by PID), then restores `enabled`, before
# the harness's own cleanup.
audit_cleanup() {
    local i
    if [ -n "$AUDITD_PID" ]; then
        kill -TERM "$AUDITD_PID" 2>/dev/null
        for i in $(seq 1 100); do
            kill -0 "$AUDITD_PID" 2>/dev/null || break
            sleep 0.05
        done
        kill -KILL "$AUDITD_PID" 2>/dev/null
        AUDITD_PID=
        auditctl -e "$AUDIT_ENABLED0" >/dev/null 2>&1 ||
            echo "audit: warning: could not restore auditctl -e $AUDIT_ENABLED0" >&2
    fi
}
trap 'rc=$?; audit_cleanup; pcl_cleanup $rc' EXIT

pcl_setup 22280 22281
PROXY=$SCRATCH/bin/portcullis
CONF=$SCRATCH/etc/portcullis.conf
T=$SCRATCH/t
mkdir -p "$T"

# ------------------------------------------------------------ without it
trace "without CAP_AUDIT_WRITE: the session goes on, one warning in the proxy log"
: > "$SCRATCH/proxy.log"
out=$(bssh "$USER_A" db01 -- echo no-cap 2> "$T/e")
expect_eq "exit status" 0 "$?"
expect_eq "output" no-cap "$out"
expect_eq "EPERM said once" 1 "$(grep -c 'lacks CAP_AUDIT_WRITE' "$SCRATCH/proxy.log")"
expect_eq "nothing on the user's stderr" "" "$(cat "$T/e")"

trace "required = yes without CAP_AUDIT_WRITE: the allowed session is refused (70)"
printf 'required = yes\n' >> "$CONF"
n0=$(pcl_target_logins)
bssh "$USER_A" db01 -- echo must-not-run > "$T/o" 2> "$T/e"
expect_eq "exit status" 70 "$?"
expect_eq "no output" "" "$(cat "$T/o")"
expect_match "the user is told" 'event log cannot be written' "$(cat "$T/e")"
expect_eq "the target was never logged in to" "$n0" "$(pcl_target_logins)"

trace "required = yes with kernel = no: only the JSON log is required"
printf 'kernel = no\n' >> "$CONF"
out=$(bssh "$USER_A" db01 -- echo json-only 2>/dev/null)
expect_eq "exit status" 0 "$?"
expect_eq "output" json-only "$out"
sed -i '/^required = yes$/d; /^kernel = no$/d' "$CONF"

# ------------------------------------------------------------ the capability
trace "setcap cap_audit_write=p keeps the setgid bit (applied after chgrp)"
setcap cap_audit_write=p "$PROXY" || fatal "setcap failed"
expect_match "getcap" 'cap_audit_write[=+]p$' "$(getcap "$PROXY")"
expect_eq "mode" "-rwxr-sr-x root $TEST_GROUP" "$(stat -c '%A %U %G' "$PROXY")"

trace "a copy with the file capability but no set-id bit trusts no user-owned file"
install -o root -g root -m 0755 "$PCL_PROXY" "$SCRATCH/bin/portcullis-cap"
setcap cap_audit_write=p "$SCRATCH/bin/portcullis-cap" || fatal "setcap failed"
DEV=$SCRATCH/home/$USER_A/dev
install -d -o "$USER_A" -m 0755 "$DEV"
sed -e "s|^policy = .*|policy = $DEV/policy.conf|" "$CONF" > "$DEV/portcullis.conf"
cp "$SCRATCH/etc/policy.conf" "$DEV/policy.conf"
chown "$USER_A" "$DEV/portcullis.conf" "$DEV/policy.conf"
chmod 0644 "$DEV/portcullis.conf" "$DEV/policy.conf"
err=$(setpriv --reuid="$USER_A" --regid="$(id -g "$USER_A")" --init-groups \
    "$SCRATCH/bin/portcullis-cap" -t -f "$DEV/portcullis.conf" 2>&1)
expect_eq "exit status" 1 "$?"
expect_match "refused as not owned by root" "^$DEV[^ ]*: .*not owned by root" "$err"

# ------------------------------------------------------------ private auditd
AD=$SCRATCH/auditd
mkdir -m 0700 "$AD" "$AD/plugins.d"
# The stock file, with the log, the plugins and every disk-space action
# pointed away from the system's.
sed -e "s|^log_file *=.*|log_file = $AD/audit.log|" \
    -e "s|^log_group *=.*|log_group = root|" \
    -e "s|^plugin_dir *=.*|plugin_dir = $AD/plugins.d|" \
    -e "s|^flush *=.*|flush = INCREMENTAL_ASYNC|" \
    -e "s|^freq *=.*|freq = 1|" \
    -e "s|^space_left *=.*|space_left = 2|" \
    -e "s|^admin_space_left *=.*|admin_space_left = 1|" \
    -e "s|^\(space_left_action\|admin_space_left_action\|disk_full_action\|disk_error_action\) *=.*|\1 = ignore|" \
    /etc/audit/auditd.conf > "$AD/auditd.conf"
grep -q "^plugin_dir = $AD/plugins.d" "$AD/auditd.conf" ||
    echo "plugin_dir = $AD/plugins.d" >> "$AD/auditd.conf"
chmod 0640 "$AD/auditd.conf"
/usr/sbin/auditd -n -c "$AD" > "$AD/auditd.out" 2>&1 &
AUDITD_PID=$!
auditd_up() {
    [ "$(auditctl -s 2>/dev/null | awk '$1 == "pid" { print $2 }')" = "$AUDITD_PID" ]
}
if ! pcl_wait_for 10 auditd_up; then
    kill -0 "$AUDITD_PID" 2>/dev/null || AUDITD_PID=
    skip "auditd did not start here: $(tail -n 3 "$AD/auditd.out")"
fi
LOG=$AD/audit.log

# records SID: every record of that session, interpreted (ausearch -i
# shows the fields of a TRUSTED_APP record without quotes).
records() {
    ausearch -if "$LOG" -i 2>/dev/null | grep -E "session_id=\"?$1"
}
# raw SID: the same, not interpreted (hexadecimal values as written).
raw() {
    ausearch -if "$LOG" 2>/dev/null | grep -F "session_id=\"$1\""
}
# hexval NAME RECORD: the value of NAME in a raw record, hex-decoded if it
# is not quoted.
hexval() {
    local v
    v=$(grep -o " $1=[^ ]*" <<<"$2" | head -n 1 | cut -d= -f2-)
    case $v in
    \"*) v=${v#\"}; printf '%s' "${v%\"}" ;;
    *) printf '%b' "$(sed 's/../\\x&/g' <<<"$v")" ;;
    esac
}
# doc_type EVENT: the record type portcullis-audit(5) gives for EVENT.
MAN=$top_srcdir/man/portcullis-audit.5.in
doc_type() {
    awk -v ev="$1" '
        /^\.Sh / { sh = substr($0, 5) }
        sh == "EVENTS" && /^\.Ss / { cur = $2; next }
        sh == "EVENTS" && cur == ev && /^\.Dv AUDIT_/ { print $2; exit }
    ' "$MAN" | sed 's/^AUDIT_//'
}

trace "a session's records: found by ausearch -if FILE -i, one per event"
: > "$SCRATCH/proxy.log"
pcl_audit_mark
out=$(bssh "$USER_A" db01 -- 'echo "via the bastion"' 2>/dev/null)
expect_eq "exit status" 0 "$?"
sid=$(pcl_audit_new 'select(.event=="decision") | .session_id' -r)
[ -n "$sid" ] || fatal "no decision event in the JSON log"
ok=0
for i in $(seq 1 100); do
    [ "$(records "$sid" | wc -l)" -ge 5 ] && ok=1 && break
    sleep 0.1
done
[ "$ok" = 1 ] || fail "fewer than 5 records for session $sid in $LOG:
$(pcl_show "$(ausearch -if "$LOG" -i 2>&1 | tail -n 20)")"
expect_eq "no warning without a reason" 0 "$(grep -c 'CAP_AUDIT_WRITE' "$SCRATCH/proxy.log")"
events=$(pcl_audit_new "select(.session_id==\"$sid\") | .event" -r)
expect_eq "events of the session" "decision
credential
session-start
recording-end
session-end" "$events"
uid_a=$(id -u "$USER_A")
for ev in $events; do
    rec=$(records "$sid" | grep -F "op=$ev ")
    rawrec=$(raw "$sid" | grep -F "op=$ev ")
    json=$(pcl_audit_new "select(.session_id==\"$sid\" and .event==\"$ev\")")
    [ "$(wc -l <<<"$rec")" = 1 ] && [ -n "$rec" ] ||
        { fail "$ev: expected one record, got: $(pcl_show "$rec")"; continue; }
    type=$(doc_type "$ev")
    [ -n "$type" ] || fail "$ev: portcullis-audit(5) gives no record type"
    expect_match "$ev: record type $type" "^type=$type " "$rec"
    expect_match "$ev: res=success" " res=success'" "$rec"
    expect_match "$ev: sent by the user's proxy (uid)" " uid=$uid_a " "$rawrec"
    expect_match "$ev: the proxy as exe" " exe=$PROXY " "$rec"
    expect_match "$ev: client address" " addr=127\.0\.0\.1 " "$rec"
    # Every JSON field is in the record with the same value, under the
    # names of portcullis-audit(5): account as acct, command as cmd; the
    # kernel writes the time and pid itself.
    for k in $(jq -r 'keys[]' <<<"$json"); do
        case $k in
        time | pid | event) continue ;;
        account) rk=acct ;;
        command) rk=cmd ;;
        *) rk=$k ;;
        esac
        want=$(jq -r --arg k "$k" '.[$k]' <<<"$json")
        got=$(hexval "$rk" "$rawrec")
        expect_eq "$ev: $rk" "$want" "$got"
    done
done
expect_match "ausearch -i decodes cmd" ' cmd=echo "via the bastion" ' \
    "$(records "$sid" | grep 'op=session-start ')"
expect_eq "ausearch -ua finds them by the user" 5 \
    "$(ausearch -if "$LOG" -ua "$uid_a" 2>/dev/null | grep -c "session_id=\"$sid\"")"

trace "a denied request: USER_ACCT, res=failed"
pcl_audit_mark
bssh "$USER_B" db01 -- true 2>/dev/null
expect_eq "exit status" 77 "$?"
sid=$(pcl_audit_new 'select(.event=="decision") | .session_id' -r)
ok=0
for i in $(seq 1 100); do
    [ -n "$(records "$sid")" ] && ok=1 && break
    sleep 0.1
done
rec=$(records "$sid")
expect_match "USER_ACCT denied" "^type=USER_ACCT .*op=decision .*decision=\"deny\" .* res=failed'" "$rec"
reason=$(pcl_audit_new 'select(.event=="decision") | .reason' -r)
expect_eq "reason, hex-decoded" "$reason" "$(hexval reason "$(raw "$sid")")"
expect_match "ausearch --success no finds it" "session_id=\"$sid\"" \
    "$(ausearch -if "$LOG" -m USER_ACCT --success no 2>/dev/null)"

trace "the proxy holds CAP_AUDIT_WRITE only as permitted, nothing inheritable or ambient"
pcl_audit_mark
bssh "$USER_A" db01 -- 'sleep 3' > /dev/null 2>&1 &
bg=$!
pid=
for i in $(seq 1 100); do
    pid=$(pcl_audit_new 'select(.event=="session-start") | .pid' -r)
    [ -n "$pid" ] && break
    sleep 0.05
done
if [ -z "$pid" ] || [ ! -r "/proc/$pid/status" ]; then
    fail "no running proxy found (pid '$pid')"
else
    st=$(cat "/proc/$pid/status")
    expect_eq "CapPrm" 0000000020000000 "$(awk '$1 == "CapPrm:" { print $2 }' <<<"$st")"
    expect_eq "CapEff" 0000000000000000 "$(awk '$1 == "CapEff:" { print $2 }' <<<"$st")"
    expect_eq "CapInh" 0000000000000000 "$(awk '$1 == "CapInh:" { print $2 }' <<<"$st")"
    expect_eq "CapAmb" 0000000000000000 "$(awk '$1 == "CapAmb:" { print $2 }' <<<"$st")"
    expect_eq "group given up" "$(id -g "$USER_A")" \
        "$(awk '$1 == "Gid:" { print $3 }' <<<"$st")"
fi
wait "$bg"
expect_eq "exit status" 0 "$?"

trace "required = yes with the capability: sessions go on"
printf 'required = yes\n' >> "$CONF"
out=$(bssh "$USER_A" db01 -- echo required-ok 2>/dev/null)
expect_eq "exit status" 0 "$?"
expect_eq "output" required-ok "$out"
sed -i '/^required = yes$/d' "$CONF"

trace "kernel = no: no record, the JSON log as before"
printf 'kernel = no\n' >> "$CONF"
pcl_audit_mark
bssh "$USER_A" db01 -- true 2>/dev/null
expect_eq "exit status" 0 "$?"
sid=$(pcl_audit_new 'select(.event=="decision") | .session_id' -r)
[ -n "$sid" ] || fail "no decision event in the JSON log"
sleep 1
expect_eq "no record" "" "$(records "$sid")"
sed -i '/^kernel = no$/d' "$CONF"

pcl_finish
