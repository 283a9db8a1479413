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
#include <unistd.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "portcullis/err.h"
#include "portcullis/jwt.h"
#include "portcullis/oidc.h"
#include "../tools/jwtgen.h"

#define ISS "https://idp.example.test"
#define AUD "bastion"

struct keys {
    EVP_PKEY *rsa, *ec, *ed, *foreign;
    struct pcl_jwks *jwks;
};

/* The classic confusion: HS256 keyed with the RSA public key's PEM. */
static char *
hs256_with_pubkey(EVP_PKEY *k, const char *payload)
{
    const char *header = "{\"alg\":\"HS256\",\"kid\":\"rsa1\"}";
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem;
    long pemlen;
    char input[8192];
    uint8_t mac[32];
    size_t maclen = 0;

    PEM_write_bio_PUBKEY(bio, k);
    pemlen = BIO_get_mem_data(bio, &pem);
    jwtgen_input(header, payload, input, sizeof(input));
    EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, pem, (size_t)pemlen,
              (uint8_t *)input, strlen(input), mac, sizeof(mac), &maclen);
    BIO_free(bio);
    return jwtgen_finish(input, mac, maclen);
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
    jwtgen_jwk(k->rsa, "rsa1", a, sizeof(a));
    jwtgen_jwk(k->ec, "ec1", b, sizeof(b));
    jwtgen_jwk(k->ed, "ed1", c, sizeof(c));
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
        tok = jwtgen_sign(v->alg, key, header, claims);
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
    h = jwtgen_b64u((const uint8_t *)"{\"alg\":\"none\"}", 14);
    c = jwtgen_b64u((const uint8_t *)claims, strlen(claims));
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

    /* the alg, read before any signature check, reaches the log only
     * with its control characters replaced */
    h = jwtgen_b64u((const uint8_t *)"{\"alg\":\"\\u001b[2J\\nX\"}", 22);
    snprintf(buf, sizeof(buf), "%s.%s.AAAA", h, c);
    assert_int_equal(pcl_jwt_verify(buf, k->jwks, &rules, &t, why,
                                    sizeof(why)),
                     PCL_ERR_SYNTAX);
    assert_null(strchr(why, '\x1b'));
    assert_null(strchr(why, '\n'));
    assert_non_null(strstr(why, "?[2J?X"));
    free(h);

    /* one flipped bit in the signature */
    tok = jwtgen_sign("RS256", k->rsa, "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}",
               claims);
    p = strrchr(tok, '.') + 5;
    *p = *p == 'A' ? 'B' : 'A';
    assert_int_equal(pcl_jwt_verify(tok, k->jwks, &rules, &t, why,
                                    sizeof(why)),
                     PCL_ERR_CRYPTO);
    free(tok);

    /* ES256 with a DER signature instead of r||s */
    tok = jwtgen_sign("RS256", k->rsa, "{\"alg\":\"ES256\",\"kid\":\"ec1\"}",
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

/* The claim that names the local user (pcl_oidc_map_user). */
static const struct {
    const char *name;
    const char *claims; /* extra members of the token */
    const char *claim;  /* username-claim */
    const char *domain; /* email-domain */
    int use_map;
    const char *user;   /* PAM user */
    int rc;
} map_cases[] = {
    { "preferred_username equal", "\"preferred_username\":\"alice\"",
      "preferred_username", NULL, 0, "alice", PCL_OK },
    { "preferred_username other", "\"preferred_username\":\"bob\"",
      "preferred_username", NULL, 0, "alice", PCL_ERR_DENIED },
    { "no such claim", "\"name\":\"alice\"", "preferred_username", NULL, 0,
      "alice", PCL_ERR_DENIED },
    { "sub", "\"x\":1", "sub", NULL, 0, "u1", PCL_OK },
    { "email whole address", "\"email\":\"alice@corp.test\","
      "\"email_verified\":true", "email", NULL, 0, "alice@corp.test", PCL_OK },
    { "email with domain rule", "\"email\":\"alice@corp.test\","
      "\"email_verified\":true", "email", "corp.test", 0, "alice", PCL_OK },
    { "email in another domain", "\"email\":\"alice@evil.test\","
      "\"email_verified\":true", "email", "corp.test", 0, "alice",
      PCL_ERR_DENIED },
    { "email not verified", "\"email\":\"alice@corp.test\","
      "\"email_verified\":false", "email", "corp.test", 0, "alice",
      PCL_ERR_DENIED },
    { "email without email_verified", "\"email\":\"alice@corp.test\"",
      "email", "corp.test", 0, "alice", PCL_ERR_DENIED },
    { "map file allows the pair", "\"preferred_username\":\"a.smith\"",
      "preferred_username", NULL, 1, "alice", PCL_OK },
    { "map file, another user", "\"preferred_username\":\"a.smith\"",
      "preferred_username", NULL, 1, "bob", PCL_ERR_DENIED },
};

static void
test_map_user(void **state)
{
    struct keys *k = *state;
    long long now = (long long)time(NULL);
    struct pcl_jwt_rules rules = { ISS, AUD, PCL_JWT_RS256, 60, 600,
                                   (time_t)now };
    char dir[] = "/tmp/pcl-map.XXXXXX";
    char map[64];
    size_t i;
    FILE *fp;

    assert_non_null(mkdtemp(dir));
    snprintf(map, sizeof(map), "%s/users", dir);
    fp = fopen(map, "w");
    assert_non_null(fp);
    fputs("# claim value, local user\na.smith alice\n", fp);
    fclose(fp);
    for (i = 0; i < sizeof(map_cases) / sizeof(map_cases[0]); i++) {
        struct pcl_oidc_usermap m = { map_cases[i].claim,
                                      map_cases[i].domain,
                                      map_cases[i].use_map ? map : NULL };
        struct pcl_jwt *t = NULL;
        char claims[1024], why[256] = "";
        char *tok;
        int rc;

        snprintf(claims, sizeof(claims),
                 "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"u1\","
                 "\"iat\":%lld,\"exp\":%lld,%s}", now, now + 300,
                 map_cases[i].claims);
        tok = jwtgen_sign("RS256", k->rsa, "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}",
                          claims);
        assert_int_equal(pcl_jwt_verify(tok, k->jwks, &rules, &t, why,
                                        sizeof(why)),
                         PCL_OK);
        rc = pcl_oidc_map_user(t, &m, map_cases[i].user, why, sizeof(why));
        print_message("%-32s rc=%d %s\n", map_cases[i].name, rc, why);
        assert_int_equal(rc, map_cases[i].rc);
        pcl_jwt_free(t);
        free(tok);
    }
    unlink(map);
    rmdir(dir);
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
    /* non-zero bits past the data: "aGl" and "aGm" are not "hi" */
    assert_int_equal(pcl_b64url_decode("aGl", 3, &out, &len),
                     PCL_ERR_SYNTAX);
    assert_int_equal(pcl_b64url_decode("aGm", 3, &out, &len),
                     PCL_ERR_SYNTAX);
    assert_int_equal(pcl_b64url_decode("aB", 2, &out, &len), PCL_ERR_SYNTAX);
    assert_int_equal(pcl_b64url_decode("aA", 2, &out, &len), PCL_OK);
    assert_int_equal(len, 1);
    free(out);
    assert_int_equal(pcl_b64url_decode("aGk_", 4, &out, &len), PCL_OK);
    assert_int_equal(len, 3);
    free(out);
    assert_int_equal(pcl_b64url_decode("", 0, &out, &len), PCL_OK);
    assert_int_equal(len, 0);
    free(out);
}

/* NumericDates far outside any clock: the time arithmetic must not
 * overflow into an acceptance (an iat near INT64_MIN once passed max-age,
 * since now - iat wrapped negative). */
static void
test_time_range(void **state)
{
    struct keys *k = *state;
    long long now = (long long)time(NULL);
    struct pcl_jwt_rules rules = { ISS, AUD, PCL_JWT_RS256, 60, 600,
                                   (time_t)now };
    static const char *const bad[] = {
        "\"iat\":-9223372036854775807,\"exp\":%lld",
        "\"iat\":-1,\"exp\":%lld",
        "\"iat\":-9.0e14,\"exp\":%lld",
        "\"iat\":%lld,\"exp\":9223372036854775807",
        "\"iat\":%lld,\"exp\":18446744073709551615",
        "\"iat\":%lld,\"exp\":%lld,\"nbf\":-9223372036854775807",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char times[256], claims[512], why[256] = "";
        struct pcl_jwt *t = NULL;
        char *tok;
        int rc;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        if (i < 3) {
            snprintf(times, sizeof(times), bad[i], now + 300);
        } else {
            snprintf(times, sizeof(times), bad[i], now, now + 300);
        }
#pragma GCC diagnostic pop
        snprintf(claims, sizeof(claims),
                 "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"u1\","
                 "%s}", times);
        tok = jwtgen_sign("RS256", k->rsa,
                          "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", claims);
        rc = pcl_jwt_verify(tok, k->jwks, &rules, &t, why, sizeof(why));
        print_message("%-60s rc=%d %s\n", times, rc, why);
        assert_int_equal(rc, PCL_ERR_DENIED);
        assert_null(t);
        free(tok);
    }
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
        cmocka_unit_test_setup_teardown(test_map_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_range, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
