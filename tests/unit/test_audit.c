/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the event emitter: one strict JSON object per line, every
 * untrusted value escaped and valid UTF-8, files it must refuse; Linux
 * audit records through a stand-in for libaudit's calls: libaudit's
 * encoding of every value, the record type and result of each event, a
 * kernel without audit, a kernel that refuses, and [audit] required. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <libaudit.h>

#include "portcullis/audit.h"
#include "portcullis/err.h"
#include "portcullis/log.h"
#include "testutil.h"

/* ------------------------------------------------------------ fake kernel */

#define MAX_RECORDS 16

/* What the stand-in for libaudit saw and what it answers. */
struct fake_kernel {
    int open_errno;        /* audit_open() fails with this, or 0 */
    int send_errno;        /* the kernel refuses with this, or 0 */
    int opened;
    int closed;
    size_t nrecords;
    struct {
        int type;
        int result;
        char addr[64];
        char message[8192];
    } rec[MAX_RECORDS];
};

static int
fake_open(void *ctx)
{
    struct fake_kernel *k = ctx;

    k->opened++;
    if (k->open_errno != 0) {
        errno = k->open_errno;
        return -1;
    }
    return 1000; /* never a real descriptor: close() would fail */
}

static int
fake_send(void *ctx, int fd, int type, const char *message, const char *addr,
          int result)
{
    struct fake_kernel *k = ctx;

    assert_int_equal(fd, 1000);
    if (k->send_errno != 0) {
        errno = k->send_errno;
        return 0; /* as libaudit answers EPERM and ECONNREFUSED */
    }
    assert_true(k->nrecords < MAX_RECORDS);
    k->rec[k->nrecords].type = type;
    k->rec[k->nrecords].result = result;
    snprintf(k->rec[k->nrecords].addr, sizeof(k->rec[0].addr), "%s",
             addr != NULL ? addr : "(none)");
    assert_true(strlen(message) < sizeof(k->rec[0].message));
    snprintf(k->rec[k->nrecords].message, sizeof(k->rec[0].message), "%s",
             message);
    k->nrecords++;
    return 1;
}

static void
fake_close(void *ctx, int fd)
{
    struct fake_kernel *k = ctx;

    assert_int_equal(fd, 1000);
    k->closed++;
}

static struct pcl_audit_params
kernel_params(struct fake_kernel *k, struct pcl_audit_kernel_ops *ops)
{
    struct pcl_audit_params p;

    memset(ops, 0, sizeof(*ops));
    ops->open = fake_open;
    ops->send = fake_send;
    ops->close = fake_close;
    ops->ctx = k;
    memset(&p, 0, sizeof(p));
    p.kernel = true;
    p.kernel_ops = ops;
    p.addr = "192.0.2.10";
    return p;
}

/*
 * The value of name in an audit message "op=x a=\"v\" b=HEX ...", decoded:
 * libaudit's encoding is "value" in quotes, or upper-case hexadecimal, and
 * encodes every byte below 0x21, so words split at spaces. Returns 0, or
 * -1 when name is absent; out gets the value (outlen bytes).
 */
static int
record_value(const char *message, const char *name, char *out,
             size_t outlen)
{
    size_t nl = strlen(name);
    const char *p = message;

    while (p != NULL && *p != '\0') {
        const char *end = strchr(p, ' ');
        size_t wl = end != NULL ? (size_t)(end - p) : strlen(p);
        if (wl > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            const char *v = p + nl + 1;
            size_t vl = wl - nl - 1;
            size_t i;
            assert_true(vl < outlen);
            if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
                memcpy(out, v + 1, vl - 2);
                out[vl - 2] = '\0';
                return 0;
            }
            /* Hexadecimal: an even number of 0-9A-F. */
            assert_int_equal(vl % 2, 0);
            assert_int_equal(strspn(v, "0123456789ABCDEF") >= vl, 1);
            for (i = 0; i < vl / 2; i++) {
                unsigned int byte;
                char hex[3] = { v[2 * i], v[2 * i + 1], '\0' };
                sscanf(hex, "%2x", &byte);
                out[i] = (char)byte;
            }
            out[vl / 2] = '\0';
            return 0;
        }
        p = end != NULL ? end + 1 : NULL;
    }
    return -1;
}

/* ------------------------------------------------------------ log capture */

static FILE *log_fp;

/* The diagnostic lines written since offset off, in buf. */
static const char *
log_since(long off, char *buf, size_t len)
{
    size_t n;

    fflush(log_fp);
    fseek(log_fp, off, SEEK_SET);
    n = fread(buf, 1, len - 1, log_fp);
    buf[n] = '\0';
    fseek(log_fp, 0, SEEK_END);
    return buf;
}

static long
log_mark(void)
{
    fflush(log_fp);
    fseek(log_fp, 0, SEEK_END);
    return ftell(log_fp);
}

static size_t
count(const char *hay, const char *needle)
{
    size_t n = 0;

    while ((hay = strstr(hay, needle)) != NULL) {
        n++;
        hay += strlen(needle);
    }
    return n;
}

/* ---------------------------------------------------------------- JSON */

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
    { "surrogate\xed\xa0\x80",
      "surrogate\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
    { "emoji\xf0\x9f\x94\x92", "emoji\xf0\x9f\x94\x92" },
};

static void
test_values_round_trip(void **state)
{
    char dir[64];
    char path[256];
    struct pcl_audit *a = NULL;
    struct pcl_audit_params p;
    FILE *fp;
    char line[4096];
    size_t i;

    (void)state;
    assert_int_equal(tu_mkdtemp(dir, sizeof(dir)), 0);
    assert_int_equal(tu_write(dir, "audit.json", "", 0660, path,
                              sizeof(path)), 0);
    memset(&p, 0, sizeof(p));
    p.json_log = path;
    assert_int_equal(pcl_audit_open(&p, &a), PCL_OK);
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
    struct pcl_audit_params p;

    (void)state;
    memset(&p, 0, sizeof(p));
    assert_int_equal(tu_mkdtemp(dir, sizeof(dir)), 0);
    /* Never created by the emitter. */
    snprintf(path, sizeof(path), "%s/missing.json", dir);
    p.json_log = path;
    assert_int_equal(pcl_audit_open(&p, &a), PCL_ERR_SYSTEM);
    assert_null(a);
    assert_int_equal(access(path, F_OK), -1);
    /* Writable by others: refused. */
    assert_int_equal(tu_write(dir, "open.json", "", 0666, path,
                              sizeof(path)), 0);
    assert_int_equal(pcl_audit_open(&p, &a), PCL_ERR_PERM);
    assert_null(a);
    /* No sinks at all is allowed, and emitting to NULL is a no-op. */
    p.json_log = NULL;
    assert_int_equal(pcl_audit_open(&p, &a), PCL_OK);
    assert_int_equal(pcl_audit_emit(a, "x", NULL, 0), PCL_OK);
    pcl_audit_close(a);
    assert_int_equal(pcl_audit_emit(NULL, "x", NULL, 0), PCL_OK);
    tu_rmtree(dir);
}

/* ---------------------------------------------------------------- kernel */

/* Values that libaudit must encode, and one that it leaves in quotes. */
static const struct {
    const char *value;
    bool hex;
} kernel_values[] = {
    { "db01", false },
    { "a=b", false },                  /* '=' inside quotes is unambiguous */
    { "it's", false },
    { "with space", true },
    { "\"quoted\"", true },
    { "x' res=failed y='", true },     /* cannot forge res= */
    { "tab\there", true },
    { "new\nline", true },
    { "esc\x1b[31m", true },
    { "del\x7f", true },
    { "caf\xc3\xa9", true },
    { "bad\xff", true },
    { "", false },
};

static void
test_kernel_encoding(void **state)
{
    struct fake_kernel k;
    struct pcl_audit_kernel_ops ops;
    struct pcl_audit_params p;
    struct pcl_audit *a = NULL;
    char got[4096];
    size_t i;

    (void)state;
    memset(&k, 0, sizeof(k));
    p = kernel_params(&k, &ops);
    assert_int_equal(pcl_audit_open(&p, &a), PCL_OK);
    assert_int_equal(k.opened, 1);
    for (i = 0; i < sizeof(kernel_values) / sizeof(kernel_values[0]); i++) {
        const struct pcl_audit_field f[] = {
            { "command", kernel_values[i].value },
            { "reason", kernel_values[i].value },
            { "target", "db01" },
        };
        char quoted[256];
        const char *m;

        k.nrecords = 0;
        assert_int_equal(pcl_audit_emit(a, "connect-failure", f, 3), PCL_OK);
        assert_int_equal(k.nrecords, 1);
        m = k.rec[0].message;
        /* Every byte below 0x21 and above 0x7e is encoded: the record is
         * printable ASCII, fields separated by single spaces. */
        for (size_t j = 0; m[j] != '\0'; j++) {
            assert_true(m[j] >= 0x20 && m[j] < 0x7f);
        }
        assert_int_equal(strncmp(m, "op=connect-failure ", 19), 0);
        /* Exactly these fields: op, reason, target, and the command last
         * under the name auparse decodes (cmd). */
        assert_int_equal(count(m, " "), 3);
        assert_non_null(strstr(m, " target=\"db01\" "));
        assert_int_equal(record_value(m, "reason", got, sizeof(got)), 0);
        assert_string_equal(got, kernel_values[i].value);
        assert_int_equal(record_value(m, "cmd", got, sizeof(got)), 0);
        assert_string_equal(got, kernel_values[i].value);
        assert_int_equal(strncmp(strrchr(m, ' '), " cmd=", 5), 0);
        snprintf(quoted, sizeof(quoted), "reason=\"%s\"",
                 kernel_values[i].value);
        if (kernel_values[i].hex) {
            assert_null(strstr(m, quoted));
        } else {
            assert_non_null(strstr(m, quoted));
        }
        assert_string_equal(k.rec[0].addr, "192.0.2.10");
    }
    pcl_audit_close(a);
    assert_int_equal(k.closed, 1);
}

static void
test_kernel_field_names(void **state)
{
    struct fake_kernel k;
    struct pcl_audit_kernel_ops ops;
    struct pcl_audit_params p;
    struct pcl_audit *a = NULL;
    const struct pcl_audit_field f[] = {
        { "session_id", "0123456789abcdef0123456789abcdef" },
        { "user", "alice" },
        { "source", "192.0.2.10 port 50522" },
        { "target", "db01" },
        { "account", "post gres" },
        { "command", "uptime" },
        { "pid", "4711" },
        { "decision", "allow" },
        { "rule", "/etc/portcullis/policy.conf:22" },
        { "reason", "allowed by user:alice" },
        { "absent", NULL },
    };
    char got[256];
    const char *m;

    (void)state;
    memset(&k, 0, sizeof(k));
    p = kernel_params(&k, &ops);
    p.addr = NULL;
    assert_int_equal(pcl_audit_open(&p, &a), PCL_OK);
    assert_int_equal(pcl_audit_emit(a, "decision", f, 11), PCL_OK);
    assert_int_equal(k.nrecords, 1);
    m = k.rec[0].message;
    assert_string_equal(k.rec[0].addr, "(none)");
    assert_int_equal(strncmp(m, "op=decision session_id=\"0123", 28), 0);
    assert_int_equal(record_value(m, "user", got, sizeof(got)), 0);
    assert_string_equal(got, "alice");
    assert_int_equal(record_value(m, "source", got, sizeof(got)), 0);
    assert_string_equal(got, "192.0.2.10 port 50522");
    /* account and command under auparse's names acct and cmd. */
    assert_int_equal(record_value(m, "acct", got, sizeof(got)), 0);
    assert_string_equal(got, "post gres");
    assert_int_equal(record_value(m, "account", got, sizeof(got)), -1);
    assert_int_equal(record_value(m, "cmd", got, sizeof(got)), 0);
    assert_string_equal(got, "uptime");
    assert_int_equal(record_value(m, "command", got, sizeof(got)), -1);
    /* The kernel writes pid= and the time itself. */
    assert_int_equal(record_value(m, "pid", got, sizeof(got)), -1);
    assert_int_equal(record_value(m, "time", got, sizeof(got)), -1);
    assert_int_equal(record_value(m, "absent", got, sizeof(got)), -1);
    assert_int_equal(record_value(m, "rule", got, sizeof(got)), 0);
    assert_string_equal(got, "/etc/portcullis/policy.conf:22");
    assert_int_equal(record_value(m, "decision", got, sizeof(got)), 0);
    assert_string_equal(got, "allow");
    pcl_audit_close(a);
}

/* The record type and result of each event, as portcullis-audit(5) lists
 * them. */
static const struct {
    const char *event;
    const char *field;
    const char *value;
    int type;
    int result;
} type_cases[] = {
    { "decision", "decision", "allow", AUDIT_USER_ACCT, 1 },
    { "decision", "decision", "deny", AUDIT_USER_ACCT, 0 },
    { "session-start", "pty", "no", AUDIT_USER_START, 1 },
    { "connect-failure", "reason", "host key", AUDIT_USER_START, 0 },
    { "session-end", "end", "remote", AUDIT_USER_END, 1 },
    { "session-end", "end", "error", AUDIT_USER_END, 1 },
    { "recording-end", "seal", "sealed", AUDIT_TRUSTED_APP, 1 },
    { "recording-end", "seal", "unsealed", AUDIT_TRUSTED_APP, 0 },
    { "recording-failure", "reason", "disk full", AUDIT_TRUSTED_APP, 0 },
    { "index-failure", "reason", "locked", AUDIT_TRUSTED_APP, 0 },
    { "oidc-login", "result", "success", AUDIT_USER_AUTH, 1 },
    { "oidc-login", "result", "failure", AUDIT_USER_AUTH, 0 },
    { "oidc-failopen", "reason", "unreachable", AUDIT_USER_AUTH, 1 },
    { "oidc-remember", "user", "alice", AUDIT_TRUSTED_APP, 1 },
};

static void
test_kernel_record_types(void **state)
{
    struct fake_kernel k;
    struct pcl_audit_kernel_ops ops;
    struct pcl_audit_params p;
    struct pcl_audit *a = NULL;
    size_t i;

    (void)state;
    memset(&k, 0, sizeof(k));
    p = kernel_params(&k, &ops);
    assert_int_equal(pcl_audit_open(&p, &a), PCL_OK);
    for (i = 0; i < sizeof(type_cases) / sizeof(type_cases[0]); i++) {
        const struct pcl_audit_field f[] = {
            { type_cases[i].field, type_cases[i].value },
        };
        k.nrecords = 0;
        assert_int_equal(pcl_audit_emit(a, type_cases[i].event, f, 1),
                         PCL_OK);
        assert_int_equal(k.nrecords, 1);
        assert_int_equal(k.rec[0].type, type_cases[i].type);
        assert_int_equal(pcl_audit_record_type(type_cases[i].event),
                         type_cases[i].type);
        assert_int_equal(k.rec[0].result, type_cases[i].result);
    }
    assert_int_equal(pcl_audit_record_type("no-such-event"),
                     AUDIT_TRUSTED_APP);
    pcl_audit_close(a);
}

static void
test_kernel_long_command(void **state)
{
    struct fake_kernel k;
    struct pcl_audit_kernel_ops ops;
    struct pcl_audit_params p;
    struct pcl_audit *a = NULL;
    static char cmd[20001];
    static char got[20001];
    const char *m;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cmd) - 1; i++) {
        cmd[i] = (char)('a' + i % 26);
    }
    cmd[100] = ' '; /* hexadecimal */
    const struct pcl_audit_field f[] = {
        { "command", cmd },
        { "reason", "allowed by user:alice" },
        { "decision", "allow" },
    };
    memset(&k, 0, sizeof(k));
    p = kernel_params(&k, &ops);
    assert_int_equal(pcl_audit_open(&p, &a), PCL_OK);
    assert_int_equal(pcl_audit_emit(a, "decision", f, 3), PCL_OK);
    assert_int_equal(k.nrecords, 1);
    m = k.rec[0].message;
    /* Room for what libaudit appends within its 8970 bytes. */
    assert_true(strlen(m) < 6144);
    assert_true(strlen(m) > 6000);
    assert_int_equal(record_value(m, "decision", got, sizeof(got)), 0);
    assert_string_equal(got, "allow");
    assert_int_equal(record_value(m, "cmd", got, sizeof(got)), 0);
    /* The head of the command, cut. */
    assert_true(strlen(got) > 2900);
    assert_int_equal(strncmp(got, cmd, strlen(got)), 0);
    pcl_audit_close(a);
}

static void
test_kernel_absent(void **state)
{
    static const int absent[] = { EINVAL, EPROTONOSUPPORT, EAFNOSUPPORT };
    const struct pcl_audit_field f[] = { { "decision", "allow" } };
    struct fake_kernel k;
    struct pcl_audit_kernel_ops ops;
    struct pcl_audit_params p;
    struct pcl_audit *a = NULL;
    char buf[4096];
    long off;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        memset(&k, 0, sizeof(k));
        k.open_errno = absent[i];
        p = kernel_params(&k, &ops);
        off = log_mark();
        /* Not an error: said once, at debug level, and events go on. */
        assert_int_equal(pcl_audit_open(&p, &a), PCL_OK);
        assert_int_equal(pcl_audit_emit(a, "decision", f, 1), PCL_OK);
        assert_int_equal(pcl_audit_emit(a, "decision", f, 1), PCL_OK);
        assert_int_equal(k.nrecords, 0);
        pcl_audit_close(a);
        assert_int_equal(k.closed, 0);
        log_since(off, buf, sizeof(buf));
        assert_int_equal(count(buf, "not in this kernel"), 1);
        assert_int_equal(count(buf, "\n"), 1);

        /* required: refused at open. */
        p.required = true;
        assert_int_equal(pcl_audit_open(&p, &a), PCL_ERR_SYSTEM);
        assert_null(a);
    }
    /* Another error opening the socket is an error, not a debug line. */
    memset(&k, 0, sizeof(k));
    k.open_errno = EMFILE;
    p = kernel_params(&k, &ops);
    off = log_mark();
    assert_int_equal(pcl_audit_open(&p, &a), PCL_OK);
    assert_int_equal(pcl_audit_emit(a, "decision", f, 1), PCL_OK);
    pcl_audit_close(a);
    log_since(off, buf, sizeof(buf));
    assert_int_equal(count(buf, "cannot open the audit socket"), 1);
    /* kernel = no: libaudit is never called. */
    memset(&k, 0, sizeof(k));
    p = kernel_params(&k, &ops);
    p.kernel = false;
    assert_int_equal(pcl_audit_open(&p, &a), PCL_OK);
    assert_int_equal(pcl_audit_emit(a, "decision", f, 1), PCL_OK);
    pcl_audit_close(a);
    assert_int_equal(k.opened, 0);
}

static void
test_kernel_refuses(void **state)
{
    static const int refusals[] = { EPERM, ECONNREFUSED };
    const struct pcl_audit_field f[] = { { "decision", "allow" } };
    struct fake_kernel k;
    struct pcl_audit_kernel_ops ops;
    struct pcl_audit_params p;
    struct pcl_audit *a = NULL;
    char dir[64];
    char path[256];
    char buf[4096];
    char line[1024];
    FILE *fp;
    long off;
    size_t i;
    int n;

    (void)state;
    assert_int_equal(tu_mkdtemp(dir, sizeof(dir)), 0);
    assert_int_equal(tu_write(dir, "audit.json", "", 0660, path,
                              sizeof(path)), 0);
    for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        memset(&k, 0, sizeof(k));
        k.send_errno = refusals[i];
        p = kernel_params(&k, &ops);
        p.json_log = path;
        off = log_mark();
        /* Warned once, and the session goes on. */
        assert_int_equal(pcl_audit_open(&p, &a), PCL_OK);
        assert_int_equal(pcl_audit_emit(a, "decision", f, 1), PCL_OK);
        assert_int_equal(pcl_audit_emit(a, "decision", f, 1), PCL_OK);
        pcl_audit_close(a);
        log_since(off, buf, sizeof(buf));
        assert_int_equal(count(buf, "record not written:"), 1);
        assert_int_equal(count(buf, "as before"), 1);
        assert_int_equal(count(buf, strerror(refusals[i])), 2);
        assert_int_equal(count(buf, "CAP_AUDIT_WRITE"),
                         refusals[i] == EPERM ? 1 : 0);
        /* required: every event that did not reach the kernel is an
         * error for the caller; the JSON log still has it. */
        p.required = true;
        assert_int_equal(pcl_audit_open(&p, &a), PCL_OK);
        assert_int_equal(pcl_audit_emit(a, "decision", f, 1), PCL_ERR_IO);
        pcl_audit_close(a);
    }
    fp = fopen(path, "r");
    assert_non_null(fp);
    for (n = 0; fgets(line, sizeof(line), fp) != NULL; n++) {
        assert_non_null(strstr(line, "\"event\":\"decision\""));
    }
    assert_int_equal(n, 6);
    fclose(fp);
    tu_rmtree(dir);
}

static void
test_json_write_fails(void **state)
{
    struct fake_kernel k;
    struct pcl_audit_kernel_ops ops;
    struct pcl_audit_params p;
    struct pcl_audit *a = NULL;
    const struct pcl_audit_field f[] = { { "decision", "allow" } };
    struct rlimit saved;
    struct rlimit small;
    char dir[64];
    char path[256];

    (void)state;
    assert_int_equal(tu_mkdtemp(dir, sizeof(dir)), 0);
    assert_int_equal(tu_write(dir, "audit.json", "{}\n", 0660, path,
                              sizeof(path)), 0);
    memset(&k, 0, sizeof(k));
    p = kernel_params(&k, &ops);
    p.json_log = path;
    assert_int_equal(pcl_audit_open(&p, &a), PCL_OK);
    /* A log that takes no more bytes (EFBIG, as a full disk would give
     * ENOSPC): the caller hears of it, whether required or not, and the
     * kernel still gets the record. Only the soft limit is lowered. */
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    small = saved;
    small.rlim_cur = 3;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    assert_int_equal(pcl_audit_emit(a, "decision", f, 1), PCL_ERR_IO);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    assert_int_equal(k.nrecords, 1);
    assert_int_equal(pcl_audit_emit(a, "decision", f, 1), PCL_OK);
    assert_int_equal(k.nrecords, 2);
    pcl_audit_close(a);
    tu_rmtree(dir);
}

static int
group_setup(void **state)
{
    (void)state;
    log_fp = tmpfile();
    if (log_fp == NULL) {
        return -1;
    }
    pcl_log_init("test_audit", PCL_LOG_STDERR, PCL_LOG_DEBUG3);
    pcl_log_set_file(log_fp);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_round_trip),
        cmocka_unit_test(test_refused_logs),
        cmocka_unit_test(test_kernel_encoding),
        cmocka_unit_test(test_kernel_field_names),
        cmocka_unit_test(test_kernel_record_types),
        cmocka_unit_test(test_kernel_long_command),
        cmocka_unit_test(test_kernel_absent),
        cmocka_unit_test(test_kernel_refuses),
        cmocka_unit_test(test_json_write_fails),
    };

    return cmocka_run_group_tests(tests, group_setup, NULL);
}
