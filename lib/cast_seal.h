/* SPDX-License-Identifier: BSD-2-Clause */
/* Seal keys of the asciicast writer (internal to lib/cast*.c): an HMAC-SHA256
 * key (any bytes), or an Ed25519 key in PEM (private to seal, public to
 * verify), told apart by the key file's content (portcullis-cast(5)). */
#ifndef PCL_CAST_SEAL_H
#define PCL_CAST_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCL_CAST_ALG_HMAC "HMAC-SHA256"
#define PCL_CAST_ALG_ED25519 "Ed25519"
/* Room for a seal value: 64 hex digits (HMAC) or 88 base64 (Ed25519). */
#define PCL_CAST_SEAL_VALUE_MAX 96

struct pcl_cast_seal_key;

/*
 * Parses len bytes of key file: a file that begins with "-----BEGIN " is
 * a PEM private key (PKCS#8, "PRIVATE KEY") or public key ("PUBLIC KEY",
 * verification only) that must be Ed25519; anything else is an HMAC-SHA256
 * key made of all its bytes (copied into locked memory). Returns 0 with
 * *out owned by the caller (pcl_cast_seal_key_free), PCL_ERR_INVAL with
 * why filled (a PEM that does not parse or is not Ed25519, an empty key;
 * never key material in why) or PCL_ERR_NOMEM.
 */
int pcl_cast_seal_key_parse(const uint8_t *buf, size_t len,
                            struct pcl_cast_seal_key **out, char *why,
                            size_t whylen);

/* Wipes and frees k; NULL is a no-op. */
void pcl_cast_seal_key_free(struct pcl_cast_seal_key *k);

/* "HMAC-SHA256" or "Ed25519" (static strings). */
const char *pcl_cast_seal_key_alg(const struct pcl_cast_seal_key *k);

/* The JSON field of the seal value: "mac" (HMAC) or "sig" (Ed25519). */
const char *pcl_cast_seal_key_field(const struct pcl_cast_seal_key *k);

/* The key id (pcl_cast_key_id): "sha256:" and 16 hex digits of SHA-256 of
 * the HMAC key, or of the 32-byte raw Ed25519 public key. Borrowed. */
const char *pcl_cast_seal_key_id(const struct pcl_cast_seal_key *k);

/* True when k can seal (HMAC, or an Ed25519 private key). */
bool pcl_cast_seal_key_can_sign(const struct pcl_cast_seal_key *k);

/*
 * Seals msg (len bytes): the lowercase hex HMAC-SHA256, or the base64
 * (RFC 4648 section 4, padded) Ed25519 signature (RFC 8032), into out
 * (PCL_CAST_SEAL_VALUE_MAX bytes, NUL-terminated). Returns 0, PCL_ERR_INVAL
 * (a public key) or PCL_ERR_CRYPTO.
 */
int pcl_cast_seal_key_sign(const struct pcl_cast_seal_key *k,
                           const char *msg, size_t len,
                           char out[PCL_CAST_SEAL_VALUE_MAX]);

/* Checks a seal value made by pcl_cast_seal_key_sign. Returns true when it
 * is valid for msg (constant time for the HMAC). */
bool pcl_cast_seal_key_check(const struct pcl_cast_seal_key *k,
                             const char *msg, size_t len,
                             const char *value);

/* Writes n bytes as 2n lower-case hexadecimal digits and a NUL into out
 * (2n + 1 bytes). */
void pcl_cast_hex(const uint8_t *b, size_t n, char *out);

#endif /* PCL_CAST_SEAL_H */
