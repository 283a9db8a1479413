/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/webhook.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "portcullis/approval.h"
#include "portcullis/err.h"
#include "portcullis/parse.h"

/* Adds key: a valid-UTF-8 copy of v (or null). Returns false when out of
 * memory. */
static bool
add_string(struct json_object *o, const char *key, const char *v)
{
    struct json_object *s = NULL;
    char *clean;

    if (v != NULL) {
        clean = pcl_utf8_clean(v);
        if (clean == NULL) {
            return false;
        }
        s = json_object_new_string(clean);
        free(clean);
        if (s == NULL) {
            return false;
        }
    }
    return json_object_object_add(o, key, s) == 0;
}

/* Appends v to out (at *n of cap bytes) with Slack's escapes. */
static void
slack_append(char *out, size_t cap, size_t *n, const char *v)
{
    for (; v != NULL && *v != '\0'; v++) {
        unsigned char c = (unsigned char)*v;
        const char *esc = c == '&' ? "&amp;"
                          : c == '<' ? "&lt;"
                          : c == '>' ? "&gt;"
                                     : NULL;
        char one[2] = { (c < 0x20 || c == 0x7f) ? '?' : (char)c, '\0' };
        const char *add = esc != NULL ? esc : one;
        size_t l = strlen(add);

        if (*n + l + 1 > cap) {
            break;
        }
        memcpy(out + *n, add, l);
        *n += l;
    }
    out[*n] = '\0';
}

char *
pcl_webhook_body(const struct pcl_webhook_msg *m,
                 enum pcl_webhook_format format)
{
    struct json_object *o = json_object_new_object();
    char created[32], expires[32], approve[256];
    char *body = NULL;
    bool ok = o != NULL;

    pcl_approval_time(m->created, created, sizeof(created));
    pcl_approval_time(m->expires, expires, sizeof(expires));
    snprintf(approve, sizeof(approve), "ssh %s approve %s", m->bastion,
             m->id);
    if (ok && format == PCL_WEBHOOK_SLACK) {
        /* The longest fields are capped by the store (4 KiB each). */
        size_t cap = 64 + 6 * (strlen(m->user) + strlen(m->account) +
                               strlen(m->target) + strlen(m->reason) +
                               (m->command != NULL ? strlen(m->command)
                                                   : 0) +
                               strlen(approve) + strlen(expires));
        char *text = malloc(cap);
        size_t n = 0;

        ok = text != NULL;
        if (ok) {
            text[0] = '\0';
            slack_append(text, cap, &n, "portcullis: ");
            slack_append(text, cap, &n, m->user);
            slack_append(text, cap, &n, " asks for ");
            slack_append(text, cap, &n, m->account);
            slack_append(text, cap, &n, "@");
            slack_append(text, cap, &n, m->target);
            if (m->command != NULL) {
                slack_append(text, cap, &n, " to run `");
                slack_append(text, cap, &n, m->command);
                slack_append(text, cap, &n, "`");
            }
            slack_append(text, cap, &n, " (request ");
            slack_append(text, cap, &n, m->id);
            slack_append(text, cap, &n, ", until ");
            slack_append(text, cap, &n, expires);
            slack_append(text, cap, &n, "): ");
            slack_append(text, cap, &n, m->reason);
            slack_append(text, cap, &n, ". To approve: ");
            slack_append(text, cap, &n, approve);
            ok = add_string(o, "text", text);
            free(text);
        }
    } else if (ok) {
        ok = add_string(o, "event", "approval-request") &&
             add_string(o, "id", m->id) && add_string(o, "user", m->user) &&
             add_string(o, "target", m->target) &&
             add_string(o, "account", m->account) &&
             add_string(o, "command", m->command) &&
             add_string(o, "reason", m->reason) &&
             json_object_object_add(o, "required",
                                    json_object_new_int((int)m->required)) ==
                 0 &&
             add_string(o, "created", created) &&
             add_string(o, "expires", expires) &&
             add_string(o, "bastion", m->bastion) &&
             add_string(o, "approve", approve);
    }
    if (ok) {
        const char *s = json_object_to_json_string_ext(
            o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        body = s != NULL ? strdup(s) : NULL;
    }
    json_object_put(o);
    return body;
}

/* Discards the response body (only the status matters). */
static size_t
discard(char *ptr, size_t size, size_t nmemb, void *ctx)
{
    (void)ptr;
    (void)ctx;
    return size * nmemb;
}

/* One attempt. Returns 0 or PCL_ERR_CONNECT with why. */
static int
post_once(const struct pcl_webhook_params *p, const char *body, char *why,
          size_t whylen)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hdr = NULL;
    char err[CURL_ERROR_SIZE] = "";
    long status = 0;
    CURLcode cc;
    int rc = PCL_ERR_CONNECT;

    if (c == NULL) {
        pcl_err_why(why, whylen, "curl_easy_init failed");
        return rc;
    }
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    if (hdr == NULL) {
        pcl_err_why(why, whylen, "out of memory");
        goto out;
    }
    if (curl_easy_setopt(c, CURLOPT_URL, p->url) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https") !=
            CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        /* Straight to the server: no proxy from anyone's environment. */
        curl_easy_setopt(c, CURLOPT_PROXY, "") != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)p->timeout) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)p->timeout) !=
            CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_USERAGENT, "portcullis/" VERSION) !=
            CURLE_OK ||
        (p->ca_file != NULL && p->ca_file[0] != '\0' &&
         curl_easy_setopt(c, CURLOPT_CAINFO, p->ca_file) != CURLE_OK)) {
        pcl_err_why(why, whylen, "cannot set up the request");
        goto out;
    }
    cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        pcl_err_why(why, whylen, "%s", err[0] != '\0'
                                           ? err
                                           : curl_easy_strerror(cc));
        goto out;
    }
    (void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        pcl_err_why(why, whylen, "HTTP status %ld", status);
        goto out;
    }
    rc = PCL_OK;
out:
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    return rc;
}

int
pcl_webhook_post(const struct pcl_webhook_params *p, const char *body,
                 char *why, size_t whylen)
{
    unsigned attempt;
    unsigned delay = 1;
    int rc = PCL_ERR_CONNECT;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        pcl_err_why(why, whylen, "curl_global_init failed");
        return rc;
    }
    for (attempt = 0; attempt <= p->retries; attempt++) {
        if (attempt > 0) {
            sleep(delay);
            delay *= 2;
        }
        rc = post_once(p, body, why, whylen);
        if (rc == PCL_OK) {
            break;
        }
    }
    curl_global_cleanup();
    return rc;
}
