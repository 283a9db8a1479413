/* SPDX-License-Identifier: BSD-2-Clause */
/* The terminal player of portcullis-replay(1): timing, idle limit, keys,
 * seeking through a bounded index, live follow, and the filter that keeps
 * recorded bytes from acting on the analyst's terminal. */
#ifndef PCL_REPLAY_H
#define PCL_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of output rendered before a seek target, at least: the screen at
 * the target is drawn from this much recorded output (or from the start
 * of the recording when it is shorter). */
#define PCL_REPLAY_SEEK_WINDOW (4u << 20)

/* Seconds moved by the seek keys. */
#define PCL_REPLAY_SEEK_STEP 5

struct pcl_replay_opts {
    double speed;          /* playback speed factor, > 0 */
    double idle_limit;     /* seconds; pauses longer are cut to this;
                            * 0: the header's idle_time_limit, if any */
    bool no_idle_limit;    /* ignore the header's idle_time_limit */
    bool paused;           /* start paused */
    bool raw;              /* pass recorded bytes unfiltered */
    bool no_raw_hint;      /* the caller offers no raw mode (the bastion):
                            * the note of what the filter held back does
                            * not point to --raw */
    bool follow;           /* play a growing recording until it ends */
    uint64_t at_us;        /* start at this time, microseconds */
    int in_fd;             /* keys (a terminal, or -1: no keys) */
    int out_fd;            /* the analyst's terminal */
    /* Called once every file the player needs is open (the recording;
     * under follow, its seal sidecar too), before a recorded byte is
     * interpreted: a set-id caller drops its privilege there. NULL: none.
     * A non-zero return stops the player with PCL_ERR_IO. */
    int (*opened)(void *ctx);
    void *opened_ctx;
};

/* Exit reasons of pcl_replay_run. */
enum pcl_replay_end {
    PCL_REPLAY_END_EOF = 0,    /* played to the end (or the live session
                                * ended under --follow) */
    PCL_REPLAY_END_QUIT = 1,   /* the analyst quit */
};

/*
 * Plays the recording at path on o->out_fd, reading keys from o->in_fd
 * (put in raw mode while playing, restored on return; see
 * portcullis-replay(1) for the key bindings). Sets *end. Returns 0,
 * or PCL_ERR_NOTFOUND / PCL_ERR_IO / PCL_ERR_SYNTAX / PCL_ERR_TOOBIG /
 * PCL_ERR_NOMEM with why (whylen bytes) filled.
 */
int pcl_replay_run(const char *path, const struct pcl_replay_opts *o,
                   enum pcl_replay_end *end, char *why, size_t whylen);

/*
 * Parses a time: seconds ("90", "12.5"), "MM:SS" or "HH:MM:SS[.frac]".
 * Returns 0 with *us in microseconds, or PCL_ERR_SYNTAX.
 */
int pcl_replay_parse_time(const char *s, uint64_t *us);

/* Formats us as "HH:MM:SS.mmm" into buf (at least 16 bytes). */
void pcl_replay_format_time(uint64_t us, char *buf, size_t len);

#endif /* PCL_REPLAY_H */
