/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the webhook bodies (json-c: parsed back, escapes, bytes
 * that are not UTF-8; Slack's text with &, <, > escaped and control
 * characters replaced) and of a post that cannot succeed: plain http
 * refused, a closed port (22499, in this branch's test range) reported
 * after the retries. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "portcullis/err.h"
#include "portcullis/webhook.h"

static const struct pcl_webhook_msg msg = {
    .id = "k3m9x2qa",
    .user = "alice",
    .target = "db01",
    .account = "postgres",
    .command = "rm -rf <dir> & \"x\"",
    .reason = "disk \x1b[31mfull\xff \"quoted\"\n",
    .required = 2,
    .created = 1795996800,
    .expires = 1795997700,
    .bastion = "bastion1",
};

static const char *
get(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;

    if (!json_object_object_get_ex(o, key, &v) || v == NULL) {
        return NULL;
    }
    return json_object_get_string(v);
}

static void
test_json(void **state)
{
    char *body = pcl_webhook_body(&msg, PCL_WEBHOOK_JSON);
    struct json_object *o;
    struct json_object *req = NULL;

    (void)state;
    assert_non_null(body);
    o = json_tokener_parse(body);
    assert_non_null(o);
    assert_string_equal(get(o, "event"), "approval-request");
    assert_string_equal(get(o, "id"), "k3m9x2qa");
    assert_string_equal(get(o, "command"), "rm -rf <dir> & \"x\"");
    /* The invalid byte became U+FFFD; ESC and the newline survive as
     * JSON escapes, so the body itself holds no control character. */
    assert_string_equal(get(o, "reason"),
                        "disk \x1b[31mfull\xef\xbf\xbd \"quoted\"\n");
    assert_non_null(strstr(body, "\\u001b[31m"));
    for (const char *p = body; *p != '\0'; p++) {
        assert_true((unsigned char)*p >= 0x20);
    }
    assert_string_equal(get(o, "created"), "2026-11-30T00:00:00Z");
    assert_string_equal(get(o, "expires"), "2026-11-30T00:15:00Z");
    assert_string_equal(get(o, "approve"), "ssh bastion1 approve k3m9x2qa");
    assert_true(json_object_object_get_ex(o, "required", &req));
    assert_int_equal(json_object_get_int(req), 2);
    json_object_put(o);
    free(body);
}

static void
test_json_no_command(void **state)
{
    struct pcl_webhook_msg m = msg;
    struct json_object *o;
    struct json_object *v = (struct json_object *)1;
    char *body;

    (void)state;
    m.command = NULL;
    body = pcl_webhook_body(&m, PCL_WEBHOOK_JSON);
    o = json_tokener_parse(body);
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "command", &v));
    assert_null(v); /* null, as documented */
    json_object_put(o);
    free(body);
}

static void
test_slack(void **state)
{
    char *body = pcl_webhook_body(&msg, PCL_WEBHOOK_SLACK);
    struct json_object *o;
    const char *text;

    (void)state;
    assert_non_null(body);
    o = json_tokener_parse(body);
    assert_non_null(o);
    assert_int_equal(json_object_object_length(o), 1);
    text = get(o, "text");
    assert_non_null(text);
    assert_non_null(strstr(text, "alice asks for postgres@db01"));
    assert_non_null(strstr(text, "rm -rf &lt;dir&gt; &amp; \"x\""));
    assert_non_null(strstr(text, "disk ?[31mfull"));
    assert_non_null(strstr(text, "To approve: ssh bastion1 approve "
                                 "k3m9x2qa"));
    for (const char *p = text; *p != '\0'; p++) {
        assert_true((unsigned char)*p >= 0x20);
    }
    json_object_put(o);
    free(body);
}

static void
test_post_fails(void **state)
{
    struct pcl_webhook_params http = {
        "http://127.0.0.1:22499/hook", NULL, 2, 0,
    };
    struct pcl_webhook_params closed = {
        "https://127.0.0.1:22499/hook", NULL, 2, 1,
    };
    char why[256] = "";

    (void)state;
    assert_int_equal(pcl_webhook_post(&http, "{}", why, sizeof(why)),
                     PCL_ERR_CONNECT);
    assert_true(why[0] != '\0');
    why[0] = '\0';
    assert_int_equal(pcl_webhook_post(&closed, "{}", why, sizeof(why)),
                     PCL_ERR_CONNECT);
    assert_true(why[0] != '\0');
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_json_no_command),
        cmocka_unit_test(test_slack),
        cmocka_unit_test(test_post_fails),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
