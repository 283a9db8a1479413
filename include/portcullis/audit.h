/* SPDX-License-Identifier: BSD-2-Clause */
/* The event emitter: every decision and session boundary is one event,
 * written as one JSON object per line, one Linux audit record and,
 * optionally, one syslog line (portcullis-audit(5)). */
#ifndef PCL_AUDIT_H
#define PCL_AUDIT_H

#include <stdbool.h>
#include <stddef.h>

struct pcl_audit;

/* One field of an event; both strings borrowed, value may be NULL (skip). */
struct pcl_audit_field {
    const char *name;
    const char *value;
};

/*
 * The Linux audit calls of the kernel sink. NULL in pcl_audit_params means
 * libaudit's; tests substitute their own to see the records and to play a
 * kernel without audit or one that refuses.
 *   open:  like audit_open(3): a descriptor, or -1 with errno set.
 *   send:  like audit_log_user_message(3) with hostname and tty NULL:
 *          > 0 when the kernel took the record, else <= 0 with errno set.
 *   close: like audit_close(3).
 */
struct pcl_audit_kernel_ops {
    int (*open)(void *ctx);
    int (*send)(void *ctx, int fd, int type, const char *message,
                const char *addr, int result);
    void (*close)(void *ctx, int fd);
    void *ctx;
};

/* Where events go; every string is borrowed for the call only. */
struct pcl_audit_params {
    const char *json_log; /* existing JSON-lines file; NULL or "": none */
    bool syslog;          /* one authpriv line per event */
    bool kernel;          /* one Linux audit record per event */
    bool required;        /* every event must reach every sink above */
    const char *addr;     /* client address for the records; NULL: none */
    const struct pcl_audit_kernel_ops *kernel_ops; /* NULL: libaudit */
};

/*
 * Opens the sinks. json_log is an existing regular file owned by root (or
 * the invoking user when unprivileged), not writable by others, appended
 * to with O_APPEND. The kernel sink opens the audit netlink socket: a
 * kernel without audit (EINVAL, EPROTONOSUPPORT, EAFNOSUPPORT) is said once
 * at debug level and the sink is left out, any other failure is logged.
 * Returns 0 with *out owned by the caller (pcl_audit_close); PCL_ERR_SYSTEM
 * when the JSON log cannot be opened, or with required, when the kernel
 * sink cannot; PCL_ERR_PERM when the JSON log is unsafe; PCL_ERR_NOMEM.
 */
int pcl_audit_open(const struct pcl_audit_params *p, struct pcl_audit **out);

/* Closes the sinks; NULL is a no-op. */
void pcl_audit_close(struct pcl_audit *a);

/*
 * Emits one event named event (e.g. "session-start") with the given fields
 * to every sink: a JSON object with "time" (RFC 3339 UTC) and "event", in
 * one write(2); a Linux audit record of the event's type with op=event and
 * each value encoded by libaudit (audit_encode_nv_string); a syslog line.
 * Returns 0; PCL_ERR_IO when the JSON log was not written, or with
 * required, when the kernel did not take the record (a refusal is also
 * logged, once); PCL_ERR_NOMEM. a may be NULL (no sinks).
 */
int pcl_audit_emit(struct pcl_audit *a, const char *event,
                   const struct pcl_audit_field *fields, size_t nfields);

/* The Linux audit record type of an event (AUDIT_USER_ACCT, ...), as
 * portcullis-audit(5) lists it; AUDIT_TRUSTED_APP for any other name. */
int pcl_audit_record_type(const char *event);

#endif /* PCL_AUDIT_H */
