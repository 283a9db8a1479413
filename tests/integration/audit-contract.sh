#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# portcullis-audit(5) is a contract.  This test drives every kind of event
# the proxy emits -- allow, deny, unknown target, malformed request,
# built-in requests, a changed host key, a missing credential, a session
# with an exit status and one killed by a signal, a recording that cannot
# be created, one that fills its disk, a session index that cannot be
# opened, just-in-time approval (a request, decisions, a wait at a
# terminal, a session ended by its grant, a revoke) -- then compares the JSON log with the page both ways:
#   - an event type or a field that was emitted and the page does not
#     document fails;
#   - an event type or a field that the page documents and nothing emitted
#     fails.
# The page lists event types as ".Ss NAME" in section EVENTS, and fields as
# ".It Va NAME" in FIELDS OF EVERY EVENT (common) or under their event.
# PCL_AUDIT_MAN=FILE checks another copy of the page (to see the test fail
# on a page that lies).
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

pcl_require_root_sshd
pcl_require_cmd jq sqlite3
MAN=${PCL_AUDIT_MAN:-$top_srcdir/man/portcullis-audit.5.in}
[ -f "$MAN" ] || fatal "$MAN missing"
pcl_setup 22282 22283
CONF=$SCRATCH/etc/portcullis.conf
T=$SCRATCH/t
mkdir -p "$T"
# A full disk needs a tmpfs; without one the contract cannot be checked.
mkdir -p "$SCRATCH/small"
mount -t tmpfs -o size=256k,mode=2770 tmpfs "$SCRATCH/small" 2>/dev/null ||
    skip "cannot mount a tmpfs here (needed for a recording that fills its disk)"
umount "$SCRATCH/small"

mkdir -p "$SCRATCH/other"
pcl_keygen "$SCRATCH/other/host_ed25519"
pcl_policy_target wrongkey "$TARGET_PORT" "$SCRATCH/other/host_ed25519.pub"
pcl_policy_target nokey "$TARGET_PORT" "" "credential = no-such-key"

# req NAME USER SSH-ARGS...: one request; RC set.
req() {
    local n=$1
    shift
    bssh "$@" < /dev/null > "$T/$n.out" 2> "$T/$n.err"
    RC=$?
}
# set_conf KEY VALUE: replaces "KEY = ..." in portcullis.conf.
set_conf() {
    sed -i "s|^$1 = .*|$1 = $2|" "$CONF"
}

trace "drive every kind of event"
req allow "$USER_A" db01 -- 'echo out; echo err >&2; exit 3'
expect_eq "allowed command" 3 "$RC"
req signal "$USER_A" db01 -- 'kill -TERM $$'
expect_eq "command killed by a signal" 255 "$RC"
req deny "$USER_B" db01 -- true
expect_eq "denied" 77 "$RC"
req unknown "$USER_A" nosuch -- true
expect_eq "unknown target" 77 "$RC"
req syntax "$USER_A" ';id'
expect_eq "malformed request" 64 "$RC"
req list "$USER_A" list
expect_eq "list" 0 "$RC"
req help "$USER_A" help
expect_eq "help" 0 "$RC"
req reserved "$USER_A" watch 42
expect_eq "reserved word" 64 "$RC"
req hostkey "$USER_A" wrongkey -- true
expect_eq "host key not pinned" 255 "$RC"
req nokey "$USER_A" nokey -- true
expect_eq "credential missing" 78 "$RC"

# The session index cannot be opened: the session goes on.
set_conf index "$SCRATCH/no-such-dir/index.sqlite"
req noindex "$USER_A" db01 -- true
expect_eq "session without its index row" 0 "$RC"
set_conf index "$SCRATCH/sessions/index.sqlite"

# The recording cannot be created: the group may not write the spool.
install -d -o root -g "$TEST_GROUP" -m 2750 "$SCRATCH/ro-sessions"
set_conf directory "$SCRATCH/ro-sessions"
req norec "$USER_A" db01 -- true
expect_eq "recording cannot be created" 70 "$RC"

# The recording fills its disk during the session.
install -d -o root -g "$TEST_GROUP" -m 2770 "$SCRATCH/small"
mount -t tmpfs -o size=256k,mode=2770 tmpfs "$SCRATCH/small" ||
    fatal "cannot mount the tmpfs again"
chgrp "$TEST_GROUP" "$SCRATCH/small"
chmod 2770 "$SCRATCH/small"
set_conf directory "$SCRATCH/small"
req full "$USER_A" db01 -- 'head -c 4000000 /dev/zero | tr "\0" x'
umount "$SCRATCH/small"
expect_eq "recording filled its disk" 70 "$RC"
set_conf directory "$SCRATCH/sessions"

# Just-in-time approval: a request, an own decision refused, a grant, a
# session under it warned and ended when it expires; a wait at a terminal
# approved meanwhile; a revoke.
install -d -o root -g "$TEST_GROUP" -m 2770 "$SCRATCH/approvals"
cat >> "$CONF" <<EOF
[approval]
directory = $SCRATCH/approvals
poll-interval = 200ms
warn-before = 2s
EOF
pcl_policy_target jit01 "$TARGET_PORT" "" "allow = group:$EXTRA_GROUP
approval = user:$USER_A, user:$USER_B
grant-ttl = 4s"
pcl_policy_target jit02 "$TARGET_PORT" "" "allow = group:$EXTRA_GROUP
approval = user:$USER_B"
req jitreq "$USER_A" jit01 --reason audit -- sleep 10
expect_eq "approval requested" 75 "$RC"
JID=$(grep -o 'request [a-z2-9]\{8\}' "$T/jitreq.err" | head -n 1 | cut -d' ' -f2)
req jitself "$USER_A" approve "$JID"
expect_eq "own request refused" 77 "$RC"
req jitok "$USER_B" approve "$JID" --comment ok
expect_eq "approved" 0 "$RC"
req jituse "$USER_A" jit01 -- sleep 10
expect_eq "session ended with its grant" 77 "$RC"
bssh "$USER_A" -tt jit02 --reason wait -- true < /dev/null > "$T/jitwait.out" 2>&1 &
wpid=$!
pending_jit02() {
    WID=$(sqlite3 -readonly "$SCRATCH/approvals/approvals.sqlite" \
        "SELECT id FROM requests WHERE target = 'jit02' AND state = 'pending';" 2>/dev/null)
    [ -n "$WID" ]
}
pcl_wait_for 15 pending_jit02 || fatal "no pending request for jit02"
req jitok2 "$USER_B" approve "$WID"
expect_eq "approved while waiting" 0 "$RC"
wait "$wpid"
expect_eq "the waiting session ran" 0 "$?"
req jitrevoke "$USER_B" revoke "$WID" --comment done
expect_eq "revoked" 0 "$RC"

LOG=$SCRATCH/log/audit.json
trace "every line of the JSON log is one JSON object with time and event"
jq -e -s 'all(type == "object" and (.time | type) == "string" and
    (.event | type) == "string")' "$LOG" >/dev/null ||
    fail "the JSON log has a line that is not an event:
$(pcl_show "$(cat "$LOG")")"

# "EVENT FIELD" for each field of each event emitted, sorted.
emitted=$(jq -r '. as $e | keys_unsorted[] | "\($e.event) \(.)"' "$LOG" | sort -u)
emitted_events=$(jq -r .event "$LOG" | sort -u)
# From the page: "* FIELD" (every event), "EVENT -" and "EVENT FIELD".
documented=$(awk '
    /^\.Sh / { sh = substr($0, 5); ev = ""; next }
    sh == "FIELDS OF EVERY EVENT" && /^\.It Va / { print "* " $3 }
    sh == "EVENTS" && /^\.Ss / { ev = $2; print ev " -"; next }
    sh == "EVENTS" && ev != "" && /^\.It Va / { print ev " " $3 }
' "$MAN" | sort -u)
doc_events=$(awk '$2 == "-" { print $1 }' <<<"$documented")
doc_common=$(awk '$1 == "*" { print $2 }' <<<"$documented")
[ -n "$doc_events" ] && [ -n "$doc_common" ] ||
    fatal "no events or fields found in $MAN"

trace "every event type emitted is documented"
for ev in $emitted_events; do
    grep -qx "$ev" <<<"$doc_events" ||
        fail "event '$ev' is emitted but not documented in portcullis-audit(5)"
done

trace "every event type documented is emitted"
for ev in $doc_events; do
    grep -qx "$ev" <<<"$emitted_events" ||
        fail "event '$ev' is documented in portcullis-audit(5) but was never emitted"
done

trace "every field emitted is documented, for every event or for its event"
while read -r ev f; do
    grep -qx "$f" <<<"$doc_common" && continue
    grep -qx "$ev $f" <<<"$documented" ||
        fail "field '$f' of event '$ev' is emitted but not documented in portcullis-audit(5)"
done <<<"$emitted"

trace "every field documented is emitted"
for f in $doc_common; do
    awk -v f="$f" '$2 == f { found = 1 } END { exit !found }' <<<"$emitted" ||
        fail "field '$f' (every event) is documented in portcullis-audit(5) but was never emitted"
done
while read -r ev f; do
    [ "$ev" = "*" ] || [ "$f" = "-" ] && continue
    grep -qx "$ev $f" <<<"$emitted" ||
        fail "field '$f' of event '$ev' is documented in portcullis-audit(5) but was never emitted"
done <<<"$documented"

pcl_finish
