#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest init: mounts the pseudo file systems, runs the scenario named on the kernel command
# line (vgrs.scenario=NAME runs /guest/NAME.sh; NAME,NAME2 runs both) and powers off. Results go to the serial
# console as @@VGRS lines that qemu/run.py reads.

/bin/busybox mkdir -p /proc /sys /dev /tmp /run
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug
# Kernel messages stay in the ring buffer (the scenarios check and print them); only
# emergencies reach the console, so the @@VGRS lines are not torn by printk output.
# vgrs.verbose on the kernel command line keeps kernel messages on the console (debugging).
grep -q vgrs.verbose /proc/cmdline || dmesg -n 1
stty -echo 2>/dev/null
export PATH=/usr/bin:/usr/sbin:/bin:/sbin HOME=/tmp
# Mesa's llvmpipe (kmscube and the console tests in software) picks 256-bit AVX2 code on
# QEMU's `-cpu max`, which TCG emulates slowly: 1.6 frames/s at 1280x800, against 5-9 with
# 128-bit SSE code (measured 2026-11-29, display scenario 77 s -> 54 s). The guest renders
# the same pictures either way; the virgl device's rendering happens on the host.
export LP_NATIVE_VECTOR_WIDTH=128
# vgrs.share (qemu/run.py --share): the files left out of the lite image (Mesa, glmark2's
# data) come over 9p, read-only, and are linked in at their paths. The kernel then does not
# unpack 200 MB before /init (about 45 s under the debug kernel); a program reads only the
# pages it maps. Not for boots that suspend: 9p has no freeze/restore.
if grep -q 'vgrs\.share' /proc/cmdline; then
	mkdir -p /share
	if mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 vgrs-share /share; then
		(cd /share && find . ! -type d) | while read -r f; do
			f=${f#.}
			mkdir -p "${f%/*}"
			ln -s "/share$f" "$f"
		done
	else
		echo "@@VGRS result FAIL share could not mount the 9p share vgrs-share"
	fi
fi
depmod

. /guest/lib.sh
builtin_boot
# vgrs.scenario=A,B runs A then B in the same boot (saves a boot's time in make check).
for scenario in $(param scenario); do
	if [ -f "/guest/$scenario.sh" ]; then
		. "/guest/$scenario.sh"
	else
		result FAIL scenario "no guest scenario '$scenario'"
	fi
done
echo "@@VGRS done"
sync
reboot -f
