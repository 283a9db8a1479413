/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/sshcert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "portcullis/err.h"

#define ED25519_LEN 32
#define ED25519_SIG_LEN 64
#define OPENSSH_MAGIC "openssh-key-v1" /* with its NUL: 15 bytes */
#define PEM_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define PEM_END "-----END OPENSSH PRIVATE KEY-----"
#define WIRE_MAX 4096 /* bytes of a certificate or a private key blob */

/* A bounded write buffer in a locked secret (RFC 4251 section 5 types).
 * A write past the end sets err and writes nothing. */
struct wire {
    struct pcl_secret *s;
    size_t len;
    bool err;
};

static void
put_raw(struct wire *w, const void *p, size_t n)
{
    if (w->err || n > w->s->len - w->len) {
        w->err = true;
        return;
    }
    memcpy(w->s->data + w->len, p, n);
    w->len += n;
}

static void
put_u32(struct wire *w, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
                     (uint8_t)(v >> 8), (uint8_t)v };

    put_raw(w, b, 4);
}

static void
put_u64(struct wire *w, uint64_t v)
{
    put_u32(w, (uint32_t)(v >> 32));
    put_u32(w, (uint32_t)v);
}

static void
put_string(struct wire *w, const void *p, size_t n)
{
    put_u32(w, (uint32_t)n);
    put_raw(w, p, n);
}

static void
put_cstring(struct wire *w, const char *s)
{
    put_string(w, s, strlen(s));
}

/* A reader over a decoded blob. */
struct rd {
    const uint8_t *p;
    size_t len;
    bool err;
};

static uint32_t
get_u32(struct rd *r)
{
    uint32_t v;

    if (r->err || r->len < 4) {
        r->err = true;
        return 0;
    }
    v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
        (uint32_t)r->p[2] << 8 | r->p[3];
    r->p += 4;
    r->len -= 4;
    return v;
}

static const uint8_t *
get_string(struct rd *r, size_t *n)
{
    const uint8_t *s;
    uint32_t l = get_u32(r);

    if (r->err || l > r->len) {
        r->err = true;
        *n = 0;
        return NULL;
    }
    s = r->p;
    *n = l;
    r->p += l;
    r->len -= l;
    return s;
}

static bool
string_is(const uint8_t *s, size_t n, const char *want)
{
    return s != NULL && n == strlen(want) && memcmp(s, want, n) == 0;
}

/* Decodes the base64 between the PEM lines of an OpenSSH private key
 * into a locked secret. */
static int
pem_decode(const struct pcl_secret *in, struct pcl_secret **out)
{
    const char *text = (const char *)in->data;
    const char *b = strstr(text, PEM_BEGIN);
    const char *e = b != NULL ? strstr(b, PEM_END) : NULL;
    struct pcl_secret *clean = NULL;
    size_t n = 0;
    size_t pad;
    const char *p;
    int dec;
    int rc;

    *out = NULL;
    if (b == NULL || e == NULL) {
        return PCL_ERR_CONFIG;
    }
    rc = pcl_secret_new(PCL_VAULT_CA_KEY, (size_t)(e - b), &clean);
    if (rc != PCL_OK) {
        return rc;
    }
    for (p = b + strlen(PEM_BEGIN); p < e; p++) {
        if (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t') {
            clean->data[n++] = (uint8_t)*p;
        }
    }
    pad = (n >= 1 && clean->data[n - 1] == '=') +
          (n >= 2 && clean->data[n - 2] == '=');
    rc = pcl_secret_new(PCL_VAULT_CA_KEY, n / 4 * 3 + 3, out);
    if (rc != PCL_OK) {
        pcl_secret_free(clean);
        return rc;
    }
    dec = n % 4 == 0 ? EVP_DecodeBlock((*out)->data, clean->data, (int)n)
                     : -1;
    pcl_secret_free(clean);
    if (dec < 0 || (size_t)dec < pad) {
        pcl_secret_free(*out);
        *out = NULL;
        return PCL_ERR_CONFIG;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    (*out)->len = (size_t)dec - pad;
    return PCL_OK;
}

/* Reads the seed and public key of an unencrypted OpenSSH Ed25519
 * private key ("openssh-key-v1", PROTOCOL.key). */
static int
parse_ca(const struct pcl_secret *ca, uint8_t *seed, uint8_t *pub,
         char *why, size_t whylen)
{
    struct pcl_secret *blob = NULL;
    struct rd r;
    const uint8_t *s;
    size_t n;
    uint32_t check1;
    uint32_t check2;
    int rc;

    rc = pem_decode(ca, &blob);
    if (rc != PCL_OK) {
        pcl_err_why(why, whylen, "the CA key is not an OpenSSH private key");
        return rc;
    }
    rc = PCL_ERR_CONFIG;
    r.p = blob->data;
    r.len = blob->len;
    r.err = false;
    if (r.len < sizeof(OPENSSH_MAGIC) ||
        memcmp(r.p, OPENSSH_MAGIC, sizeof(OPENSSH_MAGIC)) != 0) {
        pcl_err_why(why, whylen, "the CA key is not an OpenSSH private key");
        goto out;
    }
    r.p += sizeof(OPENSSH_MAGIC);
    r.len -= sizeof(OPENSSH_MAGIC);
    s = get_string(&r, &n);
    if (!string_is(s, n, "none")) {
        pcl_err_why(why, whylen, "the CA key is encrypted (a vaulted key "
                    "must not have a passphrase)");
        goto out;
    }
    s = get_string(&r, &n); /* kdfname */
    s = get_string(&r, &n); /* kdfoptions */
    if (get_u32(&r) != 1) {
        pcl_err_why(why, whylen, "the CA key file must hold one key");
        goto out;
    }
    (void)get_string(&r, &n); /* public key blob */
    s = get_string(&r, &n);   /* private section */
    if (r.err || s == NULL) {
        pcl_err_why(why, whylen, "the CA key is truncated");
        goto out;
    }
    r.p = s;
    r.len = n;
    check1 = get_u32(&r);
    check2 = get_u32(&r);
    s = get_string(&r, &n);
    if (r.err || check1 != check2 || !string_is(s, n, PCL_SSHCERT_KEY_TYPE)) {
        pcl_err_why(why, whylen, "the CA key must be an Ed25519 key");
        goto out;
    }
    s = get_string(&r, &n);
    if (r.err || n != ED25519_LEN) {
        pcl_err_why(why, whylen, "the CA key is malformed");
        goto out;
    }
    memcpy(pub, s, ED25519_LEN);
    s = get_string(&r, &n);
    if (r.err || n != 2 * ED25519_LEN ||
        memcmp(s + ED25519_LEN, pub, ED25519_LEN) != 0) {
        pcl_err_why(why, whylen, "the CA key is malformed");
        goto out;
    }
    memcpy(seed, s, ED25519_LEN);
    rc = PCL_OK;
out:
    pcl_secret_free(blob);
    return rc;
}

/* The new key as an OpenSSH private key text, in a locked secret. */
static int
export_openssh(const uint8_t *seed, const uint8_t *pub,
               struct pcl_secret **out)
{
    struct pcl_secret *blob = NULL;
    struct pcl_secret *priv = NULL;
    struct wire w = { NULL, 0, false };
    struct wire pw = { NULL, 0, false };
    uint8_t pubblob[4 + 11 + 4 + ED25519_LEN];
    struct wire pb = { NULL, 0, false };
    struct pcl_secret pbs = { PCL_VAULT_SSH_KEY, pubblob, sizeof(pubblob),
                              sizeof(pubblob), NULL };
    uint32_t check = 0;
    uint8_t pad = 1;
    size_t b64len;
    size_t i;
    size_t n;
    int rc;

    *out = NULL;
    pb.s = &pbs;
    put_cstring(&pb, PCL_SSHCERT_KEY_TYPE);
    put_string(&pb, pub, ED25519_LEN);
    if (pcl_secret_new(PCL_VAULT_SSH_KEY, 512, &priv) != PCL_OK ||
        pcl_secret_new(PCL_VAULT_SSH_KEY, 1024, &blob) != PCL_OK) {
        rc = PCL_ERR_NOMEM;
        goto out;
    }
    (void)RAND_bytes((uint8_t *)&check, sizeof(check));
    pw.s = priv;
    put_u32(&pw, check);
    put_u32(&pw, check);
    put_cstring(&pw, PCL_SSHCERT_KEY_TYPE);
    put_string(&pw, pub, ED25519_LEN);
    put_u32(&pw, 2 * ED25519_LEN);
    put_raw(&pw, seed, ED25519_LEN);
    put_raw(&pw, pub, ED25519_LEN);
    put_cstring(&pw, "portcullis");
    while (pw.len % 8 != 0) {
        put_raw(&pw, &pad, 1);
        pad++;
    }
    w.s = blob;
    put_raw(&w, OPENSSH_MAGIC, sizeof(OPENSSH_MAGIC));
    put_cstring(&w, "none");
    put_cstring(&w, "none");
    put_cstring(&w, "");
    put_u32(&w, 1);
    put_string(&w, pubblob, pb.len);
    put_string(&w, priv->data, pw.len);
    if (w.err || pw.err || pb.err) {
        rc = PCL_ERR_NOMEM;
        goto out;
    }
    b64len = 4 * ((w.len + 2) / 3);
    rc = pcl_secret_new(PCL_VAULT_SSH_CERT,
                        strlen(PEM_BEGIN) + strlen(PEM_END) + b64len +
                            b64len / 70 + 8,
                        out);
    if (rc != PCL_OK) {
        goto out;
    }
    {
        struct pcl_secret *b64 = NULL;
        char *o = (char *)(*out)->data;
        rc = pcl_secret_new(PCL_VAULT_SSH_CERT, b64len, &b64);
        if (rc != PCL_OK) {
            goto out;
        }
        (void)EVP_EncodeBlock(b64->data, blob->data, (int)w.len);
        n = (size_t)sprintf(o, "%s\n", PEM_BEGIN);
        for (i = 0; i < b64len; i += 70) {
            size_t l = b64len - i < 70 ? b64len - i : 70;
            memcpy(o + n, b64->data + i, l);
            n += l;
            o[n++] = '\n';
        }
        n += (size_t)sprintf(o + n, "%s\n", PEM_END);
        (*out)->len = n;
        pcl_secret_free(b64);
    }
    rc = PCL_OK;
out:
    pcl_secret_free(priv);
    pcl_secret_free(blob);
    if (rc != PCL_OK) {
        pcl_secret_free(*out);
        *out = NULL;
    }
    return rc;
}

/* Sorted extension names with empty data (PROTOCOL.certkeys: "Extensions
 * ... must be lexically ordered"). */
static void
put_extensions(struct wire *w, const struct pcl_sshcert_params *p)
{
    uint8_t buf[64];
    struct pcl_secret s = { PCL_VAULT_SSH_KEY, buf, sizeof(buf), sizeof(buf),
                            NULL };
    struct wire e = { &s, 0, false };

    if (p->permit_pty) {
        put_cstring(&e, "permit-pty");
        put_cstring(&e, "");
    }
    if (e.err) {
        w->err = true;
    }
    put_string(w, buf, e.len);
}

int
pcl_sshcert_issue(const struct pcl_secret *ca,
                  const struct pcl_sshcert_params *p,
                  struct pcl_secret **out, char *why, size_t whylen)
{
    uint8_t ca_seed[ED25519_LEN];
    uint8_t ca_pub[ED25519_LEN];
    uint8_t seed[ED25519_LEN];
    uint8_t pub[ED25519_LEN];
    uint8_t nonce[32];
    uint8_t sig[ED25519_SIG_LEN];
    uint8_t principals[300];
    uint8_t cabuf[64];
    struct pcl_secret prs = { PCL_VAULT_SSH_KEY, principals,
                              sizeof(principals), sizeof(principals), NULL };
    struct pcl_secret cas = { PCL_VAULT_SSH_KEY, cabuf, sizeof(cabuf),
                              sizeof(cabuf), NULL };
    struct wire pr = { &prs, 0, false };
    struct wire cw = { &cas, 0, false };
    struct pcl_secret *certbuf = NULL;
    struct wire w = { NULL, 0, false };
    EVP_PKEY_CTX *kctx = NULL;
    EVP_PKEY *userkey = NULL;
    EVP_PKEY *cakey = NULL;
    EVP_MD_CTX *mctx = NULL;
    uint64_t serial = p->serial;
    size_t siglen = sizeof(sig);
    size_t l;
    int rc;

    *out = NULL;
    if (p->principal == NULL || p->principal[0] == '\0' ||
        p->key_id == NULL || p->key_id[0] == '\0' ||
        p->valid_before <= p->valid_after) {
        pcl_err_why(why, whylen, "certificate: empty principal, key id or "
                    "validity");
        return PCL_ERR_INVAL;
    }
    rc = parse_ca(ca, ca_seed, ca_pub, why, whylen);
    if (rc != PCL_OK) {
        goto out;
    }
    rc = PCL_ERR_CRYPTO;
    /* The session's own key pair. */
    kctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    l = sizeof(pub);
    if (kctx == NULL || EVP_PKEY_keygen_init(kctx) != 1 ||
        EVP_PKEY_keygen(kctx, &userkey) != 1 ||
        EVP_PKEY_get_raw_public_key(userkey, pub, &l) != 1 ||
        l != sizeof(pub) ||
        (l = sizeof(seed),
         EVP_PKEY_get_raw_private_key(userkey, seed, &l) != 1) ||
        l != sizeof(seed) ||
        RAND_bytes(nonce, sizeof(nonce)) != 1 ||
        (serial == 0 &&
         RAND_bytes((uint8_t *)&serial, sizeof(serial)) != 1)) {
        pcl_err_why(why, whylen, "cannot make an Ed25519 key pair");
        goto out;
    }
    put_cstring(&pr, p->principal);
    put_cstring(&cw, PCL_SSHCERT_KEY_TYPE);
    put_string(&cw, ca_pub, ED25519_LEN);
    rc = pcl_secret_new(PCL_VAULT_SSH_KEY, WIRE_MAX, &certbuf);
    if (rc != PCL_OK || pr.err || cw.err) {
        pcl_err_why(why, whylen, "certificate: principal too long");
        rc = rc != PCL_OK ? rc : PCL_ERR_INVAL;
        goto out;
    }
    /* PROTOCOL.certkeys, "ssh-ed25519-cert-v01@openssh.com". */
    w.s = certbuf;
    put_cstring(&w, PCL_SSHCERT_TYPE);
    put_string(&w, nonce, sizeof(nonce));
    put_string(&w, pub, ED25519_LEN);
    put_u64(&w, serial);
    put_u32(&w, PCL_SSHCERT_USER);
    put_cstring(&w, p->key_id);
    put_string(&w, principals, pr.len);
    put_u64(&w, p->valid_after);
    put_u64(&w, p->valid_before);
    put_string(&w, "", 0); /* critical options: none */
    put_extensions(&w, p);
    put_string(&w, "", 0); /* reserved */
    put_string(&w, cabuf, cw.len);
    if (w.err) {
        pcl_err_why(why, whylen, "certificate too large");
        rc = PCL_ERR_TOOBIG;
        goto out;
    }
    rc = PCL_ERR_CRYPTO;
    cakey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, ca_seed,
                                         sizeof(ca_seed));
    mctx = EVP_MD_CTX_new();
    if (cakey == NULL || mctx == NULL ||
        EVP_DigestSignInit(mctx, NULL, NULL, NULL, cakey) != 1 ||
        EVP_DigestSign(mctx, sig, &siglen, certbuf->data, w.len) != 1 ||
        siglen != sizeof(sig)) {
        pcl_err_why(why, whylen, "cannot sign the certificate");
        goto out;
    }
    {
        /* The signature: string "ssh-ed25519", string 64 bytes. */
        uint8_t sb[4 + 11 + 4 + ED25519_SIG_LEN];
        struct pcl_secret ss = { PCL_VAULT_SSH_KEY, sb, sizeof(sb),
                                 sizeof(sb), NULL };
        struct wire sw = { &ss, 0, false };
        put_cstring(&sw, PCL_SSHCERT_KEY_TYPE);
        put_string(&sw, sig, siglen);
        put_string(&w, sb, sw.len);
    }
    if (w.err) {
        pcl_err_why(why, whylen, "certificate too large");
        rc = PCL_ERR_TOOBIG;
        goto out;
    }
    rc = export_openssh(seed, pub, out);
    if (rc != PCL_OK) {
        pcl_err_why(why, whylen, "cannot export the session key");
        goto out;
    }
    (*out)->cert = calloc(1, 4 * ((w.len + 2) / 3) + 1);
    if ((*out)->cert == NULL) {
        pcl_err_why(why, whylen, "out of memory");
        rc = PCL_ERR_NOMEM;
        goto out;
    }
    (void)EVP_EncodeBlock((uint8_t *)(*out)->cert, certbuf->data, (int)w.len);
    rc = PCL_OK;
out:
    explicit_bzero(ca_seed, sizeof(ca_seed));
    explicit_bzero(seed, sizeof(seed));
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_free(cakey);
    EVP_PKEY_free(userkey);
    EVP_PKEY_CTX_free(kctx);
    pcl_secret_free(certbuf);
    if (rc != PCL_OK) {
        pcl_secret_free(*out);
        *out = NULL;
    }
    return rc;
}
