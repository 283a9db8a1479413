/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis: the sshd ForceCommand of the bastion. Process glue only: the
 * logic lives in lib/. Runs as the logged-in user, setgid portcullis, with
 * the file capability cap_audit_write=p for its Linux audit records.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "portcullis/audit.h"
#include "portcullis/cmdline.h"
#include "portcullis/conf.h"
#include "portcullis/err.h"
#include "portcullis/file.h"
#include "portcullis/ini.h"
#include "portcullis/log.h"
#include "portcullis/policy.h"
#include "portcullis/mask.h"
#include "portcullis/proc.h"
#include "portcullis/recorder.h"
#include "portcullis/relay.h"
#include "portcullis/sessindex.h"
#include "portcullis/replay.h"
#include "portcullis/sessquery.h"
#include "portcullis/sshconn.h"
#include "portcullis/vault.h"

#include "jit.h"
#include "portcullis/ticket.h"


/* Exit codes of the proxy itself (portcullis(8), EXIT STATUS). The target's
 * own exit status is passed through unchanged. */
#define EXIT_USAGE 64    /* EX_USAGE: malformed command */
#define EXIT_SOFTWARE 70 /* EX_SOFTWARE: internal error */
#define EXIT_DENIED 77   /* EX_NOPERM: policy said no, or no such target */
#define EXIT_CONFIG 78   /* EX_CONFIG: configuration or permissions */
#define EXIT_TARGET 255  /* the target leg failed, as ssh(1) reports it */

#define DEFAULT_CONFIG SYSCONFDIR "/portcullis/portcullis.conf"
#define SEAL_KEY_MAX 4096       /* bytes of the seal key file */
#define MAX_MASKS PCL_POLICY_MASKS_MAX /* mask rule sets per target */
#define RELAY_BUFFER (256 * 1024) /* bytes per direction */
#define MAX_GROUPS 256

#ifdef __SANITIZE_ADDRESS__
/* A set-id process is not dumpable, so LeakSanitizer cannot read its own
 * memory map and would abort every run; leaks are checked by the unit
 * tests (which are not set-id) and with valgrind. ASan builds only. */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
    return "detect_leaks=0";
}
#endif

/* Everything one invocation knows, passed around instead of globals. */
struct proxy {
    const char *config_path;
    struct pcl_conf *conf;
    struct pcl_policy *policy;
    struct pcl_audit *audit;
    struct pcl_proc_env env;
    char session_id[33];
    char user[LOGIN_NAME_MAX + 1];
    char *groups[MAX_GROUPS];
    size_t ngroups;
    struct pcl_identity id;
    char source[128];
    char addr[64];                 /* client address alone, or "" */
    char rec_path[PATH_MAX];
    struct pcl_sessindex *index;   /* NULL when there is none */
    struct timespec start;
    struct jit jit;                /* just-in-time approval (jit.c) */
    struct pcl_ticket ticket;      /* from pam_portcullis, when has_ticket */
    bool has_ticket;
    char idp_groups[PCL_TICKET_GROUPS_MAX];
};

static void __attribute__((noreturn))
usage(void)
{
    fprintf(stderr,
            "usage: portcullis [-dtTV] [-E log_file] [-f config_file]\n");
    exit(EXIT_USAGE);
}

/* A message for the person at the other end of ssh (also jit.c's). */
void __attribute__((format(printf, 1, 2)))
tell(const char *fmt, ...)
{
    va_list ap;

    fputs("portcullis: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\r\n" + (isatty(STDERR_FILENO) ? 0 : 1), stderr);
    fflush(stderr);
}

static void __attribute__((noreturn))
fatal(int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    error("%s", msg);
    exit(code);
}

/* Opens the -E log file with the invoking user's own group, so the setgid
 * bit cannot be used to append to files of group portcullis. */
static FILE *
open_log_file(const char *path)
{
    gid_t egid = getegid();
    FILE *fp = NULL;
    int fd;

    if (setegid(getgid()) != 0) {
        return NULL;
    }
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
                        O_NOCTTY, 0600);
    if (setegid(egid) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        fprintf(stderr, "portcullis: cannot restore group\n");
        exit(EXIT_SOFTWARE);
    }
    if (fd >= 0) {
        fp = fdopen(fd, "a");
        if (fp == NULL) {
            close(fd);
        }
    }
    return fp;
}

static enum pcl_log_level
level_from_name(const char *name)
{
    static const char *const names[] = {
        "error", "info", "verbose", "debug", "debug2", "debug3",
    };
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i]) == 0) {
            return (enum pcl_log_level)i;
        }
    }
    return PCL_LOG_INFO;
}

static int
check_algorithms(const char *key, const char *list, char *why, size_t whylen)
{
    return pcl_sshconn_check_algorithms(key, list, why, whylen);
}

static int
check_host_key(const char *pin, char *why, size_t whylen)
{
    return pcl_sshconn_check_host_key(pin, why, whylen);
}

static int
check_mask_pattern(const char *pattern, char *why, size_t whylen)
{
    struct pcl_mask *m = NULL;
    int rc = pcl_mask_new(1, &m);

    if (rc == PCL_OK) {
        rc = pcl_mask_add_rule(m, "pattern", pattern, "", why, whylen);
    }
    pcl_mask_free(m);
    return rc;
}

/* The vault as configured can be used: its directory (or the legacy
 * credentials directory) and master key file have safe modes; a command
 * backend names an absolute path. No secret is read. */
static int
check_vault(const struct pcl_conf *c, char *why, size_t whylen)
{
    char sub[400];
    FILE *fp = NULL;
    int rc = PCL_OK;

    if (strcmp(c->vault_backend, "keys") == 0) {
        rc = pcl_file_check_dir(c->credentials, PCL_FILE_DIR, sub,
                                sizeof(sub));
        if (rc != PCL_OK) {
            snprintf(why, whylen, "credentials: %s", sub);
        }
    } else if (strcmp(c->vault_backend, "file") == 0 ||
               strcmp(c->vault_backend, "ssh-ca") == 0) {
        rc = pcl_file_check_dir(c->vault_directory, PCL_FILE_DIR, sub,
                                sizeof(sub));
        if (rc == PCL_OK) {
            rc = pcl_file_open(c->vault_master_key, PCL_FILE_SECRET, &fp, sub,
                               sizeof(sub));
        }
        if (fp != NULL) {
            fclose(fp);
        }
        if (rc != PCL_OK) {
            snprintf(why, whylen, "[vault] %s", sub);
        }
    } else if (c->vault_command[0] != '/') {
        snprintf(why, whylen, "[vault] command: must start with the "
                 "absolute path of the helper");
        rc = PCL_ERR_CONFIG;
    }
    return rc;
}

/* Loads both files. Returns the number of errors (all in diag). */
static size_t
load_config(struct proxy *px, struct pcl_diag *diag)
{
    static const struct pcl_policy_checks checks = {
        check_algorithms, check_host_key, check_mask_pattern,
    };
    FILE *fp = NULL;
    char why[512];
    size_t i;
    int rc;

    if (pcl_conf_load(px->config_path, diag, &px->conf) != PCL_OK) {
        return pcl_diag_count(diag);
    }
    (void)pcl_policy_load(px->conf->policy, &checks, diag, &px->policy);
    rc = check_vault(px->conf, why, sizeof(why));
    if (rc != PCL_OK) {
        pcl_diag_add(diag, px->config_path, 0, "%s", why);
    }
    rc = pcl_file_check_dir(px->conf->rec_directory, PCL_FILE_SPOOL, why,
                            sizeof(why));
    if (rc != PCL_OK) {
        pcl_diag_add(diag, px->config_path, 0, "recording directory: %s",
                     why);
    }
    if (px->conf->rec_index[0] != '\0') {
        /* The index belongs to whichever user's proxy created it: like
         * the recordings, only its directory keeps that user out. */
        char dir[PATH_MAX];
        const char *slash = strrchr(px->conf->rec_index, '/');
        snprintf(dir, sizeof(dir), "%.*s",
                 slash != NULL && slash != px->conf->rec_index
                     ? (int)(slash - px->conf->rec_index)
                     : 1,
                 slash != NULL ? px->conf->rec_index : "/");
        rc = pcl_file_check_dir(dir, PCL_FILE_SPOOL, why, sizeof(why));
        /* Missing: sessions go on without their rows (index-failure),
         * as before; open to others: refused. */
        if (rc != PCL_OK && rc != PCL_ERR_NOTFOUND) {
            pcl_diag_add(diag, px->config_path, 0,
                         "session index directory: %s", why);
        }
    }
    for (i = 0; px->policy != NULL && i < pcl_policy_ntargets(px->policy);
         i++) {
        if (pcl_target_has_approval(pcl_policy_target(px->policy, i))) {
            /* Some session may need approval: the store must be usable. */
            rc = pcl_file_check_dir(px->conf->appr_directory, PCL_FILE_SPOOL,
                                    why, sizeof(why));
            if (rc != PCL_OK) {
                pcl_diag_add(diag, px->config_path, 0,
                             "approval directory: %s", why);
            }
            break;
        }
    }
    rc = pcl_file_open(px->conf->rec_seal_key, PCL_FILE_SECRET, &fp, why,
                       sizeof(why));
    if (rc != PCL_OK) {
        pcl_diag_add(diag, px->config_path, 0, "seal-key: %s", why);
    } else {
        fclose(fp);
    }
    return pcl_diag_count(diag);
}

/* Who is asking: the real uid's name and every group it belongs to. */
static int
identify(struct proxy *px)
{
    struct passwd *pw = getpwuid(getuid());
    gid_t gids[MAX_GROUPS];
    int ngids = MAX_GROUPS;
    int i;

    if (pw == NULL || strlen(pw->pw_name) >= sizeof(px->user)) {
        return PCL_ERR_NOTFOUND;
    }
    snprintf(px->user, sizeof(px->user), "%s", pw->pw_name);
    /* Every group must be known, or a "!group:" exclusion could be
     * missed: too many groups, or one whose name cannot be looked up
     * (directory down), fails closed. */
    if (getgrouplist(px->user, pw->pw_gid, gids, &ngids) < 0) {
        error("%s is in more than %d groups", px->user, MAX_GROUPS);
        return PCL_ERR_TOOBIG;
    }
    for (i = 0; i < ngids; i++) {
        struct group *gr = getgrgid(gids[i]);
        if (gr == NULL) {
            error("group %ld of %s has no name (group database "
                  "unavailable?)", (long)gids[i], px->user);
            return PCL_ERR_NOTFOUND;
        }
        px->groups[px->ngroups] = strdup(gr->gr_name);
        if (px->groups[px->ngroups] == NULL) {
            return PCL_ERR_NOMEM;
        }
        px->ngroups++;
    }
    px->id.user = px->user;
    px->id.groups = (const char *const *)px->groups;
    px->id.ngroups = px->ngroups;
    return PCL_OK;
}

/* "client_ip client_port" from SSH_CONNECTION, for logs and audit. */
static void
source_of(struct proxy *px)
{
    char ip[64];
    unsigned port;

    if (px->env.connection != NULL &&
        sscanf(px->env.connection, "%63s %u", ip, &port) == 2) {
        char clean[64];
        snprintf(px->source, sizeof(px->source), "%s port %u",
                 pcl_log_sanitize(clean, sizeof(clean), ip), port);
        snprintf(px->addr, sizeof(px->addr), "%s", clean);
    } else {
        snprintf(px->source, sizeof(px->source), "local");
    }
}

static int emit_decision(struct proxy *px, const char *target,
                         const char *account, const char *command,
                         bool allow, const char *rule, const char *reason);

/*
 * The identity ticket of pam_portcullis (pam_portcullis(8)): verified with
 * the ticket key while the group privilege is held; its IdP groups join
 * the local ones for policy. A ticket that does not verify refuses the
 * request; no ticket refuses it only with [oidc] require-ticket. Returns
 * 0 or an exit code after telling the user and the event log.
 */
static int
check_ticket(struct proxy *px)
{
    char why[256];
    size_t i;
    int rc;

    rc = pcl_ticket_check(px->conf->oidc_ticket_key, px->env.ticket,
                          px->user, time(NULL), &px->ticket, why,
                          sizeof(why));
    if (rc == PCL_ERR_NOTFOUND && !px->conf->oidc_require_ticket) {
        debug("no identity ticket: local groups only");
        return 0;
    }
    /* A ticket from an issuer no longer configured (the IdP replaced)
     * carries that IdP's groups: refused, as the remembered sign-ins of
     * pam_portcullis are. */
    if (rc == PCL_OK && px->conf->oidc_issuer[0] != '\0' &&
        strcmp(px->ticket.iss, px->conf->oidc_issuer) != 0) {
        snprintf(why, sizeof(why), "ticket from another issuer");
        rc = PCL_ERR_DENIED;
    }
    if (rc != PCL_OK) {
        error("identity ticket refused: %s", why);
        emit_decision(px, NULL, NULL, px->env.original_command, false,
                      "identity-ticket", why);
        tell("your sign-in could not be verified; sign in again");
        return rc == PCL_ERR_CONFIG || rc == PCL_ERR_PERM ? EXIT_CONFIG
                                                          : EXIT_DENIED;
    }
    if (px->ngroups + px->ticket.ngroups > MAX_GROUPS) {
        emit_decision(px, NULL, NULL, px->env.original_command, false,
                      "identity-ticket", "too many groups");
        tell("cannot establish who you are; contact the bastion "
             "administrators");
        return EXIT_DENIED;
    }
    for (i = 0; i < px->ticket.ngroups; i++) {
        px->groups[px->ngroups] = strdup(px->ticket.groups[i]);
        if (px->groups[px->ngroups] == NULL) {
            fatal(EXIT_SOFTWARE, "out of memory");
        }
        px->ngroups++;
    }
    /* Cannot overflow: sized for every group a ticket may carry. */
    (void)pcl_ticket_join_groups(&px->ticket, ",", false, px->idp_groups,
                                 sizeof(px->idp_groups));
    px->id.ngroups = px->ngroups;
    px->has_ticket = true;
    info("identity ticket of %s: sub %.100s, %zu IdP groups, %s", px->user,
         px->ticket.sub, px->ticket.ngroups, px->ticket.method);
    return 0;
}

static int
emit(struct proxy *px, const char *event, const char *target,
     const char *account, const char *command,
     const struct pcl_audit_field *extra, size_t nextra)
{
    struct pcl_audit_field f[32];
    char pid[16];
    size_t n = 0;
    size_t i;

    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    f[n++] = (struct pcl_audit_field){ "session_id", px->session_id };
    f[n++] = (struct pcl_audit_field){ "user", px->user };
    f[n++] = (struct pcl_audit_field){ "source", px->source };
    f[n++] = (struct pcl_audit_field){ "target", target };
    f[n++] = (struct pcl_audit_field){ "account", account };
    f[n++] = (struct pcl_audit_field){ "command", command };
    f[n++] = (struct pcl_audit_field){ "pid", pid };
    for (i = 0; i < nextra && n < sizeof(f) / sizeof(f[0]); i++) {
        f[n++] = extra[i];
    }
    if (pcl_audit_emit(px->audit, event, f, n) != PCL_OK) {
        error("event %s not written to the event log", event);
        return PCL_ERR_IO;
    }
    return PCL_OK;
}

/* emit() for jit.c. */
static int
jit_emit(void *ctx, const char *event, const char *target,
         const char *account, const char *command,
         const struct pcl_audit_field *extra, size_t nextra)
{
    return emit(ctx, event, target, account, command, extra, nextra);
}

/* Returns 0, or PCL_ERR_IO when the event log could not take the event:
 * an allowed session must not start unrecorded in the event log. */
static int
emit_decision(struct proxy *px, const char *target, const char *account,
              const char *command, bool allow, const char *rule,
              const char *reason)
{
    const struct pcl_audit_field f[] = {
        { "decision", allow ? "allow" : "deny" },
        { "rule", rule },
        { "reason", reason },
        /* with an identity ticket only (pam_portcullis(8)) */
        { "subject", px->has_ticket ? px->ticket.sub : NULL },
        { "issuer", px->has_ticket ? px->ticket.iss : NULL },
        { "idp_groups", px->has_ticket ? px->idp_groups : NULL },
    };
    char t[PCL_CMDLINE_TARGET_MAX + 1];
    char r[300];

    info("session %s: %s %s to %s as %s from %s: %s (%s)", px->session_id,
         allow ? "allow" : "deny", px->user,
         pcl_log_sanitize(t, sizeof(t), target != NULL ? target : "-"),
         account != NULL ? account : "-", px->source,
         pcl_log_sanitize(r, sizeof(r), reason), rule);
    return emit(px, "decision", target, account, command, f,
                sizeof(f) / sizeof(f[0]));
}

/* Targets this user may reach, in policy order, in *out (caller frees).
 * Returns the count; out of memory is fatal. */
static size_t
allowed_targets(struct proxy *px, const struct pcl_target ***out)
{
    size_t total = pcl_policy_ntargets(px->policy);
    size_t i;
    size_t n = 0;

    *out = calloc(total > 0 ? total : 1, sizeof(**out));
    if (*out == NULL) {
        fatal(EXIT_SOFTWARE, "out of memory");
    }
    for (i = 0; i < total; i++) {
        const struct pcl_target *t = pcl_policy_target(px->policy, i);
        if (pcl_target_is_allowed(t, &px->id)) {
            (*out)[n++] = t;
        }
    }
    return n;
}

static int
list_targets(struct proxy *px)
{
    const struct pcl_target **t = NULL;
    size_t n = allowed_targets(px, &t);
    size_t i;

    for (i = 0; i < n; i++) {
        printf("%s\t%s\n", pcl_target_name(t[i]),
               pcl_target_description(t[i]));
    }
    if (n == 0) {
        tell("no targets are open to %s", px->user);
    }
    free(t);
    return fflush(stdout) == 0 ? 0 : EXIT_SOFTWARE;
}

/* Reads one line from the terminal with read(2), so no byte the user typed
 * after it is swallowed by stdio before the relay starts. */
static int
read_choice(char *buf, size_t len)
{
    size_t n = 0;
    char c;

    bool too_long = false;

    for (;;) {
        ssize_t r = read(STDIN_FILENO, &c, 1);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            if (n == 0) {
                return -1;
            }
            break;
        }
        if (c == '\n' || c == '\r') {
            break;
        }
        if (n + 1 < len) {
            buf[n++] = c;
        } else {
            too_long = true; /* read on to the end of the line */
        }
    }
    buf[too_long ? 0 : n] = '\0';
    if (too_long) {
        buf[0] = '?'; /* never a valid choice */
        buf[1] = '\0';
    }
    return 0;
}

/* The menu of ssh -t bastion: returns the picked target or NULL. */
static const struct pcl_target *
menu(struct proxy *px)
{
    const struct pcl_target **t = NULL;
    const struct pcl_target *picked = NULL;
    size_t n = allowed_targets(px, &t);
    char line[32];
    unsigned long pick;
    char *end;
    size_t i;

    if (n == 0) {
        tell("no targets are open to %s", px->user);
        free(t);
        return NULL;
    }
    while (picked == NULL) {
        printf("Targets open to %s:\n", px->user);
        for (i = 0; i < n; i++) {
            printf("  %zu) %-20s %s\n", i + 1, pcl_target_name(t[i]),
                   pcl_target_description(t[i]));
        }
        printf("Select a target [1-%zu, q to quit]: ", n);
        fflush(stdout);
        if (read_choice(line, sizeof(line)) != 0 || strcmp(line, "q") == 0) {
            break;
        }
        /* Digits only: no sign, no blanks, no wrap-around. */
        pick = 0;
        if (line[0] >= '1' && line[0] <= '9' &&
            strspn(line, "0123456789") == strlen(line) && strlen(line) < 10) {
            pick = strtoul(line, &end, 10);
        }
        if (pick >= 1 && pick <= n) {
            picked = t[pick - 1];
        } else {
            printf("No such choice.\n");
        }
    }
    free(t);
    return picked;
}

/* Maps an exit-signal name (RFC 4254 section 6.10, without "SIG"). */
static int
signal_number(const char *name)
{
    static const struct {
        const char *name;
        int signo;
    } sigs[] = {
        { "ABRT", SIGABRT }, { "ALRM", SIGALRM }, { "FPE", SIGFPE },
        { "HUP", SIGHUP },   { "ILL", SIGILL },   { "INT", SIGINT },
        { "KILL", SIGKILL }, { "PIPE", SIGPIPE }, { "QUIT", SIGQUIT },
        { "SEGV", SIGSEGV }, { "TERM", SIGTERM }, { "USR1", SIGUSR1 },
        { "USR2", SIGUSR2 }, { "BUS", SIGBUS },   { "TRAP", SIGTRAP },
        { "SYS", SIGSYS },   { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
    };
    size_t i;

    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        if (strcmp(name, sigs[i].name) == 0) {
            return sigs[i].signo;
        }
    }
    return 0;
}

/* Dies of the signal the remote command died of, so that sshd reports an
 * exit-signal to the client exactly as a direct session would. */
static void __attribute__((noreturn))
die_of_signal(int signo)
{
    sigset_t set;
    struct sigaction sa;

    fflush(NULL);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(signo, &sa, NULL);
    sigemptyset(&set);
    sigaddset(&set, signo);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(signo);
    _exit(128 + signo);
}

/*
 * The session's output is all delivered and nothing more will be said to
 * the user: /dev/null replaces the user's stdin, stdout and stderr (the
 * terminal with a PTY), so that sshd sends the channel's EOF now rather
 * than after the recording's fsync and seal (a client that acts on EOF
 * need not wait for them; the OpenSSH client ends its output only when it
 * exits). sshd still reports the exit status only when we exit, after
 * the seal. A hangup from now on (sshd closing the
 * terminal, the user leaving) no longer ends the process: the seal is
 * finished. Nothing else changes when /dev/null cannot be opened.
 */
static void
release_user_fds(void)
{
    struct sigaction sa;
    int fd;
    int i;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGHUP, &sa, NULL);
    (void)sigaction(SIGPIPE, &sa, NULL);
    (void)fflush(stdout);
    (void)fflush(stderr);
    fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    for (i = 0; i <= 2; i++) {
        if (fd != i) {
            (void)dup2(fd, i);
        }
    }
    if (fd > 2) {
        close(fd);
    }
}

static long
elapsed_ms(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)((now.tv_sec - start->tv_sec) * 1000 +
                  (now.tv_nsec - start->tv_nsec) / 1000000);
}

static const char *
end_name(enum pcl_relay_end e)
{
    switch (e) {
    case PCL_RELAY_END_REMOTE:
        return "remote";
    case PCL_RELAY_END_CLIENT:
        return "client";
    case PCL_RELAY_END_SIGNAL:
        return "signal";
    case PCL_RELAY_END_TAP:
        return "recording";
    case PCL_RELAY_END_ERROR:
    default:
        return "error";
    }
}

/*
 * Adds the session's row to the index. The index is derived from the
 * recordings (which stay the evidence), so a failure is logged and
 * audited, and the session goes on.
 */
static void
index_begin(struct proxy *px, const struct pcl_decision *d,
            const char *command, const char *host, int64_t now)
{
    struct pcl_sessindex_start st;
    char why[512] = "";

    if (px->conf->rec_index[0] == '\0') {
        return;
    }
    memset(&st, 0, sizeof(st));
    st.session_id = px->session_id;
    st.user = px->user;
    st.subject = px->has_ticket ? px->ticket.sub : NULL;
    st.source = px->source;
    st.target = pcl_target_name(d->target);
    st.account = d->account;
    st.command = command;
    st.rule = d->rule;
    st.approval_id = px->jit.approval_id[0] != '\0' ? px->jit.approval_id
                                                    : NULL;
    st.bastion = host;
    st.recording = px->rec_path;
    st.start = now;
    if (pcl_sessindex_open(px->conf->rec_index, 2000, &px->index, why,
                           sizeof(why)) != PCL_OK ||
        pcl_sessindex_begin(px->index, &st) != PCL_OK) {
        const struct pcl_audit_field f[] = {
            { "reason", why[0] != '\0' ? why : "cannot add the row" },
            { "index", px->conf->rec_index },
        };
        error("session %s: session index: %s", px->session_id, why);
        emit(px, "index-failure", st.target, d->account, command, f, 2);
        pcl_sessindex_close(px->index);
        px->index = NULL;
    }
}

/*
 * Creates the session's recording, DIR/YYYY/MM/DD/SESSION-ID.cast, with the
 * policy's mask rules and the seal key. Runs while the process still holds
 * group portcullis. Returns 0 with *out owned by the caller, or an exit
 * code after telling the user and the event log why.
 */
static int
open_recording(struct proxy *px, const struct pcl_decision *d,
               const char *command, bool pty, struct pcl_recorder **out)
{
    const struct pcl_target *t = d->target;
    struct pcl_recorder_rule rules[MAX_MASKS];
    struct pcl_recorder_params rp;
    struct winsize ws;
    char rel[128];
    char path[PATH_MAX] = "";
    char host[256];
    char key_id[32];
    char why[512] = "";
    uint8_t *key = NULL;
    size_t keylen = 0;
    time_t now = time(NULL);
    struct tm tm;
    size_t i;
    size_t n = 0;
    int rc;

    *out = NULL;
    memset(&rp, 0, sizeof(rp));
    for (i = 0; i < pcl_target_nmasks(t) && n < MAX_MASKS; i++) {
        const char *name = pcl_target_mask(t, i);
        if (strcmp(name, "builtin") == 0) {
            rp.builtin_rules = true;
        } else if (pcl_policy_mask(px->policy, name, &rules[n].pattern,
                                   &rules[n].replacement) == PCL_OK) {
            rules[n++].name = name;
        }
    }
    rp.rules = rules;
    rp.nrules = n;
    rp.mask_holdback_ms = px->conf->rec_mask_holdback_ms;
    rp.record_input = px->conf->rec_input;
    rp.continue_on_error = strcmp(px->conf->rec_on_error, "continue") == 0;
    rp.mask_live = pcl_target_mask_live(t);

    gmtime_r(&now, &tm);
    snprintf(rel, sizeof(rel), "%04d/%02d/%02d/%s.cast", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, px->session_id);
    if ((size_t)snprintf(path, sizeof(path), "%s/%s",
                         px->conf->rec_directory, rel) >= sizeof(path)) {
        snprintf(why, sizeof(why), "recording path too long");
        rc = PCL_ERR_TOOBIG;
        goto out;
    }
    rc = pcl_file_mkdirs(px->conf->rec_directory, rel, why, sizeof(why));
    if (rc != PCL_OK) {
        goto out;
    }
    rc = pcl_file_read_secret(px->conf->rec_seal_key, SEAL_KEY_MAX, &key,
                              &keylen, why, sizeof(why));
    if (rc != PCL_OK) {
        goto out;
    }
    if (keylen < 16) {
        /* An empty or toy key would seal nothing worth a seal. */
        snprintf(why, sizeof(why), "%s: a seal key needs at least 16 bytes",
                 px->conf->rec_seal_key);
        rc = PCL_ERR_CONFIG;
        goto out;
    }
    if (pcl_cast_key_id(key, keylen, key_id, sizeof(key_id)) != PCL_OK) {
        /* A PEM file that is not an Ed25519 key (portcullis-cast(5)). */
        snprintf(why, sizeof(why), "%s: a PEM seal key must be an Ed25519 "
                 "private key", px->conf->rec_seal_key);
        rc = PCL_ERR_CONFIG;
        goto out;
    }
    if (gethostname(host, sizeof(host)) != 0) {
        snprintf(host, sizeof(host), "unknown");
    }
    host[sizeof(host) - 1] = '\0';
    {
        const struct pcl_cast_meta meta[] = {
            { "session_id", px->session_id },
            { "user", px->user },
            { "subject", px->has_ticket ? px->ticket.sub : NULL },
            { "source", px->source },
            { "target", pcl_target_name(t) },
            { "account", d->account },
            { "command", command },
            { "rule", d->rule },
            { "approval_id", px->jit.approval_id[0] != '\0'
                                 ? px->jit.approval_id
                                 : NULL },
            { "bastion", host },
            { "mask_live", rp.mask_live ? "yes" : "no" },
        };
        rp.cast.path = path;
        rp.cast.format = strcmp(px->conf->rec_format, "asciicast-v3") == 0
                             ? PCL_CAST_V3
                             : PCL_CAST_V2;
        rp.cast.width = 80;
        rp.cast.height = 24;
        if (pty && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 &&
            ws.ws_col > 0) {
            rp.cast.width = ws.ws_col;
            rp.cast.height = ws.ws_row;
        }
        rp.cast.timestamp = (int64_t)now;
        rp.cast.term = pty ? px->env.term : NULL;
        rp.cast.meta = meta;
        rp.cast.nmeta = sizeof(meta) / sizeof(meta[0]);
        rp.cast.separate_streams = !pty;
        rp.cast.flush_interval_ms = px->conf->rec_flush_interval_ms;
        rp.cast.seal_key = key;
        rp.cast.seal_key_len = keylen;
        rp.cast.seal_key_id = key_id;
        rc = pcl_recorder_new(&rp, out, why, sizeof(why));
    }
out:
    pcl_file_secret_free(key, keylen);
    if (rc != PCL_OK) {
        const struct pcl_audit_field f[] = {
            { "reason", why },
            { "recording", path },
        };
        error("session %s: cannot record: %s", px->session_id, why);
        emit(px, "recording-failure", pcl_target_name(t), d->account,
             command, f, 2);
        tell("this session cannot be recorded, so it is refused; contact "
             "the bastion administrators");
        return rc == PCL_ERR_CONFIG ? EXIT_CONFIG : EXIT_SOFTWARE;
    }
    snprintf(px->rec_path, sizeof(px->rec_path), "%s", path);
    info("session %s: recording to %s", px->session_id, path);
    index_begin(px, d, command, host, (int64_t)now);
    return 0;
}

/* Seals the recording and writes its event. */
static void
close_recording(struct proxy *px, const struct pcl_decision *d,
                const char *command, struct pcl_recorder *rec,
                const struct pcl_relay_result *res)
{
    char path[PATH_MAX];
    char masked[24];
    bool failed = pcl_recorder_failed(rec);
    int rc;

    snprintf(path, sizeof(path), "%s", px->rec_path);
    snprintf(masked, sizeof(masked), "%llu",
             (unsigned long long)pcl_recorder_masked(rec));
    rc = pcl_recorder_finish(rec, res->exit_status,
                             res->exit_signal[0] != '\0' ? res->exit_signal
                                                         : NULL);
    {
        const struct pcl_audit_field f[] = {
            { "recording", path },
            { "seal", rc == PCL_OK ? "sealed" : "unsealed" },
            { "masked", masked },
            { "on_error", failed ? px->conf->rec_on_error : NULL },
            { "mask_live", pcl_target_mask_live(d->target) ? "yes" : "no" },
        };
        emit(px, failed ? "recording-failure" : "recording-end",
             pcl_target_name(d->target), d->account, command, f, 5);
    }
    if (rc != PCL_OK) {
        error("session %s: recording %s not sealed", px->session_id, path);
    }
    if (px->index != NULL) {
        struct pcl_sessindex_end e;
        memset(&e, 0, sizeof(e));
        e.end = (int64_t)time(NULL);
        e.bytes_in = res->bytes_in;
        e.bytes_out = res->bytes_out;
        e.bytes_err = res->bytes_err;
        e.exit_status = res->exit_status;
        e.exit_signal = res->exit_signal;
        e.seal = rc == PCL_OK ? "sealed" : "unsealed";
        if (pcl_sessindex_end(px->index, px->session_id, &e) != PCL_OK) {
            error("session %s: session index not updated", px->session_id);
        }
        pcl_sessindex_close(px->index);
        px->index = NULL;
    }
}

/* The target leg never came up: the recording says why and is sealed. */
static void
end_unconnected(struct proxy *px, const struct pcl_decision *d,
                const char *command, struct pcl_recorder *rec,
                const char *why)
{
    struct pcl_relay_result res;
    char label[300];

    memset(&res, 0, sizeof(res));
    res.exit_status = EXIT_TARGET;
    snprintf(label, sizeof(label), "connect-failure:%.280s", why);
    (void)pcl_recorder_marker(rec, label);
    close_recording(px, d, command, rec, &res);
}

/*
 * Fetches the credential of an allowed session from the vault, while the
 * process still holds group portcullis, and writes the "credential" event
 * either way. Returns 0 with *out owned by the caller (pcl_secret_free),
 * or an exit code after telling the user (never why: that is in the log).
 */
static int
fetch_credential(struct proxy *px, const struct pcl_decision *d,
                 const char *command, bool pty, struct pcl_secret **out)
{
    const char *target = pcl_target_name(d->target);
    const char *backend = px->conf->vault_backend;
    struct pcl_vault_params vp;
    struct pcl_vault_request req;
    struct pcl_vault *v = NULL;
    char credname[256];
    char why[512] = "";
    int rc;

    *out = NULL;
    memset(&vp, 0, sizeof(vp));
    vp.backend = backend;
    vp.directory = strcmp(backend, "keys") == 0 ? px->conf->credentials
                                                : px->conf->vault_directory;
    vp.master_key = px->conf->vault_master_key;
    vp.command = px->conf->vault_command;
    vp.command_timeout_ms = px->conf->vault_command_timeout_ms;
    vp.command_max_output = px->conf->vault_command_max_output;
    vp.cert_validity = px->conf->vault_cert_validity;
    vp.cert_backdate = px->conf->vault_cert_backdate;
    rc = pcl_target_credential(d->target, d->account, credname,
                               sizeof(credname));
    if (rc != PCL_OK) {
        snprintf(credname, sizeof(credname), "-");
        snprintf(why, sizeof(why), "credential name too long");
    }
    if (rc == PCL_OK) {
        rc = pcl_vault_open(&vp, &v, why, sizeof(why));
    }
    if (rc == PCL_OK) {
        memset(&req, 0, sizeof(req));
        req.name = credname;
        req.target = target;
        req.account = d->account;
        req.user = px->user;
        req.session_id = px->session_id;
        req.pty = pty;
        rc = pcl_vault_fetch(v, &req, out, why, sizeof(why));
    }
    pcl_vault_close(v);
    {
        const struct pcl_audit_field f[] = {
            { "outcome", rc == PCL_OK ? "fetched" : "refused" },
            { "credential", credname },
            { "vault", backend },
            { "credential_type",
              rc == PCL_OK ? pcl_vault_type_name((*out)->type) : NULL },
            { "reason", rc == PCL_OK ? NULL : why },
        };
        emit(px, "credential", target, d->account, command, f, 5);
    }
    if (rc != PCL_OK) {
        const struct pcl_audit_field f[] = { { "reason", why } };
        error("session %s: credential for %s unusable: %s", px->session_id,
              target, why);
        emit(px, "connect-failure", target, d->account, command, f, 1);
        tell("configuration error; contact the bastion administrators");
        return EXIT_CONFIG;
    }
    debug("session %s: credential %s (%s) fetched from the %s vault",
          px->session_id, credname, pcl_vault_type_name((*out)->type),
          backend);
    return 0;
}

/* Opens the target leg and relays one session. Returns the exit code, or
 * dies of the remote command's signal. */
static int
run_session(struct proxy *px, const struct pcl_decision *d,
            const char *command, bool interactive)
{
    const struct pcl_target *t = d->target;
    const char *target = pcl_target_name(t);
    struct pcl_sshconn_params sp;
    struct pcl_sshconn *conn = NULL;
    struct pcl_sshconn_pty pty;
    struct pcl_relay_params rp;
    struct pcl_relay_result res;
    const char *pins[64];
    char why[512];
    struct pcl_secret *secret = NULL;
    struct pcl_sshconn_cred cred;
    bool want_pty = isatty(STDIN_FILENO) != 0;
    struct pcl_recorder *rec = NULL;
    struct jit_watch *watch = NULL;
    const char *grant_end = NULL;
    struct winsize ws;
    size_t i;
    int signo;
    int rc;

    rc = fetch_credential(px, d, command, want_pty, &secret);
    if (rc != 0) {
        return rc;
    }

    rc = open_recording(px, d, command, want_pty, &rec);
    if (rc != 0) {
        pcl_secret_free(secret);
        return rc;
    }
    /* A password the target echoes (a sudo prompt typed back, a script
     * that prints it) must not reach the recording. */
    if (secret->type == PCL_VAULT_PASSWORD &&
        pcl_recorder_add_secret(rec, "vault:password", secret->data,
                                secret->len) != PCL_OK) {
        const struct pcl_audit_field f[] = {
            { "reason", "the vaulted password cannot be masked (shorter "
                        "than 4 bytes, or no memory)" },
        };
        pcl_secret_free(secret);
        error("session %s: vaulted password for %s cannot be masked",
              px->session_id, target);
        emit(px, "connect-failure", target, d->account, command, f, 1);
        tell("configuration error; contact the bastion administrators");
        end_unconnected(px, d, command, rec, "credential cannot be masked");
        return EXIT_CONFIG;
    }

    /* Everything group portcullis opens is open now (event log, key,
     * recording): the target leg runs without the privilege. */
    if (pcl_proc_drop_group() != PCL_OK) {
        const struct pcl_audit_field f[] = {
            { "reason", "cannot drop group privilege" },
        };
        pcl_recorder_free(rec);
        pcl_secret_free(secret);
        error("cannot drop group privilege: %s", strerror(errno));
        emit(px, "connect-failure", target, d->account, command, f, 1);
        tell("internal error");
        return EXIT_SOFTWARE;
    }

    memset(&sp, 0, sizeof(sp));
    sp.host = pcl_target_host(t);
    sp.port = pcl_target_port(t);
    sp.account = d->account;
    sp.kex = pcl_target_kex(t);
    sp.ciphers = pcl_target_ciphers(t);
    sp.macs = pcl_target_macs(t);
    sp.hostkey_algorithms = pcl_target_hostkey_algorithms(t);
    for (i = 0; i < pcl_target_nhost_keys(t) && i < 64; i++) {
        pins[i] = pcl_target_host_key(t, i);
    }
    sp.host_keys = pins;
    sp.nhost_keys = i;
    sp.connect_timeout = pcl_target_connect_timeout(t) != 0
                             ? pcl_target_connect_timeout(t)
                             : px->conf->connect_timeout;
    sp.keepalive_interval = px->conf->keepalive_interval;
    sp.keepalive_count_max = px->conf->keepalive_count_max;

    cred.kind = secret->type == PCL_VAULT_PASSWORD ? PCL_SSHCONN_CRED_PASSWORD
                : secret->type == PCL_VAULT_SSH_CERT ? PCL_SSHCONN_CRED_CERT
                                                     : PCL_SSHCONN_CRED_KEY;
    cred.data = secret->data;
    cred.len = secret->len;
    cred.cert = secret->cert;
    rc = pcl_sshconn_open_cred(&sp, &cred, &conn, why, sizeof(why));
    pcl_secret_free(secret); /* libssh holds no copy past authentication */
    secret = NULL;
    if (rc != PCL_OK) {
        const struct pcl_audit_field f[] = { { "reason", why } };
        error("session %s: %s (%s port %u as %s): %s", px->session_id,
              target, sp.host, sp.port, d->account, why);
        emit(px, "connect-failure", target, d->account, command, f, 1);
        tell("cannot connect to %s: %s", target, why);
        end_unconnected(px, d, command, rec, why);
        return EXIT_TARGET;
    }
    {
        const struct pcl_sshconn_info *ci = pcl_sshconn_info(conn);
        const struct pcl_audit_field f[] = {
            { "kex", ci->kex },
            { "cipher", ci->cipher_out },
            { "mac", ci->mac_out },
            { "hostkey", ci->hostkey_type },
            { "hostkey_fingerprint", ci->hostkey_fingerprint },
            { "pty", want_pty ? "yes" : "no" },
        };
        info("session %s: %s@%s (%s port %u): kex %s cipher %s/%s mac %s/%s "
             "host key %s %s", px->session_id, d->account, target, sp.host,
             sp.port, ci->kex, ci->cipher_out, ci->cipher_in, ci->mac_out,
             ci->mac_in, ci->hostkey_type, ci->hostkey_fingerprint);

        memset(&pty, 0, sizeof(pty));
        if (want_pty) {
            pty.term = px->env.term;
            /* The client's size as sshd set it, 0x0 included, as a
             * direct ssh would send it; 80x24 only if it cannot be read. */
            pty.cols = 80;
            pty.rows = 24;
            if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
                pty.cols = ws.ws_col;
                pty.rows = ws.ws_row;
            }
        }
        rc = pcl_sshconn_start(conn, want_pty ? &pty : NULL, command, why,
                               sizeof(why));
        if (rc != PCL_OK) {
            const struct pcl_audit_field ff[] = { { "reason", why } };
            error("session %s: %s: %s", px->session_id, target, why);
            emit(px, "connect-failure", target, d->account, command, ff, 1);
            tell("%s: %s", target, why);
            pcl_sshconn_close(conn);
            end_unconnected(px, d, command, rec, why);
            return EXIT_TARGET;
        }
        emit(px, "session-start", target, d->account, command, f, 6);
    }
    if (interactive && want_pty) {
        tell("connected to %s as %s (session %.8s)", target, d->account,
             px->session_id);
    }

    memset(&rp, 0, sizeof(rp));
    rp.in_fd = STDIN_FILENO;
    rp.out_fd = STDOUT_FILENO;
    rp.err_fd = STDERR_FILENO;
    rp.pty = want_pty;
    rp.buffer_size = RELAY_BUFFER;
    rp.keepalive_interval = px->conf->keepalive_interval;
    rp.keepalive_count_max = px->conf->keepalive_count_max;
    rp.tap = pcl_recorder_tap(rec);
#ifdef PCL_BENCH_UNRECORDED
    /* bench/portcullis-unrecorded only, never installed (Makefile.am):
     * the relay runs with no tap, so nothing is masked or recorded beyond
     * the recording's header and seal.  It exists to measure what
     * recording and masking cost (path (d) of bench/bench.sh). */
    rp.tap = NULL;
#endif
    if (px->jit.approval_id[0] != '\0') {
        /* Under a grant: the session ends when the grant does. */
        if (jit_watch_new(&px->jit, rp.tap, STDERR_FILENO, &watch) !=
            PCL_OK) {
            fatal(EXIT_SOFTWARE, "out of memory");
        }
        rp.tap = jit_watch_tap(watch);
    }
    (void)pcl_relay_run(conn, &rp, &res);
    pcl_sshconn_close(conn);
    grant_end = jit_watch_ended(watch);
    if (grant_end != NULL) {
        char label[64];
        const struct pcl_audit_field f[] = {
            { "approval_id", px->jit.approval_id },
            { "outcome", grant_end },
        };
        snprintf(label, sizeof(label), "grant-%s:%s", grant_end,
                 px->jit.approval_id);
        (void)pcl_recorder_marker(rec, label);
        emit(px, "grant-end", target, d->account, command, f, 2);
    }
    jit_watch_free(watch);
    if (res.end == PCL_RELAY_END_REMOTE && grant_end == NULL) {
        release_user_fds();
    }
    close_recording(px, d, command, rec, &res);

    {
        char in[24], out[24], err[24], st[16], dur[24];
        const struct pcl_audit_field f[] = {
            { "end", grant_end != NULL ? "grant" : end_name(res.end) },
            { "bytes_in", in },
            { "bytes_out", out },
            { "bytes_err", err },
            { "exit_status", res.exit_status >= 0 ? st : NULL },
            { "exit_signal", res.exit_signal[0] != '\0' ? res.exit_signal
                                                        : NULL },
            { "duration_ms", dur },
        };
        snprintf(in, sizeof(in), "%llu", (unsigned long long)res.bytes_in);
        snprintf(out, sizeof(out), "%llu", (unsigned long long)res.bytes_out);
        snprintf(err, sizeof(err), "%llu", (unsigned long long)res.bytes_err);
        snprintf(st, sizeof(st), "%d", res.exit_status);
        snprintf(dur, sizeof(dur), "%ld", elapsed_ms(&px->start));
        emit(px, "session-end", target, d->account, command, f, 7);
        char sig[sizeof(res.exit_signal)];
        info("session %s: ended (%s), status %d%s%s, %s bytes in, %s out, "
             "%s err", px->session_id, end_name(res.end), res.exit_status,
             res.exit_signal[0] != '\0' ? ", signal " : "",
             pcl_log_sanitize(sig, sizeof(sig), res.exit_signal), in, out,
             err);
    }

    if (grant_end != NULL) {
        return JIT_EXIT_DENIED;
    }
    switch (res.end) {
    case PCL_RELAY_END_REMOTE:
        if (res.exit_signal[0] != '\0') {
            signo = signal_number(res.exit_signal);
            if (signo != 0) {
                die_of_signal(signo);
            }
            return EXIT_TARGET;
        }
        return res.exit_status >= 0 ? res.exit_status : EXIT_TARGET;
    case PCL_RELAY_END_SIGNAL:
        die_of_signal(res.signo);
    case PCL_RELAY_END_CLIENT:
        return EXIT_TARGET;
    case PCL_RELAY_END_TAP:
        tell("the session recording failed, so the session was ended; "
             "contact the bastion administrators");
        return EXIT_SOFTWARE;
    case PCL_RELAY_END_ERROR:
    default:
        tell("connection to %s lost", target);
        return EXIT_TARGET;
    }
}

/* ---------------------------------------------------- replay, sessions */

static int
print_session(const struct pcl_sessquery_row *r, void *ctx)
{
    (void)ctx;
    pcl_sessquery_print_row(stdout, r);
    return 0;
}

struct found_rec {
    char path[PATH_MAX];
    int n;
};

static int
found_recording(const struct pcl_sessquery_row *r, void *ctx)
{
    struct found_rec *f = ctx;

    if (++f->n == 1 && r->recording != NULL) {
        snprintf(f->path, sizeof(f->path), "%s", r->recording);
    }
    return 0;
}

/* The recording is open: the player reads what a target wrote (hostile
 * bytes, through JSON, the safety filter and libvterm) without the group. */
static int
replay_opened(void *ctx)
{
    (void)ctx;
    if (pcl_proc_drop_group() != PCL_OK) {
        error("replay: cannot drop group privilege: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/*
 * `ssh bastion sessions` and `ssh -t bastion replay ID [--at TIME]
 * [-s SPEED] [--follow]`, for users whose [role] allows them: the session
 * index and the recording are opened with the group privilege the proxy
 * still holds (both are group-only), which is dropped before the recording
 * is played; nothing written; the recorded bytes go through the player's
 * safety filter, never raw. Audited as decisions.
 */
static int
run_replay_verb(struct proxy *px, const struct pcl_cmdline *cl)
{
    struct pcl_sessquery_filter f;
    struct pcl_decision d;
    struct pcl_replay_opts o;
    enum pcl_replay_end end;
    struct found_rec fr;
    char args[256] = "";
    char why[512] = "";
    char *words[8];
    char *save = NULL;
    size_t nw = 0;
    int rc;

    rc = pcl_policy_may(px->policy, &px->id, cl->verb, &d);
    if (emit_decision(px, NULL, NULL, px->env.original_command,
                      rc == PCL_OK, d.rule, d.reason) != PCL_OK ||
        rc != PCL_OK) {
        tell("'%s' is not allowed for you on this bastion", cl->verb);
        return EXIT_DENIED;
    }
    if (px->conf->rec_index[0] == '\0') {
        tell("this bastion keeps no session index");
        return EXIT_CONFIG;
    }
    memset(&f, 0, sizeof(f));
    if (strcmp(cl->verb, "sessions") == 0) {
        pcl_sessquery_print_heading(stdout);
        rc = pcl_sessquery_run(px->conf->rec_index, &f, print_session, NULL,
                               why, sizeof(why));
        if (rc != PCL_OK) {
            error("sessions: %s", why);
            tell("the session index cannot be read");
            return EXIT_SOFTWARE;
        }
        return fflush(stdout) == 0 ? 0 : EXIT_SOFTWARE;
    }
    if (cl->args != NULL) {
        snprintf(args, sizeof(args), "%s", cl->args);
    }
    for (char *w = strtok_r(args, " \t", &save); w != NULL && nw < 8;
         w = strtok_r(NULL, " \t", &save)) {
        words[nw++] = w;
    }
    memset(&o, 0, sizeof(o));
    o.speed = 1.0;
    o.in_fd = isatty(STDIN_FILENO) ? STDIN_FILENO : -1;
    o.out_fd = STDOUT_FILENO;
    o.opened = replay_opened;
    o.no_raw_hint = true; /* never raw through the bastion */
    for (size_t i = 1; i < nw; i += 2) {
        char *e = NULL;
        if (strcmp(words[i], "--follow") == 0) {
            o.follow = true;
            i--;
            continue;
        }
        if (i + 1 < nw && strcmp(words[i], "--at") == 0 &&
            pcl_replay_parse_time(words[i + 1], &o.at_us) == PCL_OK) {
            continue;
        }
        if (i + 1 < nw && strcmp(words[i], "-s") == 0) {
            o.speed = strtod(words[i + 1], &e);
            if (*e == '\0' && o.speed >= 1.0 / 64 && o.speed <= 64) {
                continue;
            }
        }
        nw = 0; /* anything else: usage */
        break;
    }
    if (nw == 0 || strlen(words[0]) < 6 ||
        strlen(words[0]) > 32 ||
        strspn(words[0], "0123456789abcdef") != strlen(words[0])) {
        tell("usage: ssh -t BASTION replay SESSION-ID [--at TIME] "
             "[-s SPEED] [--follow]");
        return EXIT_USAGE;
    }
    f.session_id = words[0];
    memset(&fr, 0, sizeof(fr));
    rc = pcl_sessquery_run(px->conf->rec_index, &f, found_recording, &fr,
                           why, sizeof(why));
    if (rc != PCL_OK || fr.n != 1 || fr.path[0] == '\0') {
        if (rc != PCL_OK) {
            error("replay: %s", why);
        }
        tell("no single session %s", words[0]);
        return EXIT_DENIED;
    }
    /* The index is a derived, group-writable file: it may name only a
     * recording of this bastion, never another file the group can read. */
    {
        size_t dl = strlen(px->conf->rec_directory);
        if (strncmp(fr.path, px->conf->rec_directory, dl) != 0 ||
            fr.path[dl] != '/' || strstr(fr.path + dl, "/../") != NULL ||
            strstr(fr.path, "/./") != NULL) {
            char p[256];
            error("replay: session %s: recording %s is not under %s",
                  words[0], pcl_log_sanitize(p, sizeof(p), fr.path),
                  px->conf->rec_directory);
            tell("the recording cannot be played");
            return EXIT_SOFTWARE;
        }
    }
    /* The seal first, with the group's key: a tampered recording is not
     * shown as if it were what happened. A live one (--follow) has none. */
    if (!o.follow) {
        struct pcl_cast_verdict v;
        static const char *const state[] = {
            "valid", "unsealed", "tampered", "key-unknown",
        };

        memset(&v, 0, sizeof(v));
        rc = pcl_cast_verify_keyfile(fr.path, px->conf->rec_seal_key, &v,
                                     why, sizeof(why));
        if (why[0] != '\0') {
            error("replay: seal key: %s", why);
        }
        if (rc != PCL_OK || v.state == PCL_CAST_SEAL_TAMPERED) {
            error("replay: session %s: seal %s: %s", words[0],
                  rc != PCL_OK ? "not checked" : "tampered", v.why);
            tell("the recording of session %s does not match its seal: "
                 "not played", words[0]);
            return EXIT_DENIED;
        }
        if (v.state != PCL_CAST_SEAL_VALID) {
            tell("WARNING: the recording of session %s is %s: what is "
                 "shown may not be what was recorded", words[0],
                 state[v.state]);
        }
    }
    rc = pcl_replay_run(fr.path, &o, &end, why, sizeof(why));
    if (rc != PCL_OK) {
        error("replay %s: %s", fr.path, why);
        tell("the recording cannot be played");
        return EXIT_SOFTWARE;
    }
    return 0;
}

static int
run_verb(struct proxy *px, const struct pcl_cmdline *cl)
{
    bool known = strcmp(cl->verb, "list") == 0 ||
                 strcmp(cl->verb, "help") == 0 || jit_is_verb(cl->verb);

    if (strcmp(cl->verb, "replay") == 0 ||
        strcmp(cl->verb, "sessions") == 0) {
        return run_replay_verb(px, cl);
    }
    emit_decision(px, NULL, NULL, px->env.original_command, known,
                  "builtin",
                  known ? "built-in command" : "command not available");
    if (strcmp(cl->verb, "list") == 0) {
        return list_targets(px);
    }
    if (jit_is_verb(cl->verb)) {
        return jit_verb(&px->jit, cl->verb, cl->args);
    }
    if (strcmp(cl->verb, "help") == 0) {
        printf("Usage through this bastion:\n"
               "  ssh -t BASTION                  pick a target from a menu\n"
               "  ssh BASTION list                list the targets open to "
               "you\n"
               "  ssh -t BASTION TARGET           interactive session\n"
               "  ssh BASTION TARGET -- CMD ...   run CMD on TARGET\n"
               "  ssh BASTION ACCOUNT@TARGET ...  as another permitted "
               "account\n"
               "  ssh -t BASTION TARGET --reason TEXT   ask for approval\n"
               "  ssh BASTION requests            requests you may decide\n"
               "  ssh BASTION approve ID [--for DURATION] [--comment TEXT]\n"
               "  ssh BASTION deny ID [--comment TEXT]\n"
               "  ssh BASTION grants              live grants\n"
               "  ssh BASTION revoke ID           end a grant\n"
               "  ssh BASTION sessions            recorded sessions (by role)\n"
               "  ssh -t BASTION replay ID        play one (by role)\n");
        return fflush(stdout) == 0 ? 0 : EXIT_SOFTWARE;
    }
    tell("'%s' is not available on this bastion", cl->verb);
    return EXIT_USAGE;
}

int
main(int argc, char **argv)
{
    struct proxy px;
    struct pcl_diag *diag = NULL;
    struct pcl_cmdline cl;
    struct pcl_decision d;
    char *reason = NULL;
    const char *log_path = NULL;
    enum pcl_log_level level = PCL_LOG_INFO;
    int debug_flag = 0;
    int check_mode = 0;
    int dump_mode = 0;
    char why[256];
    size_t i;
    int ch;
    int rc;

    memset(&px, 0, sizeof(px));
    memset(&cl, 0, sizeof(cl));
    clock_gettime(CLOCK_MONOTONIC, &px.start);
    if (pcl_proc_harden() != PCL_OK || pcl_proc_limit_caps() != PCL_OK) {
        fprintf(stderr, "portcullis: cannot set up the process\n");
        return EXIT_SOFTWARE;
    }
    if (pcl_proc_take_env(&px.env) != PCL_OK) {
        fprintf(stderr, "portcullis: out of memory\n");
        return EXIT_SOFTWARE;
    }
    px.config_path = DEFAULT_CONFIG;
    while ((ch = getopt(argc, argv, "dE:f:tTVh")) != -1) {
        switch (ch) {
        case 'd':
            debug_flag++;
            break;
        case 'E':
            log_path = optarg;
            break;
        case 'f':
            px.config_path = optarg;
            break;
        case 't':
            check_mode = 1;
            break;
        case 'T':
            check_mode = 1;
            dump_mode = 1;
            break;
        case 'V':
            printf("portcullis %s\n", PACKAGE_VERSION);
            return 0;
        default:
            usage();
        }
    }
    if (optind != argc) {
        usage();
    }

    /* Diagnostics: stderr for an admin's check, else syslog or -E. */
    pcl_log_init("portcullis", check_mode ? PCL_LOG_STDERR : PCL_LOG_SYSLOG,
                 PCL_LOG_DEBUG3);
    if (log_path != NULL && !check_mode) {
        FILE *fp = open_log_file(log_path);
        if (fp == NULL) {
            fprintf(stderr, "portcullis: cannot open log file\n");
            return EXIT_SOFTWARE;
        }
        pcl_log_set_file(fp);
    }

    if (pcl_diag_new(&diag) != PCL_OK) {
        fatal(EXIT_SOFTWARE, "out of memory");
    }
    if (load_config(&px, diag) > 0) {
        for (i = 0; i < pcl_diag_count(diag); i++) {
            if (check_mode) {
                fprintf(stderr, "%s\n", pcl_diag_get(diag, i));
            } else {
                error("%s", pcl_diag_get(diag, i));
            }
        }
        if (check_mode) {
            return 1;
        }
        tell("configuration error; contact the bastion administrators");
        return EXIT_CONFIG;
    }
    pcl_diag_free(diag);
    if (dump_mode) {
        pcl_conf_dump(px.conf, stdout);
    }
    if (check_mode) {
        return 0;
    }

    level = level_from_name(px.conf->log_level);
    if (debug_flag > 0) {
        level = PCL_LOG_DEBUG1 + (debug_flag > 3 ? 2 : debug_flag - 1);
    }
    pcl_log_init("portcullis", log_path != NULL ? PCL_LOG_FILE
                                                : PCL_LOG_SYSLOG, level);

    if (pcl_proc_session_id(px.session_id, sizeof(px.session_id)) !=
        PCL_OK) {
        fatal(EXIT_SOFTWARE, "no randomness for a session id");
    }
    source_of(&px);
    {
        struct pcl_audit_params ap = {
            .json_log = px.conf->json_log,
            .syslog = px.conf->audit_syslog,
            .kernel = px.conf->audit_kernel,
            .required = px.conf->audit_required,
            .addr = px.addr,
        };
        if (pcl_audit_open(&ap, &px.audit) != PCL_OK) {
            if (px.conf->audit_required) {
                /* [audit] required: no request without its events. */
                error("audit trail unavailable; request refused");
                tell("the event log cannot be written, so the session is "
                     "refused; contact the bastion administrators");
                rc = EXIT_SOFTWARE;
                goto out;
            }
            /* Otherwise losing the JSON log is logged, and events go to
             * syslog and the kernel. */
            error("event log %s unavailable; events go to syslog%s only",
                  px.conf->json_log,
                  px.conf->audit_kernel ? " and Linux audit" : "");
            ap.json_log = NULL;
            ap.syslog = true;
            (void)pcl_audit_open(&ap, &px.audit);
        }
    }
    if (identify(&px) != PCL_OK) {
        snprintf(px.user, sizeof(px.user), "uid:%ld", (long)getuid());
        emit_decision(&px, NULL, NULL, px.env.original_command, false,
                      "identity", "cannot resolve the user's groups");
        tell("cannot establish who you are; contact the bastion "
             "administrators");
        rc = EXIT_CONFIG;
        goto out;
    }
    rc = check_ticket(&px);
    if (rc != 0) {
        goto out;
    }

    px.jit.conf = px.conf;
    px.jit.policy = px.policy;
    px.jit.id = &px.id;
    px.jit.session_id = px.session_id;
    px.jit.emit = jit_emit;
    px.jit.emit_ctx = &px;

    rc = pcl_cmdline_parse(px.env.original_command, &cl, why, sizeof(why));
    if (rc == PCL_OK) {
        rc = jit_take_reason(&cl, &reason);
        if (rc == PCL_ERR_SYNTAX) {
            snprintf(why, sizeof(why), "--reason needs a text");
        } else if (rc == PCL_ERR_NOMEM) {
            fatal(EXIT_SOFTWARE, "out of memory");
        }
    }
    if (rc != PCL_OK) {
        emit_decision(&px, NULL, NULL, px.env.original_command, false,
                      "command-syntax", why);
        tell("%s", why);
        tell("usage: ssh BASTION [ACCOUNT@]TARGET [-- COMMAND ...]; "
             "ssh BASTION help");
        rc = EXIT_USAGE;
        goto out;
    }

    if (cl.kind == PCL_CMDLINE_VERB) {
        rc = run_verb(&px, &cl);
        goto out;
    }
    if (cl.kind == PCL_CMDLINE_MENU) {
        const struct pcl_target *t;
        if (!isatty(STDIN_FILENO)) {
            emit_decision(&px, NULL, NULL, NULL, true, "builtin",
                          "list of targets");
            rc = list_targets(&px);
            goto out;
        }
        t = menu(&px);
        if (t == NULL) {
            rc = 0;
            goto out;
        }
        cl.kind = PCL_CMDLINE_SHELL;
        cl.target = strdup(pcl_target_name(t));
        if (cl.target == NULL) {
            fatal(EXIT_SOFTWARE, "out of memory");
        }
    }

    rc = pcl_policy_decide(px.policy, &px.id, cl.target, cl.account, &d);
    if (emit_decision(&px, cl.target, rc == PCL_OK ? d.account : cl.account,
                      cl.command, rc == PCL_OK, d.rule, d.reason) !=
            PCL_OK &&
        rc == PCL_OK) {
        tell("the event log cannot be written, so the session is refused; "
             "contact the bastion administrators");
        rc = EXIT_SOFTWARE;
        goto out;
    }
    if (rc != PCL_OK) {
        /* The same words whether the target exists or not. */
        tell("access to '%s' denied (unknown target or not allowed)",
             cl.target);
        rc = EXIT_DENIED;
        goto out;
    }
    rc = jit_gate(&px.jit, &d, cl.command, isatty(STDIN_FILENO) != 0, reason);
    if (rc != 0) {
        goto out;
    }
    rc = run_session(&px, &d, cl.command, cl.kind == PCL_CMDLINE_SHELL);
out:
    free(reason);
    jit_close(&px.jit);
    pcl_cmdline_clear(&cl);
    pcl_audit_close(px.audit);
    pcl_policy_free(px.policy);
    pcl_conf_free(px.conf);
    for (i = 0; i < px.ngroups; i++) {
        free(px.groups[i]);
    }
    pcl_proc_env_clear(&px.env);
    return rc;
}
