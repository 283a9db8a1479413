/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Just-in-time approval in the proxy (portcullis(8), APPROVAL). Process
 * glue: the store, the webhook and the policy do the work; this file talks
 * to the person at the other end of ssh and writes the audit events.
 */
#include "config.h"

#include "jit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "portcullis/err.h"
#include "portcullis/log.h"
#include "portcullis/parse.h"
#include "portcullis/proc.h"
#include "portcullis/webhook.h"

#define EXIT_USAGE 64
#define EXIT_SOFTWARE 70
#define BUSY_MS 10000       /* how long a writer waits for the store lock */
#define REASON_MAX 512      /* bytes of a reason or comment */
#define SHOW_MAX 256        /* bytes of untrusted text shown, escaped */

static volatile sig_atomic_t interrupted;

static void
on_signal(int signo)
{
    interrupted = signo;
}

static int64_t
now_s(void)
{
    return (int64_t)time(NULL);
}

static const struct pcl_target *
target_named(const struct pcl_policy *p, const char *name)
{
    size_t i;

    for (i = 0; i < pcl_policy_ntargets(p); i++) {
        const struct pcl_target *t = pcl_policy_target(p, i);
        if (strcmp(pcl_target_name(t), name) == 0) {
            return t;
        }
    }
    return NULL;
}

/* "1h02m", "14:05" style: minutes and seconds left. */
static void
fmt_left(int64_t secs, char *out, size_t outlen)
{
    if (secs < 0) {
        secs = 0;
    }
    if (secs >= 3600) {
        snprintf(out, outlen, "%lldh%02lldm", (long long)(secs / 3600),
                 (long long)(secs % 3600 / 60));
    } else {
        snprintf(out, outlen, "%lld:%02lld", (long long)(secs / 60),
                 (long long)(secs % 60));
    }
}

int
jit_take_reason(struct pcl_cmdline *cl, char **reason)
{
    const char *p;
    const char *end;
    const char *rest = NULL;
    size_t len;

    *reason = NULL;
    if (cl->kind != PCL_CMDLINE_EXEC || cl->command == NULL ||
        strncmp(cl->command, "--reason", 8) != 0 ||
        (cl->command[8] != ' ' && cl->command[8] != '\t' &&
         cl->command[8] != '=')) {
        return PCL_OK;
    }
    p = cl->command + 9;
    p += strspn(p, " \t");
    /* "--reason -- CMD": no text. The blank before "--" is already
     * skipped, so the search below would take "-- CMD" for the reason
     * and drop the command. */
    if (p[0] == '-' && p[1] == '-' &&
        (p[2] == '\0' || p[2] == ' ' || p[2] == '\t')) {
        return PCL_ERR_SYNTAX;
    }
    end = strstr(p, " -- ");
    if (end != NULL) {
        rest = end + 4;
        rest += strspn(rest, " \t");
    } else {
        end = p + strlen(p);
    }
    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    len = (size_t)(end - p);
    if (len >= 2 && (p[0] == '\'' || p[0] == '"') && p[len - 1] == p[0]) {
        p++;
        len -= 2;
    }
    if (len == 0) {
        return PCL_ERR_SYNTAX;
    }
    *reason = strndup(p, len);
    if (*reason == NULL) {
        return PCL_ERR_NOMEM;
    }
    if (rest != NULL && *rest != '\0') {
        char *cmd = strdup(rest);
        if (cmd == NULL) {
            free(*reason);
            *reason = NULL;
            return PCL_ERR_NOMEM;
        }
        free(cl->command);
        cl->command = cmd;
    } else {
        free(cl->command);
        cl->command = NULL;
        cl->kind = PCL_CMDLINE_SHELL;
    }
    return PCL_OK;
}

int
jit_open_store(struct jit *j)
{
    char why[512];

    if (j->store != NULL) {
        return 0;
    }
    if (pcl_approval_open(j->conf->appr_directory, BUSY_MS, &j->store, why,
                          sizeof(why)) != PCL_OK) {
        error("approval store: %s", why);
        tell("the approval store cannot be opened; contact the bastion "
            "administrators");
        return EXIT_SOFTWARE;
    }
    return 0;
}

void
jit_close(struct jit *j)
{
    pcl_approval_close(j->store);
    j->store = NULL;
}

/*
 * Posts the new request to the webhook from a grandchild process, so that
 * neither the requester nor sshd waits for it: the child forks and exits at
 * once, the grandchild drops the group, lets go of the session's fds and
 * posts. It never touches the store (an SQLite handle must not be used
 * across fork). Failures are logged.
 */
static void
notify(struct jit *j, const struct pcl_webhook_msg *m)
{
    pid_t pid;
    int status;

    if (j->conf->appr_webhook[0] == '\0') {
        return;
    }
    pid = fork();
    if (pid < 0) {
        error("approval %s: cannot fork for the webhook: %s", m->id,
              strerror(errno));
        return;
    }
    if (pid == 0) {
        struct pcl_webhook_params wp = {
            .url = j->conf->appr_webhook,
            .ca_file = j->conf->appr_webhook_ca,
            .timeout = j->conf->appr_webhook_timeout,
            .retries = j->conf->appr_webhook_retries,
        };
        enum pcl_webhook_format fmt =
            strcmp(j->conf->appr_webhook_format, "slack") == 0
                ? PCL_WEBHOOK_SLACK
                : PCL_WEBHOOK_JSON;
        char why[512] = "";
        char *body;
        int fd;

        pid = fork();
        if (pid < 0) {
            error("approval %s: cannot fork for the webhook: %s", m->id,
                  strerror(errno));
            _exit(1);
        }
        if (pid > 0) {
            _exit(0);
        }
        (void)setsid();
        fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
            (void)dup2(fd, STDIN_FILENO);
            (void)dup2(fd, STDOUT_FILENO);
            (void)dup2(fd, STDERR_FILENO);
        }
        if (pcl_proc_drop_group() != PCL_OK) {
            _exit(1);
        }
        /* The store (read-write, opened with the group), the event log
         * and whatever else the proxy holds stay out of reach of the
         * TLS and HTTP code that talks to the webhook peer. syslog
         * reconnects on its next line. */
        closelog();
        pcl_proc_close_fds(pcl_log_fd());
        body = pcl_webhook_body(m, fmt);
        if (body == NULL) {
            error("approval %s: webhook body: out of memory", m->id);
            _exit(1);
        }
        if (pcl_webhook_post(&wp, body, why, sizeof(why)) != PCL_OK) {
            char w[256];
            error("approval %s: webhook %s failed: %s", m->id,
                  wp.url, pcl_log_sanitize(w, sizeof(w), why));
            free(body);
            _exit(1);
        }
        info("approval %s: webhook notified", m->id);
        free(body);
        _exit(0);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

/* Reads one line from the terminal with read(2) (no stdio buffering of
 * what the user types after it). Returns its length, or -1 at EOF or on a
 * signal. */
static int
read_line(char *buf, size_t len)
{
    size_t n = 0;
    char c;

    for (;;) {
        ssize_t r = read(STDIN_FILENO, &c, 1);
        if (r < 0 && errno == EINTR && !interrupted) {
            continue;
        }
        if (r <= 0) {
            return -1;
        }
        if (c == '\n' || c == '\r') {
            break;
        }
        if (n + 1 < len) {
            buf[n++] = c;
        }
    }
    buf[n] = '\0';
    return (int)n;
}

/* The rule's values with portcullis.conf's defaults filled in. */
static void
rule_defaults(const struct jit *j, struct pcl_approval_rule *r)
{
    if (r->required == 0) {
        r->required = j->conf->appr_required;
    }
    if (r->grant_ttl == 0) {
        r->grant_ttl = j->conf->appr_grant_ttl;
    }
    if (r->request_timeout == 0) {
        r->request_timeout = j->conf->appr_request_timeout;
    }
}

struct pending_match {
    const char *user, *target, *account, *command;
    char id[PCL_APPROVAL_ID_LEN + 1];
};

static int
pending_cb(const struct pcl_approval_request *r, void *ctx)
{
    struct pending_match *m = ctx;

    if (strcmp(r->user, m->user) == 0 && strcmp(r->target, m->target) == 0 &&
        strcmp(r->account, m->account) == 0 &&
        ((r->command == NULL && m->command == NULL) ||
         (r->command != NULL && m->command != NULL &&
          strcmp(r->command, m->command) == 0))) {
        snprintf(m->id, sizeof(m->id), "%s", r->id);
        return 1;
    }
    return 0;
}

/* Installs on_signal for SIGINT, SIGTERM, SIGHUP (no SA_RESTART, so a
 * blocked read or poll returns), saving the old actions in old[3]. */
static void
catch_signals(struct sigaction *old, bool install)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    struct sigaction sa;
    size_t i;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (i = 0; i < 3; i++) {
        if (install) {
            sigaction(sigs[i], &sa, &old[i]);
        } else {
            sigaction(sigs[i], &old[i], NULL);
        }
    }
}

/* Asks for a reason on the terminal. Returns a string the caller frees, or
 * NULL (EOF, Ctrl-C). */
static char *
ask_reason(const char *target, const char *account)
{
    char line[REASON_MAX];
    int tries;

    for (tries = 0; tries < 3 && !interrupted; tries++) {
        fprintf(stderr, "Access to %s as %s needs approval.\r\n"
                "Reason (Ctrl-C to give up): ", target, account);
        fflush(stderr);
        if (read_line(line, sizeof(line)) < 0) {
            return NULL;
        }
        if (line[strspn(line, " \t")] != '\0') {
            return strdup(line);
        }
    }
    return NULL;
}

/* The requester's wait: polls the store every poll-interval, redraws the
 * countdown, stops on a decision, the timeout or a signal. Returns 0 with
 * the grant set in j, or an exit code. */
static int
wait_decision(struct jit *j, const struct pcl_decision *d,
              const char *command, const char *id)
{
    const char *target = pcl_target_name(d->target);
    struct pcl_approval_request r;
    char left[32];
    int rc;

    memset(&r, 0, sizeof(r));
    for (;;) {
        int64_t now = now_s();

        pcl_approval_request_clear(&r);
        if (interrupted) {
            const struct pcl_audit_field f[] = {
                { "approval_id", id }, { "outcome", "cancelled" },
            };
            (void)pcl_approval_cancel(j->store, id, j->id->user, now);
            fputs("\r\n", stderr);
            tell("request %s cancelled", id);
            j->emit(j->emit_ctx, "approval-wait-end", target, d->account,
                    command, f, 2);
            return JIT_EXIT_CANCELLED;
        }
        rc = pcl_approval_get(j->store, id, &r);
        if (rc != PCL_OK) {
            tell("the approval store cannot be read; contact the bastion "
                "administrators");
            return EXIT_SOFTWARE;
        }
        if (r.state == PCL_APPROVAL_PENDING && now >= r.expires) {
            (void)pcl_approval_expire(j->store, now, NULL);
            r.state = PCL_APPROVAL_EXPIRED;
        }
        if (r.state != PCL_APPROVAL_PENDING) {
            break;
        }
        fmt_left(r.expires - now, left, sizeof(left));
        fprintf(stderr, "\rWaiting for approval of request %s (%u of %u), "
                "%s left; Ctrl-C cancels \033[K", id, r.approvals,
                r.required, left);
        fflush(stderr);
        (void)poll(NULL, 0, (int)j->conf->appr_poll_interval_ms);
    }
    fputs("\r\n", stderr);
    {
        char c[SHOW_MAX];
        char by[SHOW_MAX];
        char until[32];
        const struct pcl_audit_field f[] = {
            { "approval_id", id },
            { "outcome", pcl_approval_state_name(r.state) },
            { "grant_until", r.state == PCL_APPROVAL_APPROVED ? until : NULL },
        };

        pcl_approval_time(r.grant_until, until, sizeof(until));
        j->emit(j->emit_ctx, "approval-wait-end", target, d->account,
                command, f, 3);
        switch (r.state) {
        case PCL_APPROVAL_APPROVED:
            /* What was typed during the wait is not for the target. */
            (void)tcflush(STDIN_FILENO, TCIFLUSH);
            snprintf(j->approval_id, sizeof(j->approval_id), "%s", id);
            j->grant_until = r.grant_until;
            fmt_left(r.grant_until - now_s(), left, sizeof(left));
            tell("request %s approved by %s; access for %s", id,
                pcl_approval_escape(c, sizeof(c), r.approvers), left);
            rc = 0;
            break;
        case PCL_APPROVAL_DENIED:
            tell("request %s denied by %s%s%s", id,
                r.decided_by != NULL
                    ? pcl_approval_escape(by, sizeof(by), r.decided_by)
                    : "?",
                r.comment != NULL ? ": " : "",
                r.comment != NULL
                    ? pcl_approval_escape(c, sizeof(c), r.comment)
                    : "");
            rc = JIT_EXIT_DENIED;
            break;
        case PCL_APPROVAL_EXPIRED:
            tell("request %s expired without a decision", id);
            rc = JIT_EXIT_PENDING;
            break;
        default:
            tell("request %s is %s", id, pcl_approval_state_name(r.state));
            rc = JIT_EXIT_DENIED;
            break;
        }
    }
    pcl_approval_request_clear(&r);
    return rc;
}

int
jit_gate(struct jit *j, const struct pcl_decision *d, const char *command,
         bool interactive, const char *reason)
{
    const char *target = pcl_target_name(d->target);
    struct pcl_approval_rule rule;
    struct pcl_approval_new n;
    struct pending_match pm;
    struct sigaction old[3];
    char *asked = NULL;
    char id[PCL_APPROVAL_ID_LEN + 1];
    char host[256];
    const char *scope;
    int64_t until;
    int rc;

    j->approval_id[0] = '\0';
    j->grant_until = 0;
    if (pcl_target_approval(j->policy, d->target, d->account, command,
                            &rule) != PCL_OK) {
        tell("out of memory");
        return EXIT_SOFTWARE;
    }
    if (!rule.needed) {
        if (reason != NULL) {
            debug("--reason given where no approval is needed");
        }
        return 0;
    }
    rule_defaults(j, &rule);
    scope = rule.command_scoped ? command : NULL;
    rc = jit_open_store(j);
    if (rc != 0) {
        return rc;
    }
    rc = pcl_approval_find_grant(j->store, j->id->user, target, d->account,
                                 scope, now_s(), id, &until);
    if (rc == PCL_OK) {
        char u[32];
        const struct pcl_audit_field f[] = {
            { "approval_id", id }, { "grant_until", u },
        };
        pcl_approval_time(until, u, sizeof(u));
        snprintf(j->approval_id, sizeof(j->approval_id), "%s", id);
        j->grant_until = until;
        j->emit(j->emit_ctx, "grant-use", target, d->account, command, f, 2);
        return 0;
    }
    if (rc != PCL_ERR_NOTFOUND) {
        tell("the approval store cannot be read; contact the bastion "
            "administrators");
        return EXIT_SOFTWARE;
    }

    /* A request of the same scope still pending is reused, so that an
     * exec requester coming back does not pile up requests. */
    (void)pcl_approval_expire(j->store, now_s(), NULL);
    memset(&pm, 0, sizeof(pm));
    pm.user = j->id->user;
    pm.target = target;
    pm.account = d->account;
    pm.command = scope;
    (void)pcl_approval_list(j->store, PCL_APPROVAL_PENDING, now_s(),
                            pending_cb, &pm);
    if (pm.id[0] != '\0' && !interactive) {
        tell("request %s for %s as %s is still waiting for approval; run "
            "this again once it is approved", pm.id, target, d->account);
        return JIT_EXIT_PENDING;
    }

    interrupted = 0;
    if (interactive) {
        catch_signals(old, true);
    }
    if (pm.id[0] != '\0') {
        snprintf(id, sizeof(id), "%s", pm.id);
        tell("request %s for %s as %s is already waiting", id, target,
            d->account);
        rc = wait_decision(j, d, command, id);
        goto out;
    }
    if (reason == NULL && interactive) {
        asked = ask_reason(target, d->account);
        if (asked == NULL) {
            fputs("\r\n", stderr);
            tell("no reason given; nothing requested");
            rc = JIT_EXIT_CANCELLED;
            goto out;
        }
        reason = asked;
    }
    if (reason == NULL) {
        tell("access to %s as %s needs approval: give a reason with "
            "ssh BASTION %s --reason TEXT%s%s", target, d->account, target,
            command != NULL ? " -- " : "", command != NULL ? "CMD" : "");
        rc = EXIT_USAGE;
        goto out;
    }
    if (strlen(reason) > REASON_MAX) {
        tell("the reason is longer than %d bytes", REASON_MAX);
        rc = EXIT_USAGE;
        goto out;
    }
    memset(&n, 0, sizeof(n));
    n.user = j->id->user;
    n.target = target;
    n.account = d->account;
    n.command = scope;
    n.reason = reason;
    n.session_id = j->session_id;
    n.required = rule.required;
    n.grant_ttl = rule.grant_ttl;
    n.timeout = rule.request_timeout;
    n.now = now_s();
    rc = pcl_approval_create(j->store, &n, id);
    if (rc != PCL_OK) {
        tell("the request cannot be stored; contact the bastion "
            "administrators");
        rc = EXIT_SOFTWARE;
        goto out;
    }
    {
        char req[8], exp[32];
        const struct pcl_audit_field f[] = {
            { "approval_id", id },
            { "reason", reason },
            { "required", req },
            { "expires", exp },
            { "rule", rule.rule },
        };
        snprintf(req, sizeof(req), "%u", rule.required);
        pcl_approval_time(n.now + rule.request_timeout, exp, sizeof(exp));
        j->emit(j->emit_ctx, "approval-request", target, d->account,
                command, f, 5);
    }
    if (gethostname(host, sizeof(host)) != 0) {
        snprintf(host, sizeof(host), "bastion");
    }
    host[sizeof(host) - 1] = '\0';
    {
        struct pcl_webhook_msg m = {
            .id = id, .user = j->id->user, .target = target,
            .account = d->account, .command = scope, .reason = reason,
            .required = rule.required, .created = n.now,
            .expires = n.now + rule.request_timeout, .bastion = host,
        };
        notify(j, &m);
    }
    if (!interactive) {
        tell("access to %s as %s needs approval: request %s is waiting "
            "(approvers run: ssh BASTION approve %s); run this again once "
            "it is approved", target, d->account, id, id);
        rc = JIT_EXIT_PENDING;
        goto out;
    }
    tell("request %s created; approvers run: ssh BASTION approve %s", id, id);
    rc = wait_decision(j, d, command, id);
out:
    if (interactive) {
        catch_signals(old, false);
    }
    free(asked);
    return rc;
}

/* ------------------------------------------------------------ verbs */

bool
jit_is_verb(const char *verb)
{
    return strcmp(verb, "requests") == 0 || strcmp(verb, "approve") == 0 ||
           strcmp(verb, "deny") == 0 || strcmp(verb, "grants") == 0 ||
           strcmp(verb, "revoke") == 0;
}

/* The parsed arguments of approve, deny and revoke. */
struct verb_args {
    char id[PCL_APPROVAL_ID_LEN + 1];
    unsigned for_seconds;
    char *comment;   /* owned, or NULL */
};

/* ID [--for DURATION] [--comment TEXT...]: --comment takes the rest. */
static int
parse_args(const char *args, bool allow_for, struct verb_args *a)
{
    const char *p = args != NULL ? args : "";
    size_t l;

    memset(a, 0, sizeof(*a));
    p += strspn(p, " \t");
    l = strcspn(p, " \t");
    if (l != PCL_APPROVAL_ID_LEN ||
        strspn(p, "abcdefghijkmnpqrstuvwxyz23456789") < l) {
        tell("expected a request id (%d letters and digits)",
            PCL_APPROVAL_ID_LEN);
        return EXIT_USAGE;
    }
    memcpy(a->id, p, l);
    a->id[l] = '\0';
    p += l;
    for (;;) {
        p += strspn(p, " \t");
        if (*p == '\0') {
            return 0;
        }
        if (allow_for && strncmp(p, "--for", 5) == 0 &&
            (p[5] == ' ' || p[5] == '\t')) {
            char word[32];
            p += 5;
            p += strspn(p, " \t");
            l = strcspn(p, " \t");
            if (l == 0 || l >= sizeof(word)) {
                tell("--for needs a duration (N, Ns, Nm, Nh)");
                return EXIT_USAGE;
            }
            memcpy(word, p, l);
            word[l] = '\0';
            if (pcl_parse_seconds(word, &a->for_seconds) != PCL_OK ||
                a->for_seconds == 0) {
                tell("--for needs a duration (N, Ns, Nm, Nh), more than 0");
                return EXIT_USAGE;
            }
            p += l;
            continue;
        }
        if (strncmp(p, "--comment", 9) == 0 &&
            (p[9] == ' ' || p[9] == '\t')) {
            p += 9;
            p += strspn(p, " \t");
            if (*p == '\0' || strlen(p) > REASON_MAX) {
                tell("--comment needs a text of at most %d bytes",
                    REASON_MAX);
                return EXIT_USAGE;
            }
            a->comment = strdup(p);
            if (a->comment == NULL) {
                tell("out of memory");
                return EXIT_SOFTWARE;
            }
            return 0;
        }
        tell("unexpected argument; usage: approve ID [--for DURATION] "
            "[--comment TEXT], deny ID [--comment TEXT], revoke ID "
            "[--comment TEXT]");
        return EXIT_USAGE;
    }
}

/* Whether the caller may approve (and so see, and revoke) requests on
 * target name. */
static bool
may_approve(const struct jit *j, const char *target)
{
    const struct pcl_target *t = target_named(j->policy, target);

    return t != NULL && pcl_target_may_approve(t, j->id);
}

struct list_ctx {
    struct jit *j;
    int64_t now;
    size_t n;
    bool grants;
};

static int
list_cb(const struct pcl_approval_request *r, void *vctx)
{
    struct list_ctx *c = vctx;
    bool mine = strcmp(r->user, c->j->id->user) == 0;
    char reason[SHOW_MAX], cmd[SHOW_MAX], who[SHOW_MAX];
    char where[2 * PCL_CMDLINE_TARGET_MAX + 2];
    char left[32];

    if (!mine && !may_approve(c->j, r->target)) {
        return 0;
    }
    if (c->n++ == 0) {
        printf(c->grants ? "ID        USER             ACCOUNT@TARGET"
                           "                 LEFT     APPROVED BY\n"
                         : "ID        USER             ACCOUNT@TARGET"
                           "                 APPROVALS  LEFT    REASON\n");
    }
    snprintf(where, sizeof(where), "%s@%s", r->account, r->target);
    if (c->grants) {
        fmt_left(r->grant_until - c->now, left, sizeof(left));
        printf("%-9s %-16s %-30s %-8s %s\n", r->id, r->user, where, left,
               pcl_approval_escape(who, sizeof(who), r->approvers));
    } else {
        fmt_left(r->expires - c->now, left, sizeof(left));
        printf("%-9s %-16s %-30s %u of %-5u %-7s %s%s\n", r->id, r->user,
               where, r->approvals, r->required, left,
               pcl_approval_escape(reason, sizeof(reason), r->reason),
               mine ? " (yours)" : "");
    }
    if (r->command != NULL) {
        printf("          command: %s\n",
               pcl_approval_escape(cmd, sizeof(cmd), r->command));
    }
    return 0;
}

static int
verb_list(struct jit *j, bool grants)
{
    struct list_ctx c = { j, now_s(), 0, grants };
    int rc = jit_open_store(j);

    if (rc != 0) {
        return rc;
    }
    if (pcl_approval_expire(j->store, c.now, NULL) != PCL_OK ||
        pcl_approval_list(j->store, grants ? PCL_APPROVAL_APPROVED
                                           : PCL_APPROVAL_PENDING,
                          c.now, list_cb, &c) != PCL_OK) {
        tell("the approval store cannot be read");
        return EXIT_SOFTWARE;
    }
    if (c.n == 0) {
        printf(grants ? "No live grants you may see.\n"
                      : "No requests waiting for you.\n");
    }
    return fflush(stdout) == 0 ? 0 : EXIT_SOFTWARE;
}

/* The common start of approve, deny and revoke: parses args into *a,
 * opens the store and reads the request into *r. Returns -1 with the
 * request's lookup code in *get_rc (0, PCL_ERR_NOTFOUND, PCL_ERR_IO),
 * or an exit code (a->comment freed). */
static int
verb_start(struct jit *j, const char *args, bool allow_for,
           struct verb_args *a, struct pcl_approval_request *r, int *get_rc)
{
    int rc;

    memset(r, 0, sizeof(*r));
    rc = parse_args(args, allow_for, a);
    if (rc == 0) {
        rc = jit_open_store(j);
    }
    if (rc != 0) {
        free(a->comment);
        a->comment = NULL;
        return rc;
    }
    *get_rc = pcl_approval_get(j->store, a->id, r);
    return -1;
}

/* approve, deny. */
static int
verb_decide(struct jit *j, bool approve, const char *args)
{
    struct pcl_approval_request r;
    struct verb_args a;
    enum pcl_approval_outcome outcome = PCL_APPROVAL_RECORDED;
    char why[256] = "";
    char until[32] = "";
    int start;
    int rc;

    start = verb_start(j, args, approve, &a, &r, &rc);
    if (start >= 0) {
        return start;
    }
    if (rc != PCL_OK || !may_approve(j, r.target)) {
        /* The same words whether the request exists or not. */
        const struct pcl_audit_field f[] = {
            { "approval_id", a.id },
            { "verdict", approve ? "approve" : "deny" },
            { "outcome", "not-allowed" },
        };
        j->emit(j->emit_ctx, "approval-decision", rc == PCL_OK ? r.target
                                                                : NULL,
                rc == PCL_OK ? r.account : NULL, NULL, f, 3);
        tell("no request %s that you may decide", a.id);
        rc = rc == PCL_ERR_IO ? EXIT_SOFTWARE : JIT_EXIT_DENIED;
        goto out;
    }
    if (a.for_seconds > r.grant_ttl) {
        tell("--for is capped at the policy's grant-ttl (%u s)", r.grant_ttl);
        a.for_seconds = r.grant_ttl;
    }
    rc = pcl_approval_decide(j->store, a.id, j->id->user, approve,
                             a.for_seconds, a.comment, now_s(), &outcome,
                             why, sizeof(why));
    if (rc == PCL_OK && outcome == PCL_APPROVAL_GRANTED) {
        struct pcl_approval_request after;
        if (pcl_approval_get(j->store, a.id, &after) == PCL_OK) {
            pcl_approval_time(after.grant_until, until, sizeof(until));
        }
        pcl_approval_request_clear(&after);
    }
    {
        const char *out_name = rc != PCL_OK ? "refused"
                               : outcome == PCL_APPROVAL_GRANTED ? "granted"
                               : outcome == PCL_APPROVAL_REFUSED ? "denied"
                                                                 : "recorded";
        const struct pcl_audit_field f[] = {
            { "approval_id", a.id },
            { "requester", r.user },
            { "verdict", approve ? "approve" : "deny" },
            { "outcome", out_name },
            { "comment", a.comment },
            { "grant_until", until[0] != '\0' ? until : NULL },
            { "reason", rc != PCL_OK ? why : NULL },
        };
        j->emit(j->emit_ctx, "approval-decision", r.target, r.account,
                r.command, f, 7);
    }
    switch (rc) {
    case PCL_OK:
        if (outcome == PCL_APPROVAL_GRANTED) {
            printf("Request %s approved: %s may use %s as %s until %s.\n",
                   a.id, r.user, r.target, r.account, until);
        } else if (outcome == PCL_APPROVAL_RECORDED) {
            printf("Approval of request %s recorded (%u of %u).\n", a.id,
                   r.approvals + 1, r.required);
        } else {
            printf("Request %s denied.\n", a.id);
        }
        rc = fflush(stdout) == 0 ? 0 : EXIT_SOFTWARE;
        break;
    case PCL_ERR_PERM:
        tell("you cannot decide your own request");
        rc = JIT_EXIT_DENIED;
        break;
    case PCL_ERR_IO:
        tell("the approval store cannot be written");
        rc = EXIT_SOFTWARE;
        break;
    default:
        tell("%s", why);
        rc = JIT_EXIT_DENIED;
        break;
    }
out:
    pcl_approval_request_clear(&r);
    free(a.comment);
    return rc;
}

static int
verb_revoke(struct jit *j, const char *args)
{
    struct pcl_approval_request r;
    struct verb_args a;
    int start;
    int rc;

    start = verb_start(j, args, false, &a, &r, &rc);
    if (start >= 0) {
        return start;
    }
    /* Approvers of the target may revoke; so may the grantee, giving it
     * up. */
    if (rc != PCL_OK || (!may_approve(j, r.target) &&
                         strcmp(r.user, j->id->user) != 0)) {
        tell("no grant %s that you may revoke", a.id);
        rc = rc == PCL_ERR_IO ? EXIT_SOFTWARE : JIT_EXIT_DENIED;
        goto out;
    }
    rc = pcl_approval_revoke(j->store, a.id, j->id->user, a.comment,
                             now_s());
    {
        const struct pcl_audit_field f[] = {
            { "approval_id", a.id },
            { "requester", r.user },
            { "outcome", rc == PCL_OK ? "revoked" : "refused" },
            { "comment", a.comment },
        };
        j->emit(j->emit_ctx, "approval-revoke", r.target, r.account,
                r.command, f, 4);
    }
    if (rc == PCL_OK) {
        printf("Grant %s revoked; its sessions end within %u ms.\n", a.id,
               j->conf->appr_poll_interval_ms);
        rc = fflush(stdout) == 0 ? 0 : EXIT_SOFTWARE;
    } else if (rc == PCL_ERR_IO) {
        tell("the approval store cannot be written");
        rc = EXIT_SOFTWARE;
    } else {
        tell("%s is not a live grant", a.id);
        rc = JIT_EXIT_DENIED;
    }
out:
    pcl_approval_request_clear(&r);
    free(a.comment);
    return rc;
}

int
jit_verb(struct jit *j, const char *verb, const char *args)
{
    if (strcmp(verb, "requests") == 0 || strcmp(verb, "grants") == 0) {
        if (args != NULL && args[strspn(args, " \t")] != '\0') {
            tell("%s takes no arguments", verb);
            return EXIT_USAGE;
        }
        return verb_list(j, strcmp(verb, "grants") == 0);
    }
    if (strcmp(verb, "approve") == 0 || strcmp(verb, "deny") == 0) {
        return verb_decide(j, strcmp(verb, "approve") == 0, args);
    }
    return verb_revoke(j, args);
}

/* ------------------------------------------------------------ watch */

struct jit_watch {
    struct jit *j;
    const struct pcl_relay_tap *inner;
    struct pcl_relay_tap tap;
    int warn_fd;
    uint64_t next_ms;     /* CLOCK_MONOTONIC milliseconds of the next look */
    bool warned;
    const char *ended;
};

static int
w_data(void *ctx, enum pcl_relay_stream stream, const uint8_t *buf,
       size_t len)
{
    struct jit_watch *w = ctx;

    if (w->inner == NULL || w->inner->data == NULL) {
        return 0;
    }
    return w->inner->data(w->inner->ctx, stream, buf, len);
}

static int
w_resize(void *ctx, int cols, int rows)
{
    struct jit_watch *w = ctx;

    if (w->inner == NULL || w->inner->resize == NULL) {
        return 0;
    }
    return w->inner->resize(w->inner->ctx, cols, rows);
}

static int
w_due(void *ctx, uint64_t now_ms)
{
    struct jit_watch *w = ctx;
    int due = w->next_ms > now_ms ? (int)(w->next_ms - now_ms) : 0;

    if (w->inner != NULL && w->inner->due != NULL) {
        int d = w->inner->due(w->inner->ctx, now_ms);
        if (d >= 0 && d < due) {
            due = d;
        }
    }
    return due;
}

/* Writes a line to the user's terminal, best effort (the fd may be
 * non-blocking inside the relay). */
static void
warn_user(struct jit_watch *w, const char *msg)
{
    ssize_t r = write(w->warn_fd, msg, strlen(msg));

    (void)r;
}

static int
w_tick(void *ctx, uint64_t now_ms)
{
    struct jit_watch *w = ctx;
    struct pcl_approval_request r;
    int64_t now;

    if (w->inner != NULL && w->inner->tick != NULL &&
        w->inner->tick(w->inner->ctx, now_ms) < 0) {
        return -1;
    }
    if (now_ms < w->next_ms) {
        return 0;
    }
    w->next_ms = now_ms + w->j->conf->appr_poll_interval_ms;
    now = now_s();
    /* The store says whether the grant was revoked; when it cannot be
     * read, the end known at the start still holds. */
    if (pcl_approval_get(w->j->store, w->j->approval_id, &r) == PCL_OK) {
        if (r.state == PCL_APPROVAL_REVOKED) {
            w->ended = "revoked";
        }
        w->j->grant_until = r.grant_until;
        pcl_approval_request_clear(&r);
    }
    if (w->ended == NULL && now >= w->j->grant_until) {
        w->ended = "expired";
    }
    if (w->ended != NULL) {
        char msg[160];
        snprintf(msg, sizeof(msg), "\r\nportcullis: grant %s %s; the "
                 "session is ended\r\n", w->j->approval_id, w->ended);
        warn_user(w, msg);
        return -1;
    }
    if (!w->warned && w->j->conf->appr_warn_before > 0 &&
        w->j->grant_until - now <= (int64_t)w->j->conf->appr_warn_before) {
        char msg[160];
        char left[32];
        const struct pcl_audit_field f[] = {
            { "approval_id", w->j->approval_id }, { "left", left },
        };
        fmt_left(w->j->grant_until - now, left, sizeof(left));
        snprintf(msg, sizeof(msg), "\r\nportcullis: grant %s ends in %s; "
                 "the session will be ended then\r\n", w->j->approval_id,
                 left);
        warn_user(w, msg);
        w->warned = true;
        w->j->emit(w->j->emit_ctx, "grant-warning", NULL, NULL, NULL, f, 2);
    }
    return 0;
}

int
jit_watch_new(struct jit *j, const struct pcl_relay_tap *inner, int warn_fd,
              struct jit_watch **out)
{
    struct jit_watch *w = calloc(1, sizeof(*w));
    struct timespec ts;

    *out = NULL;
    if (w == NULL) {
        return PCL_ERR_NOMEM;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    w->j = j;
    w->inner = inner;
    w->warn_fd = warn_fd;
    w->next_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    w->tap.data = w_data;
    w->tap.resize = w_resize;
    w->tap.due = w_due;
    w->tap.tick = w_tick;
    w->tap.ctx = w;
    *out = w; /* transfer ownership */
    return PCL_OK;
}

const struct pcl_relay_tap *
jit_watch_tap(struct jit_watch *w)
{
    return &w->tap;
}

const char *
jit_watch_ended(const struct jit_watch *w)
{
    return w != NULL ? w->ended : NULL;
}

void
jit_watch_free(struct jit_watch *w)
{
    free(w);
}
