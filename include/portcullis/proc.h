/* SPDX-License-Identifier: BSD-2-Clause */
/* Process hygiene for a set-id program started by sshd. */
#ifndef PCL_PROC_H
#define PCL_PROC_H

#include <stdbool.h>
#include <stddef.h>

/* The parts of the environment the proxy reads, copied before it is wiped.
 * Each is an owned string or NULL. */
struct pcl_proc_env {
    char *original_command;  /* SSH_ORIGINAL_COMMAND */
    char *connection;        /* SSH_CONNECTION */
    char *term;              /* TERM */
    char *tty;               /* SSH_TTY */
    char *ticket;            /* PORTCULLIS_TICKET (pam_portcullis) */
};

/*
 * Hardens the process: no core files and not dumpable (PR_SET_DUMPABLE 0),
 * umask 027, fds 0-2 open (on /dev/null if closed), every other fd closed,
 * SIGPIPE ignored. Returns 0 or PCL_ERR_SYSTEM.
 */
int pcl_proc_harden(void);

/*
 * Copies the variables above into env, then clears the whole environment so
 * nothing the user set reaches a library or a child. Returns 0 or
 * PCL_ERR_NOMEM.
 */
int pcl_proc_take_env(struct pcl_proc_env *env);

/* Frees the strings of env; safe on a zeroed struct. */
void pcl_proc_env_clear(struct pcl_proc_env *env);

/*
 * Drops the set-group-id privilege for good (real, effective and saved gid
 * become the real gid) once every file that needs it is open, so that the
 * target leg runs without it. Returns 0 or PCL_ERR_SYSTEM (checked: the
 * privilege must be gone, not merely asked to go).
 */
int pcl_proc_drop_group(void);

/*
 * Closes every descriptor above 2 except keep (-1: none), as a child that
 * does not exec must do before it talks to the network: nothing it holds
 * (a store opened with the group, the event log) can then be reached
 * through it. Cannot fail.
 */
void pcl_proc_close_fds(int keep);

/*
 * Limits the capabilities the process holds (a file capability set by
 * make install) to CAP_AUDIT_WRITE in the permitted set: none effective,
 * none inheritable, the ambient set cleared, so that no program it might
 * run could inherit one. Returns 0 or PCL_ERR_SYSTEM (checked).
 */
int pcl_proc_limit_caps(void);

/* Makes cap effective when it is permitted but not effective. Returns true
 * when it did so: the caller then calls pcl_proc_cap_lower(cap). */
bool pcl_proc_cap_raise(int cap);

/* Removes cap from the effective set again (it stays permitted). */
void pcl_proc_cap_lower(int cap);

/* Fills out (outlen >= 33) with 32 hex digits of fresh randomness: the
 * session id. Returns 0 or PCL_ERR_CRYPTO. */
int pcl_proc_session_id(char *out, size_t outlen);

#endif /* PCL_PROC_H */
