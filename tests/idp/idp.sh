# SPDX-License-Identifier: BSD-2-Clause
# tests/idp/idp.sh -- sourced by the pam_portcullis tests after tests/lib.sh:
# a per-run test CA and the test OpenID Provider (op.mjs, oidc-provider
# with the device flow) over HTTPS on 127.0.0.1.
IDP_DIR=$top_srcdir/tests/idp

# pcl_idp_require: skip (77) without node or without `npm ci` done.
pcl_idp_require() {
    command -v node >/dev/null || skip "node not installed"
    command -v curl >/dev/null || skip "curl not installed"
    [ -d "$IDP_DIR/node_modules/oidc-provider" ] ||
        skip "run 'npm ci' in tests/idp first (scripts/build.sh does)"
}

# pcl_mkca DIR: DIR/ca.crt, DIR/server.{crt,key} for 127.0.0.1, and an
# unrelated DIR/wrong-ca.crt; P-256 keys, two days.
pcl_mkca() {
    local d=$1
    mkdir -p "$d"
    (
        cd "$d" || exit 1
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -days 2 -keyout ca.key -out ca.crt -subj "/CN=portcullis test CA" \
            -addext basicConstraints=critical,CA:TRUE \
            -addext keyUsage=critical,keyCertSign,cRLSign &&
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout server.key -out server.csr -subj "/CN=127.0.0.1" &&
        printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > ext &&
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key \
            -CAcreateserial -days 2 -out server.crt -extfile ext &&
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -days 2 -keyout wrong-ca.key -out wrong-ca.crt -subj "/CN=unrelated CA"
    ) > "$d/mkca.log" 2>&1 || fatal "cannot make the test CA: $(tail -3 "$d/mkca.log")"
    chmod 0644 "$d/ca.crt" "$d/wrong-ca.crt"
}

# pcl_idp_start PORT [op.mjs args...]: the IdP on https://127.0.0.1:PORT
# with the CA of $SCRATCH/pki; env OP_* passed through. Sets IDP_PID.
pcl_idp_start() {
    local port=$1
    shift
    pcl_port_free "$port" || fatal "port $port is busy"
    rm -f "$SCRATCH/idp.ready"
    node "$IDP_DIR/op.mjs" --port "$port" --tls-cert "$SCRATCH/pki/server.crt" \
        --tls-key "$SCRATCH/pki/server.key" --ready-file "$SCRATCH/idp.ready" \
        --request-log "$SCRATCH/idp.requests" "$@" >> "$SCRATCH/idp.log" 2>&1 &
    IDP_PID=$!
    PCL_PIDS+=("$IDP_PID")
    pcl_wait_for 20 test -s "$SCRATCH/idp.ready" ||
        fatal "IdP did not start: $(tail -5 "$SCRATCH/idp.log")"
}

# pcl_idp_stop: stops the IdP started last (by its PID).
pcl_idp_stop() {
    local i
    kill -TERM "$IDP_PID" 2>/dev/null
    pcl_wait_for 5 pcl_not_running "$IDP_PID" || kill -KILL "$IDP_PID" 2>/dev/null
    for i in "${!PCL_PIDS[@]}"; do
        [ "${PCL_PIDS[$i]}" = "$IDP_PID" ] && unset 'PCL_PIDS[$i]'
    done
}

# pcl_oidc_files [GROUP]: the ticket key $SCRATCH/etc/ticket.key (root:GROUP
# 0640, as make install lays it out) and the state directory (root 0700).
pcl_oidc_files() {
    head -c 32 /dev/urandom > "$SCRATCH/etc/ticket.key"
    chown root:"${1:-root}" "$SCRATCH/etc/ticket.key"
    chmod 0640 "$SCRATCH/etc/ticket.key"
    install -d -m 0700 "$SCRATCH/state"
}

# pcl_oidc_keys PORT: the [oidc] keys every test shares (IdP on PORT, the
# CA of $SCRATCH/pki, ticket key and state in $SCRATCH), one per line.
pcl_oidc_keys() {
    printf '%s\n' "[oidc]" "issuer = https://127.0.0.1:$1" "client-id = bastion" \
        "ca-file = $SCRATCH/pki/ca.crt" "state-dir = $SCRATCH/state" \
        "ticket-key = $SCRATCH/etc/ticket.key" "login-timeout = 10" "interval = 1"
}

# pcl_start_oidc_bastion [EXTRA_CONFIG_TEXT]: the bastion sshd of
# tests/lib.sh, with a key first and then the device flow: PAM stack
# pam_portcullis (config $SCRATCH/etc/portcullis.conf), loaded through
# pam_wrapper from $SCRATCH/pam.d, so nothing under /etc changes. An
# ASan build of the module gets the ASan runtime loaded first.
pcl_start_oidc_bastion() {
    local module=$top_builddir/pam_module/.libs/pam_portcullis.so
    local pamwrap s asan_lib="" asan_env=":" real=$SSHD
    pamwrap=$(ldconfig -p | awk '/libpam_wrapper.so / { print $NF; exit }')
    [ -n "$pamwrap" ] || skip "libpam_wrapper not installed"
    [ -f "$module" ] || fatal "$module not built"
    if ldd "$module" 2>/dev/null | grep -q libasan; then
        asan_lib="$(gcc -print-file-name=libasan.so) "
        asan_env="PAM_WRAPPER_DISABLE_DEEPBIND=1 ASAN_OPTIONS=detect_leaks=0
export PAM_WRAPPER_DISABLE_DEEPBIND ASAN_OPTIONS"
    fi
    s=/lib/x86_64-linux-gnu/security
    [ -f "$s/pam_permit.so" ] ||
        s=$(dirname "$(find /lib /usr/lib -name pam_permit.so | head -1)")
    mkdir -p "$SCRATCH/pam.d"
    printf '%s\n' \
        "auth     required $module config=$SCRATCH/etc/portcullis.conf" \
        "account  required $s/pam_permit.so" \
        "session  required $s/pam_permit.so" > "$SCRATCH/pam.d/sshd"
    printf '%s\n' '#!/bin/sh' \
        "LD_PRELOAD='$asan_lib$pamwrap' PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$SCRATCH/pam.d" \
        'export LD_PRELOAD PAM_WRAPPER PAM_WRAPPER_SERVICE_DIR' "$asan_env" \
        "exec $real \"\$@\"" > "$SCRATCH/bin/sshd-pamwrap"
    chmod 755 "$SCRATCH/bin/sshd-pamwrap"
    SSHD=$SCRATCH/bin/sshd-pamwrap
    pcl_start_bastion "UsePAM yes
KbdInteractiveAuthentication yes
AuthenticationMethods publickey,keyboard-interactive
${1:-}"
    SSHD=$real
}

# pcl_oidc_login USER MODE APPROVER [COMMAND...]: one ssh login to the
# bastion through the device flow, played by tests/integration/oidc-login.exp
# (MODE approve, deny, none or late; APPROVER logs in at the IdP). Output
# in $OUT, ssh's exit status in $RC.
pcl_oidc_login() {
    local u=$1 mode=$2 who=$3
    shift 3
    # A UTF-8 locale, as a user's terminal has: in the C locale ssh shows
    # the QR code's block characters as octal escapes.
    OUT=$(LC_ALL=C.UTF-8 timeout -k 5 60 expect -f "$top_srcdir/tests/integration/oidc-login.exp" \
        "$IDP_DIR/approve.sh" "$SCRATCH/pki/ca.crt" "$mode" "$who" \
        ssh -F /dev/null -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new \
        -o UserKnownHostsFile="$SCRATCH/known_hosts" -o ConnectTimeout=10 \
        -o NumberOfPasswordPrompts=1 -o LogLevel=ERROR \
        -i "$SCRATCH/client/$u" -p "$BASTION_PORT" -l "$u" 127.0.0.1 "$@" 2>&1)
    RC=$?
}
