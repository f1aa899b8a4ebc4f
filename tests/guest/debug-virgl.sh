# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "debug-virgl" (`make check-debug`, `qemu/run.py --gl`): the 3D scenario
# (virgl: capsets, contexts, EXECBUFFER with fences and syncobjs, bad submissions, PRIME,
# closing with work in flight, unbinding while kmscube renders through virgl and binding
# again, a fence outliving unbind) under the debug kernel's detectors, on one driver
# (vgrs.drivers=rs), then kmemleak. With vgrs.virgl_quick the separate kmscube and glmark2
# runs are left to make check, for time.

[ -e /sys/kernel/debug/kmemleak ] && echo clear >/sys/kernel/debug/kmemleak
. /guest/virgl.sh
# Allocation failures in the 3D ioctls too (vgrs.fault_virgl).
. /guest/fault.sh
kmemleak_each
