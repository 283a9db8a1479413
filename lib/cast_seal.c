/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "cast_seal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "portcullis/err.h"

#define PEM_MARK "-----BEGIN "
#define ED25519_SIG 64
#define ED25519_PUB 32

struct pcl_cast_seal_key {
    EVP_PKEY *pkey;      /* Ed25519, or NULL for HMAC */
    bool priv;           /* pkey holds the private key */
    uint8_t *hmac;       /* HMAC key: locked, wiped on free */
    size_t hmac_len;
    char id[32];
};

void
pcl_cast_hex(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* "sha256:" and the first 16 hex digits of SHA-256(b). */
static int
make_id(const uint8_t *b, size_t n, char out[32])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    char h[17];

    if (EVP_Digest(b, n, md, &mdlen, EVP_sha256(), NULL) != 1 ||
        mdlen != 32) {
        return PCL_ERR_CRYPTO;
    }
    pcl_cast_hex(md, 8, h);
    snprintf(out, 32, "sha256:%s", h);
    return PCL_OK;
}

/* OpenSSL's default asks for a passphrase on the terminal, which is the
 * user's in a session: an encrypted key must fail instead. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* Reads an Ed25519 key from PEM text: private first, then public. */
static int
parse_pem(struct pcl_cast_seal_key *k, const uint8_t *buf, size_t len,
          char *why, size_t whylen)
{
    uint8_t pub[ED25519_PUB];
    size_t publen = sizeof(pub);
    BIO *bio = BIO_new_mem_buf(buf, (int)len);

    if (bio == NULL) {
        return PCL_ERR_NOMEM;
    }
    k->pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    k->priv = k->pkey != NULL;
    if (k->pkey == NULL) {
        (void)BIO_reset(bio);
        k->pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
    }
    BIO_free(bio);
    /* A passphrase prompt or parse error must not leave OpenSSL's queue
     * to confuse a later caller. */
    ERR_clear_error();
    if (k->pkey == NULL) {
        snprintf(why, whylen, "a PEM seal key must be an unencrypted "
                              "PRIVATE KEY or a PUBLIC KEY");
        return PCL_ERR_INVAL;
    }
    if (EVP_PKEY_get_base_id(k->pkey) != EVP_PKEY_ED25519) {
        snprintf(why, whylen, "a PEM seal key must be Ed25519 (openssl "
                              "genpkey -algorithm ed25519)");
        return PCL_ERR_INVAL;
    }
    if (EVP_PKEY_get_raw_public_key(k->pkey, pub, &publen) != 1 ||
        publen != sizeof(pub) || make_id(pub, publen, k->id) != PCL_OK) {
        snprintf(why, whylen, "cannot read the Ed25519 public key");
        return PCL_ERR_INVAL;
    }
    return PCL_OK;
}

int
pcl_cast_seal_key_parse(const uint8_t *buf, size_t len,
                        struct pcl_cast_seal_key **out, char *why,
                        size_t whylen)
{
    struct pcl_cast_seal_key *k;
    int rc = PCL_ERR_NOMEM;

    *out = NULL;
    if (buf == NULL || len == 0) {
        snprintf(why, whylen, "empty seal key");
        return PCL_ERR_INVAL;
    }
    k = calloc(1, sizeof(*k));
    if (k == NULL) {
        return PCL_ERR_NOMEM;
    }
    if (len >= strlen(PEM_MARK) &&
        memcmp(buf, PEM_MARK, strlen(PEM_MARK)) == 0) {
        rc = parse_pem(k, buf, len, why, whylen);
    } else {
        rc = PCL_ERR_NOMEM;
        k->hmac = calloc(1, len);
        if (k->hmac != NULL) {
            (void)mlock(k->hmac, len);
            memcpy(k->hmac, buf, len);
            k->hmac_len = len;
            rc = make_id(buf, len, k->id);
            if (rc != PCL_OK) {
                snprintf(why, whylen, "SHA-256 unavailable");
            }
        }
    }
    if (rc != PCL_OK) {
        pcl_cast_seal_key_free(k);
        return rc;
    }
    *out = k;
    return PCL_OK;
}

void
pcl_cast_seal_key_free(struct pcl_cast_seal_key *k)
{
    if (k == NULL) {
        return;
    }
    EVP_PKEY_free(k->pkey);
    if (k->hmac != NULL) {
        OPENSSL_cleanse(k->hmac, k->hmac_len);
        (void)munlock(k->hmac, k->hmac_len);
        free(k->hmac);
    }
    free(k);
}

const char *
pcl_cast_seal_key_alg(const struct pcl_cast_seal_key *k)
{
    return k->pkey != NULL ? PCL_CAST_ALG_ED25519 : PCL_CAST_ALG_HMAC;
}

const char *
pcl_cast_seal_key_field(const struct pcl_cast_seal_key *k)
{
    return k->pkey != NULL ? "sig" : "mac";
}

const char *
pcl_cast_seal_key_id(const struct pcl_cast_seal_key *k)
{
    return k->id;
}

bool
pcl_cast_seal_key_can_sign(const struct pcl_cast_seal_key *k)
{
    return k->pkey == NULL || k->priv;
}

int
pcl_cast_seal_key_sign(const struct pcl_cast_seal_key *k, const char *msg,
                       size_t len, char out[PCL_CAST_SEAL_VALUE_MAX])
{
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    uint8_t sig[ED25519_SIG];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *ctx;
    int ok;

    if (k->pkey == NULL) {
        if (HMAC(EVP_sha256(), k->hmac, (int)k->hmac_len,
                 (const unsigned char *)msg, len, mac, &maclen) == NULL ||
            maclen != 32) {
            return PCL_ERR_CRYPTO;
        }
        pcl_cast_hex(mac, 32, out);
        OPENSSL_cleanse(mac, sizeof(mac));
        return PCL_OK;
    }
    if (!k->priv) {
        return PCL_ERR_INVAL;
    }
    /* Ed25519 is PureEdDSA: no digest, the message in one call. */
    ctx = EVP_MD_CTX_new();
    ok = ctx != NULL &&
         EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
         EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)msg,
                        len) == 1 &&
         siglen == sizeof(sig);
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        ERR_clear_error();
        return PCL_ERR_CRYPTO;
    }
    (void)EVP_EncodeBlock((unsigned char *)out, sig, (int)siglen);
    return PCL_OK;
}

bool
pcl_cast_seal_key_check(const struct pcl_cast_seal_key *k, const char *msg,
                        size_t len, const char *value)
{
    char want[PCL_CAST_SEAL_VALUE_MAX];
    uint8_t sig[ED25519_SIG + 3];
    EVP_MD_CTX *ctx;
    bool ok;

    if (k->pkey == NULL) {
        ok = pcl_cast_seal_key_sign(k, msg, len, want) == PCL_OK &&
             strlen(value) == 64 && CRYPTO_memcmp(want, value, 64) == 0;
        OPENSSL_cleanse(want, sizeof(want));
        return ok;
    }
    /* 64 bytes are 88 base64 characters ending in "=="; EVP_DecodeBlock
     * counts the padding as two zero bytes. */
    if (strlen(value) != 88 || strcmp(value + 86, "==") != 0 ||
        EVP_DecodeBlock(sig, (const unsigned char *)value, 88) !=
            ED25519_SIG + 2) {
        return false;
    }
    ctx = EVP_MD_CTX_new();
    ok = ctx != NULL &&
         EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
         EVP_DigestVerify(ctx, sig, ED25519_SIG, (const unsigned char *)msg,
                          len) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}
