/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The RFC 8628 client against a real HTTPS server (tests/tools/as-server.py
 * with a test CA made here by openssl): discovery, device authorization,
 * and the poller against each token endpoint answer: authorization_pending,
 * slow_down (+5 s), access_denied, expired_token, another error, no
 * id_token, an oversized answer, a non-JSON answer, expires_in passing and
 * our own deadline; the wrong CA and a plain-http issuer are refused.
 */
#include "config.h"

#include <setjmp.h>
#include <signal.h>
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

#include "portcullis/err.h"
#include "portcullis/oidc.h"
#include "testutil.h"

#define PORT "22320"
#define ISSUER "https://127.0.0.1:" PORT

struct env {
    char dir[64];
    char ca[128];
    char wrong_ca[128];
    pid_t server;
};

/* Runs script in dir with /bin/sh. */
static int
sh(const char *dir, const char *script)
{
    char cmd[2048];

    snprintf(cmd, sizeof(cmd), "cd '%s' && %s", dir, script);
    return system(cmd);
}

static int
setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    char ready[128], cert[128], key[128];
    int i;

    assert_int_equal(tu_mkdtemp(e->dir, sizeof(e->dir)), 0);
    /* A per-run CA, a server certificate for 127.0.0.1, an unrelated CA. */
    assert_int_equal(
        sh(e->dir, "openssl req -x509 -newkey ec -pkeyopt "
           "ec_paramgen_curve:P-256 -nodes -days 1 -keyout ca.key -out ca.crt "
           "-subj /CN=unit-ca >/dev/null 2>&1 && openssl req -newkey ec "
           "-pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out "
           "srv.csr -subj /CN=127.0.0.1 >/dev/null 2>&1 && printf "
           "'subjectAltName=IP:127.0.0.1\\n' > ext && openssl x509 -req -in "
           "srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -out "
           "srv.crt -extfile ext >/dev/null 2>&1 && openssl req -x509 "
           "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
           "-keyout w.key -out wrong.crt -subj /CN=other >/dev/null 2>&1"),
        0);
    snprintf(e->ca, sizeof(e->ca), "%s/ca.crt", e->dir);
    snprintf(e->wrong_ca, sizeof(e->wrong_ca), "%s/wrong.crt", e->dir);
    snprintf(cert, sizeof(cert), "%s/srv.crt", e->dir);
    snprintf(key, sizeof(key), "%s/srv.key", e->dir);
    snprintf(ready, sizeof(ready), "%s/ready", e->dir);
    e->server = fork();
    if (e->server == 0) {
        execlp("python3", "python3", TEST_SRCDIR "/tests/tools/as-server.py",
               PORT, cert, key, ready, (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 200 && access(ready, F_OK) != 0; i++) {
        usleep(50000);
    }
    assert_int_equal(access(ready, F_OK), 0);
    *state = e;
    return 0;
}

static int
teardown(void **state)
{
    struct env *e = *state;

    kill(e->server, SIGTERM);
    waitpid(e->server, NULL, 0);
    (void)sh(e->dir, "rm -f ca.* srv.* ext w.key wrong.crt ready");
    (void)rmdir(e->dir);
    free(e);
    return 0;
}

static time_t
mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static void
params(struct pcl_oidc_params *p, const struct env *e, const char *scenario)
{
    memset(p, 0, sizeof(*p));
    p->issuer = ISSUER;
    p->client_id = scenario;
    p->scopes = "openid";
    p->http.ca_file = e->ca;
    p->http.timeout_s = 5;
    p->http.max_bytes = PCL_OIDC_MAX_RESPONSE;
    p->default_interval_s = 5;
    p->jwks_cooldown_s = 60;
}

struct poll_case {
    const char *scenario;
    enum pcl_oidc_result result;
    unsigned npolls;      /* requests made */
    unsigned min_s;       /* least seconds it must take (intervals kept) */
    unsigned deadline_s;  /* our deadline from now */
    const char *why;
};

static const struct poll_case cases[] = {
    { "approve", PCL_OIDC_APPROVED, 3, 2, 30, "approved" },
    { "slowdown", PCL_OIDC_APPROVED, 2, 6, 30, "approved" },
    { "denied", PCL_OIDC_DENIED, 2, 1, 30, "access_denied" },
    { "expired", PCL_OIDC_EXPIRED, 2, 1, 30, "expired_token" },
    { "other", PCL_OIDC_ERROR, 1, 0, 30, "invalid_grant" },
    { "noid", PCL_OIDC_ERROR, 1, 0, 30, "no id_token" },
    { "big", PCL_OIDC_ERROR, 1, 0, 30, "larger than" },
    { "notjson", PCL_OIDC_ERROR, 1, 0, 30, "not JSON" },
    { "short", PCL_OIDC_EXPIRED, 2, 1, 30, "expires_in" },
    { "pending", PCL_OIDC_TIMEOUT, 3, 2, 3, "deadline" },
};

static void
test_poll(void **state)
{
    struct env *e = *state;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct poll_case *c = &cases[i];
        struct pcl_oidc_params p;
        struct pcl_oidc_discovery d;
        struct pcl_oidc_device dev;
        char why[256] = "";
        char *tok = NULL;
        unsigned n = 0;
        time_t t0;
        enum pcl_oidc_result res;

        params(&p, e, c->scenario);
        assert_int_equal(pcl_oidc_discover(&p, &d, why, sizeof(why)), PCL_OK);
        assert_int_equal(pcl_oidc_device_authorize(&p, &d, &dev, why,
                                                   sizeof(why)),
                         PCL_OK);
        assert_string_equal(dev.user_code, "BCDF-GHJK");
        assert_int_equal(dev.interval, 1);
        t0 = mono();
        res = pcl_oidc_poll(&p, &d, &dev, t0, t0 + (time_t)c->deadline_s,
                            &tok, &n, why, sizeof(why));
        print_message("%-9s result %d after %u polls, %ld s: %s\n",
                      c->scenario, (int)res, n, (long)(mono() - t0), why);
        assert_int_equal(res, c->result);
        assert_int_equal(n, c->npolls);
        assert_true(mono() - t0 >= (time_t)c->min_s);
        assert_non_null(strstr(why, c->why));
        if (res == PCL_OIDC_APPROVED) {
            assert_string_equal(tok, "h.p.s");
            free(tok);
        } else {
            assert_null(tok);
        }
        if (strcmp(c->scenario, "slowdown") == 0) {
            assert_int_equal(dev.interval, 1 + PCL_OIDC_SLOW_DOWN_S);
        }
        pcl_oidc_device_clear(&dev);
        pcl_oidc_discovery_clear(&d);
    }
}

static void
test_transport(void **state)
{
    struct env *e = *state;
    struct pcl_oidc_params p;
    struct pcl_oidc_discovery d;
    char why[256] = "";

    params(&p, e, "approve");
    p.http.ca_file = e->wrong_ca;
    assert_int_equal(pcl_oidc_discover(&p, &d, why, sizeof(why)),
                     PCL_ERR_HOSTKEY);
    assert_non_null(strstr(why, "not trusted"));
    print_message("wrong CA: %s\n", why);
    params(&p, e, "approve");
    p.issuer = "http://127.0.0.1:" PORT;
    assert_int_equal(pcl_oidc_discover(&p, &d, why, sizeof(why)),
                     PCL_ERR_INVAL);
    /* nothing listens there */
    params(&p, e, "approve");
    p.issuer = "https://127.0.0.1:22321";
    assert_int_equal(pcl_oidc_discover(&p, &d, why, sizeof(why)),
                     PCL_ERR_CONNECT);
    /* the document names another issuer */
    params(&p, e, "approve");
    p.issuer = "https://localhost:" PORT;
    p.http.ca_file = e->ca;
    assert_int_not_equal(pcl_oidc_discover(&p, &d, why, sizeof(why)),
                         PCL_OK);
}

/* How many times the server has served its JWKS. */
static int
jwks_fetches(const struct env *e)
{
    struct pcl_http_params hp = { e->ca, 5, 4096 };
    struct pcl_http_response r;
    char why[256];
    int n = -1;

    assert_int_equal(pcl_http_request(&hp, ISSUER "/stats", NULL, NULL, NULL,
                                      &r, why, sizeof(why)),
                     PCL_OK);
    assert_int_equal(sscanf(r.body, "{\"jwks\": %d}", &n), 1);
    pcl_http_response_clear(&r);
    return n;
}

/* An unknown kid fetches the JWKS again, but not within the cooldown. */
static void
test_jwks_cooldown(void **state)
{
    struct env *e = *state;
    struct pcl_oidc_params p;
    struct pcl_oidc_discovery d;
    struct pcl_jwt_rules rules = { ISSUER, "bastion", PCL_JWT_ES256, 60, 600,
                                   time(NULL) };
    struct pcl_jwt *t = NULL;
    char sdir[80], why[256];
    /* {"alg":"ES256","kid":"nope"} . {} . (any signature) */
    const char *unknown = "eyJhbGciOiJFUzI1NiIsImtpZCI6Im5vcGUifQ.e30.AAAA";
    /* {"alg":"ES256","kid":"ec1"}: the server's key, a bad signature */
    const char *known = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImVjMSJ9.e30.AAAA";
    int base;

    snprintf(sdir, sizeof(sdir), "%s/state", e->dir);
    assert_int_equal(mkdir(sdir, 0700), 0);
    params(&p, e, "approve");
    p.state_dir = sdir;
    p.jwks_cooldown_s = 60;
    assert_int_equal(pcl_oidc_discover(&p, &d, why, sizeof(why)), PCL_OK);
    base = jwks_fetches(e);
    /* no cache: one fetch, and the fresh copy is not fetched again */
    assert_int_equal(pcl_oidc_validate(&p, &d, unknown, &rules, &t, why,
                                       sizeof(why)),
                     PCL_ERR_NOTFOUND);
    assert_int_equal(jwks_fetches(e), base + 1);
    /* cached and inside the cooldown: no fetch */
    assert_int_equal(pcl_oidc_validate(&p, &d, unknown, &rules, &t, why,
                                       sizeof(why)),
                     PCL_ERR_NOTFOUND);
    assert_int_equal(jwks_fetches(e), base + 1);
    /* a known kid never refetches; its bad signature is refused */
    assert_int_equal(pcl_oidc_validate(&p, &d, known, &rules, &t, why,
                                       sizeof(why)),
                     PCL_ERR_CRYPTO);
    assert_int_equal(jwks_fetches(e), base + 1);
    /* past the cooldown: one refetch per unknown kid */
    p.jwks_cooldown_s = 0;
    assert_int_equal(pcl_oidc_validate(&p, &d, unknown, &rules, &t, why,
                                       sizeof(why)),
                     PCL_ERR_NOTFOUND);
    assert_int_equal(jwks_fetches(e), base + 2);
    assert_null(t);
    pcl_oidc_discovery_clear(&d);
    (void)sh(sdir, "rm -f discovery.json jwks.json verification_uri");
    (void)rmdir(sdir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_poll),
        cmocka_unit_test(test_transport),
        cmocka_unit_test(test_jwks_cooldown),
    };

    if (system("command -v python3 >/dev/null && command -v openssl "
               ">/dev/null") != 0) {
        return 77;
    }
    return cmocka_run_group_tests(tests, setup, teardown);
}
