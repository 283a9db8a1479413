/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "jwtgen.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portcullis/jwt.h"

#define check(c)                                                          \
    do {                                                                  \
        if (!(c)) {                                                       \
            fprintf(stderr, "jwtgen: %s failed\n", #c);                   \
            abort();                                                      \
        }                                                                 \
    } while (0)

char *
jwtgen_b64u(const uint8_t *p, size_t n)
{
    char *s = pcl_b64url_encode(p, n);
    check(s != NULL);
    return s;
}

static char *
bn_param(EVP_PKEY *k, const char *name)
{
    BIGNUM *bn = NULL;
    uint8_t buf[1024];
    int n;

    check(EVP_PKEY_get_bn_param(k, name, &bn) == 1);
    n = BN_bn2bin(bn, buf);
    BN_free(bn);
    return jwtgen_b64u(buf, (size_t)n);
}

/* The public JWK of k, as an IdP would publish it. */
void
jwtgen_jwk(EVP_PKEY *k, const char *kid, char *out, size_t outlen)
{
    if (EVP_PKEY_is_a(k, "RSA")) {
        char *n = bn_param(k, OSSL_PKEY_PARAM_RSA_N);
        char *e = bn_param(k, OSSL_PKEY_PARAM_RSA_E);
        snprintf(out, outlen, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"use\":"
                 "\"sig\",\"n\":\"%s\",\"e\":\"%s\"}", kid, n, e);
        free(n);
        free(e);
    } else if (EVP_PKEY_is_a(k, "EC")) {
        uint8_t pt[65];
        size_t l = 0;
        char *x, *y;
        check(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt,
                                              sizeof(pt), &l) == 1);
        check(l == 65);
        x = jwtgen_b64u(pt + 1, 32);
        y = jwtgen_b64u(pt + 33, 32);
        snprintf(out, outlen, "{\"kty\":\"EC\",\"kid\":\"%s\",\"crv\":"
                 "\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}", kid, x, y);
        free(x);
        free(y);
    } else {
        uint8_t raw[32];
        size_t l = sizeof(raw);
        char *x;
        check(EVP_PKEY_get_raw_public_key(k, raw, &l) == 1);
        x = jwtgen_b64u(raw, l);
        snprintf(out, outlen, "{\"kty\":\"OKP\",\"kid\":\"%s\",\"crv\":"
                 "\"Ed25519\",\"x\":\"%s\"}", kid, x);
        free(x);
    }
}

/* Signs header.payload with k for alg; returns the compact JWS. */
void
jwtgen_input(const char *header, const char *payload, char *out,
             size_t outlen)
{
    char *h = jwtgen_b64u((const uint8_t *)header, strlen(header));
    char *p = jwtgen_b64u((const uint8_t *)payload, strlen(payload));

    snprintf(out, outlen, "%s.%s", h, p);
    free(h);
    free(p);
}

char *
jwtgen_finish(const char *input, const uint8_t *sig, size_t slen)
{
    char *s = jwtgen_b64u(sig, slen);
    char *tok = malloc(strlen(input) + strlen(s) + 2);

    check(tok != NULL);
    sprintf(tok, "%s.%s", input, s);
    free(s);
    return tok;
}

char *
jwtgen_sign(const char *alg, EVP_PKEY *k, const char *header,
            const char *payload)
{
    char input[8192];
    uint8_t sig[1024];
    size_t slen = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;

    jwtgen_input(header, payload, input, sizeof(input));
    check(EVP_DigestSignInit(md, &pctx,
                             strcmp(alg, "EdDSA") == 0 ? NULL : EVP_sha256(),
                             NULL, k) == 1);
    if (strcmp(alg, "PS256") == 0) {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    check(EVP_DigestSign(md, sig, &slen, (uint8_t *)input, strlen(input)) ==
          1);
    EVP_MD_CTX_free(md);
    if (strcmp(alg, "ES256") == 0) {
        /* DER -> JOSE r || s, 32 bytes each */
        const uint8_t *d = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &d, (long)slen);
        uint8_t rs[64];
        check(es != NULL);
        BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 32, 32);
        ECDSA_SIG_free(es);
        memcpy(sig, rs, 64);
        slen = 64;
    }
    return jwtgen_finish(input, sig, slen);
}

