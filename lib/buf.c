/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/buf.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "portcullis/err.h"

/*
 * A linear buffer: bytes live in [off, off + len) of data[max]. Consuming
 * moves off; appending compacts first when the tail is short. Session data
 * passes through here, so no allocation happens after pcl_buf_new.
 */
struct pcl_buf {
    uint8_t *data;
    size_t max;
    size_t off;
    size_t len;
    size_t touched; /* bytes of data ever written: wiped when freed */
};

static void
note_touched(struct pcl_buf *b)
{
    if (b->off + b->len > b->touched) {
        b->touched = b->off + b->len;
    }
}

int
pcl_buf_new(size_t max, struct pcl_buf **out)
{
    struct pcl_buf *b = NULL;
    int rc = PCL_ERR_NOMEM;

    *out = NULL;
    if (max == 0) {
        return PCL_ERR_INVAL;
    }
    b = calloc(1, sizeof(*b));
    if (b == NULL) {
        goto out;
    }
    b->data = malloc(max);
    if (b->data == NULL) {
        goto out;
    }
    b->max = max;
    *out = b; /* transfer ownership */
    b = NULL;
    rc = PCL_OK;
out:
    pcl_buf_free(b);
    return rc;
}

void
pcl_buf_free(struct pcl_buf *b)
{
    if (b == NULL) {
        return;
    }
    if (b->data != NULL) {
        explicit_bzero(b->data, b->touched);
        free(b->data);
    }
    free(b);
}

size_t
pcl_buf_len(const struct pcl_buf *b)
{
    return b->len;
}

size_t
pcl_buf_room(const struct pcl_buf *b)
{
    return b->max - b->len;
}

const uint8_t *
pcl_buf_ptr(const struct pcl_buf *b)
{
    return b->data + b->off;
}

static void
compact(struct pcl_buf *b)
{
    if (b->off == 0) {
        return;
    }
    if (b->len > 0) {
        memmove(b->data, b->data + b->off, b->len);
    }
    b->off = 0;
}

size_t
pcl_buf_tail_room(struct pcl_buf *b)
{
    if (b->off >= b->max / 2) {
        compact(b);
    }
    return b->max - b->off - b->len;
}

uint8_t *
pcl_buf_tail(struct pcl_buf *b)
{
    /* What the caller writes there may never be committed: wiped too. */
    b->touched = b->max;
    return b->data + b->off + b->len;
}

void
pcl_buf_commit(struct pcl_buf *b, size_t len)
{
    size_t tail = b->max - b->off - b->len;

    assert(len <= tail);
    b->len += len < tail ? len : tail;
    note_touched(b);
}

int
pcl_buf_put(struct pcl_buf *b, const void *data, size_t len)
{
    if (len > pcl_buf_room(b)) {
        return PCL_ERR_TOOBIG;
    }
    if (b->off + b->len + len > b->max) {
        compact(b);
    }
    memcpy(b->data + b->off + b->len, data, len);
    b->len += len;
    note_touched(b);
    return PCL_OK;
}

void
pcl_buf_consume(struct pcl_buf *b, size_t len)
{
    if (len > b->len) {
        len = b->len;
    }
    b->off += len;
    b->len -= len;
    if (b->len == 0) {
        b->off = 0;
    }
}

ssize_t
pcl_buf_read_fd(struct pcl_buf *b, int fd)
{
    ssize_t n;

    if (pcl_buf_room(b) == 0) {
        errno = ENOBUFS;
        return -1;
    }
    if (b->off + b->len == b->max) {
        compact(b);
    }
    n = read(fd, b->data + b->off + b->len, b->max - b->off - b->len);
    if (n > 0) {
        b->len += (size_t)n;
        note_touched(b);
    }
    return n;
}

ssize_t
pcl_buf_write_fd(struct pcl_buf *b, int fd)
{
    ssize_t n;

    if (b->len == 0) {
        return 0;
    }
    n = write(fd, b->data + b->off, b->len);
    if (n > 0) {
        pcl_buf_consume(b, (size_t)n);
    }
    return n;
}
