#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Just-in-time approval over plain ssh (issue 7), against real sshd and ssh:
# requests without a terminal (exit 75, come back), self-approval refused
# (also through the approvers' group), requests and grants listings with
# untrusted text escaped, grant reuse and revoke, per-command rules on
# exec, two-of-N quorum, and through a terminal (expect): approve while
# waiting, deny, Ctrl-C, timeout, expiry ending the session after a
# warning, revoke ending it; ten requesters and two approvers at once with
# nothing lost or doubled; the webhook received over HTTPS by a listener
# with a per-run CA (first attempt answered 500: retried).
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

pcl_require_root_sshd
pcl_require_cmd expect jq python3 openssl sqlite3
EXP=$top_srcdir/tests/integration/approval.exp
HOOK_PORT=22452
NEXP=0

pcl_setup 22450 22451
# LEADS approves: USER_A (the requester: refused for their own requests
# through the group), USER_B and USER_C.
pcl_add_group l
LEADS=$PCL_NEW
usermod -aG "$LEADS" "$USER_A" && usermod -aG "$LEADS" "$USER_B" ||
    fatal "usermod failed"
pcl_add_user c "$LEADS"
USER_C=$PCL_NEW

# The approval store as make install lays it out: root:group 2770.
install -d -o root -g "$TEST_GROUP" -m 2770 "$SCRATCH/approvals"

# ---------------------------------------------------------------- webhook
# A per-run CA and a server certificate for 127.0.0.1; the listener records
# every body, and answers the first POST 500 so the proxy must retry.
mkdir -p "$SCRATCH/hook"
(
    cd "$SCRATCH/hook" || exit 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout ca.key -out ca.pem -days 1 -subj /CN=pcl-test-ca &&
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout srv.key -out srv.csr -subj /CN=127.0.0.1 &&
        printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > ext &&
        openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key \
            -CAcreateserial -out srv.pem -days 1 -extfile ext
) > "$SCRATCH/hook/openssl.log" 2>&1 || fatal "cannot make the test CA: $(cat "$SCRATCH/hook/openssl.log")"
chmod 0644 "$SCRATCH/hook/ca.pem"
cat > "$SCRATCH/hook/server.py" <<'EOF'
import http.server, ssl, sys
port, cert, key, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
seen = [0]
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        seen[0] += 1
        with open(out, "ab") as f:
            f.write(b"attempt %d %s\n" % (seen[0], self.headers.get("Content-Type", "").encode()))
            f.write(body + b"\n")
        self.send_response(500 if seen[0] == 1 else 204)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", port), Hook)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
EOF
: > "$SCRATCH/hook/received"
pcl_port_free "$HOOK_PORT" || fatal "port $HOOK_PORT is busy"
python3 "$SCRATCH/hook/server.py" "$HOOK_PORT" "$SCRATCH/hook/srv.pem" \
    "$SCRATCH/hook/srv.key" "$SCRATCH/hook/received" \
    2> "$SCRATCH/hook/server.log" &
PCL_PIDS+=("$!")
pcl_wait_for 10 eval "(exec 3<>/dev/tcp/127.0.0.1/$HOOK_PORT) 2>/dev/null" ||
    fatal "webhook listener not up"

pcl_write_conf "
[approval]
directory = $SCRATCH/approvals
poll-interval = 200ms
warn-before = 5s
request-timeout = 10m
webhook = https://127.0.0.1:$HOOK_PORT/hook
webhook-ca = $SCRATCH/hook/ca.pem
webhook-timeout = 5
webhook-retries = 2"

pcl_policy_begin
ALLOW="allow = group:$EXTRA_GROUP"
pcl_policy_target db01 "$TARGET_PORT" "" "$ALLOW
approval = group:$LEADS"
pcl_policy_target db02 "$TARGET_PORT" "" "$ALLOW
approval = group:$LEADS
approvals-required = 2"
pcl_policy_target db03 "$TARGET_PORT" "" "$ALLOW
approval = group:$LEADS
approval-accounts = none
approval-command = ^rm[[:space:]]"
pcl_policy_target db05 "$TARGET_PORT" "" "$ALLOW
approval = group:$LEADS
request-timeout = 3s"
pcl_policy_target db06 "$TARGET_PORT" "" "$ALLOW
approval = user:$USER_C"
pcl_policy_target db07 "$TARGET_PORT" "" "$ALLOW
approval = group:$LEADS
approval-accounts = none
approval-command = ^echo[[:space:]]concurrent
approvals-required = 2"
pcl_policy_target open01 "$TARGET_PORT" "" "$ALLOW"

# request_id TEXT: the first request id in TEXT.
request_id() {
    printf '%s\n' "$1" | grep -o 'request [a-z2-9]\{8\}' | head -n 1 | cut -d' ' -f2
}

# run USER ARGS...: bssh with stdout+stderr in OUT and the status in RC.
run() {
    OUT=$(bssh "$@" 2>&1 < /dev/null)
    RC=$?
}

# expect_rc WHAT WANT: fails unless RC is WANT.
expect_rc() {
    [ "$RC" = "$2" ] || fail "$1: exit status $RC, wanted $2; output:
$(pcl_show "$OUT")"
}

# store SQL: one query on the store, read-only.
store() {
    sqlite3 -readonly "$SCRATCH/approvals/approvals.sqlite" "$1"
}

# ---------------------------------------------------------------- exec
trace "portcullis -t checks the approval store's directory (targets use approval)"
"$SCRATCH/bin/portcullis" -t -f "$SCRATCH/etc/portcullis.conf" > "$SCRATCH/t.out" 2>&1 ||
    fail "portcullis -t refuses the test setup: $(cat "$SCRATCH/t.out")"
chmod 2777 "$SCRATCH/approvals"
"$SCRATCH/bin/portcullis" -t -f "$SCRATCH/etc/portcullis.conf" > "$SCRATCH/t.out" 2>&1
RC=$? OUT=$(cat "$SCRATCH/t.out")
chmod 2770 "$SCRATCH/approvals"
expect_rc "-t with a world-writable store directory" 1
expect_match "-t names it" "approval directory: " "$OUT"

trace "no approval keys: open01 runs at once"
run "$USER_A" open01 -- echo open
expect_rc "open01" 0
expect_eq "open01 output" "open" "$OUT"

trace "exec without a terminal on db01: request stored, exit 75, id shown"
run "$USER_A" db01 --reason $'disk full \e[31mRED\e[0m' -- echo granted-run
expect_rc "request" 75
ID1=$(request_id "$OUT")
expect_match "message" "needs approval: request $ID1 is waiting" "$OUT"
[ -n "$ID1" ] || fatal "no request id in: $OUT"
expect_eq "store: one pending request" "pending|$USER_A|db01|" \
    "$(store "SELECT state, user, target, command FROM requests WHERE id = '$ID1';")"

trace "--reason with no text before -- is refused, not taken as the reason"
run "$USER_A" db01 --reason -- echo no-reason
expect_rc "--reason --" 64
expect_match "message" "--reason needs a text" "$OUT"
expect_eq "store: still one request" "1" "$(store "SELECT count(*) FROM requests;")"

trace "coming back before approval: the same request, still exit 75"
run "$USER_A" db01 -- echo granted-run
expect_rc "again" 75
expect_match "same id" "request $ID1 .*still waiting" "$OUT"
expect_eq "still one request" "1" "$(store "SELECT count(*) FROM requests;")"

trace "self-approval refused, though $USER_A is in the approvers' group"
run "$USER_A" approve "$ID1"
expect_rc "self" 77
expect_match "self" "cannot decide your own request" "$OUT"

trace "a user outside the approval list cannot see or decide: db06 approver is $USER_C only"
run "$USER_A" db06 --reason "need db06" -- true
expect_rc "db06 request" 75
ID6=$(request_id "$OUT")
run "$USER_B" approve "$ID6"
expect_rc "not an approver" 77
expect_match "not an approver" "no request $ID6 that you may decide" "$OUT"
run "$USER_B" requests
expect_nomatch "B's list lacks db06" "$ID6" "$OUT"

trace "requests: listed for an approver, the reason's escape sequence shown escaped"
run "$USER_B" requests
expect_rc "requests" 0
expect_match "listed" "^$ID1 +$USER_A +$USER_A@db01 +0 of 1 .*disk full \\\\x1b\\[31mRED\\\\x1b\\[0m" "$OUT"
if printf '%s' "$OUT" | grep -q $'\e'; then
    fail "a raw ESC reached the approver's terminal: $(printf '%s' "$OUT" | cat -v)"
fi

trace "approve: granted; the requester's exec now runs; recording and audit carry the id"
run "$USER_B" approve "$ID1" --comment "go ahead"
expect_rc "approve" 0
expect_match "approve" "Request $ID1 approved: $USER_A may use db01" "$OUT"
run "$USER_A" db01 -- echo granted-run
expect_rc "granted exec" 0
expect_eq "granted exec output" "granted-run" "$OUT"
rec=$(pcl_last_recording)
expect_eq "recording header approval_id" "$ID1" \
    "$(head -n 1 "$rec" | jq -r .portcullis.approval_id)"
expect_eq "session index approval_id" "$ID1" \
    "$(sqlite3 -readonly "$SCRATCH/sessions/index.sqlite" \
        "SELECT approval_id FROM sessions ORDER BY start DESC, rowid DESC LIMIT 1;")"
ev=$(pcl_audit_events 'select(.event=="approval-decision" and .approval_id==$id
    and .outcome=="granted" and .user==$b and .requester==$a and .comment=="go ahead")' \
    --arg id "$ID1" --arg a "$USER_A" --arg b "$USER_B")
[ -n "$ev" ] || fail "no approval-decision event granted for $ID1"
ev=$(pcl_audit_events 'select(.event=="grant-use" and .approval_id==$id)' --arg id "$ID1")
[ -n "$ev" ] || fail "no grant-use event for $ID1"

trace "grant reuse: another command within the grant, no new request"
run "$USER_A" db01 -- echo second
expect_rc "reuse" 0
expect_eq "reuse output" "second" "$OUT"
expect_eq "no new request" "0" "$(store "SELECT count(*) FROM requests WHERE target = 'db01' AND id != '$ID1';")"

trace "grants: listed; revoke ends it; the next exec needs a new request"
run "$USER_C" grants
expect_match "grants" "^$ID1 +$USER_A +$USER_A@db01 .* $USER_B\$" "$OUT"
run "$USER_C" revoke "$ID1"
expect_rc "revoke" 0
run "$USER_A" db01 -- echo after-revoke
expect_rc "after revoke, no reason" 64
expect_match "asks for a reason" "give a reason with" "$OUT"
run "$USER_A" db01 --reason "once more" -- echo after-revoke
expect_rc "after revoke" 75
ID1B=$(request_id "$OUT")
[ -n "$ID1B" ] && [ "$ID1B" != "$ID1" ] || fail "no new request after the revoke: $OUT"
run "$USER_C" revoke "$ID1"
expect_rc "revoke twice" 77

trace "deny (no terminal): the request is denied, the requester's next try asks anew"
run "$USER_C" deny "$ID1B" --comment "use the replica"
expect_rc "deny" 0
expect_eq "denied in the store" "denied|$USER_C|use the replica" \
    "$(store "SELECT state, decided_by, comment FROM requests WHERE id = '$ID1B';")"
run "$USER_B" approve "$ID1B"
expect_rc "approve after deny" 77

trace "two of N on db02 (no terminal): one approval is not enough, two are"
run "$USER_A" db02 --reason "quorum" -- echo quorum-ok
expect_rc "db02 request" 75
ID2=$(request_id "$OUT")
run "$USER_B" approve "$ID2"
expect_match "1 of 2" "recorded \\(1 of 2\\)" "$OUT"
run "$USER_B" approve "$ID2"
expect_rc "same approver twice" 77
run "$USER_A" db02 -- echo quorum-ok
expect_rc "one approval" 75
run "$USER_C" approve "$ID2"
expect_match "granted" "Request $ID2 approved" "$OUT"
run "$USER_A" db02 -- echo quorum-ok
expect_rc "two approvals" 0
expect_eq "quorum output" "quorum-ok" "$OUT"
expect_eq "approvers" "2" "$(store "SELECT count(*) FROM decisions WHERE request_id = '$ID2';")"

trace "per-command rule on db03: echo runs freely, rm needs approval for that exact command"
run "$USER_A" db03 -- echo free
expect_rc "free command" 0
run "$USER_A" db03 --reason cleanup -- rm -f /tmp/pcl-approval-none
expect_rc "rm request" 75
ID3=$(request_id "$OUT")
expect_eq "scoped to the command" "rm -f /tmp/pcl-approval-none" \
    "$(store "SELECT command FROM requests WHERE id = '$ID3';")"
run "$USER_B" approve "$ID3"
expect_rc "approve rm" 0
run "$USER_A" db03 -- rm -f /tmp/pcl-approval-none
expect_rc "approved rm" 0
run "$USER_A" db03 --reason other -- rm -f /tmp/pcl-approval-other
expect_rc "another rm" 75

# ---------------------------------------------------------------- terminal
# xp SCENARIO REASON TARGET: approval.exp with USER_A as the requester,
# USER_B and USER_C as approvers.
xp() {
    NEXP=$((NEXP + 1))
    local t="$SCRATCH/transcript.$NEXP" out rc a1 a2
    pcl_bssh_argv "$USER_B"
    a1="${PCL_ARGV[*]}"
    pcl_bssh_argv "$USER_C"
    a2="${PCL_ARGV[*]}"
    pcl_bssh_argv "$USER_A"
    out=$(timeout -k 5 60 expect -f "$EXP" "$t" "$1" "$2" "$a1" "$a2" -- \
        "${PCL_ARGV[@]}" -tt "$3" 2>&1)
    rc=$?
    printf '%s\n' "$out" | sed 's/^/    /'
    XID=$(printf '%s\n' "$out" | sed -n 's/^approval.exp: id //p')
    if [ "$rc" != 0 ]; then
        fail "approval.exp $1 (exit $rc); transcript:
$(sed -n '1,80p' "$t" 2>/dev/null | cat -v | sed 's/^/    | /')"
    fi
}

trace "terminal: asked for a reason, approved during the countdown, the session starts at once"
xp approve "restart replication" "$USER_B@db01"
expect_eq "store" "approved" "$(store "SELECT state FROM requests WHERE id = '$XID';")"

trace "terminal: denied with a comment, shown escaped"
xp deny "please" "$USER_B@db02"

trace "terminal: Ctrl-C cancels the request"
xp cancel "never mind" db01
expect_eq "cancelled in the store" "cancelled" "$(store "SELECT state FROM requests WHERE id = '$XID';")"
ev=$(pcl_audit_events 'select(.event=="approval-wait-end" and .approval_id==$id and .outcome=="cancelled")' --arg id "$XID")
[ -n "$ev" ] || fail "no approval-wait-end cancelled for $XID"

trace "terminal: nobody decides within request-timeout (3 s): expired, exit 75"
xp timeout "waiting" "$USER_B@db05"
expect_eq "expired in the store" "expired" "$(store "SELECT state FROM requests WHERE id = '$XID';")"

trace "terminal: two of two, --for 8s: warned, then the session is ended at expiry"
xp quorum-expiry "short job" "$USER_B@db02"
ev=$(pcl_audit_events 'select(.event=="grant-end" and .approval_id==$id and .outcome=="expired")' --arg id "$XID")
[ -n "$ev" ] || fail "no grant-end expired event for $XID"
ev=$(pcl_audit_events 'select(.event=="grant-warning" and .approval_id==$id)' --arg id "$XID")
[ -n "$ev" ] || fail "no grant-warning event for $XID"
ev=$(pcl_audit_events 'select(.event=="session-end" and .end=="grant")')
[ -n "$ev" ] || fail "no session-end with end grant"
rec=$(pcl_last_recording)
grep -q "grant-expired:$XID" "$rec" || fail "no grant-expired marker in $rec"

trace "terminal: revoke during the session ends it"
xp revoke "look at logs" db01
ev=$(pcl_audit_events 'select(.event=="grant-end" and .approval_id==$id and .outcome=="revoked")' --arg id "$XID")
[ -n "$ev" ] || fail "no grant-end revoked event for $XID"

# ---------------------------------------------------------------- at once
trace "ten requesters and two approvers at once: nothing lost, nothing doubled"
pids=()
for i in 0 1 2 3 4 5 6 7 8 9; do
    bssh "$USER_A" db07 --reason "load $i" -- echo concurrent $i \
        > "$SCRATCH/conc.$i" 2>&1 < /dev/null &
    pids+=("$!")
done
for p in "${pids[@]}"; do wait "$p"; done
ids=$(cat "$SCRATCH"/conc.* | grep -o 'request [a-z2-9]\{8\}' | cut -d' ' -f2 | sort -u)
expect_eq "ten distinct requests" "10" "$(printf '%s\n' "$ids" | grep -c .)"
pids=()
for u in "$USER_B" "$USER_C"; do
    for id in $ids; do
        bssh "$u" approve "$id" > "$SCRATCH/dec.$u.$id" 2>&1 < /dev/null &
        pids+=("$!")
    done
done
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
expect_eq "every approval accepted" "0" "$bad"
expect_eq "ten stored requests for db07" "10" \
    "$(store "SELECT count(*) FROM requests WHERE target = 'db07';")"
expect_eq "all approved" "10" \
    "$(store "SELECT count(*) FROM requests WHERE target = 'db07' AND state = 'approved';")"
expect_eq "exactly two decisions each" "10|20|2|2" \
    "$(store "SELECT count(*), sum(n), min(n), max(n) FROM (SELECT count(*) AS n FROM decisions d JOIN requests r ON r.id = d.request_id WHERE r.target = 'db07' GROUP BY d.request_id);")"
expect_eq "ten approval-request events" "10" \
    "$(pcl_audit_events 'select(.event=="approval-request" and .target=="db07")' | grep -c .)"
run "$USER_A" db07 -- echo concurrent 3
expect_rc "granted" 0

# ---------------------------------------------------------------- webhook
trace "webhook: each request posted as JSON over HTTPS; the first retried after a 500"
pcl_wait_for 10 grep -q "^attempt 2 " "$SCRATCH/hook/received" ||
    fail "no second attempt: $(cat "$SCRATCH/hook/received")"
expect_match "content type" "^attempt 1 application/json" "$(head -n 1 "$SCRATCH/hook/received")"
bodies=$(awk 'NR % 2 == 0' "$SCRATCH/hook/received")
first=$(printf '%s\n' "$bodies" | jq -c --arg id "$ID1" 'select(.id == $id)')
expect_eq "two attempts for $ID1, the same body" "2 1" \
    "$(printf '%s\n' "$first" | grep -c .) $(printf '%s\n' "$first" | sort -u | grep -c .)"
body=$(printf '%s\n' "$first" | head -n 1)
expect_eq "webhook body" "approval-request|$ID1|$USER_A|db01|$USER_A|null|"$'disk full \e[31mRED\e[0m'"|1" \
    "$(printf '%s' "$body" | jq -r '[.event, .id, .user, .target, .account, (.command|tostring), .reason, (.required|tostring)] | join("|")')"
expect_match "ESC escaped as JSON" '\\u001b\[31mRED' "$body"
expect_match "the retry is logged as a success" "approval $ID1: webhook notified" \
    "$(cat "$SCRATCH/proxy.log")"

trace "webhook hanging: the requester is not held up, the failure is logged later"
# A listener that takes connections and never answers: each attempt lasts
# webhook-timeout (5 s), so the failure can only be logged seconds after
# the request; the requester must have its answer before that.
python3 -c 'import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 22453)); s.listen(16); time.sleep(120)' &
PCL_PIDS+=("$!")
pcl_wait_for 10 eval "(exec 3<>/dev/tcp/127.0.0.1/22453) 2>/dev/null" ||
    fatal "hanging listener not up"
sed -i "s|^webhook = .*|webhook = https://127.0.0.1:22453/hook|; s|^webhook-retries = .*|webhook-retries = 0|" \
    "$SCRATCH/etc/portcullis.conf"
run "$USER_A" db03 --reason "hook hangs" -- rm -f /tmp/pcl-approval-hookdown
expect_rc "request with the webhook hanging" 75
IDD=$(request_id "$OUT")
expect_nomatch "no webhook outcome yet when the requester has its answer" \
    "approval $IDD: webhook" "$(cat "$SCRATCH/proxy.log")"
pcl_wait_for 15 grep -q "approval $IDD: webhook https://127.0.0.1:22453/hook failed" "$SCRATCH/proxy.log" ||
    fail "no logged webhook failure for $IDD"

expect_eq "per-command request names its command" "rm -f /tmp/pcl-approval-none" \
    "$(printf '%s\n' "$bodies" | jq -r --arg id "$ID3" 'select(.id == $id) | .command')"

pcl_finish
