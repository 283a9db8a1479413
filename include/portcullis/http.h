/* SPDX-License-Identifier: BSD-2-Clause */
/* HTTPS requests to an OpenID Provider through libcurl: HTTPS only, peer
 * and host verified, a timeout on every request, bounded responses. */
#ifndef PCL_HTTP_H
#define PCL_HTTP_H

#include <stddef.h>

/* How every request is made; strings borrowed for the call. */
struct pcl_http_params {
    const char *ca_file;      /* PEM trust anchors, or NULL: system store */
    unsigned timeout_s;       /* whole request, seconds (>= 1) */
    size_t max_bytes;         /* response body cap, bytes */
};

/* One response: status and the body (NUL-terminated, owned; free with
 * pcl_http_response_clear, which wipes it: it may hold tokens). */
struct pcl_http_response {
    long status;
    char *body;
    size_t len;
};

/*
 * GETs url (must start with "https://"), or POSTs form (an
 * application/x-www-form-urlencoded body, NULL for a GET) with HTTP basic
 * authentication as user:password when user is not NULL (RFC 6749 2.3.1).
 * Redirects are not followed. Returns 0 with *resp filled (any HTTP status),
 * PCL_ERR_CONNECT when the server could not be reached or the connection
 * failed (why says how), PCL_ERR_HOSTKEY when it answered but its
 * certificate or host name did not verify against the CA (or the CA file
 * is unusable), PCL_ERR_TOOBIG when the body passed max_bytes,
 * PCL_ERR_INVAL for a non-https URL, PCL_ERR_NOMEM.
 */
int pcl_http_request(const struct pcl_http_params *p, const char *url,
                     const char *form, const char *user,
                     const char *password, struct pcl_http_response *resp,
                     char *why, size_t whylen);

/* Wipes and frees the body; safe on a zeroed struct. */
void pcl_http_response_clear(struct pcl_http_response *resp);

/* URL-encodes s (RFC 3986 unreserved kept) into a new string the caller
 * frees; NULL when out of memory. */
char *pcl_http_escape(const char *s);

#endif /* PCL_HTTP_H */
