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
#include "portcullis/sshconn.h"


/* Exit codes of the proxy itself (portcullis(8), EXIT STATUS). The target's
 * own exit status is passed through unchanged. */
#define EXIT_USAGE 64    /* EX_USAGE: malformed command */
#define EXIT_SOFTWARE 70 /* EX_SOFTWARE: internal error */
#define EXIT_DENIED 77   /* EX_NOPERM: policy said no, or no such target */
#define EXIT_CONFIG 78   /* EX_CONFIG: configuration or permissions */
#define EXIT_TARGET 255  /* the target leg failed, as ssh(1) reports it */

#define DEFAULT_CONFIG SYSCONFDIR "/portcullis/portcullis.conf"
#define CREDENTIAL_MAX 65536    /* bytes of a private key file */
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
};

static void __attribute__((noreturn))
usage(void)
{
    fprintf(stderr,
            "usage: portcullis [-dtTV] [-E log_file] [-f config_file]\n");
    exit(EXIT_USAGE);
}

/* A message for the person at the other end of ssh. */
static void __attribute__((format(printf, 1, 2)))
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

/* Loads both files. Returns the number of errors (all in diag). */
static size_t
load_config(struct proxy *px, struct pcl_diag *diag)
{
    static const struct pcl_policy_checks checks = {
        check_algorithms, check_host_key, check_mask_pattern,
    };
    FILE *fp = NULL;
    char why[512];
    int rc;

    if (pcl_conf_load(px->config_path, diag, &px->conf) != PCL_OK) {
        return pcl_diag_count(diag);
    }
    (void)pcl_policy_load(px->conf->policy, &checks, diag, &px->policy);
    rc = pcl_file_check_dir(px->conf->credentials, PCL_FILE_DIR, why,
                            sizeof(why));
    if (rc != PCL_OK) {
        pcl_diag_add(diag, px->config_path, 0, "credentials: %s", why);
    }
    rc = pcl_file_check_dir(px->conf->rec_directory, PCL_FILE_SPOOL, why,
                            sizeof(why));
    if (rc != PCL_OK) {
        pcl_diag_add(diag, px->config_path, 0, "recording directory: %s",
                     why);
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
    };
    char t[PCL_CMDLINE_TARGET_MAX + 1];
    char r[300];

    info("session %s: %s %s to %s as %s from %s: %s (%s)", px->session_id,
         allow ? "allow" : "deny", px->user,
         pcl_log_sanitize(t, sizeof(t), target != NULL ? target : "-"),
         account != NULL ? account : "-", px->source,
         pcl_log_sanitize(r, sizeof(r), reason), rule);
    return emit(px, "decision", target, account, command, f, 3);
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
    st.source = px->source;
    st.target = pcl_target_name(d->target);
    st.account = d->account;
    st.command = command;
    st.rule = d->rule;
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
            { "subject", NULL },
            { "source", px->source },
            { "target", pcl_target_name(t) },
            { "account", d->account },
            { "command", command },
            { "rule", d->rule },
            { "approval_id", NULL },
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
    char credname[256];
    char path[PATH_MAX];
    char why[512];
    uint8_t *key = NULL;
    size_t keylen = 0;
    bool want_pty = isatty(STDIN_FILENO) != 0;
    struct pcl_recorder *rec = NULL;
    struct winsize ws;
    size_t i;
    int signo;
    int rc;

    if (pcl_target_credential(t, d->account, credname, sizeof(credname)) !=
            PCL_OK ||
        (size_t)snprintf(path, sizeof(path), "%s/%s", px->conf->credentials,
                         credname) >= sizeof(path)) {
        const struct pcl_audit_field f[] = {
            { "reason", "credential name too long" },
        };
        error("credential name for %s too long", target);
        emit(px, "connect-failure", target, d->account, command, f, 1);
        tell("configuration error; contact the bastion administrators");
        return EXIT_CONFIG;
    }
    rc = pcl_file_read_secret(path, CREDENTIAL_MAX, &key, &keylen, why,
                              sizeof(why));
    if (rc != PCL_OK) {
        const struct pcl_audit_field f[] = { { "reason", why } };
        error("session %s: credential for %s unusable: %s", px->session_id,
              target, why);
        emit(px, "connect-failure", target, d->account, command, f, 1);
        tell("configuration error; contact the bastion administrators");
        return EXIT_CONFIG;
    }

    rc = open_recording(px, d, command, want_pty, &rec);
    if (rc != 0) {
        pcl_file_secret_free(key, keylen);
        return rc;
    }

    /* Everything group portcullis opens is open now (event log, key,
     * recording): the target leg runs without the privilege. */
    if (pcl_proc_drop_group() != PCL_OK) {
        const struct pcl_audit_field f[] = {
            { "reason", "cannot drop group privilege" },
        };
        pcl_recorder_free(rec);
        pcl_file_secret_free(key, keylen);
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

    rc = pcl_sshconn_open(&sp, key, keylen, &conn, why, sizeof(why));
    pcl_file_secret_free(key, keylen); /* the key is in libssh no longer */
    key = NULL;
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
    rp.tap = pcl_recorder_tap(rec);
    (void)pcl_relay_run(conn, &rp, &res);
    pcl_sshconn_close(conn);
    close_recording(px, d, command, rec, &res);

    {
        char in[24], out[24], err[24], st[16], dur[24];
        const struct pcl_audit_field f[] = {
            { "end", end_name(res.end) },
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

static int
run_verb(struct proxy *px, const struct pcl_cmdline *cl)
{
    bool known = strcmp(cl->verb, "list") == 0 ||
                 strcmp(cl->verb, "help") == 0;

    emit_decision(px, NULL, NULL, px->env.original_command, known,
                  "builtin",
                  known ? "built-in command" : "command not available");
    if (strcmp(cl->verb, "list") == 0) {
        return list_targets(px);
    }
    if (strcmp(cl->verb, "help") == 0) {
        printf("Usage through this bastion:\n"
               "  ssh -t BASTION                  pick a target from a menu\n"
               "  ssh BASTION list                list the targets open to "
               "you\n"
               "  ssh -t BASTION TARGET           interactive session\n"
               "  ssh BASTION TARGET -- CMD ...   run CMD on TARGET\n"
               "  ssh BASTION ACCOUNT@TARGET ...  as another permitted "
               "account\n");
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

    rc = pcl_cmdline_parse(px.env.original_command, &cl, why, sizeof(why));
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
    rc = run_session(&px, &d, cl.command, cl.kind == PCL_CMDLINE_SHELL);
out:
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
