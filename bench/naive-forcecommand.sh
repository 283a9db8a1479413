#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# bench/naive-forcecommand.sh -- path (b) of bench/bench.sh: the naive
# bastion that portcullis is compared with.  sshd's ForceCommand; it takes
# "TARGET [--] CMD..." from SSH_ORIGINAL_COMMAND, drops the target word
# (every target is the bench's target sshd) and execs the OpenSSH client
# with the vaulted key, the same account (the bastion user's name) and the
# target-leg algorithms that portcullis's policy allows.  bench.sh fills in
# the @...@ placeholders.  No policy, no audit: it is only the yardstick.
set -f
cmd=$SSH_ORIGINAL_COMMAND
blank=' 	'
cmd=${cmd#"${cmd%%[!$blank]*}"}        # leading blanks
target=${cmd%%[$blank]*}                # the target word, ignored
rest=${cmd#"$target"}
rest=${rest#"${rest%%[!$blank]*}"}
case $rest in
--) rest= ;;
--[$blank]*)
    rest=${rest#--}
    rest=${rest#"${rest%%[!$blank]*}"}
    ;;
esac
if [ -t 0 ]; then tty=-t; else tty=-T; fi
set -- -F /dev/null -i @KEY@ -o IdentitiesOnly=yes -o BatchMode=yes \
    -o StrictHostKeyChecking=yes -o UserKnownHostsFile=@KNOWN_HOSTS@ \
    -o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=10 \
    -o ServerAliveInterval=30 -o ServerAliveCountMax=3 \
    -o KexAlgorithms=@KEX@ -o Ciphers=@CIPHERS@ -o MACs=@MACS@ \
    -o HostKeyAlgorithms=ssh-ed25519 -o LogLevel=ERROR \
    $tty -p @PORT@ -l "$USER" 127.0.0.1
if [ -n "$rest" ]; then
    exec ssh "$@" "$rest"
fi
exec ssh "$@"
