/* SPDX-License-Identifier: BSD-2-Clause */
/* The target leg: libssh dial with the policy's algorithms, pinned host key
 * check (fail closed), public key authentication, one session channel. */
#ifndef PCL_SSHCONN_H
#define PCL_SSHCONN_H

#include <stddef.h>
#include <stdint.h>

#include <libssh/libssh.h>

struct pcl_sshconn;

/* What to dial. All strings are borrowed for the duration of the call. */
struct pcl_sshconn_params {
    const char *host;
    unsigned port;
    const char *account;          /* user name on the target */
    const char *kex;              /* comma lists; NULL keeps libssh's */
    const char *ciphers;
    const char *macs;
    const char *hostkey_algorithms;
    const char *const *host_keys; /* pinned: "TYPE BASE64" or "SHA256:..." */
    size_t nhost_keys;
    unsigned connect_timeout;     /* seconds */
    unsigned keepalive_count_max; /* TCP keepalive probes (interval below) */
    unsigned keepalive_interval;  /* seconds; 0 = no keepalive */
};

/* The target leg as negotiated, for logs and audit. */
struct pcl_sshconn_info {
    char kex[64];
    char cipher_in[64];
    char cipher_out[64];
    char mac_in[64];
    char mac_out[64];
    char hostkey_type[64];
    char hostkey_fingerprint[128]; /* "SHA256:..." as ssh-keygen -l shows */
};

/* The PTY to request on the target (RFC 4254 section 6.2). */
struct pcl_sshconn_pty {
    const char *term;  /* TERM; "vt100" when NULL */
    int cols;          /* characters */
    int rows;
};

/*
 * Connects, verifies the host key against the pinned keys (unknown or
 * changed: refused) and authenticates with the private key in key/keylen
 * (PEM or OpenSSH format; borrowed, the caller wipes it). Never reads
 * ~/.ssh/config or a known_hosts file. On failure why (whylen bytes) says
 * what happened in words fit for the user. Returns 0 with *out owned by the
 * caller (pcl_sshconn_close), or PCL_ERR_CONNECT, PCL_ERR_HOSTKEY,
 * PCL_ERR_AUTH, PCL_ERR_INVAL, PCL_ERR_NOMEM; *out = NULL on error.
 */
int pcl_sshconn_open(const struct pcl_sshconn_params *p, const uint8_t *key,
                     size_t keylen, struct pcl_sshconn **out, char *why,
                     size_t whylen);

/* A vaulted credential for the target leg; data is borrowed, len bytes
 * followed by a NUL, no NUL inside. */
enum pcl_sshconn_cred_kind {
    PCL_SSHCONN_CRED_KEY,      /* private key, PEM or OpenSSH format */
    PCL_SSHCONN_CRED_PASSWORD, /* password, or keyboard-interactive answer */
    PCL_SSHCONN_CRED_CERT,     /* private key (OpenSSH format) + cert */
};
struct pcl_sshconn_cred {
    enum pcl_sshconn_cred_kind kind;
    const uint8_t *data;
    size_t len;
    const char *cert; /* CERT: the OpenSSH certificate in base64 */
};

/*
 * As pcl_sshconn_open, authenticating with cred: a key by "publickey"
 * (RFC 4252 section 7), with its certificate for CERT (PROTOCOL.certkeys); a password by "password" (section 8) when the
 * target offers it, else by "keyboard-interactive" (RFC 4256), answering
 * each non-echoed prompt with it. The caller wipes cred->data.
 */
int pcl_sshconn_open_cred(const struct pcl_sshconn_params *p,
                          const struct pcl_sshconn_cred *cred,
                          struct pcl_sshconn **out, char *why, size_t whylen);

/* Disconnects and frees; NULL is a no-op. */
void pcl_sshconn_close(struct pcl_sshconn *c);

/* The negotiated algorithms and host key; borrowed from c. */
const struct pcl_sshconn_info *pcl_sshconn_info(const struct pcl_sshconn *c);

/*
 * Opens the session channel, requests a PTY when pty is not NULL
 * (pty-req), then exec of command, or a shell when command is NULL
 * (RFC 4254 sections 6.1, 6.2, 6.5). Returns 0 or PCL_ERR_CHANNEL.
 */
int pcl_sshconn_start(struct pcl_sshconn *c, const struct pcl_sshconn_pty *pty,
                      const char *command, char *why, size_t whylen);

/* The libssh session and channel, borrowed, for the relay loop. */
ssh_session pcl_sshconn_session(struct pcl_sshconn *c);
ssh_channel pcl_sshconn_channel(struct pcl_sshconn *c);

/*
 * How the remote command ended (RFC 4254 section 6.10): *status is the
 * exit-status (or -1), signame (signamelen bytes) the exit-signal name
 * without "SIG" (or ""). Returns 1 when either was received, else 0.
 */
int pcl_sshconn_exit(const struct pcl_sshconn *c, int *status, char *signame,
                     size_t signamelen);

/*
 * Checks that every name in a comma list is an algorithm libssh accepts for
 * that option (what is "kex", "ciphers", "macs" or "host-key-algorithms").
 * Returns 0 or PCL_ERR_CONFIG with why filled.
 */
int pcl_sshconn_check_algorithms(const char *what, const char *list, char *why,
                                 size_t whylen);

/* Checks that a pinned host key string parses. Returns 0 or PCL_ERR_CONFIG. */
int pcl_sshconn_check_host_key(const char *pin, char *why, size_t whylen);

#endif /* PCL_SSHCONN_H */
