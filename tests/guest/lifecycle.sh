# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "lifecycle" (`make fuzz`, the long robustness runs): the module loaded and
# unloaded N times (vgrs.cycles=N, default 100), each time with the device used in between
# (modetest lists the new device's connectors and modes), then kmemleak where the kernel has
# it (the debug kernel).
# Per driver; ours fails on any kernel report, the C driver's are NOTEs.

cycles=$(param number cycles 100)

# lifecycle_driver LABEL MODULE STRICT
lifecycle_driver() {
	local label=$1 module=$2 strict=$3 i=0 why="" t0 t1
	dmesg -c >/dev/null
	[ -e /sys/kernel/debug/kmemleak ] && echo clear >/sys/kernel/debug/kmemleak
	t0=$(cut -d' ' -f1 /proc/uptime)
	while [ "$i" -lt "$cycles" ]; do
		i=$((i + 1))
		if ! bounded 30 modprobe "$module" 2>/tmp/err; then
			why="cycle $i: modprobe failed or hung: $(cat /tmp/err)"
			break
		fi
		if ! wait_for /dev/dri/card0 10; then
			why="cycle $i: no card0"
			break
		fi
		# One open file using the device: a dumb buffer created, mapped, destroyed.
		if ! bounded 30 modetest -M virtio_gpu -c >/dev/null 2>&1; then
			why="cycle $i: modetest -c failed"
			break
		fi
		if ! bounded 30 modprobe -r "$module" 2>/tmp/err; then
			why="cycle $i: modprobe -r failed or hung: $(cat /tmp/err)"
			break
		fi
		if [ -n "$(kernel_problems)" ]; then
			why="cycle $i: $(kernel_problems | head -n1)"
			break
		fi
	done
	t1=$(cut -d' ' -f1 /proc/uptime)
	verdict "$label.lifecycle" "$strict" "$why" "$cycles load, use, unload cycles in $(awk "BEGIN { printf \"%.0f\", $t1 - $t0 }") s, no kernel report"
	module_loaded "$module" && bounded 30 modprobe -r "$module"
	[ -e /sys/kernel/debug/kmemleak ] && kmemleak_check "$label" "$strict"
	show_dmesg "$label"
}

each_driver lifecycle lifecycle_driver
