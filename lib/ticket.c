/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/ticket.h"

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portcullis/err.h"
#include "portcullis/file.h"
#include "portcullis/jwt.h"

#define MAC_LEN 32
#define PREFIX PCL_TICKET_VERSION "."

static int
mac(const uint8_t *key, size_t keylen, const char *data, size_t len,
    uint8_t out[MAC_LEN])
{
    size_t outlen = 0;

    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen,
                  (const unsigned char *)data, len, out, MAC_LEN,
                  &outlen) == NULL ||
        outlen != MAC_LEN) {
        return PCL_ERR_CRYPTO;
    }
    return PCL_OK;
}

int
pcl_ticket_issue(const struct pcl_ticket *t, const uint8_t *key,
                 size_t keylen, char **out)
{
    json_object *o = NULL;
    json_object *g = NULL;
    const char *js;
    char *payload = NULL;
    char *sig = NULL;
    char *s = NULL;
    uint8_t m[MAC_LEN];
    size_t i;
    size_t need;
    int rc = PCL_ERR_NOMEM;

    *out = NULL;
    if (keylen < PCL_TICKET_KEY_MIN) {
        return PCL_ERR_INVAL;
    }
    o = json_object_new_object();
    g = json_object_new_array();
    if (o == NULL || g == NULL) {
        json_object_put(g);
        goto out;
    }
    for (i = 0; i < t->ngroups && i < PCL_TICKET_MAX_GROUPS; i++) {
        json_object_array_add(g, json_object_new_string(t->groups[i]));
    }
    json_object_object_add(o, "user", json_object_new_string(t->user));
    json_object_object_add(o, "sub", json_object_new_string(t->sub));
    json_object_object_add(o, "iss", json_object_new_string(t->iss));
    json_object_object_add(o, "fp", json_object_new_string(t->fp));
    json_object_object_add(o, "method", json_object_new_string(t->method));
    json_object_object_add(o, "groups", g);
    json_object_object_add(o, "auth_time",
                           json_object_new_int64(t->auth_time));
    json_object_object_add(o, "iat", json_object_new_int64(t->iat));
    json_object_object_add(o, "exp", json_object_new_int64(t->exp));
    js = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    payload = js != NULL ? pcl_b64url_encode((const uint8_t *)js,
                                             strlen(js))
                         : NULL;
    if (payload == NULL) {
        goto out;
    }
    need = strlen(PREFIX) + strlen(payload) + 1 + 44 + 1;
    if (need > PCL_TICKET_MAX) {
        rc = PCL_ERR_TOOBIG;
        goto out;
    }
    s = malloc(need);
    if (s == NULL) {
        goto out;
    }
    snprintf(s, need, "%s%s", PREFIX, payload);
    rc = mac(key, keylen, s, strlen(s), m);
    if (rc != PCL_OK) {
        goto out;
    }
    sig = pcl_b64url_encode(m, sizeof(m));
    if (sig == NULL) {
        rc = PCL_ERR_NOMEM;
        goto out;
    }
    strcat(s, ".");
    strcat(s, sig);
    *out = s; /* transfer ownership */
    s = NULL;
    rc = PCL_OK;
out:
    OPENSSL_cleanse(m, sizeof(m));
    json_object_put(o);
    free(payload);
    free(sig);
    free(s);
    return rc;
}

static bool
copy_str(json_object *o, const char *name, char *dst, size_t dstlen)
{
    json_object *v;
    const char *s;

    if (!json_object_object_get_ex(o, name, &v) ||
        !json_object_is_type(v, json_type_string)) {
        return false;
    }
    s = json_object_get_string(v);
    if (strlen(s) >= dstlen) {
        return false;
    }
    memcpy(dst, s, strlen(s) + 1);
    return true;
}

static bool
copy_int(json_object *o, const char *name, int64_t *out)
{
    json_object *v;

    if (!json_object_object_get_ex(o, name, &v) ||
        !json_object_is_type(v, json_type_int)) {
        return false;
    }
    *out = json_object_get_int64(v);
    return true;
}

int
pcl_ticket_verify(const char *s, const uint8_t *key, size_t keylen,
                  const char *user, time_t now, struct pcl_ticket *out,
                  char *why, size_t whylen)
{
    size_t len = strnlen(s, PCL_TICKET_MAX + 1);
    const char *dot;
    uint8_t m[MAC_LEN];
    uint8_t *given = NULL;
    size_t glen = 0;
    uint8_t *js = NULL;
    size_t jslen = 0;
    json_object *o = NULL;
    json_object *g;
    struct json_tokener *tok = NULL;
    size_t i;
    int rc = PCL_ERR_SYNTAX;

    memset(out, 0, sizeof(*out));
    if (len > PCL_TICKET_MAX || strncmp(s, PREFIX, strlen(PREFIX)) != 0) {
        pcl_err_why(why, whylen, "not a %s ticket", PCL_TICKET_VERSION);
        return PCL_ERR_SYNTAX;
    }
    dot = strchr(s + strlen(PREFIX), '.');
    if (dot == NULL || keylen < PCL_TICKET_KEY_MIN) {
        pcl_err_why(why, whylen, "malformed ticket");
        return PCL_ERR_SYNTAX;
    }
    /* The MAC first: nothing of an unauthenticated ticket is parsed. */
    if (pcl_b64url_decode(dot + 1, strlen(dot + 1), &given, &glen) !=
            PCL_OK ||
        mac(key, keylen, s, (size_t)(dot - s), m) != PCL_OK ||
        glen != MAC_LEN || CRYPTO_memcmp(m, given, MAC_LEN) != 0) {
        pcl_err_why(why, whylen, "ticket signature does not verify "
                    "(forged, damaged, or another key)");
        rc = PCL_ERR_CRYPTO;
        goto out;
    }
    tok = json_tokener_new();
    if (tok == NULL ||
        pcl_b64url_decode(s + strlen(PREFIX),
                          (size_t)(dot - s) - strlen(PREFIX), &js,
                          &jslen) != PCL_OK) {
        pcl_err_why(why, whylen, "malformed ticket");
        goto out;
    }
    o = json_tokener_parse_ex(tok, (const char *)js, (int)jslen);
    if (o == NULL || !json_object_is_type(o, json_type_object) ||
        !copy_str(o, "user", out->user, sizeof(out->user)) ||
        !copy_str(o, "sub", out->sub, sizeof(out->sub)) ||
        !copy_str(o, "iss", out->iss, sizeof(out->iss)) ||
        !copy_str(o, "fp", out->fp, sizeof(out->fp)) ||
        !copy_str(o, "method", out->method, sizeof(out->method)) ||
        !copy_int(o, "auth_time", &out->auth_time) ||
        !copy_int(o, "iat", &out->iat) || !copy_int(o, "exp", &out->exp) ||
        !json_object_object_get_ex(o, "groups", &g) ||
        !json_object_is_type(g, json_type_array) ||
        json_object_array_length(g) > PCL_TICKET_MAX_GROUPS) {
        pcl_err_why(why, whylen, "malformed ticket contents");
        goto out;
    }
    for (i = 0; i < json_object_array_length(g); i++) {
        json_object *e = json_object_array_get_idx(g, i);
        const char *v = json_object_get_string(e);
        if (!json_object_is_type(e, json_type_string) ||
            strlen(v) >= sizeof(out->groups[0])) {
            pcl_err_why(why, whylen, "malformed ticket group");
            goto out;
        }
        memcpy(out->groups[out->ngroups++], v, strlen(v) + 1);
    }
    if (strcmp(out->user, user) != 0) {
        pcl_err_why(why, whylen, "ticket belongs to another user");
        rc = PCL_ERR_DENIED;
        goto out;
    }
    if ((int64_t)now >= out->exp) {
        pcl_err_why(why, whylen, "ticket expired %lld s ago",
                    (long long)((int64_t)now - out->exp));
        rc = PCL_ERR_DENIED;
        goto out;
    }
    if (out->iat > (int64_t)now + PCL_TICKET_SKEW) {
        pcl_err_why(why, whylen, "ticket made in the future");
        rc = PCL_ERR_DENIED;
        goto out;
    }
    rc = PCL_OK;
out:
    if (rc != PCL_OK) {
        memset(out, 0, sizeof(*out));
    }
    OPENSSL_cleanse(m, sizeof(m));
    json_object_put(o);
    if (tok != NULL) {
        json_tokener_free(tok);
    }
    free(given);
    free(js);
    return rc;
}

int
pcl_ticket_check(const char *key_path, const char *encoded, const char *user,
                 time_t now, struct pcl_ticket *t, char *why, size_t whylen)
{
    uint8_t *key = NULL;
    size_t keylen = 0;
    int rc;

    memset(t, 0, sizeof(*t));
    if (encoded == NULL || encoded[0] == '\0') {
        pcl_err_why(why, whylen, "no identity ticket");
        return PCL_ERR_NOTFOUND;
    }
    rc = pcl_file_read_secret(key_path, PCL_TICKET_KEY_MAX, &key, &keylen,
                              why, whylen);
    if (rc != PCL_OK) {
        return rc == PCL_ERR_PERM ? PCL_ERR_PERM : PCL_ERR_CONFIG;
    }
    if (keylen < PCL_TICKET_KEY_MIN) {
        pcl_err_why(why, whylen, "%s: a ticket key needs at least %d bytes",
                    key_path, PCL_TICKET_KEY_MIN);
        rc = PCL_ERR_CONFIG;
    } else {
        rc = pcl_ticket_verify(encoded, key, keylen, user, now, t, why,
                               whylen);
    }
    pcl_file_secret_free(key, keylen);
    return rc;
}

int
pcl_ticket_fingerprint(const char *auth_info, char *fp, size_t fplen)
{
    const char *line = auth_info;
    uint8_t *blob = NULL;
    uint8_t md[32];
    unsigned int mdlen = 0;
    char b64[64];
    int n;

    /* Lines "METHOD[ DETAILS]"; for publickey "publickey TYPE BASE64". */
    while (line != NULL && *line != '\0') {
        const char *end = strchr(line, '\n');
        size_t l = end != NULL ? (size_t)(end - line) : strlen(line);
        if (l > 10 && strncmp(line, "publickey ", 10) == 0) {
            const char *sp = memchr(line + 10, ' ', l - 10);
            size_t bl;
            if (sp == NULL) {
                break;
            }
            sp++;
            bl = l - (size_t)(sp - line);
            while (bl > 0 && (sp[bl - 1] == ' ' || sp[bl - 1] == '\r')) {
                bl--;
            }
            if (bl == 0 || bl > 16384 || bl % 4 != 0) {
                break;
            }
            blob = malloc(bl);
            if (blob == NULL) {
                return PCL_ERR_NOMEM;
            }
            n = EVP_DecodeBlock(blob, (const unsigned char *)sp, (int)bl);
            if (n <= 0) {
                break;
            }
            /* EVP_DecodeBlock counts padding bytes as zeros. */
            if (sp[bl - 1] == '=') {
                n--;
            }
            if (sp[bl - 2] == '=') {
                n--;
            }
            if (EVP_Digest(blob, (size_t)n, md, &mdlen, EVP_sha256(),
                           NULL) != 1) {
                break;
            }
            n = EVP_EncodeBlock((unsigned char *)b64, md, (int)mdlen);
            while (n > 0 && b64[n - 1] == '=') {
                n--;
            }
            b64[n] = '\0';
            free(blob);
            if ((size_t)snprintf(fp, fplen, "SHA256:%s", b64) >= fplen) {
                return PCL_ERR_TOOBIG;
            }
            return PCL_OK;
        }
        line = end != NULL ? end + 1 : NULL;
    }
    free(blob);
    return PCL_ERR_NOTFOUND;
}

int
pcl_ticket_join_groups(const struct pcl_ticket *t, const char *sep,
                       bool after, char *out, size_t outlen)
{
    size_t len = 0;
    size_t i;

    if (outlen == 0) {
        return PCL_ERR_TOOBIG;
    }
    out[0] = '\0';
    for (i = 0; i < t->ngroups; i++) {
        int n = snprintf(out + len, outlen - len, "%s%s%s",
                         !after && i > 0 ? sep : "", t->groups[i],
                         after ? sep : "");

        if (n < 0 || (size_t)n >= outlen - len) {
            out[len] = '\0';
            return PCL_ERR_TOOBIG;
        }
        len += (size_t)n;
    }
    return PCL_OK;
}
