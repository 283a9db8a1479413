/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "portcullis/err.h"

int
pcl_parse_uint(const char *s, unsigned max, unsigned *out)
{
    unsigned long v = 0;
    size_t i;

    if (s[0] == '\0') {
        return PCL_ERR_INVAL;
    }
    for (i = 0; s[i] != '\0'; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return PCL_ERR_INVAL;
        }
        v = v * 10 + (unsigned long)(s[i] - '0');
        if (v > max) {
            return PCL_ERR_INVAL;
        }
    }
    *out = (unsigned)v;
    return PCL_OK;
}

int
pcl_parse_seconds(const char *s, unsigned *out)
{
    char num[16];
    size_t len = strlen(s);
    unsigned mult = 1;
    unsigned v;

    if (len == 0 || len >= sizeof(num)) {
        return PCL_ERR_INVAL;
    }
    memcpy(num, s, len + 1);
    switch (num[len - 1]) {
    case 's':
        mult = 1;
        num[--len] = '\0';
        break;
    case 'm':
        mult = 60;
        num[--len] = '\0';
        break;
    case 'h':
        mult = 3600;
        num[--len] = '\0';
        break;
    default:
        break;
    }
    if (pcl_parse_uint(num, 86400 / mult, &v) != PCL_OK) {
        return PCL_ERR_INVAL;
    }
    *out = v * mult;
    return PCL_OK;
}

int
pcl_parse_millis(const char *s, unsigned *out)
{
    char num[16];
    size_t len = strlen(s);
    unsigned mult = 1;
    unsigned v;

    if (len == 0 || len >= sizeof(num)) {
        return PCL_ERR_INVAL;
    }
    memcpy(num, s, len + 1);
    if (len > 2 && strcmp(num + len - 2, "ms") == 0) {
        num[len - 2] = '\0';
    } else if (num[len - 1] == 's') {
        mult = 1000;
        num[len - 1] = '\0';
    }
    if (pcl_parse_uint(num, 3600000 / mult, &v) != PCL_OK) {
        return PCL_ERR_INVAL;
    }
    *out = v * mult;
    return PCL_OK;
}

int
pcl_parse_bool(const char *s, bool *out)
{
    if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0 ||
        strcasecmp(s, "on") == 0 || strcmp(s, "1") == 0) {
        *out = true;
        return PCL_OK;
    }
    if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0 ||
        strcasecmp(s, "off") == 0 || strcmp(s, "0") == 0) {
        *out = false;
        return PCL_OK;
    }
    return PCL_ERR_INVAL;
}

int
pcl_parse_list(const char *s, int (*fn)(const char *item, void *ctx),
               void *ctx)
{
    char *copy = strdup(s);
    char *p;
    char *next;
    char *end;
    int rc = PCL_OK;

    if (copy == NULL) {
        return PCL_ERR_NOMEM;
    }
    p = copy;
    for (;;) {
        next = strchr(p, ',');
        if (next != NULL) {
            *next = '\0';
        }
        p += strspn(p, " \t");
        end = p + strlen(p);
        while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
            *--end = '\0';
        }
        rc = fn(p, ctx);
        if (rc != 0 || next == NULL) {
            break;
        }
        p = next + 1;
    }
    free(copy);
    return rc;
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, at most U+10FFFF), or 0 when the bytes there are not one. */
size_t
pcl_utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    }
    if (s[0] >= 0xe0 && s[0] <= 0xef) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
            (s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f)) {
            return 0;
        }
        return 3;
    }
    if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
            (s[3] & 0xc0) != 0x80 || (s[0] == 0xf0 && s[1] < 0x90) ||
            (s[0] == 0xf4 && s[1] > 0x8f)) {
            return 0;
        }
        return 4;
    }
    return 0;
}

/*
 * A JSON string must be UTF-8 (RFC 8259 section 8.1): untrusted values
 * (commands, names) get U+FFFD for each byte that is not. Returns a new
 * string owned by the caller, or NULL when out of memory.
 */
char *
pcl_utf8_clean(const char *v)
{
    const unsigned char *s = (const unsigned char *)v;
    size_t n = strlen(v);
    char *out = malloc(3 * n + 1);
    size_t j = 0;
    size_t i = 0;

    if (out == NULL) {
        return NULL;
    }
    while (i < n) {
        size_t l = pcl_utf8_len(s + i);
        if (l == 0) {
            memcpy(out + j, "\xEF\xBF\xBD", 3);
            j += 3;
            i++;
        } else {
            memcpy(out + j, s + i, l);
            j += l;
            i += l;
        }
    }
    out[j] = '\0';
    return out;
}
