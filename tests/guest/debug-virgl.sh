# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "debug-virgl" (`make check-debug`, `qemu/run.py --gl`): the 3D scenario
# (virgl: capsets, contexts, EXECBUFFER with fences and syncobjs, bad submissions, PRIME,
# closing with work in flight, unbinding while kmscube renders through virgl and binding
# again, a fence outliving unbind) under the debug kernel's detectors, on one driver
# (vgrs.drivers=rs), then the fuzzer on the 3D device, then kmemleak. With vgrs.virgl_quick the
# separate kmscube and glmark2 runs are left to make check, for time. With vgrs.fault_virgl
# (`make check-debug FULL=1`, not in .ci/run) allocation failures in the 3D ioctls as well.

[ -e /sys/kernel/debug/kmemleak ] && echo clear >/sys/kernel/debug/kmemleak
echo "@@VGRS log debug-virgl: virgl (guest uptime $(cut -d" " -f1 /proc/uptime) s)"
. /guest/virgl.sh
if grep -q 'vgrs\.fault_virgl' /proc/cmdline; then
	echo "@@VGRS log debug-virgl: fault (guest uptime $(cut -d" " -f1 /proc/uptime) s)"
	. /guest/fault.sh
fi
# The fuzzer on the 3D device, one seed (vgrs.fuzz_seeds): 3000 ioctls across an unbind and a
# bind and a PCI removal and rescan, then kmscube through virgl.
echo "@@VGRS log debug-virgl: fuzz (guest uptime $(cut -d" " -f1 /proc/uptime) s)"
. /guest/fuzz.sh
echo "@@VGRS log debug-virgl: kmemleak (guest uptime $(cut -d" " -f1 /proc/uptime) s)"
kmemleak_each
