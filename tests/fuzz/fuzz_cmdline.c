/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: SSH_ORIGINAL_COMMAND (pcl_cmdline_parse). Besides crashes,
 * it checks what the proxy relies on: an accepted target or account name
 * is one the name rules allow, a verb is a reserved word, and an exec
 * command is a suffix of the line, byte for byte. */
#include "config.h"

#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "portcullis/cmdline.h"
#include "portcullis/err.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pcl_cmdline c;
    char why[256];
    char *line;
    int rc;

    line = malloc(size + 1);
    if (line == NULL) {
        return 0;
    }
    memcpy(line, data, size);
    line[size] = '\0';
    memset(&c, 0, sizeof(c));
    rc = pcl_cmdline_parse(line, &c, why, sizeof(why));
    if (rc == 0) {
        switch (c.kind) {
        case PCL_CMDLINE_MENU:
            break;
        case PCL_CMDLINE_VERB:
            if (c.verb == NULL || !pcl_cmdline_is_verb(c.verb)) {
                abort();
            }
            break;
        case PCL_CMDLINE_EXEC:
            if (c.command == NULL || strlen(c.command) > strlen(line) ||
                strcmp(line + strlen(line) - strlen(c.command),
                       c.command) != 0) {
                abort();
            }
            /* FALLTHROUGH */
        case PCL_CMDLINE_SHELL:
            if (c.target == NULL || !pcl_cmdline_is_target_name(c.target) ||
                pcl_cmdline_is_verb(c.target) ||
                (c.account != NULL &&
                 !pcl_cmdline_is_account_name(c.account))) {
                abort();
            }
            break;
        default:
            abort();
        }
    } else if (rc != PCL_ERR_SYNTAX && rc != PCL_ERR_NOMEM) {
        abort();
    } else if (memchr(why, '\0', sizeof(why)) == NULL) {
        abort();
    }
    pcl_cmdline_clear(&c);
    free(line);
    return 0;
}
