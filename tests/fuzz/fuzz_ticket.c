/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: an identity ticket through pcl_ticket_verify, and sshd's
 * SSH_AUTH_INFO_0 text through pcl_ticket_fingerprint. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "portcullis/err.h"
#include "portcullis/ticket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t key[32] = "fuzz-ticket-key-fuzz-ticket-key";
    struct pcl_ticket t;
    char why[256];
    char fp[128];
    char *s = malloc(size + 1);

    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';
    (void)pcl_ticket_verify(s, key, sizeof(key), "alice", 1700000000, &t, why,
                            sizeof(why));
    (void)pcl_ticket_fingerprint(s, fp, sizeof(fp));
    free(s);
    return 0;
}
