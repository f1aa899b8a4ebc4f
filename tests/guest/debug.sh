# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "debug" (`make check-debug`): the scenarios of `make check` that need no
# second head or window (probe, uapi, kms, PCI removal under clients, panic; display without
# kmscube with vgrs.debug_full) plus the queue teardown stress and allocation failures
# injected into the driver's ioctls (fault) and the ioctl fuzzer (fuzz, the seeds on the command line), on one
# driver (vgrs.drivers=rs or c: each driver has a boot of its own, because lockdep stops after
# its first report), under the debug kernel's detectors; then kmemleak. Every scenario checks
# the kernel log with `problems`, which knows the detectors' reports.

# vgrs.canary=1: the KASAN canary first (its report is expected; every scenario below clears
# the kernel log before it starts, and KASAN keeps reporting with kasan_multi_shot).
if grep -q 'vgrs\.canary=1' /proc/cmdline; then
	. /guest/kasan-canary.sh
fi
[ -e /sys/kernel/debug/kmemleak ] && echo clear >/sys/kernel/debug/kmemleak
# Everything is several times slower under KASAN and TCG: no kmscube (it renders in software
# in the guest, under a frame a second here; `make check` runs it) and fewer create/destroy
# cycles.
export KMSCUBE_FRAMES=0
export VGRS_CYCLES=200
# The C driver has no panic hooks and no teardown knob: those two are ours alone. The display
# scenario (screendumps, the console) only with vgrs.debug_full (`make check-debug FULL=1`),
# which .ci/run leaves out for time.
scenarios="probe uapi kms unplug panic teardown fault fuzz"
grep -q 'vgrs\.debug_full' /proc/cmdline && scenarios="probe uapi kms display unplug panic teardown fault fuzz"
[ "$(selected_drivers drivers)" = c ] && scenarios="probe uapi kms display unplug fault fuzz"
# vgrs.debug_scenarios=a,b: these instead (the hot-unplug boot: hotunplug, on a q35 machine).
scenarios=$(param debug_scenarios "$scenarios")
for s in $scenarios; do
	echo "@@VGRS log debug: scenario $s (guest uptime $(cut -d" " -f1 /proc/uptime) s)"
	. "/guest/$s.sh"
done

echo "@@VGRS log debug: kmemleak (guest uptime $(cut -d" " -f1 /proc/uptime) s)"
kmemleak_each
