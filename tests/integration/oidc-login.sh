#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# pam_portcullis end to end: a real bastion sshd (publickey, then
# keyboard-interactive through PAM, the module loaded by pam_wrapper so
# nothing under /etc changes) with the proxy as ForceCommand, the real ssh
# client driven by expect, and a real OpenID Provider (oidc-provider, device
# flow) over HTTPS with a per-run CA; the user code approved with curl and
# a cookie jar. Checks: sign-in, the proxy sees the IdP groups and policy
# by group works, the audit events, wrong approver, denial, expired code,
# key rotation (IdP restarted with a new key), remember inside and past
# its window, IdP down, wrong CA, and the proxy's refusal of forged,
# expired and other users' tickets.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/idp/idp.sh"

pcl_require_root_sshd
pcl_require_cmd expect
pcl_require_cmd jq
pcl_require_cmd openssl
pcl_idp_require
TICKET_TOOL=$top_builddir/tests/tools/pcl-ticket
[ -x "$TICKET_TOOL" ] || fatal "$TICKET_TOOL not built (make check builds it)"

IDP_PORT=22302
# The standard bastion of tests/lib.sh, then restarted with the sign-in.
pcl_setup 22300 22301
pcl_mkca "$SCRATCH/pki"
pcl_oidc_files "$TEST_GROUP"
CONF=$SCRATCH/etc/portcullis.conf
pcl_write_conf "
$(pcl_oidc_keys "$IDP_PORT")
remember = 0
client-secret-file =
remember-store = $SCRATCH/state/remember.sqlite
failmode = secure
require-ticket = no
qr = yes
jwks-cooldown = 0"
pcl_policy_target dbadb "$TARGET_PORT" "" "allow = group:dba"
# The bastion: sshd under pam_wrapper with our stack as its "sshd" service.
pcl_stop_sshd bastion
pcl_start_oidc_bastion

OP_GROUPS="{\"$USER_A\":[\"dba\",\"ops\"],\"$USER_B\":[\"dev\"]}"
export OP_GROUPS
pcl_idp_start "$IDP_PORT"

login() {
    pcl_oidc_login "$@"
}
set_conf() {
    sed -i "s|^$1 =.*|$1 = $2|" "$CONF"
}
last_login_event() {
    pcl_audit_new 'select(.event == "oidc-login")' | tail -n 1
}

trace "sign-in approved by the user: the session runs"
pcl_audit_mark
login "$USER_A" approve "$USER_A" db01 -- echo hello-from-db01
expect_eq "ssh status" 0 "$RC"
expect_match "the prompt showed the URL and code" "== code [A-Z]{4}-[A-Z]{4}" "$OUT"
expect_match "the command ran on the target" "hello-from-db01" "$OUT"
expect_match "the QR code reached the ssh client" "$(printf '\342\226\210')" "$OUT"
ev=$(last_login_event)
expect_eq "oidc-login result" success "$(jq -r .result <<<"$ev")"
expect_eq "oidc-login method" device "$(jq -r .method <<<"$ev")"
expect_eq "oidc-login groups" "dba,ops" "$(jq -r .groups <<<"$ev")"
expect_match "oidc-login key fingerprint" '^SHA256:' "$(jq -r .fingerprint <<<"$ev")"

trace "the proxy verified the ticket and sees the IdP groups"
dec=$(pcl_audit_new 'select(.event == "decision")' | tail -n 1)
expect_eq "decision subject" "$USER_A" "$(jq -r .subject <<<"$dec")"
expect_eq "decision idp_groups" "dba,ops" "$(jq -r .idp_groups <<<"$dec")"
expect_eq "decision issuer" "https://127.0.0.1:$IDP_PORT" "$(jq -r .issuer <<<"$dec")"
expect_match "proxy log" "identity ticket of $USER_A" "$(cat "$SCRATCH/proxy.log")"
rec=$(pcl_last_recording)
expect_match "recording header subject" "\"subject\": *\"$USER_A\"" "$(head -n 1 "$rec")"

trace "policy by IdP group: allow = group:dba lets the dba member in"
login "$USER_A" approve "$USER_A" dbadb -- echo in-by-group
expect_eq "ssh status" 0 "$RC"
expect_match "command ran" "in-by-group" "$OUT"

trace "... and refuses a user whose IdP groups do not include dba"
pcl_audit_mark
login "$USER_B" approve "$USER_B" dbadb -- true
expect_eq "proxy refused (77)" 77 "$RC"
dec=$(pcl_audit_new 'select(.event == "decision")' | tail -n 1)
expect_eq "decision" deny "$(jq -r .decision <<<"$dec")"
expect_eq "idp_groups of the denied user" dev "$(jq -r .idp_groups <<<"$dec")"

trace "wrong approver: B approves A's code"
pcl_audit_mark
login "$USER_A" approve "$USER_B" db01 -- true
expect_eq "ssh refused" 255 "$RC"
expect_match "the user was told" "== close" "$OUT"
ev=$(last_login_event)
expect_eq "oidc-login result" failure "$(jq -r .result <<<"$ev")"
expect_match "reason names the claim" "does not name this user" "$(jq -r .reason <<<"$ev")"
expect_eq "the approver is recorded" "$USER_B" "$(jq -r .subject <<<"$ev")"

trace "denied at the IdP"
pcl_audit_mark
login "$USER_A" deny "$USER_A" db01 -- true
expect_eq "ssh refused" 255 "$RC"
expect_match "reason" "access_denied" "$(jq -r .reason <<<"$(last_login_event)")"

trace "key rotation: the IdP restarts with a new signing key"
pcl_idp_stop
pcl_idp_start "$IDP_PORT"
login "$USER_A" approve "$USER_A" db01 -- echo after-rotation
expect_eq "ssh status" 0 "$RC"
expect_match "command ran" "after-rotation" "$OUT"
jwks_fetches=$(grep -c '^GET /jwks' "$SCRATCH/idp.requests")
expect_eq "JWKS fetched once before and once after the restart" 2 "$jwks_fetches"

trace "expired code: Enter only after the device code's lifetime"
pcl_idp_stop
OP_DEVICE_TTL=2 pcl_idp_start "$IDP_PORT"
pcl_audit_mark
login "$USER_A" late "$USER_A" db01 -- true
expect_eq "ssh refused" 255 "$RC"
expect_match "reason" "expired" "$(jq -r .reason <<<"$(last_login_event)")"
pcl_idp_stop
pcl_idp_start "$IDP_PORT"

trace "remember: the same key inside the window skips the browser"
set_conf remember 8
pcl_audit_mark
login "$USER_A" approve "$USER_A" db01 -- echo first
expect_eq "device flow" 0 "$RC"
expect_eq "remembered" 1 "$(pcl_audit_new 'select(.event == "oidc-remember" and .result == "success")' | wc -l)"
login "$USER_A" none "$USER_A" db01 -- echo second
expect_eq "remembered login" 0 "$RC"
expect_nomatch "no prompt" "== prompt" "$OUT"
expect_match "command ran" "second" "$OUT"
expect_eq "method" remember "$(jq -r .method <<<"$(last_login_event)")"
trace "... not for the other user's key"
login "$USER_B" none "$USER_B" db01 -- true
expect_match "B is asked" "== prompt" "$OUT"
trace "... and past its window asks again"
sleep 8
login "$USER_A" none "$USER_A" db01 -- true
expect_match "prompted again" "== prompt" "$OUT"
expect_eq "nobody approved: refused" 255 "$RC"
set_conf remember 0

trace "wrong CA: the IdP's certificate is not trusted"
set_conf ca-file "$SCRATCH/pki/wrong-ca.crt"
rm -f "$SCRATCH/state/discovery.json"
pcl_audit_mark
login "$USER_A" approve "$USER_A" db01 -- true
expect_eq "ssh refused" 255 "$RC"
expect_match "reason" "not trusted" "$(jq -r .reason <<<"$(last_login_event)")"
# An IdP that answers with a certificate that does not verify is not an
# outage: failmode open must not let anyone in.
set_conf failmode open
rm -f "$SCRATCH/state/discovery.json"
pcl_audit_mark
login "$USER_A" approve "$USER_A" db01 -- echo failed-open
expect_eq "wrong CA, failmode open: still refused" 255 "$RC"
expect_eq "no oidc-failopen event" 0 "$(pcl_audit_new 'select(.event == "oidc-failopen")' | wc -l)"
set_conf failmode secure
set_conf ca-file "$SCRATCH/pki/ca.crt"

trace "confidential client: the secret from client-secret-file, right then wrong"
pcl_idp_stop
pcl_idp_start "$IDP_PORT" --client-secret "s3cret-$$"
printf 's3cret-%s\n' "$$" > "$SCRATCH/etc/client.secret"
chmod 0600 "$SCRATCH/etc/client.secret"
set_conf client-secret-file "$SCRATCH/etc/client.secret"
login "$USER_A" approve "$USER_A" db01 -- echo confidential
expect_eq "ssh status with the right secret" 0 "$RC"
expect_match "command ran" "confidential" "$OUT"
echo wrong > "$SCRATCH/etc/client.secret"
pcl_audit_mark
login "$USER_A" none "$USER_A" db01 -- true
expect_eq "wrong secret: refused" 255 "$RC"
expect_match "reason" "invalid_client" "$(jq -r .reason <<<"$(last_login_event)")"
chmod 0644 "$SCRATCH/etc/client.secret"
pcl_audit_mark
login "$USER_A" none "$USER_A" db01 -- true
expect_eq "secret readable by others: refused" 255 "$RC"
expect_eq "no prompt for a configuration error" "" "$(grep -o '== prompt' <<<"$OUT")"
set_conf client-secret-file ""
pcl_idp_stop
pcl_idp_start "$IDP_PORT"

trace "IdP down, failmode secure: refused"
pcl_idp_stop
pcl_audit_mark
login "$USER_A" none "$USER_A" db01 -- true
expect_eq "ssh refused" 255 "$RC"
expect_match "reason" "unreachable" "$(jq -r .reason <<<"$(last_login_event)")"

trace "IdP down, failmode open: in without a ticket, audited"
set_conf failmode open
pcl_audit_mark
login "$USER_A" none "$USER_A" db01 -- echo failed-open
expect_eq "ssh status" 0 "$RC"
expect_eq "oidc-failopen event" 1 "$(pcl_audit_new 'select(.event == "oidc-failopen")' | wc -l)"
dec=$(pcl_audit_new 'select(.event == "decision")' | tail -n 1)
expect_eq "no subject without a ticket" null "$(jq -r .subject <<<"$dec")"
set_conf failmode secure

trace "the proxy refuses forged, expired and other users' tickets"
# run_proxy TICKET: the installed (setgid) proxy as USER_A with the ticket
# in its environment, as sshd would start it.
run_proxy() {
    timeout 30 setpriv --reuid="$USER_A" --regid="$USER_A" --init-groups \
        env -i PORTCULLIS_TICKET="$1" SSH_ORIGINAL_COMMAND="db01 -- true" \
        SSH_CONNECTION="127.0.0.1 5 127.0.0.1 22" \
        "$SCRATCH/bin/portcullis" -f "$CONF" -E "$SCRATCH/proxy.log" \
        </dev/null >/dev/null 2>&1
}
head -c 32 /dev/urandom > "$SCRATCH/other.key"
# Tickets of the configured issuer, but for the one test that says not.
export PCL_T_ISS="https://127.0.0.1:$IDP_PORT"
good=$("$TICKET_TOOL" "$SCRATCH/etc/ticket.key" "$USER_A" 60 dba)
run_proxy "$good"
expect_eq "a good ticket passes" 0 "$?"
run_proxy "$("$TICKET_TOOL" "$SCRATCH/other.key" "$USER_A" 60 dba)"
expect_eq "forged (another key)" 77 "$?"
run_proxy "$("$TICKET_TOOL" "$SCRATCH/etc/ticket.key" "$USER_A" -10 dba)"
expect_eq "expired" 77 "$?"
run_proxy "$("$TICKET_TOOL" "$SCRATCH/etc/ticket.key" "$USER_B" 60 dba)"
expect_eq "another user's" 77 "$?"
run_proxy "$(sed "s/\\./.X/" <<<"$good")"
expect_eq "damaged" 77 "$?"
run_proxy "$(PCL_T_ISS=https://old-idp.invalid "$TICKET_TOOL" \
    "$SCRATCH/etc/ticket.key" "$USER_A" 60 dba)"
expect_eq "another issuer's (the IdP replaced)" 77 "$?"
expect_eq "refusals are audited" 5 \
    "$(pcl_audit_events 'select(.event == "decision" and .rule == "identity-ticket")' | wc -l)"
set_conf require-ticket yes
run_proxy ""
expect_eq "require-ticket: none refused" 77 "$?"
set_conf require-ticket no
run_proxy ""
expect_eq "no ticket, require-ticket no: local groups" 0 "$?"

trace "portcullis-audit(5), SIGN-IN EVENTS: what was emitted is documented"
MAN=$top_srcdir/man/portcullis-audit.5.in
documented=$(awk '
    /^\.Sh / { sh = substr($0, 5); ev = ""; next }
    sh == "SIGN-IN EVENTS" && /^\.Ss / { ev = $2; print ev " -"; next }
    sh == "SIGN-IN EVENTS" && ev != "" && /^\.It Va / { print ev " " $3 }
' "$MAN" | sort -u)
[ -n "$documented" ] || fatal "no SIGN-IN EVENTS in $MAN"
emitted=$(jq -r 'select(.event | startswith("oidc-")) | . as $e |
    keys_unsorted[] | select(. != "time" and . != "event") | "\($e.event) \(.)"' \
    "$SCRATCH/log/audit.json" | sort -u)
while read -r ev f; do
    grep -qx "$ev $f" <<<"$documented" ||
        fail "field '$f' of '$ev' is emitted but not in SIGN-IN EVENTS"
done <<<"$emitted"
for ev in $(awk '$2 == "-" && $1 != "decision" { print $1 }' <<<"$documented"); do
    grep -q "^$ev " <<<"$emitted" || fail "event '$ev' is documented but was never emitted"
done
for f in subject issuer idp_groups; do
    grep -qx "decision $f" <<<"$documented" || fail "decision field $f not documented"
    [ "$(pcl_audit_events "select(.event == \"decision\" and .$f != null)" | wc -l)" -gt 0 ] ||
        fail "decision field $f documented but never emitted"
done

pcl_finish
