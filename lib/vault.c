/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/vault.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "portcullis/err.h"
#include "portcullis/file.h"
#include "portcullis/log.h"
#include "portcullis/sshcert.h"

enum backend {
    BACKEND_FILE,
    BACKEND_COMMAND,
    BACKEND_KEYS,
    BACKEND_SSH_CA,
};

struct pcl_vault {
    enum backend backend;
    char *directory;
    char *master_key;           /* path */
    char *command;
    unsigned command_timeout_ms;
    size_t command_max_output;
    unsigned cert_validity;
    unsigned cert_backdate;
    struct pcl_secret *keys;    /* nkeys * 32 bytes, current first */
    size_t nkeys;
};

/* ------------------------------------------------------------ secrets */

int
pcl_secret_new(enum pcl_vault_type type, size_t len, struct pcl_secret **out)
{
    struct pcl_secret *s;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return PCL_ERR_NOMEM;
    }
    s->cap = len + 1;
    s->data = calloc(1, s->cap);
    if (s->data == NULL) {
        free(s);
        return PCL_ERR_NOMEM;
    }
    /* Locked so it is never paged out, and out of any core dump; neither
     * is fatal (RLIMIT_MEMLOCK may be small), the wipe still happens. */
    (void)mlock(s->data, s->cap);
#ifdef MADV_DONTDUMP
    {
        uintptr_t page = (uintptr_t)getpagesize();
        uintptr_t start = (uintptr_t)s->data & ~(page - 1);
        (void)madvise((void *)start,
                      (uintptr_t)s->data + s->cap - start, MADV_DONTDUMP);
    }
#endif
    s->type = type;
    s->len = len;
    *out = s;
    return PCL_OK;
}

void
pcl_secret_free(struct pcl_secret *s)
{
    if (s == NULL) {
        return;
    }
    if (s->data != NULL) {
        explicit_bzero(s->data, s->cap);
        (void)munlock(s->data, s->cap);
        free(s->data);
    }
    free(s->cert);
    free(s);
}

const char *
pcl_vault_type_name(enum pcl_vault_type t)
{
    switch (t) {
    case PCL_VAULT_SSH_KEY:
        return "ssh-key";
    case PCL_VAULT_PASSWORD:
        return "password";
    case PCL_VAULT_CA_KEY:
        return "ca-key";
    case PCL_VAULT_SSH_CERT:
        return "ssh-cert";
    }
    return "?";
}

int
pcl_vault_type_parse(const char *name, enum pcl_vault_type *out)
{
    static const enum pcl_vault_type all[] = {
        PCL_VAULT_SSH_KEY, PCL_VAULT_PASSWORD, PCL_VAULT_CA_KEY,
    };
    size_t i;

    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(name, pcl_vault_type_name(all[i])) == 0) {
            *out = all[i];
            return PCL_OK;
        }
    }
    return PCL_ERR_INVAL;
}

bool
pcl_vault_name_ok(const char *name)
{
    size_t i;

    if (name == NULL || name[0] == '\0' || name[0] == '.' ||
        strlen(name) > PCL_VAULT_NAME_MAX) {
        return false;
    }
    for (i = 0; name[i] != '\0'; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------ sealing */

static void
put_be(uint8_t *p, uint64_t v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        p[n - 1 - i] = (uint8_t)(v >> (8 * i));
    }
}

static uint64_t
get_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

void
pcl_vault_key_id_raw(const uint8_t *key, uint8_t *out)
{
    static const char label[] = "portcullis-vault-key-id";
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    memset(out, 0, PCL_VAULT_KEY_ID_LEN);
    if (ctx != NULL &&
        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
        EVP_DigestUpdate(ctx, label, sizeof(label)) == 1 &&
        EVP_DigestUpdate(ctx, key, PCL_VAULT_KEY_LEN) == 1 &&
        EVP_DigestFinal_ex(ctx, md, &mdlen) == 1) {
        memcpy(out, md, PCL_VAULT_KEY_ID_LEN);
    }
    EVP_MD_CTX_free(ctx);
}

static void
hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* The GCM additional data: label NUL name NUL header (to the nonce). */
static int
aad_update(EVP_CIPHER_CTX *ctx, const char *name, const uint8_t *header)
{
    int n;

    return EVP_EncryptUpdate(ctx, NULL, &n,
                             (const uint8_t *)PCL_VAULT_AAD_LABEL,
                             (int)sizeof(PCL_VAULT_AAD_LABEL)) == 1 &&
                   EVP_EncryptUpdate(ctx, NULL, &n, (const uint8_t *)name,
                                     (int)strlen(name) + 1) == 1 &&
                   EVP_EncryptUpdate(ctx, NULL, &n, header,
                                     PCL_VAULT_HEADER_LEN - 4) == 1
               ? 0
               : -1;
}

int
pcl_vault_seal_buf(const uint8_t *key, const char *name,
                   enum pcl_vault_type type, time_t created,
                   const uint8_t *plain, size_t len, uint8_t **out,
                   size_t *outlen)
{
    EVP_CIPHER_CTX *ctx = NULL;
    uint8_t *buf = NULL;
    size_t total = PCL_VAULT_HEADER_LEN + len + PCL_VAULT_TAG_LEN;
    uint8_t *h;
    int n = 0;
    int rc = PCL_ERR_CRYPTO;

    *out = NULL;
    *outlen = 0;
    if (!pcl_vault_name_ok(name) || len == 0 || len > PCL_VAULT_SECRET_MAX ||
        pcl_vault_type_name(type)[0] == '?') {
        return PCL_ERR_INVAL;
    }
    buf = calloc(1, total);
    if (buf == NULL) {
        return PCL_ERR_NOMEM;
    }
    h = buf;
    memcpy(h, PCL_VAULT_MAGIC, 8);
    h[8] = (uint8_t)type;
    put_be(h + 9, (uint64_t)created, 8);
    pcl_vault_key_id_raw(key, h + 17);
    if (RAND_bytes(h + 25, PCL_VAULT_NONCE_LEN) != 1) {
        goto out;
    }
    put_be(h + 37, (uint64_t)len, 4);
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL ||
        EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, PCL_VAULT_NONCE_LEN,
                            NULL) != 1 ||
        EVP_EncryptInit_ex(ctx, NULL, NULL, key, h + 25) != 1 ||
        aad_update(ctx, name, h) != 0 ||
        EVP_EncryptUpdate(ctx, buf + PCL_VAULT_HEADER_LEN, &n, plain,
                          (int)len) != 1 ||
        (size_t)n != len ||
        EVP_EncryptFinal_ex(ctx, buf + PCL_VAULT_HEADER_LEN + n, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, PCL_VAULT_TAG_LEN,
                            buf + PCL_VAULT_HEADER_LEN + len) != 1) {
        goto out;
    }
    *out = buf; /* transfer ownership */
    *outlen = total;
    buf = NULL;
    rc = PCL_OK;
out:
    EVP_CIPHER_CTX_free(ctx);
    free(buf);
    return rc;
}

/* Checks the fixed part of an entry; fills the metadata. */
static int
parse_header(const uint8_t *buf, size_t len, struct pcl_vault_entry_info *e,
             char *why, size_t whylen)
{
    size_t clen;

    if (len < PCL_VAULT_HEADER_LEN + PCL_VAULT_TAG_LEN ||
        memcmp(buf, PCL_VAULT_MAGIC, 8) != 0) {
        pcl_err_why(why, whylen, "not a portcullis vault entry");
        return PCL_ERR_CONFIG;
    }
    clen = (size_t)get_be(buf + 37, 4);
    if (clen == 0 || clen > PCL_VAULT_SECRET_MAX ||
        len != PCL_VAULT_HEADER_LEN + clen + PCL_VAULT_TAG_LEN) {
        pcl_err_why(why, whylen, "vault entry truncated or of a wrong "
                    "length");
        return PCL_ERR_CONFIG;
    }
    if (pcl_vault_type_name((enum pcl_vault_type)buf[8])[0] == '?') {
        pcl_err_why(why, whylen, "vault entry of unknown type %u",
                    (unsigned)buf[8]);
        return PCL_ERR_CONFIG;
    }
    e->type = (enum pcl_vault_type)buf[8];
    e->created = (time_t)get_be(buf + 9, 8);
    e->length = clen;
    hex(buf + 17, PCL_VAULT_KEY_ID_LEN, e->key_id);
    return PCL_OK;
}

int
pcl_vault_unseal_buf(const uint8_t *keys, size_t nkeys, const char *name,
                     const uint8_t *buf, size_t len, struct pcl_secret **out,
                     char *why, size_t whylen)
{
    struct pcl_vault_entry_info e;
    struct pcl_secret *s = NULL;
    EVP_CIPHER_CTX *ctx = NULL;
    const uint8_t *key = NULL;
    uint8_t id[PCL_VAULT_KEY_ID_LEN];
    uint8_t tag[PCL_VAULT_TAG_LEN];
    size_t i;
    int n = 0;
    int rc;

    *out = NULL;
    rc = parse_header(buf, len, &e, why, whylen);
    if (rc != PCL_OK) {
        return rc;
    }
    for (i = 0; i < nkeys && key == NULL; i++) {
        pcl_vault_key_id_raw(keys + i * PCL_VAULT_KEY_LEN, id);
        if (memcmp(id, buf + 17, PCL_VAULT_KEY_ID_LEN) == 0) {
            key = keys + i * PCL_VAULT_KEY_LEN;
        }
    }
    if (key == NULL) {
        pcl_err_why(why, whylen, "sealed under master key %s, which is not "
                    "in the master key file (wrong master key?)", e.key_id);
        return PCL_ERR_CRYPTO;
    }
    rc = pcl_secret_new(e.type, e.length, &s);
    if (rc != PCL_OK) {
        pcl_err_why(why, whylen, "out of memory");
        return rc;
    }
    memcpy(tag, buf + PCL_VAULT_HEADER_LEN + e.length, sizeof(tag));
    rc = PCL_ERR_CRYPTO;
    ctx = EVP_CIPHER_CTX_new();
    /* GCM decryption uses the same AAD calls; EVP_DecryptUpdate with a
     * NULL output is the AAD step as for encryption. */
    if (ctx == NULL ||
        EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, PCL_VAULT_NONCE_LEN,
                            NULL) != 1 ||
        EVP_DecryptInit_ex(ctx, NULL, NULL, key, buf + 25) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &n,
                          (const uint8_t *)PCL_VAULT_AAD_LABEL,
                          (int)sizeof(PCL_VAULT_AAD_LABEL)) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &n, (const uint8_t *)name,
                          (int)strlen(name) + 1) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &n, buf, PCL_VAULT_HEADER_LEN - 4) != 1 ||
        EVP_DecryptUpdate(ctx, s->data, &n, buf + PCL_VAULT_HEADER_LEN,
                          (int)e.length) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, PCL_VAULT_TAG_LEN,
                            tag) != 1) {
        pcl_err_why(why, whylen, "AES-256-GCM unavailable");
        goto out;
    }
    if (EVP_DecryptFinal_ex(ctx, s->data + n, &n) != 1) {
        pcl_err_why(why, whylen, "vault entry \"%s\" fails its integrity "
                    "check (tampered, renamed, or sealed for another name "
                    "or type)", name);
        goto out;
    }
    s->data[e.length] = '\0';
    *out = s; /* transfer ownership */
    s = NULL;
    rc = PCL_OK;
out:
    EVP_CIPHER_CTX_free(ctx);
    pcl_secret_free(s);
    return rc;
}

/* ------------------------------------------------------------ files */

static int
entry_path(const struct pcl_vault *v, const char *name, char *path,
           size_t len, char *why, size_t whylen)
{
    if (!pcl_vault_name_ok(name)) {
        pcl_err_why(why, whylen, "invalid credential name (letters, digits, "
                    "'.', '_', '-'; not starting with '.')");
        return PCL_ERR_INVAL;
    }
    if ((size_t)snprintf(path, len, "%s/%s", v->directory, name) >= len) {
        pcl_err_why(why, whylen, "credential path too long");
        return PCL_ERR_TOOBIG;
    }
    return PCL_OK;
}

/* Reads an entry file (checked as a secret: not readable by others). */
static int
read_entry(const struct pcl_vault *v, const char *name, uint8_t **buf,
           size_t *len, char *why, size_t whylen)
{
    char path[PATH_MAX];
    int rc;

    rc = entry_path(v, name, path, sizeof(path), why, whylen);
    if (rc != PCL_OK) {
        return rc;
    }
    rc = pcl_file_read_secret(path, PCL_VAULT_HEADER_LEN +
                                        PCL_VAULT_SECRET_MAX +
                                        PCL_VAULT_TAG_LEN,
                              buf, len, why, whylen);
    if (rc == PCL_ERR_NOTFOUND) {
        pcl_err_why(why, whylen, "no credential \"%s\" in the vault %s",
                    name, v->directory);
    }
    return rc;
}

int
pcl_vault_stat(struct pcl_vault *v, const char *name,
               struct pcl_vault_entry_info *out, char *why, size_t whylen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = read_entry(v, name, &buf, &len, why, whylen);
    if (rc == PCL_OK) {
        rc = parse_header(buf, len, out, why, whylen);
        snprintf(out->name, sizeof(out->name), "%s", name);
    }
    pcl_file_secret_free(buf, len);
    return rc;
}

int
pcl_vault_unseal(struct pcl_vault *v, const char *name,
                 struct pcl_secret **out, char *why, size_t whylen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    *out = NULL;
    if (v->keys == NULL) {
        pcl_err_why(why, whylen, "no master key loaded");
        return PCL_ERR_CONFIG;
    }
    rc = read_entry(v, name, &buf, &len, why, whylen);
    if (rc == PCL_OK) {
        rc = pcl_vault_unseal_buf(v->keys->data, v->nkeys, name, buf, len,
                                  out, why, whylen);
    }
    pcl_file_secret_free(buf, len);
    return rc;
}

/* Writes data to path atomically: a temporary file in the same directory,
 * fsync, rename, fsync of the directory. Mode 0640, group gid. */
static int
write_atomic(const char *path, const uint8_t *data, size_t len, gid_t gid,
             char *why, size_t whylen)
{
    char tmp[PATH_MAX];
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t off = 0;
    int dfd = -1;
    int fd = -1;
    int rc = PCL_ERR_SYSTEM;

    if (slash == NULL ||
        (size_t)snprintf(tmp, sizeof(tmp), "%.*s/.%s.tmp.%ld",
                         (int)(slash - path), path, slash + 1,
                         (long)getpid()) >= sizeof(tmp)) {
        pcl_err_why(why, whylen, "%s: path too long", path);
        return PCL_ERR_TOOBIG;
    }
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    if (dir[0] == '\0') {
        snprintf(dir, sizeof(dir), "/");
    }
    (void)unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0600);
    if (fd < 0) {
        pcl_err_why(why, whylen, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    if (fchown(fd, (uid_t)-1, gid) != 0 || fchmod(fd, 0640) != 0) {
        pcl_err_why(why, whylen, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            pcl_err_why(why, whylen, "%s: %s", tmp, strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        pcl_err_why(why, whylen, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        pcl_err_why(why, whylen, "%s: %s", path, strerror(errno));
        goto out;
    }
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    rc = PCL_OK;
out:
    if (fd >= 0) {
        close(fd);
    }
    if (rc != PCL_OK) {
        (void)unlink(tmp);
    }
    return rc;
}

int
pcl_vault_store(struct pcl_vault *v, const char *name,
                const struct pcl_secret *secret, time_t created, gid_t gid,
                char *why, size_t whylen)
{
    char path[PATH_MAX];
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    if (v->keys == NULL) {
        pcl_err_why(why, whylen, "only the file backend stores entries");
        return PCL_ERR_INVAL;
    }
    rc = entry_path(v, name, path, sizeof(path), why, whylen);
    if (rc != PCL_OK) {
        return rc;
    }
    rc = pcl_vault_seal_buf(v->keys->data, name, secret->type,
                            created != 0 ? created : time(NULL),
                            secret->data, secret->len, &buf, &len);
    if (rc != PCL_OK) {
        pcl_err_why(why, whylen, "cannot seal \"%s\": %s", name,
                    rc == PCL_ERR_INVAL ? "empty or larger than 64 KiB"
                                        : pcl_err_str(rc));
        return rc;
    }
    rc = write_atomic(path, buf, len, gid, why, whylen);
    free(buf); /* ciphertext: nothing to wipe */
    return rc;
}

/* ------------------------------------------------------------ master key */

static int
load_keys(struct pcl_vault *v, char *why, size_t whylen)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    int rc;

    rc = pcl_file_read_secret(v->master_key,
                              PCL_VAULT_KEYS_MAX * PCL_VAULT_KEY_LEN, &raw,
                              &len, why, whylen);
    if (rc == PCL_ERR_TOOBIG) {
        pcl_err_why(why, whylen, "%s: not a master key file (more than %d "
                    "keys)", v->master_key, PCL_VAULT_KEYS_MAX);
        rc = PCL_ERR_CONFIG;
    }
    if (rc != PCL_OK) {
        return rc;
    }
    if (len == 0 || len % PCL_VAULT_KEY_LEN != 0) {
        pcl_err_why(why, whylen, "%s: not a master key file (%zu bytes; "
                    "keys are %d bytes each)", v->master_key, len,
                    PCL_VAULT_KEY_LEN);
        pcl_file_secret_free(raw, len);
        return PCL_ERR_CONFIG;
    }
    pcl_secret_free(v->keys);
    v->keys = NULL;
    rc = pcl_secret_new(PCL_VAULT_CA_KEY, len, &v->keys);
    if (rc == PCL_OK) {
        memcpy(v->keys->data, raw, len);
        v->nkeys = len / PCL_VAULT_KEY_LEN;
    } else {
        pcl_err_why(why, whylen, "out of memory");
    }
    pcl_file_secret_free(raw, len);
    return rc;
}

int
pcl_vault_open(const struct pcl_vault_params *p, struct pcl_vault **out,
               char *why, size_t whylen)
{
    struct pcl_vault *v = NULL;
    int rc = PCL_ERR_NOMEM;

    *out = NULL;
    v = calloc(1, sizeof(*v));
    if (v == NULL) {
        pcl_err_why(why, whylen, "out of memory");
        return PCL_ERR_NOMEM;
    }
    if (strcmp(p->backend, "file") == 0) {
        v->backend = BACKEND_FILE;
    } else if (strcmp(p->backend, "command") == 0) {
        v->backend = BACKEND_COMMAND;
    } else if (strcmp(p->backend, "keys") == 0) {
        v->backend = BACKEND_KEYS;
    } else if (strcmp(p->backend, "ssh-ca") == 0) {
        v->backend = BACKEND_SSH_CA;
    } else {
        pcl_err_why(why, whylen, "unknown vault backend \"%.32s\"",
                    p->backend);
        rc = PCL_ERR_CONFIG;
        goto out;
    }
    v->directory = strdup(p->directory != NULL ? p->directory : "");
    v->master_key = strdup(p->master_key != NULL ? p->master_key : "");
    v->command = strdup(p->command != NULL ? p->command : "");
    v->command_timeout_ms = p->command_timeout_ms;
    v->command_max_output = p->command_max_output;
    v->cert_validity = p->cert_validity;
    v->cert_backdate = p->cert_backdate;
    if (v->directory == NULL || v->master_key == NULL ||
        v->command == NULL) {
        pcl_err_why(why, whylen, "out of memory");
        goto out;
    }
    switch (v->backend) {
    case BACKEND_FILE:
    case BACKEND_SSH_CA:
        rc = pcl_file_check_dir(v->directory, PCL_FILE_DIR, why, whylen);
        if (rc == PCL_OK) {
            rc = load_keys(v, why, whylen);
        }
        break;
    case BACKEND_KEYS:
        rc = pcl_file_check_dir(v->directory, PCL_FILE_DIR, why, whylen);
        break;
    case BACKEND_COMMAND:
        rc = PCL_OK;
        if (v->command[0] != '/') {
            pcl_err_why(why, whylen, "[vault] command must start with an "
                        "absolute path");
            rc = PCL_ERR_CONFIG;
        }
        break;
    }
    if (rc != PCL_OK) {
        goto out;
    }
    *out = v; /* transfer ownership */
    v = NULL;
out:
    pcl_vault_close(v);
    return rc;
}

void
pcl_vault_close(struct pcl_vault *v)
{
    if (v == NULL) {
        return;
    }
    pcl_secret_free(v->keys);
    free(v->directory);
    free(v->master_key);
    free(v->command);
    free(v);
}

const char *
pcl_vault_directory(const struct pcl_vault *v)
{
    return v->directory;
}

void
pcl_vault_key_id(const struct pcl_vault *v, char *out, size_t outlen)
{
    uint8_t id[PCL_VAULT_KEY_ID_LEN];
    char h[2 * PCL_VAULT_KEY_ID_LEN + 1];

    if (v->keys == NULL) {
        snprintf(out, outlen, "none");
        return;
    }
    pcl_vault_key_id_raw(v->keys->data, id);
    hex(id, sizeof(id), h);
    snprintf(out, outlen, "%s", h);
}

/* Reads a legacy private key file DIR/NAME (backend keys). */
static int
fetch_key_file(struct pcl_vault *v, const char *name,
               struct pcl_secret **out, char *why, size_t whylen)
{
    char path[PATH_MAX];
    uint8_t *raw = NULL;
    size_t len = 0;
    int rc;

    rc = entry_path(v, name, path, sizeof(path), why, whylen);
    if (rc != PCL_OK) {
        return rc;
    }
    rc = pcl_file_read_secret(path, PCL_VAULT_SECRET_MAX, &raw, &len, why,
                              whylen);
    if (rc != PCL_OK) {
        return rc;
    }
    rc = pcl_secret_new(PCL_VAULT_SSH_KEY, len, out);
    if (rc == PCL_OK) {
        memcpy((*out)->data, raw, len);
    } else {
        pcl_err_why(why, whylen, "out of memory");
    }
    pcl_file_secret_free(raw, len);
    return rc;
}

/* ssh-ca: a fresh key and certificate for this session only. */
static int
issue_cert(struct pcl_vault *v, const struct pcl_vault_request *req,
           struct pcl_secret **out, char *why, size_t whylen)
{
    struct pcl_sshcert_params cp;
    struct pcl_secret *ca = NULL;
    char key_id[256];
    uint64_t now = (uint64_t)time(NULL);
    int rc;

    rc = pcl_vault_unseal(v, req->name, &ca, why, whylen);
    if (rc != PCL_OK) {
        return rc;
    }
    if (ca->type != PCL_VAULT_CA_KEY) {
        pcl_err_why(why, whylen, "credential \"%s\" is a %s; the ssh-ca "
                    "backend needs a CA key", req->name,
                    pcl_vault_type_name(ca->type));
        pcl_secret_free(ca);
        return PCL_ERR_CONFIG;
    }
    /* The key id is what the target's sshd logs: who, and which session
     * (both names the proxy checked: no blanks or control bytes). */
    snprintf(key_id, sizeof(key_id), "portcullis:%s:%s", req->user,
             req->session_id);
    memset(&cp, 0, sizeof(cp));
    cp.principal = req->account;
    cp.key_id = key_id;
    cp.valid_after = now > v->cert_backdate ? now - v->cert_backdate : 0;
    cp.valid_before = now + v->cert_validity;
    cp.permit_pty = req->pty;
    rc = pcl_sshcert_issue(ca, &cp, out, why, whylen);
    pcl_secret_free(ca);
    return rc;
}

int
pcl_vault_fetch(struct pcl_vault *v, const struct pcl_vault_request *req,
                struct pcl_secret **out, char *why, size_t whylen)
{
    int rc = PCL_ERR_INVAL;

    *out = NULL;
    switch (v->backend) {
    case BACKEND_FILE:
        rc = pcl_vault_unseal(v, req->name, out, why, whylen);
        break;
    case BACKEND_SSH_CA:
        return issue_cert(v, req, out, why, whylen);
    case BACKEND_KEYS:
        rc = fetch_key_file(v, req->name, out, why, whylen);
        break;
    case BACKEND_COMMAND:
        rc = pcl_vault_run_helper(v->command, v->command_timeout_ms,
                                  v->command_max_output, req, out, why,
                                  whylen);
        break;
    }
    if (rc == PCL_OK && (*out)->type == PCL_VAULT_CA_KEY) {
        pcl_secret_free(*out);
        *out = NULL;
        pcl_err_why(why, whylen, "credential \"%s\" is a CA key, not a "
                    "login credential", req->name);
        rc = PCL_ERR_CONFIG;
    }
    return rc;
}

/* ------------------------------------------------------------ admin */

static int
random_key(uint8_t *key, char *why, size_t whylen)
{
    if (RAND_priv_bytes(key, PCL_VAULT_KEY_LEN) != 1) {
        pcl_err_why(why, whylen, "no randomness for a master key");
        return PCL_ERR_CRYPTO;
    }
    return PCL_OK;
}

int
pcl_vault_init_key(const char *path, gid_t gid, char *why, size_t whylen)
{
    uint8_t key[PCL_VAULT_KEY_LEN];
    struct stat st;
    int rc;

    if (lstat(path, &st) == 0) {
        pcl_err_why(why, whylen, "%s exists already; not overwritten (use "
                    "rotate)", path);
        return PCL_ERR_SYSTEM;
    }
    rc = random_key(key, why, whylen);
    if (rc == PCL_OK) {
        rc = write_atomic(path, key, sizeof(key), gid, why, whylen);
    }
    explicit_bzero(key, sizeof(key));
    return rc;
}

int
pcl_vault_rotate(struct pcl_vault *v, gid_t gid, size_t *resealed,
                 char *why, size_t whylen)
{
    struct pcl_secret *both = NULL;
    struct pcl_secret *s = NULL;
    struct dirent *e;
    DIR *d = NULL;
    int rc;

    *resealed = 0;
    if (v->keys == NULL) {
        pcl_err_why(why, whylen, "rotation needs the file backend");
        return PCL_ERR_INVAL;
    }
    /* Step 1: the new key in front of the current one. Every entry stays
     * readable, sealed under either. */
    rc = pcl_secret_new(PCL_VAULT_CA_KEY, 2 * PCL_VAULT_KEY_LEN, &both);
    if (rc != PCL_OK) {
        pcl_err_why(why, whylen, "out of memory");
        return rc;
    }
    if (v->nkeys > 1) {
        /* A rotation was interrupted after step 1: finish it with the
         * key it made. A new key now would drop the old one while some
         * entries may still be sealed under it. */
        memcpy(both->data, v->keys->data, 2 * PCL_VAULT_KEY_LEN);
    } else {
        rc = random_key(both->data, why, whylen);
        if (rc != PCL_OK) {
            goto out;
        }
        memcpy(both->data + PCL_VAULT_KEY_LEN, v->keys->data,
               PCL_VAULT_KEY_LEN);
        rc = write_atomic(v->master_key, both->data, both->len, gid, why,
                          whylen);
        if (rc != PCL_OK) {
            goto out;
        }
        rc = load_keys(v, why, whylen);
        if (rc != PCL_OK) {
            goto out;
        }
    }
    /* Step 2: re-seal each entry under the new key, one rename each. */
    d = opendir(v->directory);
    if (d == NULL) {
        pcl_err_why(why, whylen, "%s: %s", v->directory, strerror(errno));
        rc = PCL_ERR_SYSTEM;
        goto out;
    }
    while ((e = readdir(d)) != NULL) {
        struct pcl_vault_entry_info info;
        if (!pcl_vault_name_ok(e->d_name)) {
            continue; /* ".", "..", temporary files */
        }
        rc = pcl_vault_stat(v, e->d_name, &info, why, whylen);
        if (rc == PCL_OK) {
            rc = pcl_vault_unseal(v, e->d_name, &s, why, whylen);
        }
        if (rc == PCL_OK) {
            rc = pcl_vault_store(v, e->d_name, s, info.created, gid, why,
                                 whylen);
        }
        pcl_secret_free(s);
        s = NULL;
        if (rc != PCL_OK) {
            goto out;
        }
        (*resealed)++;
    }
    /* Step 3: the new key alone. */
    rc = write_atomic(v->master_key, both->data, PCL_VAULT_KEY_LEN, gid, why,
                      whylen);
    if (rc == PCL_OK) {
        rc = load_keys(v, why, whylen);
    }
out:
    if (d != NULL) {
        closedir(d);
    }
    pcl_secret_free(both);
    return rc;
}
