/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the asciicast writer and its seal: strict JSON lines,
 * UTF-8 carried over at every split, invalid bytes, NUL, bounded events,
 * monotonic times, and verification of sealed, cut and edited files, with
 * HMAC-SHA256 and Ed25519 keys. */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "portcullis/cast.h"
#include "portcullis/err.h"
#include "testutil.h"

static const uint8_t KEY[] = "0123456789abcdef0123456789abcdef";

struct fixture {
    char dir[64];
    char path[256];
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL || tu_mkdtemp(f->dir, sizeof(f->dir)) != 0) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/s.cast", f->dir);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    tu_rmtree(f->dir);
    free(f);
    return 0;
}

static struct pcl_cast *
open_cast(const char *path, enum pcl_cast_format fmt, bool streams,
          bool sealed)
{
    const struct pcl_cast_meta meta[] = {
        { "session_id", "0123abcd" },
        { "user", "alice \"quoted\"\n" },
        { "approval_id", NULL },
    };
    struct pcl_cast_params p;
    struct pcl_cast *c = NULL;
    char why[256] = "";

    memset(&p, 0, sizeof(p));
    p.path = path;
    p.format = fmt;
    p.width = 100;
    p.height = 30;
    p.timestamp = 1700000000;
    p.term = "xterm-256color";
    p.shell = "/bin/bash";
    p.meta = meta;
    p.nmeta = 3;
    p.separate_streams = streams;
    p.flush_interval_ms = 1000;
    if (sealed) {
        p.seal_key = KEY;
        p.seal_key_len = sizeof(KEY) - 1;
        p.seal_key_id = "test-key";
    }
    if (pcl_cast_open(&p, &c, why, sizeof(why)) != PCL_OK) {
        fail_msg("pcl_cast_open: %s", why);
    }
    return c;
}

/*
 * Reads a recording back: checks that the header and every event line are
 * strict JSON of the right shape, times never decrease, and returns the
 * concatenated data of events with the given code (owned by the caller).
 */
/* Bytes in the last read_back result (it may hold NULs). */
static size_t read_back_len;

static char *
read_back(const char *path, char code, size_t *nevents, size_t max_event)
{
    FILE *fp = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    char *data = calloc(1, 1);
    size_t dlen = 0;
    double last = -1;
    size_t lineno = 0;

    assert_non_null(fp);
    *nevents = 0;
    while ((n = getline(&line, &cap, fp)) > 0) {
        json_object *o;
        assert_true(line[n - 1] == '\n');
        if (line[0] == '#') {
            continue; /* v3 comment: the seal */
        }
        o = json_tokener_parse(line);
        if (o == NULL) {
            fail_msg("line %zu is not JSON: %s", lineno, line);
        }
        if (lineno++ == 0) {
            assert_true(json_object_is_type(o, json_type_object));
            json_object_put(o);
            continue;
        }
        assert_true(json_object_is_type(o, json_type_array));
        assert_int_equal(json_object_array_length(o), 3);
        {
            double t = json_object_get_double(json_object_array_get_idx(o, 0));
            const char *c = json_object_get_string(
                json_object_array_get_idx(o, 1));
            json_object *d = json_object_array_get_idx(o, 2);
            assert_true(t >= 0);
            assert_int_equal(strlen(c), 1);
            if (c[0] == code) {
                size_t l = (size_t)json_object_get_string_len(d);
                assert_true(l <= max_event * 3);
                data = realloc(data, dlen + l + 1);
                memcpy(data + dlen, json_object_get_string(d), l);
                dlen += l;
                data[dlen] = '\0';
                (*nevents)++;
            }
            if (last >= 0 && line[1] != '0') {
                /* v2: absolute times never decrease */
                assert_true(t >= last || t < 1e-9);
            }
            last = t;
        }
        json_object_put(o);
    }
    free(line);
    fclose(fp);
    read_back_len = dlen;
    return data;
}

static void
test_utf8_every_split(void **state)
{
    struct fixture *f = *state;
    const char *text = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 "
                       "\xf0\x9f\x94\x92 end";
    size_t len = strlen(text);
    size_t cut;

    for (cut = 0; cut <= len; cut++) {
        struct pcl_cast *c;
        size_t nev;
        char *data;

        unlink(f->path);
        c = open_cast(f->path, PCL_CAST_V2, false, false);
        assert_int_equal(pcl_cast_output(c, 1, (const uint8_t *)text, cut,
                                         1000), PCL_OK);
        assert_int_equal(pcl_cast_output(c, 1, (const uint8_t *)text + cut,
                                         len - cut, 2000), PCL_OK);
        assert_int_equal(pcl_cast_close(c), PCL_OK);
        data = read_back(f->path, 'o', &nev, PCL_CAST_EVENT_MAX);
        if (strcmp(data, text) != 0) {
            fail_msg("split at %zu: got \"%s\"", cut, data);
        }
        assert_null(strstr(data, "\xef\xbf\xbd"));
        free(data);
    }
    /* Byte by byte. */
    {
        struct pcl_cast *c;
        size_t nev;
        char *data;
        size_t i;

        unlink(f->path);
        c = open_cast(f->path, PCL_CAST_V3, false, false);
        for (i = 0; i < len; i++) {
            assert_int_equal(pcl_cast_output(c, 1, (const uint8_t *)text + i,
                                             1, i * 10), PCL_OK);
        }
        assert_int_equal(pcl_cast_close(c), PCL_OK);
        data = read_back(f->path, 'o', &nev, PCL_CAST_EVENT_MAX);
        assert_string_equal(data, text);
        free(data);
    }
}

struct bytes_case {
    const char *in;
    size_t len;
    const char *out;
};

static const struct bytes_case bytes_cases[] = {
    { "a\xff" "b", 3, "a\xef\xbf\xbd" "b" },
    { "\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd" },
    { "\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
    { "x\xe2\x82", 3, "x\xef\xbf\xbd\xef\xbf\xbd" }, /* cut at the end */
    { "tab\tq\"b\\s\x1b[1m", 13, "tab\tq\"b\\s\x1b[1m" },
};

static void
test_invalid_bytes_and_nul(void **state)
{
    struct fixture *f = *state;
    size_t i;

    for (i = 0; i < sizeof(bytes_cases) / sizeof(bytes_cases[0]); i++) {
        struct pcl_cast *c;
        size_t nev;
        char *data;

        unlink(f->path);
        c = open_cast(f->path, PCL_CAST_V2, false, false);
        assert_int_equal(pcl_cast_output(c, 1,
                                         (const uint8_t *)bytes_cases[i].in,
                                         bytes_cases[i].len, 5), PCL_OK);
        assert_int_equal(pcl_cast_close(c), PCL_OK);
        data = read_back(f->path, 'o', &nev, PCL_CAST_EVENT_MAX);
        if (strcmp(data, bytes_cases[i].out) != 0) {
            fail_msg("case %zu: got \"%s\"", i, data);
        }
        free(data);
    }
    /* NUL survives as \u0000. */
    {
        struct pcl_cast *c;
        FILE *fp;
        char buf[512];
        size_t n;

        unlink(f->path);
        c = open_cast(f->path, PCL_CAST_V2, false, false);
        assert_int_equal(pcl_cast_output(c, 1, (const uint8_t *)"a\0b", 3,
                                         7), PCL_OK);
        assert_int_equal(pcl_cast_close(c), PCL_OK);
        fp = fopen(f->path, "r");
        n = fread(buf, 1, sizeof(buf) - 1, fp);
        buf[n] = '\0';
        fclose(fp);
        assert_non_null(strstr(buf, "[0.000007, \"o\", \"a\\u0000b\"]\n"));
    }
}

static void
test_large_random(void **state)
{
    struct fixture *f = *state;
    size_t total = 5 * 1024 * 1024;
    uint8_t *buf = malloc(total);
    uint32_t x = 2463534242u;
    struct pcl_cast *c;
    size_t nev;
    size_t i;
    char *data;

    assert_non_null(buf);
    for (i = 0; i < total; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
    c = open_cast(f->path, PCL_CAST_V2, false, true);
    /* One huge read: split into bounded events. */
    assert_int_equal(pcl_cast_output(c, 1, buf, total, 100), PCL_OK);
    assert_int_equal(pcl_cast_close(c), PCL_OK);
    data = read_back(f->path, 'o', &nev, PCL_CAST_EVENT_MAX);
    assert_true(nev >= total / PCL_CAST_EVENT_MAX);
    free(data);
    free(buf);
}

/* Reference for what the writer keeps of a byte string: valid UTF-8
 * (RFC 3629) as is, every other byte as U+FFFD. Returns the length. */
static size_t
reference_text(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t i = 0;
    size_t o = 0;

    while (i < n) {
        uint8_t b = in[i];
        size_t need = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2
                    : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4
                    : 0;
        size_t k;
        bool ok = need > 0 && i + need <= n;

        for (k = 1; ok && k < need; k++) {
            uint8_t lo = 0x80, hi = 0xbf;
            if (k == 1) {
                lo = b == 0xe0 ? 0xa0 : b == 0xf0 ? 0x90 : 0x80;
                hi = b == 0xed ? 0x9f : b == 0xf4 ? 0x8f : 0xbf;
            }
            ok = in[i + k] >= lo && in[i + k] <= hi;
        }
        if (!ok) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(out + o, in + i, need);
        o += need;
        i += need;
    }
    return o;
}

/*
 * The word-at-a-time escaper against the reference: plain runs of every
 * length and alignment around each byte value, UTF-8 sequences valid and
 * broken, quotes, backslashes, controls and NUL, read back through a
 * strict JSON parser.
 */
/* The 'o' text of the recording at path is reference_text(in, n); want
 * (3n bytes) is scratch. */
static void
assert_reference(const char *path, const uint8_t *in, size_t n,
                 uint8_t *want)
{
    size_t wn = reference_text(in, n, want);
    size_t nev;
    char *data = read_back(path, 'o', &nev, PCL_CAST_EVENT_MAX);

    assert_int_equal(read_back_len, wn);
    assert_int_equal(memcmp(data, want, wn), 0);
    free(data);
}

/* Checks the writer against reference_text on N bytes of generated
 * output; with text set, mostly long runs of printable ASCII (the
 * sixteen-byte path meets special bytes at every offset of a block). */
static void
escape_reference_run(struct fixture *f, bool text)
{
    enum { N = 200000 };
    static const char *const pieces[] = {
        "plain text ", "\"", "\\", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
        "\xed\xa0\x80", "\xc3", "\xe2\x82", "\xf4\x90\x80\x80", "\x1b[0m",
        "\r\n", "\t", "0123456789abcdef",
    };
    uint8_t *in = malloc(N + 64);
    uint8_t *want = malloc(3 * (N + 64));
    uint32_t x = 12345;
    size_t n = 0;
    struct pcl_cast *c;

    assert_non_null(in);
    assert_non_null(want);
    while (n < N) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        if (text && x % 16 != 0) {
            in[n++] = (uint8_t)(0x20 + (x >> 8) % 0x5f); /* printable */
        } else if (x % 3 == 0) {
            in[n++] = (uint8_t)(x >> 8); /* any byte, NUL included */
        } else if (x % 11 == 1) {
            size_t l = (x >> 16) % 24 + 1; /* a run of NULs */
            memset(in + n, 0, l);
            n += l;
        } else {
            const char *p = pieces[(x >> 8) % (sizeof(pieces) /
                                                sizeof(pieces[0]))];
            size_t l = strlen(p) - (x >> 20) % 2 * (strlen(p) > 1);
            memcpy(in + n, p, l);
            n += l;
        }
    }
    unlink(f->path);
    c = open_cast(f->path, PCL_CAST_V2, false, false);
    /* Reads of odd sizes: the carry and the word loop meet at every
     * alignment. */
    {
        size_t off = 0;
        size_t step = 1;
        while (off < n) {
            size_t l = step < n - off ? step : n - off;
            assert_int_equal(pcl_cast_output(c, 1, in + off, l, off), PCL_OK);
            off += l;
            step = step * 7 % 1013 + 1;
        }
    }
    assert_int_equal(pcl_cast_close(c), PCL_OK);
    assert_reference(f->path, in, n, want);
    free(in);
    free(want);
}

static void
test_escape_reference(void **state)
{
    escape_reference_run(*state, false);
    escape_reference_run(*state, true);
}

/* Every byte value at every position of every length up to 40, each case
 * its own write: the 16- and 8-byte paths meet each kind of byte at each
 * offset of a block and at the very end of the data. */
static void
test_escape_every_byte(void **state)
{
    struct fixture *f = *state;
    enum { MAXLEN = 40 };
    size_t total = 256 * (MAXLEN * (MAXLEN + 1) * (2 * MAXLEN + 1) / 6);
    uint8_t *in = malloc(total);
    uint8_t *want = malloc(3 * total);
    struct pcl_cast *c;
    size_t n = 0;
    unsigned b;
    size_t len;
    size_t k;

    assert_non_null(in);
    assert_non_null(want);
    unlink(f->path);
    c = open_cast(f->path, PCL_CAST_V2, false, false);
    for (b = 0; b < 256; b++) {
        for (len = 1; len <= MAXLEN; len++) {
            for (k = 0; k < len; k++) {
                memset(in + n, 'a', len);
                in[n + k] = (uint8_t)b;
                assert_int_equal(pcl_cast_output(c, 1, in + n, len, n),
                                 PCL_OK);
                n += len;
            }
        }
    }
    assert_int_equal(n, total);
    assert_int_equal(pcl_cast_close(c), PCL_OK);
    /* Strict JSON (RFC 8259 section 7): no raw control character, which
     * a lenient parser would let through. */
    {
        FILE *fp = fopen(f->path, "rb");
        int ch;

        assert_non_null(fp);
        while ((ch = getc(fp)) != EOF) {
            if (ch < 0x20 && ch != '\n') {
                fail_msg("raw control byte 0x%02x in the recording", ch);
            }
        }
        fclose(fp);
    }
    assert_reference(f->path, in, n, want);
    free(in);
    free(want);
}

static void
test_streams_exit_markers(void **state)
{
    struct fixture *f = *state;
    struct pcl_cast *c;
    FILE *fp;
    char buf[4096];
    size_t n;

    c = open_cast(f->path, PCL_CAST_V2, true, false);
    assert_int_equal(pcl_cast_output(c, 1, (const uint8_t *)"out\n", 4, 10),
                     PCL_OK);
    assert_int_equal(pcl_cast_output(c, 2, (const uint8_t *)"err\n", 4, 20),
                     PCL_OK);
    assert_int_equal(pcl_cast_output(c, 1, (const uint8_t *)"o2", 2, 15),
                     PCL_OK);
    assert_int_equal(pcl_cast_resize(c, 120, 40, 30), PCL_OK);
    assert_int_equal(pcl_cast_exit(c, 3, NULL, 40), PCL_OK);
    assert_int_equal(pcl_cast_close(c), PCL_OK);
    fp = fopen(f->path, "r");
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    /* Golden event lines; the time that went backwards (15 < 20) is
     * raised to the previous event's. */
    assert_non_null(strstr(buf,
                           "[0.000010, \"o\", \"out\\n\"]\n"
                           "[0.000020, \"m\", \"stream:stderr\"]\n"
                           "[0.000020, \"o\", \"err\\n\"]\n"
                           "[0.000020, \"m\", \"stream:stdout\"]\n"
                           "[0.000020, \"o\", \"o2\"]\n"
                           "[0.000030, \"r\", \"120x40\"]\n"
                           "[0.000040, \"m\", \"exit:3\"]\n"));
    assert_non_null(strstr(buf, "\"user\":\"alice \\\"quoted\\\"\\n\""));
    assert_null(strstr(buf, "approval_id"));
}

static void
test_v3_exit_and_intervals(void **state)
{
    struct fixture *f = *state;
    struct pcl_cast *c;
    FILE *fp;
    char buf[4096];
    size_t n;
    struct pcl_cast_verdict v;

    c = open_cast(f->path, PCL_CAST_V3, false, true);
    assert_int_equal(pcl_cast_output(c, 1, (const uint8_t *)"a", 1, 1500000),
                     PCL_OK);
    assert_int_equal(pcl_cast_output(c, 1, (const uint8_t *)"b", 1, 2000000),
                     PCL_OK);
    assert_int_equal(pcl_cast_exit(c, 0, "TERM", 2000001), PCL_OK);
    assert_int_equal(pcl_cast_close(c), PCL_OK);
    fp = fopen(f->path, "r");
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    assert_non_null(strstr(buf, "{\"version\":3,\"term\":{\"cols\":100,"
                                "\"rows\":30,\"type\":\"xterm-256color\"}"));
    /* A signal: named in a marker, counted 128 + N in "x". */
    assert_non_null(strstr(buf, "[1.500000, \"o\", \"a\"]\n"
                                "[0.500000, \"o\", \"b\"]\n"
                                "[0.000001, \"m\", \"exit-signal:TERM\"]\n"
                                "[0.000000, \"x\", \"143\"]\n# {"));
    assert_int_equal(pcl_cast_verify(f->path, KEY, sizeof(KEY) - 1,
                                     "test-key", &v), PCL_OK);
    assert_int_equal(v.state, PCL_CAST_SEAL_VALID);
    assert_int_equal(v.format, PCL_CAST_V3);
    assert_int_equal(v.lines, 5);

    /* A comment line someone added: tampered, even before the seal. */
    {
        char *copy = strdup(buf);
        char *seal = strstr(copy, "# {");
        FILE *w;
        assert_non_null(seal);
        *seal = '\0';
        w = fopen(f->path, "w");
        fprintf(w, "%s# inserted\n%s", copy, strstr(buf, "# {"));
        fclose(w);
        free(copy);
        assert_int_equal(pcl_cast_verify(f->path, KEY, sizeof(KEY) - 1,
                                         "test-key", &v), PCL_OK);
        assert_int_equal(v.state, PCL_CAST_SEAL_TAMPERED);
        /* A line after the seal: tampered. */
        w = fopen(f->path, "w");
        fprintf(w, "%s[9.0, \"o\", \"late\"]\n", buf);
        fclose(w);
        assert_int_equal(pcl_cast_verify(f->path, KEY, sizeof(KEY) - 1,
                                         "test-key", &v), PCL_OK);
        assert_int_equal(v.state, PCL_CAST_SEAL_TAMPERED);
    }
}

/* Rewrites byte off of path to b. */
static void
poke(const char *path, long off, char b)
{
    int fd = open(path, O_WRONLY);

    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

static void
test_seal_verdicts(void **state)
{
    struct fixture *f = *state;
    struct pcl_cast *c;
    struct pcl_cast_verdict v;
    char seal[300];
    char chain[65];
    int i;

    c = open_cast(f->path, PCL_CAST_V2, false, true);
    for (i = 0; i < 100; i++) {
        assert_int_equal(pcl_cast_output(c, 1, (const uint8_t *)"line\r\n", 6,
                                         (uint64_t)i * 1000), PCL_OK);
    }
    pcl_cast_chain(c, chain);
    assert_int_equal(pcl_cast_close(c), PCL_OK);

    assert_int_equal(pcl_cast_verify(f->path, KEY, sizeof(KEY) - 1,
                                     "test-key", &v), PCL_OK);
    assert_int_equal(v.state, PCL_CAST_SEAL_VALID);
    assert_int_equal(v.lines, 101);
    assert_string_equal(v.chain, chain);

    /* Without the key: counts and chain check, MAC cannot. */
    assert_int_equal(pcl_cast_verify(f->path, NULL, 0, NULL, &v), PCL_OK);
    assert_int_equal(v.state, PCL_CAST_SEAL_KEY_UNKNOWN);

    /* A wrong key under the right id. */
    assert_int_equal(pcl_cast_verify(f->path, (const uint8_t *)"x", 1,
                                     "test-key", &v), PCL_OK);
    assert_int_equal(v.state, PCL_CAST_SEAL_TAMPERED);

    /* One byte of the data changed: "line" -> "fine". */
    poke(f->path, 300, 'f');
    assert_int_equal(pcl_cast_verify(f->path, KEY, sizeof(KEY) - 1,
                                     "test-key", &v), PCL_OK);
    assert_int_equal(v.state, PCL_CAST_SEAL_TAMPERED);

    /* No sidecar: unsealed, never valid. */
    snprintf(seal, sizeof(seal), "%s.seal", f->path);
    assert_int_equal(unlink(seal), 0);
    assert_int_equal(pcl_cast_verify(f->path, KEY, sizeof(KEY) - 1,
                                     "test-key", &v), PCL_OK);
    assert_int_equal(v.state, PCL_CAST_SEAL_UNSEALED);
}

/* A fresh key of type id (EVP_PKEY_ED25519, EVP_PKEY_EC) as PEM: the
 * private key into priv, the public key into pub (NUL-terminated). */
static void
make_pem(int id, char *priv, size_t privcap, char *pub, size_t pubcap)
{
    EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(id, NULL);
    EVP_PKEY *k = NULL;
    BIO *b;
    int n;

    assert_non_null(kc);
    assert_int_equal(EVP_PKEY_keygen_init(kc), 1);
    if (id == EVP_PKEY_EC) {
        assert_int_equal(
            EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kc, NID_X9_62_prime256v1),
            1);
    }
    assert_int_equal(EVP_PKEY_keygen(kc, &k), 1);
    b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL,
                                              NULL), 1);
    n = BIO_read(b, priv, (int)privcap - 1);
    assert_true(n > 0);
    priv[n] = '\0';
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
    n = BIO_read(b, pub, (int)pubcap - 1);
    assert_true(n > 0);
    pub[n] = '\0';
    BIO_free(b);
    EVP_PKEY_free(k);
    EVP_PKEY_CTX_free(kc);
}

/* Writes a short recording sealed with key (key file bytes). */
static int
write_sealed(const char *path, enum pcl_cast_format fmt, const char *key,
             char *why, size_t whylen)
{
    struct pcl_cast_params p;
    struct pcl_cast *c = NULL;
    int rc;
    int i;

    memset(&p, 0, sizeof(p));
    p.path = path;
    p.format = fmt;
    p.width = 80;
    p.height = 24;
    p.timestamp = 1700000000;
    p.seal_key = (const uint8_t *)key;
    p.seal_key_len = strlen(key);
    rc = pcl_cast_open(&p, &c, why, whylen);
    if (rc != PCL_OK) {
        return rc;
    }
    for (i = 0; i < 50; i++) {
        assert_int_equal(pcl_cast_output(c, 1, (const uint8_t *)"line\r\n", 6,
                                         (uint64_t)i * 1000), PCL_OK);
    }
    return pcl_cast_close(c);
}

static enum pcl_cast_seal_state
verify_with(const char *path, const char *key)
{
    struct pcl_cast_verdict v;
    char id[32];

    assert_int_equal(pcl_cast_key_id((const uint8_t *)key, strlen(key), id,
                                     sizeof(id)), PCL_OK);
    assert_int_equal(pcl_cast_verify(path, (const uint8_t *)key, strlen(key),
                                     id, &v), PCL_OK);
    return v.state;
}

/* Writes "to" over the first "from" in a file (from its first byte on;
 * "to" may be longer, then it overwrites what follows). */
static void
file_replace(const char *path, const char *from, const char *to)
{
    size_t len = 0;
    char *text = tu_slurp(path, &len);
    char *at;
    FILE *fp;

    assert_non_null(text);
    at = strstr(text, from);
    assert_non_null(at);
    memcpy(at, to, strlen(to));
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, len, fp), len);
    fclose(fp);
    free(text);
}

/*
 * Ed25519 seals: a PEM private key seals (alg "Ed25519", "sig"), the public
 * key alone verifies, key ids agree; another key, an edited file, a
 * forged algorithm are caught; keys other than Ed25519 are refused.
 */
static void
test_seal_ed25519(void **state)
{
    struct fixture *f = *state;
    static char priv[1024], pub[512], priv2[1024], pub2[512];
    static char ecpriv[1024], ecpub[512];
    char id_priv[32], id_pub[32];
    char seal[300];
    char why[256] = "";
    struct pcl_cast_verdict v;
    size_t len = 0;
    char *text;

    (void)state;
    make_pem(EVP_PKEY_ED25519, priv, sizeof(priv), pub, sizeof(pub));
    make_pem(EVP_PKEY_ED25519, priv2, sizeof(priv2), pub2, sizeof(pub2));
    make_pem(EVP_PKEY_EC, ecpriv, sizeof(ecpriv), ecpub, sizeof(ecpub));
    assert_int_equal(pcl_cast_key_id((const uint8_t *)priv, strlen(priv),
                                     id_priv, sizeof(id_priv)), PCL_OK);
    assert_int_equal(pcl_cast_key_id((const uint8_t *)pub, strlen(pub),
                                     id_pub, sizeof(id_pub)), PCL_OK);
    assert_string_equal(id_priv, id_pub);
    assert_int_equal(strlen(id_pub), 23);

    /* v2: the sidecar names the algorithm and carries a signature. */
    assert_int_equal(write_sealed(f->path, PCL_CAST_V2, priv, why,
                                  sizeof(why)), PCL_OK);
    snprintf(seal, sizeof(seal), "%s.seal", f->path);
    text = tu_slurp(seal, &len);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"alg\": \"Ed25519\""));
    assert_non_null(strstr(text, "\"sig\": \""));
    assert_null(strstr(text, "\"mac\""));
    assert_non_null(strstr(text, id_pub));
    free(text);
    assert_int_equal(verify_with(f->path, pub), PCL_CAST_SEAL_VALID);
    assert_int_equal(verify_with(f->path, priv), PCL_CAST_SEAL_VALID);
    assert_int_equal(verify_with(f->path, pub2), PCL_CAST_SEAL_KEY_UNKNOWN);
    assert_int_equal(verify_with(f->path, (const char *)KEY),
                     PCL_CAST_SEAL_KEY_UNKNOWN);
    /* Another public key presented under the sealing key's id. */
    assert_int_equal(pcl_cast_verify(f->path, (const uint8_t *)pub2,
                                     strlen(pub2), id_pub, &v), PCL_OK);
    assert_int_equal(v.state, PCL_CAST_SEAL_TAMPERED);
    /* The seal's algorithm is the key's, not what the seal says. */
    file_replace(seal, "\"alg\": \"Ed25519\"", "\"alg\": \"HMAC-SH\"");
    assert_int_equal(verify_with(f->path, pub), PCL_CAST_SEAL_TAMPERED);
    file_replace(seal, "\"alg\": \"HMAC-SH\"", "\"alg\": \"Ed25519\"");
    assert_int_equal(verify_with(f->path, pub), PCL_CAST_SEAL_VALID);
    /* One byte of the data changed. */
    poke(f->path, 200, 'f');
    assert_int_equal(verify_with(f->path, pub), PCL_CAST_SEAL_TAMPERED);

    /* v3: the seal is the comment line. */
    unlink(f->path);
    unlink(seal);
    assert_int_equal(write_sealed(f->path, PCL_CAST_V3, priv, why,
                                  sizeof(why)), PCL_OK);
    assert_int_equal(verify_with(f->path, pub), PCL_CAST_SEAL_VALID);
    /* The signature's first character changed (to 'A', or to 'B' when it
     * is an 'A' already: one signature in 64). */
    {
        size_t v3len = 0;
        char *v3 = tu_slurp(f->path, &v3len);
        char *at;

        assert_non_null(v3);
        at = strstr(v3, "\"sig\": \"");
        assert_non_null(at);
        file_replace(f->path, "\"sig\": \"",
                     at[8] == 'A' ? "\"sig\": \"B" : "\"sig\": \"A");
        free(v3);
    }
    assert_int_equal(verify_with(f->path, pub), PCL_CAST_SEAL_TAMPERED);

    /* HMAC keys keep their "mac". */
    unlink(f->path);
    assert_int_equal(write_sealed(f->path, PCL_CAST_V2, (const char *)KEY,
                                  why, sizeof(why)), PCL_OK);
    text = tu_slurp(seal, &len);
    assert_non_null(strstr(text, "\"alg\": \"HMAC-SHA256\""));
    assert_non_null(strstr(text, "\"mac\": \""));
    free(text);
    assert_int_equal(verify_with(f->path, (const char *)KEY),
                     PCL_CAST_SEAL_VALID);

    /* Refused: a public key to seal with, a key that is not Ed25519. */
    unlink(f->path);
    unlink(seal);
    assert_int_equal(write_sealed(f->path, PCL_CAST_V2, pub, why,
                                  sizeof(why)), PCL_ERR_INVAL);
    assert_non_null(strstr(why, "public key"));
    assert_int_equal(write_sealed(f->path, PCL_CAST_V2, ecpriv, why,
                                  sizeof(why)), PCL_ERR_INVAL);
    assert_non_null(strstr(why, "Ed25519"));
    assert_int_equal(pcl_cast_key_id((const uint8_t *)ecpub, strlen(ecpub),
                                     id_pub, sizeof(id_pub)), PCL_ERR_CRYPTO);
}

/*
 * Golden sealed recordings (tests/data/cast/sealed-*), made once by
 * portcullis-rec: the verifier must keep accepting them with the key
 * beside them (an Ed25519 public key, an HMAC key), and refuse them with
 * the other.
 */
static void
test_golden_seals(void **state)
{
    static const char dir[] = TEST_SRCDIR "/tests/data/cast";
    char path[512];
    size_t len = 0;
    char *pub;
    char *hmac;
    struct pcl_cast_verdict v;
    char id[32];

    (void)state;
    snprintf(path, sizeof(path), "%s/sealed-ed25519/public.pem", dir);
    pub = tu_slurp(path, &len);
    assert_non_null(pub);
    snprintf(path, sizeof(path), "%s/sealed-hmac/seal.key", dir);
    hmac = tu_slurp(path, &len);
    assert_non_null(hmac);
    snprintf(path, sizeof(path), "%s/sealed-ed25519/s.cast", dir);
    assert_int_equal(verify_with(path, pub), PCL_CAST_SEAL_VALID);
    assert_int_equal(verify_with(path, hmac), PCL_CAST_SEAL_KEY_UNKNOWN);
    snprintf(path, sizeof(path), "%s/sealed-ed25519/v3.cast", dir);
    assert_int_equal(verify_with(path, pub), PCL_CAST_SEAL_VALID);
    snprintf(path, sizeof(path), "%s/sealed-hmac/s.cast", dir);
    assert_int_equal(pcl_cast_key_id((const uint8_t *)hmac, len, id,
                                     sizeof(id)), PCL_OK);
    assert_int_equal(pcl_cast_verify(path, (const uint8_t *)hmac, len, id,
                                     &v), PCL_OK);
    assert_int_equal(v.state, PCL_CAST_SEAL_VALID);
    assert_int_equal(verify_with(path, pub), PCL_CAST_SEAL_KEY_UNKNOWN);
    free(pub);
    free(hmac);
}

static void
test_cut_short_is_unsealed(void **state)
{
    struct fixture *f = *state;
    struct pcl_cast *c;
    struct pcl_cast_verdict v;

    /* A session that dies: events flushed, never closed. */
    c = open_cast(f->path, PCL_CAST_V3, false, true);
    assert_int_equal(pcl_cast_output(c, 1, (const uint8_t *)"abc", 3, 1),
                     PCL_OK);
    pcl_cast_abort(c);
    assert_int_equal(pcl_cast_verify(f->path, KEY, sizeof(KEY) - 1,
                                     "test-key", &v), PCL_OK);
    assert_int_equal(v.state, PCL_CAST_SEAL_UNSEALED);
    assert_int_equal(v.lines, 2);
    /* The file exists already: never overwritten. */
    {
        struct pcl_cast_params p;
        struct pcl_cast *c2 = NULL;
        char why[256] = "";
        memset(&p, 0, sizeof(p));
        p.path = f->path;
        p.format = PCL_CAST_V2;
        assert_int_equal(pcl_cast_open(&p, &c2, why, sizeof(why)),
                         PCL_ERR_IO);
        assert_null(c2);
        assert_non_null(strstr(why, "File exists"));
    }
}

/* A file that cannot grow (a full disk, as RLIMIT_FSIZE makes one for
 * this process) makes the writer fail and stay failed: the caller ends the
 * session instead of letting data through unrecorded. */
static void
test_write_failure(void **state)
{
    struct fixture *f = *state;
    struct pcl_cast *c;
    struct rlimit saved;
    struct rlimit small;
    uint8_t buf[4096];
    int rc = PCL_OK;
    int i;

    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    small.rlim_cur = 8192; /* the soft limit only: it can be raised back */
    small.rlim_max = saved.rlim_max;
    signal(SIGXFSZ, SIG_IGN);
    c = open_cast(f->path, PCL_CAST_V2, false, true);
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    for (i = 0; i < 64 && rc == PCL_OK; i++) {
        rc = pcl_cast_output(c, 1, buf, sizeof(buf), (uint64_t)i);
        if (rc == PCL_OK) {
            rc = pcl_cast_flush(c, false);
        }
    }
    assert_int_equal(rc, PCL_ERR_IO);
    /* Failed for good: nothing more is accepted. */
    assert_int_equal(pcl_cast_marker(c, "x", 100), PCL_ERR_IO);
    assert_int_equal(pcl_cast_close(c), PCL_ERR_IO);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, SIG_DFL);
}

/* Unescapes \\r \\n \\t \\\\ and \\xHH of a golden events line into out;
 * returns the byte count. */
static size_t
unescape(const char *in, uint8_t *out)
{
    size_t n = 0;

    while (*in != '\0') {
        if (in[0] == '\\' && in[1] == 'x' && in[2] != '\0' && in[3] != '\0') {
            char hexs[3] = { in[2], in[3], '\0' };
            out[n++] = (uint8_t)strtoul(hexs, NULL, 16);
            in += 4;
        } else if (in[0] == '\\' && in[1] != '\0') {
            out[n++] = in[1] == 'r' ? '\r' : in[1] == 'n' ? '\n'
                     : in[1] == 't' ? '\t' : (uint8_t)in[1];
            in += 2;
        } else {
            out[n++] = (uint8_t)*in++;
        }
    }
    return n;
}

/*
 * Golden files (tests/data/cast/CASE/): "events" is a script of writer
 * calls, "expected.cast" the exact file they must produce. Lines: "format
 * 2|3", "streams", then "CODE STREAM T_US DATA" with CODE o (output), i
 * (input), r (resize COLSxROWS), m (marker), x (exit status), s (exit by
 * signal NAME). PCL_GOLDEN_UPDATE=1 writes missing expected files.
 */
static void
golden_case(const char *dir, const char *name, const char *out_path)
{
    char path[512];
    char line[1024];
    FILE *fp;
    struct pcl_cast_params p;
    struct pcl_cast *c = NULL;
    const struct pcl_cast_meta meta[] = { { "session_id", name } };
    char why[256] = "";
    char *got;
    char *want;
    size_t got_len = 0;
    size_t want_len = 0;

    memset(&p, 0, sizeof(p));
    p.path = out_path;
    p.format = PCL_CAST_V2;
    p.width = 80;
    p.height = 24;
    p.timestamp = 1700000000;
    p.meta = meta;
    p.nmeta = 1;
    p.flush_interval_ms = 1000;
    snprintf(path, sizeof(path), "%s/%s/events", dir, name);
    fp = fopen(path, "r");
    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "format ", 7) == 0) {
            p.format = line[7] == '3' ? PCL_CAST_V3 : PCL_CAST_V2;
        } else if (strcmp(line, "streams") == 0) {
            p.separate_streams = true;
        } else {
            char code;
            int stream;
            unsigned long long t;
            int off = 0;
            uint8_t data[1024];
            size_t n;
            int cols;
            int rows;

            if (c == NULL) {
                assert_int_equal(pcl_cast_open(&p, &c, why, sizeof(why)),
                                 PCL_OK);
            }
            assert_int_equal(sscanf(line, "%c %d %llu %n", &code, &stream, &t,
                                    &off), 3);
            n = unescape(line + off, data);
            data[n] = '\0';
            switch (code) {
            case 'o':
                assert_int_equal(pcl_cast_output(c, stream, data, n, t),
                                 PCL_OK);
                break;
            case 'i':
                assert_int_equal(pcl_cast_input(c, data, n, t), PCL_OK);
                break;
            case 'r':
                assert_int_equal(sscanf((char *)data, "%dx%d", &cols, &rows),
                                 2);
                assert_int_equal(pcl_cast_resize(c, cols, rows, t), PCL_OK);
                break;
            case 'm':
                assert_int_equal(pcl_cast_marker(c, (char *)data, t), PCL_OK);
                break;
            case 'x':
                assert_int_equal(pcl_cast_exit(c, atoi((char *)data), NULL,
                                               t), PCL_OK);
                break;
            case 's':
                assert_int_equal(pcl_cast_exit(c, -1, (char *)data, t),
                                 PCL_OK);
                break;
            default:
                fail_msg("%s: unknown code %c", path, code);
            }
        }
    }
    fclose(fp);
    assert_int_equal(pcl_cast_close(c), PCL_OK);

    got = tu_slurp(out_path, &got_len);
    assert_non_null(got);
    snprintf(path, sizeof(path), "%s/%s/expected.cast", dir, name);
    want = tu_slurp(path, &want_len);
    if (want == NULL && getenv("PCL_GOLDEN_UPDATE") != NULL) {
        fp = fopen(path, "w");
        assert_non_null(fp);
        fwrite(got, 1, got_len, fp);
        fclose(fp);
        free(got);
        return;
    }
    if (want == NULL) {
        fail_msg("%s missing (PCL_GOLDEN_UPDATE=1 writes it)", path);
    }
    if (got_len != want_len || memcmp(got, want, got_len) != 0) {
        fail_msg("%s: writer output differs from %s:\n%s", name, path, got);
    }
    free(got);
    free(want);
}

static void
test_golden(void **state)
{
    static const char *const cases[] = {
        "basic-v2", "utf8-split-v2", "invalid-v2", "streams-v2", "v3-signal",
        "input-v2",
    };
    struct fixture *f = *state;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unlink(f->path);
        golden_case(TEST_SRCDIR "/tests/data/cast", cases[i], f->path);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_utf8_every_split, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_invalid_bytes_and_nul, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_large_random, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escape_reference, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_escape_every_byte, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_streams_exit_markers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_v3_exit_and_intervals, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_seal_verdicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_short_is_unsealed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_write_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_golden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seal_ed25519, setup, teardown),
        cmocka_unit_test(test_golden_seals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
