#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Plays the person at the browser in a device flow against the test IdP's
# development pages, with curl and a cookie jar: enter the user code,
# confirm, log in as LOGIN (any password), consent.
# usage: approve.sh CA_FILE VERIFICATION_URI USER_CODE LOGIN [deny]
# Exit 0 once the IdP shows "Sign-in Success" (or, with deny, the abort).
set -euo pipefail
CA=$1 URI=$2 CODE=$3 LOGIN=$4 MODE=${5:-approve}
jar=$(mktemp) page=$(mktemp)
trap 'rm -f "$jar" "$page"' EXIT
# Never -X POST with -L: curl must turn a 303 into a GET as browsers do.
web() { curl -sS --fail-with-body --max-time 10 --cacert "$CA" -b "$jar" -c "$jar" -L -o "$page" "$@"; }
field() { sed -n "s/.*name=\"$1\" value=\"\([^\"]*\)\".*/\1/p" "$page" | head -1; }
action() { sed -n 's/.*<form[^>]*action="\([^"]*\)".*/\1/p' "$page" | head -1; }
origin=${URI%%/device*}
abs() { case $1 in /*) echo "$origin$1" ;; *) echo "$1" ;; esac; }

web "$URI"
xsrf=$(field xsrf)
web "$(abs "$(action)")" --data-urlencode "xsrf=$xsrf" --data-urlencode "user_code=$CODE"
grep -q 'op.deviceConfirmForm' "$page" || { echo "approve: code not accepted" >&2; exit 1; }
if [ "$MODE" = deny ]; then
    web "$(abs "$(action)")" --data-urlencode "xsrf=$xsrf" --data-urlencode "user_code=$CODE" -d abort=yes
    exit 0
fi
web "$(abs "$(action)")" --data-urlencode "xsrf=$xsrf" --data-urlencode "user_code=$CODE" -d confirm=yes
for _ in 1 2 3 4; do
    grep -q 'Sign-in Success' "$page" && exit 0
    act=$(abs "$(action)")
    case $(field prompt) in
    login) web "$act" -d prompt=login --data-urlencode "login=$LOGIN" -d password=x ;;
    consent) web "$act" -d prompt=consent ;;
    *) echo "approve: unexpected page" >&2; exit 1 ;;
    esac
done
echo "approve: no success page" >&2
exit 1
