# SPDX-License-Identifier: BSD-2-Clause
# tests/lib.sh -- sourced by the integration tests (bash).
#
# Builds a private bastion on loopback from real parts: two OpenSSH sshd
# (a TARGET and a BASTION whose ForceCommand is the built proxy, installed
# setgid to a test group exactly as `make install` does with `portcullis`),
# two throw-away local users, and the real ssh client.  Nothing under /etc
# other than the user and group databases is touched; sshd_config files,
# host keys, pid files and logs live in a per-test scratch directory.
#
# Usage in a test script:
#     set -u
#     . "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
#     pcl_require_root_sshd          # exit 77 (SKIP) when it cannot run
#     pcl_setup 22264 22265          # users, keys, target + bastion up
#     trace "what is checked"; ... || fail "expected X, got Y"
#     pcl_finish
#
# Conventions: `trace` numbers the checks; `fail` records a failure and goes
# on (so one run shows every broken check); `fatal` stops at once; `skip`
# exits 77.  Whatever way the script ends, the EXIT trap stops the sshd it
# started (by recorded PID only), deletes the users and groups it created,
# removes the scratch dir (PCL_KEEP=1 keeps it) and turns any recorded
# failure into exit 1.

# ------------------------------------------------------------ environment
: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
if [ -z "${SSHD:-}" ]; then
    SSHD=$(command -v sshd 2>/dev/null || echo /usr/sbin/sshd)
fi
# The proxy under test; PCL_PROXY overrides it (e.g. an ASan build).
: "${PCL_PROXY:=$top_builddir/sshproxy/portcullis}"
export LC_ALL=C
unset SSH_AUTH_SOCK SSH_AGENT_PID SSH_ORIGINAL_COMMAND

PCL_TEST=$(basename "$0" .sh)
PCL_NCHECK=0
PCL_FAILED=0
PCL_PIDS=()         # every daemon this test started, stopped by cleanup
PCL_USERS=()        # users created, deleted by cleanup
PCL_GROUPS=()       # groups created, deleted by cleanup
SCRATCH=

# ------------------------------------------------------------ reporting
trace() {
    PCL_NCHECK=$((PCL_NCHECK + 1))
    printf '%s: %d. %s\n' "$PCL_TEST" "$PCL_NCHECK" "$*"
}

fail() {
    PCL_FAILED=$((PCL_FAILED + 1))
    printf '%s: FAIL check %d: %s\n' "$PCL_TEST" "$PCL_NCHECK" "$*" >&2
}

fatal() {
    printf '%s: FATAL (check %d): %s\n' "$PCL_TEST" "$PCL_NCHECK" "$*" >&2
    PCL_FAILED=$((PCL_FAILED + 1))
    exit 1
}

skip() {
    printf '%s: SKIP: %s\n' "$PCL_TEST" "$*"
    exit 77
}

# Shows a multi-line value indented, for expected/got reports.
pcl_show() {
    printf '%s\n' "$1" | sed -n '1,40s/^/    | /p'
    [ "$(printf '%s\n' "$1" | wc -l)" -le 40 ] || echo '    | ...'
}

# expect_eq WHAT EXPECTED GOT: fails with both values shown when they differ.
expect_eq() {
    if [ "$2" != "$3" ]; then
        fail "$1: expected vs got:"
        { echo "  expected:"; pcl_show "$2"; echo "  got:"; pcl_show "$3"; } >&2
        return 1
    fi
    return 0
}

# expect_match WHAT ERE TEXT: fails unless TEXT matches the extended regex.
expect_match() {
    if ! printf '%s\n' "$3" | grep -Eq -- "$2"; then
        fail "$1: no match for /$2/ in:"
        pcl_show "$3" >&2
        return 1
    fi
    return 0
}

# expect_nomatch WHAT ERE TEXT: fails when TEXT matches.
expect_nomatch() {
    if printf '%s\n' "$3" | grep -Eq -- "$2"; then
        fail "$1: unexpected match for /$2/ in:"
        pcl_show "$3" >&2
        return 1
    fi
    return 0
}

# Requirements of every sshd-based test: root (users, setgid install,
# sshd privilege separation) and an sshd binary.
pcl_require_root_sshd() {
    [ "$(id -u)" = 0 ] || skip "needs root (creates users, runs sshd)"
    case $SSHD in
    /*) ;;
    *) SSHD=$(command -v "$SSHD" 2>/dev/null || true) ;;
    esac
    [ -n "$SSHD" ] && [ -x "$SSHD" ] || skip "sshd not found (SSHD=$SSHD)"
    command -v ssh >/dev/null || skip "ssh client not found"
    command -v ssh-keygen >/dev/null || skip "ssh-keygen not found"
}

pcl_require_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || skip "$c not installed"
    done
}

# ------------------------------------------------------------ cleanup
pcl_cleanup() {
    local rc=$1 pid i u g
    trap - EXIT INT TERM HUP
    # A reader that went away (| head) must not kill the cleanup.
    trap '' PIPE
    if [ "$rc" != 0 ] && [ "$rc" != 77 ] || [ "$PCL_FAILED" -gt 0 ]; then
        pcl_dump_logs >&2
    fi
    for pid in "${PCL_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${PCL_PIDS[@]}"; do
        for i in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -KILL "$pid" 2>/dev/null
    done
    for u in "${PCL_USERS[@]}"; do
        userdel -r "$u" >/dev/null 2>&1 || userdel -f -r "$u" >/dev/null 2>&1 ||
            echo "$PCL_TEST: warning: could not delete user $u" >&2
    done
    for g in "${PCL_GROUPS[@]}"; do
        if getent group "$g" >/dev/null; then
            groupdel "$g" >/dev/null 2>&1 ||
                echo "$PCL_TEST: warning: could not delete group $g" >&2
        fi
    done
    if [ -n "$SCRATCH" ] && [ -d "$SCRATCH" ]; then
        if [ "${PCL_KEEP:-0}" = 1 ]; then
            echo "$PCL_TEST: scratch kept in $SCRATCH" >&2
        else
            rm -rf "$SCRATCH"
        fi
    fi
    if [ "$rc" = 0 ] && [ "$PCL_FAILED" -gt 0 ]; then
        rc=1
    fi
    if [ "$rc" = 0 ] && [ "$PCL_NCHECK" = 0 ]; then
        echo "$PCL_TEST: done"
    elif [ "$rc" = 0 ]; then
        echo "$PCL_TEST: $PCL_NCHECK checks passed"
    elif [ "$rc" != 77 ]; then
        echo "$PCL_TEST: $PCL_FAILED failure(s) in $PCL_NCHECK checks" >&2
    fi
    exit "$rc"
}

# The tails of every log of this test, for the test-suite.log of a failure.
pcl_dump_logs() {
    local f
    [ -n "$SCRATCH" ] && [ -d "$SCRATCH" ] || return 0
    for f in "$SCRATCH"/proxy.log "$SCRATCH"/log/audit.json \
        "$SCRATCH"/*/sshd.log; do
        [ -s "$f" ] || continue
        echo "---- tail of ${f#"$SCRATCH"/} ----"
        tail -n 40 "$f"
    done
}

trap 'pcl_cleanup $?' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

# Call at the end of a test; exit status is 1 if any check failed. Every
# asciicast v2 recording the test made is first checked with Debian's
# asciinema (which refuses v3).
pcl_finish() {
    local f
    if [ -n "$SCRATCH" ] && command -v asciinema >/dev/null 2>&1; then
        for f in $(pcl_recordings); do
            head -n 1 "$f" | grep -q '"version":2' || continue
            pcl_asciinema_ok "$f" ||
                fail "asciinema cat refuses the recording $f"
        done
    fi
    [ "$PCL_FAILED" -eq 0 ] || exit 1
    exit 0
}

# ------------------------------------------------------------ scratch
pcl_scratch() {
    SCRATCH=$(mktemp -d "/tmp/pcl-$PCL_TEST.XXXXXX") || fatal "mktemp failed"
    # Test users must traverse it (homes, keys dir, binary).
    chmod 755 "$SCRATCH"
    mkdir -p "$SCRATCH"/{bin,etc,home,client,target_keys,bastion_keys,log}
    chmod 755 "$SCRATCH"/{bin,etc,home,target_keys,bastion_keys}
    chmod 700 "$SCRATCH/client"
    export SCRATCH
}

# ------------------------------------------------------------ users
# Unique names: pct<PID>a / pct<PID>b users, pct<PID>g (stands in for the
# `portcullis` group that owns the keys and the setgid proxy) and
# pct<PID>x (an ordinary group both users are in, for group: rules).
pcl_retry() {
    # useradd/groupadd may meet the passwd lock of a parallel test.
    local i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        "$@" && return 0
        sleep 0.3
    done
    return 1
}

pcl_create_users() {
    local p=pct$$
    USER_A=${p}a
    USER_B=${p}b
    TEST_GROUP=${p}g
    EXTRA_GROUP=${p}x
    local g u
    for g in "$TEST_GROUP" "$EXTRA_GROUP"; do
        getent group "$g" >/dev/null && fatal "group $g already exists"
        pcl_retry groupadd "$g" || fatal "groupadd $g failed"
        PCL_GROUPS+=("$g")
    done
    for u in "$USER_A" "$USER_B"; do
        getent passwd "$u" >/dev/null && fatal "user $u already exists"
        # '*' and not '!': with UsePAM no, sshd treats '!' as locked.
        # bash and not /bin/sh: sshd runs ForceCommand as `SHELL -c CMD`,
        # and bash execs a lone command while Debian's dash (0.5.12) forks
        # and waits, so with dash a signal the proxy re-raises would reach
        # sshd as "exit 128+N" instead of exit-signal (exec.sh compares
        # with a direct ssh).  Users whose login shell is dash get that.
        pcl_retry useradd -m -d "$SCRATCH/home/$u" -s /bin/bash -p '*' \
            -G "$EXTRA_GROUP" "$u" >/dev/null ||
            fatal "useradd $u failed"
        PCL_USERS+=("$u")
        # The user's own group: useradd made it (USERGROUPS_ENAB), userdel
        # removes it; recorded too in case it survives.
        PCL_GROUPS+=("$u")
    done
    export USER_A USER_B TEST_GROUP EXTRA_GROUP
}

# ------------------------------------------------------------ keys
pcl_keygen() {
    # pcl_keygen FILE [TYPE]: a fresh key without passphrase.
    rm -f "$1" "$1.pub"
    ssh-keygen -q -t "${2:-ed25519}" -N '' -C "pcl-test" -f "$1" ||
        fatal "ssh-keygen $1 failed"
}

# "TYPE BASE64" of a public key file (what policy.conf pins).
pcl_pubkey() {
    cut -d' ' -f1,2 "$1"
}

# Client keys of the bastion users (used by root's ssh client), the key
# the proxy uses on the target (credential "db01"), and the authorized
# keys of both sshd.
pcl_make_keys() {
    local u
    for u in "$USER_A" "$USER_B"; do
        pcl_keygen "$SCRATCH/client/$u"
        cp "$SCRATCH/client/$u.pub" "$SCRATCH/bastion_keys/$u"
        chmod 644 "$SCRATCH/bastion_keys/$u"
    done
    # The vault: root:<testgroup> 0750, key files 0640.
    install -d -o root -g "$TEST_GROUP" -m 0750 "$SCRATCH/keys"
    pcl_keygen "$SCRATCH/keys/db01"
    chown root:"$TEST_GROUP" "$SCRATCH/keys/db01"
    chmod 0640 "$SCRATCH/keys/db01"
    mv "$SCRATCH/keys/db01.pub" "$SCRATCH/client/db01.pub"
    # A 0600 copy for root's own direct ssh (ssh refuses a 0640 key).
    install -m 0600 "$SCRATCH/keys/db01" "$SCRATCH/client/db01"
    # The target accepts the vaulted key for both accounts.
    for u in "$USER_A" "$USER_B"; do
        cp "$SCRATCH/client/db01.pub" "$SCRATCH/target_keys/$u"
        chmod 644 "$SCRATCH/target_keys/$u"
    done
}

# ------------------------------------------------------------ sshd
# pcl_port_free PORT: true when nothing listens on 127.0.0.1:PORT.
pcl_port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pcl_wait_for SECONDS COMMAND...: polls COMMAND every 50 ms.
pcl_wait_for() {
    local n=$(($1 * 20))
    shift
    while [ "$n" -gt 0 ]; do
        "$@" && return 0
        sleep 0.05
        n=$((n - 1))
    done
    return 1
}

pcl_sshd_up() {
    # pcl_sshd_up PIDFILE PORT: pid file written (sshd writes it once it
    # listens) and the port accepts a connection.
    [ -s "$1" ] && (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null
}

# pcl_start_sshd NAME PORT AUTHKEYS_DIR [EXTRA_CONFIG_TEXT]
# Starts sshd as root on 127.0.0.1:PORT with everything in $SCRATCH/NAME.
# EXTRA_CONFIG_TEXT goes first (sshd_config: first value wins).
pcl_start_sshd() {
    local name=$1 port=$2 akdir=$3 extra=${4:-}
    local d="$SCRATCH/$name"
    mkdir -p "$d"
    # sshd's privilege separation directory; absent on a fresh container.
    [ -d /run/sshd ] || mkdir -m 0755 /run/sshd
    pcl_port_free "$port" || fatal "port $port is busy; cannot start $name sshd"
    [ -f "$d/host_ed25519" ] || pcl_keygen "$d/host_ed25519"
    cat > "$d/sshd_config" <<EOF
$extra
Port $port
ListenAddress 127.0.0.1
AddressFamily inet
HostKey $d/host_ed25519
PidFile $d/sshd.pid
AuthorizedKeysFile $akdir/%u
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
PermitTTY yes
UseDNS no
PrintMotd no
PrintLastLog no
LoginGraceTime 30
MaxStartups 50
LogLevel VERBOSE
EOF
    "$SSHD" -t -f "$d/sshd_config" 2> "$d/sshd-t.err" ||
        fatal "sshd -t rejected $d/sshd_config: $(cat "$d/sshd-t.err")"
    rm -f "$d/sshd.pid"
    : > "$d/sshd.log"
    # sshd daemonizes; the parent returns once the child forked.
    "$SSHD" -f "$d/sshd_config" -E "$d/sshd.log" ||
        fatal "$name sshd failed to start: $(tail -n 5 "$d/sshd.log")"
    pcl_wait_for 10 pcl_sshd_up "$d/sshd.pid" "$port" ||
        fatal "$name sshd not up on port $port: $(tail -n 5 "$d/sshd.log")"
    PCL_PIDS+=("$(cat "$d/sshd.pid")")
}

# pcl_stop_sshd NAME: stops one sshd started above (by its recorded PID).
pcl_stop_sshd() {
    local d="$SCRATCH/$1" pid i
    [ -s "$d/sshd.pid" ] || return 0
    pid=$(cat "$d/sshd.pid")
    for i in "${!PCL_PIDS[@]}"; do
        if [ "${PCL_PIDS[$i]}" = "$pid" ]; then
            kill -TERM "$pid" 2>/dev/null
            pcl_wait_for 5 pcl_not_running "$pid" || kill -KILL "$pid" 2>/dev/null
            unset 'PCL_PIDS[$i]'
        fi
    done
    rm -f "$d/sshd.pid"
}

pcl_not_running() {
    ! kill -0 "$1" 2>/dev/null
}

# pcl_start_target [EXTRA_CONFIG_TEXT] [NAME] [PORT]: a target sshd.
pcl_start_target() {
    local extra=${1:-} name=${2:-target} port=${3:-$TARGET_PORT}
    pcl_start_sshd "$name" "$port" "$SCRATCH/target_keys" "$extra"
    printf '[127.0.0.1]:%s %s\n' "$port" \
        "$(pcl_pubkey "$SCRATCH/$name/host_ed25519.pub")" >> "$SCRATCH/known_hosts"
}

# pcl_start_bastion [EXTRA_CONFIG_TEXT]: the bastion sshd; the proxy is its
# ForceCommand.  sshd passes no client environment (no AcceptEnv), and
# gives a PTY when the client asks for one.
pcl_start_bastion() {
    local extra=${1:-}
    pcl_start_sshd bastion "$BASTION_PORT" "$SCRATCH/bastion_keys" \
        "ForceCommand exec $SCRATCH/bin/portcullis -f $SCRATCH/etc/portcullis.conf -E $SCRATCH/proxy.log
$extra"
    printf '[127.0.0.1]:%s %s\n' "$BASTION_PORT" \
        "$(pcl_pubkey "$SCRATCH/bastion/host_ed25519.pub")" >> "$SCRATCH/known_hosts"
}

# ------------------------------------------------------------ the proxy
# Installs the built proxy as make install does: root:<group> 2755, so the
# tests run it really set-id.  Not the file capability cap_audit_write=p
# that make install adds: the kernel refuses the proxy's Linux audit
# records (EPERM, one error in proxy.log per session), so that no test
# writes into the machine's own audit trail; tests/integration/audit.sh
# adds it, with its own auditd.
pcl_install_proxy() {
    [ -f "$PCL_PROXY" ] && [ -x "$PCL_PROXY" ] ||
        fatal "proxy binary not built: $PCL_PROXY (run make first)"
    install -o root -g "$TEST_GROUP" -m 2755 "$PCL_PROXY" "$SCRATCH/bin/portcullis" ||
        fatal "cannot install $PCL_PROXY"
    # -E log: opened by the proxy with the user's real ids.
    : > "$SCRATCH/proxy.log"
    chmod 0666 "$SCRATCH/proxy.log"
    # Audit log: written through the set-id group, like
    # @localstatedir@/log/portcullis (root:portcullis 2770).
    chown root:"$TEST_GROUP" "$SCRATCH/log"
    chmod 2770 "$SCRATCH/log"
    : > "$SCRATCH/log/audit.json"
    chown root:"$TEST_GROUP" "$SCRATCH/log/audit.json"
    chmod 0660 "$SCRATCH/log/audit.json"
    # Recordings, as make install lays them out: the spool root:group
    # 2770, the seal key root:group 0640.
    install -d -o root -g "$TEST_GROUP" -m 2770 "$SCRATCH/sessions"
    head -c 32 /dev/urandom > "$SCRATCH/etc/seal.key"
    chown root:"$TEST_GROUP" "$SCRATCH/etc/seal.key"
    chmod 0640 "$SCRATCH/etc/seal.key"
}

# pcl_recordings: every recording of this test, oldest first.
pcl_recordings() {
    find "$SCRATCH/sessions" -name '*.cast' -printf '%T@ %p\n' 2>/dev/null |
        sort -n | cut -d' ' -f2-
}

# pcl_last_recording: the newest one.
pcl_last_recording() {
    pcl_recordings | tail -n 1
}

# pcl_asciinema_ok FILE: Debian's asciinema parses every line of FILE
# (asciinema cat needs a terminal: script gives it one). v2 only.
pcl_asciinema_ok() {
    LC_ALL=C.UTF-8 script -qec "asciinema cat '$1' >/dev/null" /dev/null </dev/null >/dev/null 2>&1
}

# pcl_write_conf [EXTRA_TEXT]: $SCRATCH/etc/portcullis.conf, root 0644.
# EXTRA_TEXT is appended (after [audit]). The [vault] keys are
# PCL_VAULT_CONF: by default the legacy key directory $SCRATCH/keys,
# "backend = keys" (tests/integration/vault.sh uses the sealed file vault).
pcl_write_conf() {
    cat > "$SCRATCH/etc/portcullis.conf" <<EOF
# portcullis.conf written by tests/lib.sh for $PCL_TEST
[proxy]
policy = $SCRATCH/etc/policy.conf
credentials = $SCRATCH/keys
connect-timeout = 10
keepalive-interval = 30
keepalive-count-max = 3
log-level = debug

[recording]
directory = $SCRATCH/sessions
seal-key = $SCRATCH/etc/seal.key
index = $SCRATCH/sessions/index.sqlite
flush-interval = 200ms

[vault]
${PCL_VAULT_CONF:-backend = keys}

[audit]
json-log = $SCRATCH/log/audit.json
syslog = no
${1:-}
EOF
    chown root:root "$SCRATCH/etc/portcullis.conf"
    chmod 0644 "$SCRATCH/etc/portcullis.conf"
}

# pcl_policy_begin: starts $SCRATCH/etc/policy.conf with modern algorithm
# defaults (the weak-algorithm refusals depend on them).
pcl_policy_begin() {
    cat > "$SCRATCH/etc/policy.conf" <<EOF
# policy.conf written by tests/lib.sh for $PCL_TEST
[defaults]
kex = curve25519-sha256, curve25519-sha256@libssh.org, ecdh-sha2-nistp256
ciphers = chacha20-poly1305@openssh.com, aes256-gcm@openssh.com, aes128-gcm@openssh.com
macs = hmac-sha2-256-etm@openssh.com, hmac-sha2-512-etm@openssh.com
host-key-algorithms = ssh-ed25519
EOF
    chown root:root "$SCRATCH/etc/policy.conf"
    chmod 0644 "$SCRATCH/etc/policy.conf"
}

# pcl_policy_target NAME PORT [HOSTKEY_PUB_FILE] [LINES]: appends a target
# on 127.0.0.1:PORT pinned to the host key in HOSTKEY_PUB_FILE (default:
# the main target's).  Defaults: accounts USER_A (the default) and USER_B,
# credential = the key "db01", allowed: group EXTRA_GROUP except USER_B.
# LINES ("key = value" per line) replace the defaults of the same keys.
pcl_policy_target() {
    local name=$1 port=$2 hk=${3:-$SCRATCH/target/host_ed25519.pub} extra=${4:-}
    local l k defaults
    defaults="description = test target $name
host = 127.0.0.1
port = $port
accounts = $USER_A, $USER_B
credential = db01
host-key = $(pcl_pubkey "$hk")
allow = group:$EXTRA_GROUP, !user:$USER_B"
    {
        printf '\n[target %s]\n' "$name"
        while IFS= read -r l; do
            k=${l%% = *}
            printf '%s\n' "$extra" | grep -q "^$k = " || printf '%s\n' "$l"
        done <<< "$defaults"
        [ -z "$extra" ] || printf '%s\n' "$extra"
    } >> "$SCRATCH/etc/policy.conf"
}

# ------------------------------------------------------------ clients
# Host keys of both sshd are written to $SCRATCH/known_hosts as they start,
# so ssh prints no "Permanently added" noise on stderr; accept-new only
# relaxes the client side of the test, never the proxy's pinning.
PCL_SSH_OPTS=(-F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes
    -o StrictHostKeyChecking=accept-new -o ConnectTimeout=10)

# bssh USER [ssh args...]: the real ssh client to the bastion as USER.
# Arguments after the first non-option are the command ssh sends, which
# sshd hands to the proxy as SSH_ORIGINAL_COMMAND.  Bounded by
# PCL_TIMEOUT seconds (default 60) so a hang fails instead of blocking.
bssh() {
    local u=$1
    shift
    pcl_bssh_argv "$u"
    timeout -k 5 "${PCL_TIMEOUT:-60}" "${PCL_ARGV[@]}" "$@"
}

# pcl_bssh_argv USER / pcl_tssh_argv ACCOUNT: the same ssh command lines,
# without the time bound, in the array PCL_ARGV (for expect, wrappers).
pcl_bssh_argv() {
    PCL_ARGV=(ssh "${PCL_SSH_OPTS[@]}"
        -o UserKnownHostsFile="$SCRATCH/known_hosts"
        -i "$SCRATCH/client/$1" -p "$BASTION_PORT" -l "$1" 127.0.0.1)
}

pcl_tssh_argv() {
    PCL_ARGV=(ssh "${PCL_SSH_OPTS[@]}"
        -o UserKnownHostsFile="$SCRATCH/known_hosts"
        -i "$SCRATCH/client/db01" -p "$TARGET_PORT" -l "$1" 127.0.0.1)
}

# tssh ACCOUNT [ssh args...]: the same client DIRECTLY to the target with
# the vaulted key, for comparing what a direct ssh gives.
tssh() {
    local u=$1
    shift
    pcl_tssh_argv "$u"
    timeout -k 5 "${PCL_TIMEOUT:-60}" "${PCL_ARGV[@]}" "$@"
}

# ------------------------------------------------------------ audit log
# pcl_audit_events FILTER [JQ-ARGS]: the audit events (one JSON per line)
# matching a jq filter, e.g. 'select(.event=="decision" and .decision=="deny")'.
# A line that is not JSON makes jq complain on stderr and print nothing
# more, so a broken log fails the check that wanted an event.
# Further arguments go to jq (e.g. --arg fp "$fp").
pcl_audit_events() {
    local f=$1
    shift
    jq -c "$@" "$f" "$SCRATCH/log/audit.json"
}

# pcl_audit_mark: remembers the audit log's size; pcl_audit_new prints only
# the events written since.
pcl_audit_mark() {
    PCL_AUDIT_OFF=$(stat -c %s "$SCRATCH/log/audit.json")
}

pcl_audit_new() {
    local f=$1
    shift
    tail -c +"$((PCL_AUDIT_OFF + 1))" "$SCRATCH/log/audit.json" | jq -c "$@" "$f"
}

# Number of public key logins the target sshd accepted so far (to prove
# that a refused request never reached, or never authenticated to, it).
pcl_target_logins() {
    grep -c 'Accepted publickey' "$SCRATCH/${1:-target}/sshd.log"
}

# ------------------------------------------------------------ vault
# pcl_file_vault [EXTRA_TEXT]: a sealed file vault ($SCRATCH/vault, master
# key $SCRATCH/etc/vault.key, root:<testgroup>) made by the built
# portcullis-vault, holding the target key as "db01"; portcullis.conf is
# rewritten to use it (pcl_write_conf EXTRA_TEXT).
pcl_file_vault() {
    local bin=$top_builddir/vault/portcullis-vault
    [ -x "$bin" ] || fatal "vault/portcullis-vault not built"
    PCL_VAULT_CONF="backend = file
directory = $SCRATCH/vault
master-key = $SCRATCH/etc/vault.key" pcl_write_conf "${1:-}"
    "$bin" -f "$SCRATCH/etc/portcullis.conf" -g "$TEST_GROUP" init \
        > "$SCRATCH/vault-init.out" 2>&1 ||
        fatal "portcullis-vault init: $(cat "$SCRATCH/vault-init.out")"
    "$bin" -f "$SCRATCH/etc/portcullis.conf" -g "$TEST_GROUP" add db01 \
        --ssh-key "$SCRATCH/keys/db01" > "$SCRATCH/vault-add.out" 2>&1 ||
        fatal "portcullis-vault add: $(cat "$SCRATCH/vault-add.out")"
}

# ------------------------------------------------------------ more users
# pcl_add_group SUFFIX: one more throw-away group pct<PID>SUFFIX (removed
# by the cleanup); its name is in PCL_NEW.
pcl_add_group() {
    PCL_NEW=pct$$$1
    getent group "$PCL_NEW" >/dev/null && fatal "group $PCL_NEW already exists"
    pcl_retry groupadd "$PCL_NEW" || fatal "groupadd $PCL_NEW failed"
    PCL_GROUPS+=("$PCL_NEW")
}

# pcl_add_user SUFFIX [GROUP,...]: one more throw-away user pct<PID>SUFFIX,
# after pcl_setup, like USER_A and USER_B: in EXTRA_GROUP (and GROUPs),
# with a client key for the bastion, and the vaulted key "db01" accepted
# for it on the target.  Its name is in PCL_NEW.
pcl_add_user() {
    local u=pct$$$1
    getent passwd "$u" >/dev/null && fatal "user $u already exists"
    pcl_retry useradd -m -d "$SCRATCH/home/$u" -s /bin/bash -p '*' \
        -G "$EXTRA_GROUP${2:+,$2}" "$u" >/dev/null || fatal "useradd $u failed"
    PCL_USERS+=("$u")
    PCL_GROUPS+=("$u")
    pcl_keygen "$SCRATCH/client/$u"
    install -m 0644 "$SCRATCH/client/$u.pub" "$SCRATCH/bastion_keys/$u"
    install -m 0644 "$SCRATCH/client/db01.pub" "$SCRATCH/target_keys/$u"
    PCL_NEW=$u
}

# ------------------------------------------------------------ all at once
# pcl_setup BASTION_PORT TARGET_PORT: scratch, users, keys, conf, policy
# (target db01 = the target sshd), target and bastion sshd up.
pcl_setup() {
    BASTION_PORT=$1
    TARGET_PORT=$2
    export BASTION_PORT TARGET_PORT
    pcl_scratch
    : > "$SCRATCH/known_hosts"
    pcl_create_users
    pcl_make_keys
    pcl_install_proxy
    pcl_start_target
    pcl_write_conf
    pcl_policy_begin
    pcl_policy_target db01 "$TARGET_PORT"
    pcl_start_bastion
}
