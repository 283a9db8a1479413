/* SPDX-License-Identifier: BSD-2-Clause */
/* The vault: target credentials sealed at rest (AES-256-GCM under a master
 * key), fetched for one allowed session, held in locked memory and wiped
 * after use. Backends: file (sealed entries), command (an external helper),
 * keys (legacy plain private key files). */
#ifndef PCL_VAULT_H
#define PCL_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/*
 * On-disk constants of a sealed entry (changing any of them breaks every
 * existing vault): the file is
 *   magic "PCLVLT01" (8) | type (1) | created, seconds since the epoch,
 *   big-endian (8) | master key id (8) | nonce (12) | length of the
 *   ciphertext, big-endian (4) | ciphertext | GCM tag (16)
 * and the GCM additional data is "portcullis-vault-v1" NUL, the entry's
 * name, NUL, then the 37 header bytes from the magic to the nonce, so an
 * entry renamed, retyped or re-dated is refused. The master key file holds
 * one or more 32-byte keys, the current one first; a key's id is the first
 * 8 bytes of SHA-256("portcullis-vault-key-id" NUL key).
 */
#define PCL_VAULT_MAGIC "PCLVLT01"
#define PCL_VAULT_AAD_LABEL "portcullis-vault-v1"
#define PCL_VAULT_KEY_LEN 32
#define PCL_VAULT_KEY_ID_LEN 8
#define PCL_VAULT_NONCE_LEN 12
#define PCL_VAULT_TAG_LEN 16
#define PCL_VAULT_HEADER_LEN (8 + 1 + 8 + 8 + 12 + 4)
#define PCL_VAULT_KEYS_MAX 2        /* keys in the master key file */
#define PCL_VAULT_SECRET_MAX 65536  /* bytes of one credential */
#define PCL_VAULT_NAME_MAX 128      /* bytes of an entry name */

/* What a credential is. The numbers are on disk. */
enum pcl_vault_type {
    PCL_VAULT_SSH_KEY = 1,  /* OpenSSH or PEM private key */
    PCL_VAULT_PASSWORD = 2, /* password / keyboard-interactive answer */
    PCL_VAULT_CA_KEY = 3,   /* an SSH CA private key (ssh-ca backend) */
    PCL_VAULT_SSH_CERT = 4, /* in memory only: a session key and its
                             * certificate (ssh-ca backend) */
};

/* A credential in memory: len bytes plus a NUL, in a locked allocation
 * kept out of core dumps. Owned by the caller of the function that made it;
 * release with pcl_secret_free, which wipes it. */
struct pcl_secret {
    enum pcl_vault_type type;
    uint8_t *data;
    size_t len;
    size_t cap; /* allocation size, for the wipe */
    char *cert; /* PCL_VAULT_SSH_CERT: the certificate in base64 (public;
                 * owned, freed with the secret), else NULL */
};

/* Returns a locked, zeroed secret of len bytes (+1 for a NUL) in *out,
 * or PCL_ERR_NOMEM. mlock(2) failing (RLIMIT_MEMLOCK) is not an error. */
int pcl_secret_new(enum pcl_vault_type type, size_t len,
                   struct pcl_secret **out);

/* Wipes (explicit_bzero), unlocks and frees; NULL is a no-op. */
void pcl_secret_free(struct pcl_secret *s);

/* "ssh-key", "password", "ca-key", "ssh-cert", or "?" (static). */
const char *pcl_vault_type_name(enum pcl_vault_type t);

/* Parses a type name as above. Returns 0 or PCL_ERR_INVAL. */
int pcl_vault_type_parse(const char *name, enum pcl_vault_type *out);

/* True when name is a valid entry name: 1-128 bytes of A-Z a-z 0-9 . _ -
 * not starting with '.'. */
bool pcl_vault_name_ok(const char *name);

/* How a vault is reached. Strings borrowed for pcl_vault_open only. */
struct pcl_vault_params {
    const char *backend;       /* "file", "command", "ssh-ca" or "keys" */
    const char *directory;     /* file: sealed entries; keys: key files */
    const char *master_key;    /* file: the master key file */
    const char *command;       /* command: helper argv, blank separated */
    unsigned command_timeout_ms; /* command: kill the helper after this */
    size_t command_max_output; /* command: bytes; more is refused */
    unsigned cert_validity;    /* ssh-ca: seconds a certificate is valid */
    unsigned cert_backdate;    /* ssh-ca: seconds valid before now (skew) */
};

/* Which credential a session wants; borrowed strings. name is the
 * policy's expanded credential; the rest feed the command's %-tokens. */
struct pcl_vault_request {
    const char *name;       /* %c */
    const char *target;     /* %t */
    const char *account;    /* %a */
    const char *user;       /* %u: the person on the bastion */
    const char *session_id; /* %s */
    bool pty;               /* ssh-ca: the session asked for a terminal */
};

struct pcl_vault;

/*
 * Opens a vault: for "file", checks the directory (PCL_FILE_DIR) and reads
 * the master key file (PCL_FILE_SECRET: root or group only, 32 bytes per
 * key) into locked memory. Must run while the process still holds group
 * portcullis. Returns 0 with *out owned by the caller (pcl_vault_close),
 * or PCL_ERR_CONFIG, PCL_ERR_PERM, PCL_ERR_NOTFOUND, PCL_ERR_NOMEM with why
 * (whylen bytes, never a secret) filled; *out = NULL on error.
 */
int pcl_vault_open(const struct pcl_vault_params *p, struct pcl_vault **out,
                   char *why, size_t whylen);

/* Wipes the master keys and frees; NULL is a no-op. */
void pcl_vault_close(struct pcl_vault *v);

/*
 * Fetches the credential of req: file opens and unseals DIR/NAME
 * (PCL_FILE_SECRET); command runs the helper (see pcl_vault_run_helper);
 * ssh-ca unseals DIR/NAME, which must be a CA key, and issues a session
 * key with a certificate (pcl_sshcert_issue: principal req->account, key
 * id "portcullis:USER:SESSION", valid from cert_backdate seconds ago for
 * cert_validity seconds, permit-pty when req->pty); keys reads DIR/NAME
 * as a private key. Returns 0 with *out owned by the
 * caller (pcl_secret_free), or PCL_ERR_NOTFOUND (no such entry),
 * PCL_ERR_PERM (unsafe permissions), PCL_ERR_CRYPTO (tampered entry or
 * wrong master key), PCL_ERR_CONFIG (malformed entry or helper output),
 * PCL_ERR_SYSTEM, PCL_ERR_NOMEM; why says which, never with a secret.
 */
int pcl_vault_fetch(struct pcl_vault *v, const struct pcl_vault_request *req,
                    struct pcl_secret **out, char *why, size_t whylen);

/*
 * Seals secret as entry name into dir (file backend, master key current),
 * written to a temporary file, fsync'ed, then renamed over DIR/NAME so a
 * reader sees the old or the new entry whole. The file is created mode
 * 0640 with group gid (or the caller's group when gid is (gid_t)-1).
 * created is stored as the entry's date (0: now). Returns 0,
 * PCL_ERR_INVAL (bad name or size), PCL_ERR_SYSTEM, PCL_ERR_CRYPTO.
 */
int pcl_vault_store(struct pcl_vault *v, const char *name,
                    const struct pcl_secret *secret, time_t created,
                    gid_t gid, char *why, size_t whylen);

/* What `portcullis-vault list` shows of an entry: no secret. */
struct pcl_vault_entry_info {
    char name[PCL_VAULT_NAME_MAX + 1];
    enum pcl_vault_type type;
    time_t created;
    size_t length;                    /* bytes of the secret */
    char key_id[2 * PCL_VAULT_KEY_ID_LEN + 1]; /* hex */
};

/*
 * Reads the header of entry name without unsealing it. Returns 0,
 * PCL_ERR_NOTFOUND, PCL_ERR_PERM, PCL_ERR_CONFIG (not an entry).
 */
int pcl_vault_stat(struct pcl_vault *v, const char *name,
                   struct pcl_vault_entry_info *out, char *why,
                   size_t whylen);

/* Unseals entry name with whichever key of the master key file sealed it
 * (rotation keeps the old key until every entry is re-sealed). As
 * pcl_vault_fetch for the file backend. */
int pcl_vault_unseal(struct pcl_vault *v, const char *name,
                     struct pcl_secret **out, char *why, size_t whylen);

/* The hex id of the current master key (17 bytes with the NUL). */
void pcl_vault_key_id(const struct pcl_vault *v, char *out, size_t outlen);

/*
 * Seals plain (len bytes) for name/type under key (32 bytes) into a new
 * heap buffer *out (*outlen bytes; caller frees; not secret). The building
 * block of pcl_vault_store, exposed for unit tests. Returns 0,
 * PCL_ERR_INVAL, PCL_ERR_NOMEM or PCL_ERR_CRYPTO.
 */
int pcl_vault_seal_buf(const uint8_t *key, const char *name,
                       enum pcl_vault_type type, time_t created,
                       const uint8_t *plain, size_t len, uint8_t **out,
                       size_t *outlen);

/*
 * Unseals an entry buffer for name with one of nkeys keys (32 bytes each,
 * contiguous). Returns 0 with *out a locked secret owned by the caller,
 * PCL_ERR_CONFIG (not an entry, truncated), PCL_ERR_CRYPTO (no key with the
 * entry's key id: wrong master key; or the tag does not verify: tampered,
 * renamed or retyped), PCL_ERR_NOMEM; why says which.
 */
int pcl_vault_unseal_buf(const uint8_t *keys, size_t nkeys, const char *name,
                         const uint8_t *buf, size_t len,
                         struct pcl_secret **out, char *why, size_t whylen);

/* Computes the id of a 32-byte key into out (8 bytes). */
void pcl_vault_key_id_raw(const uint8_t *key, uint8_t *out);

/*
 * Runs a helper without a shell: argv is the command split on blanks with
 * %-tokens expanded from req (%t target, %a account, %u user, %c credential
 * name, %s session id, %% a '%'); a token's value may contain no blank or
 * control character. The child gets an empty environment (PATH=/usr/bin:
 * /bin only), stdin on /dev/null, stderr discarded, and is killed
 * (SIGKILL) after timeout_ms milliseconds. Its stdout, at most max_output
 * bytes, is the credential: a private key when it starts with
 * "-----BEGIN ", else a password (one trailing newline removed). A non-zero
 * exit, a signal, a timeout, empty or oversized output is refused.
 * Returns as pcl_vault_fetch.
 */
int pcl_vault_run_helper(const char *command, unsigned timeout_ms,
                         size_t max_output,
                         const struct pcl_vault_request *req,
                         struct pcl_secret **out, char *why, size_t whylen);

/* The vault's directory (borrowed from v). */
const char *pcl_vault_directory(const struct pcl_vault *v);

/*
 * Master key rotation (file backend): writes a new random key in front of
 * the current one in the master key file, re-seals every entry under it
 * (each replaced atomically), then writes the key file with the new key
 * alone. Each step is an atomic rename, so a crash at any point leaves
 * every entry readable; a key file that still holds two keys (an
 * interrupted rotation) is finished with its first key, not rotated
 * again. gid as pcl_vault_store. Returns 0 or an error with
 * why filled; *resealed counts the entries.
 */
int pcl_vault_rotate(struct pcl_vault *v, gid_t gid, size_t *resealed,
                     char *why, size_t whylen);

/*
 * Creates a master key file at path with one random key, mode 0640, group
 * gid, without overwriting one (O_EXCL). Returns 0, PCL_ERR_SYSTEM (exists
 * or cannot write) or PCL_ERR_CRYPTO.
 */
int pcl_vault_init_key(const char *path, gid_t gid, char *why,
                       size_t whylen);

#endif /* PCL_VAULT_H */
