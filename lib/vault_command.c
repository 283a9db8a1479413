/* SPDX-License-Identifier: BSD-2-Clause */
/* The command backend of the vault: an external helper, run as sshd runs
 * AuthorizedKeysCommand: argv from the configuration, no shell, an empty
 * environment, a time limit and an output cap. */
#include "config.h"

#include "portcullis/vault.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "portcullis/err.h"
#include "portcullis/file.h"
#include "portcullis/log.h"

#define HELPER_ARGS_MAX 32
#define HELPER_ARG_MAX 1024 /* bytes of one expanded argument */

/* A token's value goes into one argument: no blank, no control byte. */
static bool
token_ok(const char *v)
{
    const unsigned char *p;

    if (v == NULL || v[0] == '\0') {
        return false;
    }
    for (p = (const unsigned char *)v; *p != '\0'; p++) {
        if (*p <= ' ' || *p == 0x7f) {
            return false;
        }
    }
    return true;
}

/* Expands the %-tokens of word into out (outlen bytes). */
static int
expand(const char *word, const struct pcl_vault_request *req, char *out,
       size_t outlen, char *why, size_t whylen)
{
    size_t n = 0;
    const char *w;

    for (w = word; *w != '\0'; w++) {
        const char *val = NULL;
        char one[2] = { *w, '\0' };
        if (*w == '%') {
            w++;
            switch (*w) {
            case 't':
                val = req->target;
                break;
            case 'a':
                val = req->account;
                break;
            case 'u':
                val = req->user;
                break;
            case 'c':
                val = req->name;
                break;
            case 's':
                val = req->session_id;
                break;
            case '%':
                val = "%";
                break;
            default:
                pcl_err_why(why, whylen, "[vault] command: unknown token "
                            "%%%c (%%t %%a %%u %%c %%s %%%%)",
                            *w == '\0' ? ' ' : *w);
                return PCL_ERR_CONFIG;
            }
            if (*w != '%' && !token_ok(val)) {
                pcl_err_why(why, whylen, "[vault] command: token %%%c has "
                            "no value fit for an argument", *w);
                return PCL_ERR_CONFIG;
            }
        } else {
            val = one;
        }
        if (n + strlen(val) >= outlen) {
            pcl_err_why(why, whylen, "[vault] command: argument too long");
            return PCL_ERR_TOOBIG;
        }
        memcpy(out + n, val, strlen(val));
        n += strlen(val);
    }
    out[n] = '\0';
    return PCL_OK;
}

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The child: stdin and stderr on /dev/null, stdout the pipe, no other fd,
 * an environment of PATH alone. Never returns. */
static void __attribute__((noreturn))
child(char *const argv[], int outfd)
{
    static char *const envp[] = { "PATH=/usr/bin:/bin", NULL };
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    long fd;
    long maxfd = sysconf(_SC_OPEN_MAX);

    /* Its own process group, so a timeout kills what it started too. */
    if (null < 0 || setpgid(0, 0) != 0 || chdir("/") != 0 ||
        dup2(null, STDIN_FILENO) < 0 ||
        dup2(outfd, STDOUT_FILENO) < 0 || dup2(null, STDERR_FILENO) < 0) {
        _exit(127);
    }
    for (fd = 3; fd < (maxfd > 0 && maxfd < 65536 ? maxfd : 65536); fd++) {
        (void)close((int)fd);
    }
    {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = SIG_DFL;
        (void)sigaction(SIGPIPE, &sa, NULL);
    }
    execve(argv[0], argv, envp);
    _exit(127);
}

int
pcl_vault_run_helper(const char *command, unsigned timeout_ms,
                     size_t max_output, const struct pcl_vault_request *req,
                     struct pcl_secret **out, char *why, size_t whylen)
{
    char *argv[HELPER_ARGS_MAX + 1];
    char *copy = NULL;
    char *save = NULL;
    char *tok;
    struct pcl_secret *buf = NULL;
    size_t argc = 0;
    size_t got = 0;
    bool too_big = false;
    bool timed_out = false;
    bool reaped = false;
    long long deadline;
    pid_t pid = -1;
    int pfd[2] = { -1, -1 };
    int status = 0;
    size_t i;
    int rc;

    *out = NULL;
    memset(argv, 0, sizeof(argv));
    copy = strdup(command);
    if (copy == NULL) {
        pcl_err_why(why, whylen, "out of memory");
        return PCL_ERR_NOMEM;
    }
    rc = PCL_OK;
    for (tok = strtok_r(copy, " \t", &save); tok != NULL && rc == PCL_OK;
         tok = strtok_r(NULL, " \t", &save)) {
        if (argc == HELPER_ARGS_MAX) {
            pcl_err_why(why, whylen, "[vault] command: more than %d "
                        "arguments", HELPER_ARGS_MAX);
            rc = PCL_ERR_CONFIG;
            break;
        }
        argv[argc] = malloc(HELPER_ARG_MAX);
        if (argv[argc] == NULL) {
            rc = PCL_ERR_NOMEM;
            break;
        }
        rc = expand(tok, req, argv[argc], HELPER_ARG_MAX, why, whylen);
        argc++;
    }
    if (rc == PCL_OK && (argc == 0 || argv[0][0] != '/')) {
        pcl_err_why(why, whylen, "[vault] command must start with an "
                    "absolute path");
        rc = PCL_ERR_CONFIG;
    }
    if (rc == PCL_OK) {
        /* It runs with the group portcullis: nobody else may change it. */
        rc = pcl_file_check_program(argv[0], why, whylen);
        if (rc != PCL_OK) {
            rc = PCL_ERR_PERM;
            goto out;
        }
    }
    if (rc == PCL_OK) {
        /* One byte over the cap tells "too big" from "exactly the cap". */
        rc = pcl_secret_new(PCL_VAULT_PASSWORD, max_output + 1, &buf);
    }
    if (rc == PCL_OK && pipe2(pfd, O_CLOEXEC) != 0) {
        pcl_err_why(why, whylen, "pipe: %s", strerror(errno));
        rc = PCL_ERR_SYSTEM;
    }
    if (rc != PCL_OK) {
        if (rc == PCL_ERR_NOMEM) {
            pcl_err_why(why, whylen, "out of memory");
        }
        goto out;
    }
    pid = fork();
    if (pid < 0) {
        pcl_err_why(why, whylen, "fork: %s", strerror(errno));
        rc = PCL_ERR_SYSTEM;
        goto out;
    }
    if (pid == 0) {
        child(argv, pfd[1]);
    }
    (void)setpgid(pid, pid); /* as the child does: no race either way */
    close(pfd[1]);
    pfd[1] = -1;
    deadline = now_ms() + timeout_ms;
    for (;;) {
        struct pollfd p = { pfd[0], POLLIN, 0 };
        long long left = deadline - now_ms();
        ssize_t r;
        if (left <= 0) {
            timed_out = true;
            break;
        }
        r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            timed_out = r == 0;
            break;
        }
        r = read(pfd[0], buf->data + got, max_output + 1 - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
        if (got > max_output) {
            too_big = true;
            break;
        }
    }
    /* Its output ended (or it closed stdout): the time limit still holds
     * for its exit, or a helper that lingers would hold the session. */
    while (!timed_out && !too_big) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR)) {
            reaped = w == pid;
            break;
        }
        if (now_ms() >= deadline) {
            timed_out = true;
            break;
        }
        (void)poll(NULL, 0, 10);
    }
    if (timed_out || too_big) {
        (void)kill(-pid, SIGKILL);
        (void)kill(pid, SIGKILL);
    }
    if (!reaped) {
        pid_t w;
        while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
        }
        reaped = w == pid;
    }
    pid = -1;
    rc = PCL_ERR_CONFIG;
    if (!reaped && !timed_out && !too_big) {
        /* No exit status (SIGCHLD ignored by whoever started us): the
         * helper's verdict is unknown, so its output is not used. */
        pcl_err_why(why, whylen, "vault helper %s: its exit status is "
                    "lost (SIGCHLD ignored?)", argv[0]);
    } else if (timed_out) {
        pcl_err_why(why, whylen, "vault helper %s timed out after %u ms",
                    argv[0], timeout_ms);
    } else if (too_big) {
        pcl_err_why(why, whylen, "vault helper %s wrote more than %zu "
                    "bytes", argv[0], max_output);
    } else if (WIFSIGNALED(status)) {
        pcl_err_why(why, whylen, "vault helper %s killed by signal %d",
                    argv[0], WTERMSIG(status));
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        pcl_err_why(why, whylen, "vault helper %s exited with status %d",
                    argv[0], WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    } else {
        if (got > 0 && buf->data[got - 1] == '\n' &&
            memcmp(buf->data, "-----BEGIN ", 11) != 0) {
            got--;
        }
        if (got == 0 || memchr(buf->data, '\0', got) != NULL) {
            pcl_err_why(why, whylen, "vault helper %s wrote no credential "
                        "(empty, or a NUL byte)", argv[0]);
        } else {
            rc = PCL_OK;
        }
    }
    if (rc == PCL_OK) {
        buf->len = got;
        buf->data[got] = '\0';
        buf->type = memcmp(buf->data, "-----BEGIN ", 11) == 0
                        ? PCL_VAULT_SSH_KEY
                        : PCL_VAULT_PASSWORD;
        if (buf->type == PCL_VAULT_PASSWORD &&
            memchr(buf->data, '\n', got) != NULL) {
            pcl_err_why(why, whylen, "vault helper %s wrote more than one "
                        "line for a password", argv[0]);
            rc = PCL_ERR_CONFIG;
        } else {
            *out = buf; /* transfer ownership */
            buf = NULL;
        }
    }
out:
    if (pfd[0] >= 0) {
        close(pfd[0]);
    }
    if (pfd[1] >= 0) {
        close(pfd[1]);
    }
    pcl_secret_free(buf);
    for (i = 0; i < argc; i++) {
        free(argv[i]);
    }
    free(copy);
    return rc;
}
