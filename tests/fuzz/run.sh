#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/fuzz/run.sh BUILDDIR SECONDS [TARGET...]: runs each libFuzzer
# target built in BUILDDIR (configure --enable-fuzzers) for SECONDS, one
# after the other at the lowest CPU priority, starting from a copy of its
# seed corpus (new inputs go to BUILDDIR/tests/fuzz/work/NAME, crashes to
# BUILDDIR/tests/fuzz/findings/NAME). Prints one summary line per target:
# executions, coverage (cov/ft of libFuzzer's last line), findings.
# -timeout=60: an input slower than a minute is a hang; 10 s fired on a
# busy shared machine when the disk or the CPU stalled (inputs that then
# replayed in milliseconds).
set -u
src=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILDDIR SECONDS [TARGET...]}
secs=${2:?usage: run.sh BUILDDIR SECONDS [TARGET...]}
shift 2
if [ $# -eq 0 ]; then
    set -- $(cd "$src/corpus" && ls)
fi
for t in "$@"; do
    bin=$build/tests/fuzz/fuzz_$t
    [ -x "$bin" ] || { echo "$t: $bin not built"; continue; }
    work=$build/tests/fuzz/work/$t
    found=$build/tests/fuzz/findings/$t
    mkdir -p "$work" "$found"
    cp -n "$src/corpus/$t"/* "$work"/ 2>/dev/null
    log=$build/tests/fuzz/$t.log
    dict=
    [ -f "$src/$t.dict" ] && dict=-dict=$src/$t.dict
    nice -n 19 "$bin" -max_total_time="$secs" -timeout=60 -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$found/" $dict \
        "$work" > "$log" 2>&1
    rc=$?
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    ran=$(awk "BEGIN { if (${rate:-0} > 0) printf \"%d\", ${execs:-0} / $rate; else print \"?\" }")
    echo "$t: exit $rc, $execs executions in about ${ran}s (of ${secs}s); last: $last; findings: $(ls "$found" | wc -l)"
done
