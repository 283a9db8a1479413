#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Configures (once) and builds portcullis in the source tree.
# CONFIGURE_FLAGS adds options, e.g. CONFIGURE_FLAGS=--enable-sanitizers.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
    ./autogen.sh
fi
if [ ! -f Makefile ] || [ configure -nt Makefile ] || [ "${RECONFIGURE:-0}" = 1 ]; then
    # shellcheck disable=SC2086
    ./configure --enable-werror ${CONFIGURE_FLAGS:-}
fi
make -j"$(nproc)"
# The test IdP of the pam_portcullis tests (oidc-provider), exactly as
# locked; its tests skip without it.
if command -v npm >/dev/null; then
    (cd tests/idp && npm ci --no-audit --no-fund --loglevel=error)
fi
