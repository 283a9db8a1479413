/* SPDX-License-Identifier: BSD-2-Clause */
/* The local relay of portcullis-rec: the user's terminal <-> a command on a
 * pseudo-terminal, every byte through the same tap as the proxy's relay. */
#ifndef PCL_PTYRELAY_H
#define PCL_PTYRELAY_H

#include <stdint.h>
#include <sys/types.h>

#include "portcullis/relay.h"

/* How the command ended. */
struct pcl_ptyrelay_result {
    int exit_status;        /* -1 when killed by a signal */
    int signo;              /* the signal, or 0 */
    uint64_t bytes_in;      /* user to command */
    uint64_t bytes_out;     /* command to user */
    bool tap_failed;        /* the tap refused data: the command was hung up */
};

/*
 * Relays between in_fd/out_fd (the user's terminal or pipes) and master
 * (the pty of child) until the child exits and its output is drained,
 * passing every byte through tap (may be NULL). Window changes of in_fd
 * (SIGWINCH) go to master and to the tap. If the tap refuses data, the
 * child gets SIGHUP and the loop ends. Returns 0 or PCL_ERR_IO; *res is
 * filled either way.
 */
int pcl_ptyrelay_run(int master, pid_t child, int in_fd, int out_fd,
                     const struct pcl_relay_tap *tap,
                     struct pcl_ptyrelay_result *res);

#endif /* PCL_PTYRELAY_H */
