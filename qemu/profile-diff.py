#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Compares the two drivers' profiles from a console log of the "profile" scenario.

Usage: qemu/profile-diff.py CONSOLE_LOG [--base SHORTER_LOG] [--top N]

Reads the guest's "PROFILE <label> fn|lock|time <name> <per round trip>" and "PROFILE
<label> total-locks <n>" lines (tests/guest/profile.sh) and prints, for the kernel functions
and lock classes either driver uses, the calls (or the microseconds on the CPU) per round
trip on the C driver and on ours and the difference, largest differences first. A name below
one call per ten round trips on a driver shows as 0 there.

--base: the console log of a shorter run of the same operation. Each figure is then the
steady state, the difference of the two runs' totals over the difference of their operation
counts, so that start-up and exit (glmark2's 44 MB buffers made and freed) cancel out. A name
below the threshold in one run counts as 0 there: small figures are approximate.
"""

import argparse
import collections
import re
import sys

LINE = re.compile(r"PROFILE (\S+) (fn|lock|time) (\S+) ([0-9.]+)")
TOTAL = re.compile(r"PROFILE (\S+) total-locks ([0-9.]+)")
OPS = re.compile(r"@@VGRS result PASS (\S+)\.profile ([0-9]+) operations")


def read(path):
    """The per-operation figures, lock totals and operation counts of one console log."""
    per = collections.defaultdict(dict)
    totals, ops = {}, {}
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.search(line)
            if m:
                per[(m.group(2), m.group(1))][m.group(3)] = float(m.group(4))
                continue
            m = TOTAL.search(line)
            if m:
                totals[m.group(1)] = float(m.group(2))
                continue
            m = OPS.search(line)
            if m:
                ops[m.group(1)] = int(m.group(2))
    if not per:
        sys.exit("profile-diff: no PROFILE lines in %s (boot the profile scenario)" % path)
    return per, totals, ops


def steady(long, short):
    """Per operation, from the difference of a longer and a shorter run's totals."""
    (per, totals, ops), (bper, btotals, bops) = long, short
    out, out_totals = collections.defaultdict(dict), {}
    for label in ops:
        n = ops[label] - bops.get(label, 0)
        if n <= 0:
            sys.exit("profile-diff: --base has as many operations for %s (%d) as the log"
                     % (label, ops[label]))
        for kind in ("fn", "lock", "time"):
            a, b = per.get((kind, label), {}), bper.get((kind, label), {})
            for name in set(a) | set(b):
                total = a.get(name, 0.0) * ops[label] - b.get(name, 0.0) * bops.get(label, 0)
                out[(kind, label)][name] = total / n
        if label in totals:
            out_totals[label] = (totals[label] * ops[label]
                                 - btotals.get(label, 0.0) * bops.get(label, 0)) / n
        print("%s: steady state over %d operations (%d - %d)" % (label, n, ops[label],
                                                                  bops.get(label, 0)))
    print()
    return out, out_totals


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log")
    ap.add_argument("--base", help="console log of a shorter run: print the steady state")
    ap.add_argument("--top", type=int, default=40, help="rows per table (default 40)")
    args = ap.parse_args()
    per, totals, _ = long = read(args.log)
    if args.base:
        per, totals = steady(long, read(args.base))
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
