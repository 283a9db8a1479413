/* SPDX-License-Identifier: BSD-2-Clause */
/* A bounded FIFO of bytes: the only container for untrusted session data. */
#ifndef PCL_BUF_H
#define PCL_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct pcl_buf;

/*
 * Allocates an empty buffer that never holds more than max bytes.
 * On success *out is owned by the caller (free with pcl_buf_free).
 * Returns 0, PCL_ERR_INVAL (max == 0) or PCL_ERR_NOMEM; *out = NULL on error.
 */
int pcl_buf_new(size_t max, struct pcl_buf **out);

/* Wipes every byte ever written to the buffer (all of it once
 * pcl_buf_tail was used) and frees it; NULL is a no-op. */
void pcl_buf_free(struct pcl_buf *b);

/* Bytes held now. */
size_t pcl_buf_len(const struct pcl_buf *b);

/* Bytes that can still be appended before the bound is reached. */
size_t pcl_buf_room(const struct pcl_buf *b);

/*
 * Bytes that can be appended now at pcl_buf_tail(): the free space after
 * the held bytes, at most pcl_buf_room(). When the consumed space at
 * the front is half the buffer or more, the held bytes are first moved to
 * the front: a writer that appends only what this allows moves each byte
 * at most once per max/2 bytes consumed, even toward a reader that drains
 * a few bytes at a time (a terminal), where appending whatever
 * pcl_buf_room() allows would move nearly the whole buffer each time.
 */
size_t pcl_buf_tail_room(struct pcl_buf *b);

/*
 * The free space after the held bytes, where at most pcl_buf_tail_room()
 * bytes may be written in place (valid until the next call on b);
 * pcl_buf_commit then adds the len bytes written there to the held ones
 * (len must not exceed that room: checked by assert). Saves a copy when a producer can write
 * into a buffer of ours (the relay's reads from libssh).
 */
uint8_t *pcl_buf_tail(struct pcl_buf *b);
void pcl_buf_commit(struct pcl_buf *b, size_t len);

/* Pointer to the first held byte (valid until the next put, read or
 * tail_room call: those may move the held bytes). */
const uint8_t *pcl_buf_ptr(const struct pcl_buf *b);

/* Appends len bytes; returns 0 or PCL_ERR_TOOBIG when they do not fit. */
int pcl_buf_put(struct pcl_buf *b, const void *data, size_t len);

/* Drops len bytes from the front (len is capped at the held length). */
void pcl_buf_consume(struct pcl_buf *b, size_t len);

/*
 * Reads at most pcl_buf_room() bytes from fd into the buffer with one
 * read(2). Returns the byte count (0 at EOF), or -1 with errno set
 * (EAGAIN included).
 */
ssize_t pcl_buf_read_fd(struct pcl_buf *b, int fd);

/*
 * Writes held bytes to fd with one write(2) and consumes what was written.
 * Returns the byte count, or -1 with errno set.
 */
ssize_t pcl_buf_write_fd(struct pcl_buf *b, int fd);

#endif /* PCL_BUF_H */
