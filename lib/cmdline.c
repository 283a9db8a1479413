/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/cmdline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portcullis/err.h"

/* Built-in verbs; no target may take one of these names. Changing this list
 * changes what users can type: keep portcullis(8) in step. */
static const char *const verbs[] = {
    "help", "list",
    /* reserved for the approval, session and replay issues */
    "approve", "deny", "requests", "grants", "revoke",
    "sessions", "watch", "kill", "replay",
    NULL,
};

int
pcl_cmdline_is_verb(const char *word)
{
    size_t i;

    for (i = 0; verbs[i] != NULL; i++) {
        if (strcmp(word, verbs[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

static int
is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

int
pcl_cmdline_is_target_name(const char *s)
{
    size_t i;

    if (s == NULL || !is_alnum((unsigned char)s[0])) {
        return 0;
    }
    for (i = 1; s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_alnum(c) && c != '.' && c != '_' && c != '-') {
            return 0;
        }
    }
    return i <= PCL_CMDLINE_TARGET_MAX;
}

int
pcl_cmdline_is_account_name(const char *s)
{
    size_t i;
    unsigned char c;

    if (s == NULL) {
        return 0;
    }
    c = (unsigned char)s[0];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')) {
        return 0;
    }
    for (i = 1; s[i] != '\0'; i++) {
        c = (unsigned char)s[i];
        if (!is_alnum(c) && c != '.' && c != '_' && c != '-') {
            return 0;
        }
    }
    return i <= PCL_CMDLINE_ACCOUNT_MAX;
}

static int
is_space(char c)
{
    return c == ' ' || c == '\t';
}

void
pcl_cmdline_clear(struct pcl_cmdline *c)
{
    free(c->verb);
    free(c->args);
    free(c->account);
    free(c->target);
    free(c->command);
    memset(c, 0, sizeof(*c));
}

/* Describes a rejected first word without echoing it raw. */
static int
bad_word(const char *word, size_t len, char *why, size_t whylen)
{
    size_t i;

    if (word[0] == '-') {
        snprintf(why, whylen, "options are not accepted before the target");
        return PCL_ERR_SYNTAX;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)word[i];
        if (c < 0x20 || c == 0x7f) {
            snprintf(why, whylen, "control character in target name");
            return PCL_ERR_SYNTAX;
        }
    }
    snprintf(why, whylen, "invalid target name (letters, digits, '.', '_' "
             "and '-' only, at most %d bytes; ACCOUNT@TARGET for an "
             "account)", PCL_CMDLINE_TARGET_MAX);
    return PCL_ERR_SYNTAX;
}

int
pcl_cmdline_parse(const char *line, struct pcl_cmdline *out, char *why,
                  size_t whylen)
{
    const char *p;
    const char *word;
    const char *rest;
    size_t wlen;
    char *first = NULL;
    char *at;
    int rc = PCL_ERR_NOMEM;

    memset(out, 0, sizeof(*out));
    if (why != NULL && whylen > 0) {
        why[0] = '\0';
    }
    p = line == NULL ? "" : line;
    while (is_space(*p)) {
        p++;
    }
    if (*p == '\0') {
        out->kind = PCL_CMDLINE_MENU;
        return PCL_OK;
    }
    word = p;
    while (*p != '\0' && !is_space(*p)) {
        p++;
    }
    wlen = (size_t)(p - word);
    rest = p;
    while (is_space(*rest)) {
        rest++;
    }
    first = strndup(word, wlen);
    if (first == NULL) {
        goto out;
    }

    if (pcl_cmdline_is_verb(first)) {
        out->kind = PCL_CMDLINE_VERB;
        out->verb = first; /* transfer ownership */
        first = NULL;
        if (*rest != '\0') {
            out->args = strdup(rest);
            if (out->args == NULL) {
                goto out;
            }
        }
        rc = PCL_OK;
        goto out;
    }

    at = strchr(first, '@');
    if (at != NULL) {
        *at = '\0';
        if (!pcl_cmdline_is_account_name(first)) {
            snprintf(why, whylen, "invalid account name (letters, digits, "
                     "'.', '_' and '-', not starting with a digit, at most "
                     "%d bytes)", PCL_CMDLINE_ACCOUNT_MAX);
            rc = PCL_ERR_SYNTAX;
            goto out;
        }
        if (!pcl_cmdline_is_target_name(at + 1)) {
            rc = bad_word(at + 1, strlen(at + 1), why, whylen);
            goto out;
        }
        if (pcl_cmdline_is_verb(at + 1)) {
            /* No target may take a verb's name, with an account too. */
            snprintf(why, whylen, "a built-in command is not a target");
            rc = PCL_ERR_SYNTAX;
            goto out;
        }
        out->account = strdup(first);
        out->target = strdup(at + 1);
        if (out->account == NULL || out->target == NULL) {
            goto out;
        }
    } else {
        if (!pcl_cmdline_is_target_name(first)) {
            rc = bad_word(word, wlen, why, whylen);
            goto out;
        }
        out->target = first; /* transfer ownership */
        first = NULL;
    }

    /* "--" ends the target part; what follows is the command verbatim. */
    if (rest[0] == '-' && rest[1] == '-' &&
        (rest[2] == '\0' || is_space(rest[2]))) {
        rest += 2;
        while (is_space(*rest)) {
            rest++;
        }
    }
    if (*rest == '\0') {
        out->kind = PCL_CMDLINE_SHELL;
    } else {
        out->kind = PCL_CMDLINE_EXEC;
        out->command = strdup(rest);
        if (out->command == NULL) {
            goto out;
        }
    }
    rc = PCL_OK;
out:
    free(first);
    if (rc != PCL_OK) {
        pcl_cmdline_clear(out);
        if (rc == PCL_ERR_NOMEM) {
            snprintf(why, whylen, "out of memory");
        }
    }
    return rc;
}
