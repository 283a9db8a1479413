/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/sshconn.h"

#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libssh/callbacks.h>

#include "portcullis/err.h"
#include "portcullis/log.h"

struct pcl_sshconn {
    ssh_session session;
    ssh_channel channel;
    struct ssh_channel_callbacks_struct cb;
    struct pcl_sshconn_info info;
    bool have_exit;
    int exit_status;
    char exit_signal[32];
};

/* libssh's own diagnostics go to our log at debug levels only: they can
 * name hosts and algorithms but never carry session data. */
static void
log_bridge(int priority, const char *function, const char *buffer,
           void *userdata)
{
    (void)userdata;
    pcl_log(__FILE__, function, 0,
            priority <= SSH_LOG_WARN      ? PCL_LOG_DEBUG1
            : priority <= SSH_LOG_PROTOCOL ? PCL_LOG_DEBUG2
                                           : PCL_LOG_DEBUG3,
            0, "libssh: %s", buffer);
}

static void
on_exit_status(ssh_session session, ssh_channel channel, int status,
               void *userdata)
{
    struct pcl_sshconn *c = userdata;

    (void)session;
    (void)channel;
    c->have_exit = true;
    c->exit_status = status;
}

static void
on_exit_signal(ssh_session session, ssh_channel channel, const char *signal,
               int core, const char *errmsg, const char *lang,
               void *userdata)
{
    struct pcl_sshconn *c = userdata;

    (void)session;
    (void)channel;
    (void)core;
    (void)errmsg;
    (void)lang;
    c->have_exit = true;
    snprintf(c->exit_signal, sizeof(c->exit_signal), "%s",
             signal != NULL ? signal : "");
}

static void
copy_name(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src != NULL ? src : "none");
}

/* The host key algorithms that present a key of the given type. */
static const char *
algorithms_for_type(enum ssh_keytypes_e type)
{
    switch (type) {
    case SSH_KEYTYPE_ED25519:
        return "ssh-ed25519";
    case SSH_KEYTYPE_ECDSA_P256:
        return "ecdsa-sha2-nistp256";
    case SSH_KEYTYPE_ECDSA_P384:
        return "ecdsa-sha2-nistp384";
    case SSH_KEYTYPE_ECDSA_P521:
        return "ecdsa-sha2-nistp521";
    case SSH_KEYTYPE_RSA:
        return "rsa-sha2-512,rsa-sha2-256,ssh-rsa";
    default:
        return NULL;
    }
}

/* Parses "TYPE BASE64 [comment]" into a key. Returns 0 or -1. */
static int
parse_pin(const char *pin, ssh_key *out)
{
    char type[64];
    char *b64 = NULL;
    const char *sp = strchr(pin, ' ');
    const char *end;
    enum ssh_keytypes_e kt;
    int rc = -1;

    *out = NULL;
    if (sp == NULL || (size_t)(sp - pin) >= sizeof(type)) {
        return -1;
    }
    memcpy(type, pin, (size_t)(sp - pin));
    type[sp - pin] = '\0';
    sp += strspn(sp, " ");
    end = sp + strcspn(sp, " ");
    b64 = strndup(sp, (size_t)(end - sp));
    if (b64 == NULL) {
        return -1;
    }
    kt = ssh_key_type_from_name(type);
    if (kt != SSH_KEYTYPE_UNKNOWN &&
        ssh_pki_import_pubkey_base64(b64, kt, out) == SSH_OK) {
        rc = 0;
    }
    free(b64);
    return rc;
}

int
pcl_sshconn_check_host_key(const char *pin, char *why, size_t whylen)
{
    ssh_key k = NULL;

    if (parse_pin(pin, &k) != 0) {
        snprintf(why, whylen, "not a public key line (\"TYPE BASE64\") "
                 "libssh can read, nor a SHA256: fingerprint");
        return PCL_ERR_CONFIG;
    }
    ssh_key_free(k);
    return PCL_OK;
}

int
pcl_sshconn_check_algorithms(const char *what, const char *list, char *why,
                             size_t whylen)
{
    enum ssh_options_e opt;
    ssh_session s;
    int rc;

    if (strcmp(what, "kex") == 0) {
        opt = SSH_OPTIONS_KEY_EXCHANGE;
    } else if (strcmp(what, "ciphers") == 0) {
        opt = SSH_OPTIONS_CIPHERS_C_S;
    } else if (strcmp(what, "macs") == 0) {
        opt = SSH_OPTIONS_HMAC_C_S;
    } else if (strcmp(what, "host-key-algorithms") == 0) {
        opt = SSH_OPTIONS_HOSTKEYS;
    } else {
        snprintf(why, whylen, "unknown algorithm class");
        return PCL_ERR_INVAL;
    }
    s = ssh_new();
    if (s == NULL) {
        snprintf(why, whylen, "out of memory");
        return PCL_ERR_NOMEM;
    }
    /* libssh refuses a list when it supports none of its names; check each
     * name alone so an unsupported one is named. */
    rc = PCL_OK;
    {
        char *copy = strdup(list);
        char *save = NULL;
        char *tok;
        if (copy == NULL) {
            ssh_free(s);
            snprintf(why, whylen, "out of memory");
            return PCL_ERR_NOMEM;
        }
        for (tok = strtok_r(copy, ",", &save); tok != NULL;
             tok = strtok_r(NULL, ",", &save)) {
            if (ssh_options_set(s, opt, tok) != SSH_OK) {
                snprintf(why, whylen, "\"%.64s\" is not supported by libssh",
                         tok);
                rc = PCL_ERR_CONFIG;
                break;
            }
        }
        free(copy);
    }
    ssh_free(s);
    return rc;
}

/* Intersects the policy's host key algorithms with the types of the
 * pinned keys, so that the target presents a key we can compare. */
static char *
hostkey_list(const struct pcl_sshconn_params *p)
{
    char *out = NULL;
    size_t cap;
    size_t i;
    char *copy = NULL;
    char *save = NULL;
    char *tok;
    bool any_fingerprint = false;
    size_t len = 0;

    for (i = 0; i < p->nhost_keys; i++) {
        if (strncmp(p->host_keys[i], "SHA256:", 7) == 0) {
            any_fingerprint = true;
        }
    }
    if (p->hostkey_algorithms == NULL) {
        return NULL;
    }
    if (any_fingerprint) {
        return strdup(p->hostkey_algorithms);
    }
    cap = strlen(p->hostkey_algorithms) + 1;
    out = calloc(1, cap);
    copy = strdup(p->hostkey_algorithms);
    if (out == NULL || copy == NULL) {
        free(out);
        free(copy);
        return NULL;
    }
    for (tok = strtok_r(copy, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        bool keep = false;
        for (i = 0; i < p->nhost_keys && !keep; i++) {
            ssh_key k = NULL;
            const char *algs;
            if (parse_pin(p->host_keys[i], &k) != 0) {
                continue;
            }
            algs = algorithms_for_type(ssh_key_type(k));
            ssh_key_free(k);
            if (algs != NULL) {
                char pat[96];
                snprintf(pat, sizeof(pat), ",%s,", algs);
                char needle[80];
                snprintf(needle, sizeof(needle), ",%s,", tok);
                keep = strstr(pat, needle) != NULL;
            }
        }
        if (keep) {
            len += (size_t)snprintf(out + len, cap - len, "%s%s",
                                    len > 0 ? "," : "", tok);
        }
    }
    free(copy);
    if (len == 0) {
        /* No overlap: let the pin check refuse with a clear message. */
        free(out);
        return strdup(p->hostkey_algorithms);
    }
    return out;
}

/* Compares the target's key with every pin. Returns true on a match. */
static bool
host_key_pinned(ssh_key srv, const struct pcl_sshconn_params *p,
                const char *fingerprint)
{
    size_t i;

    for (i = 0; i < p->nhost_keys; i++) {
        const char *pin = p->host_keys[i];
        if (strncmp(pin, "SHA256:", 7) == 0) {
            if (fingerprint != NULL && strcmp(pin, fingerprint) == 0) {
                return true;
            }
        } else {
            ssh_key k = NULL;
            bool same;
            if (parse_pin(pin, &k) != 0) {
                continue;
            }
            same = ssh_key_cmp(k, srv, SSH_KEY_CMP_PUBLIC) == 0;
            ssh_key_free(k);
            if (same) {
                return true;
            }
        }
    }
    return false;
}

/* Turns libssh's connect error into words for the user. */
static void
connect_error(ssh_session s, const struct pcl_sshconn_params *p, char *why,
              size_t whylen)
{
    const char *e = ssh_get_error(s);
    char clean[200];

    pcl_log_sanitize(clean, sizeof(clean), e);
    if (strstr(e, "no match for method") != NULL) {
        snprintf(why, whylen, "no common algorithm with the target: %s "
                 "(the policy allows only stronger ones)", clean);
    } else if (strstr(e, "Timeout") != NULL ||
               strstr(e, "timeout") != NULL) {
        snprintf(why, whylen, "timed out after %u s reaching %s port %u",
                 p->connect_timeout, p->host, p->port);
    } else {
        snprintf(why, whylen, "%s", clean);
    }
}

static void
set_keepalive(ssh_session s, const struct pcl_sshconn_params *p)
{
    int fd = ssh_get_fd(s);
    int on = 1;
    int idle = (int)p->keepalive_interval;
    int cnt = (int)(p->keepalive_count_max > 0 ? p->keepalive_count_max : 3);

    if (fd < 0 || p->keepalive_interval == 0) {
        return;
    }
    /* TCP keepalives find a dead target even when the SSH layer idles. */
    (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &idle, sizeof(idle));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
    /* SSH keepalives are sent every interval; if none is acknowledged by
     * the target's TCP for count intervals, the target is gone. TCP keepalive
     * probes alone would wait for the retransmission timeout (minutes). */
    {
        unsigned long long ms = (unsigned long long)idle * (unsigned)cnt *
                                1000ULL;
        unsigned int user_timeout = ms > INT_MAX ? INT_MAX
                                                 : (unsigned int)ms;
        if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout,
                       sizeof(user_timeout)) != 0) {
            debug("TCP_USER_TIMEOUT %u ms refused", user_timeout);
        }
    }
}

/* Answers keyboard-interactive (RFC 4256) with the password: every
 * prompt that does not echo gets it; a prompt that echoes (a question we
 * cannot answer) ends the attempt. At most 5 rounds. */
static int
auth_kbdint(ssh_session s, const char *password)
{
    int rounds;
    int r = ssh_userauth_kbdint(s, NULL, NULL);

    for (rounds = 0; r == SSH_AUTH_INFO && rounds < 5; rounds++) {
        int n = ssh_userauth_kbdint_getnprompts(s);
        int i;
        for (i = 0; i < n; i++) {
            char echo = 1;
            (void)ssh_userauth_kbdint_getprompt(s, (unsigned)i, &echo);
            if (echo ||
                ssh_userauth_kbdint_setanswer(s, (unsigned)i, password) < 0) {
                return SSH_AUTH_DENIED;
            }
        }
        r = ssh_userauth_kbdint(s, NULL, NULL);
    }
    return r;
}

/* Authenticates with the vaulted credential (RFC 4252 sections 7, 8;
 * RFC 4256). */
static int
authenticate(struct pcl_sshconn *c, const struct pcl_sshconn_params *p,
             const struct pcl_sshconn_cred *cred, char *why, size_t whylen)
{
    ssh_key priv = NULL;
    int methods;
    int r = SSH_AUTH_DENIED;

    if (cred->kind == PCL_SSHCONN_CRED_KEY ||
        cred->kind == PCL_SSHCONN_CRED_CERT) {
        ssh_key cert = NULL;
        if (ssh_pki_import_privkey_base64((const char *)cred->data, NULL,
                                          NULL, NULL, &priv) != SSH_OK) {
            snprintf(why, whylen, "the vaulted credential is not a private "
                     "key libssh can read");
            return PCL_ERR_AUTH;
        }
        if (cred->kind == PCL_SSHCONN_CRED_CERT &&
            (cred->cert == NULL ||
             ssh_pki_import_cert_base64(cred->cert,
                                        SSH_KEYTYPE_ED25519_CERT01,
                                        &cert) != SSH_OK ||
             ssh_pki_copy_cert_to_privkey(cert, priv) != SSH_OK)) {
            snprintf(why, whylen, "the session certificate cannot be "
                     "loaded");
            ssh_key_free(cert);
            ssh_key_free(priv);
            return PCL_ERR_AUTH;
        }
        /* With a certificate, libssh offers the certificate. */
        r = ssh_userauth_try_publickey(c->session, NULL,
                                       cert != NULL ? cert : priv);
        if (r == SSH_AUTH_SUCCESS) {
            r = ssh_userauth_publickey(c->session, NULL, priv);
        }
        ssh_key_free(cert);
        ssh_key_free(priv);
    } else {
        /* "none" first: it yields the methods the target offers. */
        r = ssh_userauth_none(c->session, NULL);
        if (r != SSH_AUTH_SUCCESS && r != SSH_AUTH_ERROR) {
            methods = ssh_userauth_list(c->session, NULL);
            r = SSH_AUTH_DENIED;
            if ((methods & SSH_AUTH_METHOD_PASSWORD) != 0) {
                r = ssh_userauth_password(c->session, NULL,
                                          (const char *)cred->data);
            }
            if (r != SSH_AUTH_SUCCESS &&
                (methods & SSH_AUTH_METHOD_INTERACTIVE) != 0) {
                r = auth_kbdint(c->session, (const char *)cred->data);
            }
        }
    }
    if (r != SSH_AUTH_SUCCESS) {
        snprintf(why, whylen, "target refused the vaulted credential for "
                 "account %s", p->account);
        return PCL_ERR_AUTH;
    }
    return PCL_OK;
}

int
pcl_sshconn_open(const struct pcl_sshconn_params *p, const uint8_t *key,
                 size_t keylen, struct pcl_sshconn **out, char *why,
                 size_t whylen)
{
    struct pcl_sshconn_cred cred = { PCL_SSHCONN_CRED_KEY, key, keylen,
                                     NULL };

    return pcl_sshconn_open_cred(p, &cred, out, why, whylen);
}

int
pcl_sshconn_open_cred(const struct pcl_sshconn_params *p,
                      const struct pcl_sshconn_cred *cred,
                      struct pcl_sshconn **out, char *why, size_t whylen)
{
    struct pcl_sshconn *c = NULL;
    ssh_key srv = NULL;
    unsigned char *hash = NULL;
    size_t hlen = 0;
    char *fp = NULL;
    char *hka = NULL;
    long timeout = (long)p->connect_timeout;
    int port = (int)p->port;
    int off = 0;
    int on = 1;
    int rc = PCL_ERR_NOMEM;

    *out = NULL;
    why[0] = '\0';
    if (cred->data == NULL || cred->len == 0 ||
        cred->data[cred->len] != '\0' ||
        strlen((const char *)cred->data) != cred->len) {
        snprintf(why, whylen, "credential is empty or not terminated");
        return PCL_ERR_INVAL;
    }
    ssh_set_log_callback(log_bridge);
    /* libssh's messages at our debug2/debug3 (protocol and packet types,
     * never packet contents); warnings otherwise. */
    ssh_set_log_level(pcl_log_get_level() >= PCL_LOG_DEBUG3 ? SSH_LOG_PACKET
                      : pcl_log_get_level() >= PCL_LOG_DEBUG2
                          ? SSH_LOG_PROTOCOL
                          : SSH_LOG_WARN);
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        goto out;
    }
    c->exit_status = -1;
    c->session = ssh_new();
    if (c->session == NULL) {
        goto out;
    }
    rc = PCL_ERR_CONNECT;
    /* No user configuration, no known_hosts: the policy is the only
     * source of truth for the target leg. */
    if (ssh_options_set(c->session, SSH_OPTIONS_PROCESS_CONFIG, &off) != 0 ||
        ssh_options_set(c->session, SSH_OPTIONS_HOST, p->host) != 0 ||
        ssh_options_set(c->session, SSH_OPTIONS_PORT, &port) != 0 ||
        ssh_options_set(c->session, SSH_OPTIONS_USER, p->account) != 0 ||
        ssh_options_set(c->session, SSH_OPTIONS_KNOWNHOSTS, "/dev/null") != 0 ||
        ssh_options_set(c->session, SSH_OPTIONS_GLOBAL_KNOWNHOSTS,
                        "/dev/null") != 0 ||
        ssh_options_set(c->session, SSH_OPTIONS_TIMEOUT, &timeout) != 0 ||
        ssh_options_set(c->session, SSH_OPTIONS_NODELAY, &on) != 0 ||
        ssh_options_set(c->session, SSH_OPTIONS_COMPRESSION, "no") != 0) {
        snprintf(why, whylen, "invalid connection parameters: %s",
                 ssh_get_error(c->session));
        goto out;
    }
    if ((p->kex != NULL &&
         ssh_options_set(c->session, SSH_OPTIONS_KEY_EXCHANGE, p->kex) != 0) ||
        (p->ciphers != NULL &&
         (ssh_options_set(c->session, SSH_OPTIONS_CIPHERS_C_S, p->ciphers) != 0 ||
          ssh_options_set(c->session, SSH_OPTIONS_CIPHERS_S_C, p->ciphers) != 0)) ||
        (p->macs != NULL &&
         (ssh_options_set(c->session, SSH_OPTIONS_HMAC_C_S, p->macs) != 0 ||
          ssh_options_set(c->session, SSH_OPTIONS_HMAC_S_C, p->macs) != 0))) {
        snprintf(why, whylen, "algorithms refused by libssh: %s",
                 ssh_get_error(c->session));
        goto out;
    }
    hka = hostkey_list(p);
    if (hka != NULL &&
        ssh_options_set(c->session, SSH_OPTIONS_HOSTKEYS, hka) != 0) {
        snprintf(why, whylen, "host key algorithms refused by libssh: %s",
                 ssh_get_error(c->session));
        goto out;
    }

    if (ssh_connect(c->session) != SSH_OK) {
        connect_error(c->session, p, why, whylen);
        goto out;
    }
    set_keepalive(c->session, p);

    copy_name(c->info.kex, sizeof(c->info.kex), ssh_get_kex_algo(c->session));
    copy_name(c->info.cipher_in, sizeof(c->info.cipher_in),
              ssh_get_cipher_in(c->session));
    copy_name(c->info.cipher_out, sizeof(c->info.cipher_out),
              ssh_get_cipher_out(c->session));
    copy_name(c->info.mac_in, sizeof(c->info.mac_in),
              ssh_get_hmac_in(c->session));
    copy_name(c->info.mac_out, sizeof(c->info.mac_out),
              ssh_get_hmac_out(c->session));

    rc = PCL_ERR_HOSTKEY;
    if (ssh_get_server_publickey(c->session, &srv) != SSH_OK ||
        ssh_get_publickey_hash(srv, SSH_PUBLICKEY_HASH_SHA256, &hash,
                               &hlen) != 0) {
        snprintf(why, whylen, "cannot read the target's host key");
        goto out;
    }
    fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
    copy_name(c->info.hostkey_type, sizeof(c->info.hostkey_type),
              ssh_key_type_to_char(ssh_key_type(srv)));
    copy_name(c->info.hostkey_fingerprint,
              sizeof(c->info.hostkey_fingerprint), fp);
    if (!host_key_pinned(srv, p, fp)) {
        snprintf(why, whylen, "host key of %s port %u is not the pinned one "
                 "(%s %s): refusing to connect; if the key was changed on "
                 "purpose, the administrators must update the policy",
                 p->host, p->port, c->info.hostkey_type,
                 c->info.hostkey_fingerprint);
        goto out;
    }

    rc = authenticate(c, p, cred, why, whylen);
    if (rc != PCL_OK) {
        goto out;
    }
    *out = c; /* transfer ownership */
    c = NULL;
    rc = PCL_OK;
out:
    ssh_key_free(srv);
    ssh_clean_pubkey_hash(&hash);
    ssh_string_free_char(fp);
    free(hka);
    pcl_sshconn_close(c);
    if (rc == PCL_ERR_NOMEM && why[0] == '\0') {
        snprintf(why, whylen, "out of memory");
    }
    return rc;
}

void
pcl_sshconn_close(struct pcl_sshconn *c)
{
    if (c == NULL) {
        return;
    }
    if (c->channel != NULL) {
        if (ssh_channel_is_open(c->channel)) {
            ssh_channel_close(c->channel);
        }
        ssh_channel_free(c->channel);
    }
    if (c->session != NULL) {
        if (ssh_is_connected(c->session)) {
            ssh_disconnect(c->session);
        }
        ssh_free(c->session);
    }
    free(c);
}

const struct pcl_sshconn_info *
pcl_sshconn_info(const struct pcl_sshconn *c)
{
    return &c->info;
}

int
pcl_sshconn_start(struct pcl_sshconn *c, const struct pcl_sshconn_pty *pty,
                  const char *command, char *why, size_t whylen)
{
    char clean[200];

    c->channel = ssh_channel_new(c->session);
    if (c->channel == NULL) {
        snprintf(why, whylen, "out of memory");
        return PCL_ERR_NOMEM;
    }
    memset(&c->cb, 0, sizeof(c->cb));
    c->cb.userdata = c;
    c->cb.channel_exit_status_function = on_exit_status;
    c->cb.channel_exit_signal_function = on_exit_signal;
    ssh_callbacks_init(&c->cb);
    if (ssh_set_channel_callbacks(c->channel, &c->cb) != SSH_OK) {
        snprintf(why, whylen, "cannot set channel callbacks");
        return PCL_ERR_CHANNEL;
    }
    if (ssh_channel_open_session(c->channel) != SSH_OK) {
        snprintf(why, whylen, "target refused a session channel: %s",
                 pcl_log_sanitize(clean, sizeof(clean),
                                  ssh_get_error(c->session)));
        return PCL_ERR_CHANNEL;
    }
    if (pty != NULL &&
        ssh_channel_request_pty_size(c->channel,
                                     pty->term != NULL ? pty->term : "vt100",
                                     pty->cols, pty->rows) != SSH_OK) {
        snprintf(why, whylen, "target refused a terminal (pty-req): %s",
                 pcl_log_sanitize(clean, sizeof(clean),
                                  ssh_get_error(c->session)));
        return PCL_ERR_CHANNEL;
    }
    if (command != NULL) {
        if (ssh_channel_request_exec(c->channel, command) != SSH_OK) {
            snprintf(why, whylen, "target refused the command (exec): %s",
                     pcl_log_sanitize(clean, sizeof(clean),
                                      ssh_get_error(c->session)));
            return PCL_ERR_CHANNEL;
        }
    } else if (ssh_channel_request_shell(c->channel) != SSH_OK) {
        snprintf(why, whylen, "target refused a shell: %s",
                 pcl_log_sanitize(clean, sizeof(clean),
                                  ssh_get_error(c->session)));
        return PCL_ERR_CHANNEL;
    }
    return PCL_OK;
}

ssh_session
pcl_sshconn_session(struct pcl_sshconn *c)
{
    return c->session;
}

ssh_channel
pcl_sshconn_channel(struct pcl_sshconn *c)
{
    return c->channel;
}

int
pcl_sshconn_exit(const struct pcl_sshconn *c, int *status, char *signame,
                 size_t signamelen)
{
    *status = c->exit_status;
    snprintf(signame, signamelen, "%s", c->exit_signal);
    return c->have_exit ? 1 : 0;
}
