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

# pcl_oidc_keys PORT: the [oidc] keys every test shares (IdP on PORT, the
# CA of $SCRATCH/pki, ticket key and state in $SCRATCH), one per line.
pcl_oidc_keys() {
    printf '%s\n' "[oidc]" "issuer = https://127.0.0.1:$1" "client-id = bastion" \
        "ca-file = $SCRATCH/pki/ca.crt" "state-dir = $SCRATCH/state" \
        "ticket-key = $SCRATCH/etc/ticket.key" "login-timeout = 10" "interval = 1"
}
