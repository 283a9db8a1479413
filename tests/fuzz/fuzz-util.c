/* SPDX-License-Identifier: BSD-2-Clause */
/* Helpers of the fuzz targets (fuzz.h). */
#include "config.h"

#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
fuzz_tmpfile(const uint8_t *data, size_t size, char *path, size_t pathlen)
{
    const char *dir = getenv("TMPDIR");
    size_t off = 0;
    ssize_t n;
    int fd;
    int rc = -1;

    if (dir == NULL || *dir == '\0') {
        dir = "/tmp";
    }
    if ((size_t)snprintf(path, pathlen, "%s/pcl-fuzz.XXXXXX", dir) >= pathlen) {
        return -1;
    }
    fd = mkstemp(path);
    if (fd < 0) {
        return -1;
    }
    while (off < size) {
        n = write(fd, data + off, size - off);
        if (n <= 0) {
            goto out;
        }
        off += (size_t)n;
    }
    rc = 0;
out:
    close(fd);
    if (rc != 0) {
        unlink(path);
    }
    return rc;
}
