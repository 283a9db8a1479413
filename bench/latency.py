#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""bench/latency.py -- keystroke echo latency probe for bench/bench.sh.

Usage: latency.py [--raw FILE] [--stall-hook CMD] SAMPLES WARMUP GAP_MS -- SSH_ARGV...

Runs SSH_ARGV (an `ssh -tt ...` whose remote command must put its terminal
in raw mode without echo, print READY and then `exec cat`) on a local
pseudo-terminal in raw mode, like a user's terminal.  After READY it sends
one byte at a time, GAP_MS apart, and times how long each takes to come
back (the remote cat echoes it).  The first WARMUP round trips are not
counted.  An echo may take up to 60 s (longer than the proxy's 30 s
keepalive tick, so a lost wake-up shows as a ~30 s sample, not a failure);
one that is 2 s late counts as a stall, and the first stall of the session
starts CMD (--stall-hook, run by sh in the background, so it does not
delay the measurement) to capture the relay's state.  Prints one line:
"n=N p50=MS p90=MS p99=MS max=MS mean=MS stalls=N" in milliseconds; with --raw, every counted round trip is also appended to FILE
(milliseconds, one a line), so that several runs can be pooled.  Exit 0 on
success; 1 with a message on stderr otherwise.
"""

import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
import tty
import fcntl


def die(msg):
    sys.stderr.write("latency.py: %s\n" % msg)
    sys.exit(1)


def read_until(fd, want, deadline):
    """Reads from fd until `want` appears; returns everything read."""
    got = b""
    while want not in got:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(got)
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            raise EOFError(got)
        got += chunk
    return got


def percentile(sorted_ms, p):
    # nearest-rank percentile
    if not sorted_ms:
        return float("nan")
    k = max(0, min(len(sorted_ms) - 1, int(-(-p * len(sorted_ms) // 100)) - 1))
    return sorted_ms[k]


def main():
    argv = sys.argv[1:]
    raw = None
    hook = None
    while len(argv) > 1 and argv[0] in ("--raw", "--stall-hook"):
        if argv[0] == "--raw":
            raw = argv[1]
        else:
            hook = argv[1]
        argv = argv[2:]
    if len(argv) < 5 or argv[3] != "--":
        die("usage: latency.py SAMPLES WARMUP GAP_MS -- SSH_ARGV...")
    samples, warmup, gap_ms = int(argv[0]), int(argv[1]), float(argv[2])
    cmd = argv[4:]

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    tty.setraw(slave)
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True, close_fds=True)
    os.close(slave)
    rc = 1
    try:
        try:
            read_until(master, b"READY", time.monotonic() + 30)
        except (TimeoutError, EOFError) as e:
            die("no READY from the remote side; got %r" % (e.args[0][-300:],))
        # Whatever follows READY (its newline) is drained before timing.
        time.sleep(0.2)
        while select.select([master], [], [], 0)[0]:
            if not os.read(master, 4096):
                break
        rtts = []
        stalls = 0
        hook_proc = None
        alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789"
        for i in range(warmup + samples):
            b = alphabet[i % len(alphabet):i % len(alphabet) + 1]
            t0 = time.perf_counter_ns()
            sent = time.monotonic()
            os.write(master, b)
            try:
                got = read_until(master, b, sent + 2)
            except TimeoutError:
                stalls += 1
                sys.stderr.write("latency.py: byte %d not echoed after 2 s\n" % i)
                if hook is not None and hook_proc is None:
                    hook_proc = subprocess.Popen(["/bin/sh", "-c", hook])
                try:
                    got = read_until(master, b, sent + 60)
                except (TimeoutError, EOFError) as e:
                    die("echo of byte %d lost; got %r" % (i, e.args[0][-100:]))
                sys.stderr.write("latency.py: byte %d echoed after %.3f s\n" % (
                    i, (time.perf_counter_ns() - t0) / 1e9))
            except EOFError as e:
                die("echo of byte %d lost; got %r" % (i, e.args[0][-100:]))
            t1 = time.perf_counter_ns()
            if got != b:
                die("unexpected echo %r for %r (byte %d)" % (got, b, i))
            if i >= warmup:
                rtts.append((t1 - t0) / 1e6)
            if gap_ms > 0:
                time.sleep(gap_ms / 1000.0)
        if raw is not None:
            with open(raw, "a") as f:
                f.write("".join("%.4f\n" % x for x in rtts))
        rtts.sort()
        if hook_proc is not None:
            hook_proc.wait()
        print("n=%d p50=%.3f p90=%.3f p99=%.3f max=%.3f mean=%.3f stalls=%d" % (
            len(rtts), percentile(rtts, 50), percentile(rtts, 90),
            percentile(rtts, 99), rtts[-1], sum(rtts) / len(rtts), stalls))
        rc = 0
    finally:
        # Our own child only, by PID.
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        os.close(master)
    return rc


if __name__ == "__main__":
    sys.exit(main())
