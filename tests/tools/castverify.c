/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * castverify FILE [KEYFILE]: prints the seal verdict of a recording, as the
 * integration tests need it (KEYFILE: the HMAC key, or an Ed25519 public or
 * private key in PEM) ("valid", "unsealed", "tampered",
 * "key-unknown", then lines and chain). Exit status: 0 valid, 1 unsealed,
 * 2 tampered, 3 key unknown, 4 error. A test tool, not installed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "portcullis/cast.h"
#include "portcullis/err.h"

static int
read_key(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
    FILE *fp = fopen(path, "rb");

    if (fp == NULL) {
        return -1;
    }
    *len = fread(buf, 1, cap, fp);
    fclose(fp);
    return 0;
}

int
main(int argc, char **argv)
{
    static const char *const names[] = {
        "valid", "unsealed", "tampered", "key-unknown",
    };
    struct pcl_cast_verdict v;
    uint8_t key[4096];
    size_t keylen = 0;
    char key_id[32] = "";

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: castverify FILE [KEYFILE]\n");
        return 4;
    }
    if (argc == 3) {
        if (read_key(argv[2], key, sizeof(key), &keylen) != 0 ||
            pcl_cast_key_id(key, keylen, key_id, sizeof(key_id)) != PCL_OK) {
            fprintf(stderr, "castverify: cannot read %s\n", argv[2]);
            return 4;
        }
    }
    if (pcl_cast_verify(argv[1], argc == 3 ? key : NULL, keylen,
                        argc == 3 ? key_id : NULL, &v) != PCL_OK) {
        fprintf(stderr, "castverify: %s\n", v.why);
        return 4;
    }
    printf("%s lines=%llu bytes=%llu chain=%s%s%s\n", names[v.state],
           (unsigned long long)v.lines, (unsigned long long)v.bytes, v.chain,
           v.why[0] != '\0' ? " why=" : "", v.why);
    return (int)v.state;
}
