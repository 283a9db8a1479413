/* SPDX-License-Identifier: BSD-2-Clause */
/* SSH_ORIGINAL_COMMAND parsing: words split without a shell, ever. */
#ifndef PCL_CMDLINE_H
#define PCL_CMDLINE_H

#include <stddef.h>

/* Longest target name and account name accepted, in bytes. */
#define PCL_CMDLINE_TARGET_MAX 64
#define PCL_CMDLINE_ACCOUNT_MAX 32

enum pcl_cmdline_kind {
    PCL_CMDLINE_MENU,   /* no command: list targets, or a menu with a PTY */
    PCL_CMDLINE_SHELL,  /* [ACCOUNT@]TARGET: interactive session */
    PCL_CMDLINE_EXEC,   /* [ACCOUNT@]TARGET [--] CMD...: exec on the target */
    PCL_CMDLINE_VERB,   /* a built-in verb (help, list, approve, ...) */
};

/* The parsed request. Strings are owned by the struct; see
 * pcl_cmdline_clear. account is NULL when the user named none. */
struct pcl_cmdline {
    enum pcl_cmdline_kind kind;
    char *verb;     /* VERB only */
    char *args;     /* VERB only: the rest of the line, verbatim, or NULL */
    char *account;  /* SHELL/EXEC: the account before '@', or NULL */
    char *target;   /* SHELL/EXEC */
    char *command;  /* EXEC: the rest of the line exactly as written */
};

/*
 * Parses SSH_ORIGINAL_COMMAND (NULL or "" mean none) into *out, which the
 * caller clears with pcl_cmdline_clear. The target word must match
 * [A-Za-z0-9][A-Za-z0-9._-]*, the account [A-Za-z_][A-Za-z0-9._-]*; the
 * command after the target (after "--" when present) is kept byte for byte,
 * because the target's shell must see what a direct ssh would give it.
 * Returns 0, PCL_ERR_SYNTAX (why filled, whylen bytes) or PCL_ERR_NOMEM.
 */
int pcl_cmdline_parse(const char *line, struct pcl_cmdline *out, char *why,
                      size_t whylen);

/* Frees the strings of c and zeroes it; safe on a zeroed struct. */
void pcl_cmdline_clear(struct pcl_cmdline *c);

/* True when word is a reserved verb that no target may be named after. */
int pcl_cmdline_is_verb(const char *word);

/* True when s is a valid target name (as above). */
int pcl_cmdline_is_target_name(const char *s);

/* True when s is a valid account name (as above). */
int pcl_cmdline_is_account_name(const char *s);

#endif /* PCL_CMDLINE_H */
