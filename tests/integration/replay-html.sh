#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# portcullis-replay export --html: one self-contained file that plays in
# headless Chromium with the network refused and shows the recorded text;
# a header value that tries to close the script element stays text.
# Skips (77) without Chromium, node, or a build with the HTML export.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

pcl_require_cmd node jq
REPLAY=$top_builddir/replay/portcullis-replay
PLAYER=$top_builddir/replay/player/node_modules/asciinema-player/dist/bundle
[ -x "$REPLAY" ] || skip "replay/portcullis-replay not built"
[ -x /usr/bin/chromium ] || skip "Chromium not installed (Debian package chromium)"
[ -f "$PLAYER/asciinema-player.min.js" ] || skip "built with --disable-html-export"
[ -d "$top_builddir/replay/player/node_modules/playwright-core" ] ||
    skip "playwright-core not in replay/player/node_modules"
node -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' ||
    skip "playwright-core needs node 18 or later"
pcl_scratch
T=$SCRATCH/t
mkdir -p "$T"

cat > "$T/a.cast" <<'CAST'
{"version": 2, "width": 80, "height": 24, "portcullis": {"session_id": "0123456789abcdef0123456789abcdef", "user": "alice</script><script>window.pwned=1</script>", "target": "db01 <b>&amp;"}}
[0.1, "o", "$ psql\r\n"]
[0.4, "o", "\u001b[1;31mDROP\u001b[0m TABLE users;\r\n"]
[0.5, "m", "masked"]
[0.8, "o", "</script><!-- ERROR:  permission denied\r\n"]
CAST

trace "export --html writes one file that needs nothing else"
"$REPLAY" export --html --player-dir "$PLAYER" -o "$T/a.html" "$T/a.cast"
expect_eq "exit status" 0 "$?"
expect_nomatch "no remote resources" '(src|href)="https?:' "$(cat "$T/a.html")"
expect_eq "the recording cannot close the script element" 0 \
    "$(grep -c '</script><script>window.pwned' "$T/a.html")"

trace "an existing output file is not overwritten"
"$REPLAY" export --html --player-dir "$PLAYER" -o "$T/a.html" "$T/a.cast" 2> "$T/err"
expect_eq "exit status" 4 "$?"
expect_match "message" 'File exists' "$(cat "$T/err")"

trace "headless Chromium, network refused, plays it and shows the recorded text"
out=$(cd "$T" && NODE_PATH=$top_builddir/replay/player/node_modules \
    timeout 60 node "$top_srcdir/tests/tools/view-html.mjs" "$T/a.html" 2> "$T/node.err")
[ -n "$out" ] || fatal "the browser check gave nothing: $(tail -5 "$T/node.err")"
# The player draws styled runs as elements of their own: innerText may
# break lines between them.
text=$(jq -r .text <<< "$out" | tr -s ' \n' ' ')
expect_match "recorded text on the terminal" 'DROP TABLE users;' "$text"
expect_match "markup in the recording shown as text" '</script><!-- ERROR: permission denied' "$text"
expect_eq "no request left the page" "[]" "$(jq -c .refused <<< "$out")"
expect_eq "no page errors" "[]" "$(jq -c .errors <<< "$out")"
expect_match "header facts shown as text" 'alice</script><script>window.pwned=1</script>' "$(jq -r .facts <<< "$out")"
expect_eq "only the two script elements" 2 "$(jq .scripts <<< "$out")"

pcl_finish
