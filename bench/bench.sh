#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/bench.sh -- `make bench`: what the bastion costs, side by side.
#
# A benchmark, not a test: it prints figures and fails only when a run did
# not succeed (an ssh that failed, bytes lost or changed).  Four paths to
# the same target sshd on loopback, built by tests/lib.sh:
#   (a) direct  ssh to the target sshd (the vaulted key, root's client);
#   (b) naive   a second bastion sshd whose ForceCommand is a small shell
#               script that execs the OpenSSH client to the target with the
#               same key and algorithms (bench/naive-forcecommand.sh);
#   (c) portcullis, the bastion of tests/lib.sh (installed setgid): every
#               session recorded and masked;
#   (d) unrecorded  a third bastion sshd whose ForceCommand is
#               bench/portcullis-unrecorded (built by `make bench`, never
#               installed), installed like (c) as $SCRATCH/bin/pcl-norec,
#               with the same configuration, policy and target: the same
#               proxy but its relay runs with no tap (PCL_BENCH_UNRECORDED
#               in sshproxy/main.c), so nothing is recorded or masked beyond
#               the recording's header and seal.  (c)/(d) is what recording
#               and masking cost.
# Measured: bulk throughput target->user (zeros and random bytes, with and
# without a PTY), session setup time (median of `ssh ... true`), keystroke
# echo latency through a PTY (bench/latency.py) and the RSS of the
# bastion-side process of an idle session (portcullis for (c), pcl-norec
# for (d), the naive ForceCommand's ssh client for (b)); for the bulk runs
# also the CPU time of that process (bench/cpuwatch.py).  bench/sink.c
# counts, times and checksums what arrives.
#
# Knobs (environment):
#   BENCH_QUICK=1        smoke run: 64 MiB zeros, 16 MiB random, fewer samples
#   BENCH_ZERO_MIB       zeros per bulk run            (1024; quick 64)
#   BENCH_RAND_MIB       random bytes per bulk run     (256; quick 16)
#   BENCH_TEXT_MIB       text (80-column lines of base64) per bulk run
#                        (256; quick 16): what a terminal mostly carries
#   BENCH_REPEAT         bulk runs per cell, best kept (2; quick 1)
#   BENCH_SETUPS         `ssh ... true` per path       (20; quick 5)
#   BENCH_KEYS           keystrokes per path           (1000; quick 60)
#   BENCH_KEY_ROUNDS     sessions they are spread over (5; quick 1)
#   BENCH_KEY_GAP_MS     pause between keystrokes      (5)
#   BENCH_PORT           first of 4 loopback ports     (22240): bastion,
#                        target, naive bastion, unrecorded bastion
#   BENCH_ONLY           phases to run, of setup,bulk,latency,rss (all)
#   BENCH_PATHS          paths to measure, of a b c d (all); for profiling
#   BENCH_BULK           bulk cells to run, of zero_nopty zero_pty
#                        rand_nopty rand_pty text_nopty text_pty (all)
#   BENCH_RUN_TIMEOUT    seconds before one bulk run counts as stalled (120)
#   PCL_KEEP=1           keep the scratch dir (logs)
#   PCL_PROXY=FILE       bench another build of the proxy (tests/lib.sh)
#   PCL_PROXY_UNRECORDED=FILE  the proxy of (d)
#                        ($top_builddir/bench/portcullis-unrecorded)
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
    : "${BENCH_TEXT_MIB:=16}"
    : "${BENCH_SETUPS:=5}" "${BENCH_KEYS:=60}" "${BENCH_KEY_ROUNDS:=1}"
else
    MODE=full
    : "${BENCH_ZERO_MIB:=1024}" "${BENCH_RAND_MIB:=256}" "${BENCH_REPEAT:=2}"
    : "${BENCH_TEXT_MIB:=256}"
    : "${BENCH_SETUPS:=20}" "${BENCH_KEYS:=1000}" "${BENCH_KEY_ROUNDS:=5}"
fi
: "${BENCH_KEY_GAP_MS:=5}" "${BENCH_PORT:=22240}" "${BENCH_RUN_TIMEOUT:=120}"
KEY_WARMUP=20
BASTION_P=$BENCH_PORT
TARGET_P=$((BENCH_PORT + 1))
NAIVE_PORT=$((BENCH_PORT + 2))
NOREC_PORT=$((BENCH_PORT + 3))
: "${PCL_PROXY_UNRECORDED:=$top_builddir/bench/portcullis-unrecorded}"
# Algorithms of the target leg, the same for (b) as pcl_policy_begin gives
# (c); the user->bastion leg is OpenSSH to OpenSSH in both.
TARGET_KEX=curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256
TARGET_CIPHERS=chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com
TARGET_MACS=hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com

read -r -a PATHS <<< "${BENCH_PATHS:-a b c d}"
declare -A PNAME=([a]="(a) direct" [b]="(b) naive FC" [c]="(c) portcullis"
    [d]="(d) unrecorded")
# The bastion-side process that relays a session of (b), (c) and (d).  The
# name of (d)'s copy is what the kernel keeps of it (comm, 15 bytes at
# most: "portcullis-unrecorded" would be cut), so that cpuwatch.py and
# proc_of find it and never (c)'s portcullis.
declare -A RELAY_NAME=([b]=ssh [c]=portcullis [d]=pcl-norec)
declare -A R       # results, R[metric,path]
BENCH_PIDS=()      # background processes we started and not yet reaped

# phase NAME: true when BENCH_ONLY (default: every phase) names it.
phase() {
    case ",${BENCH_ONLY:-setup,bulk,latency,rss}," in
    *",$1,"*) return 0 ;;
    esac
    return 1
}

# cell NAME: true when BENCH_BULK (default: every bulk cell) names it.
cell() {
    case " ${BENCH_BULK:-zero_nopty zero_pty rand_nopty rand_pty text_nopty text_pty} " in
    *" $1 "*) return 0 ;;
    esac
    return 1
}

say() { printf 'bench: %s\n' "$*" >&2; }
# One more run that did what it should (the harness's final count).
ran_ok() { PCL_NCHECK=$((PCL_NCHECK + 1)); }

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

# reaped PID: PID was waited for; cleanup must not signal a reused PID.
reaped() {
    local i
    for i in "${!BENCH_PIDS[@]}"; do
        [ "${BENCH_PIDS[$i]}" != "$1" ] || unset 'BENCH_PIDS[$i]'
    done
}

no_proc() {
    ! proc_of "$1" "$2" >/dev/null
}

no_user_procs() {
    ! pgrep -u "$1" >/dev/null 2>&1
}

# ------------------------------------------------------------ helpers
# want P: true when path P is measured (BENCH_PATHS).
want() {
    case " ${PATHS[*]} " in
    *" $1 "*) return 0 ;;
    esac
    return 1
}

# path_argv P: PCL_ARGV = the ssh command line of path P (as USER_A, whose
# default account on db01 is USER_A too); PREFIX = what goes before the
# remote command ("" direct, "db01 " through a bastion).
path_argv() {
    case $1 in
    a)
        pcl_tssh_argv "$USER_A"
        PREFIX=
        ;;
    b | d)
        # pcl_bssh_argv with the naive or the unrecorded bastion's port.
        local port=$NAIVE_PORT
        [ "$1" = d ] && port=$NOREC_PORT
        PCL_ARGV=(ssh "${PCL_SSH_OPTS[@]}"
            -o UserKnownHostsFile="$SCRATCH/known_hosts"
            -i "$SCRATCH/client/$USER_A" -p "$port" -l "$USER_A"
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

is_num() {
    [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]
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
        done 2>/dev/null < "$d/status"
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
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
say "$MODE run: ${BENCH_ZERO_MIB} MiB zeros, ${BENCH_RAND_MIB} MiB random, ${BENCH_TEXT_MIB} MiB text x${BENCH_REPEAT}, ${BENCH_SETUPS} setups, ${BENCH_KEYS} keystrokes per path"
pcl_setup "$BASTION_P" "$TARGET_P"
UID_A=$(id -u "$USER_A")
# The copy under test (the build may be redone while we run).
PROXY_VERSION=$("$SCRATCH/bin/portcullis" -V 2>&1 | head -n 1)
# The product's defaults, not the tests' debug log and fast recording flush.
sed -i -e 's/^log-level = debug$/log-level = info/' -e '/^flush-interval = /d' \
    "$SCRATCH/etc/portcullis.conf"

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

# (d): a third bastion whose ForceCommand is the unrecorded build of the
# proxy, installed as pcl_install_proxy installs (c)'s (root:group 2755),
# with (c)'s configuration, policy, audit log, spool and seal key; only
# its -E log is its own.
if want d; then
    [ -f "$PCL_PROXY_UNRECORDED" ] && [ -x "$PCL_PROXY_UNRECORDED" ] ||
        fatal "(d): $PCL_PROXY_UNRECORDED not built (make bench/portcullis-unrecorded)"
    install -o root -g "$TEST_GROUP" -m 2755 "$PCL_PROXY_UNRECORDED" \
        "$SCRATCH/bin/${RELAY_NAME[d]}" || fatal "cannot install $PCL_PROXY_UNRECORDED"
    : > "$SCRATCH/proxy-norec.log"
    chmod 0666 "$SCRATCH/proxy-norec.log"
    pcl_start_sshd norec "$NOREC_PORT" "$SCRATCH/bastion_keys" \
        "ForceCommand exec $SCRATCH/bin/${RELAY_NAME[d]} -f $SCRATCH/etc/portcullis.conf -E $SCRATCH/proxy-norec.log"
    printf '[127.0.0.1]:%s %s\n' "$NOREC_PORT" \
        "$(pcl_pubkey "$SCRATCH/norec/host_ed25519.pub")" >> "$SCRATCH/known_hosts"
fi

# Bulk data on the target: random bytes in a file (cat'ed), zeros from
# /dev/zero (head -c); reference sizes and checksums computed here.
install -d -m 0755 "$SCRATCH/data"
ZERO_BYTES=$((BENCH_ZERO_MIB * 1048576))
RAND_BYTES=$((BENCH_RAND_MIB * 1048576))
RAND_FILE=$SCRATCH/data/random.bin
if phase bulk; then
    head -c "$RAND_BYTES" /dev/urandom > "$RAND_FILE" || fatal "cannot make $RAND_FILE"
    chmod 0644 "$RAND_FILE"
    read -r _ _ RAND_HASH < <("$SINK" < "$RAND_FILE")
    read -r _ _ ZERO_HASH < <(head -c "$ZERO_BYTES" /dev/zero | "$SINK")
    # Through a terminal the target's pty turns each \n into \r\n (ONLCR).
    RAND_PTY_BYTES=$((RAND_BYTES + $(tr -cd '\n' < "$RAND_FILE" | wc -c)))
    # Text: 79 printable characters and a newline per line.
    TEXT_FILE=$SCRATCH/data/text.txt
    head -c $((BENCH_TEXT_MIB * 1048576 * 3 / 4)) /dev/urandom |
        base64 -w 79 > "$TEXT_FILE" || fatal "cannot make $TEXT_FILE"
    chmod 0644 "$TEXT_FILE"
    TEXT_BYTES=$(stat -c %s "$TEXT_FILE")
    read -r _ _ TEXT_HASH < <("$SINK" < "$TEXT_FILE")
    TEXT_PTY_BYTES=$((TEXT_BYTES + $(wc -l < "$TEXT_FILE")))
fi

# Each path works at all (and the first login of each is not timed).
for p in "${PATHS[@]}"; do
    path_argv "$p"
    out=$(timeout -k 5 60 "${PCL_ARGV[@]}" "${PREFIX}echo ok" < /dev/null 2>&1)
    [ "$out" = ok ] || fatal "${PNAME[$p]}: 'echo ok' gave: $out"
    # (c)'s session is the last to start so far.
    [ "$p" = c ] &&
        CIPHER_C=$(pcl_audit_events 'select(.event=="session-start") | .cipher' -r | tail -n 1)
done

# ------------------------------------------------------------ setup time
phase setup && {
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
        ran_ok
        calc "($t1 - $t0) * 1000" 2 >> "$SCRATCH/setup.$p"
        echo >> "$SCRATCH/setup.$p"
    done
done
for p in "${PATHS[@]}"; do
    R[setup,$p]=$(median < "$SCRATCH/setup.$p")
done
}

# ------------------------------------------------------------ throughput
# bulk METRIC P PTY CMD BYTES HASH: one run of CMD on the target through
# path P into the sink; keeps the best MiB/s of the repeats in R[METRIC,P].
# Without a PTY the checksum must match HASH; with one, the byte count.
# For (b), (c) and (d), bench/cpuwatch.py reads the CPU time (user+sys) of the
# bastion-side process; the least of the repeats, per GiB, goes in
# R[cpu_METRIC,P].
bulk() {
    local m=$1 p=$2 pty=$3 cmd=$4 want=$5 hash=$6 tflag=-T
    local out rc bytes secs h mibs wpid= wout cpu
    [ "$pty" = 1 ] && tflag=-tt
    path_argv "$p"
    if [ "$p" != a ]; then
        python3 "$BENCH_DIR/cpuwatch.py" "$UID_A" "${RELAY_NAME[$p]}" 60 \
            > "$SCRATCH/cpu" 2>&1 &
        wpid=$!
        BENCH_PIDS+=("$wpid")
    fi
    out=$(timeout -k 5 "$BENCH_RUN_TIMEOUT" "${PCL_ARGV[@]}" "$tflag" \
        "${PREFIX}$cmd" < /dev/null 2> "$SCRATCH/err" | "$SINK"
        echo "rc=${PIPESTATUS[0]}")
    rc=${out##*rc=}
    read -r bytes secs h <<< "${out%%$'\n'rc=*}"
    if [ -n "$wpid" ]; then
        # A failed run may have had no relay process to watch.
        [ "$rc" = 0 ] || kill -TERM "$wpid" 2>/dev/null
        wait "$wpid"
        reaped "$wpid"
        read -r _ wout < "$SCRATCH/cpu"
    fi
    case $p in c | d) recording_done "$m" "$bytes" "$p" ;; esac
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        fail "${PNAME[$p]} $m: not done after ${BENCH_RUN_TIMEOUT}s (stalled?), ${bytes:-0} bytes so far"
        R[$m,$p]=TIMEOUT
        return 1
    fi
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
    ran_ok
    mibs=$(calc "$bytes / 1048576 / $secs" 1)
    cpu=
    if [ -n "${wout:-}" ]; then
        cpu=$(calc "(${wout% *} + ${wout#* }) * 1073741824 / $bytes" 2)
        if ! is_num "${R[cpu_$m,$p]:-}" ||
            awk "BEGIN { exit !($cpu < ${R[cpu_$m,$p]}) }"; then
            R[cpu_$m,$p]=$cpu
        fi
        cpu=", ${RELAY_NAME[$p]} CPU user+sys ${wout/ /+} s"
    fi
    say "  ${PNAME[$p]} $m: $bytes bytes in ${secs}s = $mibs MiB/s$cpu"
    if ! is_num "${R[$m,$p]:-}" || awk "BEGIN { exit !($mibs > ${R[$m,$p]}) }"; then
        R[$m,$p]=$mibs
    fi
}

# recording_done METRIC BYTES P: (c) records every session, (d) writes its
# header and seal only; the size of the recording of the run just done, per
# byte relayed, in R[rec_METRIC,P].  The recordings are deleted (a GiB of
# zeros makes several GB of cast).
recording_done() {
    local f size=0 n
    [ -d "$SCRATCH/sessions" ] || return 0
    for f in $(find "$SCRATCH/sessions" -name '*.cast'); do
        n=$(stat -c %s "$f") && [ "$n" -gt "$size" ] && size=$n
    done
    if [ "$size" -gt 0 ] && is_num "${2:-}" && [ "$2" -gt 0 ]; then
        R[rec_$1,$3]=$(calc "$size / $2" 2)
    fi
    find "$SCRATCH/sessions" -path "$SCRATCH/sessions/[0-9]*" -type f \
        \( -name '*.cast' -o -name '*.cast.*' \) -delete
}

ZERO_CMD="head -c $ZERO_BYTES /dev/zero"
RAND_CMD="cat $RAND_FILE"
TEXT_CMD="cat ${TEXT_FILE:-/dev/null}"
BULK_METRICS=(zero_nopty zero_pty rand_nopty rand_pty text_nopty text_pty)
declare -A BULK_LABEL=(
    [zero_nopty]="zeros ${BENCH_ZERO_MIB} MiB, no PTY"
    [zero_pty]="zeros ${BENCH_ZERO_MIB} MiB, PTY"
    [rand_nopty]="random ${BENCH_RAND_MIB} MiB, no PTY"
    [rand_pty]="random ${BENCH_RAND_MIB} MiB, PTY"
    [text_nopty]="text ${BENCH_TEXT_MIB} MiB, no PTY"
    [text_pty]="text ${BENCH_TEXT_MIB} MiB, PTY")
phase bulk && {
say "bulk throughput target->user, best of ${BENCH_REPEAT}, MiB/s from first byte to EOF"
for rep in $(seq 1 "$BENCH_REPEAT"); do
    # a b c d, then d c b a: no bastion always runs right after another.
    order=("${PATHS[@]}")
    [ $((rep % 2)) = 0 ] && order=($(printf '%s\n' "${PATHS[@]}" | sort -r))
    for p in "${order[@]}"; do
        cell zero_nopty && bulk zero_nopty "$p" 0 "$ZERO_CMD" "$ZERO_BYTES" "$ZERO_HASH"
        cell zero_pty && bulk zero_pty "$p" 1 "$ZERO_CMD" "$ZERO_BYTES" -
        cell rand_nopty && bulk rand_nopty "$p" 0 "$RAND_CMD" "$RAND_BYTES" "$RAND_HASH"
        cell rand_pty && bulk rand_pty "$p" 1 "$RAND_CMD" "$RAND_PTY_BYTES" -
        cell text_nopty && bulk text_nopty "$p" 0 "$TEXT_CMD" "$TEXT_BYTES" "$TEXT_HASH"
        cell text_pty && bulk text_pty "$p" 1 "$TEXT_CMD" "$TEXT_PTY_BYTES" -
    done
done
}

# ------------------------------------------------------------ latency
# BENCH_KEYS round trips per path, in BENCH_KEY_ROUNDS sessions taken in
# turn (a b c d, d c b a, ...) so that a burst of other work on the machine
# does not land on one path only; the samples are pooled.
phase latency && {
say "keystroke echo latency: ${BENCH_KEYS} single bytes per path in ${BENCH_KEY_ROUNDS} sessions, ${BENCH_KEY_GAP_MS} ms apart"
per_round=$(( (BENCH_KEYS + BENCH_KEY_ROUNDS - 1) / BENCH_KEY_ROUNDS ))
for p in "${PATHS[@]}"; do : > "$SCRATCH/lat.$p"; R[lat_stalls,$p]=0; done
# Run (in the background) when an echo is 2 s late: what the relay process
# of (b), (c) or (d) is doing then, for the report.
cat > "$SCRATCH/bin/stall-hook" <<'EOF'
#!/bin/sh
# stall-hook UID NAME OUT [LOG]
pid=$(pgrep -u "$1" -x "$2" | head -n 1)
{
    echo "---- $(date +%T.%N): $2 pid ${pid:-?} while a keystroke echo is late"
    [ -n "$pid" ] || exit 0
    grep -E '^(State|voluntary_ctxt|nonvoluntary_ctxt)' "/proc/$pid/status"
    echo "wchan: $(cat "/proc/$pid/wchan" 2>/dev/null)"
    ls -l "/proc/$pid/fd" | sed 1d | awk '{ print $9, $10, $11 }'
    if command -v strace >/dev/null; then
        timeout 3 strace -tt -p "$pid" 2>&1 | head -n 40
    fi
    [ -z "${4:-}" ] || tail -n 20 "$4"
} > "$3" 2>&1
EOF
chmod 0755 "$SCRATCH/bin/stall-hook"
for round in $(seq 1 "$BENCH_KEY_ROUNDS"); do
    order=("${PATHS[@]}")
    [ $((round % 2)) = 0 ] && order=($(printf '%s\n' "${PATHS[@]}" | sort -r))
    for p in "${order[@]}"; do
        path_argv "$p"
        hook="$SCRATCH/bin/stall-hook $UID_A ${RELAY_NAME[$p]:-sshd} $SCRATCH/stall.$p.$round"
        [ "$p" = c ] && hook="$hook $SCRATCH/proxy.log"
        [ "$p" = d ] && hook="$hook $SCRATCH/proxy-norec.log"
        out=$(timeout -k 5 600 python3 "$BENCH_DIR/latency.py" \
            --raw "$SCRATCH/lat.$p" --stall-hook "$hook" "$per_round" "$KEY_WARMUP" \
            "$BENCH_KEY_GAP_MS" -- "${PCL_ARGV[@]}" -tt \
            "${PREFIX}stty raw -echo; echo READY; exec cat" 2> "$SCRATCH/err")
        rc=$?
        if [ "$rc" != 0 ]; then
            fail "${PNAME[$p]} latency probe exit $rc: $(head -c 500 "$SCRATCH/err")"
            continue
        fi
        ran_ok
        say "  ${PNAME[$p]} session $round: $out"
        st=${out##*stalls=}
        R[lat_stalls,$p]=$((R[lat_stalls,$p] + st))
        if [ "$st" != 0 ]; then
            say "  ${PNAME[$p]} session $round: $st echo(es) over 2 s late:"
            sed 's/^/    | /' "$SCRATCH/err" "$SCRATCH/stall.$p.$round" >&2 2>/dev/null
        fi
    done
done
for p in "${PATHS[@]}"; do
    # nearest-rank percentiles of the pooled samples
    eval "$(sort -n "$SCRATCH/lat.$p" | awk '{ v[NR] = $1 }
        function pct(q,  k) { k = int((q * NR + 99) / 100); if (k < 1) k = 1; return v[k] }
        END { if (NR == 0) exit
              printf "R[lat_n,%s]=%d R[lat_p50,%s]=%.3f R[lat_p90,%s]=%.3f R[lat_p99,%s]=%.3f R[lat_max,%s]=%.3f\n",
                  p, NR, p, pct(50), p, pct(90), p, pct(99), p, v[NR] }' p="$p")"
done
}

# ------------------------------------------------------------ RSS
# rss P PTY: VmRSS (and RssAnon) of the bastion-side process of an idle
# session (`sleep`) on path P: the proxy for (c) and (d), the ssh client
# that the naive ForceCommand exec'ed for (b).
rss() {
    local p=$1 pty=$2 name tflag=-T pid cpid i
    [ "$pty" = 1 ] && tflag=-tt
    name=${RELAY_NAME[$p]}
    # Sessions of earlier phases must be gone, or we would measure them.
    pcl_wait_for 10 no_proc "$USER_A" "$name" ||
        fail "a '$name' process of $USER_A from an earlier phase is still there"
    path_argv "$p"
    "${PCL_ARGV[@]}" "$tflag" "${PREFIX}sleep 30" < /dev/null > /dev/null 2>&1 &
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
        ran_ok
        R[rss_$pty,$p]=$(status_kb "$pid" VmRSS)
        R[anon_$pty,$p]=$(status_kb "$pid" RssAnon)
        R[pss_$pty,$p]=$(awk '$1 == "Pss:" { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null)
        say "  ${PNAME[$p]} idle session, pty=$pty: $name pid $pid VmRSS ${R[rss_$pty,$p]} kB, RssAnon ${R[anon_$pty,$p]} kB, Pss ${R[pss_$pty,$p]:-?} kB"
    fi
    kill -TERM "$cpid" 2>/dev/null
    wait "$cpid" 2>/dev/null
    reaped "$cpid"
    # The naive client of a session without a PTY outlives the user's
    # disconnection (nothing tells it; its remote `sleep` goes on): end
    # the process measured above, by its PID.
    if [ -n "$pid" ] && ! pcl_wait_for 3 pcl_not_running "$pid"; then
        [ "$p" = b ] && NAIVE_ORPHAN[$pty]=yes
        kill -TERM "$pid" 2>/dev/null
        pcl_wait_for 5 pcl_not_running "$pid"
    fi
}
declare -A NAIVE_ORPHAN=()
phase rss && {
say "RSS of the bastion-side process of an idle session"
for pty in 0 1; do
    for p in "${PATHS[@]}"; do
        [ "$p" = a ] || rss "$p" "$pty"
    done
done
}

# ------------------------------------------------------------ report
T_END=$EPOCHREALTIME

# ratio X B: X/B with 2 decimals, "-" unless both are numbers.
ratio() {
    if is_num "$1" && is_num "$2" && [ "$2" != 0 ]; then
        calc "$1 / $2" 2
    else
        echo -
    fi
}

# verdict COND: "ok" or "MISSED" (an awk condition on numbers).
verdict() {
    if awk "BEGIN { exit !($1) }"; then echo ok; else echo MISSED; fi
}
row() {
    # row LABEL UNIT A B C D (a)/(b) (c)/(b) (c)/(d) AIM
    printf '%-30s %-6s %12s %12s %14s %14s %8s %8s %8s  %s\n' "$@"
}
v() { echo "${R[$1,$2]:--}"; }

libssh_ver=$(dpkg-query -W -f '${Version}' libssh-4 2>/dev/null || echo '?')
echo
echo "portcullis bench ($MODE): $(nproc) CPUs, $(ssh -V 2>&1 | cut -d, -f1), libssh $libssh_ver, $PROXY_VERSION"
echo "target leg: (c) negotiated ${CIPHER_C:-?}; (b) OpenSSH client offered the same list ($TARGET_CIPHERS)"
echo "user leg: OpenSSH client -> OpenSSH sshd, default algorithms, on all paths; 127.0.0.1"
echo "(c) as tests/lib.sh configures it (every session recorded), log-level and recording flush-interval at their defaults"
echo "(d) (c)'s configuration, policy and target, proxy built with -DPCL_BENCH_UNRECORDED: relay with no tap, nothing"
echo "    recorded or masked (the recording holds its header and seal); (c)/(d) is what recording and masking cost"
echo
row metric unit "${PNAME[a]}" "${PNAME[b]}" "${PNAME[c]}" "${PNAME[d]}" \
    "(a)/(b)" "(c)/(b)" "(c)/(d)" "aim for (c): result"
printf '%.0s-' $(seq 1 148); echo
for m in "${BULK_METRICS[@]}"; do
    a=$(v "$m" a) b=$(v "$m" b) c=$(v "$m" c) d=$(v "$m" d)
    aim="-"
    is_num "$b" && is_num "$c" &&
        aim=">= 0.9x (b): $(verdict "$c >= 0.9 * $b")"
    row "${BULK_LABEL[$m]}" MiB/s "$a" "$b" "$c" "$d" "$(ratio "$a" "$b")" \
        "$(ratio "$c" "$b")" "$(ratio "$c" "$d")" "$aim"
    b=$(v "cpu_$m" b) c=$(v "cpu_$m" c) d=$(v "cpu_$m" d)
    row "  relay CPU per GiB" s - "$b" "$c" "$d" - "$(ratio "$c" "$b")" \
        "$(ratio "$c" "$d")" "-"
    c=$(v "rec_$m" c) d=$(v "rec_$m" d)
    [ "$c" = - ] && [ "$d" = - ] ||
        row "  recording size / bytes" x - - "$c" "$d" - - - "-"
done
a=$(v setup a) b=$(v setup b) c=$(v setup c) d=$(v setup d)
row "setup 'ssh true' median" ms "$a" "$b" "$c" "$d" "$(ratio "$a" "$b")" \
    "$(ratio "$c" "$b")" "$(ratio "$c" "$d")" "-"
for q in p50 p90 p99 max stalls; do
    a=$(v "lat_$q" a) b=$(v "lat_$q" b) c=$(v "lat_$q" c) d=$(v "lat_$q" d)
    aim="-"
    if [ "$q" = p99 ] && is_num "$b" && is_num "$c"; then
        aim="<= (b) + 1 ms [(c)-(b) = $(calc "$c - $b" 3) ms]: $(verdict "$c <= $b + 1")"
    fi
    unit=ms
    [ "$q" = stalls ] && unit='>2s'
    row "keystroke echo $q" "$unit" "$a" "$b" "$c" "$d" "$(ratio "$a" "$b")" \
        "$(ratio "$c" "$b")" "$(ratio "$c" "$d")" "$aim"
done
for pty in 0 1; do
    lbl="idle session, no PTY"
    [ "$pty" = 1 ] && lbl="idle session, PTY"
    b=$(v "rss_$pty" b) c=$(v "rss_$pty" c) d=$(v "rss_$pty" d)
    aim="-"
    if is_num "$b" && is_num "$c"; then
        aim="<= (b): $(verdict "$c <= $b")"
        # A few pages either way is what one run to the next differs by.
        [ "$(verdict "$c <= $b * 1.01")" = ok ] && [ "$(verdict "$c <= $b")" != ok ] &&
            aim="<= (b): MISSED by $((c - b)) kB (<1%, run-to-run noise)"
    fi
    row "VmRSS $lbl" kB - "$b" "$c" "$d" - "$(ratio "$c" "$b")" "$(ratio "$c" "$d")" "$aim"
    b=$(v "anon_$pty" b) c=$(v "anon_$pty" c) d=$(v "anon_$pty" d)
    row "  of which RssAnon" kB - "$b" "$c" "$d" - "$(ratio "$c" "$b")" "$(ratio "$c" "$d")" "-"
    b=$(v "pss_$pty" b) c=$(v "pss_$pty" c) d=$(v "pss_$pty" d)
    row "  Pss (shared pages split)" kB - "$b" "$c" "$d" - "$(ratio "$c" "$b")" "$(ratio "$c" "$d")" "-"
done
echo
echo "bulk: best of $BENCH_REPEAT, bytes/(first byte..EOF) at the client; relay CPU = user+sys of (b)'s ssh client /"
echo "(c)'s and (d)'s proxy, least of the repeats, scaled to 1 GiB; no-PTY runs checked by checksum, PTY runs"
echo "by byte count (random through a pty: +1 byte per \\n, ONLCR). setup: median of $BENCH_SETUPS. keystrokes:"
echo "${R[lat_n,${PATHS[0]}]:-?} round trips per path (${BENCH_KEY_ROUNDS} sessions, each after $KEY_WARMUP warm-up) of one byte to a remote"
echo "'stty raw -echo; cat', ${BENCH_KEY_GAP_MS} ms apart; p99 is nearest-rank."
echo "RSS: (b) the naive ForceCommand's ssh client, (c) the portcullis process, (d) the pcl-norec process,"
echo "1 s into a 'sleep' session; VmRSS is mostly shared libraries (libcrypto): RssAnon is the process's own"
echo "memory. Relay CPU includes the process's session setup (key exchange...), which weighs on small"
echo "(BENCH_QUICK) runs only."
for pty in 0 1; do
    [ -n "${NAIVE_ORPHAN[$pty]:-}" ] &&
        echo "note: (b)'s ssh client (pty=$pty) outlived the user's disconnection (killed by the bench)."
done
echo "total bench time: $(calc "$T_END - $T_START" 0) s; load average at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(other work on this machine during the run skews the figures: compare runs on a quiet machine)"
echo
