/* SPDX-License-Identifier: BSD-2-Clause */
/* A streaming reader of asciicast v2 and v3 recordings (portcullis-cast(5)
 * and files written by asciinema itself), with a bounded time index for
 * seeking in recordings of any size. */
#ifndef PCL_CASTREAD_H
#define PCL_CASTREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Longest line accepted, in bytes (the writer's lines are far shorter:
 * PCL_CAST_EVENT_MAX escaped; asciinema's are shorter still). */
#define PCL_CASTREAD_LINE_MAX (8u << 20)

struct pcl_castread;

/* The header, as read. Strings are owned by the reader. */
struct pcl_castread_header {
    int version;               /* 2 or 3 */
    int cols;                  /* terminal size at the start */
    int rows;
    int64_t timestamp;         /* Unix seconds, or 0 when absent */
    double idle_time_limit;    /* seconds, or 0 when absent */
    const char *term;          /* TERM (v2 env.TERM, v3 term.type) or "" */
    const char *title;         /* "" when absent */
    const char *raw;           /* the header line as in the file, no LF */
};

/* One event. data is owned by the reader and valid until the next call. */
struct pcl_castread_event {
    uint64_t t_us;             /* microseconds since the start (v3 interval
                                * times are summed) */
    char code;                 /* 'o', 'i', 'r', 'm', 'x', or another
                                * letter: unknown codes are passed on */
    const uint8_t *data;       /* decoded string (may hold NUL) */
    size_t len;                /* bytes of data */
    off_t offset;              /* file offset of the event's line */
};

/*
 * Opens path and reads its header. Returns 0 with *out owned by the
 * caller (pcl_castread_free), PCL_ERR_NOTFOUND / PCL_ERR_IO (cannot open
 * or read), PCL_ERR_SYNTAX (not asciicast v2 or v3: v1 is refused) or
 * PCL_ERR_NOMEM; why (whylen bytes) says what failed; *out = NULL then.
 */
int pcl_castread_open(const char *path, struct pcl_castread **out,
                      char *why, size_t whylen);

/* Frees the reader; NULL is a no-op. */
void pcl_castread_free(struct pcl_castread *r);

/* The header (borrowed from r). */
const struct pcl_castread_header *
pcl_castread_header(const struct pcl_castread *r);

/*
 * Reads the next event. Comment lines ("#", v3) and blank lines are
 * skipped; a "# {" line holding the portcullis seal sets sealed. Returns 1
 * with *ev filled, 0 at the end of the data written so far (a last line
 * without its LF is kept back, so a growing file can be read again later:
 * --follow), or PCL_ERR_SYNTAX (a malformed line: why says which line),
 * PCL_ERR_TOOBIG (a line longer than PCL_CASTREAD_LINE_MAX), PCL_ERR_IO.
 */
int pcl_castread_next(struct pcl_castread *r, struct pcl_castread_event *ev,
                      char *why, size_t whylen);

/* True once the reader has passed a v3 seal line. */
bool pcl_castread_sealed(const struct pcl_castread *r);

/* Where the next event will be read: the offset of its line and the time
 * of the event before it (microseconds), for pcl_castread_seek. */
void pcl_castread_tell(const struct pcl_castread *r, off_t *offset,
                       uint64_t *t_us);

/* Moves to a line start found by pcl_castread_tell or _locate (t_us is
 * the time of the event before that line). Returns 0 or PCL_ERR_IO. */
int pcl_castread_seek(struct pcl_castread *r, off_t offset, uint64_t t_us);

/* A place to start reading from, found by pcl_castread_locate. */
struct pcl_castread_mark {
    off_t offset;              /* a line start */
    uint64_t t_us;             /* time of the event before that line */
    int cols;                  /* terminal size in force there */
    int rows;
};

/*
 * Finds where to start rendering so that the screen at time t_us
 * (microseconds) can be drawn: *at is the latest indexed line start
 * whose byte distance to the first event after t_us is at least
 * window bytes (or the first event), with the size in force there.
 * The first call scans the file's times once (no JSON decoding) and
 * keeps at most 4096 marks, evenly spread, so memory does not grow with
 * the file. *end_us gets the time of the last event. Returns 0,
 * PCL_ERR_IO or PCL_ERR_SYNTAX. The reader's own position is unchanged.
 */
int pcl_castread_locate(struct pcl_castread *r, uint64_t t_us,
                        uint64_t window, struct pcl_castread_mark *at,
                        uint64_t *end_us);

/* Parses "COLSxROWS" (an "r" event) into *cols, *rows. Returns 0 or
 * PCL_ERR_SYNTAX (values outside 1..10000). */
int pcl_castread_parse_size(const uint8_t *s, size_t len, int *cols,
                            int *rows);

#endif /* PCL_CASTREAD_H */
