/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: a JWKS document through pcl_jwks_parse (JSON, key types,
 * base64url members, OpenSSL key import). */
#include "config.h"

#include <stdint.h>

#include "portcullis/err.h"
#include "portcullis/jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pcl_jwks *k = NULL;
    char why[256];

    if (pcl_jwks_parse((const char *)data, size, &k, why, sizeof(why)) ==
        PCL_OK) {
        (void)pcl_jwks_count(k);
        pcl_jwks_free(k);
    }
    return 0;
}
