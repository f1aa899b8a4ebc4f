#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Compares the two drivers' profiles from a console log of the "profile" scenario.

Usage: qemu/profile-diff.py CONSOLE_LOG [--top N]

Reads the guest's "PROFILE <label> fn|lock|time <name> <per round trip>" and "PROFILE
<label> total-locks <n>" lines (tests/guest/profile.sh) and prints, for the kernel functions
and lock classes either driver uses, the calls (or the microseconds on the CPU) per round
trip on the C driver and on ours and the difference, largest differences first. A name below one call per ten round trips on a
driver shows as 0 there.
"""

import argparse
import collections
import re
import sys

LINE = re.compile(r"PROFILE (\S+) (fn|lock|time) (\S+) ([0-9.]+)")
TOTAL = re.compile(r"PROFILE (\S+) total-locks ([0-9.]+)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log")
    ap.add_argument("--top", type=int, default=40, help="rows per table (default 40)")
    args = ap.parse_args()
    per = collections.defaultdict(dict)
    totals = {}
    with open(args.log, errors="replace") as f:
        for line in f:
            m = LINE.search(line)
            if m:
                per[(m.group(2), m.group(1))][m.group(3)] = float(m.group(4))
                continue
            m = TOTAL.search(line)
            if m:
                totals[m.group(1)] = float(m.group(2))
    if not per:
        sys.exit("profile-diff: no PROFILE lines in %s (boot the profile scenario)" % args.log)
    for kind, title in (("fn", "kernel function"), ("lock", "lock class"),
                        ("time", "CPU time, us, callees in")):
        c, rs = per.get((kind, "c"), {}), per.get((kind, "rs"), {})
        rows = [(n, c.get(n, 0.0), rs.get(n, 0.0)) for n in set(c) | set(rs)]
        rows.sort(key=lambda r: -abs(r[2] - r[1]))
        print("%-48s %10s %10s %10s" % (title + " (per operation)", "C driver", "ours", "ours - C"))
        for name, a, b in rows[: args.top]:
            short = name if len(name) <= 48 else "..." + name[-45:]
            print("%-48s %10.2f %10.2f %+10.2f" % (short, a, b, b - a))
        print()
    if totals:
        print("lock acquisitions per operation: C driver %.2f, ours %.2f"
              % (totals.get("c", 0.0), totals.get("rs", 0.0)))


if __name__ == "__main__":
    main()
