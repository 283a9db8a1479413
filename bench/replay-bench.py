#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""portcullis-replay on a large recording, side by side with a small one:
time to the first frame, time to seek to the end (--at past the end:
the screen there is drawn), peak RSS while playing (VmHWM; it must not
grow with the file), and search throughput in MB/s of recorded output.

usage: replay-bench.py PORTCULLIS-REPLAY [DIR] [SIZE_MIB]
The recordings are generated in DIR (default /tmp) and removed after."""
import os
import pty
import select
import signal
import subprocess
import sys
import time

REPLAY = sys.argv[1]
DIR = sys.argv[2] if len(sys.argv) > 2 else "/tmp"
BIG_MIB = int(sys.argv[3]) if len(sys.argv) > 3 else 1024
SMALL_MIB = 8


def make_cast(path, mib):
    """An asciicast v2 of about mib MiB: coloured listing lines, one event
    every millisecond, a resize and a marker every 10000 events, and one
    'DROP TABLE' line near the end (for search)."""
    target = mib << 20
    line = ('"\\u001b[01;34mdir-%07d\\u001b[0m  file-%07d.txt  '
            'some more output to fill a terminal line ........\\r\\n"]\n')
    with open(path, "w", buffering=1 << 22) as f:
        f.write('{"version": 2, "width": 120, "height": 40}\n')
        n = 0
        size = 0
        drop_at = target - (1 << 20)
        dropped = False
        while size < target:
            t = n / 1000.0
            if n % 10000 == 5000:
                s = '[%.6f, "r", "%dx40"]\n' % (t, 100 + (n // 10000) % 2 * 20)
            elif n % 10000 == 9999:
                s = '[%.6f, "m", "mark %d"]\n' % (t, n)
            elif not dropped and size > drop_at:
                s = '[%.6f, "o", "psql> DROP TABLE users;\\r\\n"]\n' % t
                dropped = True
            else:
                s = ("[%.6f, \"o\", " % t) + line % (n, n)
            f.write(s)
            size += len(s)
            n += 1
    return n


def until_output(argv, marker, timeout=120):
    """Runs argv on a pty; returns (seconds until marker first appears in
    its output, VmHWM in KiB at that moment). Stops the process."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(argv[0], argv)
    start = time.monotonic()
    buf = b""
    found = None
    hwm = 0
    while time.monotonic() - start < timeout:
        hwm = max(hwm, vmhwm(pid))
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            buf = (buf + data)[-4096:]
            if marker in buf:
                found = time.monotonic() - start
                break
    time.sleep(0.1)
    hwm = max(hwm, vmhwm(pid))
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    os.close(fd)
    return found, hwm


def vmhwm(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for l in f:
                if l.startswith("VmHWM:"):
                    return int(l.split()[1])
    except OSError:
        pass
    return 0


def play_rss(path, seconds):
    """Plays at top speed with idle time cut for `seconds`, draining the
    output; returns (VmHWM KiB, bytes of output drawn)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(REPLAY, [REPLAY, "-s", "64", "-i", "0.001", path])
    start = time.monotonic()
    total = 0
    hwm = 0
    while time.monotonic() - start < seconds:
        hwm = max(hwm, vmhwm(pid))
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                total += len(os.read(fd, 1 << 20))
            except OSError:
                break
    hwm = max(hwm, vmhwm(pid))
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    os.close(fd)
    return hwm, total


def search(path):
    start = time.monotonic()
    p = subprocess.run([REPLAY, "search", "DROP TABLE", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    secs = time.monotonic() - start
    return secs, p.returncode, p.stdout.decode(errors="replace").strip()


def main():
    big = os.path.join(DIR, "replay-bench-big.cast")
    small = os.path.join(DIR, "replay-bench-small.cast")
    try:
        t0 = time.monotonic()
        make_cast(small, SMALL_MIB)
        make_cast(big, BIG_MIB)
        print("generated %d MiB and %d MiB recordings in %.1f s" %
              (SMALL_MIB, BIG_MIB, time.monotonic() - t0))
        rows = []
        for name, path in (("small", small), ("big", big)):
            mib = os.path.getsize(path) / (1 << 20)
            first, _ = until_output([REPLAY, path], b"dir-")
            seek, seek_hwm = until_output([REPLAY, "-p", "--at", "99999999",
                                           path], b"\x1b[2J")
            hwm, drawn = play_rss(path, 5)
            ssecs, src, sout = search(path)
            rows.append((name, mib, first, seek, seek_hwm, hwm, drawn,
                         ssecs, src, sout))
        print("%-6s %9s %12s %14s %14s %14s %12s" %
              ("file", "MiB", "1st frame s", "seek-end s", "seek RSS MiB",
               "play RSS MiB", "search MB/s"))
        for (name, mib, first, seek, seek_hwm, hwm, drawn, ssecs, src,
             sout) in rows:
            print("%-6s %9.0f %12s %14s %14.1f %14.1f %12.1f" %
                  (name, mib,
                   "%.3f" % first if first is not None else "timeout",
                   "%.3f" % seek if seek is not None else "timeout",
                   seek_hwm / 1024, hwm / 1024,
                   mib * 1.048576 / ssecs if ssecs > 0 else 0))
            print("       search exit %d: %s" % (src, sout[:100]))
        s, b = rows[0], rows[1]
        print("ratios big/small: play RSS %.2f, seek RSS %.2f, first frame "
              "%.2f" % (b[5] / max(s[5], 1), b[4] / max(s[4], 1),
                        (b[2] or 0) / max(s[2] or 1e-9, 1e-9)))
    finally:
        for p in (big, small):
            try:
                os.unlink(p)
            except OSError:
                pass


main()
