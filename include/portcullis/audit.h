/* SPDX-License-Identifier: BSD-2-Clause */
/* The event emitter seam: every decision and session boundary is one event,
 * written as one JSON object per line and, optionally, one syslog line. */
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
 * Opens the sinks: json_log is an existing regular file owned by root (or
 * the invoking user when unprivileged), not writable by others, appended to
 * with O_APPEND (NULL or "" for none); use_syslog adds an authpriv line per
 * event. Returns 0 with *out owned by the caller (pcl_audit_close),
 * PCL_ERR_SYSTEM when the log cannot be opened, PCL_ERR_PERM when it is
 * unsafe, or PCL_ERR_NOMEM.
 */
int pcl_audit_open(const char *json_log, bool use_syslog,
                   struct pcl_audit **out);

/* Closes the sinks; NULL is a no-op. */
void pcl_audit_close(struct pcl_audit *a);

/*
 * Emits one event named event (e.g. "session-start") with a time stamp
 * ("time", RFC 3339 UTC) and the given fields, in one write(2). Untrusted
 * values are JSON-escaped by json-c and sanitised for syslog.
 * Returns 0, PCL_ERR_IO or PCL_ERR_NOMEM. a may be NULL (no sinks).
 */
int pcl_audit_emit(struct pcl_audit *a, const char *event,
                   const struct pcl_audit_field *fields, size_t nfields);

#endif /* PCL_AUDIT_H */
