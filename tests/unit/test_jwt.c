/* SPDX-License-Identifier: BSD-2-Clause */
/* ID token validator vectors: keys made here with OpenSSL, tokens signed
 * here (RS256, PS256, ES256 as raw r||s, EdDSA), and every refusal the
 * validator owes: expired, nbf in the future, wrong iss, wrong aud, aud
 * arrays with and without azp, unknown kid, bad signature, alg none,
 * HS256 keyed with the public key, a foreign key, malformed input. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "portcullis/err.h"
#include "portcullis/jwt.h"

#define ISS "https://idp.example.test"
#define AUD "bastion"

struct keys {
    EVP_PKEY *rsa, *ec, *ed, *foreign;
    struct pcl_jwks *jwks;
};

static char *
b64u(const uint8_t *p, size_t n)
{
    char *s = pcl_b64url_encode(p, n);
    assert_non_null(s);
    return s;
}

static char *
bn_param(EVP_PKEY *k, const char *name)
{
    BIGNUM *bn = NULL;
    uint8_t buf[1024];
    int n;

    assert_int_equal(EVP_PKEY_get_bn_param(k, name, &bn), 1);
    n = BN_bn2bin(bn, buf);
    BN_free(bn);
    return b64u(buf, (size_t)n);
}

/* The public JWK of k, as an IdP would publish it. */
static void
jwk_of(EVP_PKEY *k, const char *kid, char *out, size_t outlen)
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
        assert_int_equal(EVP_PKEY_get_octet_string_param(
                             k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &l),
                         1);
        assert_int_equal(l, 65);
        x = b64u(pt + 1, 32);
        y = b64u(pt + 33, 32);
        snprintf(out, outlen, "{\"kty\":\"EC\",\"kid\":\"%s\",\"crv\":"
                 "\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}", kid, x, y);
        free(x);
        free(y);
    } else {
        uint8_t raw[32];
        size_t l = sizeof(raw);
        char *x;
        assert_int_equal(EVP_PKEY_get_raw_public_key(k, raw, &l), 1);
        x = b64u(raw, l);
        snprintf(out, outlen, "{\"kty\":\"OKP\",\"kid\":\"%s\",\"crv\":"
                 "\"Ed25519\",\"x\":\"%s\"}", kid, x);
        free(x);
    }
}

/* Signs header.payload with k for alg; returns the compact JWS. */
static char *
sign(const char *alg, EVP_PKEY *k, const char *header, const char *payload)
{
    char *h = b64u((const uint8_t *)header, strlen(header));
    char *p = b64u((const uint8_t *)payload, strlen(payload));
    char input[8192];
    uint8_t sig[1024];
    size_t slen = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    char *s;
    char *tok;

    snprintf(input, sizeof(input), "%s.%s", h, p);
    assert_int_equal(EVP_DigestSignInit(md, &pctx,
                                        strcmp(alg, "EdDSA") == 0
                                            ? NULL
                                            : EVP_sha256(),
                                        NULL, k),
                     1);
    if (strcmp(alg, "PS256") == 0) {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    assert_int_equal(EVP_DigestSign(md, sig, &slen, (uint8_t *)input,
                                    strlen(input)),
                     1);
    EVP_MD_CTX_free(md);
    if (strcmp(alg, "ES256") == 0) {
        /* DER -> JOSE r || s, 32 bytes each */
        const uint8_t *d = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &d, (long)slen);
        uint8_t rs[64];
        assert_non_null(es);
        BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 32, 32);
        ECDSA_SIG_free(es);
        memcpy(sig, rs, 64);
        slen = 64;
    }
    s = b64u(sig, slen);
    tok = malloc(strlen(input) + strlen(s) + 2);
    sprintf(tok, "%s.%s", input, s);
    free(h);
    free(p);
    free(s);
    return tok;
}

/* The classic confusion: HS256 keyed with the RSA public key's PEM. */
static char *
hs256_with_pubkey(EVP_PKEY *k, const char *payload)
{
    const char *header = "{\"alg\":\"HS256\",\"kid\":\"rsa1\"}";
    char *h = b64u((const uint8_t *)header, strlen(header));
    char *p = b64u((const uint8_t *)payload, strlen(payload));
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem;
    long pemlen;
    char input[8192];
    uint8_t mac[32];
    size_t maclen = 0;
    char *s, *tok;

    PEM_write_bio_PUBKEY(bio, k);
    pemlen = BIO_get_mem_data(bio, &pem);
    snprintf(input, sizeof(input), "%s.%s", h, p);
    EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, pem, (size_t)pemlen,
              (uint8_t *)input, strlen(input), mac, sizeof(mac), &maclen);
    BIO_free(bio);
    s = b64u(mac, maclen);
    tok = malloc(strlen(input) + strlen(s) + 2);
    sprintf(tok, "%s.%s", input, s);
    free(h);
    free(p);
    free(s);
    return tok;
}

static int
setup(void **state)
{
    struct keys *k = calloc(1, sizeof(*k));
    char a[2048], b[1024], c[512], doc[4096];
    char why[256];

    k->rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    k->foreign = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    k->ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    k->ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(k->rsa);
    assert_non_null(k->ec);
    assert_non_null(k->ed);
    jwk_of(k->rsa, "rsa1", a, sizeof(a));
    jwk_of(k->ec, "ec1", b, sizeof(b));
    jwk_of(k->ed, "ed1", c, sizeof(c));
    /* an HMAC key in the set must never be used */
    snprintf(doc, sizeof(doc), "{\"keys\":[%s,%s,%s,{\"kty\":\"oct\","
             "\"kid\":\"hs\",\"k\":\"c2VjcmV0\"}]}", a, b, c);
    assert_int_equal(pcl_jwks_parse(doc, strlen(doc), &k->jwks, why,
                                    sizeof(why)),
                     PCL_OK);
    assert_int_equal(pcl_jwks_count(k->jwks), 3);
    *state = k;
    return 0;
}

static int
teardown(void **state)
{
    struct keys *k = *state;

    pcl_jwks_free(k->jwks);
    EVP_PKEY_free(k->rsa);
    EVP_PKEY_free(k->ec);
    EVP_PKEY_free(k->ed);
    EVP_PKEY_free(k->foreign);
    free(k);
    return 0;
}

enum keysel { K_RSA, K_EC, K_ED, K_FOREIGN };

struct vector {
    const char *name;
    const char *alg;
    enum keysel key;
    const char *kid;      /* NULL: no kid in the header */
    const char *claims;   /* printf format: iat, exp */
    long long iat_off;    /* seconds from now */
    long long exp_off;
    int rc;
    const char *why;      /* expected substring */
};

#define GOOD "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"u1\"," \
             "\"iat\":%lld,\"exp\":%lld}"

static const struct vector vectors[] = {
    { "RS256 valid", "RS256", K_RSA, "rsa1", GOOD, 0, 300, PCL_OK, NULL },
    { "PS256 valid", "PS256", K_RSA, "rsa1", GOOD, 0, 300, PCL_OK, NULL },
    { "ES256 valid (raw r||s)", "ES256", K_EC, "ec1", GOOD, 0, 300, PCL_OK, NULL },
    { "EdDSA valid", "EdDSA", K_ED, "ed1", GOOD, 0, 300, PCL_OK, NULL },
    { "no kid, one key of the type", "EdDSA", K_ED, NULL, GOOD, 0, 300, PCL_OK,
      NULL },
    { "expired", "RS256", K_RSA, "rsa1",
      "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"u1\","
      "\"iat\":%lld,\"exp\":%lld}", -7200, -3600, PCL_ERR_DENIED, "expired" },
    { "nbf in the future", "RS256", K_RSA, "rsa1",
      "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"u1\","
      "\"iat\":%lld,\"exp\":%lld,\"nbf\":9999999999}", 0, 300, PCL_ERR_DENIED,
      "nbf" },
    { "wrong iss", "RS256", K_RSA, "rsa1",
      "{\"iss\":\"https://evil.test\",\"aud\":\"" AUD "\",\"sub\":\"u1\","
      "\"iat\":%lld,\"exp\":%lld}", 0, 300, PCL_ERR_DENIED, "iss" },
    { "iss with a trailing slash", "RS256", K_RSA, "rsa1",
      "{\"iss\":\"" ISS "/\",\"aud\":\"" AUD "\",\"sub\":\"u1\","
      "\"iat\":%lld,\"exp\":%lld}", 0, 300, PCL_ERR_DENIED, "iss" },
    { "wrong aud", "RS256", K_RSA, "rsa1",
      "{\"iss\":\"" ISS "\",\"aud\":\"other\",\"sub\":\"u1\","
      "\"iat\":%lld,\"exp\":%lld}", 0, 300, PCL_ERR_DENIED, "aud" },
    { "aud array with us and azp", "RS256", K_RSA, "rsa1",
      "{\"iss\":\"" ISS "\",\"aud\":[\"other\",\"" AUD "\"],\"azp\":\""
      AUD "\",\"sub\":\"u1\",\"iat\":%lld,\"exp\":%lld}", 0, 300, PCL_OK, NULL },
    { "aud array with us, no azp", "RS256", K_RSA, "rsa1",
      "{\"iss\":\"" ISS "\",\"aud\":[\"other\",\"" AUD "\"],"
      "\"sub\":\"u1\",\"iat\":%lld,\"exp\":%lld}", 0, 300, PCL_ERR_DENIED, "azp" },
    { "aud array without us", "RS256", K_RSA, "rsa1",
      "{\"iss\":\"" ISS "\",\"aud\":[\"a\",\"b\"],\"azp\":\"a\","
      "\"sub\":\"u1\",\"iat\":%lld,\"exp\":%lld}", 0, 300, PCL_ERR_DENIED, "aud" },
    { "iat too old (max age)", "RS256", K_RSA, "rsa1",
      "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"u1\","
      "\"iat\":%lld,\"exp\":%lld}", -3600, 300, PCL_ERR_DENIED, "max-age" },
    { "no sub", "RS256", K_RSA, "rsa1",
      "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
      "\"iat\":%lld,\"exp\":%lld}", 0, 300, PCL_ERR_DENIED, "sub" },
    { "unknown kid", "RS256", K_RSA, "rotated", GOOD, 0, 300, PCL_ERR_NOTFOUND,
      "kid" },
    { "foreign key, our kid", "RS256", K_FOREIGN, "rsa1", GOOD, 0, 300,
      PCL_ERR_CRYPTO, "signature" },
    { "ES256 token, kid of the RSA key", "ES256", K_EC, "rsa1", GOOD, 0, 300,
      PCL_ERR_NOTFOUND, "kid" },
    { "EdDSA not allowed here", "EdDSA", K_ED, "ed1", GOOD, 0, 300, PCL_ERR_SYNTAX,
      "not allowed" },
};

static void
test_vectors(void **state)
{
    struct keys *k = *state;
    long long now = (long long)time(NULL);
    size_t i;

    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const struct vector *v = &vectors[i];
        EVP_PKEY *key = v->key == K_RSA   ? k->rsa
                        : v->key == K_EC  ? k->ec
                        : v->key == K_ED  ? k->ed
                                          : k->foreign;
        struct pcl_jwt_rules rules = { ISS, AUD,
                                       PCL_JWT_RS256 | PCL_JWT_PS256 |
                                           PCL_JWT_ES256 | PCL_JWT_EDDSA,
                                       60, 600, (time_t)now };
        char header[256], claims[1024], why[256] = "";
        struct pcl_jwt *t = NULL;
        char *tok;
        int rc;

        if (strcmp(v->name, "EdDSA not allowed here") == 0) {
            rules.algs = PCL_JWT_RS256;
        }
        if (v->kid != NULL) {
            snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":"
                     "\"%s\",\"typ\":\"JWT\"}", v->alg, v->kid);
        } else {
            snprintf(header, sizeof(header), "{\"alg\":\"%s\"}", v->alg);
        }
        /* The formats are the table's own literals above. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(claims, sizeof(claims), v->claims, now + v->iat_off,
                 now + v->exp_off);
#pragma GCC diagnostic pop
        tok = sign(v->alg, key, header, claims);
        rc = pcl_jwt_verify(tok, k->jwks, &rules, &t, why, sizeof(why));
        print_message("%-34s rc=%d %s\n", v->name, rc, why);
        assert_int_equal(rc, v->rc);
        if (v->why != NULL) {
            assert_non_null(strstr(why, v->why));
        }
        if (rc == PCL_OK) {
            assert_string_equal(pcl_jwt_claim_str(t, "sub"), "u1");
        } else {
            assert_null(t);
        }
        pcl_jwt_free(t);
        free(tok);
    }
}

/* Tokens no honest IdP issues, and malformed ones. */
static void
test_refusals(void **state)
{
    struct keys *k = *state;
    long long now = (long long)time(NULL);
    struct pcl_jwt_rules rules = { ISS, AUD, PCL_JWT_RS256 | PCL_JWT_ES256,
                                   60, 600, (time_t)now };
    char claims[512], why[256];
    struct pcl_jwt *t = NULL;
    char *tok, *p;
    char *h, *c;
    char buf[4096];

    snprintf(claims, sizeof(claims), GOOD, now, now + 300);

    /* alg none, empty signature */
    h = b64u((const uint8_t *)"{\"alg\":\"none\"}", 14);
    c = b64u((const uint8_t *)claims, strlen(claims));
    snprintf(buf, sizeof(buf), "%s.%s.", h, c);
    assert_int_equal(pcl_jwt_verify(buf, k->jwks, &rules, &t, why,
                                    sizeof(why)),
                     PCL_ERR_SYNTAX);
    assert_non_null(strstr(why, "none"));
    free(h);

    /* HS256 keyed with the RSA public key */
    tok = hs256_with_pubkey(k->rsa, claims);
    assert_int_equal(pcl_jwt_verify(tok, k->jwks, &rules, &t, why,
                                    sizeof(why)),
                     PCL_ERR_SYNTAX);
    assert_non_null(strstr(why, "HS256"));
    free(tok);

    /* one flipped bit in the signature */
    tok = sign("RS256", k->rsa, "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}",
               claims);
    p = strrchr(tok, '.') + 5;
    *p = *p == 'A' ? 'B' : 'A';
    assert_int_equal(pcl_jwt_verify(tok, k->jwks, &rules, &t, why,
                                    sizeof(why)),
                     PCL_ERR_CRYPTO);
    free(tok);

    /* ES256 with a DER signature instead of r||s */
    tok = sign("RS256", k->rsa, "{\"alg\":\"ES256\",\"kid\":\"ec1\"}",
               claims);
    assert_int_equal(pcl_jwt_verify(tok, k->jwks, &rules, &t, why,
                                    sizeof(why)),
                     PCL_ERR_CRYPTO);
    free(tok);

    /* malformed */
    assert_int_equal(pcl_jwt_verify("a.b", k->jwks, &rules, &t, why,
                                    sizeof(why)),
                     PCL_ERR_SYNTAX);
    assert_int_equal(pcl_jwt_verify("a.b.c.d", k->jwks, &rules, &t, why,
                                    sizeof(why)),
                     PCL_ERR_SYNTAX);
    snprintf(buf, sizeof(buf), "e30.%s.AA AA", c);
    assert_int_equal(pcl_jwt_verify(buf, k->jwks, &rules, &t, why,
                                    sizeof(why)),
                     PCL_ERR_SYNTAX);
    free(c);
    assert_null(t);
}

static void
test_algs(void **state)
{
    unsigned m;
    char why[256];

    (void)state;
    assert_int_equal(pcl_jwt_parse_algs(PCL_JWT_ALGS_DEFAULT, &m, why,
                                        sizeof(why)),
                     PCL_OK);
    assert_int_equal(m, 0x0f);
    assert_int_equal(pcl_jwt_parse_algs("RS256, none", &m, why,
                                        sizeof(why)),
                     PCL_ERR_CONFIG);
    assert_int_equal(pcl_jwt_parse_algs("HS256", &m, why, sizeof(why)),
                     PCL_ERR_CONFIG);
    assert_int_equal(pcl_jwt_parse_algs("", &m, why, sizeof(why)),
                     PCL_ERR_CONFIG);
}

static void
test_jwks_refusals(void **state)
{
    static const char *const docs[] = {
        "{}",
        "{\"keys\":[]}",
        "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}",
        /* a point not on P-256 */
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AQAAAAAAAAAAA"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"y\":\"AQAAAAAAAAAAAAAAAAAAA"
        "AAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}",
        /* a 512-bit RSA key */
        "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"wOGcOmPuqKTuJkn6XADnkD5JwGZWzeZ"
        "Mg0hJuRv5UjvpyBMn8ddqT8mdAHvWrmsgLuvwqUqdtL6rq_8OqbIhDQ\",\"e\":"
        "\"AQAB\"}]}",
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"use\":\"enc\"}]}",
        "not json",
    };
    struct pcl_jwks *k = NULL;
    char why[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        assert_int_equal(pcl_jwks_parse(docs[i], strlen(docs[i]), &k, why,
                                        sizeof(why)),
                         PCL_ERR_SYNTAX);
        assert_null(k);
    }
}

static void
test_b64url(void **state)
{
    uint8_t *out = NULL;
    size_t len = 0;

    (void)state;
    assert_int_equal(pcl_b64url_decode("aGk", 3, &out, &len), PCL_OK);
    assert_int_equal(len, 2);
    assert_memory_equal(out, "hi", 2);
    free(out);
    assert_int_equal(pcl_b64url_decode("a+k", 3, &out, &len),
                     PCL_ERR_SYNTAX);
    assert_int_equal(pcl_b64url_decode("aGk=", 4, &out, &len),
                     PCL_ERR_SYNTAX);
    assert_int_equal(pcl_b64url_decode("a", 1, &out, &len), PCL_ERR_SYNTAX);
    assert_int_equal(pcl_b64url_decode("", 0, &out, &len), PCL_OK);
    assert_int_equal(len, 0);
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_vectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test(test_algs),
        cmocka_unit_test(test_jwks_refusals),
        cmocka_unit_test(test_b64url),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
