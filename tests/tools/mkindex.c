/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mkindex INDEX: fills a session index through lib/sessindex.c, as the
 * proxy would, from lines on stdin (fields separated by tabs):
 *   session_id user target command recording start end exit_status
 * command "-" is NULL (a shell); exit_status "-" leaves the session
 * running (no end). For the replay tests (list, search, ids). Exit
 * status 0, or 1 with a message. A test tool, not installed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portcullis/err.h"
#include "portcullis/sessindex.h"

int
main(int argc, char **argv)
{
    struct pcl_sessindex *x = NULL;
    char why[512] = "";
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: mkindex INDEX < rows\n");
        return 1;
    }
    if (pcl_sessindex_open(argv[1], 2000, &x, why, sizeof(why)) != PCL_OK) {
        fprintf(stderr, "mkindex: %s\n", why);
        return 1;
    }
    while ((n = getline(&line, &cap, stdin)) > 0) {
        char *f[8];
        char *save = NULL;
        char *p = line;
        struct pcl_sessindex_start s;
        struct pcl_sessindex_end e;
        int i;

        if (line[n - 1] == '\n') {
            line[n - 1] = '\0';
        }
        for (i = 0; i < 8; i++) {
            f[i] = strtok_r(p, "\t", &save);
            p = NULL;
            if (f[i] == NULL) {
                break;
            }
        }
        if (i != 8) {
            fprintf(stderr, "mkindex: 8 tab-separated fields needed\n");
            rc = 1;
            break;
        }
        memset(&s, 0, sizeof(s));
        s.session_id = f[0];
        s.user = f[1];
        s.target = f[2];
        s.account = "root";
        s.source = "127.0.0.1 port 1";
        s.command = strcmp(f[3], "-") == 0 ? NULL : f[3];
        s.recording = f[4];
        s.start = strtoll(f[5], NULL, 10);
        if (pcl_sessindex_begin(x, &s) != PCL_OK) {
            rc = 1;
            break;
        }
        if (strcmp(f[7], "-") != 0) {
            memset(&e, 0, sizeof(e));
            e.end = strtoll(f[6], NULL, 10);
            e.exit_status = atoi(f[7]);
            e.seal = "sealed";
            if (pcl_sessindex_end(x, f[0], &e) != PCL_OK) {
                rc = 1;
                break;
            }
        }
    }
    free(line);
    pcl_sessindex_close(x);
    return rc;
}
