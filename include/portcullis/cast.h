/* SPDX-License-Identifier: BSD-2-Clause */
/* The asciicast writer (v2 and v3): header, o/i/r/m/x events, UTF-8 carried
 * over between reads, bounded events, periodic flush, and the SHA-256 chain
 * and seal of portcullis-cast(5). It neither masks nor touches sockets. */
#ifndef PCL_CAST_H
#define PCL_CAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* On-disk constants: changing any of these breaks old recordings. */
#define PCL_CAST_SEAL_VERSION 1
#define PCL_CAST_SEAL_MAGIC "portcullis-seal"   /* v3 comment, sidecar key */
#define PCL_CAST_SEAL_SUFFIX ".seal"            /* v2 sidecar: FILE.seal */
#define PCL_CAST_EVENT_MAX 65536 /* bytes of data in one event, at most */
#define PCL_CAST_MARK_STDERR "stream:stderr"    /* exec: stderr follows */
#define PCL_CAST_MARK_STDOUT "stream:stdout"    /* exec: stdout follows */
#define PCL_CAST_MARK_EXIT "exit:"              /* v2: "exit:STATUS" */
#define PCL_CAST_MARK_SIGNAL "exit-signal:"     /* v2: "exit-signal:NAME" */

struct pcl_cast;

enum pcl_cast_format {
    PCL_CAST_V2 = 2,
    PCL_CAST_V3 = 3,
};

/* A header fact: "key": "value" under the header's "portcullis" object. */
struct pcl_cast_meta {
    const char *key;
    const char *value; /* NULL: left out */
};

/* What to open. Strings and the key are borrowed for the call. */
struct pcl_cast_params {
    const char *path;          /* created with O_EXCL, mode 0640 */
    enum pcl_cast_format format;
    int width;                 /* columns */
    int height;                /* rows */
    int64_t timestamp;         /* Unix time of the session start, seconds */
    const char *term;          /* env TERM, or NULL */
    const char *shell;         /* env SHELL, or NULL */
    const struct pcl_cast_meta *meta;
    size_t nmeta;
    bool separate_streams;     /* exec without PTY: mark stderr spans */
    unsigned flush_interval_ms; /* longest time written data may sit in
                                * our buffer; 0 = flush every event */
    const uint8_t *seal_key;   /* the seal key file's bytes: an HMAC-SHA256
                                * key, or an Ed25519 PRIVATE KEY in PEM
                                * (portcullis-cast(5)); NULL: no seal */
    size_t seal_key_len;
    const char *seal_key_id;   /* names the key in the seal; NULL: the
                                * pcl_cast_key_id of the key */
};

/*
 * Creates the recording and writes its header. On failure why (whylen
 * bytes) says what failed. Returns 0 with *out owned by the caller (end it
 * with pcl_cast_close or pcl_cast_abort), or PCL_ERR_IO / PCL_ERR_NOMEM /
 * PCL_ERR_INVAL (also: a PEM seal key that is not an Ed25519 private
 * key); *out = NULL on error.
 */
int pcl_cast_open(const struct pcl_cast_params *p, struct pcl_cast **out,
                  char *why, size_t whylen);

/*
 * Records output of stream 1 (stdout) or 2 (stderr) at t_us microseconds
 * (CLOCK_MONOTONIC since the session start; a time before the previous
 * event's is raised to it). A UTF-8 sequence cut at the end is carried to
 * the next call of the same stream; invalid bytes become U+FFFD; NUL is
 * kept. Returns 0 or PCL_ERR_IO (the file can no longer be written).
 */
int pcl_cast_output(struct pcl_cast *c, int stream, const uint8_t *buf,
                    size_t len, uint64_t t_us);

/* Records user input ("i"), as pcl_cast_output does output. */
int pcl_cast_input(struct pcl_cast *c, const uint8_t *buf, size_t len,
                   uint64_t t_us);

/* Records a window change ("r", "COLSxROWS"). */
int pcl_cast_resize(struct pcl_cast *c, int cols, int rows, uint64_t t_us);

/* Records a marker ("m"); label is untrusted text, escaped. */
int pcl_cast_marker(struct pcl_cast *c, const char *label, uint64_t t_us);

/*
 * Records how the session ended: v3 "x" with the status (or the signal
 * name), v2 an "m" marker "exit:STATUS" or "exit-signal:NAME".
 */
int pcl_cast_exit(struct pcl_cast *c, int status, const char *signame,
                  uint64_t t_us);

/* Milliseconds until buffered data must be flushed, or -1 when none is
 * buffered; for the relay's poll timeout. */
int pcl_cast_due(const struct pcl_cast *c, uint64_t now_ms);

/* Writes buffered events to the file now (and fsync when sync). Returns 0
 * or PCL_ERR_IO. */
int pcl_cast_flush(struct pcl_cast *c, bool sync);

/*
 * Ends the recording: flushes carried-over bytes, writes the seal (v2: the
 * sidecar PATH.seal; v3: a final comment line) when a key was given,
 * fsyncs, and frees c. Returns 0 or PCL_ERR_IO (c is freed either way).
 */
int pcl_cast_close(struct pcl_cast *c);

/* Frees c without a seal (the file is then reported unsealed). */
void pcl_cast_abort(struct pcl_cast *c);

/* Path of the recording (borrowed from c). */
const char *pcl_cast_path(const struct pcl_cast *c);

/* Hex SHA-256 chain head so far (65 bytes with NUL into out). */
void pcl_cast_chain(const struct pcl_cast *c, char out[65]);

/*
 * Writes the id that names a seal key in seals: "sha256:" and the first 16
 * hex digits of SHA-256 of the HMAC key's bytes, or of the 32-byte raw
 * public key (RFC 8032) when key is an Ed25519 key in PEM, private or
 * public, so the sealer and a verifier holding only the public key agree,
 * and a verifier can tell which key it needs without the key being named
 * anywhere. out needs 24 bytes. Returns 0 or PCL_ERR_CRYPTO (also for a
 * PEM that is not an Ed25519 key).
 */
int pcl_cast_key_id(const uint8_t *key, size_t len, char *out,
                    size_t outlen);

enum pcl_cast_seal_state {
    PCL_CAST_SEAL_VALID = 0,       /* chain, counts and MAC all check */
    PCL_CAST_SEAL_UNSEALED = 1,    /* no seal: cut short, or never sealed */
    PCL_CAST_SEAL_TAMPERED = 2,    /* a seal that does not match the file */
    PCL_CAST_SEAL_KEY_UNKNOWN = 3, /* sealed with a key we were not given */
};

/* What verification found, for people and for the index. */
struct pcl_cast_verdict {
    enum pcl_cast_seal_state state;
    enum pcl_cast_format format;
    uint64_t lines;      /* lines covered by the chain */
    uint64_t bytes;      /* bytes covered by the chain */
    char chain[65];      /* hex chain head computed from the file */
    char key_id[64];     /* key id named by the seal, or "" */
    char why[256];       /* what did not match, for TAMPERED/UNSEALED */
};

/*
 * Checks the recording at path against its seal (v2 sidecar or v3 comment
 * line) with key (keylen bytes as read from its file: the HMAC key, or an
 * Ed25519 public or private key in PEM; key_id names it, see
 * pcl_cast_key_id; a seal naming another key is KEY_UNKNOWN; key may be
 * NULL to check chain and counts only, which then also gives KEY_UNKNOWN
 * when they match). The algorithm is the key's, never the seal's word: a
 * seal whose "alg" differs is TAMPERED. Fills *v. Returns 0 when the file
 * could be read (whatever the verdict), PCL_ERR_IO, PCL_ERR_INVAL (a PEM
 * key that is not Ed25519; v->why says so) or PCL_ERR_NOMEM.
 */
int pcl_cast_verify(const char *path, const uint8_t *key, size_t keylen,
                    const char *key_id, struct pcl_cast_verdict *v);

/* Largest seal key file read (bytes): an HMAC key or a PEM Ed25519 key. */
#define PCL_CAST_SEAL_KEY_MAX 4096

/*
 * pcl_cast_verify with the key read from key_path (the seal-key file of
 * portcullis.conf(5), or the public key of an Ed25519 seal; NULL or "":
 * chain and counts only). A key file that cannot be read is not an error:
 * the check goes on without it (the verdict is then KEY_UNKNOWN at best)
 * and key_why (key_whylen bytes; may be NULL) says why. The key is wiped
 * after use. Returns as pcl_cast_verify, or PCL_ERR_CRYPTO when the key's
 * id cannot be computed (v->why says so).
 */
int pcl_cast_verify_keyfile(const char *path, const char *key_path,
                            struct pcl_cast_verdict *v, char *key_why,
                            size_t key_whylen);

#endif /* PCL_CAST_H */
