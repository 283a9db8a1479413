/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: the IdP's discovery document (OpenID Connect Discovery 1.0
 * section 4) as lib/oidc.c parses it. The document is placed where
 * pcl_oidc_discover reads its cache (a root-only state directory, as in
 * production), so no network is needed; the issuer is a closed local port,
 * so a document refused from the cache ends in a refused connection, not
 * a request anywhere. Checks: an accepted document names the configured
 * issuer and gives https endpoints only; a refused one leaves nothing
 * allocated. */
#include "config.h"

#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "portcullis/oidc.h"

#define ISSUER "https://127.0.0.1:22549"

static char dir[64];

/* The state directory goes when the process ends (its file is removed
 * after every input). */
static void
remove_dir(void)
{
    (void)rmdir(dir);
}

static int
https(const char *s)
{
    return s != NULL && strncmp(s, "https://", 8) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pcl_oidc_params p;
    struct pcl_oidc_discovery d;
    char path[128];
    char why[256];
    FILE *fp;

    if (dir[0] == '\0') {
        snprintf(dir, sizeof(dir), "%s/pcl-fuzz-oidc.XXXXXX",
                 getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
        if (mkdtemp(dir) == NULL) {
            abort();
        }
        atexit(remove_dir);
    }
    snprintf(path, sizeof(path), "%s/discovery.json", dir);
    fp = fopen(path, "w");
    if (fp == NULL) {
        return 0;
    }
    if (size > 0 && fwrite(data, 1, size, fp) != size) {
        fclose(fp);
        return 0;
    }
    fclose(fp);

    memset(&p, 0, sizeof(p));
    p.issuer = ISSUER;
    p.client_id = "portcullis";
    p.scopes = "openid";
    p.http.timeout_s = 1;
    p.http.max_bytes = PCL_OIDC_MAX_RESPONSE;
    p.default_interval_s = 5;
    p.state_dir = dir;
    p.jwks_cooldown_s = 60;
    memset(&d, 0, sizeof(d));
    if (pcl_oidc_discover(&p, &d, why, sizeof(why)) == 0) {
        if (!https(d.device_authorization_endpoint) ||
            !https(d.token_endpoint) || !https(d.jwks_uri)) {
            abort();
        }
    } else if (d.device_authorization_endpoint != NULL ||
               d.token_endpoint != NULL || d.jwks_uri != NULL) {
        abort();
    }
    pcl_oidc_discovery_clear(&d);
    unlink(path);
    return 0;
}
