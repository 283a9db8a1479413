/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libaudit.h>

#include "portcullis/err.h"
#include "portcullis/file.h"
#include "portcullis/log.h"
#include "portcullis/parse.h"
#include "portcullis/proc.h"

/*
 * Bytes of a Linux audit record that are ours. libaudit appends exe=,
 * hostname=, addr=, terminal= and res= within MAX_AUDIT_MESSAGE_LENGTH
 * (8970) and silently cuts what does not fit, res= first: this leaves
 * them room. Changing it changes how much of a long command the kernel
 * records (portcullis-audit(5), "Linux audit records").
 */
#define KERNEL_MSG_MAX 6144

struct pcl_audit {
    int fd;                 /* JSON log, or -1 */
    bool use_syslog;
    bool required;
    int kfd;                /* audit netlink socket, or -1 */
    struct pcl_audit_kernel_ops kops;
    char *addr;             /* client address for the records, or NULL */
    bool kernel_warned;     /* a refused record was logged as an error */
};

/*
 * The Linux audit record type of each event, and what makes its result
 * res=success: field has value (field NULL: always when value is non-NULL,
 * never when it is NULL). portcullis-audit(5) documents this table;
 * changing it changes what auditors' ausearch -m queries find.
 */
static const struct event_type {
    const char *event;
    int type;
    const char *field;
    const char *value;
} event_types[] = {
    { "decision", AUDIT_USER_ACCT, "decision", "allow" },
    { "session-start", AUDIT_USER_START, NULL, "success" },
    { "connect-failure", AUDIT_USER_START, NULL, NULL },
    { "credential", AUDIT_CRED_ACQ, "outcome", "fetched" },
    { "session-end", AUDIT_USER_END, NULL, "success" },
    { "recording-end", AUDIT_TRUSTED_APP, "seal", "sealed" },
    { "recording-failure", AUDIT_TRUSTED_APP, NULL, NULL },
    { "index-failure", AUDIT_TRUSTED_APP, NULL, NULL },
    /* pam_portcullis(8) */
    { "oidc-login", AUDIT_USER_AUTH, "result", "success" },
    { "oidc-failopen", AUDIT_USER_AUTH, NULL, "success" },
    { "oidc-remember", AUDIT_TRUSTED_APP, NULL, "success" },
};

/*
 * Field names in Linux audit records that differ from the JSON log: the
 * names auparse knows, so that ausearch -i decodes their values; NULL
 * for fields the kernel writes itself (its record has a time stamp and
 * the sender's pid=).
 */
static const struct {
    const char *field;
    const char *kernel;
} kernel_names[] = {
    { "time", NULL },
    { "pid", NULL },
    { "account", "acct" },
    { "command", "cmd" },
};

/* ---------------------------------------------------------------- libaudit */

static int
lib_open(void *ctx)
{
    (void)ctx;
    /* libaudit prints its errors on stderr by default: here that is the
     * user's terminal. They are reported through our logger instead. */
    set_aumessage_mode(MSG_QUIET, DBG_NO);
    return audit_open();
}

static int
lib_send(void *ctx, int fd, int type, const char *message, const char *addr,
         int result)
{
    (void)ctx;
    /* hostname NULL: "?", no lookup; tty NULL: libaudit names the
     * terminal on stdin, if any. */
    return audit_log_user_message(fd, type, message, NULL, addr, NULL,
                                  result);
}

static void
lib_close(void *ctx, int fd)
{
    (void)ctx;
    audit_close(fd);
}

static const struct pcl_audit_kernel_ops libaudit_ops = {
    lib_open, lib_send, lib_close, NULL,
};

/* ---------------------------------------------------------------- open */

static int
open_json(struct pcl_audit *a, const char *json_log)
{
    struct stat st;

    /* Never created here: a file made by the first user to connect would
     * be theirs. make install creates it root:portcullis 0660. */
    a->fd = open(json_log, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW |
                               O_NOCTTY);
    if (a->fd < 0) {
        error("cannot open event log %s: %s", json_log, strerror(errno));
        return PCL_ERR_SYSTEM;
    }
    if (fstat(a->fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (st.st_uid != 0 && st.st_uid != pcl_file_trusted_uid()) ||
        (st.st_mode & S_IRWXO) != 0) {
        /* It holds what users ran: others may neither read nor write it.
         * Its directory is group portcullis's (2770). */
        error("event log %s: must be a regular file owned by root and "
              "closed to others (mode 0660 or 0640)", json_log);
        return PCL_ERR_PERM;
    }
    return PCL_OK;
}

static int
open_kernel(struct pcl_audit *a)
{
    bool raised;
    int e;

    /* The socket remembers the credentials it was opened with, and the
     * kernel checks CAP_AUDIT_WRITE in them as well as in the sender's. */
    raised = pcl_proc_cap_raise(CAP_AUDIT_WRITE);
    errno = 0;
    a->kfd = a->kops.open(a->kops.ctx);
    e = errno;
    if (raised) {
        pcl_proc_cap_lower(CAP_AUDIT_WRITE);
    }
    if (a->kfd >= 0) {
        return PCL_OK;
    }
    a->kfd = -1;
    if (e == EINVAL || e == EPROTONOSUPPORT || e == EAFNOSUPPORT) {
        /* The convention of sshd, sudo and login: not an error. */
        debug("Linux audit: not in this kernel; no audit records");
    } else {
        error("Linux audit: cannot open the audit socket: %s",
              strerror(e));
    }
    return PCL_ERR_SYSTEM;
}

int
pcl_audit_open(const struct pcl_audit_params *p, struct pcl_audit **out)
{
    struct pcl_audit *a;
    int rc;

    *out = NULL;
    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        return PCL_ERR_NOMEM;
    }
    a->fd = -1;
    a->kfd = -1;
    a->use_syslog = p->syslog;
    a->required = p->required;
    a->kops = p->kernel_ops != NULL ? *p->kernel_ops : libaudit_ops;
    if (p->addr != NULL && p->addr[0] != '\0') {
        a->addr = strdup(p->addr);
        if (a->addr == NULL) {
            rc = PCL_ERR_NOMEM;
            goto out;
        }
    }
    /* The JSON log first: when it fails, the caller may open again
     * without it, and the kernel sink reports its state only once. */
    if (p->json_log != NULL && p->json_log[0] != '\0') {
        rc = open_json(a, p->json_log);
        if (rc != PCL_OK) {
            goto out;
        }
    }
    if (p->kernel) {
        rc = open_kernel(a);
        if (rc != PCL_OK && a->required) {
            goto out;
        }
    }
    rc = PCL_OK;
out:
    if (rc != PCL_OK) {
        pcl_audit_close(a);
        return rc;
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
    if (a->kfd >= 0) {
        a->kops.close(a->kops.ctx, a->kfd);
    }
    free(a->addr);
    free(a);
}

/* ---------------------------------------------------------------- syslog */

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

static void
syslog_write(const char *event, const struct pcl_audit_field *fields,
             size_t nfields)
{
    char sl[2048];
    size_t i;
    int pass;

    snprintf(sl, sizeof(sl), "event=%s", event);
    /* The command last: a long one must not push the decision and its
     * reason out of a syslog line of bounded length. */
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < nfields; i++) {
            bool is_cmd = strcmp(fields[i].name, "command") == 0;
            if (fields[i].value != NULL && is_cmd == (pass == 1)) {
                kv_append(sl, sizeof(sl), fields[i].name, fields[i].value);
            }
        }
    }
    syslog(LOG_AUTHPRIV | LOG_NOTICE, "%s", sl);
}

/* ---------------------------------------------------------------- JSON */

/* Writes the event as one JSON line. Returns 0, PCL_ERR_IO or
 * PCL_ERR_NOMEM. */
static int
json_write(struct pcl_audit *a, const char *event,
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
        char *clean = pcl_utf8_clean(fields[i].value);
        if (clean == NULL ||
            json_object_object_add(obj, fields[i].name,
                                   json_object_new_string(clean)) != 0) {
            free(clean);
            goto out;
        }
        free(clean);
    }
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
    rc = PCL_OK;
out:
    free(line);
    json_object_put(obj);
    return rc;
}

/* ---------------------------------------------------------------- kernel */

int
pcl_audit_record_type(const char *event)
{
    size_t i;

    for (i = 0; i < sizeof(event_types) / sizeof(event_types[0]); i++) {
        if (strcmp(event_types[i].event, event) == 0) {
            return event_types[i].type;
        }
    }
    return AUDIT_TRUSTED_APP;
}

/* 1 (res=success) or 0 (res=failed) for the event, from event_types. */
static int
record_result(const char *event, const struct pcl_audit_field *fields,
              size_t nfields)
{
    const struct event_type *t = NULL;
    size_t i;

    for (i = 0; i < sizeof(event_types) / sizeof(event_types[0]); i++) {
        if (strcmp(event_types[i].event, event) == 0) {
            t = &event_types[i];
        }
    }
    if (t == NULL) {
        return 1;
    }
    if (t->field == NULL) {
        return t->value != NULL;
    }
    for (i = 0; i < nfields; i++) {
        if (fields[i].value != NULL && strcmp(fields[i].name, t->field) == 0) {
            return strcmp(fields[i].value, t->value) == 0;
        }
    }
    return 0;
}

/* The record's name for a field, or NULL when the record leaves it out. */
static const char *
kernel_name(const char *field)
{
    size_t i;

    for (i = 0; i < sizeof(kernel_names) / sizeof(kernel_names[0]); i++) {
        if (strcmp(kernel_names[i].field, field) == 0) {
            return kernel_names[i].kernel;
        }
    }
    return field;
}

/*
 * Appends " name=VALUE" to msg (len used of cap), the value encoded by
 * libaudit: "value" in quotes when it is plain, else hexadecimal. A value
 * that does not fit is cut to what does. Returns 0 or PCL_ERR_NOMEM.
 */
static int
kernel_append(char *msg, size_t *len, size_t cap, const char *name,
              const char *value)
{
    char *kv = audit_encode_nv_string(name, value, 0);
    size_t room;
    size_t keep;
    int rc = PCL_ERR_NOMEM;

    if (kv == NULL) {
        goto out;
    }
    if (*len + 1 + strlen(kv) >= cap) {
        char *cut;
        /* Cut the value, not its encoding; half the room always fits,
         * hexadecimal or not. libaudit quotes a plain value whole, so
         * the cut copy is its own string. */
        room = cap - *len - 1;
        room = room > strlen(name) + 2 ? room - strlen(name) - 2 : 0;
        keep = room / 2;
        free(kv);
        kv = NULL;
        if (keep < 1) {
            rc = PCL_OK;
            goto out;
        }
        cut = strndup(value, keep);
        if (cut == NULL) {
            goto out;
        }
        kv = audit_encode_nv_string(name, cut, 0);
        free(cut);
        if (kv == NULL) {
            goto out;
        }
        if (*len + 1 + strlen(kv) >= cap) {
            rc = PCL_OK; /* not even one byte of it fits */
            goto out;
        }
    }
    msg[(*len)++] = ' ';
    memcpy(msg + *len, kv, strlen(kv) + 1);
    *len += strlen(kv);
    rc = PCL_OK;
out:
    free(kv);
    return rc;
}

/* True when the event name needs no encoding after op= (ours are
 * constants, so this holds; anything else is encoded all the same). */
static bool
is_plain_name(const char *s)
{
    return s[0] != '\0' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(s);
}

/* Sends the event as one Linux audit record. Returns 0, PCL_ERR_IO (only
 * with required) or PCL_ERR_NOMEM. */
static int
kernel_write(struct pcl_audit *a, const char *event,
             const struct pcl_audit_field *fields, size_t nfields)
{
    char msg[KERNEL_MSG_MAX];
    size_t len = 0;
    size_t i;
    bool raised;
    int pass;
    int rc;
    int e;

    if (is_plain_name(event)) {
        len = (size_t)snprintf(msg, sizeof(msg), "op=%s", event);
    } else {
        char *kv = audit_encode_nv_string("op", event, 0);
        if (kv == NULL) {
            return PCL_ERR_NOMEM;
        }
        len = (size_t)snprintf(msg, sizeof(msg), "%.200s", kv);
        free(kv);
    }
    /* The command last, as in syslog: if the record must be cut, the
     * command is what loses its tail. */
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < nfields; i++) {
            const char *name = kernel_name(fields[i].name);
            bool is_cmd = strcmp(fields[i].name, "command") == 0;
            if (fields[i].value == NULL || name == NULL ||
                is_cmd != (pass == 1)) {
                continue;
            }
            if (kernel_append(msg, &len, sizeof(msg), name,
                              fields[i].value) != PCL_OK) {
                return PCL_ERR_NOMEM;
            }
        }
    }

    raised = pcl_proc_cap_raise(CAP_AUDIT_WRITE);
    errno = 0;
    rc = a->kops.send(a->kops.ctx, a->kfd, pcl_audit_record_type(event),
                      msg, a->addr, record_result(event, fields, nfields));
    e = errno;
    if (raised) {
        pcl_proc_cap_lower(CAP_AUDIT_WRITE);
    }
    if (rc > 0) {
        return PCL_OK;
    }
    /* EPERM: no CAP_AUDIT_WRITE; ECONNREFUSED: a namespace without audit.
     * The same cause refuses every record, so it is an error once. */
    if (!a->kernel_warned) {
        error("Linux audit: %s record not written: %s%s", event,
              e != 0 ? strerror(e) : "refused",
              e == EPERM ? " (portcullis lacks CAP_AUDIT_WRITE; see "
                           "portcullis-audit(5))"
                         : "");
        a->kernel_warned = true;
    } else {
        debug("Linux audit: %s record not written (%s), as before", event,
              e != 0 ? strerror(e) : "refused");
    }
    return a->required ? PCL_ERR_IO : PCL_OK;
}

/* ---------------------------------------------------------------- emit */

int
pcl_audit_emit(struct pcl_audit *a, const char *event,
               const struct pcl_audit_field *fields, size_t nfields)
{
    int rc = PCL_OK;
    int r;

    if (a == NULL) {
        return PCL_OK;
    }
    /* Every sink gets the event even when another failed. */
    if (a->fd >= 0) {
        rc = json_write(a, event, fields, nfields);
    }
    if (a->kfd >= 0) {
        r = kernel_write(a, event, fields, nfields);
        if (rc == PCL_OK) {
            rc = r;
        }
    }
    if (a->use_syslog) {
        syslog_write(event, fields, nfields);
    }
    return rc;
}
