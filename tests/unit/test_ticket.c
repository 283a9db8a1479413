/* SPDX-License-Identifier: BSD-2-Clause */
/* The identity ticket: round trip, and every refusal (forged, another
 * key, another user, expired, made in the future, damaged); the SSH key
 * fingerprint from sshd's SSH_AUTH_INFO_0; the remember store. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "portcullis/err.h"
#include "portcullis/remember.h"
#include "portcullis/ticket.h"
#include "testutil.h"

static const uint8_t key[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t other[32] = "fedcba9876543210fedcba9876543210";

static void
fill(struct pcl_ticket *t, time_t now)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->user, sizeof(t->user), "alice");
    snprintf(t->sub, sizeof(t->sub), "sub-1");
    snprintf(t->iss, sizeof(t->iss), "https://idp.test");
    snprintf(t->method, sizeof(t->method), "device");
    snprintf(t->groups[0], sizeof(t->groups[0]), "dba");
    snprintf(t->groups[1], sizeof(t->groups[1]), "ops");
    t->ngroups = 2;
    t->auth_time = (int64_t)now;
    t->iat = (int64_t)now;
    t->exp = (int64_t)now + 60;
}

static void
test_round_trip(void **state)
{
    struct pcl_ticket t, got;
    time_t now = time(NULL);
    char why[256];
    char *s = NULL;

    (void)state;
    fill(&t, now);
    assert_int_equal(pcl_ticket_issue(&t, key, sizeof(key), &s), PCL_OK);
    assert_int_equal(strncmp(s, "v1.", 3), 0);
    assert_int_equal(pcl_ticket_verify(s, key, sizeof(key), "alice", now,
                                       &got, why, sizeof(why)),
                     PCL_OK);
    assert_string_equal(got.sub, "sub-1");
    assert_string_equal(got.iss, "https://idp.test");
    assert_int_equal(got.ngroups, 2);
    assert_string_equal(got.groups[1], "ops");
    assert_int_equal(got.exp, t.exp);
    free(s);
}

static void
test_refusals(void **state)
{
    struct pcl_ticket t, got;
    time_t now = time(NULL);
    char why[256];
    char *s = NULL;
    char *forged;
    char *p;

    (void)state;
    fill(&t, now);
    assert_int_equal(pcl_ticket_issue(&t, key, sizeof(key), &s), PCL_OK);

    /* another key */
    assert_int_equal(pcl_ticket_verify(s, other, sizeof(other), "alice", now,
                                       &got, why, sizeof(why)),
                     PCL_ERR_CRYPTO);
    /* another user */
    assert_int_equal(pcl_ticket_verify(s, key, sizeof(key), "bob", now, &got,
                                       why, sizeof(why)),
                     PCL_ERR_DENIED);
    assert_non_null(strstr(why, "another user"));
    /* expired */
    assert_int_equal(pcl_ticket_verify(s, key, sizeof(key), "alice",
                                       now + 61, &got, why, sizeof(why)),
                     PCL_ERR_DENIED);
    assert_non_null(strstr(why, "expired"));
    /* made in the future */
    assert_int_equal(pcl_ticket_verify(s, key, sizeof(key), "alice",
                                       now - 3600, &got, why, sizeof(why)),
                     PCL_ERR_DENIED);
    /* a payload changed (groups added) with the old MAC */
    forged = strdup(s);
    p = strchr(forged + 3, '.');
    p[-2] = p[-2] == 'A' ? 'B' : 'A';
    assert_int_equal(pcl_ticket_verify(forged, key, sizeof(key), "alice",
                                       now, &got, why, sizeof(why)),
                     PCL_ERR_CRYPTO);
    free(forged);
    /* the same MAC spelt another way: the last of its 43 characters with
     * one of the two bits past the data set */
    forged = strdup(s);
    {
        static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
                                   "opqrstuvwxyz0123456789-_";
        char *last = forged + strlen(forged) - 1;
        size_t v = (size_t)(strchr(b64u, *last) - b64u);
        assert_int_equal(strlen(strrchr(forged, '.') + 1), 43);
        *last = b64u[v ^ 1];
    }
    assert_int_equal(pcl_ticket_verify(forged, key, sizeof(key), "alice",
                                       now, &got, why, sizeof(why)),
                     PCL_ERR_CRYPTO);
    free(forged);
    /* malformed */
    assert_int_equal(pcl_ticket_verify("v2.abc.def", key, sizeof(key),
                                       "alice", now, &got, why, sizeof(why)),
                     PCL_ERR_SYNTAX);
    assert_int_equal(pcl_ticket_verify("v1.abc", key, sizeof(key), "alice",
                                       now, &got, why, sizeof(why)),
                     PCL_ERR_SYNTAX);
    /* a short key is refused on both sides */
    assert_int_equal(pcl_ticket_verify(s, key, 16, "alice", now, &got, why,
                                       sizeof(why)),
                     PCL_ERR_SYNTAX);
    free(s);
    s = NULL;
    assert_int_equal(pcl_ticket_issue(&t, key, 16, &s), PCL_ERR_INVAL);
    assert_null(s);
}

static void
test_fingerprint(void **state)
{
    char fp[128];

    (void)state;
    /* ssh-keygen -lf of this key prints the same fingerprint */
    assert_int_equal(pcl_ticket_fingerprint(
                         "publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBjM"
                         "DJ33fQu4Jb3iU+FrrjF3vlsLK2qjbddL+DtqvOXg\n",
                         fp, sizeof(fp)),
                     PCL_OK);
    assert_string_equal(fp, "SHA256:ljG8SeGCoXpnIWWUOocyYLbLmAfZoJyMr0IeylDVvWc");
    assert_int_equal(pcl_ticket_fingerprint("keyboard-interactive\n", fp,
                                            sizeof(fp)),
                     PCL_ERR_NOTFOUND);
    assert_int_equal(pcl_ticket_fingerprint("", fp, sizeof(fp)),
                     PCL_ERR_NOTFOUND);
}

static void
test_remember(void **state)
{
    struct pcl_remember *r = NULL;
    struct pcl_ticket t, got;
    char dir[64], path[128];
    char why[256];
    time_t now = time(NULL);

    (void)state;
    assert_int_equal(tu_mkdtemp(dir, sizeof(dir)), 0);
    snprintf(path, sizeof(path), "%s/remember.sqlite", dir);
    assert_int_equal(pcl_remember_open(path, &r, why, sizeof(why)), PCL_OK);
    fill(&t, now);
    snprintf(t.fp, sizeof(t.fp), "SHA256:abc");
    assert_int_equal(pcl_remember_put(r, &t, now + 100), PCL_OK);
    assert_int_equal(pcl_remember_get(r, "alice", "SHA256:abc", now, &got),
                     PCL_OK);
    assert_string_equal(got.sub, "sub-1");
    assert_int_equal(got.ngroups, 2);
    assert_string_equal(got.groups[0], "dba");
    /* another key, another user, past the window */
    assert_int_equal(pcl_remember_get(r, "alice", "SHA256:xyz", now, &got),
                     PCL_ERR_NOTFOUND);
    assert_int_equal(pcl_remember_get(r, "bob", "SHA256:abc", now, &got),
                     PCL_ERR_NOTFOUND);
    assert_int_equal(pcl_remember_get(r, "alice", "SHA256:abc", now + 100,
                                      &got),
                     PCL_ERR_NOTFOUND);
    /* no fingerprint, nothing remembered */
    t.fp[0] = '\0';
    assert_int_equal(pcl_remember_put(r, &t, now + 100), PCL_ERR_INVAL);
    pcl_remember_close(r);
    /* a store others may read is refused */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(pcl_remember_open(path, &r, why, sizeof(why)),
                     PCL_ERR_PERM);
    tu_rmtree(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_remember),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
