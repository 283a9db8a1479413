/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/err.h"

#include <stdarg.h>
#include <stdio.h>

const char *
pcl_err_str(int err)
{
    switch (err) {
    case PCL_OK:
        return "success";
    case PCL_ERR_NOMEM:
        return "out of memory";
    case PCL_ERR_INVAL:
        return "invalid argument";
    case PCL_ERR_SYSTEM:
        return "system error";
    case PCL_ERR_CONFIG:
        return "configuration error";
    case PCL_ERR_PERM:
        return "unsafe ownership or permissions";
    case PCL_ERR_SYNTAX:
        return "malformed command";
    case PCL_ERR_DENIED:
        return "access denied";
    case PCL_ERR_NOTFOUND:
        return "not found";
    case PCL_ERR_CONNECT:
        return "cannot connect to target";
    case PCL_ERR_HOSTKEY:
        return "target host key not trusted";
    case PCL_ERR_AUTH:
        return "target refused authentication";
    case PCL_ERR_CHANNEL:
        return "target refused the session";
    case PCL_ERR_IO:
        return "input/output error";
    case PCL_ERR_TOOBIG:
        return "too large";
    case PCL_ERR_CRYPTO:
        return "cryptographic failure";
    default:
        return "unknown error";
    }
}

void
pcl_err_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || whylen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}
