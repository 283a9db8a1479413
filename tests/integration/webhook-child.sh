#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The webhook of a new approval request is posted by a grandchild of the
# proxy that talks to a peer we do not trust (TLS, HTTP): it must hold no
# descriptor of the approval store (opened read-write with the group), of
# the event log or of anything else the proxy had open; the -E log file
# stays, so its failure is still logged. Real sshd, ssh and a listener that
# never answers, so the grandchild lives long enough to be looked at.
# Ports 22550-22552.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

pcl_require_root_sshd
HOOK_PORT=22552

pcl_setup 22550 22551
pcl_add_group l
LEADS=$PCL_NEW
usermod -aG "$LEADS" "$USER_B" || fatal "usermod failed"
install -d -o root -g "$TEST_GROUP" -m 2770 "$SCRATCH/approvals"

# Takes connections, never answers: each attempt lasts webhook-timeout.
pcl_port_free "$HOOK_PORT" || fatal "port $HOOK_PORT is busy"
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16); time.sleep(120)' \
    "$HOOK_PORT" &
PCL_PIDS+=("$!")
pcl_wait_for 10 eval "(exec 3<>/dev/tcp/127.0.0.1/$HOOK_PORT) 2>/dev/null" ||
    fatal "listener not up"

pcl_write_conf "
[approval]
directory = $SCRATCH/approvals
webhook = https://127.0.0.1:$HOOK_PORT/hook
webhook-timeout = 6
webhook-retries = 0"
pcl_policy_begin
pcl_policy_target db01 "$TARGET_PORT" "" "allow = group:$EXTRA_GROUP
approval = group:$LEADS"

trace "a request without a terminal: exit 75 at once"
OUT=$(bssh "$USER_A" db01 --reason "fd check" -- echo hi 2>&1 < /dev/null)
RC=$?
expect_eq "exit status" 75 "$RC"
ID=$(printf '%s\n' "$OUT" | grep -o 'request [a-z2-9]\{8\}' | head -n 1 | cut -d' ' -f2)
[ -n "$ID" ] || fatal "no request id in: $OUT"

trace "the webhook grandchild holds nothing of the proxy's but the -E log"
# The proxy and its first child are gone; what runs the proxy's program as
# the user now is the grandchild, waiting on the listener.
uid_a=$(id -u "$USER_A")
found=""
for _ in $(seq 1 50); do
    for d in /proc/[0-9]*; do
        [ "$(readlink "$d/exe" 2>/dev/null)" = "$SCRATCH/bin/portcullis" ] || continue
        [ "$(stat -c %u "$d" 2>/dev/null)" = "$uid_a" ] || continue
        found=${d#/proc/}
    done
    [ -n "$found" ] && break
    sleep 0.1
done
[ -n "$found" ] || fatal "no webhook grandchild found"
fds=$(ls -l "/proc/$found/fd" 2>/dev/null | awk 'NR > 1 { print $9, $10, $11 }')
[ -n "$fds" ] || fail "cannot read the descriptors of $found"
expect_nomatch "no descriptor of the approval store" "$SCRATCH/approvals" "$fds"
expect_nomatch "no descriptor of the event log" "$SCRATCH/log/" "$fds"
expect_nomatch "no descriptor of a session index or recording" "$SCRATCH/sessions" "$fds"
others=$(printf '%s\n' "$fds" | awk '$1 > 2 { print $3 }' |
    grep -v -e '^socket:' -e "^$SCRATCH/proxy.log\$" -e '^anon_inode:' || true)
expect_eq "no other file open above fd 2" "" "$others"

trace "its failure is still logged"
pcl_wait_for 20 grep -q "approval $ID: webhook .* failed" "$SCRATCH/proxy.log" ||
    fail "no logged webhook failure for $ID"

pcl_finish
