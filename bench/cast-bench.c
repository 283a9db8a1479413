/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cast-bench: throughput of the asciicast writer alone (escaping, UTF-8
 * checks, SHA-256 chain, writes) on 256 MiB of zeros, of random bytes and
 * of terminal-like text, in 64 KiB reads as the relay hands them over.
 * Prints MB/s and the size of the recording over the raw bytes. Run by
 * `make bench`; a benchmark, not a test. cast-bench [DIR [KIND]].
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "portcullis/cast.h"
#include "portcullis/err.h"

#define TOTAL (256UL * 1024 * 1024)
#define CHUNK 65536

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
fill(const char *kind, uint8_t *buf, size_t n)
{
    uint32_t x = 2463534242u;
    static const char text[] =
        "\x1b[01;34mdrwxr-xr-x\x1b[0m  2 root root  4096 Nov 29 22:10 "
        "sessions\r\n-rw-r----- 1 alice portcullis 1834 caf\xc3\xa9.log\r\n";
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(kind, "zeros") == 0) {
            buf[i] = 0;
        } else if (strcmp(kind, "random") == 0) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            buf[i] = (uint8_t)x;
        } else {
            buf[i] = (uint8_t)text[i % (sizeof(text) - 1)];
        }
    }
}

int
main(int argc, char **argv)
{
    static const char *const kinds[] = { "text", "random", "zeros" };
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    uint8_t *buf = malloc(CHUNK);
    static const uint8_t key[32] = { 1 };
    size_t k;

    if (buf == NULL) {
        return 1;
    }
    printf("%-8s %10s %12s\n", "input", "MB/s", "size/raw");
    for (k = 0; k < 3; k++) {
        struct pcl_cast_params p;
        if (argc > 2 && strcmp(argv[2], kinds[k]) != 0) {
            continue; /* cast-bench DIR KIND: that input alone */
        }
        struct pcl_cast *c = NULL;
        char path[512];
        char why[256];
        double t0;
        double t1;
        size_t done;
        FILE *fp;
        long size;

        fill(kinds[k], buf, CHUNK);
        snprintf(path, sizeof(path), "%s/cast-bench.%ld.cast", dir,
                 (long)getpid());
        memset(&p, 0, sizeof(p));
        p.path = path;
        p.format = PCL_CAST_V2;
        p.width = 80;
        p.height = 24;
        p.flush_interval_ms = 1000;
        p.seal_key = key;
        p.seal_key_len = sizeof(key);
        p.seal_key_id = "bench";
        if (pcl_cast_open(&p, &c, why, sizeof(why)) != PCL_OK) {
            fprintf(stderr, "cast-bench: %s\n", why);
            return 1;
        }
        t0 = now_s();
        for (done = 0; done < TOTAL; done += CHUNK) {
            if (pcl_cast_output(c, 1, buf, CHUNK, done / 1000) != PCL_OK) {
                fprintf(stderr, "cast-bench: write failed\n");
                return 1;
            }
        }
        if (pcl_cast_close(c) != PCL_OK) {
            fprintf(stderr, "cast-bench: close failed\n");
            return 1;
        }
        t1 = now_s();
        fp = fopen(path, "r");
        fseek(fp, 0, SEEK_END);
        size = ftell(fp);
        fclose(fp);
        unlink(path);
        snprintf(path + strlen(path), sizeof(path) - strlen(path), ".seal");
        unlink(path);
        printf("%-8s %10.1f %12.2f\n", kinds[k],
               (double)TOTAL / (t1 - t0) / 1e6, (double)size / (double)TOTAL);
    }
    free(buf);
    return 0;
}
