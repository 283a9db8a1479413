#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Man pages: `mandoc -Tlint` (style level, STYLE.md section 10) on every
# built page must say nothing except the two notes sudo's check_man
# filters out (a referenced manual that is not installed, and an explicit
# operating system).  Then every key of portcullis.conf that the proxy
# knows (`portcullis -T` dumps them all) must be documented in
# portcullis.conf(5).
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${MANDOC:=$(command -v mandoc 2>/dev/null || true)}"
: "${PCL_PROXY:=$top_builddir/sshproxy/portcullis}"
failed=0
n=0

trace() {
    n=$((n + 1))
    printf 'check-man: %d. %s\n' "$n" "$*"
}
fail() {
    failed=$((failed + 1))
    printf 'check-man: FAIL check %d: %s\n' "$n" "$*" >&2
}

[ -n "$MANDOC" ] && command -v "$MANDOC" >/dev/null 2>&1 ||
    { echo "check-man: SKIP: mandoc not installed"; exit 77; }

shopt -s nullglob
pages=("$top_builddir"/man/*.[158])
shopt -u nullglob
[ "${#pages[@]}" -gt 0 ] ||
    { echo "check-man: FAIL: no built man pages in $top_builddir/man" >&2; exit 1; }

# Cross references are looked up in an empty manual path, so the result
# does not depend on which manuals (and which mandoc.db) the machine has:
# every .Xr is then "referenced manual not found", filtered like sudo does.
emptyman=$(mktemp -d /tmp/pcl-check-man.XXXXXX)
trap 'rm -rf "$emptyman"' EXIT
for page in "${pages[@]}"; do
    trace "mandoc -Tlint ${page#"$top_builddir"/}"
    msgs=$(MANPATH=$emptyman "$MANDOC" -Tlint -W style "$page" 2>&1 |
        grep -Ev 'STYLE: (referenced manual not found|operating system explicitly specified)')
    if [ -n "$msgs" ]; then
        fail "mandoc -Tlint reports:
$(printf '%s\n' "$msgs" | sed 's/^/    /')"
    fi
done

trace "every portcullis.conf key (portcullis -T) is documented in portcullis.conf(5)"
conf5=$top_builddir/man/portcullis.conf.5
if [ ! -f "$conf5" ]; then
    fail "$conf5 not built"
elif [ ! -x "$PCL_PROXY" ]; then
    fail "$PCL_PROXY not built"
else
    # A minimal valid pair of files: -T needs a config that passes -t.
    tmp=$emptyman/conf
    mkdir "$tmp"
    mkdir -m 0750 "$tmp/keys"
    mkdir -m 0700 "$tmp/sessions"
    head -c 32 /dev/urandom > "$tmp/seal.key"
    chmod 0600 "$tmp/seal.key"
    printf '[proxy]\npolicy = %s\ncredentials = %s\n[recording]\ndirectory = %s\nseal-key = %s\n[audit]\njson-log = \n[vault]\nbackend = keys\n' \
        "$tmp/policy.conf" "$tmp/keys" "$tmp/sessions" "$tmp/seal.key" > "$tmp/portcullis.conf"
    printf '# no targets\n' > "$tmp/policy.conf"
    chmod 0644 "$tmp/portcullis.conf" "$tmp/policy.conf"
    dump=$("$PCL_PROXY" -T -f "$tmp/portcullis.conf" 2>&1)
    rc=$?
    if [ "$rc" != 0 ] || [ -z "$dump" ]; then
        fail "portcullis -T exited $rc:
$(printf '%s\n' "$dump" | sed 's/^/    /')"
    fi
    # Each "section.key = value": the key must head a list item of the page
    # (.It ... key ...) and its section must be named in the page.
    while IFS= read -r l; do
        case $l in
        *.*' = '*) ;;
        *) continue ;;
        esac
        sk=${l%% = *}
        section=${sk%%.*}
        key=${sk#*.}
        grep -Eq "^\.It(.*[^a-z-])?$key([^a-z-]|\$)" "$conf5" ||
            fail "key '$key' ([${section}]) is not an .It item of portcullis.conf.5"
        grep -Fq "$section" "$conf5" ||
            fail "section [$section] is not named in portcullis.conf.5"
    done <<< "$dump"
fi

# The SEE ALSO web: every page of the project names every other one.
for page in "${pages[@]}"; do
    self=$(basename "$page")
    trace "SEE ALSO of $self names every other portcullis page"
    see=$(sed -n '/^\.Sh SEE ALSO/,/^\.Sh /p' "$page")
    for other in "${pages[@]}"; do
        o=$(basename "$other")
        [ "$o" = "$self" ] && continue
        grep -Eq "^\.Xr ${o%.*} ${o##*.}( |\$)" <<< "$see" ||
            fail "SEE ALSO of $self does not name ${o%.*}(${o##*.})"
    done
done

if [ "$failed" -gt 0 ]; then
    echo "check-man: $failed failure(s) in $n checks" >&2
    exit 1
fi
echo "check-man: $n checks passed"
exit 0
