/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: policy.conf (pcl_policy_load), then decisions on what it
 * loaded. Checks: a refused file leaves a diagnostic and no policy; an
 * unknown target is denied; an allow names the target asked for and an
 * account; decisions and the credential template never overflow. */
#include "config.h"

#include "fuzz.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "portcullis/err.h"
#include "portcullis/ini.h"
#include "portcullis/policy.h"

static const char *const groups[] = { "dba", "developers", "sre", "wheel" };
static const struct pcl_identity ids[] = {
    { "alice", groups, 2 },
    { "mallory", groups + 2, 2 },
    { "root", NULL, 0 },
};

static void
decide_all(const struct pcl_policy *p)
{
    struct pcl_decision d;
    char cred[256];
    size_t i, j, k;

    for (k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
        if (pcl_policy_decide(p, &ids[k], "no-such-target-xyz", NULL,
                              &d) != PCL_ERR_DENIED ||
            d.decision != PCL_DECISION_DENY) {
            abort();
        }
        (void)pcl_policy_may(p, &ids[k], "replay", &d);
        (void)pcl_policy_may(p, &ids[k], "sessions", &d);
    }
    for (i = 0; i < pcl_policy_ntargets(p); i++) {
        const struct pcl_target *t = pcl_policy_target(p, i);
        const char *name = pcl_target_name(t);

        for (k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
            (void)pcl_target_is_allowed(t, &ids[k]);
            if (pcl_policy_decide(p, &ids[k], name, NULL, &d) == 0) {
                if (d.decision != PCL_DECISION_ALLOW || d.target == NULL ||
                    strcmp(pcl_target_name(d.target), name) != 0 ||
                    memchr(d.account, '\0', sizeof(d.account)) == NULL ||
                    d.account[0] == '\0') {
                    abort();
                }
                (void)pcl_target_credential(d.target, d.account, cred,
                                            sizeof(cred));
            }
            (void)pcl_policy_decide(p, &ids[k], name, "postgres", &d);
        }
        for (j = 0; j < pcl_target_nmasks(t); j++) {
            const char *pat, *rep;

            (void)pcl_policy_mask(p, pcl_target_mask(t, j), &pat, &rep);
        }
        for (j = 0; j < pcl_target_nhost_keys(t); j++) {
            if (pcl_target_host_key(t, j) == NULL) {
                abort();
            }
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pcl_diag *diag = NULL;
    struct pcl_policy *p = NULL;
    char path[256];
    int rc;

    if (fuzz_tmpfile(data, size, path, sizeof(path)) != 0) {
        return 0;
    }
    if (pcl_diag_new(&diag) != 0) {
        goto out;
    }
    rc = pcl_policy_load(path, NULL, diag, &p);
    if (rc == 0) {
        if (p == NULL) {
            abort();
        }
        decide_all(p);
    } else if (p != NULL || pcl_diag_count(diag) == 0) {
        abort();
    }
out:
    pcl_policy_free(p);
    pcl_diag_free(diag);
    unlink(path);
    return 0;
}
