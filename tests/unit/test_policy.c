/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of policy.conf: parse errors with their lines, and a table of
 * (identity, target, account) -> decision. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "portcullis/err.h"
#include "portcullis/policy.h"
#include "testutil.h"

#define KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
#define FP "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"

static const char good_policy[] =
    "# test policy\n"
    "[defaults]\n"
    "ciphers = aes256-gcm@openssh.com\n"
    "port = 2222\n"
    "\n"
    "[target db01]\n"
    "description = database\n"
    "host = 10.0.0.5\n"
    "accounts = postgres, deploy\n"
    "credential = %t-%a\n"
    "host-key = " KEY "\n"
    "allow = group:dba, user:alice\n"
    "allow = !user:mallory\n"
    "\n"
    "[target app01]\n"
    "host = app01.internal\n"
    "port = 22\n"
    "accounts = %u\n"
    "host-key = " FP "\n"
    "allow = group:dev*\n"
    "kex = curve25519-sha256\n";

static void
load(const char *text, struct pcl_policy **p, struct pcl_diag **diag,
     char *dir, size_t dirlen, int want_rc)
{
    char path[256];
    int rc;

    assert_int_equal(tu_mkdtemp(dir, dirlen), 0);
    assert_int_equal(tu_write(dir, "policy.conf", text, 0644, path,
                              sizeof(path)), 0);
    assert_int_equal(pcl_diag_new(diag), PCL_OK);
    rc = pcl_policy_load(path, NULL, *diag, p);
    if (rc != want_rc) {
        fail_msg("rc %d, expected %d: %s", rc, want_rc,
                 pcl_diag_count(*diag) > 0 ? pcl_diag_get(*diag, 0) : "");
    }
}

struct decide_case {
    const char *user;
    const char *groups[3];
    const char *target;
    const char *account;
    int rc;
    const char *want_account;
    const char *rule_suffix; /* ":LINE" of the deciding entry */
};

static const struct decide_case decide_cases[] = {
    { "alice", { NULL }, "db01", NULL, PCL_OK, "postgres", ":12" },
    { "bob", { "dba", NULL }, "db01", "deploy", PCL_OK, "deploy", ":12" },
    { "bob", { "dba", NULL }, "db01", "root", PCL_ERR_DENIED, NULL, ":12" },
    { "carol", { "users", NULL }, "db01", NULL, PCL_ERR_DENIED, NULL, ":6" },
    /* A negated entry wins even after a positive match. */
    { "mallory", { "dba", NULL }, "db01", NULL, PCL_ERR_DENIED, NULL,
      ":13" },
    { "dave", { "developers", NULL }, "app01", NULL, PCL_OK, "dave", ":20" },
    { "dave", { "developers", NULL }, "app01", "root", PCL_ERR_DENIED, NULL,
      ":20" },
    { "dave", { "developers", NULL }, "app01", "dave", PCL_OK, "dave",
      ":20" },
    { "alice", { NULL }, "nosuch", NULL, PCL_ERR_DENIED, NULL,
      "default-deny" },
};

static void
test_decide(void **state)
{
    struct pcl_policy *p = NULL;
    struct pcl_diag *diag = NULL;
    char dir[64];
    size_t i;

    (void)state;
    load(good_policy, &p, &diag, dir, sizeof(dir), PCL_OK);
    assert_int_equal(pcl_policy_ntargets(p), 2);
    for (i = 0; i < sizeof(decide_cases) / sizeof(decide_cases[0]); i++) {
        const struct decide_case *c = &decide_cases[i];
        struct pcl_identity id;
        struct pcl_decision d;
        size_t ng = 0;
        size_t rl;
        size_t sl = strlen(c->rule_suffix);
        int rc;

        while (ng < 3 && c->groups[ng] != NULL) {
            ng++;
        }
        id.user = c->user;
        id.groups = c->groups;
        id.ngroups = ng;
        rc = pcl_policy_decide(p, &id, c->target, c->account, &d);
        if (rc != c->rc) {
            fail_msg("case %zu (%s -> %s): rc %d, expected %d (%s)", i,
                     c->user, c->target, rc, c->rc, d.reason);
        }
        assert_int_equal(d.decision, rc == PCL_OK ? PCL_DECISION_ALLOW
                                                  : PCL_DECISION_DENY);
        assert_true(d.reason[0] != '\0');
        rl = strlen(d.rule);
        if (rl < sl || strcmp(d.rule + rl - sl, c->rule_suffix) != 0) {
            fail_msg("case %zu: rule \"%s\", expected ...\"%s\"", i, d.rule,
                     c->rule_suffix);
        }
        if (c->want_account != NULL) {
            assert_string_equal(d.account, c->want_account);
        }
    }
    pcl_policy_free(p);
    pcl_diag_free(diag);
    tu_rmtree(dir);
}

static void
test_inheritance_and_accessors(void **state)
{
    struct pcl_policy *p = NULL;
    struct pcl_diag *diag = NULL;
    const struct pcl_target *db;
    const struct pcl_target *app;
    char dir[64];
    char cred[64];

    (void)state;
    load(good_policy, &p, &diag, dir, sizeof(dir), PCL_OK);
    db = pcl_policy_target(p, 0);
    app = pcl_policy_target(p, 1);
    assert_string_equal(pcl_target_name(db), "db01");
    assert_int_equal(pcl_target_port(db), 2222);
    assert_int_equal(pcl_target_port(app), 22);
    assert_string_equal(pcl_target_ciphers(db), "aes256-gcm@openssh.com");
    assert_string_equal(pcl_target_ciphers(app), "aes256-gcm@openssh.com");
    assert_string_equal(pcl_target_kex(app), "curve25519-sha256");
    assert_non_null(strstr(pcl_target_kex(db), "curve25519-sha256"));
    assert_null(strstr(pcl_target_macs(db), "sha1"));
    assert_int_equal(pcl_target_nhost_keys(db), 1);
    assert_string_equal(pcl_target_host_key(app, 0), FP);
    /* No mask key: the built-in set. */
    assert_int_equal(pcl_target_nmasks(db), 1);
    assert_string_equal(pcl_target_mask(db, 0), "builtin");
    assert_int_equal(pcl_target_credential(db, "postgres", cred,
                                           sizeof(cred)), PCL_OK);
    assert_string_equal(cred, "db01-postgres");
    assert_int_equal(pcl_target_credential(app, "dave", cred, sizeof(cred)),
                     PCL_OK);
    assert_string_equal(cred, "app01");
    assert_int_equal(pcl_target_credential(db, "postgres", cred, 8),
                     PCL_ERR_TOOBIG);
    pcl_policy_free(p);
    pcl_diag_free(diag);
    tu_rmtree(dir);
}

struct error_case {
    const char *text;
    const char *diag; /* ":LINE: message" substring of the first error */
};

#define T(name) "[target " name "]\nhost = h\naccounts = a\nhost-key = " FP "\n"

static const struct error_case error_cases[] = {
    { "[target approve]\n", ":1: target name \"approve\" is a reserved" },
    { T("db01") T("db01"), ":5: target \"db01\" defined twice (first on "
                           "line 1)" },
    { "[target db01]\naccounts = a\nhost-key = " FP "\n",
      ":1: [target db01]: no host" },
    { "[target db01]\nhost = h\naccounts = a\n", ":1: [target db01]: no "
                                                 "host-key pinned" },
    { "[target db01]\nhost = h\nhost-key = " FP "\n",
      ":1: [target db01]: no accounts" },
    { T("db01") "colour = red\n", ":5: unknown key \"colour\" in [target "
                                  "db01]" },
    { T("db01") "port = 70000\n", ":5: port: expected 1-65535" },
    { T("db01") "allow = alice\n", ":5: allow: \"alice\" is not "
                                   "user:PATTERN" },
    { T("db01") "allow = user:\n", ":5: allow: empty pattern" },
    { T("db01") "credential = ../x\n", ":5: credential: must be a file "
                                       "name" },
    { T("db01") "credential = a/b\n", ":5: credential: invalid character" },
    { T("db01") "credential = %x\n", ":5: credential: unknown token %x" },
    { T("db01") "host-key = SHA256:short\n", ":5: host-key: a SHA256 "
                                             "fingerprint" },
    { T("db01") "ciphers = aes256-gcm@openssh.com,,x\n",
      ":5: empty name in algorithm list" },
    { T("db01") "kex = Curve25519!\n", ":5: invalid algorithm name" },
    { T("db01") "host = -oProxyCommand=x\n", ":5: host: given twice" },
    { "[target db02]\nhost = -oProxyCommand=x\n", ":2: host: invalid host" },
    { "[target db01]\naccounts = root, root\n", ":2: accounts: \"root\" "
                                                "listed twice" },
    { "[target db01]\naccounts = 9lives\n", ":2: accounts: invalid account "
                                            "name" },
    { "[target]\n", ":1: unknown section [target]" },
    { "[target bad name]\n", ":1: invalid target name" },
    { "[defaults]\nallow = user:x\n", ":2: unknown key \"allow\" in "
                                      "[defaults]" },
    { T("db01") "[defaults]\n", ":5: [defaults] must come before" },
    { "host = h\n", ":1: \"host\" outside of a section" },
    { T("db01") "mask = secrets\n", ":5: mask: no [mask secrets] section" },
    { T("db01") "mask = none, builtin\n",
      ":5: mask: \"none\" cannot be combined" },
    { "[mask builtin]\npattern = x\n", ":1: invalid mask rule set name "
                                       "\"builtin\" (reserved)" },
    { "[mask ips]\nreplace = x\n", ":1: [mask ips]: no pattern" },
    { "[mask ips]\npattern = a\npattern = b\n",
      ":3: pattern: given twice (first on line 2)" },
    { "[mask ips]\npattern = a\ncolour = red\n",
      ":3: unknown key \"colour\" in [mask ips]" },
    { "[mask a]\npattern = x\n[mask a]\npattern = y\n",
      ":3: mask \"a\" defined twice (first on line 1)" },
    { T("db01") "mask-live = maybe\n",
      ":5: mask-live: expected yes or no, not \"maybe\"" },
    { "[defaults]\nmask-live = 2\n", ":2: mask-live: expected yes or no" },
    { T("db01") "mask-live = yes\nmask-live = no\n",
      ":6: mask-live: given twice (first on line 5)" },
};

/* mask-live: a target's own value, else [defaults]', else off. */
static void
test_mask_live(void **state)
{
    static const char text[] =
        "[defaults]\n"
        "mask-live = yes\n"
        T("inherits")
        T("off") "mask-live = no\n";
    static const char text_off[] = T("plain") T("on") "mask-live = on\n";
    struct pcl_policy *p = NULL;
    struct pcl_diag *diag = NULL;
    char dir[64];

    (void)state;
    load(text, &p, &diag, dir, sizeof(dir), PCL_OK);
    assert_true(pcl_target_mask_live(pcl_policy_target(p, 0)));
    assert_false(pcl_target_mask_live(pcl_policy_target(p, 1)));
    pcl_policy_free(p);
    pcl_diag_free(diag);
    tu_rmtree(dir);
    load(text_off, &p, &diag, dir, sizeof(dir), PCL_OK);
    assert_false(pcl_target_mask_live(pcl_policy_target(p, 0)));
    assert_true(pcl_target_mask_live(pcl_policy_target(p, 1)));
    pcl_policy_free(p);
    pcl_diag_free(diag);
    tu_rmtree(dir);
}

static void
test_errors(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        struct pcl_policy *p = NULL;
        struct pcl_diag *diag = NULL;
        char dir[64];

        load(error_cases[i].text, &p, &diag, dir, sizeof(dir),
             PCL_ERR_CONFIG);
        assert_null(p);
        assert_true(pcl_diag_count(diag) > 0);
        if (strstr(pcl_diag_get(diag, 0), error_cases[i].diag) == NULL) {
            fail_msg("case %zu: expected \"%s\", got \"%s\"", i,
                     error_cases[i].diag, pcl_diag_get(diag, 0));
        }
        pcl_diag_free(diag);
        tu_rmtree(dir);
    }
}

static void
count_key(const char *section, const char *key, void *ctx)
{
    (void)section;
    (void)key;
    (*(int *)ctx)++;
}

static void
test_key_table(void **state)
{
    int n = 0;

    (void)state;
    pcl_policy_foreach_key(count_key, &n);
    assert_int_equal(n, 23);
}

/* Every key the parser accepts has its entry in the man page. */
static void
test_keys_documented(void **state)
{
    struct tu_doc_ctx d = { TEST_SRCDIR "/man/portcullis-policy.5.in", 0 };

    (void)state;
    pcl_policy_foreach_key(tu_check_documented, &d);
    assert_int_equal(d.missing, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_inheritance_and_accessors),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_key_table),
        cmocka_unit_test(test_mask_live),
        cmocka_unit_test(test_keys_documented),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
