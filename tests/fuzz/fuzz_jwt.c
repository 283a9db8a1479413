/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: a compact JWS through pcl_jwt_verify (split, base64url,
 * header and claims JSON, algorithm choice, signature) against a fixed
 * JWKS with an RSA, an EC and an Ed25519 key. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "portcullis/err.h"
#include "portcullis/jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char jwks_doc[] =
    "{\"keys\":["
    "{\"kty\":\"EC\",\"kid\":\"ec1\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"},"
    "{\"kty\":\"OKP\",\"kid\":\"ed1\",\"crv\":\"Ed25519\","
    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"},"
    "{\"kty\":\"RSA\",\"kid\":\"rsa1\",\"e\":\"AQAB\",\"n\":\""
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-"
    "4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2"
    "jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7"
    "WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvU"
    "K-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\"}"
    "]}";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct pcl_jwks *keys;
    struct pcl_jwt_rules rules = { "https://idp.test", "bastion", 0x0f, 60,
                                   600, 1700000000 };
    struct pcl_jwt *t = NULL;
    char why[256];
    char *tok;

    if (keys == NULL &&
        pcl_jwks_parse(jwks_doc, strlen(jwks_doc), &keys, why,
                       sizeof(why)) != PCL_OK) {
        abort();
    }
    tok = malloc(size + 1);
    if (tok == NULL) {
        return 0;
    }
    memcpy(tok, data, size);
    tok[size] = '\0';
    if (pcl_jwt_verify(tok, keys, &rules, &t, why, sizeof(why)) == PCL_OK) {
        (void)pcl_jwt_claim_str(t, "sub");
        pcl_jwt_free(t);
    }
    free(tok);
    return 0;
}
