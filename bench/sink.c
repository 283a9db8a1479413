/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench/sink.c -- the receiving end of the bulk-throughput runs of
 * bench/bench.sh (a benchmark helper, not part of the product).
 *
 * Reads stdin to EOF and prints one line:
 *     BYTES SECONDS HASH
 * BYTES is the byte count, SECONDS the time from the first byte to EOF
 * (so session setup is not counted as transfer time), HASH a 64-bit
 * non-cryptographic checksum of the bytes in hex.  The checksum only
 * tells whether two streams are the same (compare with `pcl-sink < FILE`);
 * it is computed over fixed 1 MiB blocks, so how read() splits the stream
 * does not change it.  Cheap enough (several GB/s) not to be what limits
 * a run on a small machine.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (1024 * 1024)

static unsigned char buf[BLOCK];

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
mix(uint64_t h, uint64_t w)
{
    h ^= w;
    h *= 0x100000001b3ULL;
    h ^= h >> 29;
    return h;
}

static uint64_t
hash_block(uint64_t h, const unsigned char *p, size_t n)
{
    size_t i;
    uint64_t w;

    for (i = 0; i + 8 <= n; i += 8) {
        memcpy(&w, p + i, 8);
        h = mix(h, w);
    }
    if (i < n) {
        w = 0;
        memcpy(&w, p + i, n - i);
        h = mix(h, w ^ ((uint64_t)(n - i) << 56));
    }
    return h;
}

int
main(void)
{
    uint64_t total = 0;
    uint64_t h = 0xcbf29ce484222325ULL;
    double t0 = 0, t1;
    size_t fill;
    ssize_t n;
    int eof = 0;

    while (!eof) {
        fill = 0;
        while (fill < BLOCK) {
            n = read(STDIN_FILENO, buf + fill, BLOCK - fill);
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                perror("pcl-sink: read");
                return 1;
            }
            if (n == 0) {
                eof = 1;
                break;
            }
            if (total == 0 && fill == 0) {
                t0 = now();
            }
            fill += (size_t)n;
            total += (uint64_t)n;
        }
        h = hash_block(h, buf, fill);
    }
    t1 = now();
    printf("%llu %.6f %016llx\n", (unsigned long long)total,
           total > 0 ? t1 - t0 : 0.0, (unsigned long long)h);
    return 0;
}
