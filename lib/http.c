/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/http.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "portcullis/err.h"

struct sink {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
    bool too_big;
};

/* Grows the body by doubling up to max; wipes what it moves, since token
 * responses pass through here. */
static size_t
on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct sink *s = userdata;
    size_t n = size * nmemb;
    char *grown;
    size_t cap;

    if (n > s->max - s->len) {
        s->too_big = true;
        return 0; /* libcurl then fails with CURLE_WRITE_ERROR */
    }
    if (s->len + n + 1 > s->cap) {
        cap = s->cap == 0 ? 4096 : s->cap;
        while (cap < s->len + n + 1) {
            cap *= 2;
        }
        grown = malloc(cap);
        if (grown == NULL) {
            return 0;
        }
        if (s->data != NULL) {
            memcpy(grown, s->data, s->len);
            explicit_bzero(s->data, s->cap);
            free(s->data);
        }
        s->data = grown;
        s->cap = cap;
    }
    memcpy(s->data + s->len, ptr, n);
    s->len += n;
    s->data[s->len] = '\0';
    return n;
}

/* Whether a libcurl error means the server's certificate or name did not
 * verify (or our CA file is unusable), as opposed to a server that could
 * not be reached. */
static bool
tls_identity_failed(CURLcode cc)
{
    switch (cc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
        return true;
    default:
        return false;
    }
}

int
pcl_http_request(const struct pcl_http_params *p, const char *url,
                 const char *form, const char *user, const char *password,
                 struct pcl_http_response *resp, char *why, size_t whylen)
{
    struct sink s = { NULL, 0, 0, p->max_bytes, false };
    struct curl_slist *hdr = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *c = NULL;
    CURLcode cc;
    int rc;

    memset(resp, 0, sizeof(*resp));
    if (strncmp(url, "https://", 8) != 0) {
        pcl_err_why(why, whylen, "refusing a non-https URL");
        return PCL_ERR_INVAL;
    }
    c = curl_easy_init();
    if (c == NULL) {
        pcl_err_why(why, whylen, "out of memory");
        return PCL_ERR_NOMEM;
    }
    hdr = curl_slist_append(NULL, "Accept: application/json");
    /* Every setting that makes this safe, in one place: HTTPS only (also
     * for redirects, which are not followed anyway), peer and host
     * verified, a connect timeout and an overall one, no signals (we run
     * inside sshd), no proxies from the environment. */
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (p->ca_file != NULL && p->ca_file[0] != '\0') {
        curl_easy_setopt(c, CURLOPT_CAINFO, p->ca_file);
    }
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)p->timeout_s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)p->timeout_s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)p->max_bytes);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "pam_portcullis/" PACKAGE_VERSION);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    if (form != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
    }
    if (user != NULL) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, password != NULL ? password
                                                                : "");
    }
    cc = curl_easy_perform(c);
    if (s.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
        pcl_err_why(why, whylen, "response larger than %zu bytes",
                    p->max_bytes);
        rc = PCL_ERR_TOOBIG;
        goto out;
    }
    if (cc != CURLE_OK) {
        /* errbuf names the host and the TLS failure, never a secret. */
        const char *what = errbuf[0] != '\0' ? errbuf
                                               : curl_easy_strerror(cc);

        if (tls_identity_failed(cc)) {
            /* The server answered but is not who it must be: not an
             * outage, so failmode open must never apply to it. */
            pcl_err_why(why, whylen, "server certificate not trusted: %s",
                        what);
            rc = PCL_ERR_HOSTKEY;
        } else {
            pcl_err_why(why, whylen, "%s", what);
            rc = PCL_ERR_CONNECT;
        }
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    if (s.data == NULL) {
        s.data = calloc(1, 1);
        if (s.data == NULL) {
            rc = PCL_ERR_NOMEM;
            goto out;
        }
        s.cap = 1;
    }
    resp->body = s.data; /* transfer ownership */
    resp->len = s.len;
    s.data = NULL;
    rc = PCL_OK;
out:
    if (s.data != NULL) {
        explicit_bzero(s.data, s.cap);
        free(s.data);
    }
    if (user != NULL) {
        /* libcurl keeps its own copy of the password until cleanup. */
        curl_easy_setopt(c, CURLOPT_PASSWORD, "");
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    return rc;
}

void
pcl_http_response_clear(struct pcl_http_response *resp)
{
    if (resp->body != NULL) {
        explicit_bzero(resp->body, resp->len);
        free(resp->body);
    }
    memset(resp, 0, sizeof(*resp));
}

char *
pcl_http_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    char *copy;

    if (e == NULL) {
        return NULL;
    }
    /* Returned memory is freed with free(3) by callers, not curl_free. */
    copy = strdup(e);
    curl_free(e);
    return copy;
}
