#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# portcullis-rec: the recorder around a local command, with a terminal
# (script gives it one) and without; the recording is sealed, parsed by
# Debian's asciinema, and carries the exit status or signal.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

pcl_require_cmd script jq asciinema
REC_BIN=$top_builddir/recorder/portcullis-rec
CASTVERIFY=$top_builddir/tests/tools/castverify
[ -x "$REC_BIN" ] || skip "recorder/portcullis-rec not built"
[ -x "$CASTVERIFY" ] || skip "tests/tools/castverify not built"
pcl_scratch
KEY=$SCRATCH/etc/seal.key
head -c 32 /dev/urandom > "$KEY"
chmod 0600 "$KEY"
T=$SCRATCH/t
mkdir -p "$T"

events() {
    grep -v '^#' "$1" | tail -n +2 | jq -j --arg c "$2" 'select(.[1] == $c) | .[2]'
}

trace "a command on a terminal: output recorded, exit status kept, sealed"
script -qec "$REC_BIN -o $T/a.cast -k $KEY -- sh -c 'echo hello from rec; exit 4'" /dev/null \
    < /dev/null > "$T/a.out" 2>&1
expect_eq "exit status" 4 "$?"
expect_match "the user saw the output" 'hello from rec' "$(cat "$T/a.out")"
expect_match "recorded output" 'hello from rec' "$(events "$T/a.cast" o)"
expect_match "exit marker" 'exit:4' "$(events "$T/a.cast" m)"
expect_eq "seal" valid "$("$CASTVERIFY" "$T/a.cast" "$KEY" | cut -d' ' -f1)"
pcl_asciinema_ok "$T/a.cast" || fail "asciinema cat refuses $T/a.cast"

trace "piped input reaches the command; built-in masking applies"
printf 'token AKIAIOSFODNN7EXAMPLE\n' | "$REC_BIN" -o "$T/b.cast" -k "$KEY" -- head -n 1 > "$T/b.out"
expect_eq "exit status" 0 "$?"
expect_match "the user saw it raw" 'AKIAIOSFODNN7EXAMPLE' "$(cat "$T/b.out")"
expect_nomatch "the recording did not keep it" 'AKIAIOSFODNN7EXAMPLE' "$(cat "$T/b.cast")"
expect_eq "seal" valid "$("$CASTVERIFY" "$T/b.cast" "$KEY" | cut -d' ' -f1)"

trace "death by signal: 128+N and an exit-signal marker"
script -qec "$REC_BIN -o $T/c.cast -k $KEY -- sh -c 'kill -TERM \$\$'" /dev/null < /dev/null > /dev/null 2>&1
rc=$?
expect_match "exit status 143 (script reports the signal its child died of)" '^(143|15)$' "$rc"
expect_match "signal marker" 'exit-signal:TERM' "$(events "$T/c.cast" m)"

trace "asciicast v3 on request: x event, seal in a comment line"
script -qec "$REC_BIN -F asciicast-v3 -o $T/d.cast -k $KEY -- sh -c 'echo v3; exit 2'" /dev/null < /dev/null > /dev/null 2>&1
expect_eq "exit status" 2 "$?"
expect_eq "version" 3 "$(head -n 1 "$T/d.cast" | jq .version)"
expect_eq "x event" 2 "$(events "$T/d.cast" x)"
expect_match "seal comment" '^# \{"portcullis-seal"' "$(tail -n 1 "$T/d.cast")"
expect_eq "seal" valid "$("$CASTVERIFY" "$T/d.cast" "$KEY" | cut -d' ' -f1)"

# seal_message SEAL_JSON: the nine lines the MAC or signature covers, as
# portcullis-cast(5) builds them by hand.
seal_message() {
    jq -r '"portcullis-seal", 1, .key_id, .file, .lines, .bytes, .chain, .start, .end' "$1"
}

trace "HMAC seal checked by hand with openssl, as portcullis-cast(5) shows"
mac=$(seal_message "$T/a.cast.seal" | openssl dgst -sha256 -mac HMAC \
    -macopt hexkey:"$(od -An -v -tx1 "$KEY" | tr -d ' \n')" | sed 's/^.*= //')
expect_eq "mac" "$(jq -r .mac "$T/a.cast.seal")" "$mac"
expect_eq "key id" "$(jq -r .key_id "$T/a.cast.seal")" "sha256:$(sha256sum "$KEY" | cut -c 1-16)"

trace "Ed25519 seal key: signed seal, checked with the public key alone"
ED=$SCRATCH/etc/seal-ed25519.pem
openssl genpkey -algorithm ed25519 -out "$ED" 2>/dev/null
chmod 0600 "$ED"
openssl pkey -in "$ED" -pubout -out "$T/seal.pub"
script -qec "$REC_BIN -o $T/f.cast -k $ED -- sh -c 'echo signed; exit 0'" /dev/null < /dev/null > /dev/null 2>&1
expect_eq "exit status" 0 "$?"
expect_eq "alg" Ed25519 "$(jq -r .alg "$T/f.cast.seal")"
expect_eq "no mac" null "$(jq -r .mac "$T/f.cast.seal")"
expect_eq "seal with the public key" valid "$("$CASTVERIFY" "$T/f.cast" "$T/seal.pub" | cut -d' ' -f1)"
expect_eq "seal with the private key" valid "$("$CASTVERIFY" "$T/f.cast" "$ED" | cut -d' ' -f1)"
expect_eq "the HMAC key does not fit" key-unknown "$("$CASTVERIFY" "$T/f.cast" "$KEY" | cut -d' ' -f1)"
kid=$(openssl pkey -pubin -in "$T/seal.pub" -outform DER | tail -c 32 | sha256sum | cut -c 1-16)
expect_eq "key id by hand" "$(jq -r .key_id "$T/f.cast.seal")" "sha256:$kid"
seal_message "$T/f.cast.seal" > "$T/message"
jq -r .sig "$T/f.cast.seal" | base64 -d > "$T/signature"
expect_match "openssl verifies the signature" 'Signature Verified Successfully' \
    "$(openssl pkeyutl -verify -pubin -inkey "$T/seal.pub" -rawin -in "$T/message" -sigfile "$T/signature" 2>&1)"
sed -i 's/signed/SIGNED/' "$T/f.cast"
expect_eq "an edit is caught" tampered "$("$CASTVERIFY" "$T/f.cast" "$T/seal.pub" | cut -d' ' -f1)"
script -qec "$REC_BIN -F asciicast-v3 -o $T/g.cast -k $ED -- sh -c 'echo v3 signed'" /dev/null < /dev/null > /dev/null 2>&1
expect_eq "v3 seal with the public key" valid "$("$CASTVERIFY" "$T/g.cast" "$T/seal.pub" | cut -d' ' -f1)"

trace "an encrypted Ed25519 key is refused, no passphrase is asked for"
ENC=$SCRATCH/etc/seal-enc.pem
openssl genpkey -algorithm ed25519 -aes-256-cbc -pass pass:secret-pass -out "$ENC" 2>/dev/null
chmod 0600 "$ENC"
timeout -k 2 20 script -qec "$REC_BIN -o $T/i.cast -k $ENC -- true" /dev/null < /dev/null > "$T/i.out" 2>&1
expect_eq "exit status" 70 "$?"
expect_match "message" 'unencrypted' "$(cat "$T/i.out")"
expect_nomatch "no passphrase prompt" '[Pp]ass ?phrase' "$(cat "$T/i.out")"

trace "a PEM seal key that is not Ed25519 is refused"
EC=$SCRATCH/etc/seal-ec.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$EC" 2>/dev/null
chmod 0600 "$EC"
"$REC_BIN" -o "$T/h.cast" -k "$EC" -- true 2> "$T/h.err"
expect_eq "exit status" 70 "$?"
expect_match "message" 'Ed25519' "$(cat "$T/h.err")"

trace "an existing file is never overwritten"
"$REC_BIN" -o "$T/a.cast" -k "$KEY" -- true 2> "$T/e.err"
expect_eq "exit status" 70 "$?"
expect_match "message" 'File exists' "$(cat "$T/e.err")"

pcl_finish
