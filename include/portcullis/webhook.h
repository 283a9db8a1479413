/* SPDX-License-Identifier: BSD-2-Clause */
/* Notification of approvers: a new request posted over HTTPS (libcurl) as
 * a documented JSON body or a Slack-compatible message (portcullis.conf(5),
 * WEBHOOK). */
#ifndef PCL_WEBHOOK_H
#define PCL_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

/* What a notification says. Borrowed strings, untrusted ones included
 * (reason, command): they are escaped here, never by the caller. */
struct pcl_webhook_msg {
    const char *id;        /* request id */
    const char *user;
    const char *target;
    const char *account;
    const char *command;   /* NULL: not scoped to a command */
    const char *reason;
    unsigned required;
    int64_t created;       /* Unix seconds */
    int64_t expires;       /* Unix seconds */
    const char *bastion;   /* host name, for the "approve" hint */
};

enum pcl_webhook_format {
    PCL_WEBHOOK_JSON,      /* the document of portcullis.conf(5) */
    PCL_WEBHOOK_SLACK,     /* {"text": "..."} (Slack incoming webhook) */
};

/*
 * Builds the body of m in format with json-c (RFC 8259; bytes that are not
 * UTF-8 become U+FFFD first; Slack's &, <, > escaped as &amp; &lt; &gt;,
 * control characters as '?'). Returns a string the caller frees, or NULL
 * when out of memory.
 */
char *pcl_webhook_body(const struct pcl_webhook_msg *m,
                       enum pcl_webhook_format format);

/* Where and how to post. Borrowed strings. */
struct pcl_webhook_params {
    const char *url;        /* https:// only */
    const char *ca_file;    /* PEM bundle, or NULL/"" for the system's */
    unsigned timeout;       /* seconds per attempt, connection included */
    unsigned retries;       /* attempts after the first */
};

/*
 * POSTs body (application/json) to p->url, HTTPS only (CURLOPT_PROTOCOLS_STR
 * "https"), certificate and host verified, no redirects, with up to
 * p->retries further attempts 1, 2, 4... seconds apart after a transport
 * error or a status other than 2xx. Blocks: run it in a child process.
 * Returns 0, or PCL_ERR_CONNECT with why (whylen bytes) saying the last
 * failure.
 */
int pcl_webhook_post(const struct pcl_webhook_params *p, const char *body,
                     char *why, size_t whylen);

#endif /* PCL_WEBHOOK_H */
