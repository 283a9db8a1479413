/* SPDX-License-Identifier: BSD-2-Clause */
/* Test and bench helper: publishes an OpenSSL key as a JWK and signs
 * compact JWS tokens with it, as an IdP would (RS256, PS256, ES256 as raw
 * r||s, EdDSA). Aborts on any OpenSSL failure: test code only. */
#ifndef PCL_TEST_JWTGEN_H
#define PCL_TEST_JWTGEN_H

#include <openssl/evp.h>
#include <stddef.h>

/* The public JWK of k with kid, into out (outlen bytes). */
void jwtgen_jwk(EVP_PKEY *k, const char *kid, char *out, size_t outlen);

/* header.payload signed with k for alg ("RS256", "PS256", "ES256",
 * "EdDSA"); a malloc'ed compact JWS. */
char *jwtgen_sign(const char *alg, EVP_PKEY *k, const char *header,
                  const char *payload);

/* "b64url(header).b64url(payload)", the JWS signing input, into out. */
void jwtgen_input(const char *header, const char *payload, char *out,
                  size_t outlen);

/* "input.b64url(sig)": the compact JWS, malloc'ed. */
char *jwtgen_finish(const char *input, const unsigned char *sig,
                    size_t slen);

/* base64url of n bytes; malloc'ed. */
char *jwtgen_b64u(const unsigned char *p, size_t n);

#endif /* PCL_TEST_JWTGEN_H */
