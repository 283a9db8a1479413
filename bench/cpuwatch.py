#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""bench/cpuwatch.py -- CPU time of one short-lived process, for bench.sh.

Usage: cpuwatch.py UID NAME [WAIT_S]

Waits (up to WAIT_S seconds, default 30) for a process of user UID whose
name (Name: in /proc/PID/status) is NAME to appear, then samples /proc/PID/stat every
10 ms until the process is gone, and prints "PID USER_S SYS_S" from the
last sample (a zombie still shows its final times).  Only reads /proc;
sleeps between samples, so it costs next to nothing while a run is timed.
Prints nothing and exits 1 when no such process showed up.
"""

import os
import sys
import time


def find(uid, name):
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        # The real uid from status: /proc/PID of a set-id (non-dumpable)
        # process belongs to root.
        try:
            with open("/proc/%s/status" % d) as f:
                head = f.read(1024).split("\n")
        except OSError:
            continue
        fields = dict(l.split(":", 1) for l in head if ":" in l)
        try:
            if (fields.get("Name", "").strip() == name and
                    int(fields.get("Uid", "-1").split()[0]) == uid):
                return int(d)
        except ValueError:
            continue
    return None


def main():
    uid, name = int(sys.argv[1]), sys.argv[2]
    wait_s = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0
    hz = os.sysconf("SC_CLK_TCK")
    deadline = time.monotonic() + wait_s
    pid = None
    while pid is None and time.monotonic() < deadline:
        pid = find(uid, name)
        if pid is None:
            time.sleep(0.005)
    if pid is None:
        return 1
    last = None
    while True:
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
        except OSError:
            break
        # Fields after the ")" that ends comm: state is field 3, utime 14.
        fields = st[st.rindex(")") + 2:].split()
        if fields[0] in ("Z", "X"):
            last = fields
            break
        last = fields
        time.sleep(0.01)
    if last is None:
        return 1
    print("%d %.3f %.3f" % (pid, int(last[11]) / hz, int(last[12]) / hz))
    return 0


if __name__ == "__main__":
    sys.exit(main())
