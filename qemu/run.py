#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Boots the test kernel in QEMU (TCG by default) and runs one guest scenario.

The guest talks to this runner over the serial console with lines that start with `@@VGRS`:

  @@VGRS result PASS|FAIL|SKIP <name> [detail]   one check's outcome
  @@VGRS info <key> <value>                       a fact for the summary
  @@VGRS dump <name> [head]                       take a QMP screendump now; the runner
                                                  answers "dumped <name>" on the serial input
  @@VGRS compare <a> <b>                          compare two earlier dumps; the runner answers
                                                  "same WxH", "differ N rows Y0-Y1 WxH" or
                                                  "error <why>"
  @@VGRS look <name>                              describe an earlier dump: "look WxH colours N
                                                  blank|picture"
  @@VGRS pixel <name> <x> <y>                     one pixel of an earlier dump: "pixel R G B"
  @@VGRS trace <name>                             the QEMU trace lines (--trace) written since
                                                  the previous trace request: "trace N l1 | l2"
  @@VGRS match <a> <b>                            compare dumps <a> and <b> (pixel-identical,
                                                  not blank), report it as the check
                                                  match.<a>.<b>; answers "same ..." or
                                                  "differ ..." on the serial input
  @@VGRS resize <W>x<H>                           resize QEMU's window (--xvfb: the gtk UI
                                                  under Xvfb) so the UI asks the guest for a
                                                  new display size; answers "resized WxH" or
                                                  "error <why>"
  @@VGRS share <name> <bg> <fg>                   colour shares of an earlier dump, colours as
                                                  RRGGBB hex: "share BG_PERMILLE FG_PIXELS
                                                  OTHER_PIXELS WxH"
  @@VGRS expect-panic <name> <bg> <fg>            the guest is about to panic on purpose: the
                                                  next "Kernel panic" is not a crash; the
                                                  runner then takes screendumps <name> (for up
                                                  to 60 s) until one shows a panic screen (at
                                                  least half <bg>, some <fg> text), reports the
                                                  check panic.<name> and ends the run
  @@VGRS unplug <slot>                            --slots: a real PCIe hot-unplug of slot N
                                                  (QMP device_del of its bridge, which takes
                                                  the GPU with it); answers "ok" or
                                                  "error <why>" (pciehp then removes the
                                                  devices in the guest, about 5 s later)
  @@VGRS plug <slot>                              --slots: a new GPU in slot N (QMP device_add
                                                  on its root port); answers "ok" or
                                                  "error <why>"
  @@VGRS log <text>                               a line to show even with --quiet
  @@VGRS done                                     the scenario finished

Everything the guest prints goes to the log file. The exit status is the guest's verdict:
0 all checks passed, 1 a check failed, 2 the guest did not finish (timeout, panic, crash).
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ppm  # noqa: E402

MARK = "@@VGRS "
PANIC = re.compile(r"Kernel panic|BUG: kernel NULL|general protection fault|Oops:")
# A user program's fault, which the kernel logs as "traps: prog[pid] general protection
# fault ..." (show_unhandled_signals): the guest scenario judges the program, not a crash.
USER_TRAP = re.compile(r"traps: \S+\[\d+\] ")


class Qmp:
    """A minimal QMP client on a unix socket."""

    def __init__(self, path, timeout=30):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.file = self.sock.makefile("rw")
        self._read()  # greeting
        self.execute("qmp_capabilities")

    def _read(self):
        while True:
            line = self.file.readline()
            if not line:
                raise EOFError("QMP connection closed")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def execute(self, cmd, **args):
        req = {"execute": cmd}
        if args:
            req["arguments"] = args
        self.file.write(json.dumps(req) + "\n")
        self.file.flush()
        rep = self._read()
        if "error" in rep:
            raise RuntimeError("QMP %s: %s" % (cmd, rep["error"].get("desc")))
        return rep.get("return")


def host_tsc_khz():
    """The host's TSC frequency in kHz, or None: under TCG the guest's TSC counts the host's.
    From the kernel log's calibration if readable, else /proc/cpuinfo's "cpu MHz" when the
    flags say the TSC runs at a known, constant rate."""
    try:
        log = subprocess.run(["dmesg"], capture_output=True, text=True, timeout=10).stdout
        m = re.findall(r"tsc: (?:Refined TSC clocksource calibration|Detected): "
                       r"([0-9.]+) MHz", log)
        if m:
            return int(float(m[-1]) * 1000)
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
    except OSError:
        return None
    flags = re.search(r"^flags\s*:(.*)$", info, re.M)
    mhz = re.search(r"^cpu MHz\s*:\s*([0-9.]+)", info, re.M)
    if flags and mhz and {"constant_tsc", "tsc_known_freq"} <= set(flags.group(1).split()):
        return int(float(mhz.group(1)) * 1000)
    return None


def slot_devices(n):
    """--slots N (on a q35 machine, with PCI Express; the other boots use the default i440fx
    one): GPU i in a hot-pluggable PCIe slot of its own, pcie-root-port rp<i> at
    00:1<i>.0 -> pcie-pci-bridge br<i> -> virtio-gpu-pci gpu<i>. QEMU 7.2 refuses a
    device_del of virtio-gpu-pci itself ("does not support hotplugging"); the bridge may go,
    and takes the GPU with it. Native PCIe hotplug (pciehp in the guest), not ACPI's."""
    cmd = ["-machine", "q35", "-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off"]
    for i in range(n):
        cmd += ["-device", "pcie-root-port,id=rp%d,bus=pcie.0,addr=0x%x.0,chassis=%d,slot=%d"
                % (i, 0x10 + i, i + 1, i + 1),
                "-device", "pcie-pci-bridge,id=br%d,bus=rp%d" % (i, i),
                "-device", "virtio-gpu-pci,id=gpu%d,bus=br%d,addr=1.0" % (i, i)]
    return cmd


def slot_request(qmp, kind, slot, slots):
    """`@@VGRS unplug|plug <slot>`: QMP device_del of the slot's bridge, or device_add of a
    new virtio-gpu-pci on the slot's root port (which QEMU 7.2 refuses: its virtio-gpu
    devices are not hot-pluggable). Answers "ok" or "error <why>"."""
    if not slot.isdigit() or int(slot) >= slots:
        return "error no slot %s (--slots %d)" % (slot, slots)
    i = int(slot)
    if kind == "unplug":
        qmp.execute("device_del", id="br%d" % i)
    else:
        qmp.execute("device_add", driver="virtio-gpu-pci", id="gpu%d-replug" % i,
                    bus="rp%d" % i)
    return "ok"


def qemu_command(args, kernel, qmp_path, trace_file):
    cmd = ["qemu-system-x86_64", "-nodefaults", "-no-reboot", "-m", args.mem, "-smp", str(args.smp)]
    if args.kvm:
        cmd += ["-accel", "kvm", "-cpu", "host"]
    else:
        cmd += ["-accel", "tcg", "-cpu", "max"]
    # acpi=noirq: ACPI finds the second CPU (QEMU's MADT), but PCI interrupt routing stays
    # off ACPI: a PCI rescan would evaluate _SB.PCI0._PRT, which under the debug kernel runs
    # into the AML loop timeout (about 37 s, "can't derive routing for PCI INT A"); virtio
    # uses MSI-X anyway.
    append = "console=ttyS0 panic=-1 loglevel=6 acpi=noirq vgrs.scenario=%s %s%s" % (
        args.scenario, args.append, " vgrs.share" if args.share else "")
    if args.tsc:
        khz = host_tsc_khz()
        if khz:
            append += " tsc_early_khz=%d tsc=reliable" % khz
        else:
            print("run: --tsc: the host's TSC frequency is unknown; the guest keeps jiffies",
                  flush=True)
    cmd += ["-kernel", kernel, "-initrd", args.initrd, "-append", append.strip()]
    cmd += ["-serial", "stdio", "-qmp", "unix:%s,server=on,wait=off" % qmp_path]
    gpu = "virtio-vga-gl,id=gpu0" if args.gl else "virtio-gpu-pci,id=gpu0"
    if args.heads > 1:
        gpu += ",max_outputs=%d" % args.heads
    if args.slots:
        cmd += slot_devices(args.slots)
    else:
        cmd += ["-device", gpu]
    if args.display == "none":
        cmd += ["-display", "none"]
    elif args.gl:
        cmd += ["-display", args.display + ",gl=on"]
    else:
        cmd += ["-display", args.display]
    if args.share:
        # Read-only 9p share, mounted by the guest's /init on /share (vgrs.share).
        cmd += ["-virtfs", "local,path=%s,mount_tag=vgrs-share,security_model=none,readonly=on"
                % os.path.abspath(args.share)]
    for ev in args.trace:
        cmd += ["-trace", "enable=%s" % ev]
    if args.trace:
        cmd += ["-D", trace_file]
    return cmd


def find_window(timeout=20):
    """The X window id of QEMU's gtk window (titled "QEMU ..."), waiting for it to map."""
    deadline = time.time() + timeout
    while True:
        out = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^QEMU"],
                             capture_output=True, text=True).stdout.split()
        if out:
            return out[0]
        if time.time() > deadline:
            raise RuntimeError("no QEMU window on %s" % os.environ.get("DISPLAY"))
        time.sleep(0.2)


def resize_window(size):
    """Resizes QEMU's window to WxH (`@@VGRS resize`); gtk then sends the guest the size of
    its drawing area, which is the window less QEMU's menu bar."""
    m = re.fullmatch(r"(\d+)x(\d+)", size.strip())
    if not m:
        raise ValueError("want WxH, got %r" % size)
    win = find_window()
    subprocess.run(["xdotool", "windowsize", win, m.group(1), m.group(2)], check=True,
                   capture_output=True)
    return "resized %sx%s" % (m.group(1), m.group(2))


def screendump(qmp, outdir, name, head, x_screen=False):
    ppm_path = os.path.join(outdir, name + ".ppm")
    if x_screen:
        # QMP screendump blocks with a GL display: take the X screen QEMU's window is on.
        with open(ppm_path, "wb") as out:
            xwd = subprocess.Popen(["xwd", "-root", "-silent"], stdout=subprocess.PIPE)
            topnm = subprocess.Popen(["xwdtopnm"], stdin=xwd.stdout, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
            # 8 bits per channel (xwdtopnm writes 16 for a 24-bit screen).
            subprocess.run(["pamdepth", "255"], stdin=topnm.stdout, stdout=out,
                           stderr=subprocess.DEVNULL, check=True)
            if topnm.wait() != 0:
                raise RuntimeError("xwdtopnm failed")
            if xwd.wait() != 0:
                raise RuntimeError("xwd failed")
        img = ppm.read_ppm(ppm_path)
        png_path = os.path.join(outdir, name + ".png")
        ppm.write_png(img, png_path)
        return png_path, img
    kw = {"filename": ppm_path, "device": "gpu0"}
    if head is not None:
        kw["head"] = head
    qmp.execute("screendump", **kw)
    img = ppm.read_ppm(ppm_path)
    png_path = os.path.join(outdir, name + ".png")
    ppm.write_png(img, png_path)
    return png_path, img


def query(kind, words, images, trace_file, trace_pos):
    """Answers a guest's compare/look/pixel/trace request (one line)."""
    words = " ".join(words).split()
    if kind == "compare":
        a, b = images[words[0]], images[words[1]]
        rows = a.diff_rows(b)
        if not rows:
            return "same %dx%d" % (a.width, a.height)
        return "differ %d rows %d-%d %dx%d" % (len(rows), rows[0], rows[-1], a.width, a.height)
    if kind == "look":
        img = images[words[0]]
        return "look %dx%d colours %d %s" % (img.width, img.height, img.distinct_colours(),
                                            "blank" if img.is_blank() else "picture")
    if kind == "pixel":
        img = images[words[0]]
        x, y = int(words[1]), int(words[2])
        return "pixel %d %d %d" % img.pixel(x, y)
    if kind == "share":
        return "share %d %d %d %dx%d" % colour_share(images[words[0]], words[1], words[2])
    # trace: the lines QEMU wrote since the last request (QEMU flushes its log per line).
    lines = []
    if os.path.exists(trace_file):
        with open(trace_file, errors="replace") as f:
            f.seek(trace_pos[0])
            data = f.read()
            trace_pos[0] = f.tell()
        lines = [re.sub(r"^\d+@[\d.]+:", "", ln).strip() for ln in data.splitlines() if ln]
    return "trace %d %s" % (len(lines), " | ".join(lines))


def hex_rgb(text):
    """(r, g, b) of an RRGGBB hex colour."""
    v = int(text, 16)
    return ((v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff)


def colour_share(img, bg, fg):
    """(permille of pixels of colour `bg`, pixels of colour `fg`, other pixels, w, h)."""
    total = img.width * img.height
    nbg = img.count_colour(hex_rgb(bg))
    nfg = img.count_colour(hex_rgb(fg))
    return (nbg * 1000 // max(total, 1), nfg, total - nbg - nfg, img.width, img.height)


def panic_screen(qmp, outdir, name, bg, fg, images, dumps, timeout=60, x_screen=False):
    """Screendumps until one shows a panic screen: (status, detail) of the check."""
    deadline = time.time() + timeout
    last = "no screendump taken"
    n = 0
    while time.time() < deadline:
        n += 1
        try:
            png, img = screendump(qmp, outdir, name, None, x_screen)
        except Exception as e:  # the guest may still be drawing; try again
            last = "screendump failed: %s" % e
            time.sleep(1)
            continue
        images[name] = img
        permille, nfg, other, w, h = colour_share(img, bg, fg)
        last = ("%dx%d: %d.%d%% background #%s, %d text pixels #%s, %d other pixels "
                "(dump %d, %s)" % (w, h, permille // 10, permille % 10, bg, nfg, fg, other, n,
                                   os.path.basename(png)))
        if permille >= 500 and nfg >= 500:
            if png not in dumps:
                dumps.append(png)
            return "PASS", "panic screen after the panic: " + last
        time.sleep(1)
    return "FAIL", "no panic screen (want at least 50% background and 500 text pixels): " + last


def compare_dumps(images, a, b):
    """Compares screendumps `a` and `b`: (status, detail) of the check."""
    for name in (a, b):
        if name not in images:
            return "FAIL", "no screendump named %s" % name
    ia, ib = images[a], images[b]
    if (ia.width, ia.height) != (ib.width, ib.height):
        return "FAIL", "size differs: %s %dx%d, %s %dx%d" % (a, ia.width, ia.height,
                                                           b, ib.width, ib.height)
    for name, img in ((a, ia), (b, ib)):
        if img.is_blank():
            return "FAIL", "%s is blank (one colour: %r)" % (name, img.pixel(0, 0))
    rows = ia.diff_rows(ib)
    if rows:
        pixels = sum(1 for y in rows for x in range(ia.width) if ia.pixel(x, y) != ib.pixel(x, y))
        return "FAIL", "%d pixels in %d rows differ (first row %d)" % (pixels, len(rows), rows[0])
    return "PASS", "%dx%d pixel-identical, %d colours" % (ia.width, ia.height,
                                                         ia.distinct_colours())


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kdir", required=True, help="kernel build dir (its bzImage is booted)")
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--scenario", required=True, help="guest scenario (qemu/guest/<name>.sh)")
    ap.add_argument("--outdir", required=True, help="log, screendumps and results go here")
    ap.add_argument("--timeout", type=int, default=600, help="hard limit in seconds")
    ap.add_argument("--mem", default="2G")
    ap.add_argument("--smp", type=int, default=2, choices=range(1, 9), metavar="N",
                    help="vCPUs (default 2); tools/profile.sh boots one: on two, TCG ran a "
                    "CPU into a breakpoint ftrace had already taken out of the kernel text")
    ap.add_argument("--heads", type=int, default=1)
    ap.add_argument("--slots", type=int, default=0,
                    help="N virtio-gpu-pci devices, each in a hot-pluggable PCIe slot of its "
                    "own (for `@@VGRS unplug/plug`); not with --gl or --heads")
    ap.add_argument("--display", default="none", help="QEMU display: none, gtk, sdl, ...")
    ap.add_argument("--xvfb", action="store_true",
                    help="run QEMU with the gtk UI under xvfb-run (for `@@VGRS resize`)")
    ap.add_argument("--gl", action="store_true",
                    help="the 3D device (virtio-vga-gl, virgl) with a GL display under Xvfb; "
                    "screendumps are pictures of the X screen")
    ap.add_argument("--append", default="", help="extra kernel command line")
    ap.add_argument("--tsc", action="store_true",
                    help="give the guest the host's TSC rate (tsc_early_khz) and keep the TSC "
                    "as its clock (tsc=reliable): under TCG it otherwise falls back to "
                    "jiffies, 4 ms a tick (benchmarks of latencies)")
    ap.add_argument("--share", help="a directory the guest gets read-only over 9p, linked "
                    "into its root at the same paths (qemu/mkinitramfs.sh's OUT-gl: Mesa, "
                    "for a boot from OUT-lite.cpio)")
    ap.add_argument("--trace", action="append", default=[], help="QEMU trace event pattern")
    ap.add_argument("--kvm", action="store_true", help="use KVM (hangs on some hosts)")
    ap.add_argument("--summary", action="store_true", help="print a summary for `make run`")
    ap.add_argument("--quiet", action="store_true", help="do not echo the guest console")
    args = ap.parse_args()

    kernel = os.path.join(args.kdir, "arch/x86/boot/bzImage")
    for path, what in ((kernel, "kernel image"), (args.initrd, "initramfs")):
        if not os.path.exists(path):
            sys.exit("run: %s %s missing: run 'make kernel' / 'make initramfs'" % (what, path))
    os.makedirs(args.outdir, exist_ok=True)
    log_path = os.path.join(args.outdir, "console.log")
    trace_file = os.path.join(args.outdir, "qemu-trace.log")
    if os.path.exists(trace_file):
        os.unlink(trace_file)
    tmp = tempfile.mkdtemp(prefix="vgrs-qmp-")
    qmp_path = os.path.join(tmp, "qmp.sock")
    if args.gl:
        args.xvfb = True
        if not shutil.which("xwd"):
            sys.exit("run: --gl needs xwd (make deps)")
    if args.xvfb:
        if args.display == "none":
            args.display = "gtk"
        # Under its own X server, run.py talks to it with xdotool: QEMU inherits DISPLAY and
        # XAUTHORITY from xvfb-run, so run QEMU through a shell that prints them first.
        for tool in ("xvfb-run", "xdotool"):
            if not shutil.which(tool):
                sys.exit("run: --xvfb needs %s (make deps)" % tool)
    if args.slots and (args.gl or args.heads > 1):
        sys.exit("run: --slots takes plain virtio-gpu-pci devices: not with --gl or --heads")
    cmd = qemu_command(args, kernel, qmp_path, trace_file)
    if args.xvfb:
        cmd = ["xvfb-run", "-a", "-s", "-screen 0 1920x1200x24", "sh", "-c",
               'echo "@@VGRS xdisplay $DISPLAY $XAUTHORITY"; exec "$@"', "qemu"] + cmd
    with open(os.path.join(args.outdir, "qemu-cmd.txt"), "w") as f:
        f.write(" ".join(cmd) + "\n")

    print("run: booting %s (%s, scenario '%s', timeout %d s; console log %s)"
          % (os.path.basename(kernel), "KVM" if args.kvm else "TCG", args.scenario,
             args.timeout, log_path), flush=True)
    start = time.time()
    # In its own process group, so a timeout also ends QEMU and Xvfb under xvfb-run.
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, bufsize=0, start_new_session=args.xvfb)
    timed_out = threading.Event()

    def kill_on_timeout():
        if proc.poll() is None:
            timed_out.set()
            if args.xvfb:
                os.killpg(proc.pid, 9)
            else:
                proc.kill()

    timer = threading.Timer(args.timeout, kill_on_timeout)
    timer.start()

    results, info, dumps = [], {}, []
    images, trace_pos = {}, [0]
    done = panicked = panic_judged = False
    expect_panic = None
    qmp = None
    # times.txt: when each result and log line came, in seconds since QEMU started (where a
    # scenario's time goes; the CI budget is spent in these boots).
    times = open(os.path.join(args.outdir, "times.txt"), "w")

    def stamp(text):
        times.write("%7.1f %s\n" % (time.time() - start, text))
        times.flush()

    with open(log_path, "w", errors="replace") as log:
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            log.write(line + "\n")
            log.flush()
            if PANIC.search(line) and expect_panic and "Kernel panic" in line:
                # The panic the guest announced: judge the screen, then end the run.
                name, bg, fg = expect_panic
                expect_panic = None
                try:
                    if qmp is None:
                        qmp = Qmp(qmp_path)
                    status, detail = panic_screen(qmp, args.outdir, name, bg, fg, images,
                                                  dumps, x_screen=args.gl)
                except Exception as e:
                    status, detail = "FAIL", "could not check the screen: %s" % e
                results.append((status, "panic." + name, detail))
                print("%s panic.%s: %s" % (status, name, detail), flush=True)
                done = panic_judged = True
                kill_on_timeout()
                timed_out.clear()
                continue
            if PANIC.search(line) and not USER_TRAP.search(line) and not panic_judged:
                panicked = True
            idx = line.find(MARK)
            if idx < 0:
                if not args.quiet:
                    print("  | " + line, flush=True)
                continue
            words = line[idx + len(MARK):].split(" ", 3)
            kind = words[0]
            if kind == "result" and len(words) >= 3:
                status, name = words[1], words[2]
                detail = words[3] if len(words) > 3 else ""
                results.append((status, name, detail))
                stamp("%s %s" % (status, name))
                print("%s %s%s" % (status, name, (": " + detail) if detail else ""), flush=True)
            elif kind == "info" and len(words) >= 3:
                info[words[1]] = " ".join(words[2:])
            elif kind == "dump" and len(words) >= 2:
                name = words[1]
                head = int(words[2]) if len(words) > 2 and words[2].strip() else None
                try:
                    if qmp is None:
                        qmp = Qmp(qmp_path)
                    png, img = screendump(qmp, args.outdir, name, head, args.gl)
                    dumps.append(png)
                    images[name] = img
                    answer = "dumped %s %dx%d" % (name, img.width, img.height)
                except Exception as e:  # report to the guest, which fails its check
                    answer = "dumpfail %s %s" % (name, str(e).replace("\n", " "))
                    print("run: screendump %s failed: %s" % (name, e), flush=True)
                proc.stdin.write((answer + "\n").encode())
                proc.stdin.flush()
            elif kind == "expect-panic" and len(words) >= 4:
                expect_panic = (words[1], words[2], words[3].strip())
            elif kind in ("compare", "look", "pixel", "trace", "share") and len(words) >= 2:
                try:
                    answer = query(kind, words[1:], images, trace_file, trace_pos)
                except Exception as e:  # the guest fails its check on "error"
                    answer = "error %s" % str(e).replace("\n", " ")
                proc.stdin.write((answer + "\n").encode())
                proc.stdin.flush()
            elif kind == "match" and len(words) >= 3:
                a, b = words[1], words[2]
                status, detail = compare_dumps(images, a, b)
                name = "match.%s.%s" % (a, b)
                results.append((status, name, detail))
                print("%s %s: %s" % (status, name, detail), flush=True)
                answer = "%s %s" % ("same" if status == "PASS" else "differ", detail)
                proc.stdin.write((answer + "\n").encode())
                proc.stdin.flush()
            elif kind in ("unplug", "plug") and len(words) >= 2:
                try:
                    if qmp is None:
                        qmp = Qmp(qmp_path)
                    answer = slot_request(qmp, kind, words[1].strip(), args.slots)
                except Exception as e:  # the guest reports QEMU's refusal
                    answer = "error %s" % str(e).replace("\n", " ")
                stamp("%s %s: %s" % (kind, words[1].strip(), answer))
                proc.stdin.write((answer + "\n").encode())
                proc.stdin.flush()
            elif kind == "xdisplay" and len(words) >= 3:
                # From the xvfb-run wrapper, before QEMU starts: where the window will be.
                os.environ["DISPLAY"] = words[1]
                os.environ["XAUTHORITY"] = " ".join(words[2:]).strip()
            elif kind == "resize" and len(words) >= 2:
                try:
                    answer = resize_window(words[1])
                except Exception as e:  # the guest fails its check on "error"
                    answer = "error %s" % str(e).replace("\n", " ")
                    print("run: resize failed: %s" % e, flush=True)
                proc.stdin.write((answer + "\n").encode())
                proc.stdin.flush()
            elif kind == "log":
                stamp("log " + line[idx + len(MARK) + 4:])
                print("  | " + line[idx + len(MARK) + 4:], flush=True)
            elif kind == "done":
                done = True
            elif not args.quiet:
                print("  | " + line, flush=True)
    proc.wait()
    timer.cancel()
    elapsed = time.time() - start
    stamp("end")
    times.close()
    if qmp is not None:
        qmp.sock.close()

    failed = [r for r in results if r[0] == "FAIL"]
    if args.summary:
        print("\n==== summary ====")
        for key in sorted(info):
            print("%-22s %s" % (key + ":", info[key]))
        for png in dumps:
            print("%-22s %s" % ("screenshot:", png))
        print("%-22s %s" % ("console log:", log_path))
        print("%-22s %.1f s" % ("guest run time:", elapsed))
    if timed_out.is_set():
        print("run: TIMEOUT after %d s; the guest did not finish (see %s)" % (args.timeout,
                                                                              log_path))
        return 2
    if panicked:
        print("run: the guest kernel crashed (see %s)" % log_path)
        return 2
    if not done:
        print("run: the guest stopped before finishing its scenario (see %s)" % log_path)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
