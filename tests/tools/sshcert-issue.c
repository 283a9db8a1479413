/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sshcert-issue CA_KEY PRINCIPAL AFTER BEFORE PTY OUT: issues a session key
 * and certificate with lib/sshcert.c as the ssh-ca backend does, but with
 * the validity chosen by the test (AFTER and BEFORE in seconds relative to
 * now, may be negative) and the principal it wants, then writes OUT (the
 * private key, 0600) and OUT-cert.pub, so that the real ssh client and
 * ssh-keygen -L can try them. A test tool, not installed: the proxy never
 * writes a key to disk.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "portcullis/err.h"
#include "portcullis/file.h"
#include "portcullis/sshcert.h"
#include "portcullis/vault.h"

int
main(int argc, char **argv)
{
    struct pcl_sshcert_params p;
    struct pcl_secret *ca = NULL;
    struct pcl_secret *out = NULL;
    uint8_t *raw = NULL;
    size_t len = 0;
    char why[512];
    char path[4096];
    long long now = (long long)time(NULL);
    FILE *fp;

    if (argc != 7) {
        fprintf(stderr, "usage: sshcert-issue CA_KEY PRINCIPAL AFTER BEFORE "
                "PTY(0|1) OUT\n");
        return 2;
    }
    if (pcl_file_read_secret(argv[1], 65536, &raw, &len, why, sizeof(why)) !=
            PCL_OK ||
        pcl_secret_new(PCL_VAULT_CA_KEY, len, &ca) != PCL_OK) {
        fprintf(stderr, "sshcert-issue: %s\n", why);
        return 1;
    }
    memcpy(ca->data, raw, len);
    pcl_file_secret_free(raw, len);
    memset(&p, 0, sizeof(p));
    p.principal = argv[2];
    p.key_id = "portcullis:test:sshcert-issue";
    p.valid_after = (uint64_t)(now + atoll(argv[3]));
    p.valid_before = (uint64_t)(now + atoll(argv[4]));
    p.permit_pty = strcmp(argv[5], "1") == 0;
    if (pcl_sshcert_issue(ca, &p, &out, why, sizeof(why)) != PCL_OK) {
        fprintf(stderr, "sshcert-issue: %s\n", why);
        pcl_secret_free(ca);
        return 1;
    }
    umask(077);
    fp = fopen(argv[6], "w");
    if (fp == NULL || fwrite(out->data, 1, out->len, fp) != out->len ||
        fclose(fp) != 0) {
        perror(argv[6]);
        return 1;
    }
    snprintf(path, sizeof(path), "%s-cert.pub", argv[6]);
    fp = fopen(path, "w");
    if (fp == NULL ||
        fprintf(fp, "%s %s test\n", PCL_SSHCERT_TYPE, out->cert) < 0 ||
        fclose(fp) != 0) {
        perror(path);
        return 1;
    }
    pcl_secret_free(out);
    pcl_secret_free(ca);
    return 0;
}
