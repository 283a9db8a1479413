/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "portcullis/err.h"

/* Closes every descriptor above 2. close_range(2) where the kernel has it,
 * else a walk of /proc/self/fd. */
static void
close_other_fds(void)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0) {
        return;
    }
#endif
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int dfd;

    if (d == NULL) {
        long max = sysconf(_SC_OPEN_MAX);
        for (int fd = 3; fd < (max > 0 ? max : 1024); fd++) {
            close(fd);
        }
        return;
    }
    dfd = dirfd(d);
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        if (fd > 2 && fd != dfd) {
            close(fd);
        }
    }
    closedir(d);
}

int
pcl_proc_harden(void)
{
    struct rlimit rl = { 0, 0 };
    int fd;

    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        return PCL_ERR_SYSTEM;
    }
    if (setrlimit(RLIMIT_CORE, &rl) != 0) {
        return PCL_ERR_SYSTEM;
    }
    umask(027);
    /*
     * Whoever starts a set-id program chooses its limits: a small file size
     * limit would cut an event or a recording short with nothing noticed.
     * Lift it, or refuse to run when the hard limit forbids that.
     */
    {
        struct rlimit fs;
        if (getrlimit(RLIMIT_FSIZE, &fs) != 0) {
            return PCL_ERR_SYSTEM;
        }
        fs.rlim_cur = fs.rlim_max;
        if (fs.rlim_max != RLIM_INFINITY || setrlimit(RLIMIT_FSIZE, &fs) != 0) {
            return PCL_ERR_SYSTEM;
        }
    }
    if (signal(SIGXFSZ, SIG_IGN) == SIG_ERR) {
        return PCL_ERR_SYSTEM;
    }
    /* sshd gives us 0-2; if one is closed, an fd we open later would take
     * its place and receive session output. */
    for (fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
            int nfd = open("/dev/null", O_RDWR);
            if (nfd < 0) {
                return PCL_ERR_SYSTEM;
            }
            if (nfd != fd) {
                /* cannot happen: open takes the lowest free fd */
                close(nfd);
                return PCL_ERR_SYSTEM;
            }
        }
    }
    close_other_fds();
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        return PCL_ERR_SYSTEM;
    }
    /* An ignored SIGCHLD survives exec: children would be reaped by the
     * kernel and their exit status (the vault helper's verdict) lost. */
    if (signal(SIGCHLD, SIG_DFL) == SIG_ERR) {
        return PCL_ERR_SYSTEM;
    }
    return PCL_OK;
}

static int
take(const char *name, char **out)
{
    const char *v = getenv(name);

    *out = NULL;
    if (v == NULL) {
        return PCL_OK;
    }
    *out = strdup(v);
    return *out == NULL ? PCL_ERR_NOMEM : PCL_OK;
}

int
pcl_proc_take_env(struct pcl_proc_env *env)
{
    int rc;

    memset(env, 0, sizeof(*env));
    rc = take("SSH_ORIGINAL_COMMAND", &env->original_command);
    if (rc == PCL_OK) {
        rc = take("SSH_CONNECTION", &env->connection);
    }
    if (rc == PCL_OK) {
        rc = take("TERM", &env->term);
    }
    if (rc == PCL_OK) {
        rc = take("SSH_TTY", &env->tty);
    }
    if (rc == PCL_OK) {
        rc = take("PORTCULLIS_TICKET", &env->ticket);
    }
    /* Even on error: nothing the user set may survive. */
    clearenv();
    if (rc != PCL_OK) {
        pcl_proc_env_clear(env);
    }
    return rc;
}

void
pcl_proc_env_clear(struct pcl_proc_env *env)
{
    free(env->original_command);
    free(env->connection);
    free(env->term);
    free(env->tty);
    if (env->ticket != NULL) {
        explicit_bzero(env->ticket, strlen(env->ticket));
    }
    free(env->ticket);
    memset(env, 0, sizeof(*env));
}

void
pcl_proc_close_fds(int keep)
{
    long max;

    if (keep < 3) {
        close_other_fds();
        return;
    }
#ifdef SYS_close_range
    if ((keep == 3 || syscall(SYS_close_range, 3U, (unsigned)keep - 1,
                              0U) == 0) &&
        syscall(SYS_close_range, (unsigned)keep + 1, ~0U, 0U) == 0) {
        return;
    }
#endif
    max = sysconf(_SC_OPEN_MAX);
    for (long fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++) {
        if (fd != keep) {
            (void)close((int)fd);
        }
    }
}

int
pcl_proc_drop_group(void)
{
    gid_t rgid = getgid();
    gid_t r, e, sv;

    if (setresgid(rgid, rgid, rgid) != 0) {
        return PCL_ERR_SYSTEM;
    }
    if (getresgid(&r, &e, &sv) != 0 || r != rgid || e != rgid ||
        sv != rgid) {
        return PCL_ERR_SYSTEM;
    }
    return PCL_OK;
}

/* capget(2)/capset(2) on this thread: libc has no wrappers, and libcap
 * would be a dependency for three calls. */
static int
caps_get(struct __user_cap_data_struct d[2])
{
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };

    return (int)syscall(SYS_capget, &h, d);
}

static int
caps_set(struct __user_cap_data_struct d[2])
{
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };

    return (int)syscall(SYS_capset, &h, d);
}

int
pcl_proc_limit_caps(void)
{
    struct __user_cap_data_struct d[2];
    uint32_t keep = CAP_TO_MASK(CAP_AUDIT_WRITE);

    /* Both sets of the ambient kind are empty after exec of a program
     * with file capabilities; cleared again in case of an older kernel. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 &&
        errno != EINVAL) {
        return PCL_ERR_SYSTEM;
    }
    if (caps_get(d) != 0) {
        return PCL_ERR_SYSTEM;
    }
    d[0].permitted &= keep;
    d[1].permitted = 0;
    d[0].effective = 0;
    d[1].effective = 0;
    d[0].inheritable = 0;
    d[1].inheritable = 0;
    if (caps_set(d) != 0) {
        return PCL_ERR_SYSTEM;
    }
    if (caps_get(d) != 0 || (d[0].permitted & ~keep) != 0 ||
        d[1].permitted != 0 || d[0].effective != 0 || d[1].effective != 0 ||
        d[0].inheritable != 0 || d[1].inheritable != 0) {
        return PCL_ERR_SYSTEM;
    }
    return PCL_OK;
}

bool
pcl_proc_cap_raise(int cap)
{
    struct __user_cap_data_struct d[2];
    uint32_t bit = CAP_TO_MASK(cap);
    int i = CAP_TO_INDEX(cap);

    if (cap < 0 || i > 1 || caps_get(d) != 0 ||
        (d[i].effective & bit) != 0 || (d[i].permitted & bit) == 0) {
        return false;
    }
    d[i].effective |= bit;
    return caps_set(d) == 0;
}

void
pcl_proc_cap_lower(int cap)
{
    struct __user_cap_data_struct d[2];
    int i = CAP_TO_INDEX(cap);
    int saved = errno;

    if (cap >= 0 && i <= 1 && caps_get(d) == 0) {
        d[i].effective &= ~CAP_TO_MASK(cap);
        (void)caps_set(d);
    }
    errno = saved;
}

int
pcl_proc_session_id(char *out, size_t outlen)
{
    unsigned char raw[16];
    size_t i;

    if (outlen < 2 * sizeof(raw) + 1) {
        return PCL_ERR_INVAL;
    }
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        return PCL_ERR_CRYPTO;
    }
    for (i = 0; i < sizeof(raw); i++) {
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    }
    return PCL_OK;
}
