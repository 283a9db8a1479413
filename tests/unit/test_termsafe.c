/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the terminal-safety filter of portcullis-replay: a table
 * of recorded bytes and what may reach the analyst's terminal, fed whole
 * and one byte at a time (sequences cut between events). */
#include "config.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "portcullis/err.h"
#include "portcullis/termsafe.h"

struct tcase {
    const char *name;
    const char *in;
    const char *out;
    unsigned long dropped;
};

static const struct tcase cases[] = {
    { "plain text", "hello\r\n", "hello\r\n", 0 },
    { "SGR colours", "\033[1;31mred\033[0m", "\033[1;31mred\033[0m", 0 },
    { "cursor moves and erase", "\033[2J\033[H\033[5;10Hx\033[K",
      "\033[2J\033[H\033[5;10Hx\033[K", 0 },
    { "UTF-8 kept", "caf\xc3\xa9 \xe2\x9c\x93 \xc4\x81", "caf\xc3\xa9 \xe2\x9c\x93 \xc4\x81", 0 },
    { "title (OSC 0, BEL)", "a\033]0;EVIL\007b", "ab", 1 },
    { "title (OSC 2, ST)", "a\033]2;EVIL\033\\b", "ab", 1 },
    { "OSC 52 clipboard", "\033]52;c;ZXZpbA==\007x", "x", 1 },
    { "OSC 8 link, text kept", "\033]8;;http://e/\007link\033]8;;\007",
      "link", 2 },
    { "DCS (DECRQSS, XTGETTCAP)", "\033P$qm\033\\\033P+q544e\033\\ok", "ok", 2 },
    { "APC, PM, SOS", "\033_apc\033\\\033^pm\033\\\033Xsos\033\\z", "z", 3 },
    { "DSR and CPR requests", "\033[5n\033[6n\033[?6nq", "q", 3 },
    { "device attributes", "\033[c\033[0c\033[>c\033[=cq", "q", 4 },
    { "DECRQM", "\033[?2004$p\033[4$pq", "q", 2 },
    { "window ops and reports", "\033[8;100;200t\033[21t\033[14tq", "q", 3 },
    { "XTVERSION", "\033[>0qq", "q", 1 },
    { "DECSCUSR kept", "\033[2 q", "\033[2 q", 0 },
    { "DECID", "\033Zq", "q", 1 },
    { "screen/tmux title (ESC k)", "\033kEVIL\033\\q", "q", 1 },
    { "ENQ answerback", "a\005b", "ab", 1 },
    { "mouse modes removed, others kept", "\033[?1000;25;1006h",
      "\033[?25h", 2 },
    { "only mouse: dropped", "\033[?1003h", "", 1 },
    { "bracketed paste and focus", "\033[?2004h\033[?1004l", "", 2 },
    { "alternate screen kept", "\033[?1049h\033[?1049l",
      "\033[?1049h\033[?1049l", 0 },
    { "keyboard lock, local echo", "\033[2h\033[12h\033[4h", "\033[4h", 2 },
    { "C1 CSI in UTF-8", "\xc2\x9b" "6n" "x", "6nx", 1 },
    { "C1 OSC string in UTF-8", "\xc2\x9d" "0;T\007x", "x", 1 },
    /* fuzz_termsafe: a lone 0xc2 is dropped, so that dropping what
     * follows it cannot join it to a later byte into a C1 control. */
    { "lone 0xc2, control, 0x9d", "a\xc2\x01\x9d" "0;T\007b", "a\x9d" "0;T\007b",
      2 },
    { "lone 0xc2, OSC, 0x9e", "\xc2\033]0;t\007\x9eq", "\x9eq", 2 },
    /* fuzz_termsafe (UBSan): a long mode number neither overflows nor
     * wraps into a mode that acts. */
    { "overlong mode number", "\033[?1000000000000000000000000000l\033[?25hq",
      "\033[?25hq", 1 },
    { "0xc2 with a continuation kept", "\xc2\xa9 x", "\xc2\xa9 x", 0 },
    { "charset designation kept", "\033(0q\033(B", "\033(0q\033(B", 0 },
    { "media copy", "\033[5i\033[4iq", "q", 2 },
    { "CAN aborts a CSI", "\033[12\030x", "x", 0 },
    { "overlong CSI dropped",
      "\033[1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1mx",
      "x", 1 },
    { "key modifiers", "\033[>4;1m\033[>1fq", "q", 2 },
    /* Out of UTF-8, U+06DB (db 9b) would end in an 8-bit CSI. */
    { "DOCS (leave or enter UTF-8)", "\033%@\xdb\x9b" "6n\033%Gx",
      "\xdb\x9b" "6nx", 2 },
    /* BEL ends an OSC, not a DCS: "$qm" must not leave as a request. */
    { "BEL inside a DCS", "\033P$q\007m\033\\ok", "ok", 1 },
    { "BEL inside APC", "\033_a\007b\033\\ok", "ok", 1 },
    { "DEC locator reports", "\033[1;1'z\033[1'{\033['|q", "q", 3 },
};

static void
run(const struct tcase *c, bool bytewise)
{
    struct pcl_termsafe *t = NULL;
    uint8_t out[1024];
    size_t n = 0;
    size_t len = strlen(c->in);

    assert_int_equal(pcl_termsafe_new(&t), PCL_OK);
    if (bytewise) {
        for (size_t i = 0; i < len; i++) {
            n += pcl_termsafe_feed(t, (const uint8_t *)c->in + i, 1, out + n);
        }
    } else {
        n = pcl_termsafe_feed(t, (const uint8_t *)c->in, len, out);
    }
    if (n != strlen(c->out) || memcmp(out, c->out, n) != 0) {
        print_error("case '%s' (%s): got %zu bytes\n", c->name,
                    bytewise ? "bytewise" : "whole", n);
        fail();
    }
    if (pcl_termsafe_dropped(t) != c->dropped) {
        print_error("case '%s': dropped %lu, expected %lu\n", c->name,
                    pcl_termsafe_dropped(t), c->dropped);
        fail();
    }
    pcl_termsafe_free(t);
}

static void
test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run(&cases[i], false);
        run(&cases[i], true);
    }
}

/* Never more out than in plus what a held sequence can add. */
static void
test_bound(void **state)
{
    struct pcl_termsafe *t = NULL;
    uint8_t in[4096];
    uint8_t out[4096 + PCL_TERMSAFE_HOLD];
    uint32_t x = 12345;

    (void)state;
    assert_int_equal(pcl_termsafe_new(&t), PCL_OK);
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof(in); i++) {
            x = x * 1103515245 + 12345;
            in[i] = (uint8_t)(x >> 16);
            if (in[i] % 7 == 0) {
                in[i] = 0x1b;
            }
        }
        size_t len = 1 + (x % sizeof(in));
        assert_true(pcl_termsafe_feed(t, in, len, out) <=
                    len + PCL_TERMSAFE_HOLD);
    }
    pcl_termsafe_free(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_bound),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
