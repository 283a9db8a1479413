/* SPDX-License-Identifier: BSD-2-Clause */
/* Diagnostic logging to stderr (tools) or syslog (the proxy); not audit. */
#ifndef PCL_LOG_H
#define PCL_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

enum pcl_log_level {
    PCL_LOG_ERROR = 0,
    PCL_LOG_INFO = 1,
    PCL_LOG_VERBOSE = 2,
    PCL_LOG_DEBUG1 = 3,
    PCL_LOG_DEBUG2 = 4,
    PCL_LOG_DEBUG3 = 5,
};

enum pcl_log_sink {
    PCL_LOG_STDERR = 0,
    PCL_LOG_SYSLOG = 1,
    PCL_LOG_FILE = 2,
};

/*
 * Sets up the process-wide logger: ident names the program, sink where lines
 * go (syslog uses LOG_AUTHPRIV), level the most verbose level kept.
 * Call once from main(); never from the PAM module.
 */
void pcl_log_init(const char *ident, enum pcl_log_sink sink,
                  enum pcl_log_level level);

/* Sends lines to fp (owned by the logger from now on) instead of stderr or
 * syslog: `portcullis -E FILE`. */
void pcl_log_set_file(FILE *fp);

/* Where a host program sends lib lines instead (the PAM module: to
 * pam_syslog, since a module must not openlog): fn gets each kept line
 * with its level; NULL restores the sink of pcl_log_init. ctx is passed
 * back as is. */
typedef void (*pcl_log_hook_fn)(void *ctx, enum pcl_log_level level,
                                const char *msg);
void pcl_log_set_hook(pcl_log_hook_fn fn, void *ctx);

/* The descriptor of the -E log file, or -1 when lines go to syslog or
 * stderr: what a child that closes its descriptors must keep. */
int pcl_log_fd(void);

/* The most verbose level kept now. */
enum pcl_log_level pcl_log_get_level(void);

/* Logs one line; file, func and line name the caller. printf-style fmt. */
void pcl_log(const char *file, const char *func, int line,
             enum pcl_log_level level, int with_func, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/*
 * Copies untrusted text into dst (dstlen bytes, always NUL-terminated),
 * replacing control and non-ASCII bytes with '?' and cutting at dstlen-1.
 * Returns dst, so it can be used as a printf argument.
 */
char *pcl_log_sanitize(char *dst, size_t dstlen, const char *src);

#define error(...) pcl_log(__FILE__, __func__, __LINE__, PCL_LOG_ERROR, 0, __VA_ARGS__)
#define info(...) pcl_log(__FILE__, __func__, __LINE__, PCL_LOG_INFO, 0, __VA_ARGS__)
#define verbose(...) pcl_log(__FILE__, __func__, __LINE__, PCL_LOG_VERBOSE, 0, __VA_ARGS__)
#define debug(...) pcl_log(__FILE__, __func__, __LINE__, PCL_LOG_DEBUG1, 0, __VA_ARGS__)
#define debug2(...) pcl_log(__FILE__, __func__, __LINE__, PCL_LOG_DEBUG2, 0, __VA_ARGS__)
#define debug3(...) pcl_log(__FILE__, __func__, __LINE__, PCL_LOG_DEBUG3, 0, __VA_ARGS__)
#define error_f(...) pcl_log(__FILE__, __func__, __LINE__, PCL_LOG_ERROR, 1, __VA_ARGS__)
#define debug_f(...) pcl_log(__FILE__, __func__, __LINE__, PCL_LOG_DEBUG1, 1, __VA_ARGS__)

#endif /* PCL_LOG_H */
