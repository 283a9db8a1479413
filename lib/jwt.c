/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/jwt.h"

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "portcullis/err.h"
#include "portcullis/log.h"

#define MAX_KEYS 32
#define MAX_KID 256
#define MIN_RSA_BITS 2048

enum kty { KTY_RSA, KTY_EC, KTY_OKP };

struct key {
    enum kty kty;
    char kid[MAX_KID];
    bool has_kid;
    char alg[16]; /* the JWK's own "alg", or "" */
    EVP_PKEY *pkey;
};

struct pcl_jwks {
    struct key keys[MAX_KEYS];
    size_t n;
};

struct pcl_jwt {
    json_object *claims;
};

static const struct {
    const char *name;
    unsigned bit;
    enum kty kty;
} algs[] = {
    { "RS256", PCL_JWT_RS256, KTY_RSA },
    { "PS256", PCL_JWT_PS256, KTY_RSA },
    { "ES256", PCL_JWT_ES256, KTY_EC },
    { "EdDSA", PCL_JWT_EDDSA, KTY_OKP },
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))

/* ------------------------------------------------------------ base64url */

char *
pcl_b64url_encode(const uint8_t *in, size_t len)
{
    size_t cap = 4 * ((len + 2) / 3) + 1;
    char *out = malloc(cap);
    size_t n;
    size_t i;

    if (out == NULL) {
        return NULL;
    }
    n = (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    while (n > 0 && out[n - 1] == '=') {
        n--;
    }
    out[n] = '\0';
    for (i = 0; i < n; i++) {
        if (out[i] == '+') {
            out[i] = '-';
        } else if (out[i] == '/') {
            out[i] = '_';
        }
    }
    return out;
}

int
pcl_b64url_decode(const char *in, size_t inlen, uint8_t **out, size_t *len)
{
    size_t pad = (4 - inlen % 4) % 4;
    char *tmp = NULL;
    uint8_t *dec = NULL;
    size_t i;
    int n;
    int rc = PCL_ERR_SYNTAX;

    *out = NULL;
    *len = 0;
    if (inlen % 4 == 1 || inlen > 4 * PCL_JWT_MAX_TOKEN) {
        return PCL_ERR_SYNTAX;
    }
    tmp = malloc(inlen + pad + 1);
    dec = malloc((inlen + pad) / 4 * 3 + 1);
    if (tmp == NULL || dec == NULL) {
        rc = PCL_ERR_NOMEM;
        goto out;
    }
    /* EVP_DecodeBlock would skip blanks and accept '+' '/': check the
     * base64url alphabet ourselves first. */
    for (i = 0; i < inlen; i++) {
        char c = in[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9')) {
            tmp[i] = c;
        } else if (c == '-') {
            tmp[i] = '+';
        } else if (c == '_') {
            tmp[i] = '/';
        } else {
            goto out;
        }
    }
    /* RFC 4648 3.5: the bits of the last character past the data must be
     * zero; otherwise one value would have several encodings (a
     * signature or a ticket MAC altered and still accepted). */
    if (pad > 0) {
        const char *b64 =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        unsigned v = (unsigned)(strchr(b64, tmp[inlen - 1]) - b64);
        if ((v & (pad == 2 ? 0x0fu : 0x03u)) != 0) {
            goto out;
        }
    }
    memset(tmp + inlen, '=', pad);
    tmp[inlen + pad] = '\0';
    n = inlen + pad == 0 ? 0
                         : EVP_DecodeBlock(dec, (unsigned char *)tmp,
                                           (int)(inlen + pad));
    if (n < 0 || (size_t)n < pad) {
        goto out;
    }
    *len = (size_t)n - pad;
    dec[*len] = '\0';
    *out = dec; /* transfer ownership */
    dec = NULL;
    rc = PCL_OK;
out:
    free(tmp);
    free(dec);
    return rc;
}

/* ------------------------------------------------------------ algorithms */

int
pcl_jwt_parse_algs(const char *list, unsigned *mask, char *why,
                   size_t whylen)
{
    char word[32];
    const char *p = list;
    size_t i;

    *mask = 0;
    while (*p != '\0') {
        size_t l;
        while (*p == ' ' || *p == ',' || *p == '\t') {
            p++;
        }
        l = strcspn(p, ", \t");
        if (l == 0) {
            break;
        }
        if (l >= sizeof(word)) {
            pcl_err_why(why, whylen, "unknown algorithm \"%.31s...\"", p);
            return PCL_ERR_CONFIG;
        }
        memcpy(word, p, l);
        word[l] = '\0';
        p += l;
        for (i = 0; i < NALGS; i++) {
            if (strcmp(word, algs[i].name) == 0) {
                *mask |= algs[i].bit;
                break;
            }
        }
        if (i == NALGS) {
            pcl_err_why(why, whylen, "algorithm \"%s\" is not allowed "
                        "(RS256, PS256, ES256, EdDSA; never none or "
                        "HS*)", word);
            return PCL_ERR_CONFIG;
        }
    }
    if (*mask == 0) {
        pcl_err_why(why, whylen, "no algorithm allowed");
        return PCL_ERR_CONFIG;
    }
    return PCL_OK;
}

/* ------------------------------------------------------------ JWKS */

/* Decodes the base64url member name of o into *out (owned). */
static int
member_b64(json_object *o, const char *name, uint8_t **out, size_t *len)
{
    json_object *v;
    const char *s;

    *out = NULL;
    if (!json_object_object_get_ex(o, name, &v) ||
        !json_object_is_type(v, json_type_string)) {
        return PCL_ERR_SYNTAX;
    }
    s = json_object_get_string(v);
    return pcl_b64url_decode(s, strlen(s), out, len);
}

static const char *
member_str(json_object *o, const char *name)
{
    json_object *v;

    if (!json_object_object_get_ex(o, name, &v) ||
        !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(v);
}

/* Builds an EVP_PKEY from parameters; *out NULL when OpenSSL refused them
 * (a point not on the curve, say). */
static EVP_PKEY *
from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pkey = NULL;

    if (params != NULL && ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1) {
        if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) !=
            1) {
            pkey = NULL;
        }
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

static EVP_PKEY *
rsa_key(json_object *o)
{
    uint8_t *n = NULL, *e = NULL;
    size_t nl = 0, el = 0;
    BIGNUM *bn = NULL, *be = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY *pkey = NULL;

    if (member_b64(o, "n", &n, &nl) != PCL_OK ||
        member_b64(o, "e", &e, &el) != PCL_OK || nl == 0 || el == 0) {
        goto out;
    }
    bn = BN_bin2bn(n, (int)nl, NULL);
    be = BN_bin2bn(e, (int)el, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (bn == NULL || be == NULL || bld == NULL ||
        BN_num_bits(bn) < MIN_RSA_BITS ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be)) {
        goto out;
    }
    pkey = from_params("RSA", bld);
out:
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    free(n);
    free(e);
    return pkey;
}

static EVP_PKEY *
ec_key(json_object *o)
{
    const char *crv = member_str(o, "crv");
    uint8_t *x = NULL, *y = NULL;
    size_t xl = 0, yl = 0;
    uint8_t point[65];
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY *pkey = NULL;

    if (crv == NULL || strcmp(crv, "P-256") != 0 ||
        member_b64(o, "x", &x, &xl) != PCL_OK ||
        member_b64(o, "y", &y, &yl) != PCL_OK || xl != 32 || yl != 32) {
        goto out;
    }
    point[0] = 0x04; /* uncompressed: 04 || x || y (SEC 1 2.3.3) */
    memcpy(point + 1, x, 32);
    memcpy(point + 33, y, 32);
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                         "prime256v1", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                          point, sizeof(point))) {
        goto out;
    }
    /* fromdata decodes the point and refuses one that is not on the
     * curve. */
    pkey = from_params("EC", bld);
out:
    OSSL_PARAM_BLD_free(bld);
    free(x);
    free(y);
    return pkey;
}

static EVP_PKEY *
okp_key(json_object *o)
{
    const char *crv = member_str(o, "crv");
    uint8_t *x = NULL;
    size_t xl = 0;
    EVP_PKEY *pkey = NULL;

    if (crv != NULL && strcmp(crv, "Ed25519") == 0 &&
        member_b64(o, "x", &x, &xl) == PCL_OK && xl == 32) {
        pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, xl);
    }
    free(x);
    return pkey;
}

int
pcl_jwks_parse(const char *json, size_t len, struct pcl_jwks **out,
               char *why, size_t whylen)
{
    struct json_tokener *tok = NULL;
    json_object *root = NULL;
    json_object *arr;
    struct pcl_jwks *k = NULL;
    size_t i;
    int rc = PCL_ERR_SYNTAX;

    *out = NULL;
    tok = json_tokener_new();
    k = calloc(1, sizeof(*k));
    if (tok == NULL || k == NULL) {
        rc = PCL_ERR_NOMEM;
        goto out;
    }
    root = json_tokener_parse_ex(tok, json, (int)len);
    if (root == NULL || json_tokener_get_parse_end(tok) != len ||
        !json_object_object_get_ex(root, "keys", &arr) ||
        !json_object_is_type(arr, json_type_array)) {
        pcl_err_why(why, whylen, "not a JWKS document");
        goto out;
    }
    for (i = 0; i < json_object_array_length(arr) && k->n < MAX_KEYS; i++) {
        json_object *o = json_object_array_get_idx(arr, i);
        const char *kty = member_str(o, "kty");
        const char *use = member_str(o, "use");
        const char *kid = member_str(o, "kid");
        const char *alg = member_str(o, "alg");
        struct key *key = &k->keys[k->n];

        if (kty == NULL || (use != NULL && strcmp(use, "sig") != 0)) {
            continue;
        }
        if (strcmp(kty, "RSA") == 0) {
            key->kty = KTY_RSA;
            key->pkey = rsa_key(o);
        } else if (strcmp(kty, "EC") == 0) {
            key->kty = KTY_EC;
            key->pkey = ec_key(o);
        } else if (strcmp(kty, "OKP") == 0) {
            key->kty = KTY_OKP;
            key->pkey = okp_key(o);
        } else {
            continue; /* "oct" and anything else: never a verifier key */
        }
        if (key->pkey == NULL) {
            continue;
        }
        if (kid != NULL) {
            snprintf(key->kid, sizeof(key->kid), "%s", kid);
            key->has_kid = strlen(kid) < sizeof(key->kid);
        }
        snprintf(key->alg, sizeof(key->alg), "%s", alg != NULL ? alg : "");
        k->n++;
    }
    if (k->n == 0) {
        pcl_err_why(why, whylen, "JWKS holds no usable signature key");
        goto out;
    }
    *out = k; /* transfer ownership */
    k = NULL;
    rc = PCL_OK;
out:
    json_object_put(root);
    if (tok != NULL) {
        json_tokener_free(tok);
    }
    pcl_jwks_free(k);
    return rc;
}

void
pcl_jwks_free(struct pcl_jwks *k)
{
    size_t i;

    if (k == NULL) {
        return;
    }
    for (i = 0; i < k->n; i++) {
        EVP_PKEY_free(k->keys[i].pkey);
    }
    free(k);
}

size_t
pcl_jwks_count(const struct pcl_jwks *k)
{
    return k != NULL ? k->n : 0;
}

/* ------------------------------------------------------------ JWS */

/* Parses exactly len bytes of JSON into an object, or NULL. */
static json_object *
parse_object(const uint8_t *s, size_t len)
{
    struct json_tokener *tok = json_tokener_new();
    json_object *o;

    if (tok == NULL) {
        return NULL;
    }
    /* An embedded NUL would let json-c stop early on what we signed. */
    o = memchr(s, '\0', len) != NULL
            ? NULL
            : json_tokener_parse_ex(tok, (const char *)s, (int)len);
    if (o != NULL && (json_tokener_get_parse_end(tok) != len ||
                      !json_object_is_type(o, json_type_object))) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

/* JOSE ES256 signatures are r || s, 32 bytes each (RFC 7518 3.4);
 * OpenSSL verifies DER ECDSA-Sig-Value. Returns a DER copy or NULL. */
static uint8_t *
es256_der(const uint8_t *sig, size_t len, size_t *derlen)
{
    ECDSA_SIG *es = NULL;
    BIGNUM *r = NULL, *s = NULL;
    unsigned char *der = NULL;
    int n;

    if (len != 64) {
        return NULL;
    }
    es = ECDSA_SIG_new();
    r = BN_bin2bn(sig, 32, NULL);
    s = BN_bin2bn(sig + 32, 32, NULL);
    if (es == NULL || r == NULL || s == NULL ||
        ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        return NULL;
    }
    n = i2d_ECDSA_SIG(es, &der);
    ECDSA_SIG_free(es);
    if (n <= 0) {
        return NULL;
    }
    *derlen = (size_t)n;
    return der;
}

/* Verifies sig over data with key for alg; true when it holds. */
static bool
check_signature(unsigned alg, EVP_PKEY *pkey, const char *data,
                size_t dlen, const uint8_t *sig, size_t slen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    const EVP_MD *digest = alg == PCL_JWT_EDDSA ? NULL : EVP_sha256();
    uint8_t *der = NULL;
    size_t derlen = 0;
    bool ok = false;

    if (md == NULL) {
        return false;
    }
    if (alg == PCL_JWT_ES256) {
        der = es256_der(sig, slen, &derlen);
        if (der == NULL) {
            goto out;
        }
        sig = der;
        slen = derlen;
    }
    if (EVP_DigestVerifyInit(md, &pctx, digest, NULL, pkey) != 1) {
        goto out;
    }
    if (alg == PCL_JWT_PS256 &&
        (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) !=
             1)) {
        goto out;
    }
    if (alg == PCL_JWT_RS256 &&
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
        goto out;
    }
    ok = EVP_DigestVerify(md, sig, slen, (const unsigned char *)data,
                          dlen) == 1;
out:
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    return ok;
}

/* The last second of year 9999: NumericDates beyond it, or before 1970,
 * are refused, so that exp + leeway and now - iat cannot overflow. */
#define MAX_NUMERIC_DATE INT64_C(253402300799)

/* Reads a NumericDate (RFC 7519 2): an integer or a JSON number, in
 * [0, MAX_NUMERIC_DATE]. */
static int
numeric(json_object *claims, const char *name, int64_t *out)
{
    json_object *v;
    int64_t n;

    if (!json_object_object_get_ex(claims, name, &v)) {
        return PCL_ERR_NOTFOUND;
    }
    if (json_object_is_type(v, json_type_int)) {
        n = json_object_get_int64(v);
    } else if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        if (!(d >= 0 && d <= (double)MAX_NUMERIC_DATE)) {
            return PCL_ERR_SYNTAX;
        }
        n = (int64_t)d;
    } else {
        return PCL_ERR_SYNTAX;
    }
    if (n < 0 || n > MAX_NUMERIC_DATE) {
        return PCL_ERR_SYNTAX;
    }
    *out = n;
    return PCL_OK;
}

/* OpenID Connect Core 3.1.3.7, items 2-4 and 9-10. */
static int
check_claims(json_object *c, const struct pcl_jwt_rules *r, char *why,
             size_t whylen)
{
    const char *iss = member_str(c, "iss");
    const char *sub = member_str(c, "sub");
    const char *azp = member_str(c, "azp");
    json_object *aud;
    int64_t exp, nbf, iat;
    int64_t now = (int64_t)r->now;
    int64_t leeway = (int64_t)r->leeway_s;
    bool aud_ok = false;
    size_t naud = 0;
    size_t i;
    int rc;

    if (iss == NULL || strcmp(iss, r->issuer) != 0) {
        pcl_err_why(why, whylen, "iss is not the configured issuer");
        return PCL_ERR_DENIED;
    }
    if (!json_object_object_get_ex(c, "aud", &aud)) {
        pcl_err_why(why, whylen, "no aud");
        return PCL_ERR_DENIED;
    }
    if (json_object_is_type(aud, json_type_string)) {
        naud = 1;
        aud_ok = strcmp(json_object_get_string(aud), r->client_id) == 0;
    } else if (json_object_is_type(aud, json_type_array)) {
        naud = json_object_array_length(aud);
        for (i = 0; i < naud; i++) {
            json_object *a = json_object_array_get_idx(aud, i);
            if (json_object_is_type(a, json_type_string) &&
                strcmp(json_object_get_string(a), r->client_id) == 0) {
                aud_ok = true;
            }
        }
    }
    if (!aud_ok) {
        pcl_err_why(why, whylen, "aud does not contain the client id");
        return PCL_ERR_DENIED;
    }
    if ((naud > 1 || azp != NULL) &&
        (azp == NULL || strcmp(azp, r->client_id) != 0)) {
        pcl_err_why(why, whylen, "azp is not the client id");
        return PCL_ERR_DENIED;
    }
    rc = numeric(c, "exp", &exp);
    if (rc != PCL_OK) {
        pcl_err_why(why, whylen, "no valid exp");
        return PCL_ERR_DENIED;
    }
    if (now >= exp + leeway) {
        pcl_err_why(why, whylen, "expired %lld s ago",
                    (long long)(now - exp));
        return PCL_ERR_DENIED;
    }
    rc = numeric(c, "nbf", &nbf);
    if (rc == PCL_ERR_SYNTAX || (rc == PCL_OK && nbf > now + leeway)) {
        pcl_err_why(why, whylen, "not valid yet (nbf)");
        return PCL_ERR_DENIED;
    }
    rc = numeric(c, "iat", &iat);
    if (rc != PCL_OK) {
        pcl_err_why(why, whylen, "no valid iat");
        return PCL_ERR_DENIED;
    }
    if (iat > now + leeway) {
        pcl_err_why(why, whylen, "issued in the future (iat)");
        return PCL_ERR_DENIED;
    }
    if (r->max_age_s > 0 && now - iat > (int64_t)r->max_age_s + leeway) {
        pcl_err_why(why, whylen, "issued %lld s ago, more than max-age",
                    (long long)(now - iat));
        return PCL_ERR_DENIED;
    }
    if (sub == NULL || sub[0] == '\0') {
        pcl_err_why(why, whylen, "no sub");
        return PCL_ERR_DENIED;
    }
    return PCL_OK;
}

int
pcl_jwt_verify(const char *token, const struct pcl_jwks *keys,
               const struct pcl_jwt_rules *rules, struct pcl_jwt **out,
               char *why, size_t whylen)
{
    size_t tlen = strnlen(token, PCL_JWT_MAX_TOKEN + 1);
    const char *dot1, *dot2;
    uint8_t *hdr = NULL, *payload = NULL, *sig = NULL;
    size_t hlen = 0, plen = 0, slen = 0;
    json_object *header = NULL;
    json_object *claims = NULL;
    const char *alg, *kid;
    unsigned bit = 0;
    enum kty kty = KTY_RSA;
    const struct key *key = NULL;
    size_t i, ncandidates = 0;
    int rc = PCL_ERR_SYNTAX;

    *out = NULL;
    if (tlen > PCL_JWT_MAX_TOKEN) {
        pcl_err_why(why, whylen, "token longer than %d bytes",
                    PCL_JWT_MAX_TOKEN);
        goto out;
    }
    dot1 = strchr(token, '.');
    dot2 = dot1 != NULL ? strchr(dot1 + 1, '.') : NULL;
    if (dot2 == NULL || strchr(dot2 + 1, '.') != NULL) {
        pcl_err_why(why, whylen, "not a compact JWS (three parts)");
        goto out;
    }
    if (pcl_b64url_decode(token, (size_t)(dot1 - token), &hdr, &hlen) !=
            PCL_OK ||
        pcl_b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &payload,
                          &plen) != PCL_OK ||
        pcl_b64url_decode(dot2 + 1, strlen(dot2 + 1), &sig, &slen) !=
            PCL_OK) {
        pcl_err_why(why, whylen, "bad base64url");
        goto out;
    }
    header = parse_object(hdr, hlen);
    if (header == NULL) {
        pcl_err_why(why, whylen, "header is not a JSON object");
        goto out;
    }
    alg = member_str(header, "alg");
    kid = member_str(header, "kid");
    for (i = 0; alg != NULL && i < NALGS; i++) {
        if (strcmp(alg, algs[i].name) == 0) {
            bit = algs[i].bit;
            kty = algs[i].kty;
        }
    }
    if (bit == 0 || (rules->algs & bit) == 0) {
        char a[24];
        /* Read before the signature is checked: untrusted text. */
        pcl_log_sanitize(a, sizeof(a), alg != NULL ? alg : "(none given)");
        pcl_err_why(why, whylen, "algorithm %s is not allowed", a);
        goto out;
    }
    if (json_object_object_get_ex(header, "crit", NULL)) {
        pcl_err_why(why, whylen, "unsupported critical header");
        goto out;
    }
    for (i = 0; i < keys->n; i++) {
        const struct key *k = &keys->keys[i];
        if (k->kty != kty || (k->alg[0] != '\0' && strcmp(k->alg, alg))) {
            continue;
        }
        if (kid != NULL) {
            if (k->has_kid && strcmp(k->kid, kid) == 0) {
                key = k;
                ncandidates = 1;
                break;
            }
        } else {
            key = k;
            ncandidates++;
        }
    }
    if (key == NULL || ncandidates != 1) {
        pcl_err_why(why, whylen, kid != NULL ? "no key with the token's kid"
                                             : "no kid and no single key");
        rc = PCL_ERR_NOTFOUND;
        goto out;
    }
    if (!check_signature(bit, key->pkey, token, (size_t)(dot2 - token), sig,
                         slen)) {
        pcl_err_why(why, whylen, "bad signature");
        rc = PCL_ERR_CRYPTO;
        goto out;
    }
    claims = parse_object(payload, plen);
    if (claims == NULL) {
        pcl_err_why(why, whylen, "claims are not a JSON object");
        goto out;
    }
    rc = check_claims(claims, rules, why, whylen);
    if (rc != PCL_OK) {
        goto out;
    }
    *out = calloc(1, sizeof(**out));
    if (*out == NULL) {
        rc = PCL_ERR_NOMEM;
        goto out;
    }
    (*out)->claims = claims; /* transfer ownership */
    claims = NULL;
out:
    json_object_put(header);
    json_object_put(claims);
    free(hdr);
    if (payload != NULL) {
        explicit_bzero(payload, plen);
    }
    free(payload);
    free(sig);
    return rc;
}

void
pcl_jwt_free(struct pcl_jwt *t)
{
    if (t == NULL) {
        return;
    }
    json_object_put(t->claims);
    free(t);
}

const char *
pcl_jwt_claim_str(const struct pcl_jwt *t, const char *name)
{
    return member_str(t->claims, name);
}

int
pcl_jwt_claim_int(const struct pcl_jwt *t, const char *name, int64_t *out)
{
    return numeric(t->claims, name, out) == PCL_OK ? PCL_OK
                                                   : PCL_ERR_NOTFOUND;
}

int
pcl_jwt_claim_bool(const struct pcl_jwt *t, const char *name, bool *out)
{
    json_object *v;

    if (!json_object_object_get_ex(t->claims, name, &v) ||
        !json_object_is_type(v, json_type_boolean)) {
        return PCL_ERR_NOTFOUND;
    }
    *out = json_object_get_boolean(v) != 0;
    return PCL_OK;
}

int
pcl_jwt_claim_foreach(const struct pcl_jwt *t, const char *name,
                      int (*fn)(const char *value, void *ctx), void *ctx)
{
    json_object *v;
    size_t i;
    int n = 0;
    int rc;

    if (!json_object_object_get_ex(t->claims, name, &v)) {
        return 0;
    }
    if (json_object_is_type(v, json_type_string)) {
        rc = fn(json_object_get_string(v), ctx);
        return rc != 0 ? rc : 1;
    }
    if (!json_object_is_type(v, json_type_array)) {
        return 0;
    }
    for (i = 0; i < json_object_array_length(v); i++) {
        json_object *e = json_object_array_get_idx(v, i);
        if (json_object_is_type(e, json_type_string)) {
            rc = fn(json_object_get_string(e), ctx);
            if (rc != 0) {
                return rc;
            }
            n++;
        }
    }
    return n;
}
