# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "debug-virgl" (`make check-debug`, `qemu/run.py --gl`): the 3D scenario
# (virgl: capsets, contexts, EXECBUFFER with fences and syncobjs, bad submissions, kmscube and
# glmark2 through virgl, a fence outliving unbind) under the debug kernel's detectors, on one
# driver (vgrs.drivers=rs), then kmemleak.

[ -e /sys/kernel/debug/kmemleak ] && echo clear >/sys/kernel/debug/kmemleak
. /guest/virgl.sh
kmemleak_each
