# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "unplug". Per driver, the PCI device removed while clients use it, as igt's
# core_hotunplug does it (sysfs PCI `remove`, then a bus `rescan`): the virtio PCI transport
# goes away under the driver, which is what a hot-unplug does to it. (The real PCIe
# hot-unplug through QMP device_del is the hotunplug scenario.)
#
#   unplug     kmscube renders (software, page flips; under the debug kernel the scanout
#              client vgrs-kms-test --show instead) and a second program holds the DRM fd
#              and a mapped dumb buffer; the PCI device is removed (the driver's remove runs
#              under the clients): kmscube ends by itself, the holder's mapping still reads
#              back and its ioctls fail with ENODEV, /dev/dri/card0 goes away, no warning
#   replug     a PCI rescan finds the device again: the still-loaded driver binds it and
#              shows a picture (the four bars, pixel-exact)
#   unload     the module unloads afterwards, no kernel warning (kmemleak under check-debug)

# unplug_driver LABEL MODULE STRICT
unplug_driver() {
	local label=$1 module=$2 strict=$3 dev pci
	dmesg -c >/dev/null
	load "$label" "$module" || return
	dev=$(gpu_dev) || { result FAIL "$label.unplug" "no virtio-gpu device"; return; }
	pci=$(readlink -f "/sys/bus/virtio/devices/$dev/..")
	unplug_under_clients "$label" unplug "$strict" /dev/dri/card0 10 \
		"PCI $(basename "$pci") removed" bounded 60 sh -c "echo 1 > $pci/remove"
	show_dmesg "$label"
	# Back in its slot: the driver binds it again (it stayed loaded) and shows a picture.
	if ! bounded 60 sh -c "echo 1 > /sys/bus/pci/rescan" 2>/tmp/err; then
		result FAIL "$label.replug" "PCI rescan failed or hung: $(cat /tmp/err)"
	elif wait_for /dev/dri/card0 30; then
		result PASS "$label.replug" "PCI rescan: $(basename "$pci") found again, bound to $module"
		if show_start; then
			check_bars "$label" "$label-replug" "" 0
		else
			result FAIL "$label.replug-show" "vgrs-kms-test --show: $(cat /tmp/show.err)"
		fi
		show_stop
	else
		result FAIL "$label.replug" "no /dev/dri/card0 within 30 s of the PCI rescan"
	fi
	unload "$label" "$module"
	problems "$label" unplug-clean "$strict" "no kernel warnings over unplug, replug and unload"
	show_dmesg "$label"
}

each_driver unplug unplug_driver

# The device stops answering (ours only: the C driver waits forever, and has no knob to make
# a device stop). debugfs vgrs_drop_responses drops every answer from now on; cmd_timeout_ms
# is cut to 2 s.
#   wedge        the scanout client ends (its buffer's detach and unref wait for answers that
#                never come): it must end within the timeout plus margin, not hang; the log
#                says the device was reset after 2000 ms
#   wedged-errs  a new client gets an error at once (the queues are dead), not a hang
#   wedge-rebind answers again, an unbind and a bind set the device up afresh: the four bars
#   wedge-clean  no kernel warning, hung task or leak; the module unloads
wedge_rs() {
	local label=rs module=virtio_gpu_rs knob dev t0 secs rc why=""
	dmesg -c >/dev/null
	load "$label" "$module" || return
	dev=$(gpu_dev) || { result FAIL "$label.wedge" "no virtio-gpu device"; return; }
	knob=$(ls /sys/kernel/debug/dri/*/vgrs_drop_responses 2>/dev/null | head -n 1)
	if [ -z "$knob" ]; then
		result FAIL "$label.wedge" "no vgrs_drop_responses in /sys/kernel/debug/dri/*"
		unload "$label" "$module"
		return
	fi
	echo 2000 >/sys/module/$module/parameters/cmd_timeout_ms
	show_start || why="the scanout client did not start: $(cat /tmp/show.err); "
	echo 1000000 >"$knob"
	t0=$(date +%s)
	exec 4>&-
	wait_pid 30 "$show_pid"
	rc=$?
	secs=$(($(date +%s) - t0))
	[ "$rc" = 124 ] && why="${why}the scanout client still ran 30 s after the device stopped answering; "
	dmesg | grep -q 'did not answer a command in 2000 ms' ||
		why="${why}no reset in the log; "
	dmesg | grep -q 'an answer of the device dropped' || why="${why}no answer was dropped; "
	if [ -z "$why" ]; then
		result PASS "$label.wedge" "every answer dropped: the client ended in ${secs} s (exit $rc), the device was reset after 2000 ms without an answer"
	else
		result FAIL "$label.wedge" "$why"
	fi
	bounded 20 vgrs-kms-test --show </dev/null >/tmp/w.out 2>/tmp/w.err
	rc=$?
	case $rc in
	0) result FAIL "$label.wedged-errs" "a new client showed a picture on a reset device" ;;
	124) result FAIL "$label.wedged-errs" "a new client hung on the reset device" ;;
	*) result PASS "$label.wedged-errs" "a new client failed at once (exit $rc): $(tail -n 1 /tmp/w.err)" ;;
	esac
	echo 0 >"$knob"
	echo 20000 >/sys/module/$module/parameters/cmd_timeout_ms
	if bounded 30 sh -c "echo $dev > /sys/bus/virtio/drivers/$module/unbind" &&
		bounded 30 sh -c "echo $dev > /sys/bus/virtio/drivers/$module/bind" &&
		wait_for /dev/dri/card0 10; then
		if show_start; then
			check_bars "$label" wedge-rebind "" 0
		else
			result FAIL "$label.wedge-rebind" "vgrs-kms-test --show: $(cat /tmp/show.err)"
		fi
		show_stop
	else
		result FAIL "$label.wedge-rebind" "unbind and bind of $dev failed or hung"
	fi
	unload "$label" "$module"
	problems "$label" wedge-clean 1 "no kernel warning, hung task or leak over the reset, rebind and unload"
	show_dmesg "$label"
}

case " $(selected_drivers unplug) " in
*" rs "*) wedge_rs ;;
esac
