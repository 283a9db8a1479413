/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of SSH_ORIGINAL_COMMAND parsing: a table of lines and what
 * each must become. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "portcullis/cmdline.h"
#include "portcullis/err.h"

struct case_ {
    const char *line;
    int rc;
    enum pcl_cmdline_kind kind;
    const char *account;
    const char *target;
    const char *command;
    const char *verb;
};

static const struct case_ cases[] = {
    { NULL, PCL_OK, PCL_CMDLINE_MENU, NULL, NULL, NULL, NULL },
    { "", PCL_OK, PCL_CMDLINE_MENU, NULL, NULL, NULL, NULL },
    { "   \t ", PCL_OK, PCL_CMDLINE_MENU, NULL, NULL, NULL, NULL },
    { "db01", PCL_OK, PCL_CMDLINE_SHELL, NULL, "db01", NULL, NULL },
    { "  db01  ", PCL_OK, PCL_CMDLINE_SHELL, NULL, "db01", NULL, NULL },
    { "db01 --", PCL_OK, PCL_CMDLINE_SHELL, NULL, "db01", NULL, NULL },
    { "postgres@db01", PCL_OK, PCL_CMDLINE_SHELL, "postgres", "db01", NULL,
      NULL },
    { "db01 -- uptime", PCL_OK, PCL_CMDLINE_EXEC, NULL, "db01", "uptime",
      NULL },
    { "db01 uptime", PCL_OK, PCL_CMDLINE_EXEC, NULL, "db01", "uptime", NULL },
    /* The command is kept byte for byte: quotes, blanks, shell syntax. */
    { "db01 -- echo \"a  b\" $HOME; ls | wc -l", PCL_OK, PCL_CMDLINE_EXEC,
      NULL, "db01", "echo \"a  b\" $HOME; ls | wc -l", NULL },
    { "db01 echo  'x  y'  ", PCL_OK, PCL_CMDLINE_EXEC, NULL, "db01",
      "echo  'x  y'  ", NULL },
    { "db01 -- -- x", PCL_OK, PCL_CMDLINE_EXEC, NULL, "db01", "-- x", NULL },
    { "db01 --x", PCL_OK, PCL_CMDLINE_EXEC, NULL, "db01", "--x", NULL },
    { "deploy@app-01.prod -- rsync --server -e.LsfxC . dst/", PCL_OK,
      PCL_CMDLINE_EXEC, "deploy", "app-01.prod",
      "rsync --server -e.LsfxC . dst/", NULL },
    { "db01\tuname -a", PCL_OK, PCL_CMDLINE_EXEC, NULL, "db01", "uname -a",
      NULL },
    { "list", PCL_OK, PCL_CMDLINE_VERB, NULL, NULL, NULL, "list" },
    { "help", PCL_OK, PCL_CMDLINE_VERB, NULL, NULL, NULL, "help" },
    { "approve 12ab --for 1h", PCL_OK, PCL_CMDLINE_VERB, NULL, NULL, NULL,
      "approve" },
    /* Refused: options, shell syntax, bad names, control characters. */
    { "-oProxyCommand=x db01", PCL_ERR_SYNTAX, 0, NULL, NULL, NULL, NULL },
    { "-l root db01", PCL_ERR_SYNTAX, 0, NULL, NULL, NULL, NULL },
    { "db01;id", PCL_ERR_SYNTAX, 0, NULL, NULL, NULL, NULL },
    { "db01|id", PCL_ERR_SYNTAX, 0, NULL, NULL, NULL, NULL },
    { "db01&&id", PCL_ERR_SYNTAX, 0, NULL, NULL, NULL, NULL },
    { "$(id)@db01", PCL_ERR_SYNTAX, 0, NULL, NULL, NULL, NULL },
    { "`id`", PCL_ERR_SYNTAX, 0, NULL, NULL, NULL, NULL },
    { "'db01'", PCL_ERR_SYNTAX, 0, NULL, NULL, NULL, NULL },
    { "db01\n", PCL_ERR_SYNTAX, 0, NULL, NULL, NULL, NULL },
    { "db01\nid", PCL_ERR_SYNTAX, 0, NULL, NULL, NULL, NULL },
    { "db\x01" "01", PCL_ERR_SYNTAX, 0, NULL, NULL, NULL, NULL },
    { "../etc", PCL_ERR_SYNTAX, 0, NULL, NULL, NULL, NULL },
    { ".db01", PCL_ERR_SYNTAX, 0, NULL, NULL, NULL, NULL },
    { "db01/x", PCL_ERR_SYNTAX, 0, NULL, NULL, NULL, NULL },
    { "@db01", PCL_ERR_SYNTAX, 0, NULL, NULL, NULL, NULL },
    { "root@", PCL_ERR_SYNTAX, 0, NULL, NULL, NULL, NULL },
    { "a@b@db01", PCL_ERR_SYNTAX, 0, NULL, NULL, NULL, NULL },
    { "0day@db01", PCL_ERR_SYNTAX, 0, NULL, NULL, NULL, NULL },
    { "r\xc3\xa9@db01", PCL_ERR_SYNTAX, 0, NULL, NULL, NULL, NULL },
    { "db\xc3\xa9", PCL_ERR_SYNTAX, 0, NULL, NULL, NULL, NULL },
    { "a234567890123456789012345678901234567890123456789012345678901234x",
      PCL_ERR_SYNTAX, 0, NULL, NULL, NULL, NULL },
    { "a2345678901234567890123456789012x@db01", PCL_ERR_SYNTAX, 0, NULL,
      NULL, NULL, NULL },
    /* fuzz_cmdline: a verb is no target behind an account either. */
    { "depo0@watch", PCL_ERR_SYNTAX, 0, NULL, NULL, NULL, NULL },
    { "root@list -- id", PCL_ERR_SYNTAX, 0, NULL, NULL, NULL, NULL },
};

static void
check_str(const char *what, const char *want, const char *got,
          const char *line)
{
    if (want == NULL) {
        if (got != NULL) {
            fail_msg("%s: line \"%s\": expected none, got \"%s\"", what,
                     line != NULL ? line : "(null)", got);
        }
        return;
    }
    if (got == NULL || strcmp(want, got) != 0) {
        fail_msg("%s: line \"%s\": expected \"%s\", got \"%s\"", what,
                 line != NULL ? line : "(null)", want,
                 got != NULL ? got : "(null)");
    }
}

static void
test_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct case_ *c = &cases[i];
        struct pcl_cmdline cl;
        char why[256];
        int rc = pcl_cmdline_parse(c->line, &cl, why, sizeof(why));

        if (rc != c->rc) {
            fail_msg("case %zu \"%s\": rc %d, expected %d (%s)", i,
                     c->line != NULL ? c->line : "(null)", rc, c->rc, why);
        }
        if (rc != PCL_OK) {
            assert_true(why[0] != '\0');
            assert_null(cl.target);
            assert_null(cl.command);
            continue;
        }
        assert_int_equal(cl.kind, c->kind);
        check_str("account", c->account, cl.account, c->line);
        check_str("target", c->target, cl.target, c->line);
        check_str("command", c->command, cl.command, c->line);
        check_str("verb", c->verb, cl.verb, c->line);
        pcl_cmdline_clear(&cl);
    }
}

static void
test_refusal_does_not_echo_input(void **state)
{
    struct pcl_cmdline cl;
    char why[256];

    (void)state;
    assert_int_equal(pcl_cmdline_parse("evil\x1b]0;pwned\x07 x", &cl, why,
                                       sizeof(why)),
                     PCL_ERR_SYNTAX);
    assert_null(strchr(why, '\x1b'));
    assert_null(strstr(why, "pwned"));
}

static void
test_verbs_reserved(void **state)
{
    (void)state;
    assert_true(pcl_cmdline_is_verb("approve"));
    assert_true(pcl_cmdline_is_verb("list"));
    assert_false(pcl_cmdline_is_verb("db01"));
    assert_true(pcl_cmdline_is_target_name("db01"));
    assert_false(pcl_cmdline_is_target_name("-db01"));
    assert_true(pcl_cmdline_is_account_name("_svc"));
    assert_false(pcl_cmdline_is_account_name("-x"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_refusal_does_not_echo_input),
        cmocka_unit_test(test_verbs_reserved),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
