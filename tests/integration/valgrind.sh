#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The proxy under valgrind memcheck, as the bastion's ForceCommand, for
# full sessions through the real sshd: an exec session with output that
# is recorded, masked and sealed; a session with a terminal; a refused
# request; the list verb. Clean means: no memcheck error (invalid read or
# write, use of uninitialised memory, bad free) and no leak that valgrind
# calls definite or indirect, in every proxy process.
#
# valgrind does not run a set-id program with its privilege, so this test
# runs a plain copy of the proxy and lets the test user read the group's
# files (seal key, vault keys, recordings, audit log) through a
# supplementary group instead; everything else is as in the other tests.
# Ports 22502-22503. Skipped (77) without valgrind.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

pcl_require_root_sshd
pcl_require_cmd valgrind jq
CASTVERIFY=$top_builddir/tests/tools/castverify
[ -x "$CASTVERIFY" ] || skip "tests/tools/castverify not built (make check builds it)"
# A sanitizer build cannot run under valgrind.
if nm -D "$PCL_PROXY" 2>/dev/null | grep -q __asan_init ||
    nm "$PCL_PROXY" 2>/dev/null | grep -q __asan_init; then
    skip "the proxy is built with ASan (valgrind needs a plain build)"
fi
pcl_setup 22502 22503
usermod -aG "$TEST_GROUP" "$USER_A" || fatal "usermod failed"
sed -i 's/^\[target db01\]$/[target db01]\nmask = builtin/' "$SCRATCH/etc/policy.conf"
install -o root -g root -m 0755 "$PCL_PROXY" "$SCRATCH/bin/portcullis-plain"
install -d -m 1777 "$SCRATCH/vg"
# The bastion again, with valgrind around the proxy.
pcl_stop_sshd bastion
pcl_start_sshd bastion "$BASTION_PORT" "$SCRATCH/bastion_keys" \
    "ForceCommand exec valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --track-origins=yes --num-callers=30 --error-exitcode=99 --log-file=$SCRATCH/vg/%p.log $SCRATCH/bin/portcullis-plain -f $SCRATCH/etc/portcullis.conf -E $SCRATCH/proxy.log"
export PCL_TIMEOUT=180

trace "an exec session under valgrind: output intact, recorded, masked, sealed"
out=$(bssh "$USER_A" db01 -- 'echo start; echo key AKIAIOSFODNN7EXAMPLE; seq 1 20000; echo end' 2> "$SCRATCH/err")
rc=$?
expect_eq "exit status" 0 "$rc"
expect_eq "output lines" 20003 "$(printf '%s\n' "$out" | wc -l)"
expect_match "the user sees the key" AKIAIOSFODNN7EXAMPLE "$out"
REC=$(pcl_last_recording)
expect_eq "seal" valid "$("$CASTVERIFY" "$REC" "$SCRATCH/etc/seal.key" | cut -d' ' -f1)"
expect_nomatch "the recording holds no key" AKIAIOSFODNN7EXAMPLE "$(cat "$REC")"

trace "a session with a terminal under valgrind"
out=$(bssh "$USER_A" -tt db01 -- 'stty size; echo pty-ok' < /dev/null 2>&1)
expect_match "pty session" pty-ok "$out"

trace "a refused request and the list verb under valgrind"
out=$(bssh "$USER_A" nosuchtarget 2>&1 < /dev/null)
[ $? != 0 ] || fail "a request for an unknown target succeeded"
out=$(bssh "$USER_A" list 2>&1 < /dev/null)
expect_match "list names db01" db01 "$out"

trace "memcheck: no error and no definite or indirect leak in any proxy"
n=0
for f in "$SCRATCH"/vg/*.log; do
    [ -s "$f" ] || continue
    n=$((n + 1))
    s=$(grep 'ERROR SUMMARY' "$f" | tail -n 1)
    expect_match "$(basename "$f"): $s" 'ERROR SUMMARY: 0 errors' "$s" ||
        sed -n '1,80p' "$f" >&2
    if grep -qE '(definitely|indirectly) lost: [1-9]' "$f"; then
        fail "$(basename "$f"): leaks"
        grep -E -A25 'are (definitely|indirectly) lost' "$f" | head -n 80 >&2
    fi
    echo "valgrind: $(basename "$f"): $s; $(grep -E 'definitely lost|indirectly lost|possibly lost|still reachable|All heap blocks' "$f" | sed 's/^==[0-9]*== *//' | tr '\n' ';')"
done
[ "$n" -ge 4 ] || fail "expected at least 4 proxy runs under valgrind, saw $n"

pcl_finish
