/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * oidc-bench: what pam_portcullis costs besides the IdP's round trips.
 *   1. ID token validation (pcl_jwt_verify: JWS + claims) per algorithm,
 *      microseconds per token, side by side;
 *   2. the module's local work for one sign-in: reading portcullis.conf,
 *      parsing the JWKS, verifying the token, issuing the ticket, and the
 *      proxy's check of the ticket;
 *   3. memory: the resident size added by loading pam_portcullis.so (with
 *      libcurl, OpenSSL, json-c, SQLite) and by the validations.
 * usage: oidc-bench [PATH-TO-pam_portcullis.so]
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "portcullis/conf.h"
#include "portcullis/err.h"
#include "portcullis/ini.h"
#include "portcullis/jwt.h"
#include "portcullis/ticket.h"
#include "../tests/tools/jwtgen.h"

#define ISS "https://idp.example.test"

static double
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Resident set size now, KiB (from /proc/self/statm). */
static long
rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *fp = fopen("/proc/self/statm", "r");

    if (fp != NULL) {
        if (fscanf(fp, "%ld %ld", &pages, &resident) != 2) {
            resident = 0;
        }
        fclose(fp);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

struct alg {
    const char *name;
    const char *kid;
    EVP_PKEY *key;
};

int
main(int argc, char **argv)
{
    struct alg algs[] = {
        { "RS256", "rsa", NULL },
        { "PS256", "rsa", NULL },
        { "ES256", "ec", NULL },
        { "EdDSA", "ed", NULL },
    };
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    char a[2048], b[512], c[512], jwks[4096], claims[512], hdr[128];
    char dir[] = "/tmp/pcl-oidc-bench.XXXXXX";
    char conf_path[128], why[256];
    struct pcl_jwks *keys = NULL;
    struct pcl_jwt_rules rules;
    long rss0, rss1, rss2;
    double t0, t_conf, t_jwks, t_ticket, t_tcheck;
    void *mod = NULL;
    size_t i;
    int n, iters = 2000;
    FILE *fp;

    rss0 = rss_kib();
    if (argc > 1) {
        mod = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
        if (mod == NULL) {
            fprintf(stderr, "oidc-bench: %s\n", dlerror());
        }
    }
    rss1 = rss_kib();
    algs[0].key = algs[1].key = rsa;
    algs[2].key = ec;
    algs[3].key = ed;
    jwtgen_jwk(rsa, "rsa", a, sizeof(a));
    jwtgen_jwk(ec, "ec", b, sizeof(b));
    jwtgen_jwk(ed, "ed", c, sizeof(c));
    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s,%s,%s]}", a, b, c);
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"" ISS "\",\"aud\":\"bastion\",\"sub\":\"u1\","
             "\"preferred_username\":\"alice\",\"groups\":[\"dba\",\"ops\"],"
             "\"iat\":%lld,\"exp\":%lld}",
             (long long)time(NULL), (long long)time(NULL) + 600);
    if (pcl_jwks_parse(jwks, strlen(jwks), &keys, why, sizeof(why)) !=
        PCL_OK) {
        fprintf(stderr, "oidc-bench: %s\n", why);
        return 1;
    }
    memset(&rules, 0, sizeof(rules));
    rules.issuer = ISS;
    rules.client_id = "bastion";
    rules.algs = PCL_JWT_RS256 | PCL_JWT_PS256 | PCL_JWT_ES256 |
                 PCL_JWT_EDDSA;
    rules.leeway_s = 60;
    rules.max_age_s = 600;
    rules.now = time(NULL);

    printf("== ID token validation (pcl_jwt_verify), %d tokens each\n",
           iters);
    printf("%-8s %12s %10s\n", "alg", "us/token", "vs RS256");
    {
        double per[4];
        for (i = 0; i < 4; i++) {
            struct pcl_jwt *t = NULL;
            char *tok;
            snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"%s\"}",
                     algs[i].name, algs[i].kid);
            tok = jwtgen_sign(algs[i].name, algs[i].key, hdr, claims);
            t0 = now_us();
            for (n = 0; n < iters; n++) {
                if (pcl_jwt_verify(tok, keys, &rules, &t, why,
                                   sizeof(why)) != PCL_OK) {
                    fprintf(stderr, "oidc-bench: %s: %s\n", algs[i].name,
                            why);
                    return 1;
                }
                pcl_jwt_free(t);
            }
            per[i] = (now_us() - t0) / iters;
            free(tok);
        }
        for (i = 0; i < 4; i++) {
            printf("%-8s %12.1f %9.2fx\n", algs[i].name, per[i],
                   per[i] / per[0]);
        }
    }

    /* The rest of one sign-in's local work. */
    if (mkdtemp(dir) == NULL) {
        return 1;
    }
    snprintf(conf_path, sizeof(conf_path), "%s/portcullis.conf", dir);
    fp = fopen(conf_path, "w");
    if (fp == NULL) {
        return 1;
    }
    fprintf(fp, "[audit]\njson-log =\n[oidc]\nissuer = " ISS "\n"
            "client-id = bastion\nremember = 8h\n");
    fclose(fp);
    t0 = now_us();
    for (n = 0; n < iters; n++) {
        struct pcl_diag *d = NULL;
        struct pcl_conf *cf = NULL;
        (void)pcl_diag_new(&d);
        if (pcl_conf_load(conf_path, d, &cf) != PCL_OK) {
            fprintf(stderr, "oidc-bench: %s\n", pcl_diag_get(d, 0));
            return 1;
        }
        pcl_conf_free(cf);
        pcl_diag_free(d);
    }
    t_conf = (now_us() - t0) / iters;
    t0 = now_us();
    for (n = 0; n < iters; n++) {
        struct pcl_jwks *k = NULL;
        (void)pcl_jwks_parse(jwks, strlen(jwks), &k, why, sizeof(why));
        pcl_jwks_free(k);
    }
    t_jwks = (now_us() - t0) / iters;
    {
        static const unsigned char key[32] = "0123456789abcdef0123456789abcd";
        struct pcl_ticket tk, got;
        char *s = NULL;
        memset(&tk, 0, sizeof(tk));
        snprintf(tk.user, sizeof(tk.user), "alice");
        snprintf(tk.sub, sizeof(tk.sub), "u1");
        snprintf(tk.iss, sizeof(tk.iss), ISS);
        snprintf(tk.groups[0], sizeof(tk.groups[0]), "dba");
        tk.ngroups = 1;
        tk.exp = (int64_t)time(NULL) + 3600;
        t0 = now_us();
        for (n = 0; n < iters; n++) {
            free(s);
            s = NULL;
            (void)pcl_ticket_issue(&tk, key, sizeof(key), &s);
        }
        t_ticket = (now_us() - t0) / iters;
        t0 = now_us();
        for (n = 0; n < iters; n++) {
            (void)pcl_ticket_verify(s, key, sizeof(key), "alice", time(NULL),
                                    &got, why, sizeof(why));
        }
        t_tcheck = (now_us() - t0) / iters;
        free(s);
    }
    unlink(conf_path);
    rmdir(dir);
    printf("\n== local work of one sign-in besides the IdP round trips (us)\n");
    printf("%-34s %10.1f\n", "read portcullis.conf", t_conf);
    printf("%-34s %10.1f\n", "parse the JWKS (3 keys)", t_jwks);
    printf("%-34s %10s\n", "verify the ID token", "(above)");
    printf("%-34s %10.1f\n", "issue the ticket (module)", t_ticket);
    printf("%-34s %10.1f\n", "check the ticket (proxy)", t_tcheck);
    rss2 = rss_kib();
    printf("\n== memory (resident, KiB)\n");
    printf("%-34s %10ld\n", "bench before loading the module", rss0);
    printf("%-34s %10ld%s\n", "after dlopen(pam_portcullis.so)", rss1,
           mod != NULL ? "" : " (module not loaded)");
    printf("%-34s %10ld\n", "module's share", rss1 - rss0);
    printf("%-34s %10ld\n", "after all the work above", rss2);
    if (mod != NULL) {
        dlclose(mod);
    }
    pcl_jwks_free(keys);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(ed);
    return 0;
}
