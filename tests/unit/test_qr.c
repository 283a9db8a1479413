/* SPDX-License-Identifier: BSD-2-Clause */
/* The QR code of the sign-in prompt, checked by an independent decoder:
 * the drawn text is read back into modules, written as a PBM image and
 * decoded by zbarimg (zbar-tools), which must give the URI back. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "portcullis/err.h"
#include "portcullis/qr.h"

#define SCALE 4
#define MAXSIDE 200

/* Reads the drawing back: light[y][x] for each module. Returns the side. */
static int
read_back(const char *s, unsigned char light[MAXSIDE][MAXSIDE])
{
    int x = 0, y = 0, side = 0;

    while (*s != '\0') {
        int top = 0, bottom = 0;
        if (*s == '\n') {
            side = x > side ? x : side;
            x = 0;
            y += 2;
            s++;
            continue;
        }
        if (*s == ' ') {
            s++;
        } else if (strncmp(s, "\xe2\x96\x88", 3) == 0) {
            top = bottom = 1;
            s += 3;
        } else if (strncmp(s, "\xe2\x96\x80", 3) == 0) {
            top = 1;
            s += 3;
        } else if (strncmp(s, "\xe2\x96\x84", 3) == 0) {
            bottom = 1;
            s += 3;
        } else {
            fail_msg("unexpected byte 0x%02x in the drawing", *s & 0xff);
        }
        assert_true(x < MAXSIDE && y + 1 < MAXSIDE);
        light[y][x] = (unsigned char)top;
        light[y + 1][x] = (unsigned char)bottom;
        x++;
    }
    return side;
}

static void
test_decodes(void **state)
{
    static unsigned char light[MAXSIDE][MAXSIDE];
    const char *uri = "https://idp.example.test/device?user_code=BCDF-GHJK";
    char pbm[] = "/tmp/pcl-qr.XXXXXX";
    char cmd[128], got[512] = "";
    char *s = NULL;
    FILE *fp;
    int fd, side, x, y;

    (void)state;
    assert_int_equal(pcl_qr_render(uri, &s), PCL_OK);
    print_message("%s", s);
    memset(light, 1, sizeof(light));
    side = read_back(s, light);
    assert_true(side >= 21 + 4);
    /* the quiet zone is light all round */
    for (x = 0; x < side; x++) {
        assert_int_equal(light[0][x], 1);
        assert_int_equal(light[1][x], 1);
    }
    fd = mkstemp(pbm);
    assert_true(fd >= 0);
    fp = fdopen(fd, "w");
    assert_non_null(fp);
    /* PBM: 1 is black, a dark module */
    fprintf(fp, "P1\n%d %d\n", side * SCALE, side * SCALE);
    for (y = 0; y < side * SCALE; y++) {
        for (x = 0; x < side * SCALE; x++) {
            fputs(light[y / SCALE][x / SCALE] ? "0 " : "1 ", fp);
        }
        fputc('\n', fp);
    }
    fclose(fp);
    snprintf(cmd, sizeof(cmd), "zbarimg -q --raw %s 2>/dev/null", pbm);
    fp = popen(cmd, "r");
    assert_non_null(fp);
    if (fgets(got, sizeof(got), fp) == NULL) {
        got[0] = '\0';
    }
    pclose(fp);
    unlink(pbm);
    got[strcspn(got, "\n")] = '\0';
    assert_string_equal(got, uri);
    free(s);
}

static void
test_too_long(void **state)
{
    char *big = malloc(5000);
    char *s = NULL;

    (void)state;
    memset(big, 'a', 4999);
    big[4999] = '\0';
    assert_int_equal(pcl_qr_render(big, &s), PCL_ERR_TOOBIG);
    assert_null(s);
    free(big);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decodes),
        cmocka_unit_test(test_too_long),
    };

    if (system("command -v zbarimg >/dev/null") != 0) {
        fprintf(stderr, "test_qr: zbarimg (zbar-tools) not installed\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
