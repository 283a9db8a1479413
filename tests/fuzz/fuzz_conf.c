/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: portcullis.conf (pcl_conf_load through lib/ini.c). The
 * input is written to a private 0600 file, as the loader reads a path and
 * checks its owner and mode. A refused file must leave a file:line
 * diagnostic and no config; an accepted one must dump. */
#include "config.h"

#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "portcullis/conf.h"
#include "portcullis/ini.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pcl_diag *diag = NULL;
    struct pcl_conf *conf = NULL;
    char path[256];
    FILE *null;
    int rc;

    if (fuzz_tmpfile(data, size, path, sizeof(path)) != 0) {
        return 0;
    }
    if (pcl_diag_new(&diag) != 0) {
        goto out;
    }
    rc = pcl_conf_load(path, diag, &conf);
    if (rc == 0) {
        if (conf == NULL) {
            abort();
        }
        null = fopen("/dev/null", "w");
        if (null != NULL) {
            pcl_conf_dump(conf, null);
            fclose(null);
        }
    } else if (conf != NULL || pcl_diag_count(diag) == 0) {
        /* Fail closed, and say why. */
        abort();
    }
out:
    pcl_conf_free(conf);
    pcl_diag_free(diag);
    unlink(path);
    return 0;
}
