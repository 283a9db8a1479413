#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Installs what portcullis needs to build, test and run its demo on Debian 12.
# Run as root. Installing openssh-server must not start a system sshd: a
# temporary policy-rc.d forbids service starts during the install (only
# when none exists already), and is removed afterwards.
set -euo pipefail

PACKAGES=(
    build-essential autoconf automake libtool pkg-config
    libssh-dev libssl-dev libcurl4-openssl-dev libjson-c-dev libpam0g-dev
    libaudit-dev libinih-dev libpcre2-dev libcmocka-dev
    openssh-server openssh-client
    mandoc rsync expect jq python3 procps passwd coreutils
    asciinema util-linux libsqlite3-dev
    libcap-ng-dev libcap2-bin auditd
    libvterm-dev tmux chromium
    libpam-wrapper libpamtest0-dev curl openssl libqrencode-dev zbar-tools
)
# The test IdP of pam_portcullis runs on node; a node installed otherwise
# (NodeSource's nodejs carries its own npm and conflicts with Debian's)
# is used as it is.
command -v node >/dev/null || PACKAGES+=(nodejs)
command -v npm >/dev/null || PACKAGES+=(npm)
# Hardening (issue 9): GNU time for bench/load.sh, valgrind for
# tests/integration/valgrind.sh, clang for configure --enable-fuzzers.
PACKAGES+=(time valgrind clang)

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: run as root (apt-get install)" >&2
    exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#PACKAGES[@]} packages present"
    exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    made_policy=1
fi
cleanup() { [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d; }
trap cleanup EXIT
apt-get update -q
apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}"
