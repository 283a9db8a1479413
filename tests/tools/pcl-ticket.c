/* SPDX-License-Identifier: BSD-2-Clause */
/* Test helper: prints an identity ticket signed with a key file, as
 * pam_portcullis would make it, so tests can hand the proxy good, forged
 * (another key), expired and other users' tickets.
 * usage: pcl-ticket KEYFILE USER LIFETIME_S [GROUP...]
 * A negative LIFETIME_S makes a ticket that has already expired. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "portcullis/err.h"
#include "portcullis/ticket.h"

int
main(int argc, char **argv)
{
    struct pcl_ticket t;
    unsigned char key[PCL_TICKET_KEY_MAX];
    size_t keylen;
    time_t now = time(NULL);
    char *s = NULL;
    FILE *fp;
    int i;

    if (argc < 4) {
        fprintf(stderr, "usage: pcl-ticket KEYFILE USER LIFETIME_S "
                "[GROUP...]\n");
        return 2;
    }
    fp = fopen(argv[1], "rb");
    if (fp == NULL) {
        perror(argv[1]);
        return 1;
    }
    keylen = fread(key, 1, sizeof(key), fp);
    fclose(fp);
    memset(&t, 0, sizeof(t));
    snprintf(t.user, sizeof(t.user), "%s", argv[2]);
    snprintf(t.sub, sizeof(t.sub), "test-sub-%s", argv[2]);
    snprintf(t.iss, sizeof(t.iss), "%s",
             getenv("PCL_T_ISS") != NULL ? getenv("PCL_T_ISS")
                                         : "https://test.invalid");
    snprintf(t.method, sizeof(t.method), "device");
    for (i = 4; i < argc && t.ngroups < PCL_TICKET_MAX_GROUPS; i++) {
        snprintf(t.groups[t.ngroups++], sizeof(t.groups[0]), "%s", argv[i]);
    }
    t.auth_time = (int64_t)now;
    t.iat = (int64_t)now - (atol(argv[3]) < 0 ? 7200 : 0);
    t.exp = (int64_t)now + atol(argv[3]);
    if (pcl_ticket_issue(&t, key, keylen, &s) != PCL_OK) {
        fprintf(stderr, "pcl-ticket: cannot issue\n");
        return 1;
    }
    printf("%s\n", s);
    free(s);
    return 0;
}
