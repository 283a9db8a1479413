#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Interactive sessions through a pseudo-terminal (expect, kbd.exp): `ssh -tt
# bastion TARGET` is a real shell on the target with the client's TERM and
# window size, resizes follow, the exit status comes back; without a
# command the menu lists exactly the allowed targets.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

pcl_require_root_sshd
pcl_require_cmd expect jq
KBD=$top_srcdir/tests/integration/kbd.exp
NKBD=0

pcl_setup 22262 22263
# A second allowed target, and one that USER_A may not see.
pcl_policy_target db02 "$TARGET_PORT"
pcl_policy_target secret01 "$TARGET_PORT" "" "allow = user:$USER_B"

# kbd SCENARIO ACCOUNT [MENU...] -- SSH...: runs kbd.exp, fails with its
# report and the terminal transcript when a step fails.
kbd() {
    NKBD=$((NKBD + 1))
    local t="$SCRATCH/transcript.$NKBD" out rc
    out=$(timeout -k 5 90 expect -f "$KBD" "$t" "$@" 2>&1)
    rc=$?
    printf '%s\n' "$out" | sed 's/^/    /'
    if [ "$rc" != 0 ]; then
        fail "kbd.exp $1 (exit $rc); transcript:
$(sed -n '1,60p' "$t" 2>/dev/null | cat -v | sed 's/^/    | /')"
    fi
}

trace "control: the same session scenario over a DIRECT ssh -tt to the target"
pcl_tssh_argv "$USER_A"
kbd shell "$USER_A" -- "${PCL_ARGV[@]}" -tt

trace "ssh -tt bastion db01: shell on the target (default account)"
pcl_bssh_argv "$USER_A"
kbd shell "$USER_A" -- "${PCL_ARGV[@]}" -tt db01

trace "ssh -tt bastion $USER_B@db01: shell as the other account"
kbd shell "$USER_B" -- "${PCL_ARGV[@]}" -tt "$USER_B@db01"

trace "menu (no command, with a PTY): lists db01 db02 only, pick 1 -> shell"
kbd menu "$USER_A" db01 db02 -- "${PCL_ARGV[@]}" -tt
if grep -q secret01 "$SCRATCH/transcript.$NKBD" 2>/dev/null; then
    fail "menu shows secret01, which $USER_A may not use"
fi

trace "menu: q quits with exit 0"
kbd menu-quit "$USER_A" db01 db02 -- "${PCL_ARGV[@]}" -tt

trace "menu: EOF (^D) quits with exit 0"
kbd menu-eof "$USER_A" db01 db02 -- "${PCL_ARGV[@]}" -tt

trace "session-start and session-end audit events for the interactive session"
ev=$(pcl_audit_events 'select(.event=="session-end" and .target=="db01"
    and .account==$acct and .exit_status=="7")' --arg acct "$USER_B")
[ -n "$ev" ] || fail "no session-end event for $USER_B@db01 with exit_status 7:
$(pcl_show "$(cat "$SCRATCH/log/audit.json")")"
fp=$(ssh-keygen -lf "$SCRATCH/target/host_ed25519.pub" | cut -d' ' -f2)
ev=$(pcl_audit_events 'select(.event=="session-start" and .target=="db01"
    and .hostkey_fingerprint==$fp)' --arg fp "$fp")
[ -n "$ev" ] || fail "no session-start event for db01 with hostkey_fingerprint $fp:
$(pcl_show "$(cat "$SCRATCH/log/audit.json")")"

pcl_finish
