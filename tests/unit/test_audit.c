/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the event emitter: one strict JSON object per line, every
 * untrusted value escaped and valid UTF-8, files it must refuse. */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "portcullis/audit.h"
#include "portcullis/err.h"
#include "testutil.h"

struct value_case {
    const char *in;
    const char *out; /* what a JSON parser must read back */
};

static const struct value_case values[] = {
    { "plain", "plain" },
    { "with space and \"quotes\" and = sign", "with space and \"quotes\" "
                                               "and = sign" },
    { "new\nline\ttab\r", "new\nline\ttab\r" },
    { "esc\x1b]0;title\x07", "esc\x1b]0;title\x07" },
    { "caf\xc3\xa9", "caf\xc3\xa9" },
    { "bad\xff\xfe", "bad\xef\xbf\xbd\xef\xbf\xbd" },
    { "cut\xe2\x82", "cut\xef\xbf\xbd\xef\xbf\xbd" },
    { "overlong\xc0\xaf", "overlong\xef\xbf\xbd\xef\xbf\xbd" },
    { "surrogate\xed\xa0\x80", "surrogate\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
    { "emoji\xf0\x9f\x94\x92", "emoji\xf0\x9f\x94\x92" },
};

static void
test_values_round_trip(void **state)
{
    char dir[64];
    char path[256];
    struct pcl_audit *a = NULL;
    FILE *fp;
    char line[4096];
    size_t i;

    (void)state;
    assert_int_equal(tu_mkdtemp(dir, sizeof(dir)), 0);
    assert_int_equal(tu_write(dir, "audit.json", "", 0660, path,
                              sizeof(path)), 0);
    assert_int_equal(pcl_audit_open(path, false, &a), PCL_OK);
    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        const struct pcl_audit_field f[] = {
            { "command", values[i].in },
            { "skipped", NULL },
        };
        assert_int_equal(pcl_audit_emit(a, "decision", f, 2), PCL_OK);
    }
    pcl_audit_close(a);

    fp = fopen(path, "r");
    assert_non_null(fp);
    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        json_object *obj;
        json_object *v;
        size_t len;

        assert_non_null(fgets(line, sizeof(line), fp));
        len = strlen(line);
        assert_true(len > 0 && line[len - 1] == '\n');
        /* One event per line: no raw control character inside. */
        assert_null(memchr(line, '\n', len - 1));
        assert_null(memchr(line, '\x1b', len));
        obj = json_tokener_parse(line);
        assert_non_null(obj);
        assert_true(json_object_object_get_ex(obj, "command", &v));
        assert_string_equal(json_object_get_string(v), values[i].out);
        assert_false(json_object_object_get_ex(obj, "skipped", &v));
        assert_true(json_object_object_get_ex(obj, "event", &v));
        assert_string_equal(json_object_get_string(v), "decision");
        assert_true(json_object_object_get_ex(obj, "time", &v));
        assert_int_equal(strlen(json_object_get_string(v)),
                         strlen("2026-01-01T00:00:00.000Z"));
        json_object_put(obj);
    }
    assert_null(fgets(line, sizeof(line), fp));
    fclose(fp);
    tu_rmtree(dir);
}

static void
test_refused_logs(void **state)
{
    char dir[64];
    char path[256];
    struct pcl_audit *a = NULL;

    (void)state;
    assert_int_equal(tu_mkdtemp(dir, sizeof(dir)), 0);
    /* Never created by the emitter. */
    snprintf(path, sizeof(path), "%s/missing.json", dir);
    assert_int_equal(pcl_audit_open(path, false, &a), PCL_ERR_SYSTEM);
    assert_null(a);
    assert_int_equal(access(path, F_OK), -1);
    /* Writable by others: refused. */
    assert_int_equal(tu_write(dir, "open.json", "", 0666, path,
                              sizeof(path)), 0);
    assert_int_equal(pcl_audit_open(path, false, &a), PCL_ERR_PERM);
    assert_null(a);
    /* No sinks at all is allowed, and emitting to NULL is a no-op. */
    assert_int_equal(pcl_audit_open(NULL, false, &a), PCL_OK);
    assert_int_equal(pcl_audit_emit(a, "x", NULL, 0), PCL_OK);
    pcl_audit_close(a);
    assert_int_equal(pcl_audit_emit(NULL, "x", NULL, 0), PCL_OK);
    tu_rmtree(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_round_trip),
        cmocka_unit_test(test_refused_logs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
