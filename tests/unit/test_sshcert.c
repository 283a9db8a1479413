/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the certificate builder of the ssh-ca backend: every field
 * of PROTOCOL.certkeys read back, the CA's signature verified with
 * OpenSSL, the session key accepted by libssh with its certificate, bad
 * CA keys and parameters refused. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libssh/libssh.h>
#include <openssl/evp.h>

#include "portcullis/err.h"
#include "portcullis/sshcert.h"
#include "portcullis/vault.h"

/* A throw-away CA made for this test with ssh-keygen -t ed25519. */
static const char ca_key[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACC/CHvvw1ZL+vfvuzJ4OLJBoh3ytU6sfJByhfClJKCZMgAAAJDjdF2043Rd\n"
    "tAAAAAtzc2gtZWQyNTUxOQAAACC/CHvvw1ZL+vfvuzJ4OLJBoh3ytU6sfJByhfClJKCZMg\n"
    "AAAECmQb30a0PztAAPDX639/3Bl0E3dymlCpIiJa4Akt4fmL8Ie+/DVkv69++7Mng4skGi\n"
    "HfK1Tqx8kHKF8KUkoJkyAAAADHVuaXQtdGVzdC1jYQE=\n"
    "-----END OPENSSH PRIVATE KEY-----\n";
static const char ca_pub_b64[] =
    "AAAAC3NzaC1lZDI1NTE5AAAAIL8Ie+/DVkv69++7Mng4skGiHfK1Tqx8kHKF8KUkoJky";
/* The same kind of key with a passphrase ("pass"). */
static const char encrypted_key[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABBzoYSroB\n"
    "9lc9XLr5aVvPEXAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIMAy5EuZX9yL+txt\n"
    "EZg+LVbUmAcd4zLQ3Vp4itWqLL7CAAAAkJB3FeLTcAGd65NZX87hsL3YoLOJLwrWl+n5zk\n"
    "iIbNLsMFH+OL9Upnk9qJC7iiGNi1xqNxTenSrDZB6wrj7FqiDT8Qi1zXkLKm05BnM6pTjB\n"
    "FC+hyCtsH4DHXnUr60oqi6YeaORn78hw1Y/wKgkxE7xwBcRgf5dzQqFuixP4goiM5WuHv7\n"
    "WinYBB5PxAgC22CA==\n"
    "-----END OPENSSH PRIVATE KEY-----\n";

static struct pcl_secret *
secret_of(const char *text, enum pcl_vault_type type)
{
    struct pcl_secret *s = NULL;

    assert_int_equal(pcl_secret_new(type, strlen(text), &s), PCL_OK);
    memcpy(s->data, text, strlen(text));
    return s;
}

/* Base64 to bytes (the caller frees); *len without the padding. */
static uint8_t *
unbase64(const char *b64, size_t *len)
{
    size_t n = strlen(b64);
    uint8_t *out = malloc(n);
    int dec;

    assert_non_null(out);
    dec = EVP_DecodeBlock(out, (const uint8_t *)b64, (int)n);
    assert_true(dec > 0);
    *len = (size_t)dec - (n > 0 && b64[n - 1] == '=') -
           (n > 1 && b64[n - 2] == '=');
    return out;
}

struct rd {
    const uint8_t *p;
    size_t left;
};

static uint64_t
rd_uint(struct rd *r, size_t n)
{
    uint64_t v = 0;
    size_t i;

    assert_true(r->left >= n);
    for (i = 0; i < n; i++) {
        v = v << 8 | r->p[i];
    }
    r->p += n;
    r->left -= n;
    return v;
}

static const uint8_t *
rd_string(struct rd *r, size_t *n)
{
    const uint8_t *s;

    *n = (size_t)rd_uint(r, 4);
    assert_true(r->left >= *n);
    s = r->p;
    r->p += *n;
    r->left -= *n;
    return s;
}

static void
assert_string_field(struct rd *r, const char *want)
{
    size_t n;
    const uint8_t *s = rd_string(r, &n);

    assert_int_equal(n, strlen(want));
    assert_memory_equal(s, want, n);
}

static void
check_certificate(bool pty)
{
    struct pcl_sshcert_params p = {
        "postgres", "portcullis:alice:0123", 77, 1700000000, 1700000300,
        pty,
    };
    struct pcl_secret *ca = secret_of(ca_key, PCL_VAULT_CA_KEY);
    struct pcl_secret *out = NULL;
    uint8_t *blob;
    uint8_t *capub;
    size_t len;
    size_t capublen;
    size_t n;
    size_t signed_len;
    const uint8_t *s;
    const uint8_t *sig;
    struct rd r;
    struct rd pr;
    char why[256];
    EVP_PKEY *pk;
    EVP_MD_CTX *ctx;
    ssh_key priv = NULL;
    ssh_key cert = NULL;

    assert_int_equal(pcl_sshcert_issue(ca, &p, &out, why, sizeof(why)),
                     PCL_OK);
    assert_int_equal(out->type, PCL_VAULT_SSH_CERT);
    assert_non_null(out->cert);
    blob = unbase64(out->cert, &len);
    r.p = blob;
    r.left = len;
    assert_string_field(&r, PCL_SSHCERT_TYPE);
    (void)rd_string(&r, &n);
    assert_int_equal(n, 32); /* nonce */
    (void)rd_string(&r, &n);
    assert_int_equal(n, 32); /* public key */
    assert_int_equal(rd_uint(&r, 8), 77);
    assert_int_equal(rd_uint(&r, 4), PCL_SSHCERT_USER);
    assert_string_field(&r, "portcullis:alice:0123");
    s = rd_string(&r, &n);
    pr.p = s;
    pr.left = n;
    assert_string_field(&pr, "postgres");
    assert_int_equal(pr.left, 0); /* one principal only */
    assert_int_equal(rd_uint(&r, 8), 1700000000);
    assert_int_equal(rd_uint(&r, 8), 1700000300);
    (void)rd_string(&r, &n);
    assert_int_equal(n, 0); /* no critical options */
    s = rd_string(&r, &n);
    if (pty) {
        pr.p = s;
        pr.left = n;
        assert_string_field(&pr, "permit-pty");
        assert_string_field(&pr, "");
        assert_int_equal(pr.left, 0);
    } else {
        assert_int_equal(n, 0);
    }
    (void)rd_string(&r, &n);
    assert_int_equal(n, 0); /* reserved */
    s = rd_string(&r, &n);
    capub = unbase64(ca_pub_b64, &capublen);
    assert_int_equal(n, capublen);
    assert_memory_equal(s, capub, n);
    signed_len = (size_t)(r.p - blob);
    s = rd_string(&r, &n);
    assert_int_equal(r.left, 0);
    pr.p = s;
    pr.left = n;
    assert_string_field(&pr, "ssh-ed25519");
    sig = rd_string(&pr, &n);
    assert_int_equal(n, 64);
    /* The CA's signature over everything before it. */
    pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
                                     capub + capublen - 32, 32);
    ctx = EVP_MD_CTX_new();
    assert_non_null(pk);
    assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk), 1);
    assert_int_equal(EVP_DigestVerify(ctx, sig, 64, blob, signed_len), 1);
    blob[40] ^= 1; /* a nonce byte: the signature no longer holds */
    EVP_MD_CTX_free(ctx);
    ctx = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk), 1);
    assert_int_not_equal(EVP_DigestVerify(ctx, sig, 64, blob, signed_len), 1);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    /* libssh reads the session key and pairs it with its certificate
     * (ssh_pki_copy_cert_to_privkey refuses a certificate of another key). */
    assert_int_equal(ssh_pki_import_privkey_base64((const char *)out->data,
                                                   NULL, NULL, NULL, &priv),
                     SSH_OK);
    assert_int_equal(ssh_pki_import_cert_base64(out->cert,
                                                SSH_KEYTYPE_ED25519_CERT01,
                                                &cert),
                     SSH_OK);
    assert_int_equal(ssh_pki_copy_cert_to_privkey(cert, priv), SSH_OK);
    ssh_key_free(cert);
    ssh_key_free(priv);
    free(capub);
    free(blob);
    pcl_secret_free(out);
    pcl_secret_free(ca);
}

static void
test_certificate_exec(void **state)
{
    (void)state;
    check_certificate(false);
}

static void
test_certificate_pty(void **state)
{
    (void)state;
    check_certificate(true);
}

/* Two certificates: two different keys. */
static void
test_fresh_keys(void **state)
{
    struct pcl_sshcert_params p = { "root", "id", 0, 1, 2, false };
    struct pcl_secret *ca = secret_of(ca_key, PCL_VAULT_CA_KEY);
    struct pcl_secret *a = NULL;
    struct pcl_secret *b = NULL;
    char why[256];

    (void)state;
    assert_int_equal(pcl_sshcert_issue(ca, &p, &a, why, sizeof(why)), PCL_OK);
    assert_int_equal(pcl_sshcert_issue(ca, &p, &b, why, sizeof(why)), PCL_OK);
    assert_string_not_equal(a->cert, b->cert);
    assert_string_not_equal((const char *)a->data, (const char *)b->data);
    pcl_secret_free(a);
    pcl_secret_free(b);
    pcl_secret_free(ca);
}

static void
test_refusals(void **state)
{
    static const struct {
        const char *ca;
        const char *principal;
        uint64_t after;
        uint64_t before;
        int rc;
        const char *why;
    } cases[] = {
        { encrypted_key, "root", 1, 2, PCL_ERR_CONFIG, "encrypted" },
        { "not a key", "root", 1, 2, PCL_ERR_CONFIG, "not an OpenSSH" },
        { "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n"
          "-----END OPENSSH PRIVATE KEY-----\n",
          "root", 1, 2, PCL_ERR_CONFIG, "not an OpenSSH" },
        { ca_key, "", 1, 2, PCL_ERR_INVAL, "empty" },
        { ca_key, "root", 2, 2, PCL_ERR_INVAL, "validity" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pcl_sshcert_params p = { cases[i].principal, "id", 0,
                                        cases[i].after, cases[i].before,
                                        false };
        struct pcl_secret *ca = secret_of(cases[i].ca, PCL_VAULT_CA_KEY);
        struct pcl_secret *out = NULL;
        char why[256] = "";
        assert_int_equal(pcl_sshcert_issue(ca, &p, &out, why, sizeof(why)),
                         cases[i].rc);
        assert_null(out);
        if (strstr(why, cases[i].why) == NULL) {
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, why, cases[i].why);
        }
        pcl_secret_free(ca);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_certificate_exec),
        cmocka_unit_test(test_certificate_pty),
        cmocka_unit_test(test_fresh_keys),
        cmocka_unit_test(test_refusals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
