#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/load.sh [N ...]: N concurrent sessions through one bastion (default
# 50 100 200), each pushing LOAD_KIB KiB of output (default 1024) while it
# is recorded and masked. For every round it checks that every session
# completes, that every recording validates and is sealed, and that no
# byte is missing: the sha256 of what the target sent, of what each user
# received and of each recording's output events joined (with the one
# secret the data holds masked) must agree. It reports the wall time, the
# proxy's CPU (user+sys, from GNU time around each proxy) per session and
# per MiB, its peak RSS per session, and the largest N that held.
#
# Real parts as in the integration tests (tests/lib.sh): a target sshd, a
# bastion sshd whose ForceCommand is the built proxy (set-id, under
# /usr/bin/time), throw-away users, the OpenSSH client. MaxStartups and
# LoginGraceTime are raised in both private sshd_config files so that sshd
# does not refuse or drop the burst of connections. Ports 22510-22511.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/lib.sh"

pcl_require_root_sshd
pcl_require_cmd jq sha256sum xxd
[ -x /usr/bin/time ] || skip "GNU time (Debian package time) not installed"
CASTVERIFY=$top_builddir/tests/tools/castverify
[ -x "$CASTVERIFY" ] || skip "tests/tools/castverify not built (make check builds it)"
NS=("$@")
[ ${#NS[@]} -gt 0 ] || NS=(50 100 200)
LOAD_KIB=${LOAD_KIB:-1024}
SECRET=AKIAIOSFODNN7EXAMPLE

pcl_setup 22510 22511
# Both sshd again, with room for the burst; the bastion's below.
pcl_stop_sshd target
pcl_stop_sshd bastion
SSHD_LOAD="MaxStartups 1000:90:1000
MaxSessions 10
LoginGraceTime 120"
pcl_start_sshd target "$TARGET_PORT" "$SCRATCH/target_keys" "$SSHD_LOAD"
# The burst of logins to the target may be slow on 2 CPUs.
sed -i 's/^connect-timeout = .*/connect-timeout = 120/' "$SCRATCH/etc/portcullis.conf"
sed -i 's/^\[target db01\]$/[target db01]\nmask = builtin/' "$SCRATCH/etc/policy.conf"

# The proxy under GNU time: CPU and peak RSS of each session's proxy in
# $SCRATCH/rusage/PID ("user sys maxrss_kB elapsed exit").
install -d -m 1777 "$SCRATCH/rusage"
cat > "$SCRATCH/bin/timed-proxy" <<EOF
#!/bin/sh
exec /usr/bin/time -o "$SCRATCH/rusage/\$\$" -f '%U %S %M %e %x' \\
    "$SCRATCH/bin/portcullis" -f "$SCRATCH/etc/portcullis.conf" -E "$SCRATCH/proxy.log"
EOF
chmod 0755 "$SCRATCH/bin/timed-proxy"
pcl_start_sshd bastion "$BASTION_PORT" "$SCRATCH/bastion_keys" \
    "ForceCommand exec $SCRATCH/bin/timed-proxy
$SSHD_LOAD"
# tests/lib.sh writes "MaxStartups 50" after the extra text, and for
# MaxStartups sshd keeps the last value, not the first: drop that line and
# have each sshd re-read its config (SIGHUP: it re-executes itself).
for d in target bastion; do
    sed -i '/^MaxStartups 50$/d' "$SCRATCH/$d/sshd_config"
    kill -HUP "$(cat "$SCRATCH/$d/sshd.pid")"
done
sleep 1
pcl_wait_for 10 pcl_sshd_up "$SCRATCH/target/sshd.pid" "$TARGET_PORT" || fatal "target sshd not back after SIGHUP"
pcl_wait_for 10 pcl_sshd_up "$SCRATCH/bastion/sshd.pid" "$BASTION_PORT" || fatal "bastion sshd not back after SIGHUP"

# The data: hex lines (no built-in mask rule matches them by chance), the
# first of which holds an AWS access key id that the recording must mask.
{
    echo "key $SECRET here"
    head -c $((LOAD_KIB * 512)) /dev/urandom | xxd -p
} > "$SCRATCH/data"
chmod 0644 "$SCRATCH/data"
SENT=$(sha256sum < "$SCRATCH/data" | cut -d' ' -f1)
RECORDED=$(sed "s/$SECRET/********/" "$SCRATCH/data" | sha256sum | cut -d' ' -f1)
BYTES=$(stat -c %s "$SCRATCH/data")
MIB=$(awk "BEGIN { printf \"%.3f\", $BYTES / 1048576 }")

pcl_bssh_argv "$USER_A"
CLIENT=("${PCL_ARGV[@]}")
declare -A RESULT=()
largest=0

round() {
    local n=$1 i pids=() t0 t1 bad=0 ok=0 f v sum user sys rss
    local out=$SCRATCH/out.$n
    mkdir -p "$out"
    rm -f "$SCRATCH"/rusage/*
    find "$SCRATCH/sessions" -name '*.cast*' -delete
    pcl_audit_mark
    say "== $n concurrent sessions, $MIB MiB each"
    t0=$EPOCHREALTIME
    for i in $(seq 1 "$n"); do
        (
            timeout -k 5 600 "${CLIENT[@]}" db01 -- cat "$SCRATCH/data" \
                < /dev/null 2> "$out/$i.err" | sha256sum | cut -d' ' -f1 > "$out/$i.sha"
            echo "${PIPESTATUS[0]}" > "$out/$i.rc"
        ) &
        pids+=($!)
    done
    for i in "${pids[@]}"; do
        wait "$i"
    done
    t1=$EPOCHREALTIME
    # Every session completed, and every user got every byte.
    for i in $(seq 1 "$n"); do
        if [ "$(cat "$out/$i.rc")" != 0 ]; then
            bad=$((bad + 1))
            [ "$bad" -le 3 ] && fail "N=$n session $i: exit $(cat "$out/$i.rc"): $(head -c 300 "$out/$i.err")"
        elif [ "$(cat "$out/$i.sha")" != "$SENT" ]; then
            bad=$((bad + 1))
            [ "$bad" -le 3 ] && fail "N=$n session $i: received data differs from what the target sent"
        else
            ok=$((ok + 1))
        fi
    done
    # Every recording sealed and valid, its output the data, masked.
    local nrec=0 sealed=0 same=0
    for f in $(find "$SCRATCH/sessions" -name '*.cast'); do
        nrec=$((nrec + 1))
        v=$("$CASTVERIFY" "$f" "$SCRATCH/etc/seal.key" | cut -d' ' -f1)
        [ "$v" = valid ] && sealed=$((sealed + 1))
        sum=$(grep -v '^#' "$f" | tail -n +2 | jq -j 'select(.[1] == "o") | .[2]' | sha256sum | cut -d' ' -f1)
        [ "$sum" = "$RECORDED" ] && same=$((same + 1))
    done
    expect_eq "N=$n: sessions that completed with every byte" "$n" "$ok"
    expect_eq "N=$n: recordings" "$n" "$nrec"
    expect_eq "N=$n: recordings valid and sealed" "$n" "$sealed"
    expect_eq "N=$n: recordings whose output is the data, masked" "$n" "$same"
    local ends seals masked
    ends=$(pcl_audit_new 'select(.event=="session-end" and .end=="remote" and (.exit_status|tostring)=="0")' | wc -l)
    seals=$(pcl_audit_new 'select(.event=="recording-end" and .seal=="sealed")' | wc -l)
    masked=$(pcl_audit_new 'select(.event=="recording-end") | .masked' | sort | uniq -c | tr -s ' ' | tr '\n' ';')
    expect_eq "N=$n: audit session-end (remote, status 0)" "$n" "$ends"
    expect_eq "N=$n: audit recording-end sealed" "$n" "$seals"
    # Proxy CPU and RSS, from GNU time.
    read -r user sys rss nr < <(cat "$SCRATCH"/rusage/* 2>/dev/null |
        awk '{ u += $1; s += $2; if ($3 > m) m = $3; r += $3; n++ }
             END { printf "%.2f %.2f %d %d\n", u, s, (n ? r / n : 0), n }')
    local maxrss wall cpu
    maxrss=$(cat "$SCRATCH"/rusage/* 2>/dev/null | awk '$3 > m { m = $3 } END { print m + 0 }')
    wall=$(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }")
    cpu=$(awk "BEGIN { printf \"%.2f\", $user + $sys }")
    RESULT[$n]=$(printf '%4d %6s/%-4d %7s %8.1f %8.3f %9.3f %8d %8d  %s' "$n" "$ok" "$n" "$wall" \
        "$(awk "BEGIN { print $n * $MIB / $wall }")" \
        "$(awk "BEGIN { print ($nr ? $cpu / $nr : 0) }")" \
        "$(awk "BEGIN { print ($nr ? $cpu / ($nr * $MIB) : 0) }")" \
        "$rss" "$maxrss" "masked per recording: ${masked:-none}")
    say "   $ok/$n complete with every byte, $sealed sealed, $same recordings = data masked, ${wall}s; proxy CPU ${user}u+${sys}s over $nr proxies; RSS mean $rss kB, max $maxrss kB"
    if [ "$ok" = "$n" ] && [ "$sealed" = "$n" ] && [ "$same" = "$n" ] &&
        [ "$ends" = "$n" ] && [ "$seals" = "$n" ]; then
        [ "$n" -gt "$largest" ] && largest=$n
    fi
    rm -rf "$out"
    find "$SCRATCH/sessions" -name '*.cast*' -delete
}

say() { echo "load: $*"; }

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for n in "${NS[@]}"; do
    round "$n"
done

echo
echo "portcullis load bench: $(nproc) CPUs, $MIB MiB of output per session (no PTY), recorded (asciicast v2, sealed) and masked (built-in rules)"
printf '%4s %11s %7s %8s %8s %9s %8s %8s\n' N complete wall_s MiB/s cpu_s/ses cpu_s/MiB rss_kB maxrss_kB
for n in "${NS[@]}"; do
    echo "${RESULT[$n]}"
done
echo "largest N that held (every session complete, every byte, every recording sealed and equal to the data masked): $largest"
echo "cpu = user+sys of the proxy processes only (GNU time); rss = their peak RSS (mean, max). Load average at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0
