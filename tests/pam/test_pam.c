/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pam_portcullis under pam_wrapper + libpamtest (no /etc/pam.d): the
 * module's conversation, the ticket it leaves in the PAM environment, a
 * user that does not exist (no IdP traffic, the same prompt and ending as
 * an existing user who never approves), and a broken configuration.
 * Run by tests/pam/pam.sh, which starts the test IdP and writes the
 * service files; it passes what this needs in PCL_T_* variables.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpamtest.h>
#include <security/pam_appl.h>

#include "portcullis/err.h"
#include "portcullis/ticket.h"

struct conv {
    const char *approver;  /* login that approves, or NULL */
    char info[16384];      /* every PAM_TEXT_INFO, concatenated */
    char prompts[1024];    /* every question, concatenated */
    int nprompts;
    int approve_rc;        /* approve.sh's status, -2 when not run */
};

static const char *
env(const char *name)
{
    const char *v = getenv(name);

    if (v == NULL) {
        fail_msg("%s not set (run tests/pam/pam.sh)", name);
    }
    return v;
}

/* Reads "open URI and enter the code CODE" from the module's text. */
static int
parse_code(const char *text, char *uri, size_t ulen, char *code)
{
    const char *p = strstr(text, "(or open ");
    const char *sp;

    if (p == NULL) {
        return -1;
    }
    p += 9;
    sp = strchr(p, ' ');
    if (sp == NULL || (size_t)(sp - p) >= ulen) {
        return -1;
    }
    memcpy(uri, p, (size_t)(sp - p));
    uri[sp - p] = '\0';
    p = strstr(sp, "enter the code ");
    if (p == NULL) {
        return -1;
    }
    memcpy(code, p + 15, 9);
    code[9] = '\0';
    return 0;
}

static int
approve(const char *uri, const char *code, const char *login)
{
    pid_t pid = fork();
    int st;

    if (pid == 0) {
        /* The browser side is another program: not under pam_wrapper
         * (nor the ASan runtime of a sanitizer build). */
        unsetenv("LD_PRELOAD");
        execl(env("PCL_T_APPROVE"), "approve.sh", env("PCL_T_CA"), uri, code,
              login, (char *)NULL);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &st, 0) != pid) {
        return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int
conv_fn(int n, const struct pam_message **msg, struct pam_response **resp,
        void *data)
{
    struct conv *c = data;
    struct pam_response *r = calloc((size_t)n, sizeof(*r));
    char uri[512], code[16];
    int i;

    if (r == NULL) {
        return PAM_BUF_ERR;
    }
    for (i = 0; i < n; i++) {
        switch (msg[i]->msg_style) {
        case PAM_TEXT_INFO:
        case PAM_ERROR_MSG:
            strncat(c->info, msg[i]->msg, sizeof(c->info) - strlen(c->info) - 1);
            break;
        case PAM_PROMPT_ECHO_ON:
            strncat(c->prompts, msg[i]->msg,
                    sizeof(c->prompts) - strlen(c->prompts) - 1);
            strncat(c->prompts, "|", sizeof(c->prompts) - strlen(c->prompts) - 1);
            c->nprompts++;
            if (c->approver != NULL && c->nprompts == 1 &&
                parse_code(c->info, uri, sizeof(uri), code) == 0) {
                /* No cmocka assert here: it would longjmp through the
                 * module and PAM. Checked after pam_authenticate. */
                c->approve_rc = approve(uri, code, c->approver);
            }
            r[i].resp = strdup("");
            break;
        default:
            free(r);
            return PAM_CONV_ERR;
        }
    }
    *resp = r;
    return PAM_SUCCESS;
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* One authentication; returns its PAM result, fills *c and the ticket. */
static int
authenticate(const char *service, const char *user, struct conv *c,
             char **ticket)
{
    struct pam_testcase tests[] = {
        pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
        pam_test(PAMTEST_GETENVLIST, PAM_SUCCESS),
    };
    char **e;
    int rc;

    if (ticket != NULL) {
        *ticket = NULL;
    }
    (void)_pamtest_conv(service, user, conv_fn, c, tests, 2, NULL);
    rc = tests[0].op_rv;
    for (e = tests[1].case_out.envlist; e != NULL && *e != NULL; e++) {
        if (ticket != NULL &&
            strncmp(*e, PCL_TICKET_ENV "=", strlen(PCL_TICKET_ENV) + 1) == 0) {
            *ticket = strdup(*e + strlen(PCL_TICKET_ENV) + 1);
        }
    }
    pamtest_free_env(tests[1].case_out.envlist);
    return rc;
}

static void
test_approved(void **state)
{
    struct conv c = { .approver = env("PCL_T_USER"), .approve_rc = -2 };
    struct pcl_ticket t;
    uint8_t key[64];
    size_t keylen;
    char why[256];
    char *ticket = NULL;
    FILE *fp;

    (void)state;
    assert_int_equal(authenticate("pcl-ok", env("PCL_T_USER"), &c, &ticket),
                     PAM_SUCCESS);
    assert_int_equal(c.approve_rc, 0);
    assert_int_equal(c.nprompts, 1);
    assert_non_null(strstr(c.prompts, "Press Enter once you have approved"));
    /* qr = yes: the QR code (U+2588 blocks) follows the URI */
    assert_non_null(strstr(c.info, "\xe2\x96\x88"));
    assert_non_null(ticket);
    fp = fopen(env("PCL_T_KEY"), "rb");
    assert_non_null(fp);
    keylen = fread(key, 1, sizeof(key), fp);
    fclose(fp);
    assert_int_equal(pcl_ticket_verify(ticket, key, keylen, env("PCL_T_USER"),
                                       time(NULL), &t, why, sizeof(why)),
                     PCL_OK);
    assert_int_equal(t.ngroups, 2);
    assert_string_equal(t.groups[0], "dba");
    assert_string_equal(t.method, "device");
    free(ticket);
}

/*
 * A user who does not exist and one who never approves: the same
 * prompts, the same ending, about the same time, and no request to the
 * IdP at all for the first.
 */
static void
test_unknown_user_looks_alike(void **state)
{
    struct conv known = { .approver = NULL };
    struct conv unknown = { .approver = NULL };
    const char *reqlog = env("PCL_T_REQLOG");
    char uri[512], code[16], uri2[512], code2[16];
    char nosuch[64];
    double t0, t_known, t_unknown;
    long before;

    (void)state;
    snprintf(nosuch, sizeof(nosuch), "pclnosuch%ld", (long)getpid());
    t0 = now_s();
    assert_int_equal(authenticate("pcl-ok", env("PCL_T_USER"), &known, NULL),
                     PAM_AUTH_ERR);
    t_known = now_s() - t0;
    before = file_size(reqlog);
    t0 = now_s();
    assert_int_equal(authenticate("pcl-ok", nosuch, &unknown, NULL),
                     PAM_AUTH_ERR);
    t_unknown = now_s() - t0;
    print_message("never approved: %.2f s; no such user: %.2f s\n", t_known,
                  t_unknown);
    assert_int_equal(file_size(reqlog), before); /* no IdP traffic */
    assert_string_equal(known.prompts, unknown.prompts);
    assert_int_equal(parse_code(known.info, uri, sizeof(uri), code), 0);
    assert_int_equal(parse_code(unknown.info, uri2, sizeof(uri2), code2), 0);
    assert_string_equal(uri, uri2);  /* the cached verification URI */
    assert_int_equal(strlen(code), strlen(code2));
    assert_non_null(strstr(unknown.info, "not approved in time"));
    assert_non_null(strstr(unknown.info, "\xe2\x96\x88")); /* a QR too */
    assert_non_null(strstr(known.info, "not approved in time"));
    assert_true(t_unknown > t_known - 0.5 && t_unknown < t_known + 0.5);
}

/* An IdP group that is not a valid group name refuses the sign-in: left
 * out, it could have been the one a "!group:" exclusion names. */
static void
test_odd_group_refused(void **state)
{
    struct conv c = { .approver = env("PCL_T_USER_B"), .approve_rc = -2 };
    char *ticket = NULL;

    (void)state;
    assert_int_equal(authenticate("pcl-ok", env("PCL_T_USER_B"), &c,
                                  &ticket),
                     PAM_AUTH_ERR);
    assert_int_equal(c.approve_rc, 0);
    assert_null(ticket);
    assert_non_null(strstr(c.info, "cannot be accepted"));
}

static void
test_bad_config(void **state)
{
    struct conv c = { .approver = NULL };

    (void)state;
    assert_int_equal(authenticate("pcl-bad", env("PCL_T_USER"), &c, NULL),
                     PAM_AUTH_ERR);
    assert_int_equal(c.nprompts, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_approved),
        cmocka_unit_test(test_unknown_user_looks_alike),
        cmocka_unit_test(test_odd_group_refused),
        cmocka_unit_test(test_bad_config),
    };

    if (getenv("PAM_WRAPPER") == NULL) {
        fprintf(stderr, "test_pam: run under pam_wrapper (tests/pam/pam.sh)\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
