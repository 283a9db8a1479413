/* SPDX-License-Identifier: BSD-2-Clause */
/* "remember": a successful device flow kept for (user, SSH key
 * fingerprint) for a while, in a root-only SQLite database, so that the
 * next login with the same key skips the browser (pam_portcullis(8)). */
#ifndef PCL_REMEMBER_H
#define PCL_REMEMBER_H

#include <time.h>

#include "portcullis/ticket.h"

/* On-disk constant: changing the table breaks existing stores. */
#define PCL_REMEMBER_SCHEMA_VERSION 1

struct pcl_remember;

/*
 * Opens the store at path, creating it (mode 0600, under a directory that
 * must be root's and not writable by others) when missing. Returns 0 with
 * *out owned by the caller (pcl_remember_close), PCL_ERR_PERM for an
 * unsafe directory or file, PCL_ERR_IO (why filled), PCL_ERR_NOMEM.
 */
int pcl_remember_open(const char *path, struct pcl_remember **out, char *why,
                      size_t whylen);

/* Closes the store; NULL is a no-op. */
void pcl_remember_close(struct pcl_remember *r);

/*
 * Records the identity in t (user, fp, sub, iss, groups, auth_time) as
 * valid until `until` (Unix seconds), replacing an older row for the same
 * (user, fp), and drops expired rows. t->fp must not be empty. Returns 0,
 * PCL_ERR_INVAL or PCL_ERR_IO.
 */
int pcl_remember_put(struct pcl_remember *r, const struct pcl_ticket *t,
                     time_t until);

/*
 * Looks up (user, fp) still valid at now: fills sub, iss, groups and
 * auth_time of *t (user and fp copied from the arguments). Returns 0,
 * PCL_ERR_NOTFOUND (none, or expired), PCL_ERR_IO.
 */
int pcl_remember_get(struct pcl_remember *r, const char *user,
                     const char *fp, time_t now, struct pcl_ticket *t);

#endif /* PCL_REMEMBER_H */
