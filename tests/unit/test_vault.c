/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the vault: AES-256-GCM sealing with the name and type
 * bound, wrong keys, tampering at every byte, the file store and rotation,
 * and the command helper's limits. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "portcullis/err.h"
#include "portcullis/vault.h"
#include "testutil.h"

static const uint8_t key1[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
static const uint8_t key2[32] = { 42 };
static const char plain[] = "correct horse battery staple";

static void
seal(const char *name, enum pcl_vault_type type, uint8_t **buf,
     size_t *len)
{
    assert_int_equal(pcl_vault_seal_buf(key1, name, type, 1700000000,
                                        (const uint8_t *)plain,
                                        strlen(plain), buf, len),
                     PCL_OK);
}

static void
test_round_trip(void **state)
{
    struct pcl_secret *s = NULL;
    uint8_t *buf = NULL;
    uint8_t *buf2 = NULL;
    size_t len = 0;
    size_t len2 = 0;
    char why[256];

    (void)state;
    seal("db01", PCL_VAULT_PASSWORD, &buf, &len);
    assert_int_equal(len, PCL_VAULT_HEADER_LEN + strlen(plain) +
                              PCL_VAULT_TAG_LEN);
    assert_memory_equal(buf, PCL_VAULT_MAGIC, 8);
    /* The plaintext is nowhere in the entry. */
    assert_null(memmem(buf, len, "horse", 5));
    assert_int_equal(pcl_vault_unseal_buf(key1, 1, "db01", buf, len, &s, why,
                                          sizeof(why)),
                     PCL_OK);
    assert_int_equal(s->type, PCL_VAULT_PASSWORD);
    assert_int_equal(s->len, strlen(plain));
    assert_string_equal((const char *)s->data, plain);
    pcl_secret_free(s);
    /* A fresh nonce each time: two seals of the same secret differ. */
    seal("db01", PCL_VAULT_PASSWORD, &buf2, &len2);
    assert_int_equal(len, len2);
    assert_memory_not_equal(buf + 25, buf2 + 25, PCL_VAULT_NONCE_LEN);
    free(buf);
    free(buf2);
    pcl_secret_free(NULL);
}

/* Flipping any single byte of an entry is refused, never a crash. */
static void
test_tamper_every_byte(void **state)
{
    struct pcl_secret *s = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    size_t i;
    char why[256];

    (void)state;
    seal("db01", PCL_VAULT_SSH_KEY, &buf, &len);
    for (i = 0; i < len; i++) {
        int rc;
        buf[i] ^= 0x01;
        rc = pcl_vault_unseal_buf(key1, 1, "db01", buf, len, &s, why,
                                  sizeof(why));
        assert_true(rc == PCL_ERR_CRYPTO || rc == PCL_ERR_CONFIG);
        assert_null(s);
        assert_null(strstr(why, "horse"));
        buf[i] ^= 0x01;
    }
    /* Truncated at every length. */
    for (i = 0; i < len; i++) {
        assert_int_not_equal(pcl_vault_unseal_buf(key1, 1, "db01", buf, i,
                                                  &s, why, sizeof(why)),
                             PCL_OK);
    }
    free(buf);
}

static void
test_bound_name_type_key(void **state)
{
    struct pcl_secret *s = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    uint8_t keys[64];
    char why[256];

    (void)state;
    seal("db01", PCL_VAULT_PASSWORD, &buf, &len);
    /* Another name: the AAD differs. */
    assert_int_equal(pcl_vault_unseal_buf(key1, 1, "db02", buf, len, &s, why,
                                          sizeof(why)),
                     PCL_ERR_CRYPTO);
    assert_non_null(strstr(why, "integrity"));
    /* Another type in the header (a password passed off as a key). */
    buf[8] = PCL_VAULT_SSH_KEY;
    assert_int_equal(pcl_vault_unseal_buf(key1, 1, "db01", buf, len, &s, why,
                                          sizeof(why)),
                     PCL_ERR_CRYPTO);
    buf[8] = PCL_VAULT_PASSWORD;
    /* Another master key: named as such. */
    assert_int_equal(pcl_vault_unseal_buf(key2, 1, "db01", buf, len, &s, why,
                                          sizeof(why)),
                     PCL_ERR_CRYPTO);
    assert_non_null(strstr(why, "wrong master key"));
    /* The second key of a rotating key file works. */
    memcpy(keys, key2, 32);
    memcpy(keys + 32, key1, 32);
    assert_int_equal(pcl_vault_unseal_buf(keys, 2, "db01", buf, len, &s, why,
                                          sizeof(why)),
                     PCL_OK);
    pcl_secret_free(s);
    free(buf);
}

static void
test_bad_input(void **state)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    static const char *const bad[] = { "", ".hidden", "a/b", "a b", "../x",
                                       NULL };
    size_t i;

    (void)state;
    for (i = 0; bad[i] != NULL; i++) {
        assert_false(pcl_vault_name_ok(bad[i]));
        assert_int_equal(pcl_vault_seal_buf(key1, bad[i], PCL_VAULT_PASSWORD,
                                            0, (const uint8_t *)"abcd", 4,
                                            &buf, &len),
                         PCL_ERR_INVAL);
    }
    assert_true(pcl_vault_name_ok("db01-postgres.prod_1"));
    assert_int_equal(pcl_vault_seal_buf(key1, "x", PCL_VAULT_PASSWORD, 0,
                                        (const uint8_t *)"", 0, &buf, &len),
                     PCL_ERR_INVAL);
    assert_int_equal(pcl_vault_seal_buf(key1, "x", (enum pcl_vault_type)9, 0,
                                        (const uint8_t *)"abcd", 4, &buf,
                                        &len),
                     PCL_ERR_INVAL);
}

/* The file store: init, store, stat, unseal, permissions, rotation. */
static void
test_store_and_rotate(void **state)
{
    struct pcl_vault_params p;
    struct pcl_vault_entry_info info;
    struct pcl_vault *v = NULL;
    struct pcl_secret *s = NULL;
    struct pcl_secret *got = NULL;
    char dir[128];
    char vdir[160];
    char kpath[160];
    char epath[200];
    char why[512];
    char id1[32];
    char id2[32];
    size_t n = 0;

    (void)state;
    assert_int_equal(tu_mkdtemp(dir, sizeof(dir)), 0);
    snprintf(vdir, sizeof(vdir), "%s/vault", dir);
    snprintf(kpath, sizeof(kpath), "%s/vault.key", dir);
    snprintf(epath, sizeof(epath), "%s/db01", vdir);
    assert_int_equal(mkdir(vdir, 0750), 0);
    assert_int_equal(pcl_vault_init_key(kpath, (gid_t)-1, why, sizeof(why)),
                     PCL_OK);
    assert_int_not_equal(pcl_vault_init_key(kpath, (gid_t)-1, why,
                                            sizeof(why)),
                         PCL_OK);
    memset(&p, 0, sizeof(p));
    p.backend = "file";
    p.directory = vdir;
    p.master_key = kpath;
    assert_int_equal(pcl_vault_open(&p, &v, why, sizeof(why)), PCL_OK);
    assert_int_equal(pcl_secret_new(PCL_VAULT_PASSWORD, strlen(plain), &s),
                     PCL_OK);
    memcpy(s->data, plain, strlen(plain));
    assert_int_equal(pcl_vault_store(v, "db01", s, 0, (gid_t)-1, why,
                                     sizeof(why)),
                     PCL_OK);
    assert_int_equal(pcl_vault_stat(v, "db01", &info, why, sizeof(why)),
                     PCL_OK);
    assert_int_equal(info.type, PCL_VAULT_PASSWORD);
    assert_int_equal(info.length, strlen(plain));
    pcl_vault_key_id(v, id1, sizeof(id1));
    assert_string_equal(info.key_id, id1);
    assert_int_equal(pcl_vault_stat(v, "nope", &info, why, sizeof(why)),
                     PCL_ERR_NOTFOUND);

    assert_int_equal(pcl_vault_rotate(v, (gid_t)-1, &n, why, sizeof(why)),
                     PCL_OK);
    assert_int_equal(n, 1);
    pcl_vault_key_id(v, id2, sizeof(id2));
    assert_string_not_equal(id1, id2);
    pcl_vault_close(v);
    v = NULL;
    /* A fresh open reads the rotated key file (one key) and the entry. */
    assert_int_equal(pcl_vault_open(&p, &v, why, sizeof(why)), PCL_OK);
    assert_int_equal(pcl_vault_unseal(v, "db01", &got, why, sizeof(why)),
                     PCL_OK);
    assert_string_equal((const char *)got->data, plain);
    pcl_secret_free(got);
    got = NULL;

    /* An interrupted rotation (two keys, an entry still under the
     * second) is finished with the first key, not rotated again. */
    {
        uint8_t *buf = NULL;
        size_t len = 0;
        uint8_t two[64];
        FILE *fp;
        char want[32];
        uint8_t id[PCL_VAULT_KEY_ID_LEN];
        memcpy(two, key2, 32);
        memcpy(two + 32, key1, 32);
        fp = fopen(kpath, "w");
        assert_non_null(fp);
        assert_int_equal(fwrite(two, 1, 64, fp), 64);
        assert_int_equal(fclose(fp), 0);
        assert_int_equal(pcl_vault_seal_buf(key1, "db01", PCL_VAULT_PASSWORD,
                                            1, (const uint8_t *)plain,
                                            strlen(plain), &buf, &len),
                         PCL_OK);
        fp = fopen(epath, "w");
        assert_non_null(fp);
        assert_int_equal(fwrite(buf, 1, len, fp), len);
        assert_int_equal(fclose(fp), 0);
        free(buf);
        pcl_vault_close(v);
        v = NULL;
        assert_int_equal(pcl_vault_open(&p, &v, why, sizeof(why)), PCL_OK);
        assert_int_equal(pcl_vault_rotate(v, (gid_t)-1, &n, why,
                                          sizeof(why)),
                         PCL_OK);
        pcl_vault_key_id_raw(key2, id);
        snprintf(want, sizeof(want), "%02x%02x%02x%02x%02x%02x%02x%02x",
                 id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7]);
        pcl_vault_key_id(v, id2, sizeof(id2));
        assert_string_equal(id2, want);
        assert_int_equal(pcl_vault_stat(v, "db01", &info, why, sizeof(why)),
                         PCL_OK);
        assert_string_equal(info.key_id, want);
        assert_int_equal(pcl_vault_unseal(v, "db01", &got, why, sizeof(why)),
                         PCL_OK);
        assert_string_equal((const char *)got->data, plain);
        pcl_secret_free(got);
        got = NULL;
    }
    /* An entry readable by others is refused. */
    assert_int_equal(chmod(epath, 0644), 0);
    assert_int_equal(pcl_vault_unseal(v, "db01", &got, why, sizeof(why)),
                     PCL_ERR_PERM);
    assert_non_null(strstr(why, "readable by others"));
    pcl_vault_close(v);
    v = NULL;
    /* So is a master key file readable by others. */
    assert_int_equal(chmod(kpath, 0644), 0);
    assert_int_equal(pcl_vault_open(&p, &v, why, sizeof(why)), PCL_ERR_PERM);
    assert_null(v);
    pcl_secret_free(s);
    tu_rmtree(vdir);
    tu_rmtree(dir);
}

/* The helper: output, exit status, time limit and output cap. */
static void
test_helper(void **state)
{
    struct pcl_vault_request req = { "db01", "db01", "postgres", "alice",
                                     "0123abcd", false };
    struct pcl_secret *s = NULL;
    char why[512];
    char dir[128];
    char path[200];
    char cmd[400];
    static const struct {
        const char *script;
        unsigned timeout_ms;
        size_t cap;
        int rc;
        const char *why_or_value;
    } cases[] = {
        { "echo \"pw-$1-$2\"", 2000, 100, PCL_OK, "pw-db01-alice" },
        { "printf 'x%.0s' $(seq 200)", 2000, 100, PCL_ERR_CONFIG,
          "more than 100 bytes" },
        { "echo pw; exit 4", 2000, 100, PCL_ERR_CONFIG, "status 4" },
        { "sleep 5; echo late", 300, 100, PCL_ERR_CONFIG, "timed out" },
        { "true", 2000, 100, PCL_ERR_CONFIG, "no credential" },
        { "printf 'a\\nb\\n'", 2000, 100, PCL_ERR_CONFIG, "more than one" },
        { "kill -TERM $$", 2000, 100, PCL_ERR_CONFIG, "signal 15" },
        /* Output closed, then lingering: the time limit holds. */
        { "echo pw; exec >&-; sleep 5", 300, 100, PCL_ERR_CONFIG,
          "timed out" },
    };
    size_t i;

    (void)state;
    assert_int_equal(tu_mkdtemp(dir, sizeof(dir)), 0);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[300];
        snprintf(text, sizeof(text), "#!/bin/sh\n%s\n", cases[i].script);
        assert_int_equal(tu_write(dir, "h", text, 0755, path, sizeof(path)),
                         0);
        snprintf(cmd, sizeof(cmd), "%s %%t %%u", path);
        assert_int_equal(pcl_vault_run_helper(cmd, cases[i].timeout_ms,
                                              cases[i].cap, &req, &s, why,
                                              sizeof(why)),
                         cases[i].rc);
        if (cases[i].rc == PCL_OK) {
            assert_string_equal((const char *)s->data,
                                cases[i].why_or_value);
            assert_int_equal(s->type, PCL_VAULT_PASSWORD);
            pcl_secret_free(s);
            s = NULL;
        } else {
            assert_null(s);
            if (strstr(why, cases[i].why_or_value) == NULL) {
                fail_msg("case %zu: \"%s\" lacks \"%s\"", i, why,
                         cases[i].why_or_value);
            }
        }
    }
    /* Started with SIGCHLD ignored: no exit status, so the output of a
     * helper that failed is not taken for a credential. */
    {
        struct sigaction ign, old;
        memset(&ign, 0, sizeof(ign));
        ign.sa_handler = SIG_IGN;
        assert_int_equal(sigaction(SIGCHLD, &ign, &old), 0);
        assert_int_equal(tu_write(dir, "h", "#!/bin/sh\necho pw; exit 4\n",
                                  0755, path, sizeof(path)), 0);
        snprintf(cmd, sizeof(cmd), "%s", path);
        assert_int_equal(pcl_vault_run_helper(cmd, 2000, 100, &req, &s, why,
                                              sizeof(why)),
                         PCL_ERR_CONFIG);
        assert_null(s);
        assert_non_null(strstr(why, "exit status is lost"));
        assert_int_equal(sigaction(SIGCHLD, &old, NULL), 0);
    }
    /* Unknown token, relative path, a token value with a blank. */
    assert_int_equal(pcl_vault_run_helper("/bin/echo %x", 1000, 100, &req,
                                          &s, why, sizeof(why)),
                     PCL_ERR_CONFIG);
    assert_int_equal(pcl_vault_run_helper("echo %t", 1000, 100, &req, &s,
                                          why, sizeof(why)),
                     PCL_ERR_CONFIG);
    req.user = "a b";
    assert_int_equal(pcl_vault_run_helper("/bin/echo %u", 1000, 100, &req,
                                          &s, why, sizeof(why)),
                     PCL_ERR_CONFIG);
    tu_rmtree(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_tamper_every_byte),
        cmocka_unit_test(test_bound_name_type_key),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_store_and_rotate),
        cmocka_unit_test(test_helper),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
