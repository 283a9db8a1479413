/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/cast.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "portcullis/err.h"
#include "portcullis/file.h"
#include "portcullis/log.h"
#include "portcullis/parse.h"

#include "cast_seal.h"

/* The chain starts from the hash of this string (portcullis-cast(5)). */
#define CHAIN_SEED "portcullis-chain-v1"
/* Events are written once this many bytes are buffered, whatever the
 * flush interval. */
#define OUT_HIGH 65536
/* Every this many bytes written, the kernel is asked to start writing
 * them to disk (sync_file_range), so that the fsync at the end of a
 * session waits for the last few MiB, not the whole recording. */
#define WRITEBACK_EVERY (8U * 1024 * 1024)
/* Escaped data can be six times its size (\u0000), plus framing. */
#define LINE_MAX_BYTES (PCL_CAST_EVENT_MAX * 6 + 128)

struct pcl_cast {
    int fd;
    int seal_fd;                /* v2 sidecar, opened with the file: the
                                 * process may lose access to the directory
                                 * before the end (it drops its group) */
    char *path;
    enum pcl_cast_format format;
    bool separate_streams;
    int cur_stream;             /* 1 or 2: whose output was last */
    uint64_t last_us;           /* time of the previous event */
    int64_t timestamp;
    /* UTF-8 carried over, per stream: 0 input, 1 stdout, 2 stderr. */
    uint8_t carry[3][4];
    size_t carry_len[3];
    uint8_t *scratch;           /* carry + new data, reused */
    size_t scratch_cap;
    char *out;                  /* events not yet written */
    size_t out_len;
    size_t out_cap;
    uint64_t first_pending_ms;  /* when the oldest unwritten event came */
    unsigned flush_interval_ms;
    bool failed;
    uint64_t written_off;       /* bytes written to fd so far */
    uint64_t writeback_off;     /* write-out started up to here */
    bool writeback;             /* sync_file_range works on this file */
    EVP_MD_CTX *md;
    uint8_t chain[32];
    uint64_t lines;
    uint64_t bytes;
    struct pcl_cast_seal_key *key; /* NULL: no seal */
    char key_id[64];
};

static uint64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* chain = SHA-256(chain || line): every line, header included. */
static int
chain_line(EVP_MD_CTX *md, uint8_t chain[32], const char *line, size_t len)
{
    unsigned int n = 0;

    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(md, chain, 32) != 1 ||
        EVP_DigestUpdate(md, line, len) != 1 ||
        EVP_DigestFinal_ex(md, chain, &n) != 1 || n != 32) {
        return PCL_ERR_CRYPTO;
    }
    return PCL_OK;
}

static int
chain_seed(EVP_MD_CTX *md, uint8_t chain[32])
{
    unsigned int n = 0;

    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(md, CHAIN_SEED, strlen(CHAIN_SEED)) != 1 ||
        EVP_DigestFinal_ex(md, chain, &n) != 1 || n != 32) {
        return PCL_ERR_CRYPTO;
    }
    return PCL_OK;
}

static int
write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return PCL_ERR_IO;
        }
        buf += n;
        len -= (size_t)n;
    }
    return PCL_OK;
}

/*
 * Counts n bytes written to the recording; past WRITEBACK_EVERY, starts
 * their write-out to disk without waiting for it. An I/O error reported
 * here is a failed recording; a file system that cannot do it (EINVAL,
 * ENOSYS, ESPIPE) is left to the fsync at the end.
 */
static int
written(struct pcl_cast *c, size_t n)
{
    c->written_off += n;
    if (!c->writeback ||
        c->written_off - c->writeback_off < WRITEBACK_EVERY) {
        return PCL_OK;
    }
#ifdef HAVE_SYNC_FILE_RANGE
    /* The range written since the last call (the header and the seal are
     * outside the count: the fsync at the end covers them). */
    if (sync_file_range(c->fd, (off_t)c->writeback_off,
                        (off_t)(c->written_off - c->writeback_off),
                        SYNC_FILE_RANGE_WRITE) != 0) {
        if (errno == EINVAL || errno == ENOSYS || errno == ESPIPE) {
            c->writeback = false;
            return PCL_OK;
        }
        c->failed = true;
        return PCL_ERR_IO;
    }
#else
    c->writeback = false;
#endif
    c->writeback_off = c->written_off;
    return PCL_OK;
}

int
pcl_cast_flush(struct pcl_cast *c, bool sync)
{
    if (c->failed) {
        return PCL_ERR_IO;
    }
    if (c->out_len > 0) {
        if (write_all(c->fd, c->out, c->out_len) != PCL_OK) {
            c->failed = true;
            return PCL_ERR_IO;
        }
        if (written(c, c->out_len) != PCL_OK) {
            return PCL_ERR_IO;
        }
        c->out_len = 0;
    }
    if (sync && fsync(c->fd) != 0) {
        c->failed = true;
        return PCL_ERR_IO;
    }
    return PCL_OK;
}

/* Adds one complete line (with its '\n') to the chain and the output. */
static int
put_line(struct pcl_cast *c, const char *line, size_t len)
{
    if (c->failed) {
        return PCL_ERR_IO;
    }
    if (chain_line(c->md, c->chain, line, len) != PCL_OK) {
        c->failed = true;
        return PCL_ERR_IO;
    }
    c->lines++;
    c->bytes += len;
    if (c->out_len + len > c->out_cap) {
        if (pcl_cast_flush(c, false) != PCL_OK) {
            return PCL_ERR_IO;
        }
        if (len > c->out_cap) {
            if (write_all(c->fd, line, len) != PCL_OK) {
                c->failed = true;
                return PCL_ERR_IO;
            }
            return written(c, len);
        }
    }
    if (c->out_len == 0) {
        c->first_pending_ms = mono_ms();
    }
    memcpy(c->out + c->out_len, line, len);
    c->out_len += len;
    if (c->out_len >= OUT_HIGH || c->flush_interval_ms == 0) {
        return pcl_cast_flush(c, false);
    }
    return PCL_OK;
}

/* Length of a complete, valid UTF-8 sequence at s (n bytes available),
 * 0 when the bytes there are invalid, or -1 when they are a valid prefix
 * cut by the end of the buffer. RFC 3629: no overlongs, no surrogates. */
static int
utf8_seq(const uint8_t *s, size_t n)
{
    int need;
    uint8_t lo = 0x80;
    uint8_t hi = 0xbf;
    int i;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        need = 2;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        need = 3;
        if (s[0] == 0xe0) {
            lo = 0xa0;
        } else if (s[0] == 0xed) {
            hi = 0x9f;
        }
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        need = 4;
        if (s[0] == 0xf0) {
            lo = 0x90;
        } else if (s[0] == 0xf4) {
            hi = 0x8f;
        }
    } else {
        return 0;
    }
    for (i = 1; i < need; i++) {
        if ((size_t)i >= n) {
            return -1;
        }
        if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xbf)) {
            return 0;
        }
    }
    return need;
}


/*
 * What each byte becomes in a JSON string (RFC 8259 section 7): itself,
 * an escape (control characters, '"' and '\\'), or U+FFFD for bytes that
 * never start a UTF-8 sequence (RFC 3629); len 0 for a lead byte, whose
 * sequence must be checked. Padded to eight bytes so that each is one
 * fixed-size store, without a branch per kind of byte (the line buffer
 * has slack for the bytes stored past the end).
 */
struct json_token {
    char text[8];
    uint8_t len;
};
static const struct json_token json_token[256] = {
    { "\\u0000", 6 }, { "\\u0001", 6 }, { "\\u0002", 6 }, { "\\u0003", 6 },
    { "\\u0004", 6 }, { "\\u0005", 6 }, { "\\u0006", 6 }, { "\\u0007", 6 },
    { "\\b", 2 }, { "\\t", 2 }, { "\\n", 2 }, { "\\u000b", 6 },
    { "\\f", 2 }, { "\\r", 2 }, { "\\u000e", 6 }, { "\\u000f", 6 },
    { "\\u0010", 6 }, { "\\u0011", 6 }, { "\\u0012", 6 }, { "\\u0013", 6 },
    { "\\u0014", 6 }, { "\\u0015", 6 }, { "\\u0016", 6 }, { "\\u0017", 6 },
    { "\\u0018", 6 }, { "\\u0019", 6 }, { "\\u001a", 6 }, { "\\u001b", 6 },
    { "\\u001c", 6 }, { "\\u001d", 6 }, { "\\u001e", 6 }, { "\\u001f", 6 },
    { " ", 1 }, { "!", 1 }, { "\\\"", 2 }, { "#", 1 },
    { "$", 1 }, { "%", 1 }, { "&", 1 }, { "'", 1 },
    { "(", 1 }, { ")", 1 }, { "*", 1 }, { "+", 1 },
    { ",", 1 }, { "-", 1 }, { ".", 1 }, { "/", 1 },
    { "0", 1 }, { "1", 1 }, { "2", 1 }, { "3", 1 },
    { "4", 1 }, { "5", 1 }, { "6", 1 }, { "7", 1 },
    { "8", 1 }, { "9", 1 }, { ":", 1 }, { ";", 1 },
    { "<", 1 }, { "=", 1 }, { ">", 1 }, { "\077", 1 },
    { "@", 1 }, { "A", 1 }, { "B", 1 }, { "C", 1 },
    { "D", 1 }, { "E", 1 }, { "F", 1 }, { "G", 1 },
    { "H", 1 }, { "I", 1 }, { "J", 1 }, { "K", 1 },
    { "L", 1 }, { "M", 1 }, { "N", 1 }, { "O", 1 },
    { "P", 1 }, { "Q", 1 }, { "R", 1 }, { "S", 1 },
    { "T", 1 }, { "U", 1 }, { "V", 1 }, { "W", 1 },
    { "X", 1 }, { "Y", 1 }, { "Z", 1 }, { "[", 1 },
    { "\\\\", 2 }, { "]", 1 }, { "^", 1 }, { "_", 1 },
    { "`", 1 }, { "a", 1 }, { "b", 1 }, { "c", 1 },
    { "d", 1 }, { "e", 1 }, { "f", 1 }, { "g", 1 },
    { "h", 1 }, { "i", 1 }, { "j", 1 }, { "k", 1 },
    { "l", 1 }, { "m", 1 }, { "n", 1 }, { "o", 1 },
    { "p", 1 }, { "q", 1 }, { "r", 1 }, { "s", 1 },
    { "t", 1 }, { "u", 1 }, { "v", 1 }, { "w", 1 },
    { "x", 1 }, { "y", 1 }, { "z", 1 }, { "{", 1 },
    { "|", 1 }, { "}", 1 }, { "~", 1 }, { "\177", 1 },
    { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 },
    { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 },
    { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 },
    { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 },
    { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 },
    { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 },
    { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 },
    { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 },
    { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 },
    { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 },
    { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 },
    { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 },
    { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 },
    { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 },
    { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 },
    { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 },
    { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "", 0 }, { "", 0 },
    { "", 0 }, { "", 0 }, { "", 0 }, { "", 0 },
    { "", 0 }, { "", 0 }, { "", 0 }, { "", 0 },
    { "", 0 }, { "", 0 }, { "", 0 }, { "", 0 },
    { "", 0 }, { "", 0 }, { "", 0 }, { "", 0 },
    { "", 0 }, { "", 0 }, { "", 0 }, { "", 0 },
    { "", 0 }, { "", 0 }, { "", 0 }, { "", 0 },
    { "", 0 }, { "", 0 }, { "", 0 }, { "", 0 },
    { "", 0 }, { "", 0 }, { "", 0 }, { "", 0 },
    { "", 0 }, { "", 0 }, { "", 0 }, { "", 0 },
    { "", 0 }, { "", 0 }, { "", 0 }, { "", 0 },
    { "", 0 }, { "", 0 }, { "", 0 }, { "", 0 },
    { "", 0 }, { "", 0 }, { "", 0 }, { "", 0 },
    { "", 0 }, { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 },
    { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 },
    { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 }, { "\357\277\275", 3 },
};

/*
 * UTF-8 lead bytes (RFC 3629 section 4): the sequence's length, and the
 * range of its second byte (narrower after E0, ED, F0, F4: no overlongs,
 * surrogates or code points past U+10FFFF). need 0: not a lead byte.
 */
struct utf8_lead {
    uint8_t need;
    uint8_t lo;
    uint8_t hi;
};
static const struct utf8_lead utf8_lead[256] = {
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 2, 0x80, 0xbf }, { 2, 0x80, 0xbf },
    { 2, 0x80, 0xbf }, { 2, 0x80, 0xbf }, { 2, 0x80, 0xbf }, { 2, 0x80, 0xbf },
    { 2, 0x80, 0xbf }, { 2, 0x80, 0xbf }, { 2, 0x80, 0xbf }, { 2, 0x80, 0xbf },
    { 2, 0x80, 0xbf }, { 2, 0x80, 0xbf }, { 2, 0x80, 0xbf }, { 2, 0x80, 0xbf },
    { 2, 0x80, 0xbf }, { 2, 0x80, 0xbf }, { 2, 0x80, 0xbf }, { 2, 0x80, 0xbf },
    { 2, 0x80, 0xbf }, { 2, 0x80, 0xbf }, { 2, 0x80, 0xbf }, { 2, 0x80, 0xbf },
    { 2, 0x80, 0xbf }, { 2, 0x80, 0xbf }, { 2, 0x80, 0xbf }, { 2, 0x80, 0xbf },
    { 2, 0x80, 0xbf }, { 2, 0x80, 0xbf }, { 2, 0x80, 0xbf }, { 2, 0x80, 0xbf },
    { 3, 0xa0, 0xbf }, { 3, 0x80, 0xbf }, { 3, 0x80, 0xbf }, { 3, 0x80, 0xbf },
    { 3, 0x80, 0xbf }, { 3, 0x80, 0xbf }, { 3, 0x80, 0xbf }, { 3, 0x80, 0xbf },
    { 3, 0x80, 0xbf }, { 3, 0x80, 0xbf }, { 3, 0x80, 0xbf }, { 3, 0x80, 0xbf },
    { 3, 0x80, 0xbf }, { 3, 0x80, 0x9f }, { 3, 0x80, 0xbf }, { 3, 0x80, 0xbf },
    { 4, 0x90, 0xbf }, { 4, 0x80, 0xbf }, { 4, 0x80, 0xbf }, { 4, 0x80, 0xbf },
    { 4, 0x80, 0x8f }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
    { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 }, { 0, 0x01, 0x00 },
};

#define SWAR_ONES 0x0101010101010101ULL
#define SWAR_HIGHS 0x8080808080808080ULL

/* Non-zero when any of the eight bytes of w is not class 0: below 0x20,
 * '"', '\\', or 0x80 and above. (x - 0x01..) & ~x & 0x80.. is non-zero
 * when x has a zero byte; with 0x20.. for 0x01.., a byte below 0x20. */
static inline uint64_t
swar_special(uint64_t w)
{
    uint64_t q = w ^ (SWAR_ONES * '"');
    uint64_t b = w ^ (SWAR_ONES * '\\');

    return (((w - SWAR_ONES * 0x20) & ~w) | ((q - SWAR_ONES) & ~q) |
            ((b - SWAR_ONES) & ~b) | w) &
           SWAR_HIGHS;
}

/*
 * One byte, or one UTF-8 sequence, of s[i..] with at least four bytes
 * readable, without a branch on its kind (binary output is a random mix
 * of kinds, which branches mispredict): the token of the byte, the whole
 * sequence when it is valid, or U+FFFD for a lead byte that does not
 * start one. Stores eight bytes at line + *pos. Returns the input bytes
 * used.
 */
static inline size_t
escape_one(char *line, size_t *pos, const uint8_t *s, size_t i)
{
    static const uint64_t fffd = 0xbdbfefULL; /* EF BF BD, little end */
    const uint8_t b = s[i];
    const struct utf8_lead *u = &utf8_lead[b];
    const struct json_token *t = &json_token[b];
    uint64_t tok;
    uint64_t seq;
    uint64_t out;
    unsigned ok;
    unsigned lead = u->need != 0;

    memcpy(&tok, t->text, 8);
    /* The sequence as it is in the input, little-endian like fffd. */
    seq = (uint64_t)b | (uint64_t)s[i + 1] << 8 |
          (uint64_t)s[i + 2] << 16 | (uint64_t)s[i + 3] << 24;
    ok = lead & (s[i + 1] >= u->lo) & (s[i + 1] <= u->hi) &
         ((u->need < 3) | ((s[i + 2] & 0xc0) == 0x80)) &
         ((u->need < 4) | ((s[i + 3] & 0xc0) == 0x80));
    out = ok ? seq : lead ? fffd : tok;
    memcpy(line + *pos, &out, 8);
    *pos += ok ? u->need : lead ? 3 : t->len;
    return ok ? u->need : 1;
}

#ifdef __SSE2__
/* Bit k set when s[k] (k < 16) is not class 0. One signed compare finds
 * both the control characters and the bytes of 0x80 and above. */
static inline unsigned
sse2_special(const uint8_t *s)
{
    const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
    const __m128i m = _mm_or_si128(
        _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                     _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));

    return (unsigned)_mm_movemask_epi8(m);
}
#endif

/*
 * Copies the run of plain ASCII at s[i..end) to line at *pos; returns the
 * index of the first byte that is not plain (or where fewer than eight
 * bytes are left). Sixteen bytes at a time where the CPU has SSE2 (every
 * x86-64), else eight; each block is stored whole, then only its plain
 * prefix counted (the line buffer has slack for the rest).
 */
static inline size_t
plain_run(char *line, size_t *pos, const uint8_t *s, size_t i, size_t end)
{
#ifdef __SSE2__
    while (i + 16 <= end) {
        unsigned m = sse2_special(s + i);

        memcpy(line + *pos, s + i, 16);
        if (m != 0) {
            unsigned k = (unsigned)__builtin_ctz(m);
            *pos += k;
            return i + k;
        }
        *pos += 16;
        i += 16;
    }
#endif
    while (i + 8 <= end) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (swar_special(w) != 0) {
            break;
        }
        memcpy(line + *pos, &w, 8);
        *pos += 8;
        i += 8;
    }
    return i;
}

/*
 * Appends the JSON-escaped text of s[i..end) to line at pos; returns the
 * new position. Valid UTF-8 is copied, each invalid byte becomes U+FFFD.
 * Runs of plain ASCII, most of session output, go by plain_run.
 */
static size_t
escape_into(char *line, size_t pos, const uint8_t *s, size_t i, size_t end)
{
    bool plain;

    while (i < end) {
        i = plain_run(line, &pos, s, i, end);
        /* Mixed bytes until the next eight are plain. */
        plain = false;
        while (!plain && i + 4 <= end) {
            i += escape_one(line, &pos, s, i);
            while (i + 8 <= end) {
                uint64_t w;
                int k;
                memcpy(&w, s + i, 8);
                if (w != 0) {
                    plain = swar_special(w) == 0;
                    break;
                }
                /* Eight NULs (zero padding in binary output). */
                for (k = 0; k < 8; k++) {
                    memcpy(line + pos + 6 * (size_t)k, json_token[0].text,
                           8);
                }
                pos += 48;
                i += 8;
            }
        }
        if (plain) {
            continue;
        }
        /* The last bytes, fewer than four. */
        while (i < end) {
            const struct json_token *t = &json_token[s[i]];
            int l;

            if (t->len != 0) {
                memcpy(line + pos, t->text, 8);
                pos += t->len;
                i++;
                continue;
            }
            l = utf8_seq(s + i, end - i);
            if (l <= 0) {
                /* Invalid (a cut sequence never reaches here). */
                memcpy(line + pos, "\xEF\xBF\xBD", 4);
                pos += 3;
                i++;
                continue;
            }
            memcpy(line + pos, s + i, (size_t)l);
            pos += (size_t)l;
            i += (size_t)l;
        }
    }
    return pos;
}

/* Time of an event as the format wants it: v2 seconds since the start,
 * v3 seconds since the previous event. Never decreasing. */
static size_t
format_time(struct pcl_cast *c, uint64_t t_us, char *buf, size_t len)
{
    uint64_t t;

    if (t_us < c->last_us) {
        t_us = c->last_us;
    }
    t = c->format == PCL_CAST_V3 ? t_us - c->last_us : t_us;
    c->last_us = t_us;
    return (size_t)snprintf(buf, len, "%" PRIu64 ".%06" PRIu64,
                            t / 1000000, t % 1000000);
}

/*
 * Writes one event [time, "code", "escaped data"] for s[i..end), built in
 * place at the end of the output buffer (which always has room for the
 * longest event), then chained: the data is copied once.
 */
static int
event(struct pcl_cast *c, char code, const uint8_t *s, size_t i, size_t end,
      uint64_t t_us)
{
    char *line;
    size_t pos = 0;

    if (c->failed) {
        return PCL_ERR_IO;
    }
    if (c->out_len + LINE_MAX_BYTES > c->out_cap &&
        pcl_cast_flush(c, false) != PCL_OK) {
        return PCL_ERR_IO;
    }
    line = c->out + c->out_len;
    line[pos++] = '[';
    pos += format_time(c, t_us, line + pos, 32);
    memcpy(line + pos, ", \"", 3);
    pos += 3;
    line[pos++] = code;
    memcpy(line + pos, "\", \"", 4);
    pos += 4;
    pos = escape_into(line, pos, s, i, end);
    memcpy(line + pos, "\"]\n", 3);
    pos += 3;
    if (chain_line(c->md, c->chain, line, pos) != PCL_OK) {
        c->failed = true;
        return PCL_ERR_IO;
    }
    c->lines++;
    c->bytes += pos;
    if (c->out_len == 0) {
        c->first_pending_ms = mono_ms();
    }
    c->out_len += pos;
    if (c->out_len >= OUT_HIGH || c->flush_interval_ms == 0) {
        return pcl_cast_flush(c, false);
    }
    return PCL_OK;
}

/*
 * Records data of one carry slot as events of at most PCL_CAST_EVENT_MAX
 * source bytes, cut only between characters; a sequence cut by the end of
 * buf is kept for the next call.
 */
static int
data_events(struct pcl_cast *c, char code, int slot, const uint8_t *buf,
            size_t len, uint64_t t_us)
{
    size_t total = c->carry_len[slot] + len;
    const uint8_t *s;
    size_t start = 0;
    size_t i = 0;
    size_t keep = 0;
    int rc;

    if (c->failed) {
        return PCL_ERR_IO;
    }
    if (c->carry_len[slot] == 0) {
        s = buf; /* the usual case: no copy */
    } else {
        if (total > c->scratch_cap) {
            uint8_t *n = realloc(c->scratch, total);
            if (n == NULL) {
                return PCL_ERR_NOMEM;
            }
            c->scratch = n;
            c->scratch_cap = total;
        }
        memcpy(c->scratch, c->carry[slot], c->carry_len[slot]);
        memcpy(c->scratch + c->carry_len[slot], buf, len);
        c->carry_len[slot] = 0;
        s = c->scratch;
    }

    /* A valid prefix of a sequence at the very end waits for the rest:
     * find the last lead byte among the final three. */
    for (keep = 1; keep <= 3 && keep <= total; keep++) {
        uint8_t b = s[total - keep];
        if (b < 0x80) {
            break;
        }
        if (b >= 0xc0) {
            if (utf8_seq(s + total - keep, keep) == -1) {
                memcpy(c->carry[slot], s + total - keep, keep);
                c->carry_len[slot] = keep;
                total -= keep;
            }
            break;
        }
    }

    while (start < total) {
        size_t end = start + PCL_CAST_EVENT_MAX;
        if (end >= total) {
            end = total;
        } else {
            /* Back up to a character boundary (at most 3 bytes). */
            i = end;
            while (i > start && i > end - 3 && (s[i] & 0xc0) == 0x80) {
                i--;
            }
            end = i > start ? i : end;
        }
        rc = event(c, code, s, start, end, t_us);
        if (rc != PCL_OK) {
            return rc;
        }
        start = end;
    }
    return PCL_OK;
}

int
pcl_cast_output(struct pcl_cast *c, int stream, const uint8_t *buf,
                size_t len, uint64_t t_us)
{
    int slot = stream == 2 ? 2 : 1;
    int rc;

    if (len == 0) {
        return c->failed ? PCL_ERR_IO : PCL_OK;
    }
    if (c->separate_streams && slot != c->cur_stream) {
        rc = pcl_cast_marker(c, slot == 2 ? PCL_CAST_MARK_STDERR
                                          : PCL_CAST_MARK_STDOUT, t_us);
        if (rc != PCL_OK) {
            return rc;
        }
        c->cur_stream = slot;
    }
    return data_events(c, 'o', slot, buf, len, t_us);
}

int
pcl_cast_input(struct pcl_cast *c, const uint8_t *buf, size_t len,
               uint64_t t_us)
{
    if (len == 0) {
        return c->failed ? PCL_ERR_IO : PCL_OK;
    }
    return data_events(c, 'i', 0, buf, len, t_us);
}

int
pcl_cast_resize(struct pcl_cast *c, int cols, int rows, uint64_t t_us)
{
    char sz[32];
    int n = snprintf(sz, sizeof(sz), "%dx%d", cols, rows);

    return event(c, 'r', (const uint8_t *)sz, 0, (size_t)n, t_us);
}

int
pcl_cast_marker(struct pcl_cast *c, const char *label, uint64_t t_us)
{
    size_t n = strnlen(label, 1024);

    return event(c, 'm', (const uint8_t *)label, 0, n, t_us);
}

/* Writes out what a stream still carries (a cut sequence at the end of
 * the session is invalid by now: it becomes U+FFFD). */
static int
drain_carry(struct pcl_cast *c, uint64_t t_us)
{
    int slot;
    int rc;

    for (slot = 0; slot < 3; slot++) {
        size_t n = c->carry_len[slot];
        uint8_t tmp[4];
        if (n == 0) {
            continue;
        }
        memcpy(tmp, c->carry[slot], n);
        c->carry_len[slot] = 0;
        rc = event(c, slot == 0 ? 'i' : 'o', tmp, 0, n, t_us);
        if (rc != PCL_OK) {
            return rc;
        }
    }
    return PCL_OK;
}

/* 128 + the Linux number of a signal named as RFC 4254 section 6.10 does
 * (without "SIG"), or 255 for a name we do not know. */
static int
signal_status(const char *name)
{
    static const char *const names[] = {
        "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL",
        "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM",
    };
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i]) == 0) {
            return 128 + (int)i + 1;
        }
    }
    return 255;
}

int
pcl_cast_exit(struct pcl_cast *c, int status, const char *signame,
              uint64_t t_us)
{
    char label[64];
    int rc;

    rc = drain_carry(c, t_us);
    if (rc != PCL_OK) {
        return rc;
    }
    if (c->format == PCL_CAST_V3) {
        /* "x" carries a number (asciicast v3); a signal is named in a
         * marker first and counted as a shell would, 128 + N. */
        if (signame != NULL && signame[0] != '\0') {
            snprintf(label, sizeof(label), "%s%.32s", PCL_CAST_MARK_SIGNAL,
                     signame);
            rc = pcl_cast_marker(c, label, t_us);
            if (rc != PCL_OK) {
                return rc;
            }
            status = signal_status(signame);
        }
        snprintf(label, sizeof(label), "%d", status);
        return event(c, 'x', (const uint8_t *)label, 0, strlen(label), t_us);
    }
    if (signame != NULL && signame[0] != '\0') {
        snprintf(label, sizeof(label), "%s%.32s", PCL_CAST_MARK_SIGNAL,
                 signame);
    } else {
        snprintf(label, sizeof(label), "%s%d", PCL_CAST_MARK_EXIT, status);
    }
    return pcl_cast_marker(c, label, t_us);
}

int
pcl_cast_due(const struct pcl_cast *c, uint64_t now_ms)
{
    uint64_t due;

    if (c->out_len == 0) {
        return -1;
    }
    due = c->first_pending_ms + c->flush_interval_ms;
    return due > now_ms ? (int)(due - now_ms) : 0;
}

static char *
header_line(const struct pcl_cast_params *p)
{
    json_object *h = json_object_new_object();
    json_object *env = json_object_new_object();
    json_object *meta = json_object_new_object();
    char *line = NULL;
    const char *text;
    size_t i;

    if (h == NULL || env == NULL || meta == NULL) {
        json_object_put(h);
        json_object_put(env);
        json_object_put(meta);
        return NULL;
    }
    json_object_object_add(h, "version", json_object_new_int(p->format));
    if (p->format == PCL_CAST_V3) {
        json_object *term = json_object_new_object();
        json_object_object_add(term, "cols", json_object_new_int(p->width));
        json_object_object_add(term, "rows", json_object_new_int(p->height));
        if (p->term != NULL) {
            json_object_object_add(term, "type",
                                   json_object_new_string(p->term));
        }
        json_object_object_add(h, "term", term);
    } else {
        json_object_object_add(h, "width", json_object_new_int(p->width));
        json_object_object_add(h, "height", json_object_new_int(p->height));
    }
    json_object_object_add(h, "timestamp",
                           json_object_new_int64(p->timestamp));
    if (p->term != NULL && p->format == PCL_CAST_V2) {
        char *clean = pcl_utf8_clean(p->term);
        json_object_object_add(env, "TERM",
                               json_object_new_string(clean != NULL ? clean
                                                                    : "?"));
        free(clean);
    }
    if (p->shell != NULL) {
        json_object_object_add(env, "SHELL",
                               json_object_new_string(p->shell));
    }
    json_object_object_add(h, "env", env);
    for (i = 0; i < p->nmeta; i++) {
        if (p->meta[i].value != NULL) {
            /* A command may hold any bytes; the header is strict JSON. */
            char *clean = pcl_utf8_clean(p->meta[i].value);
            if (clean == NULL) {
                json_object_put(h);
                json_object_put(env);
                json_object_put(meta);
                return NULL;
            }
            json_object_object_add(meta, p->meta[i].key,
                                   json_object_new_string(clean));
            free(clean);
        }
    }
    json_object_object_add(h, "portcullis", meta);
    text = json_object_to_json_string_ext(h, JSON_C_TO_STRING_PLAIN |
                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
    if (text != NULL && asprintf(&line, "%s\n", text) < 0) {
        line = NULL;
    }
    json_object_put(h);
    return line;
}

static void
cast_free(struct pcl_cast *c)
{
    if (c == NULL) {
        return;
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    if (c->seal_fd >= 0) {
        close(c->seal_fd);
    }
    pcl_cast_seal_key_free(c->key);
    if (c->scratch != NULL) {
        explicit_bzero(c->scratch, c->scratch_cap);
    }
    free(c->scratch);
    if (c->out != NULL) {
        explicit_bzero(c->out, c->out_cap);
    }
    free(c->out);
    free(c->path);
    EVP_MD_CTX_free(c->md);
    free(c);
}

int
pcl_cast_open(const struct pcl_cast_params *p, struct pcl_cast **out,
              char *why, size_t whylen)
{
    struct pcl_cast *c = NULL;
    char *hdr = NULL;
    int rc = PCL_ERR_NOMEM;

    *out = NULL;
    if (p->path == NULL ||
        (p->format != PCL_CAST_V2 && p->format != PCL_CAST_V3)) {
        snprintf(why, whylen, "invalid recording parameters");
        return PCL_ERR_INVAL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        goto out;
    }
    c->fd = -1;
    c->seal_fd = -1;
    c->writeback = true;
    c->format = p->format;
    c->separate_streams = p->separate_streams;
    c->cur_stream = 1;
    c->timestamp = p->timestamp;
    c->flush_interval_ms = p->flush_interval_ms;
    c->out_cap = OUT_HIGH + LINE_MAX_BYTES;
    c->path = strdup(p->path);
    c->out = malloc(c->out_cap);
    c->md = EVP_MD_CTX_new();
    if (c->path == NULL || c->out == NULL ||
        c->md == NULL) {
        goto out;
    }
    if (p->seal_key != NULL && p->seal_key_len > 0) {
        rc = pcl_cast_seal_key_parse(p->seal_key, p->seal_key_len, &c->key,
                                     why, whylen);
        if (rc == PCL_OK && !pcl_cast_seal_key_can_sign(c->key)) {
            snprintf(why, whylen, "the seal key is a public key");
            rc = PCL_ERR_INVAL;
        }
        if (rc != PCL_OK) {
            goto out;
        }
        snprintf(c->key_id, sizeof(c->key_id), "%s",
                 p->seal_key_id != NULL ? p->seal_key_id
                                        : pcl_cast_seal_key_id(c->key));
        rc = PCL_ERR_NOMEM;
    }
    rc = PCL_ERR_IO;
    if (chain_seed(c->md, c->chain) != PCL_OK) {
        snprintf(why, whylen, "SHA-256 unavailable");
        goto out;
    }
    c->fd = open(p->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
                              O_NOFOLLOW | O_NOCTTY, 0640);
    if (c->fd < 0) {
        snprintf(why, whylen, "%s: %s", p->path, strerror(errno));
        goto out;
    }
    if (c->key != NULL && c->format == PCL_CAST_V2) {
        char spath[4096];
        if ((size_t)snprintf(spath, sizeof(spath), "%s%s", p->path,
                             PCL_CAST_SEAL_SUFFIX) >= sizeof(spath)) {
            snprintf(why, whylen, "path too long");
            goto out;
        }
        /* Empty until the seal is written: a session that dies leaves an
         * empty sidecar, which verifies as unsealed. */
        c->seal_fd = open(spath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
                                     O_NOFOLLOW | O_NOCTTY, 0640);
        if (c->seal_fd < 0) {
            snprintf(why, whylen, "%s: %s", spath, strerror(errno));
            goto out;
        }
    }
    hdr = header_line(p);
    if (hdr == NULL) {
        rc = PCL_ERR_NOMEM;
        snprintf(why, whylen, "out of memory");
        goto out;
    }
    if (put_line(c, hdr, strlen(hdr)) != PCL_OK ||
        pcl_cast_flush(c, false) != PCL_OK) {
        snprintf(why, whylen, "%s: %s", p->path, strerror(errno));
        goto out;
    }
    *out = c; /* transfer ownership */
    c = NULL;
    rc = PCL_OK;
out:
    free(hdr);
    if (c != NULL && c->fd >= 0) {
        (void)unlink(p->path);
    }
    if (c != NULL && c->seal_fd >= 0) {
        char spath[4096];
        snprintf(spath, sizeof(spath), "%s%s", p->path, PCL_CAST_SEAL_SUFFIX);
        (void)unlink(spath);
    }
    cast_free(c);
    if (rc == PCL_ERR_NOMEM && why[0] == '\0') {
        snprintf(why, whylen, "out of memory");
    }
    return rc;
}

const char *
pcl_cast_path(const struct pcl_cast *c)
{
    return c->path;
}

void
pcl_cast_chain(const struct pcl_cast *c, char out[65])
{
    pcl_cast_hex(c->chain, 32, out);
}

static const char *
base_name(const char *path)
{
    const char *s = strrchr(path, '/');

    return s != NULL ? s + 1 : path;
}

/*
 * The MAC or signature covers, in this order and separated by '\n': the
 * magic and version, the key id, the file's base name, lines, bytes,
 * chain, start and end (portcullis-cast(5), "The seal"). Returns the
 * message's length, or 0 when it does not fit msg.
 */
static size_t
seal_message(char *msg, size_t cap, const char *key_id, const char *file,
             uint64_t lines, uint64_t bytes, const char *chain,
             int64_t start, int64_t end)
{
    int n = snprintf(msg, cap,
                     "%s\n%d\n%s\n%s\n%" PRIu64 "\n%" PRIu64 "\n%s\n%" PRId64
                     "\n%" PRId64 "\n",
                     PCL_CAST_SEAL_MAGIC, PCL_CAST_SEAL_VERSION, key_id, file,
                     lines, bytes, chain, start, end);

    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

static char *
seal_json(const struct pcl_cast *c, int64_t end)
{
    char chain[65];
    char msg[1024];
    char value[PCL_CAST_SEAL_VALUE_MAX];
    size_t n;
    char *s = NULL;

    pcl_cast_hex(c->chain, 32, chain);
    n = seal_message(msg, sizeof(msg), c->key_id, base_name(c->path),
                     c->lines, c->bytes, chain, c->timestamp, end);
    if (n == 0 || pcl_cast_seal_key_sign(c->key, msg, n, value) != PCL_OK) {
        return NULL;
    }
    if (asprintf(&s,
                 "{\"%s\": %d, \"alg\": \"%s\", \"key_id\": \"%s\", "
                 "\"file\": \"%s\", \"lines\": %" PRIu64 ", \"bytes\": "
                 "%" PRIu64 ", \"chain\": \"%s\", \"start\": %" PRId64
                 ", \"end\": %" PRId64 ", \"%s\": \"%s\"}",
                 PCL_CAST_SEAL_MAGIC, PCL_CAST_SEAL_VERSION,
                 pcl_cast_seal_key_alg(c->key), c->key_id,
                 base_name(c->path), c->lines, c->bytes, chain,
                 c->timestamp, end, pcl_cast_seal_key_field(c->key),
                 value) < 0) {
        return NULL;
    }
    return s;
}

int
pcl_cast_close(struct pcl_cast *c)
{
    char *seal = NULL;
    char *spath = NULL;
    int fd = -1;
    int rc;

    if (c == NULL) {
        return PCL_OK;
    }
    rc = drain_carry(c, c->last_us);
    if (rc == PCL_OK) {
        rc = pcl_cast_flush(c, true);
    }
    if (rc == PCL_OK && c->key != NULL) {
        rc = PCL_ERR_IO;
        seal = seal_json(c, (int64_t)time(NULL));
        if (seal == NULL) {
            goto out;
        }
        if (c->format == PCL_CAST_V3) {
            /* A comment line: players skip it; not part of the chain. */
            char *line = NULL;
            if (asprintf(&line, "# %s\n", seal) < 0) {
                goto out;
            }
            rc = write_all(c->fd, line, strlen(line));
            free(line);
            if (rc == PCL_OK && fsync(c->fd) != 0) {
                rc = PCL_ERR_IO;
            }
        } else {
            fd = c->seal_fd;
            c->seal_fd = -1;
            if (fd < 0) {
                goto out;
            }
            rc = write_all(fd, seal, strlen(seal));
            if (rc == PCL_OK) {
                rc = write_all(fd, "\n", 1);
            }
            if (rc == PCL_OK && fsync(fd) != 0) {
                rc = PCL_ERR_IO;
            }
        }
    }
out:
    if (rc != PCL_OK) {
        error("recording %s: cannot seal: %s", c->path, strerror(errno));
    }
    if (fd >= 0) {
        close(fd);
    }
    free(spath);
    free(seal);
    cast_free(c);
    return rc;
}

void
pcl_cast_abort(struct pcl_cast *c)
{
    if (c != NULL) {
        (void)pcl_cast_flush(c, true);
    }
    cast_free(c);
}

int
pcl_cast_key_id(const uint8_t *key, size_t len, char *out, size_t outlen)
{
    struct pcl_cast_seal_key *k = NULL;
    char why[128];

    if (outlen < 24 ||
        pcl_cast_seal_key_parse(key, len, &k, why, sizeof(why)) != PCL_OK) {
        return PCL_ERR_CRYPTO;
    }
    snprintf(out, outlen, "%s", pcl_cast_seal_key_id(k));
    pcl_cast_seal_key_free(k);
    return PCL_OK;
}

/* ------------------------------------------------------------ verify */

static void
verdict(struct pcl_cast_verdict *v, enum pcl_cast_seal_state s,
        const char *why)
{
    v->state = s;
    snprintf(v->why, sizeof(v->why), "%s", why);
}

static json_object *
parse_seal(const char *text, size_t len)
{
    json_object *o = json_tokener_parse(text);
    json_object *m;

    (void)len;
    if (o == NULL || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, PCL_CAST_SEAL_MAGIC, &m)) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

static const char *
jstr(json_object *o, const char *k)
{
    json_object *v;

    if (!json_object_object_get_ex(o, k, &v) ||
        !json_object_is_type(v, json_type_string)) {
        return "";
    }
    return json_object_get_string(v);
}

static int64_t
jint(json_object *o, const char *k)
{
    json_object *v;

    if (!json_object_object_get_ex(o, k, &v) ||
        !json_object_is_type(v, json_type_int)) {
        return -1;
    }
    return json_object_get_int64(v);
}

int
pcl_cast_verify(const char *path, const uint8_t *key, size_t keylen,
                const char *key_id, struct pcl_cast_verdict *v)
{
    FILE *fp = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    EVP_MD_CTX *md = NULL;
    uint8_t chain[32];
    json_object *seal = NULL;
    struct pcl_cast_seal_key *sk = NULL;
    char *spath = NULL;
    bool cut = false;
    int rc = PCL_ERR_NOMEM;

    memset(v, 0, sizeof(*v));
    v->format = PCL_CAST_V2;
    md = EVP_MD_CTX_new();
    if (md == NULL || chain_seed(md, chain) != PCL_OK) {
        goto out;
    }
    fp = fopen(path, "re");
    if (fp == NULL) {
        rc = PCL_ERR_IO;
        snprintf(v->why, sizeof(v->why), "%s: %s", path, strerror(errno));
        goto out;
    }
    while ((n = getline(&line, &cap, fp)) > 0) {
        if (line[n - 1] != '\n') {
            cut = true; /* a last line without its end: cut short */
            break;
        }
        if (seal != NULL) {
            /* The seal is the last line; nothing after it is covered. */
            pcl_cast_hex(chain, 32, v->chain);
            verdict(v, PCL_CAST_SEAL_TAMPERED, "lines after the seal");
            rc = PCL_OK;
            goto out;
        }
        if (line[0] == '#') {
            /* The writer's only comment is the v3 seal. */
            if (strncmp(line, "# {", 3) == 0) {
                seal = parse_seal(line + 2, (size_t)n - 2);
            }
            if (seal == NULL) {
                pcl_cast_hex(chain, 32, v->chain);
                verdict(v, PCL_CAST_SEAL_TAMPERED,
                        "a comment line portcullis did not write");
                rc = PCL_OK;
                goto out;
            }
            v->format = PCL_CAST_V3;
            continue;
        }
        if (v->lines == 0 && (strstr(line, "\"version\":3") != NULL ||
                              strstr(line, "\"version\": 3") != NULL)) {
            v->format = PCL_CAST_V3;
        }
        if (chain_line(md, chain, line, (size_t)n) != PCL_OK) {
            goto out;
        }
        v->lines++;
        v->bytes += (uint64_t)n;
    }
    if (ferror(fp)) {
        rc = PCL_ERR_IO;
        goto out;
    }
    pcl_cast_hex(chain, 32, v->chain);
    rc = PCL_OK;
    if (seal == NULL) {
        if (asprintf(&spath, "%s%s", path, PCL_CAST_SEAL_SUFFIX) < 0) {
            spath = NULL;
            rc = PCL_ERR_NOMEM;
            goto out;
        }
        FILE *sf = fopen(spath, "re");
        if (sf != NULL) {
            char *sl = NULL;
            size_t scap = 0;
            if (getline(&sl, &scap, sf) > 0) {
                seal = parse_seal(sl, strlen(sl));
            }
            free(sl);
            fclose(sf);
        }
    }
    if (seal == NULL) {
        verdict(v, PCL_CAST_SEAL_UNSEALED,
                cut ? "no seal; the last line is cut short (crash?)"
                    : "no seal");
        goto out;
    }
    if (cut) {
        verdict(v, PCL_CAST_SEAL_TAMPERED, "the last line is cut short");
        goto out;
    }
    snprintf(v->key_id, sizeof(v->key_id), "%s", jstr(seal, "key_id"));
    if (jint(seal, "lines") != (int64_t)v->lines ||
        jint(seal, "bytes") != (int64_t)v->bytes) {
        verdict(v, PCL_CAST_SEAL_TAMPERED,
                "line or byte count differs from the seal");
        goto out;
    }
    if (strcmp(jstr(seal, "chain"), v->chain) != 0) {
        verdict(v, PCL_CAST_SEAL_TAMPERED,
                "content differs from the sealed chain");
        goto out;
    }
    if (strcmp(jstr(seal, "file"), base_name(path)) != 0) {
        verdict(v, PCL_CAST_SEAL_TAMPERED, "the seal names another file");
        goto out;
    }
    if (key == NULL || key_id == NULL || strcmp(key_id, v->key_id) != 0) {
        verdict(v, PCL_CAST_SEAL_KEY_UNKNOWN,
                "NOT authenticated: the seal names a key that was not given "
                "(anyone can recompute a chain; only the MAC or signature "
                "proves it)");
        goto out;
    }
    {
        char msg[1024];
        char why[128];
        size_t mn;
        bool good;

        rc = pcl_cast_seal_key_parse(key, keylen, &sk, why, sizeof(why));
        if (rc != PCL_OK) {
            snprintf(v->why, sizeof(v->why), "seal key: %s", why);
            goto out;
        }
        if (strcmp(jstr(seal, "alg"), pcl_cast_seal_key_alg(sk)) != 0) {
            verdict(v, PCL_CAST_SEAL_TAMPERED,
                    "the seal's algorithm is not the key's");
            goto out;
        }
        mn = seal_message(msg, sizeof(msg), v->key_id, base_name(path),
                          v->lines, v->bytes, v->chain, jint(seal, "start"),
                          jint(seal, "end"));
        good = mn > 0 &&
               pcl_cast_seal_key_check(sk, msg, mn,
                                       jstr(seal,
                                            pcl_cast_seal_key_field(sk)));
        if (!good) {
            verdict(v, PCL_CAST_SEAL_TAMPERED,
                    strcmp(pcl_cast_seal_key_alg(sk), PCL_CAST_ALG_HMAC) == 0
                        ? "the seal's MAC is wrong"
                        : "the seal's signature is wrong");
            goto out;
        }
    }
    verdict(v, PCL_CAST_SEAL_VALID, "");
out:
    pcl_cast_seal_key_free(sk);
    json_object_put(seal);
    free(spath);
    free(line);
    if (fp != NULL) {
        fclose(fp);
    }
    EVP_MD_CTX_free(md);
    return rc;
}

int
pcl_cast_verify_keyfile(const char *path, const char *key_path,
                        struct pcl_cast_verdict *v, char *key_why,
                        size_t key_whylen)
{
    uint8_t *key = NULL;
    size_t keylen = 0;
    char key_id[32] = "";
    char why[512] = "";
    int rc;

    if (key_why != NULL && key_whylen > 0) {
        key_why[0] = '\0';
    }
    if (key_path != NULL && key_path[0] != '\0') {
        rc = pcl_file_read_secret(key_path, PCL_CAST_SEAL_KEY_MAX, &key,
                                  &keylen, why, sizeof(why));
        if (rc != PCL_OK) {
            if (key_why != NULL && key_whylen > 0) {
                snprintf(key_why, key_whylen, "%s", why);
            }
            key = NULL;
            keylen = 0;
        } else if (pcl_cast_key_id(key, keylen, key_id, sizeof(key_id)) !=
                   PCL_OK) {
            pcl_file_secret_free(key, keylen);
            memset(v, 0, sizeof(*v));
            snprintf(v->why, sizeof(v->why), "seal key %s: not a usable key",
                     key_path);
            return PCL_ERR_CRYPTO;
        }
    }
    rc = pcl_cast_verify(path, key, keylen, key != NULL ? key_id : NULL, v);
    pcl_file_secret_free(key, keylen);
    return rc;
}
