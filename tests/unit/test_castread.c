/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the asciicast reader (v2, v3, asciinema's files, growing
 * files, malformed lines), its time index, the player's time syntax and
 * the escaping of untrusted metadata. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "portcullis/castread.h"
#include "portcullis/err.h"
#include "portcullis/replay.h"
#include "portcullis/sessquery.h"
#include "testutil.h"

static char dir[64];

static int
setup(void **state)
{
    (void)state;
    return tu_mkdtemp(dir, sizeof(dir));
}

static int
teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct pcl_castread *
open_text(const char *name, const char *text, int want)
{
    char path[256];
    char why[256] = "";
    struct pcl_castread *r = NULL;

    assert_int_equal(tu_write(dir, name, text, 0600, path, sizeof(path)), 0);
    assert_int_equal(pcl_castread_open(path, &r, why, sizeof(why)), want);
    return r;
}

static void
test_v2(void **state)
{
    struct pcl_castread_event ev;
    struct pcl_castread *r;
    char why[256];

    (void)state;
    r = open_text("v2.cast",
                  "{\"version\": 2, \"width\": 100, \"height\": 30, "
                  "\"idle_time_limit\": 1.5, \"env\": {\"TERM\": \"xterm\"}}\n"
                  "[0.5, \"o\", \"a\\u0000b\\r\\n\"]\r\n"
                  "\n"
                  "[0.25, \"o\", \"earlier\"]\n"
                  "[1, \"r\", \"80x24\"]\n",
                  PCL_OK);
    assert_int_equal(pcl_castread_header(r)->cols, 100);
    assert_int_equal(pcl_castread_header(r)->rows, 30);
    assert_string_equal(pcl_castread_header(r)->term, "xterm");
    assert_true(pcl_castread_header(r)->idle_time_limit == 1.5);
    assert_int_equal(pcl_castread_next(r, &ev, why, sizeof(why)), 1);
    assert_int_equal(ev.t_us, 500000);
    assert_int_equal(ev.code, 'o');
    assert_int_equal(ev.len, 5);
    assert_memory_equal(ev.data, "a\0b\r\n", 5);
    /* A time going back is raised to the previous one, as players do. */
    assert_int_equal(pcl_castread_next(r, &ev, why, sizeof(why)), 1);
    assert_int_equal(ev.t_us, 500000);
    assert_int_equal(pcl_castread_next(r, &ev, why, sizeof(why)), 1);
    assert_int_equal(ev.code, 'r');
    int c = 0;
    int w = 0;
    assert_int_equal(pcl_castread_parse_size(ev.data, ev.len, &c, &w),
                     PCL_OK);
    assert_int_equal(c, 80);
    assert_int_equal(w, 24);
    assert_int_equal(pcl_castread_next(r, &ev, why, sizeof(why)), 0);
    pcl_castread_free(r);
}

static void
test_v3(void **state)
{
    struct pcl_castread_event ev;
    struct pcl_castread *r;
    char why[256];

    (void)state;
    r = open_text("v3.cast",
                  "{\"version\": 3, \"term\": {\"cols\": 90, \"rows\": 20, "
                  "\"type\": \"xterm-256color\"}}\n"
                  "# a comment\n"
                  "[0.5, \"o\", \"x\"]\n"
                  "[0.25, \"o\", \"y\"]\n"
                  "[1.0, \"x\", \"0\"]\n"
                  "# {\"portcullis-seal\": 1}\n",
                  PCL_OK);
    assert_int_equal(pcl_castread_header(r)->version, 3);
    assert_int_equal(pcl_castread_header(r)->cols, 90);
    assert_string_equal(pcl_castread_header(r)->term, "xterm-256color");
    assert_int_equal(pcl_castread_next(r, &ev, why, sizeof(why)), 1);
    assert_int_equal(ev.t_us, 500000);
    assert_int_equal(pcl_castread_next(r, &ev, why, sizeof(why)), 1);
    assert_int_equal(ev.t_us, 750000); /* intervals are summed */
    assert_int_equal(pcl_castread_next(r, &ev, why, sizeof(why)), 1);
    assert_int_equal(ev.code, 'x');
    assert_int_equal(ev.t_us, 1750000);
    assert_false(pcl_castread_sealed(r));
    assert_int_equal(pcl_castread_next(r, &ev, why, sizeof(why)), 0);
    assert_true(pcl_castread_sealed(r));
    pcl_castread_free(r);
}

static void
test_bad(void **state)
{
    struct pcl_castread_event ev;
    struct pcl_castread *r;
    char why[256];

    (void)state;
    assert_null(open_text("v1.cast", "{\"version\": 1, \"stdout\": []}\n",
                          PCL_ERR_SYNTAX));
    assert_null(open_text("nohdr.cast", "[0.1, \"o\", \"x\"]\n",
                          PCL_ERR_SYNTAX));
    assert_null(open_text("empty.cast", "", PCL_ERR_SYNTAX));
    /* asciinema writes 0x0 when it cannot read the size: 80x24 */
    r = open_text("zero.cast",
                  "{\"version\": 2, \"width\": 0, \"height\": 0}\n", PCL_OK);
    assert_int_equal(pcl_castread_header(r)->cols, 80);
    assert_int_equal(pcl_castread_header(r)->rows, 24);
    pcl_castread_free(r);
    r = open_text("badev.cast",
                  "{\"version\": 2, \"width\": 80, \"height\": 24}\n"
                  "[-1, \"o\", \"x\"]\n",
                  PCL_OK);
    assert_int_equal(pcl_castread_next(r, &ev, why, sizeof(why)),
                     PCL_ERR_SYNTAX);
    assert_non_null(strstr(why, "line 2"));
    pcl_castread_free(r);
    r = open_text("notarray.cast",
                  "{\"version\": 2, \"width\": 80, \"height\": 24}\n"
                  "{\"o\": 1}\n",
                  PCL_OK);
    assert_int_equal(pcl_castread_next(r, &ev, why, sizeof(why)),
                     PCL_ERR_SYNTAX);
    pcl_castread_free(r);
}

/* A last line without its LF is kept back until it is complete. */
static void
test_growing(void **state)
{
    struct pcl_castread_event ev;
    struct pcl_castread *r;
    char path[256];
    char why[256];
    FILE *fp;

    (void)state;
    r = open_text("grow.cast",
                  "{\"version\": 2, \"width\": 80, \"height\": 24}\n"
                  "[0.1, \"o\", \"one\"]\n[0.2, \"o\", \"tw",
                  PCL_OK);
    assert_int_equal(pcl_castread_next(r, &ev, why, sizeof(why)), 1);
    assert_int_equal(pcl_castread_next(r, &ev, why, sizeof(why)), 0);
    snprintf(path, sizeof(path), "%s/grow.cast", dir);
    fp = fopen(path, "a");
    assert_non_null(fp);
    fputs("o\"]\n", fp);
    fclose(fp);
    assert_int_equal(pcl_castread_next(r, &ev, why, sizeof(why)), 1);
    assert_int_equal(ev.len, 3);
    assert_memory_equal(ev.data, "two", 3);
    pcl_castread_free(r);
}

/* The index: marks at line starts with the time before and the size in
 * force; the reader's own position does not move. */
static void
test_locate(void **state)
{
    struct pcl_castread_event ev;
    struct pcl_castread_mark at;
    struct pcl_castread *r;
    char path[256];
    char why[256];
    uint64_t end = 0;
    FILE *fp;
    int i;

    (void)state;
    snprintf(path, sizeof(path), "%s/big.cast", dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("{\"version\": 2, \"width\": 80, \"height\": 24}\n", fp);
    for (i = 0; i < 20000; i++) {
        if (i == 10000) {
            fprintf(fp, "[%d.0, \"r\", \"120x40\"]\n", i);
        } else {
            fprintf(fp, "[%d.0, \"o\", \"line %06d ....................\"]\n",
                    i, i);
        }
    }
    fclose(fp);
    assert_int_equal(pcl_castread_open(path, &r, why, sizeof(why)), PCL_OK);
    assert_int_equal(pcl_castread_next(r, &ev, why, sizeof(why)), 1);
    assert_int_equal(pcl_castread_locate(r, 0, 0, &at, &end), PCL_OK);
    assert_int_equal(end, 19999000000ULL);
    assert_int_equal(at.t_us, 0);
    assert_int_equal(at.cols, 80);
    assert_int_equal(pcl_castread_locate(r, 15000000000ULL, 0, &at, NULL),
                     PCL_OK);
    assert_true(at.t_us <= 15000000000ULL);
    assert_true(at.t_us > 14000000000ULL);
    assert_int_equal(at.cols, 120);
    assert_int_equal(at.rows, 40);
    /* the reader goes on where it was */
    assert_int_equal(pcl_castread_next(r, &ev, why, sizeof(why)), 1);
    assert_int_equal(ev.t_us, 1000000);
    /* and reads from a mark */
    assert_int_equal(pcl_castread_seek(r, at.offset, at.t_us), PCL_OK);
    assert_int_equal(pcl_castread_next(r, &ev, why, sizeof(why)), 1);
    assert_true(ev.t_us >= at.t_us);
    assert_true(ev.t_us - at.t_us <= 1000000);
    /* a window reaches back */
    struct pcl_castread_mark back;
    assert_int_equal(pcl_castread_locate(r, 15000000000ULL, 200000, &back,
                                         NULL),
                     PCL_OK);
    assert_true(at.offset - back.offset >= 200000);
    pcl_castread_free(r);
}

/* Random lines after a valid header: every call returns an event, the
 * end, or an error; never a crash (ASan builds check the memory). */
static void
test_garbage(void **state)
{
    static const char *const pieces[] = {
        "[", "]", "\"", "\\u", "\\ud800", "0.5", "-1", "1e999", ",",
        " ", "\"o\"", "\"r\"", "\"x\"", "{", "}", "null", "\"80x24\"",
        "\\", "#", "\xff", "\xc3", "\t", "999999999999999999999",
    };
    struct pcl_castread_event ev;
    struct pcl_castread_mark at;
    char path[256];
    char why[256];
    uint32_t x = 7;
    int round;

    (void)state;
    snprintf(path, sizeof(path), "%s/garbage.cast", dir);
    for (round = 0; round < 50; round++) {
        struct pcl_castread *r = NULL;
        FILE *fp = fopen(path, "w");
        int i;
        int rc;

        assert_non_null(fp);
        fputs(round % 2 ? "{\"version\": 3, \"term\": {\"cols\": 5, "
                          "\"rows\": 2}}\n"
                        : "{\"version\": 2, \"width\": 5, \"height\": 2}\n",
              fp);
        for (i = 0; i < 200; i++) {
            int k;
            int n;
            x = x * 1103515245 + 12345;
            n = (int)(x >> 16) % 8;
            for (k = 0; k < n; k++) {
                x = x * 1103515245 + 12345;
                fputs(pieces[(x >> 16) % (sizeof(pieces) / sizeof(pieces[0]))],
                      fp);
            }
            fputc('\n', fp);
        }
        fclose(fp);
        assert_int_equal(pcl_castread_open(path, &r, why, sizeof(why)),
                         PCL_OK);
        (void)pcl_castread_locate(r, 1000000, 100, &at, NULL);
        do {
            rc = pcl_castread_next(r, &ev, why, sizeof(why));
        } while (rc == 1 || rc == PCL_ERR_SYNTAX);
        assert_int_equal(rc, 0);
        pcl_castread_free(r);
    }
}

static void
test_times(void **state)
{
    uint64_t us = 0;
    char buf[32];

    (void)state;
    assert_int_equal(pcl_replay_parse_time("90", &us), PCL_OK);
    assert_int_equal(us, 90000000);
    assert_int_equal(pcl_replay_parse_time("12.5", &us), PCL_OK);
    assert_int_equal(us, 12500000);
    assert_int_equal(pcl_replay_parse_time("01:30", &us), PCL_OK);
    assert_int_equal(us, 90000000);
    assert_int_equal(pcl_replay_parse_time("01:02:03.250", &us), PCL_OK);
    assert_int_equal(us, 3723250000ULL);
    assert_int_equal(pcl_replay_parse_time("1:60", &us), PCL_ERR_SYNTAX);
    assert_int_equal(pcl_replay_parse_time("-1", &us), PCL_ERR_SYNTAX);
    assert_int_equal(pcl_replay_parse_time("1.5:00", &us), PCL_ERR_SYNTAX);
    assert_int_equal(pcl_replay_parse_time("", &us), PCL_ERR_SYNTAX);
    assert_int_equal(pcl_replay_parse_time("1:2:3:4", &us), PCL_ERR_SYNTAX);
    pcl_replay_format_time(3723250000ULL, buf, sizeof(buf));
    assert_string_equal(buf, "01:02:03.250");
}

static void
test_escape(void **state)
{
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        { "plain", "plain" },
        { "caf\xc3\xa9", "caf\xc3\xa9" },
        { "a\033]0;T\007b", "a\\x1b]0;T\\x07b" },
        { "back\\slash", "back\\\\slash" },
        { "c1 \xc2\x9b", "c1 \\xc2\\x9b" },
        { "bad \xff\xc3", "bad \\xff\\xc3" },
        { "del\x7f", "del\\x7f" },
        { "tab\tnl\n", "tab\\x09nl\\x0a" },
    };
    char buf[128];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_string_equal(pcl_sessquery_escape(cases[i].in, buf,
                                                 sizeof(buf)),
                            cases[i].out);
    }
    assert_string_equal(pcl_sessquery_escape(NULL, buf, sizeof(buf)), "-");
    /* cut on a whole escape, always terminated */
    assert_string_equal(pcl_sessquery_escape("ab\033", buf, 5), "ab");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v2),
        cmocka_unit_test(test_v3),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_growing),
        cmocka_unit_test(test_locate),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_escape),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
