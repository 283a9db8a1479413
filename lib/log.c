/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

/* The logger is one of the two globals STYLE.md allows in lib/. */
static const char *log_ident = "portcullis";
static enum pcl_log_sink log_sink = PCL_LOG_STDERR;
static enum pcl_log_level log_level = PCL_LOG_INFO;
static FILE *log_file;
static pcl_log_hook_fn log_hook;
static void *log_hook_ctx;

void
pcl_log_init(const char *ident, enum pcl_log_sink sink,
             enum pcl_log_level level)
{
    log_ident = ident;
    log_sink = sink;
    log_level = level;
    if (sink == PCL_LOG_SYSLOG) {
        openlog(ident, LOG_PID, LOG_AUTHPRIV);
    }
}

void
pcl_log_set_hook(pcl_log_hook_fn fn, void *ctx)
{
    log_hook = fn;
    log_hook_ctx = ctx;
}

enum pcl_log_level
pcl_log_get_level(void)
{
    return log_level;
}

void
pcl_log_set_file(FILE *fp)
{
    log_file = fp;
    log_sink = PCL_LOG_FILE;
    setvbuf(fp, NULL, _IOLBF, 0);
}

int
pcl_log_fd(void)
{
    return log_file != NULL ? fileno(log_file) : -1;
}

void
pcl_log(const char *file, const char *func, int line,
        enum pcl_log_level level, int with_func, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    int saved_errno = errno;
    int prio;

    (void)file;
    (void)line;
    if (level > log_level) {
        errno = saved_errno;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    if (log_hook != NULL) {
        log_hook(log_hook_ctx, level, msg);
    } else if (log_sink == PCL_LOG_SYSLOG) {
        prio = level == PCL_LOG_ERROR ? LOG_ERR
             : level == PCL_LOG_INFO ? LOG_INFO
             : level == PCL_LOG_VERBOSE ? LOG_INFO : LOG_DEBUG;
        if (with_func) {
            syslog(prio, "%s: %s", func, msg);
        } else {
            syslog(prio, "%s", msg);
        }
    } else {
        FILE *out = log_sink == PCL_LOG_FILE && log_file != NULL ? log_file
                                                                 : stderr;
        if (with_func) {
            fprintf(out, "%s[%ld]: %s: %s\n", log_ident, (long)getpid(),
                    func, msg);
        } else {
            fprintf(out, "%s[%ld]: %s\n", log_ident, (long)getpid(), msg);
        }
    }
    errno = saved_errno;
}

char *
pcl_log_sanitize(char *dst, size_t dstlen, const char *src)
{
    size_t i;

    if (dstlen == 0) {
        return dst;
    }
    if (src == NULL) {
        src = "(null)";
    }
    for (i = 0; i + 1 < dstlen && src[i] != '\0'; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
    }
    dst[i] = '\0';
    return dst;
}
