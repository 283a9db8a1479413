/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mask-bench: throughput of the mask filter on one core.
 *
 * Generates SIZE MiB of terminal-like output in memory (ls -l, ps and log
 * lines with colour codes, a secret every few hundred lines), then feeds
 * it through pcl_mask_feed in fixed chunks, once with no rules (the
 * baseline: what the filter costs when it does nothing) and once with 20
 * (the built-in set, custom rules and exact secrets), and prints MB/s
 * (10^6 bytes per second) per chunk size.
 *
 * Usage: mask-bench [-s MIB] [-c CHUNK[,CHUNK...]]  (defaults: 1024 and
 * 4096,16384,65536: a PTY read, an SSH channel read, the relay's largest
 * read). A benchmark, not a test: it fails only when the filter returns
 * an error or loses bytes in the baseline.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "portcullis/err.h"
#include "portcullis/mask.h"

#define MAX_CHUNKS 8

struct custom_rule {
    const char *name;
    const char *pattern;
};

/* Ten rules of the kind sites add, next to the ten built-ins. */
static const struct custom_rule custom_rules[] = {
    { "password", "(?i)\\bpass(?:word|wd)?[ \\t]*[=:][ \\t]*\\K[^\\s]+" },
    { "api-key", "(?i)\\bapi[_-]?key[ \\t]*[=:][ \\t]*\\K[^\\s]+" },
    { "stripe", "\\b[sr]k_live_[0-9A-Za-z]{24,99}" },
    { "npm", "\\bnpm_[A-Za-z0-9]{36}\\b" },
    { "vault", "\\bhvs\\.[A-Za-z0-9_-]{24,256}" },
    { "ssn", "\\b\\d{3}-\\d{2}-\\d{4}\\b" },
    { "card", "\\b(?:4\\d{3}|5[1-5]\\d{2})(?:[ -]?\\d{4}){3}\\b" },
    { "hex-token", "\\btoken=[0-9a-f]{32}\\b" },
};

static const char *const secrets[] = {
    "c0rrect-h0rse-battery",
    "Tr0ub4dor&3xyz",
};

/* Lines a secret is shown in, now and then. */
static const char *const secret_lines[] = {
    "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\r\n",
    "remote: https://deploy:Tr0ub4dor&3xyz@git.example.com/app.git\r\n",
    "Authorization: Bearer 0123456789abcdefABCDEF.token\r\n",
    "GH_TOKEN=ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8\r\n",
    "db password=c0rrect-h0rse-battery\r\n",
    "id_token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl\r\n",
    "\x1b[01;31m\x1b[Kxoxb-123456789012-abcdefghijkl\x1b[m\x1b[K\r\n",
};

static uint64_t
prng(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static size_t
put(uint8_t *dst, size_t room, const char *text)
{
    size_t n = strlen(text);

    if (n > room) {
        n = room;
    }
    memcpy(dst, text, n);
    return n;
}

/* Fills buf with terminal output: mostly ls -l, ps and log lines. */
static void
generate(uint8_t *buf, size_t len)
{
    static const char *const names[] = {
        "deploy.sh", "README.md", "app.log", "node_modules", "id_ed25519.pub",
        "docker-compose.yml", "main.c", "Makefile", ".bashrc", "backup.tar.gz",
    };
    static const char *const levels[] = { "INFO ", "WARN ", "DEBUG", "ERROR" };
    uint64_t seed = 0x853c49e6748fea9bULL;
    size_t pos = 0;
    char line[256];

    while (pos < len) {
        uint64_t r = prng(&seed);

        switch (r % 8) {
        case 0:
        case 1:
        case 2:
            snprintf(line, sizeof(line),
                     "-rw-r--r-- 1 alice staff %6u Mar %2u %02u:%02u "
                     "\x1b[01;%um%s\x1b[0m\r\n",
                     (unsigned)(r >> 8) % 999999, (unsigned)(r >> 28) % 28 + 1,
                     (unsigned)(r >> 33) % 24, (unsigned)(r >> 38) % 60,
                     31 + (unsigned)(r >> 44) % 6, names[(r >> 50) % 10]);
            break;
        case 3:
        case 4:
            snprintf(line, sizeof(line),
                     "%-8s %6u  %4.1f  %4.1f %7u %6u pts/%u    S+   %02u:%02u "
                     "  0:%02u /usr/bin/python3 worker.py --queue q%u\r\n",
                     "alice", (unsigned)(r >> 8) % 99999,
                     (double)((r >> 24) % 1000) / 10.0,
                     (double)((r >> 34) % 1000) / 10.0,
                     (unsigned)(r >> 14) % 9999999, (unsigned)(r >> 20) % 99999,
                     (unsigned)(r >> 40) % 9, (unsigned)(r >> 44) % 24,
                     (unsigned)(r >> 49) % 60, (unsigned)(r >> 54) % 60,
                     (unsigned)(r >> 58) % 16);
            break;
        case 5:
        case 6:
            snprintf(line, sizeof(line),
                     "2024-03-%02uT%02u:%02u:%02uZ \x1b[3%um%s\x1b[0m http: "
                     "GET /api/v1/items/%u?page=%u 200 %u.%ums ua=curl/8.5\r\n",
                     (unsigned)(r >> 8) % 28 + 1, (unsigned)(r >> 13) % 24,
                     (unsigned)(r >> 18) % 60, (unsigned)(r >> 24) % 60,
                     1 + (unsigned)(r >> 30) % 6, levels[(r >> 33) % 4],
                     (unsigned)(r >> 36) % 100000, (unsigned)(r >> 52) % 50,
                     (unsigned)(r >> 40) % 900, (unsigned)(r >> 56) % 10);
            break;
        default:
            if ((r >> 8) % 40 == 0) {
                snprintf(line, sizeof(line), "%s",
                         secret_lines[(r >> 16) % (sizeof(secret_lines) /
                                                   sizeof(secret_lines[0]))]);
            } else {
                snprintf(line, sizeof(line),
                         "\x1b[01;32malice@web01\x1b[00m:\x1b[01;34m~/src"
                         "\x1b[00m$ make -j8 && ./run --port %u\r\n",
                         (unsigned)(r >> 16) % 65536);
            }
            break;
        }
        pos += put(buf + pos, len - pos, line);
    }
}

/* The sink copies what it gets, as a recorder's would into its event
 * buffer, so the baseline is a copy of the stream and not nothing. */
struct counter {
    size_t bytes;
    uint64_t replaced;
    uint8_t copy[65536];
};

static int
count_sink(void *vctx, const uint8_t *buf, size_t len, const char *rule)
{
    struct counter *c = vctx;

    while (len > 0) {
        size_t n = len < sizeof(c->copy) ? len : sizeof(c->copy);
        memcpy(c->copy, buf, n);
        buf += n;
        len -= n;
        c->bytes += n;
    }
    if (rule != NULL) {
        c->replaced++;
    }
    return 0;
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Builds the 20-rule engine (or an empty one). */
static int
engine(bool rules, struct pcl_mask **out)
{
    struct pcl_mask *m = NULL;
    char why[256];
    size_t i;
    int rc;

    rc = pcl_mask_new(50, &m);
    if (rc != PCL_OK || !rules) {
        goto out;
    }
    rc = pcl_mask_add_builtin(m);
    for (i = 0; rc == PCL_OK &&
                i < sizeof(custom_rules) / sizeof(custom_rules[0]); i++) {
        rc = pcl_mask_add_rule(m, custom_rules[i].name,
                               custom_rules[i].pattern, "********", why,
                               sizeof(why));
        if (rc != PCL_OK) {
            fprintf(stderr, "mask-bench: %s\n", why);
        }
    }
    for (i = 0; rc == PCL_OK && i < sizeof(secrets) / sizeof(secrets[0]);
         i++) {
        rc = pcl_mask_add_secret(m, "secret", (const uint8_t *)secrets[i],
                                 strlen(secrets[i]), "********");
    }
out:
    if (rc != PCL_OK) {
        pcl_mask_free(m);
        m = NULL;
    }
    *out = m;
    return rc;
}

/* One pass over buf in chunks of chunk bytes; returns MB/s or -1. */
static double
run(const uint8_t *buf, size_t len, size_t chunk, bool rules,
    uint64_t *replaced)
{
    struct pcl_mask *m = NULL;
    static struct counter c;
    size_t pos;
    double t0;
    double t1;
    int rc;

    if (engine(rules, &m) != PCL_OK) {
        return -1;
    }
    c.bytes = 0;
    c.replaced = 0;
    t0 = now_s();
    for (pos = 0; pos < len; pos += chunk) {
        size_t n = len - pos < chunk ? len - pos : chunk;
        rc = pcl_mask_feed(m, buf + pos, n, 0, count_sink, &c);
        if (rc != PCL_OK) {
            fprintf(stderr, "mask-bench: feed: %s\n", pcl_err_str(rc));
            pcl_mask_free(m);
            return -1;
        }
    }
    rc = pcl_mask_flush(m, 0, true, count_sink, &c);
    t1 = now_s();
    *replaced = pcl_mask_count(m);
    pcl_mask_free(m);
    if (rc != PCL_OK || (!rules && c.bytes != len)) {
        fprintf(stderr, "mask-bench: bytes lost\n");
        return -1;
    }
    return (double)len / (t1 - t0) / 1e6;
}

int
main(int argc, char **argv)
{
    size_t chunks[MAX_CHUNKS] = { 4096, 16384, 65536 };
    size_t nchunks = 3;
    size_t mib = 1024;
    size_t len;
    uint8_t *buf;
    size_t i;
    int opt;

    while ((opt = getopt(argc, argv, "s:c:")) != -1) {
        switch (opt) {
        case 's':
            mib = strtoul(optarg, NULL, 10);
            break;
        case 'c': {
            char *p = optarg;
            nchunks = 0;
            while (*p != '\0' && nchunks < MAX_CHUNKS) {
                chunks[nchunks] = strtoul(p, &p, 10);
                if (chunks[nchunks] > 0) {
                    nchunks++;
                }
                if (*p == ',') {
                    p++;
                } else if (*p != '\0') {
                    break;
                }
            }
            break;
        }
        default:
            fprintf(stderr, "usage: mask-bench [-s MIB] [-c CHUNK,...]\n");
            return 2;
        }
    }
    if (mib == 0 || nchunks == 0) {
        fprintf(stderr, "usage: mask-bench [-s MIB] [-c CHUNK,...]\n");
        return 2;
    }
    len = mib * 1024 * 1024;
    buf = malloc(len);
    if (buf == NULL) {
        fprintf(stderr, "mask-bench: cannot allocate %zu MiB\n", mib);
        return 1;
    }
    generate(buf, len);
    printf("mask-bench: %zu MiB of generated terminal output, one core\n",
           mib);
    printf("%-8s %8s %10s %8s %12s\n", "rules", "chunk", "MB/s", "ratio",
           "replacements");
    for (i = 0; i < nchunks; i++) {
        uint64_t r0 = 0;
        uint64_t r20 = 0;
        double base = run(buf, len, chunks[i], false, &r0);
        double full = run(buf, len, chunks[i], true, &r20);

        if (base < 0 || full < 0) {
            free(buf);
            return 1;
        }
        printf("%-8d %8zu %10.0f %8.2f %12llu\n", 0, chunks[i], base, 1.0,
               (unsigned long long)r0);
        printf("%-8d %8zu %10.0f %8.3f %12llu\n", 20, chunks[i], full,
               full / base, (unsigned long long)r20);
    }
    free(buf);
    return 0;
}
