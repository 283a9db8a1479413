#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/bench.sh -- `make bench`: what the bastion costs, side by side.
#
# A benchmark, not a test: it prints figures and fails only when a run did
# not succeed (an ssh that failed, bytes lost or changed).  Three paths to
# the same target sshd on loopback, built by tests/lib.sh:
#   (a) direct  ssh to the target sshd (the vaulted key, root's client);
#   (b) naive   a second bastion sshd whose ForceCommand is a small shell
#               script that execs the OpenSSH client to the target with the
#               same key and algorithms (bench/naive-forcecommand.sh);
#   (c) portcullis, the bastion of tests/lib.sh (installed setgid).
# Measured: bulk throughput target->user (zeros and random bytes, with and
# without a PTY), session setup time (median of `ssh ... true`), keystroke
# echo latency through a PTY (bench/latency.py) and the RSS of the
# bastion-side process of an idle session (portcullis for (c), the naive
# ForceCommand's ssh client for (b)).
#
# Knobs (environment):
#   BENCH_QUICK=1        smoke run: 64 MiB zeros, 16 MiB random, fewer samples
#   BENCH_ZERO_MIB       zeros per bulk run            (1024; quick 64)
#   BENCH_RAND_MIB       random bytes per bulk run     (256; quick 16)
#   BENCH_REPEAT         bulk runs per cell, best kept (2; quick 1)
#   BENCH_SETUPS         `ssh ... true` per path       (20; quick 5)
#   BENCH_KEYS           keystrokes per path           (400; quick 60)
#   BENCH_KEY_GAP_MS     pause between keystrokes      (5)
#   BENCH_PORT           first of 3 loopback ports     (22280)
#   PCL_KEEP=1           keep the scratch dir (logs)
# Needs root, sshd, ssh, python3 and a C compiler (bench/sink.c is built
# into the scratch dir).  Everything it creates (users, sshd, files) is
# removed on exit, however it exits, by the cleanup of tests/lib.sh.
set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${top_srcdir:=$(cd "$BENCH_DIR/.." && pwd)}"
# `make bench` runs us from the build directory without top_builddir.
if [ -z "${top_builddir:-}" ]; then
    if [ -x "$PWD/sshproxy/portcullis" ]; then
        top_builddir=$PWD
    else
        top_builddir=$top_srcdir
    fi
fi
export top_srcdir top_builddir
. "$top_srcdir/tests/lib.sh"

# ------------------------------------------------------------ parameters
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    MODE=quick
    : "${BENCH_ZERO_MIB:=64}" "${BENCH_RAND_MIB:=16}" "${BENCH_REPEAT:=1}"
    : "${BENCH_SETUPS:=5}" "${BENCH_KEYS:=60}"
else
    MODE=full
    : "${BENCH_ZERO_MIB:=1024}" "${BENCH_RAND_MIB:=256}" "${BENCH_REPEAT:=2}"
    : "${BENCH_SETUPS:=20}" "${BENCH_KEYS:=400}"
fi
: "${BENCH_KEY_GAP_MS:=5}" "${BENCH_PORT:=22280}"
KEY_WARMUP=20
BASTION_P=$BENCH_PORT
TARGET_P=$((BENCH_PORT + 1))
NAIVE_PORT=$((BENCH_PORT + 2))
# Algorithms of the target leg, the same for (b) as pcl_policy_begin gives
# (c); the user->bastion leg is OpenSSH to OpenSSH in both.
TARGET_KEX=curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256
TARGET_CIPHERS=chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com
TARGET_MACS=hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com

PATHS=(a b c)
declare -A PNAME=([a]="(a) direct" [b]="(b) naive FC" [c]="(c) portcullis")
declare -A R       # results, R[metric,path]
BENCH_PIDS=()      # background clients we started, stopped on exit

say() { printf 'bench: %s\n' "$*" >&2; }

bench_cleanup() {
    local rc=$1 pid i
    trap '' PIPE
    for pid in "${BENCH_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${BENCH_PIDS[@]}"; do
        for i in $(seq 1 60); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    # Let the sessions of those clients end before users are deleted.
    [ -n "${USER_A:-}" ] && pcl_wait_for 5 no_user_procs "$USER_A"
    pcl_cleanup "$rc"
}
trap 'bench_cleanup $?' EXIT

no_user_procs() {
    ! pgrep -u "$1" >/dev/null 2>&1
}

# ------------------------------------------------------------ helpers
# path_argv P: PCL_ARGV = the ssh command line of path P (as USER_A, whose
# default account on db01 is USER_A too); PREFIX = what goes before the
# remote command ("" direct, "db01 " through a bastion).
path_argv() {
    case $1 in
    a)
        pcl_tssh_argv "$USER_A"
        PREFIX=
        ;;
    b)
        PCL_ARGV=(ssh "${PCL_SSH_OPTS[@]}"
            -o UserKnownHostsFile="$SCRATCH/known_hosts"
            -i "$SCRATCH/client/$USER_A" -p "$NAIVE_PORT" -l "$USER_A"
            127.0.0.1)
        PREFIX="db01 "
        ;;
    c)
        pcl_bssh_argv "$USER_A"
        PREFIX="db01 "
        ;;
    esac
}

# calc EXPR [N]: awk arithmetic, printed with %.Nf (default 1 decimal).
calc() {
    awk "BEGIN { printf \"%.${2:-1}f\", $1 }"
}

median() {
    sort -n | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "nan"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# proc_of USER NAME: PID of the only process of USER called NAME, if any.
proc_of() {
    local uid d name u
    uid=$(id -u "$1") || return 1
    for d in /proc/[0-9]*; do
        name= u=
        while read -r k v _; do
            case $k in
            Name:) name=$v ;;
            Uid:) u=$v; break ;;
            esac
        done < "$d/status" 2>/dev/null
        if [ "$name" = "$2" ] && [ "$u" = "$uid" ]; then
            echo "${d#/proc/}"
            return 0
        fi
    done
    return 1
}

# status_kb PID FIELD: a kB field of /proc/PID/status (VmRSS, RssAnon...).
status_kb() {
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}

# ------------------------------------------------------------ set-up
pcl_require_root_sshd
pcl_require_cmd python3 timeout awk pgrep
CC=${CC:-cc}
command -v "$CC" >/dev/null || skip "no C compiler ($CC) for bench/sink.c"

T_START=$EPOCHREALTIME
say "$MODE run: ${BENCH_ZERO_MIB} MiB zeros, ${BENCH_RAND_MIB} MiB random x${BENCH_REPEAT}, ${BENCH_SETUPS} setups, ${BENCH_KEYS} keystrokes per path"
pcl_setup "$BASTION_P" "$TARGET_P"
# The product's default log level, not the tests' debug.
sed -i 's/^log-level = debug$/log-level = info/' "$SCRATCH/etc/portcullis.conf"

SINK=$SCRATCH/bin/pcl-sink
"$CC" -O2 -o "$SINK" "$BENCH_DIR/sink.c" || fatal "cannot build bench/sink.c"

# (b): a second bastion whose ForceCommand execs the OpenSSH client.  The
# key is the vaulted one, as a 0600 copy the user can read (ssh insists).
install -d -m 0755 "$SCRATCH/naive"
install -o "$USER_A" -m 0600 "$SCRATCH/client/db01" "$SCRATCH/naive/key"
cp "$SCRATCH/known_hosts" "$SCRATCH/naive/known_hosts"
chmod 0644 "$SCRATCH/naive/known_hosts"
sed -e "s|@KEY@|$SCRATCH/naive/key|" \
    -e "s|@KNOWN_HOSTS@|$SCRATCH/naive/known_hosts|" \
    -e "s|@PORT@|$TARGET_PORT|" \
    -e "s|@KEX@|$TARGET_KEX|" -e "s|@CIPHERS@|$TARGET_CIPHERS|" \
    -e "s|@MACS@|$TARGET_MACS|" \
    "$BENCH_DIR/naive-forcecommand.sh" > "$SCRATCH/bin/naive-fc"
chmod 0755 "$SCRATCH/bin/naive-fc"
pcl_start_sshd naive "$NAIVE_PORT" "$SCRATCH/bastion_keys" \
    "ForceCommand $SCRATCH/bin/naive-fc"
printf '[127.0.0.1]:%s %s\n' "$NAIVE_PORT" \
    "$(pcl_pubkey "$SCRATCH/naive/host_ed25519.pub")" >> "$SCRATCH/known_hosts"

# Bulk data on the target: random bytes in a file (cat'ed), zeros from
# /dev/zero (head -c); reference sizes and checksums computed here.
install -d -m 0755 "$SCRATCH/data"
ZERO_BYTES=$((BENCH_ZERO_MIB * 1048576))
RAND_BYTES=$((BENCH_RAND_MIB * 1048576))
RAND_FILE=$SCRATCH/data/random.bin
head -c "$RAND_BYTES" /dev/urandom > "$RAND_FILE" || fatal "cannot make $RAND_FILE"
chmod 0644 "$RAND_FILE"
read -r _ _ RAND_HASH < <("$SINK" < "$RAND_FILE")
read -r _ _ ZERO_HASH < <(head -c "$ZERO_BYTES" /dev/zero | "$SINK")
# Through a terminal the target's pty turns each \n into \r\n (ONLCR).
RAND_PTY_BYTES=$((RAND_BYTES + $(tr -cd '\n' < "$RAND_FILE" | wc -c)))

# Each path works at all (and the first login of each is not timed).
for p in "${PATHS[@]}"; do
    path_argv "$p"
    out=$(timeout -k 5 60 "${PCL_ARGV[@]}" "${PREFIX}echo ok" < /dev/null 2>&1)
    [ "$out" = ok ] || fatal "${PNAME[$p]}: 'echo ok' gave: $out"
done
CIPHER_C=$(pcl_audit_events 'select(.event=="session-start") | .cipher' -r | tail -n 1)

# ------------------------------------------------------------ setup time
say "session setup: ${BENCH_SETUPS} x 'ssh ... true' per path, interleaved"
for p in "${PATHS[@]}"; do : > "$SCRATCH/setup.$p"; done
for i in $(seq 1 "$BENCH_SETUPS"); do
    for p in "${PATHS[@]}"; do
        path_argv "$p"
        t0=$EPOCHREALTIME
        timeout -k 5 60 "${PCL_ARGV[@]}" "${PREFIX}true" < /dev/null > /dev/null 2> "$SCRATCH/err"
        rc=$?
        t1=$EPOCHREALTIME
        if [ "$rc" != 0 ]; then
            fail "${PNAME[$p]}: 'ssh ... true' exit $rc: $(head -c 500 "$SCRATCH/err")"
            continue
        fi
        calc "($t1 - $t0) * 1000" 2 >> "$SCRATCH/setup.$p"
        echo >> "$SCRATCH/setup.$p"
    done
done
for p in "${PATHS[@]}"; do
    R[setup,$p]=$(median < "$SCRATCH/setup.$p")
done

# ------------------------------------------------------------ throughput
# bulk METRIC P PTY CMD BYTES HASH: one run of CMD on the target through
# path P into the sink; keeps the best MiB/s of the repeats in R[METRIC,P].
# Without a PTY the checksum must match HASH; with one, the byte count.
bulk() {
    local m=$1 p=$2 pty=$3 cmd=$4 want=$5 hash=$6 tflag=-T
    local out rc bytes secs h mibs
    [ "$pty" = 1 ] && tflag=-tt
    path_argv "$p"
    out=$(timeout -k 5 900 "${PCL_ARGV[@]}" "$tflag" "${PREFIX}$cmd" \
        < /dev/null 2> "$SCRATCH/err" | "$SINK"; echo "rc=${PIPESTATUS[0]}")
    rc=${out##*rc=}
    read -r bytes secs h <<< "${out%%$'\n'rc=*}"
    if [ "$rc" != 0 ]; then
        fail "${PNAME[$p]} $m: ssh exit $rc: $(head -c 500 "$SCRATCH/err")"
        return 1
    fi
    if [ "$bytes" != "$want" ]; then
        fail "${PNAME[$p]} $m: got $bytes bytes, expected $want"
        return 1
    fi
    if [ "$pty" = 0 ] && [ "$h" != "$hash" ]; then
        fail "${PNAME[$p]} $m: checksum $h, expected $hash (data changed)"
        return 1
    fi
    mibs=$(calc "$bytes / 1048576 / $secs" 1)
    say "  ${PNAME[$p]} $m: $bytes bytes in ${secs}s = $mibs MiB/s"
    if [ -z "${R[$m,$p]:-}" ] || awk "BEGIN { exit !($mibs > ${R[$m,$p]}) }"; then
        R[$m,$p]=$mibs
    fi
}

ZERO_CMD="head -c $ZERO_BYTES /dev/zero"
RAND_CMD="cat $RAND_FILE"
BULK_METRICS=(zero_nopty zero_pty rand_nopty rand_pty)
declare -A BULK_LABEL=(
    [zero_nopty]="zeros ${BENCH_ZERO_MIB} MiB, no PTY"
    [zero_pty]="zeros ${BENCH_ZERO_MIB} MiB, PTY"
    [rand_nopty]="random ${BENCH_RAND_MIB} MiB, no PTY"
    [rand_pty]="random ${BENCH_RAND_MIB} MiB, PTY")
say "bulk throughput target->user, best of ${BENCH_REPEAT}, MiB/s from first byte to EOF"
for rep in $(seq 1 "$BENCH_REPEAT"); do
    for p in "${PATHS[@]}"; do
        bulk zero_nopty "$p" 0 "$ZERO_CMD" "$ZERO_BYTES" "$ZERO_HASH"
        bulk zero_pty "$p" 1 "$ZERO_CMD" "$ZERO_BYTES" -
        bulk rand_nopty "$p" 0 "$RAND_CMD" "$RAND_BYTES" "$RAND_HASH"
        bulk rand_pty "$p" 1 "$RAND_CMD" "$RAND_PTY_BYTES" -
    done
done

# ------------------------------------------------------------ latency
say "keystroke echo latency: ${BENCH_KEYS} single bytes per path, ${BENCH_KEY_GAP_MS} ms apart"
for p in "${PATHS[@]}"; do
    path_argv "$p"
    out=$(timeout -k 5 300 python3 "$BENCH_DIR/latency.py" "$BENCH_KEYS" \
        "$KEY_WARMUP" "$BENCH_KEY_GAP_MS" -- "${PCL_ARGV[@]}" -tt \
        "${PREFIX}stty raw -echo; echo READY; exec cat" 2> "$SCRATCH/err")
    rc=$?
    if [ "$rc" != 0 ]; then
        fail "${PNAME[$p]} latency probe exit $rc: $(head -c 500 "$SCRATCH/err")"
        continue
    fi
    say "  ${PNAME[$p]}: $out"
    for kv in $out; do
        R[lat_${kv%%=*},$p]=${kv#*=}
    done
done

# ------------------------------------------------------------ RSS
# rss P PTY: VmRSS (and RssAnon) of the bastion-side process of an idle
# session (`sleep`) on path P: the proxy for (c), the ssh client that the
# naive ForceCommand exec'ed for (b).
rss() {
    local p=$1 pty=$2 name tflag=-T pid cpid i
    [ "$pty" = 1 ] && tflag=-tt
    case $p in b) name=ssh ;; c) name=portcullis ;; esac
    path_argv "$p"
    "${PCL_ARGV[@]}" "$tflag" "${PREFIX}sleep 120" < /dev/null > /dev/null 2>&1 &
    cpid=$!
    BENCH_PIDS+=("$cpid")
    pid=
    for i in $(seq 1 200); do
        pid=$(proc_of "$USER_A" "$name") && break
        sleep 0.05
    done
    if [ -z "$pid" ]; then
        fail "${PNAME[$p]}: no '$name' process of $USER_A for the idle session"
    else
        # Idle: the session is up and nothing moves.
        sleep 1
        R[rss_$pty,$p]=$(status_kb "$pid" VmRSS)
        R[anon_$pty,$p]=$(status_kb "$pid" RssAnon)
        say "  ${PNAME[$p]} idle session, pty=$pty: $name pid $pid VmRSS ${R[rss_$pty,$p]} kB, RssAnon ${R[anon_$pty,$p]} kB"
    fi
    kill -TERM "$cpid" 2>/dev/null
    wait "$cpid" 2>/dev/null
    [ -z "$pid" ] || pcl_wait_for 10 pcl_not_running "$pid"
}
say "RSS of the bastion-side process of an idle session"
for pty in 0 1; do
    for p in b c; do
        rss "$p" "$pty"
    done
done

# ------------------------------------------------------------ report
T_END=$EPOCHREALTIME

# ratio X B: X/B with 2 decimals, "-" when either is missing.
ratio() {
    case "$1|$2" in
    *'|'|'|'*|*nan*|*'|0') echo - ;;
    *) calc "$1 / $2" 2 ;;
    esac
}
# verdict COND: "ok" or "MISSED" (an awk condition on numbers).
verdict() {
    if awk "BEGIN { exit !($1) }"; then echo ok; else echo MISSED; fi
}
row() {
    # row LABEL UNIT A B C AIM
    printf '%-30s %-6s %12s %12s %14s %8s %8s  %s\n' "$@"
}
v() { echo "${R[$1,$2]:--}"; }

libssh_ver=$(dpkg-query -W -f '${Version}' libssh-4 2>/dev/null || echo '?')
echo
echo "portcullis bench ($MODE): $(nproc) CPUs, $(ssh -V 2>&1 | cut -d, -f1), libssh $libssh_ver, $("$PCL_PROXY" -V 2>&1 | head -n 1)"
echo "target leg: (c) negotiated ${CIPHER_C:-?}; (b) OpenSSH client offered the same list ($TARGET_CIPHERS)"
echo "user leg: OpenSSH client -> OpenSSH sshd, default algorithms, on all paths; 127.0.0.1"
echo
printf '%-30s %-6s %12s %12s %14s %8s %8s  %s\n' metric unit "${PNAME[a]}" "${PNAME[b]}" \
    "${PNAME[c]}" "(a)/(b)" "(c)/(b)" "aim for (c): result"
printf '%.0s-' $(seq 1 118); echo
for m in "${BULK_METRICS[@]}"; do
    a=$(v "$m" a) b=$(v "$m" b) c=$(v "$m" c)
    aim="-"
    [ "$b" != - ] && [ "$c" != - ] &&
        aim=">= 0.9x (b): $(verdict "$c >= 0.9 * $b")"
    row "${BULK_LABEL[$m]}" MiB/s "$a" "$b" "$c" "$(ratio "$a" "$b")" "$(ratio "$c" "$b")" "$aim"
done
a=$(v setup a) b=$(v setup b) c=$(v setup c)
row "setup 'ssh true' median" ms "$a" "$b" "$c" "$(ratio "$a" "$b")" "$(ratio "$c" "$b")" "-"
for q in p50 p90 p99 max; do
    a=$(v "lat_$q" a) b=$(v "lat_$q" b) c=$(v "lat_$q" c)
    aim="-"
    if [ "$q" = p99 ] && [ "$b" != - ] && [ "$c" != - ]; then
        aim="<= (b) + 1 ms [(c)-(b) = $(calc "$c - $b" 3) ms]: $(verdict "$c <= $b + 1")"
    fi
    row "keystroke echo $q" ms "$a" "$b" "$c" "$(ratio "$a" "$b")" "$(ratio "$c" "$b")" "$aim"
done
for pty in 0 1; do
    lbl="idle session, no PTY"
    [ "$pty" = 1 ] && lbl="idle session, PTY"
    b=$(v "rss_$pty" b) c=$(v "rss_$pty" c)
    aim="-"
    [ "$b" != - ] && [ "$c" != - ] && aim="<= (b): $(verdict "$c <= $b")"
    row "VmRSS $lbl" kB - "$b" "$c" - "$(ratio "$c" "$b")" "$aim"
    b=$(v "anon_$pty" b) c=$(v "anon_$pty" c)
    row "  RssAnon (private heap)" kB - "$b" "$c" - "$(ratio "$c" "$b")" "-"
done
echo
echo "bulk: best of $BENCH_REPEAT, bytes/(first byte..EOF) at the client; no-PTY runs checked by checksum, PTY runs"
echo "by byte count (random through a pty: +1 byte per \\n, ONLCR). setup: median of $BENCH_SETUPS. keystrokes:"
echo "$BENCH_KEYS round trips (after $KEY_WARMUP warm-up) of one byte to a remote 'stty raw -echo; cat', ${BENCH_KEY_GAP_MS} ms apart."
echo "RSS: (b) the naive ForceCommand's ssh client, (c) the portcullis process, 1 s into a 'sleep' session."
echo "total bench time: $(calc "$T_END - $T_START" 0) s"
echo
