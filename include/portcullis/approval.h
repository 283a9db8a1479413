/* SPDX-License-Identifier: BSD-2-Clause */
/* The approval store: just-in-time access requests, the approvers'
 * decisions and the grants they make, in one SQLite database (WAL) that
 * every user's proxy writes through the group portcullis. Callers see only
 * this interface, so a store shared by several bastions can replace it. */
#ifndef PCL_APPROVAL_H
#define PCL_APPROVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* On-disk constants: changing them breaks old stores. The schema is
 * documented in lib/approval.c; a store with a newer version is refused. */
#define PCL_APPROVAL_SCHEMA_VERSION 1
#define PCL_APPROVAL_DB_NAME "approvals.sqlite"

/* A request id: 8 characters of [a-z2-9] (no 0/o, 1/l), easy to type. */
#define PCL_APPROVAL_ID_LEN 8

struct pcl_approval;

/* Where a request stands. The names are stored and shown. */
enum pcl_approval_state {
    PCL_APPROVAL_PENDING = 0,  /* waiting for approvers */
    PCL_APPROVAL_APPROVED,     /* a grant, live until grant_until */
    PCL_APPROVAL_DENIED,       /* an approver said no */
    PCL_APPROVAL_CANCELLED,    /* the requester gave up (Ctrl-C) */
    PCL_APPROVAL_EXPIRED,      /* nobody decided before expires */
    PCL_APPROVAL_REVOKED,      /* a grant ended early by an approver */
};

/* What a requester asks for. Borrowed strings; command NULL: the grant
 * covers every session on target as account, else that command only. */
struct pcl_approval_new {
    const char *user;
    const char *target;
    const char *account;
    const char *command;
    const char *reason;
    const char *session_id;  /* the requesting proxy's session */
    unsigned required;       /* distinct approvals needed, 1-16 */
    unsigned grant_ttl;      /* seconds a grant lasts at most */
    unsigned timeout;        /* seconds the request waits at most */
    int64_t now;             /* Unix time, seconds */
};

/* A request as stored. Strings are owned by the struct
 * (pcl_approval_request_clear). */
struct pcl_approval_request {
    char id[PCL_APPROVAL_ID_LEN + 1];
    enum pcl_approval_state state;
    char *user;
    char *target;
    char *account;
    char *command;       /* NULL: not scoped to a command */
    char *reason;
    char *approvers;     /* who approved, "a,b" in order; "" when none */
    char *decided_by;    /* who denied or revoked, or NULL */
    char *comment;       /* the last decision's comment, or NULL */
    unsigned required;
    unsigned approvals;  /* distinct approvals so far */
    unsigned grant_ttl;  /* seconds */
    int64_t created;     /* Unix time, seconds */
    int64_t expires;     /* when a pending request expires */
    int64_t grant_until; /* when the grant ends (APPROVED/REVOKED), or 0 */
};

/* What pcl_approval_decide did. */
enum pcl_approval_outcome {
    PCL_APPROVAL_RECORDED = 0, /* an approval counted, more are needed */
    PCL_APPROVAL_GRANTED,      /* the quorum is met: the grant is live */
    PCL_APPROVAL_REFUSED,      /* the request is now denied */
};

/*
 * Opens (creating when missing, with the schema and WAL mode) the store
 * PCL_APPROVAL_DB_NAME in dir, which must be a trusted directory
 * (root:portcullis 2770); the file is created 0660 so that every user's
 * proxy writes it through the group. busy_ms bounds how long a writer
 * waits for another's lock (milliseconds); writes take the lock up front
 * (BEGIN IMMEDIATE), so concurrent requesters and approvers queue instead
 * of failing. Returns 0 with *out owned by the caller (pcl_approval_close),
 * PCL_ERR_IO (why filled, whylen bytes) or PCL_ERR_NOMEM. One thread; open
 * it while the process holds the group: the handle keeps working after
 * the group is dropped.
 */
int pcl_approval_open(const char *dir, unsigned busy_ms,
                      struct pcl_approval **out, char *why, size_t whylen);

/* Closes; NULL is a no-op. */
void pcl_approval_close(struct pcl_approval *s);

/*
 * Stores a new pending request with a fresh random id, written to id
 * (PCL_APPROVAL_ID_LEN + 1 bytes). Returns 0, PCL_ERR_INVAL (a field
 * missing or out of range), PCL_ERR_CRYPTO (no randomness) or PCL_ERR_IO
 * (logged).
 */
int pcl_approval_create(struct pcl_approval *s,
                        const struct pcl_approval_new *r, char *id);

/* Reads request id into *out (cleared first; clear it after). Returns 0,
 * PCL_ERR_NOTFOUND or PCL_ERR_IO. */
int pcl_approval_get(struct pcl_approval *s, const char *id,
                     struct pcl_approval_request *out);

/* Frees the strings of r and zeroes it; safe on a zeroed struct. */
void pcl_approval_request_clear(struct pcl_approval_request *r);

/*
 * Calls fn for every request in state (oldest first); the request is
 * borrowed for the call. A non-zero return of fn stops the walk and is
 * returned. With state APPROVED, only grants still live at now. Returns 0,
 * fn's value or PCL_ERR_IO.
 */
int pcl_approval_list(struct pcl_approval *s, enum pcl_approval_state state,
                      int64_t now,
                      int (*fn)(const struct pcl_approval_request *r,
                                void *ctx),
                      void *ctx);

/*
 * Records approver's decision on a pending request, in one IMMEDIATE
 * transaction: the request must be pending and not past expires, approver
 * must not be its requester, and each approver counts once (a second
 * approval by the same person is PCL_ERR_INVAL). An approval with
 * for_seconds (0: the request's grant_ttl) may shorten the grant, never
 * lengthen it; the grant ends at the shortest of the approvals' lengths
 * from the moment the quorum is met. comment may be NULL. Fills *outcome.
 * Returns 0, PCL_ERR_NOTFOUND (no such request), PCL_ERR_DENIED (not
 * pending any more, or expired: why says which), PCL_ERR_PERM (the
 * requester), PCL_ERR_INVAL (decided already by approver) or PCL_ERR_IO.
 */
int pcl_approval_decide(struct pcl_approval *s, const char *id,
                        const char *approver, bool approve,
                        unsigned for_seconds, const char *comment,
                        int64_t now, enum pcl_approval_outcome *outcome,
                        char *why, size_t whylen);

/*
 * Finds the live grant of user on target as account (command NULL: a
 * grant for every session; else a grant for every session or for exactly
 * this command) at now. Writes its id (PCL_APPROVAL_ID_LEN + 1 bytes) and
 * its end (Unix seconds) into *until. Returns 0 or PCL_ERR_NOTFOUND or
 * PCL_ERR_IO.
 */
int pcl_approval_find_grant(struct pcl_approval *s, const char *user,
                            const char *target, const char *account,
                            const char *command, int64_t now, char *id,
                            int64_t *until);

/*
 * Ends a live grant (state REVOKED, grant_until = now), recording by and
 * comment (may be NULL). Returns 0, PCL_ERR_NOTFOUND or PCL_ERR_DENIED (not
 * a live grant) or PCL_ERR_IO.
 */
int pcl_approval_revoke(struct pcl_approval *s, const char *id,
                        const char *by, const char *comment, int64_t now);

/*
 * The requester gives up: a pending request of user becomes CANCELLED.
 * Returns 0, PCL_ERR_NOTFOUND or PCL_ERR_DENIED (not pending, or not
 * user's) or PCL_ERR_IO.
 */
int pcl_approval_cancel(struct pcl_approval *s, const char *id,
                        const char *user, int64_t now);

/*
 * Marks every pending request past its expires as EXPIRED. Writes the
 * number in *n (may be NULL). Returns 0 or PCL_ERR_IO.
 */
int pcl_approval_expire(struct pcl_approval *s, int64_t now, unsigned *n);

/*
 * Copies untrusted text (a reason, a comment, a command) into dst (dstlen
 * bytes, always terminated) for a terminal: control characters, DEL, bytes
 * from 0x80 and the backslash become \xHH (\\ for the backslash), so no
 * escape sequence reaches the screen and nothing is hidden; cut with "..."
 * when longer. Returns dst.
 */
char *pcl_approval_escape(char *dst, size_t dstlen, const char *src);

/* Writes Unix time t (seconds) as RFC 3339 UTC, "YYYY-MM-DDTHH:MM:SSZ",
 * into out (outlen bytes, at least 21). */
void pcl_approval_time(int64_t t, char *out, size_t outlen);

/* The stored name of a state ("pending", "approved", ...). */
const char *pcl_approval_state_name(enum pcl_approval_state st);

#endif /* PCL_APPROVAL_H */
