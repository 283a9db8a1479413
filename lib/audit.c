/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "portcullis/err.h"
#include "portcullis/file.h"
#include "portcullis/log.h"

struct pcl_audit {
    int fd;
    bool use_syslog;
};

int
pcl_audit_open(const char *json_log, bool use_syslog, struct pcl_audit **out)
{
    struct pcl_audit *a;

    *out = NULL;
    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        return PCL_ERR_NOMEM;
    }
    a->fd = -1;
    a->use_syslog = use_syslog;
    if (json_log != NULL && json_log[0] != '\0') {
        struct stat st;
        /* Never created here: a file made by the first user to connect
         * would be theirs. make install creates it root:portcullis 0660. */
        a->fd = open(json_log, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW |
                                   O_NOCTTY);
        if (a->fd < 0) {
            error("cannot open event log %s: %s", json_log, strerror(errno));
            free(a);
            return PCL_ERR_SYSTEM;
        }
        if (fstat(a->fd, &st) != 0 || !S_ISREG(st.st_mode) ||
            (st.st_uid != 0 && st.st_uid != pcl_file_trusted_uid()) ||
            (st.st_mode & S_IRWXO) != 0) {
            /* It holds what users ran: others may neither read nor
             * write it. Its directory is group portcullis's (2770). */
            error("event log %s: must be a regular file owned by root and "
                  "closed to others (mode 0660 or 0640)", json_log);
            close(a->fd);
            free(a);
            return PCL_ERR_PERM;
        }
    }
    *out = a; /* transfer ownership */
    return PCL_OK;
}

void
pcl_audit_close(struct pcl_audit *a)
{
    if (a == NULL) {
        return;
    }
    if (a->fd >= 0) {
        close(a->fd);
    }
    free(a);
}

/* Appends ' name="value"' to a syslog line, escaping quotes and controls. */
static void
kv_append(char *line, size_t cap, const char *name, const char *value)
{
    size_t len = strlen(line);
    size_t i;

    if (len + strlen(name) + 4 >= cap) {
        return;
    }
    len += (size_t)snprintf(line + len, cap - len, " %s=\"", name);
    for (i = 0; value[i] != '\0' && len + 6 < cap; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c == '"' || c == '\\') {
            line[len++] = '\\';
            line[len++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            len += (size_t)snprintf(line + len, cap - len, "\\x%02x", c);
        } else {
            line[len++] = (char)c;
        }
    }
    if (len + 2 < cap) {
        line[len++] = '"';
    }
    line[len] = '\0';
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, at most U+10FFFF), or 0 when the bytes there are not one. */
static size_t
utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    }
    if (s[0] >= 0xe0 && s[0] <= 0xef) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
            (s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f)) {
            return 0;
        }
        return 3;
    }
    if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
            (s[3] & 0xc0) != 0x80 || (s[0] == 0xf0 && s[1] < 0x90) ||
            (s[0] == 0xf4 && s[1] > 0x8f)) {
            return 0;
        }
        return 4;
    }
    return 0;
}

/*
 * A JSON string must be UTF-8 (RFC 8259 section 8.1): untrusted values
 * (commands, names) get U+FFFD for each byte that is not. Returns a new
 * string owned by the caller, or NULL when out of memory.
 */
static char *
utf8_clean(const char *v)
{
    const unsigned char *s = (const unsigned char *)v;
    size_t n = strlen(v);
    char *out = malloc(3 * n + 1);
    size_t j = 0;
    size_t i = 0;

    if (out == NULL) {
        return NULL;
    }
    while (i < n) {
        size_t l = utf8_len(s + i);
        if (l == 0) {
            memcpy(out + j, "\xEF\xBF\xBD", 3);
            j += 3;
            i++;
        } else {
            memcpy(out + j, s + i, l);
            j += l;
            i += l;
        }
    }
    out[j] = '\0';
    return out;
}

int
pcl_audit_emit(struct pcl_audit *a, const char *event,
               const struct pcl_audit_field *fields, size_t nfields)
{
    json_object *obj = NULL;
    const char *text;
    char stamp[64];
    char *line = NULL;
    size_t len;
    struct timespec ts;
    struct tm tm;
    size_t i;
    int rc = PCL_ERR_NOMEM;

    if (a == NULL) {
        return PCL_OK;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    len = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + len, sizeof(stamp) - len, ".%03ldZ",
             ts.tv_nsec / 1000000);

    obj = json_object_new_object();
    if (obj == NULL) {
        goto out;
    }
    if (json_object_object_add(obj, "time",
                               json_object_new_string(stamp)) != 0 ||
        json_object_object_add(obj, "event",
                               json_object_new_string(event)) != 0) {
        goto out;
    }
    for (i = 0; i < nfields; i++) {
        if (fields[i].value == NULL) {
            continue;
        }
        char *clean = utf8_clean(fields[i].value);
        if (clean == NULL ||
            json_object_object_add(obj, fields[i].name,
                                   json_object_new_string(clean)) != 0) {
            free(clean);
            goto out;
        }
        free(clean);
    }
    if (a->fd >= 0) {
        text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
                                                   JSON_C_TO_STRING_NOSLASHESCAPE);
        len = strlen(text);
        line = malloc(len + 2);
        if (line == NULL) {
            goto out;
        }
        memcpy(line, text, len);
        line[len] = '\n';
        /* One write with O_APPEND: concurrent sessions never interleave. */
        if (write(a->fd, line, len + 1) != (ssize_t)(len + 1)) {
            error("event log write failed: %s", strerror(errno));
            rc = PCL_ERR_IO;
            goto out;
        }
    }
    if (a->use_syslog) {
        char sl[2048];
        int pass;
        snprintf(sl, sizeof(sl), "event=%s", event);
        /* The command last: a long one must not push the decision and
         * its reason out of a syslog line of bounded length. */
        for (pass = 0; pass < 2; pass++) {
            for (i = 0; i < nfields; i++) {
                bool is_cmd = strcmp(fields[i].name, "command") == 0;
                if (fields[i].value != NULL && is_cmd == (pass == 1)) {
                    kv_append(sl, sizeof(sl), fields[i].name,
                              fields[i].value);
                }
            }
        }
        syslog(LOG_AUTHPRIV | LOG_NOTICE, "%s", sl);
    }
    rc = PCL_OK;
out:
    free(line);
    json_object_put(obj);
    return rc;
}
