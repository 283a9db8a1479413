/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: the asciicast v2/v3 reader (lib/castread.c) that
 * portcullis-replay runs on recordings (whose output events are the
 * target's bytes). Reads every event, then the time index (locate), a
 * seek back to the first event, and the "r" size parser on each resize. */
#include "config.h"

#include "fuzz.h"

#include <stdlib.h>
#include <unistd.h>

#include "portcullis/castread.h"
#include "portcullis/err.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pcl_castread *r = NULL;
    struct pcl_castread_event ev;
    struct pcl_castread_mark mark;
    const struct pcl_castread_header *h;
    char why[256];
    char path[256];
    uint64_t t0, end_us, last = 0;
    off_t off0;
    int cols, rows, rc, n = 0;

    if (fuzz_tmpfile(data, size, path, sizeof(path)) != 0) {
        return 0;
    }
    if (pcl_castread_open(path, &r, why, sizeof(why)) != 0) {
        if (r != NULL) {
            abort();
        }
        goto out;
    }
    h = pcl_castread_header(r);
    if (h == NULL || (h->version != 2 && h->version != 3) ||
        h->term == NULL || h->title == NULL || h->raw == NULL) {
        abort();
    }
    pcl_castread_tell(r, &off0, &t0);
    while ((rc = pcl_castread_next(r, &ev, why, sizeof(why))) == 1) {
        if (ev.len > 0 && ev.data == NULL) {
            abort();
        }
        /* v2 times may go back; v3 intervals are summed, never negative. */
        if (h->version == 3 && ev.t_us < last) {
            abort();
        }
        last = ev.t_us;
        if (ev.code == 'r') {
            (void)pcl_castread_parse_size(ev.data, ev.len, &cols, &rows);
        }
        if (++n > 100000) {
            break;
        }
    }
    (void)pcl_castread_sealed(r);
    if (pcl_castread_locate(r, last / 2, 4096, &mark, &end_us) == 0 &&
        pcl_castread_seek(r, mark.offset, mark.t_us) == 0) {
        (void)pcl_castread_next(r, &ev, why, sizeof(why));
    }
    if (pcl_castread_seek(r, off0, t0) == 0) {
        (void)pcl_castread_next(r, &ev, why, sizeof(why));
    }
out:
    pcl_castread_free(r);
    unlink(path);
    return 0;
}
