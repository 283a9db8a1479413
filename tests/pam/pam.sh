#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# pam_portcullis under pam_wrapper + libpamtest: service files in the
# scratch directory (nothing under /etc), the real test IdP over HTTPS,
# and tests/pam/test_pam driving the PAM conversation.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/idp/idp.sh"

[ "$(id -u)" = 0 ] || skip "needs root (test users)"
pcl_require_cmd openssl
pcl_idp_require
PAMWRAP=$(ldconfig -p | awk '/libpam_wrapper.so / { print $NF; exit }')
[ -n "$PAMWRAP" ] || skip "libpam_wrapper not installed"
# An ASan build of the module needs the ASan runtime loaded first.
ASAN_LIB= ASAN_ENV=()
if ldd "$top_builddir/pam_module/.libs/pam_portcullis.so" 2>/dev/null | grep -q libasan; then
    ASAN_LIB="$(gcc -print-file-name=libasan.so) "
    ASAN_ENV=(PAM_WRAPPER_DISABLE_DEEPBIND=1)
fi
MODULE=$top_builddir/pam_module/.libs/pam_portcullis.so
TEST=$top_builddir/tests/pam/test_pam
[ -f "$MODULE" ] && [ -x "$TEST" ] || fatal "module or test_pam not built"
IDP_PORT=22310

pcl_scratch
pcl_create_users
pcl_mkca "$SCRATCH/pki"
pcl_oidc_files
: > "$SCRATCH/log/audit.json"
chmod 0640 "$SCRATCH/log/audit.json"
for c in ok bad; do
    cat > "$SCRATCH/etc/$c.conf" <<EOF_CONF
[audit]
json-log = $SCRATCH/log/audit.json
syslog = no
kernel = no
$(pcl_oidc_keys "$IDP_PORT")
qr = yes
EOF_CONF
done
# A typo: the whole file is refused, and so is every sign-in.
echo "client-idd = bastion" >> "$SCRATCH/etc/bad.conf"
chmod 0644 "$SCRATCH/etc/"*.conf
mkdir -p "$SCRATCH/pam.d"
for c in ok bad; do
    echo "auth required $MODULE config=$SCRATCH/etc/$c.conf" > "$SCRATCH/pam.d/pcl-$c"
done
echo "auth required $MODULE config=$SCRATCH/etc/ok.conf" > "$SCRATCH/pam.d/other"

# USER_B's IdP groups hold a name no policy entry can spell exactly
# (blank): the sign-in is refused rather than the group left out.
OP_GROUPS="{\"$USER_A\":[\"dba\",\"ops\"],\"$USER_B\":[\"dba\",\"ext contractors\"]}" \
    pcl_idp_start "$IDP_PORT"

trace "the module under pam_wrapper (libpamtest)"
env "${ASAN_ENV[@]}" LD_PRELOAD="$ASAN_LIB$PAMWRAP" PAM_WRAPPER=1 \
    PAM_WRAPPER_SERVICE_DIR=$SCRATCH/pam.d \
    PCL_T_USER=$USER_A PCL_T_USER_B=$USER_B PCL_T_CA=$SCRATCH/pki/ca.crt \
    PCL_T_APPROVE=$top_srcdir/tests/idp/approve.sh \
    PCL_T_KEY=$SCRATCH/etc/ticket.key PCL_T_REQLOG=$SCRATCH/idp.requests \
    "$TEST" > "$SCRATCH/test_pam.out" 2>&1
rc=$?
cat "$SCRATCH/test_pam.out"
expect_eq "test_pam" 0 "$rc"

trace "the configuration error names its file:line (the loader the module uses)"
expect_match "portcullis -t" "bad.conf:14: unknown key \"client-idd\" in \[oidc\]" \
    "$("$top_builddir/sshproxy/portcullis" -t -f "$SCRATCH/etc/bad.conf" 2>&1)"

pcl_finish
