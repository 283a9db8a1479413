/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of portcullis.conf: each case is a file and the exact
 * diagnostics (file:line: message) it must produce. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "portcullis/conf.h"
#include "portcullis/err.h"
#include "testutil.h"

struct case_ {
    const char *name;
    const char *text;
    int rc;
    const char *diag[3]; /* expected substrings, ":LINE: msg" */
};

static const struct case_ cases[] = {
    { "empty file keeps defaults", "", PCL_OK, { NULL } },
    { "comments and blanks", "# c\n\n; c\n[proxy]\n  # indented\n", PCL_OK,
      { NULL } },
    { "every key", "[proxy]\npolicy = /p\ncredentials = /k\n"
      "connect-timeout = 5m\nkeepalive-interval = 0\n"
      "keepalive-count-max = 5\nlog-level = debug2\n[audit]\n"
      "json-log =\nsyslog = no\n", PCL_OK, { NULL } },
    { "unknown key", "[proxy]\n\npolcy = /p\n", PCL_ERR_CONFIG,
      { ":3: unknown key \"polcy\" in [proxy]" } },
    { "unknown section", "[proxy]\n[oops]\nx = 1\n", PCL_ERR_CONFIG,
      { ":2: unknown section [oops]" } },
    { "key outside section", "policy = /p\n", PCL_ERR_CONFIG,
      { ":1: \"policy\" outside of a section" } },
    { "bad duration", "[proxy]\nconnect-timeout = 10x\n", PCL_ERR_CONFIG,
      { ":2: connect-timeout: invalid duration" } },
    { "too long duration", "[proxy]\nconnect-timeout = 25h\n",
      PCL_ERR_CONFIG, { ":2: connect-timeout: invalid duration" } },
    { "zero connect timeout", "[proxy]\nconnect-timeout = 0\n",
      PCL_ERR_CONFIG, { ":2: connect-timeout: 0 s is out of range (1-3600 s)" } },
    { "keepalive past Linux's limit", "[proxy]\nkeepalive-interval = 10h\n",
      PCL_ERR_CONFIG, { ":2: keepalive-interval: 36000 s is out of range "
                        "(0-32767 s)" } },
    { "keepalive count 0", "[proxy]\nkeepalive-count-max = 0\n",
      PCL_ERR_CONFIG, { ":2: keepalive-count-max: 0 is out of range (1-127)" } },
    { "keepalive count 128", "[proxy]\nkeepalive-count-max = 128\n",
      PCL_ERR_CONFIG, { ":2: keepalive-count-max: 128 is out of range" } },
    { "webhook over http", "[approval]\nwebhook = http://x.example/\n",
      PCL_ERR_CONFIG, { ":2: webhook: must be an https:// URL or empty" } },
    { "webhook format", "[approval]\nwebhook-format = xml\n",
      PCL_ERR_CONFIG, { ":2: webhook-format: \"xml\" is not one of json|slack" } },
    { "grant-ttl zero", "[approval]\ngrant-ttl = 0\n",
      PCL_ERR_CONFIG, { ":2: grant-ttl: 0 s is out of range (1-86400 s)" } },
    { "relative path", "[proxy]\npolicy = etc/policy.conf\n",
      PCL_ERR_CONFIG, { ":2: policy: must be an absolute path" } },
    { "bad bool", "[audit]\nsyslog = maybe\n", PCL_ERR_CONFIG,
      { ":2: syslog: expected yes or no" } },
    { "bad level", "[proxy]\nlog-level = loud\n", PCL_ERR_CONFIG,
      { ":2: log-level: unknown level" } },
    { "twice", "[proxy]\npolicy = /a\npolicy = /b\n", PCL_ERR_CONFIG,
      { ":3: policy: given twice (first on line 2)" } },
    { "no equals", "[proxy]\njust words\n", PCL_ERR_CONFIG,
      { ":2: expected \"key = value\"" } },
    { "colon delimiter", "[proxy]\npolicy: /p\n", PCL_ERR_CONFIG,
      { ":2: expected \"key = value\"" } },
    { "bad header", "[proxy\n", PCL_ERR_CONFIG,
      { ":1: malformed section header" } },
    { "oidc keys", "[oidc]\nissuer = https://idp.test/realms/a\n"
      "client-id = bastion\nalgorithms = ES256,EdDSA\nremember = 8h\n"
      "failmode = open\n", PCL_OK, { NULL } },
    { "oidc issuer not https", "[oidc]\nissuer = http://idp.test\n",
      PCL_ERR_CONFIG, { ":2: issuer: must be an https:// URL" } },
    { "oidc alg none", "[oidc]\nalgorithms = RS256, none\n",
      PCL_ERR_CONFIG, { ":2: algorithms: algorithm \"none\" is not allowed" } },
    { "oidc HS256", "[oidc]\nalgorithms = HS256\n", PCL_ERR_CONFIG,
      { ":2: algorithms: algorithm \"HS256\" is not allowed" } },
    { "oidc failmode", "[oidc]\nfailmode = lenient\n", PCL_ERR_CONFIG,
      { ":2: failmode: \"lenient\" is not one of secure|open" } },
    { "oidc login-timeout too long", "[oidc]\nlogin-timeout = 2h\n",
      PCL_ERR_CONFIG, { ":2: login-timeout: 7200 s is out of range" } },
    { "every error reported", "[proxy]\na = 1\nb = 2\n[x]\n",
      PCL_ERR_CONFIG,
      { ":2: unknown key \"a\"", ":3: unknown key \"b\"",
        ":4: unknown section [x]" } },
    { "over-long line", "[proxy]\npolicy = /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaa\nlog-level = info\n", PCL_ERR_CONFIG,
      { ":2: line longer than" } },
};

static void
test_table(void **state)
{
    char dir[64];
    char path[256];
    size_t i;
    size_t j;

    (void)state;
    assert_int_equal(tu_mkdtemp(dir, sizeof(dir)), 0);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct case_ *c = &cases[i];
        struct pcl_diag *diag = NULL;
        struct pcl_conf *conf = NULL;
        size_t want = 0;
        int rc;

        assert_int_equal(tu_write(dir, "p.conf", c->text, 0644, path,
                                  sizeof(path)), 0);
        assert_int_equal(pcl_diag_new(&diag), PCL_OK);
        rc = pcl_conf_load(path, diag, &conf);
        if (rc != c->rc) {
            fail_msg("%s: rc %d, expected %d (%s)", c->name, rc, c->rc,
                     pcl_diag_count(diag) > 0 ? pcl_diag_get(diag, 0) : "");
        }
        for (j = 0; j < 3 && c->diag[j] != NULL; j++) {
            want++;
            if (j >= pcl_diag_count(diag) ||
                strstr(pcl_diag_get(diag, j), c->diag[j]) == NULL ||
                strncmp(pcl_diag_get(diag, j), path, strlen(path)) != 0) {
                fail_msg("%s: diagnostic %zu: expected \"%s\", got \"%s\"",
                         c->name, j, c->diag[j],
                         j < pcl_diag_count(diag) ? pcl_diag_get(diag, j)
                                                  : "(none)");
            }
        }
        assert_int_equal(pcl_diag_count(diag), want);
        if (rc == PCL_OK) {
            assert_non_null(conf);
        } else {
            assert_null(conf);
        }
        pcl_conf_free(conf);
        pcl_diag_free(diag);
    }
    tu_rmtree(dir);
}

static void
test_values_and_defaults(void **state)
{
    char dir[64];
    char path[256];
    struct pcl_diag *diag = NULL;
    struct pcl_conf *c = NULL;

    (void)state;
    assert_int_equal(tu_mkdtemp(dir, sizeof(dir)), 0);
    assert_int_equal(tu_write(dir, "p.conf",
                              "[proxy]\nconnect-timeout = 2m\n"
                              "keepalive-interval = 1h\n[audit]\n"
                              "json-log =\n", 0644, path, sizeof(path)), 0);
    assert_int_equal(pcl_diag_new(&diag), PCL_OK);
    assert_int_equal(pcl_conf_load(path, diag, &c), PCL_OK);
    assert_int_equal(c->connect_timeout, 120);
    assert_int_equal(c->keepalive_interval, 3600);
    assert_int_equal(c->keepalive_count_max, 3);
    assert_string_equal(c->json_log, "");
    assert_true(c->audit_syslog);
    assert_string_equal(c->log_level, "info");
    assert_string_equal(c->policy, SYSCONFDIR "/portcullis/policy.conf");
    pcl_conf_free(c);
    pcl_diag_free(diag);
    tu_rmtree(dir);
}

static void
test_unsafe_files(void **state)
{
    char dir[64];
    char path[256];
    struct pcl_diag *diag = NULL;
    struct pcl_conf *c = NULL;

    (void)state;
    assert_int_equal(tu_mkdtemp(dir, sizeof(dir)), 0);
    assert_int_equal(tu_write(dir, "w.conf", "", 0666, path, sizeof(path)),
                     0);
    assert_int_equal(pcl_diag_new(&diag), PCL_OK);
    assert_int_equal(pcl_conf_load(path, diag, &c), PCL_ERR_PERM);
    assert_non_null(strstr(pcl_diag_get(diag, 0), "writable by group or "
                                                  "others"));
    pcl_diag_free(diag);

    assert_int_equal(pcl_diag_new(&diag), PCL_OK);
    snprintf(path, sizeof(path), "%s/missing.conf", dir);
    assert_int_equal(pcl_conf_load(path, diag, &c), PCL_ERR_NOTFOUND);
    assert_null(c);
    pcl_diag_free(diag);

    /* A missing directory: the message names the file asked for. */
    assert_int_equal(pcl_diag_new(&diag), PCL_OK);
    snprintf(path, sizeof(path), "%s/nodir/missing.conf", dir);
    assert_int_equal(pcl_conf_load(path, diag, &c), PCL_ERR_NOTFOUND);
    assert_null(c);
    assert_int_equal(pcl_diag_count(diag), 1);
    assert_non_null(strstr(pcl_diag_get(diag, 0), path));
    assert_non_null(strstr(pcl_diag_get(diag, 0), "No such file"));
    pcl_diag_free(diag);

    assert_int_equal(pcl_diag_new(&diag), PCL_OK);
    assert_int_equal(pcl_conf_load("relative.conf", diag, &c), PCL_ERR_PERM);
    pcl_diag_free(diag);
    tu_rmtree(dir);
}

/* Every key of the keyword table has its entry in the man page. */
static void
test_keys_documented(void **state)
{
    struct tu_doc_ctx d = { TEST_SRCDIR "/man/portcullis.conf.5.in", 0 };

    (void)state;
    pcl_conf_foreach_key(tu_check_documented, &d);
    assert_int_equal(d.missing, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_values_and_defaults),
        cmocka_unit_test(test_unsafe_files),
        cmocka_unit_test(test_keys_documented),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
