/* SPDX-License-Identifier: BSD-2-Clause */
/* ID token validation: a JWKS (RFC 7517) parsed into OpenSSL public keys,
 * JWS compact signatures (RFC 7515) checked against an algorithm
 * allow-list (RFC 7518 3, RFC 8037), and the ID token claims of OpenID
 * Connect Core 1.0 section 3.1.3.7 read with json-c. */
#ifndef PCL_JWT_H
#define PCL_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Signature algorithms (a bit mask). There is deliberately no constant for
 * "none" or for HS256/384/512: a public-key verifier never accepts them. */
#define PCL_JWT_RS256 0x01u /* RSASSA-PKCS1-v1_5 SHA-256 (RFC 7518 3.3) */
#define PCL_JWT_PS256 0x02u /* RSASSA-PSS SHA-256 (RFC 7518 3.5) */
#define PCL_JWT_ES256 0x04u /* ECDSA P-256 SHA-256, raw r||s (RFC 7518 3.4) */
#define PCL_JWT_EDDSA 0x08u /* Ed25519 (RFC 8037 3.1) */
#define PCL_JWT_ALGS_DEFAULT "RS256, PS256, ES256, EdDSA"

#define PCL_JWT_MAX_TOKEN 16384 /* bytes of a compact JWS we accept */

struct pcl_jwks;
struct pcl_jwt;

/* What an ID token must satisfy; strings borrowed for the call. */
struct pcl_jwt_rules {
    const char *issuer;    /* "iss" must equal it exactly */
    const char *client_id; /* "aud" must contain it; "azp" if present */
    unsigned algs;         /* PCL_JWT_* mask */
    unsigned leeway_s;     /* clock skew allowed on exp/nbf/iat, seconds */
    unsigned max_age_s;    /* now - iat at most this (0: no limit), s */
    time_t now;            /* the time to judge by (time(NULL)) */
};

/*
 * Parses a comma list of algorithm names ("RS256, ES256") into *mask.
 * Returns 0, or PCL_ERR_CONFIG with why naming the offending word ("none"
 * and HS* are refused by name).
 */
int pcl_jwt_parse_algs(const char *list, unsigned *mask, char *why,
                       size_t whylen);

/*
 * Parses a JWKS document (len bytes of JSON). Keys that are not signature
 * keys of a supported type (RSA >= 2048 bits, EC P-256, OKP Ed25519) are
 * skipped; symmetric ("oct") keys always are. Returns 0 with *out owned by
 * the caller (pcl_jwks_free), PCL_ERR_SYNTAX when the document is not a
 * JWKS or holds no usable key (why says which), PCL_ERR_NOMEM.
 */
int pcl_jwks_parse(const char *json, size_t len, struct pcl_jwks **out,
                   char *why, size_t whylen);

/* Frees a key set; NULL is a no-op. */
void pcl_jwks_free(struct pcl_jwks *k);

/* Number of usable keys in the set. */
size_t pcl_jwks_count(const struct pcl_jwks *k);

/*
 * Verifies a compact JWS ID token against keys and rules: alg in the
 * allow-list, key chosen by "kid" (or the only key of its type when there
 * is no kid) and agreeing with alg, signature, then iss, aud/azp, exp, nbf,
 * iat, sub. Returns 0 with *out (owned, pcl_jwt_free) holding the claims;
 * PCL_ERR_NOTFOUND when no key has the token's kid (the caller may fetch
 * the JWKS again, once); PCL_ERR_CRYPTO for a bad signature; PCL_ERR_SYNTAX
 * for a malformed token or a refused algorithm; PCL_ERR_DENIED for a claim
 * that fails; PCL_ERR_NOMEM. why (no token bytes in it) says why.
 */
int pcl_jwt_verify(const char *token, const struct pcl_jwks *keys,
                   const struct pcl_jwt_rules *rules, struct pcl_jwt **out,
                   char *why, size_t whylen);

/* Frees verified claims; NULL is a no-op. */
void pcl_jwt_free(struct pcl_jwt *t);

/* The string claim name, or NULL when absent or not a string; borrowed
 * from t. */
const char *pcl_jwt_claim_str(const struct pcl_jwt *t, const char *name);

/* The numeric claim name in *out; returns 0 or PCL_ERR_NOTFOUND. */
int pcl_jwt_claim_int(const struct pcl_jwt *t, const char *name,
                      int64_t *out);

/* The boolean claim name in *out; returns 0 or PCL_ERR_NOTFOUND (absent or
 * not a JSON boolean). */
int pcl_jwt_claim_bool(const struct pcl_jwt *t, const char *name, bool *out);

/*
 * Calls fn for each string of claim name, which may be one string or an
 * array of strings (non-strings are skipped). Returns the number of
 * strings passed, or the first non-zero return of fn when negative.
 */
int pcl_jwt_claim_foreach(const struct pcl_jwt *t, const char *name,
                          int (*fn)(const char *value, void *ctx),
                          void *ctx);

/*
 * base64url without padding (RFC 4648 5, RFC 7515 2). Encode: a new
 * NUL-terminated string the caller frees, or NULL when out of memory.
 * Decode: rejects any byte outside the alphabet and impossible lengths;
 * returns 0 with *out (len bytes, plus a NUL) owned by the caller, or
 * PCL_ERR_SYNTAX / PCL_ERR_NOMEM.
 */
char *pcl_b64url_encode(const uint8_t *in, size_t len);
int pcl_b64url_decode(const char *in, size_t inlen, uint8_t **out,
                      size_t *len);

#endif /* PCL_JWT_H */
