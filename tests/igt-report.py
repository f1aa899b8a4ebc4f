#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Reads the igt result lines of `make igt`'s guest boots, writes the results of both
drivers side by side (results.json, results.md) and judges ours against drm-ci style
expectation files.

    igt-report.py --out DIR --igt REV --fails F --flakes F BOOT=console.log...

Guest lines (tests/guest/igt.sh): ``@@VGRS igt LABEL TEST@SUBTEST[@DYNAMIC] RESULT SECS``.

Checks (printed as PASS/FAIL lines, then "N passed, N failed, N skipped"):
  - each subtest of ours: a failure (fail, crash, timeout, abort, dmesg-*) must be listed in
    the fails file with that result, or in the flakes file; a listed failure that passed or
    skipped fails too ("now passes: remove it from the list"), so the list stays true;
  - each fails/flakes entry whose test binary ran must name a subtest that ran (stale lists);
  - against the C driver, same boot: every subtest the C driver passes passes on ours.
"""

import argparse
import json
import os
import re
import sys
import time

LINE = re.compile(r"@@VGRS igt (\S+) (\S+) (\S+) ([0-9.]+)")
FAILING = {"fail", "crash", "timeout", "abort", "dmesg-warn", "dmesg-fail"}
# drm-ci's words for the results.
DRMCI = {"fail": "Fail", "crash": "Crash", "timeout": "Timeout", "abort": "Abort",
         "dmesg-warn": "DmesgWarn", "dmesg-fail": "DmesgFail", "pass": "Pass",
         "skip": "Skip", "notrun": "NotRun"}


def read_expectations(path, with_result):
    out = {}
    if not path or not os.path.exists(path):
        return out
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if with_result:
                name, _, res = line.partition(",")
                if res not in DRMCI.values():
                    sys.exit("%s:%d: unknown result '%s'" % (path, n, res))
                out[name] = res
            else:
                out[line] = None
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--igt", default="unknown")
    ap.add_argument("--fails")
    ap.add_argument("--flakes")
    ap.add_argument("--partial", action="store_true",
                    help="a short list ran: listed subtests that did not run are not stale")
    ap.add_argument("logs", nargs="+", help="BOOT=console.log")
    a = ap.parse_args()

    results = {}  # label -> name -> {result, secs, boot}
    for spec in a.logs:
        boot, _, path = spec.partition("=")
        if not os.path.exists(path):
            print("FAIL igt-%s no console log %s: the boot did not run" % (boot, path))
            continue
        with open(path, errors="replace") as f:
            for line in f:
                m = LINE.search(line)
                if m:
                    label, name, res, secs = m.groups()
                    results.setdefault(label, {})[name] = {
                        "result": res, "secs": float(secs), "boot": boot}

    # A subtest with dynamic subtests: its own pass, skip or fail only sums up theirs (which
    # are reported each); a timeout, crash or abort of the whole stays.
    for r in results.values():
        for n in [n for n in r if any(k.startswith(n + "@") for k in r)]:
            if r[n]["result"] in ("pass", "skip", "fail"):
                del r[n]

    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"igt": a.igt, "date": time.strftime("%Y-%m-%d %H:%M"),
                   "drivers": {"rs": "virtio_gpu_rs (ours)", "c": "virtio_gpu (C)"},
                   "results": results}, f, indent=1, sort_keys=True)

    ours, theirs = results.get("rs", {}), results.get("c", {})
    names = sorted(set(ours) | set(theirs))

    def count(r, res):
        return sum(1 for v in r.values() if v["result"] == res)

    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write("# igt results, %s (igt %s)\n\n" % (time.strftime("%Y-%m-%d"), a.igt))
        for label, r, title in (("rs", ours, "ours"), ("c", theirs, "C driver")):
            f.write("- %s: %d pass, %d fail, %d skip, %d other, of %d\n" % (
                title, count(r, "pass"), sum(1 for v in r.values() if v["result"] in FAILING),
                count(r, "skip"), sum(1 for v in r.values()
                                       if v["result"] in ("notrun",)), len(r)))
        f.write("\n| subtest | boot | ours | C driver |\n|---|---|---|---|\n")
        for n in names:
            o, t = ours.get(n), theirs.get(n)
            boot = (o or t)["boot"]
            cell = lambda v: "%s (%.1f s)" % (v["result"], v["secs"]) if v else "-"
            f.write("| %s | %s | %s | %s |\n" % (n, boot, cell(o), cell(t)))

    fails = read_expectations(a.fails, True)
    flakes = read_expectations(a.flakes, False)
    passed = failed = skipped = 0

    def check(ok, name, detail):
        nonlocal passed, failed
        if ok:
            passed += 1
            print("PASS %s %s" % (name, detail))
        else:
            failed += 1
            print("FAIL %s %s" % (name, detail))

    for n in sorted(ours):
        res = ours[n]["result"]
        want = fails.get(n)
        if n in flakes:
            skipped += 1
            print("SKIP rs.%s flake (listed): %s" % (n, res))
        elif res in FAILING:
            check(want == DRMCI[res], "rs." + n,
                  "%s, listed as %s" % (res, want) if want else
                  "%s: a new failure (not in %s)" % (res, a.fails))
        elif want:
            check(False, "rs." + n, "%s, but listed as %s: remove it from %s" % (res, want, a.fails))
        elif res == "pass":
            check(True, "rs." + n, "pass")
        else:
            skipped += 1
            print("SKIP rs.%s %s" % (n, res))

    ran = set() if a.partial else {n.split("@")[0] for n in ours}
    for n in sorted(set(fails) | set(flakes)):
        if n.split("@")[0] in ran and n not in ours:
            check(False, "list." + n, "listed, but no such subtest ran: remove it")

    for n in sorted(theirs):
        if theirs[n]["result"] == "pass":
            o = ours.get(n, {}).get("result", "not run")
            check(o == "pass", "vs-c." + n, "C driver passes; ours: %s" % o)

    print("\nigt: results in %s/results.md and results.json (ours: %d pass of %d; C: %d of %d)"
          % (a.out, count(ours, "pass"), len(ours), count(theirs, "pass"), len(theirs)))
    if skipped:
        print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    else:
        print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
