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
    { T("db01") "approval = leads\n", ":5: approval: \"leads\" is not "
                                        "user:PATTERN" },
    { T("db01") "approval = group:l\napprovals-required = 17\n",
      ":6: approvals-required: expected 1-16" },
    { T("db01") "approval = group:l\ngrant-ttl = 0\n",
      ":6: grant-ttl: invalid duration" },
    { T("db01") "approval = group:l\nrequest-timeout = 2d\n",
      ":6: request-timeout: invalid duration" },
    { T("db01") "approval = group:l\napproval-command = ^rm (\n",
      ":6: approval-command: missing closing parenthesis" },
    { T("db01") "grant-ttl = 1h\n", ":1: [target db01]: approval keys "
                                     "without an approval list" },
    { T("db01") "approval = group:l\ngrant-ttl = 1h\ngrant-ttl = 2h\n",
      ":7: grant-ttl: given twice (first on line 6)" },
    { T("db01") "mask-live = maybe\n",
      ":5: mask-live: expected yes or no, not \"maybe\"" },
    { "[defaults]\nmask-live = 2\n", ":2: mask-live: expected yes or no" },
    { T("db01") "mask-live = yes\nmask-live = no\n",
      ":6: mask-live: given twice (first on line 5)" },
};

/* [role NAME]: who may use the built-in verbs replay and sessions. */
static const char role_policy[] =
    "[role auditors]\n"                              /* 1 */
    "members = group:secops, user:alice, !user:mallory\n"
    "may = replay, sessions\n"
    "[role viewers]\n"                               /* 4 */
    "members = group:ops*\n"
    "may = sessions\n";

struct may_case {
    const char *user;
    const char *group;
    const char *verb;
    int rc;
    const char *rule_suffix;
};

static const struct may_case may_cases[] = {
    { "alice", "users", "replay", PCL_OK, ":2" },
    { "bob", "secops", "sessions", PCL_OK, ":2" },
    { "mallory", "secops", "replay", PCL_ERR_DENIED, "default-deny" },
    { "carol", "ops-eu", "sessions", PCL_OK, ":5" },
    { "carol", "ops-eu", "replay", PCL_ERR_DENIED, "default-deny" },
    { "dave", "users", "sessions", PCL_ERR_DENIED, "default-deny" },
    { "alice", "users", "kill", PCL_ERR_DENIED, "default-deny" },
};

static void
test_roles(void **state)
{
    struct pcl_policy *p = NULL;
    struct pcl_diag *diag = NULL;
    char dir[64];
    size_t i;

    (void)state;
    load(role_policy, &p, &diag, dir, sizeof(dir), PCL_OK);
    for (i = 0; i < sizeof(may_cases) / sizeof(may_cases[0]); i++) {
        const struct may_case *c = &may_cases[i];
        const char *groups[1] = { c->group };
        struct pcl_identity id = { c->user, groups, 1 };
        struct pcl_decision d;
        size_t rl;
        int rc = pcl_policy_may(p, &id, c->verb, &d);

        if (rc != c->rc) {
            fail_msg("case %zu (%s %s): rc %d (%s)", i, c->user, c->verb,
                     rc, d.reason);
        }
        rl = strlen(d.rule);
        if (rl < strlen(c->rule_suffix) ||
            strcmp(d.rule + rl - strlen(c->rule_suffix), c->rule_suffix) !=
                0) {
            fail_msg("case %zu: rule %s", i, d.rule);
        }
    }
    pcl_policy_free(p);
    pcl_diag_free(diag);
    tu_rmtree(dir);
    /* Errors: unknown verb, missing key, unknown key. */
    static const char *const bad[][2] = {
        { "[role r]\nmembers = user:a\nmay = kill\n", "unknown command" },
        { "[role r]\nmembers = user:a\n", "members and may are both" },
        { "[role r]\nmembers = a\nmay = replay\n", "is not user:" },
        { "[role r]\nwho = user:a\n", "unknown key" },
    };
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        load(bad[i][0], &p, &diag, dir, sizeof(dir), PCL_ERR_CONFIG);
        assert_null(p);
        if (strstr(pcl_diag_get(diag, 0), bad[i][1]) == NULL) {
            fail_msg("bad case %zu: %s", i, pcl_diag_get(diag, 0));
        }
        pcl_diag_free(diag);
        tu_rmtree(dir);
    }
}

static const char approval_policy[] =
    "[target db01]\n"
    "host = h\n"
    "accounts = postgres, deploy\n"
    "host-key = " FP "\n"
    "allow = group:dba\n"
    "approval = group:leads, !user:eve\n"
    "approval-accounts = postgres\n"
    "approval-command = ^systemctl (restart|stop) \n"
    "approvals-required = 2\n"
    "grant-ttl = 30m\n"
    "[target app01]\n"
    "host = h\n"
    "accounts = deploy\n"
    "host-key = " FP "\n"
    "allow = group:dba\n";

struct approval_case {
    const char *target;
    const char *account;
    const char *command;
    int needed;
    int command_scoped;
    const char *rule_suffix; /* ":LINE" of the key that required it */
};

static const struct approval_case approval_cases[] = {
    { "db01", "postgres", NULL, 1, 0, ":7" },
    { "db01", "postgres", "ls", 1, 0, ":7" },
    { "db01", "deploy", NULL, 0, 0, "" },
    { "db01", "deploy", "ls", 0, 0, "" },
    { "db01", "deploy", "systemctl restart pg", 1, 1, ":8" },
    { "db01", "deploy", "sudo systemctl stop pg", 0, 0, "" }, /* ^ */
    { "db01", "deploy", "systemctl stop pg", 1, 1, ":8" },
    { "db01", "deploy", "systemctl status pg", 0, 0, "" },
    { "app01", "deploy", "systemctl restart pg", 0, 0, "" },
};

/* Which sessions need approval, and who may approve. */
static void
test_approval(void **state)
{
    struct pcl_policy *p = NULL;
    struct pcl_diag *diag = NULL;
    const char *leads[] = { "leads" };
    struct pcl_identity lead = { "bob", leads, 1 };
    struct pcl_identity eve = { "eve", leads, 1 };
    struct pcl_identity dev = { "dave", NULL, 0 };
    char dir[64];
    size_t i;

    (void)state;
    load(approval_policy, &p, &diag, dir, sizeof(dir), PCL_OK);
    for (i = 0; i < sizeof(approval_cases) / sizeof(approval_cases[0]);
         i++) {
        const struct approval_case *c = &approval_cases[i];
        const struct pcl_target *t =
            pcl_policy_target(p, strcmp(c->target, "db01") == 0 ? 0 : 1);
        struct pcl_approval_rule r;
        size_t rl;

        assert_int_equal(pcl_target_approval(p, t, c->account, c->command,
                                             &r), PCL_OK);
        if (r.needed != c->needed || r.command_scoped != c->command_scoped) {
            fail_msg("case %zu: needed %d scoped %d, expected %d %d", i,
                     r.needed, r.command_scoped, c->needed,
                     c->command_scoped);
        }
        rl = strlen(r.rule);
        if (c->needed &&
            (rl < strlen(c->rule_suffix) ||
             strcmp(r.rule + rl - strlen(c->rule_suffix), c->rule_suffix) !=
                 0)) {
            fail_msg("case %zu: rule %s, expected ...%s", i, r.rule,
                     c->rule_suffix);
        }
        if (c->needed) {
            assert_int_equal(r.required, 2);
            assert_int_equal(r.grant_ttl, 1800);
            assert_int_equal(r.request_timeout, 0); /* portcullis.conf's */
        }
    }
    assert_true(pcl_target_may_approve(pcl_policy_target(p, 0), &lead));
    assert_false(pcl_target_may_approve(pcl_policy_target(p, 0), &eve));
    assert_false(pcl_target_may_approve(pcl_policy_target(p, 0), &dev));
    assert_false(pcl_target_may_approve(pcl_policy_target(p, 1), &lead));
    pcl_policy_free(p);
    pcl_diag_free(diag);
    tu_rmtree(dir);
}

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
    assert_int_equal(n, 31);
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
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_approval),
        cmocka_unit_test(test_key_table),
        cmocka_unit_test(test_mask_live),
        cmocka_unit_test(test_keys_documented),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
