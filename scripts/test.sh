#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The whole test suite, from a fresh Debian 12 machine (as root): installs
# the packages, builds with -Werror, runs `make check` (unit tests, man page
# lint, integration tests against real sshd and ssh on 127.0.0.1), `make
# distcheck`, and the suite again built with ASan + UBSan, then prints one
# line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh || exit 1
./scripts/build.sh || exit 1

status=0
make -j2 check || status=1
# Every test's result line, for the summary and for whoever reads the log.
pass=0; fail=0; skip=0
for trs in $(find tests -name '*.trs' | sort); do
    res=$(sed -n 's/^:test-result: //p' "$trs" | head -1)
    case "$res" in
    PASS|XFAIL) pass=$((pass + 1)) ;;
    SKIP) skip=$((skip + 1)) ;;
    *) fail=$((fail + 1)); echo "FAILED: ${trs%.trs}"; cat "${trs%.trs}.log" 2>/dev/null | tail -40 ;;
    esac
done

if [ "${SKIP_DISTCHECK:-0}" != 1 ]; then
    # distcheck builds from the tarball in a read-only source tree and runs
    # the whole check there again: it proves the tarball is complete.
    if make distcheck >distcheck.log 2>&1; then
        pass=$((pass + 1)); echo "PASS: make distcheck"
    else
        fail=$((fail + 1)); status=1; echo "FAIL: make distcheck"; tail -40 distcheck.log
    fi
fi

if [ "${SKIP_SANITIZERS:-0}" != 1 ]; then
    # The same suite once more with ASan + UBSan, built from the tarball
    # that distcheck made (a clean tree of its own); the integration tests
    # then run the sanitized proxy set-id under the real sshd.
    san=$(mktemp -d /tmp/portcullis-asan.XXXXXX)
    if tar -xzf portcullis-*.tar.gz -C "$san" --strip-components=1 &&
        (cd "$san" && ./configure --enable-sanitizers --enable-werror \
            --disable-install-privileges && make -j"$(nproc)" &&
            { ! command -v npm >/dev/null ||
              (cd tests/idp && npm ci --no-audit --no-fund --loglevel=error); } &&
            make -j2 check) >sanitizers.log 2>&1; then
        pass=$((pass + 1)); echo "PASS: make check with ASan + UBSan"
    else
        fail=$((fail + 1)); status=1
        echo "FAIL: make check with ASan + UBSan"; tail -60 sanitizers.log
        cat "$san"/tests/*/*.log 2>/dev/null | grep -E -A20 'ERROR: AddressSanitizer|runtime error' | head -60
    fi
    rm -rf "$san"
fi

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$status" -eq 0 ]
