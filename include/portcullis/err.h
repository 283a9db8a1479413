/* SPDX-License-Identifier: BSD-2-Clause */
/* One error space for all of libportcullis: 0 or a negative PCL_ERR_*. */
#ifndef PCL_ERR_H
#define PCL_ERR_H

enum pcl_err {
    PCL_OK = 0,
    PCL_ERR_NOMEM = -1,      /* out of memory */
    PCL_ERR_INVAL = -2,      /* invalid argument (a contract breach) */
    PCL_ERR_SYSTEM = -3,     /* a system call failed; errno logged */
    PCL_ERR_CONFIG = -4,     /* configuration or policy file invalid */
    PCL_ERR_PERM = -5,       /* unsafe ownership or mode of a file */
    PCL_ERR_SYNTAX = -6,     /* malformed SSH_ORIGINAL_COMMAND */
    PCL_ERR_DENIED = -7,     /* policy denied the request */
    PCL_ERR_NOTFOUND = -8,   /* no such target, account or file */
    PCL_ERR_CONNECT = -9,    /* could not reach or negotiate with target */
    PCL_ERR_HOSTKEY = -10,   /* target host key not pinned or changed */
    PCL_ERR_AUTH = -11,      /* target refused the vaulted credential */
    PCL_ERR_CHANNEL = -12,   /* channel open or request refused */
    PCL_ERR_IO = -13,        /* read or write on a session fd failed */
    PCL_ERR_TOOBIG = -14,    /* a bounded buffer or field would overflow */
    PCL_ERR_CRYPTO = -15,    /* a cryptographic primitive failed */
};

/* Returns a static, human-readable string for a PCL_ERR_* code. */
const char *pcl_err_str(int err);

#include <stddef.h>

/* Formats the reason of a failure into why (whylen bytes, always
 * terminated); why may be NULL or whylen 0, and then nothing is written. */
void pcl_err_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* PCL_ERR_H */
