# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "hotplug": display resize through the virtio-gpu config-change event. Needs
# `qemu/run.py --xvfb` (QEMU's gtk UI under Xvfb): the guest asks the runner to resize QEMU's
# window (`@@VGRS resize WxH`), gtk tells virtio-gpu the new size of its drawing area, QEMU
# sets VIRTIO_GPU_EVENT_DISPLAY and raises a config-change interrupt. The driver must re-read
# the display info (and EDIDs), clear the event and send a hotplug uevent, after which the
# fbdev client re-probes the connector on its own.
#
# Per driver, ours (virtio_gpu_rs, label rs) first and the C virtio_gpu (label c) as the
# control: load it, then two resizes. Each one must bring a HOTPLUG=1 uevent and a new
# preferred mode in `modetest -c` at the new size (the window's width, its height less gtk's
# menu bar). The first one grows the display; the second one shrinks it again, and there,
# before modetest probes, the connector's mode list in sysfs (which only a probe updates) must
# change on its own from what modetest's last probe left (the grown mode first): the fbdev
# client re-probed, as it does on a hotplug event. It probes with its framebuffer's size
# (set at load, 640x480 here) as the limit, so its list starts with a smaller mode. gtk does
# not shrink the window below the guest's scanout (fbdev's 640x480), so neither does the test.
# Then the device is unbound around the moment a display event comes in (the config-change
# work queued or running: it must be cancelled or finished before the queues go), and bound
# again, three times; after the last bind the preferred mode must be the last size asked for.
# Then unload and check the kernel log.

HP_CONN=Virtual-1
HP_SYSFS=/sys/class/drm/card0-$HP_CONN

# hp_preferred: the preferred mode of $HP_CONN according to `modetest -c` (which probes).
hp_preferred() {
	modetest -M virtio_gpu -c 2>/dev/null | awk -v c="$HP_CONN" '
		$3 == "connected" || $3 == "disconnected" { inconn = ($4 == c) }
		inconn && /type: .*preferred/ { print $2; exit }'
}

# hp_sysfs_first: the first mode in the connector's sysfs list (the preferred one after a
# probe), without probing.
hp_sysfs_first() {
	head -n1 "$HP_SYSFS/modes" 2>/dev/null
}

# hp_uevents: how many HOTPLUG=1 uevents of card0 the listener has seen.
hp_uevents() {
	grep -c 'change dri/card0 HOTPLUG=1' /tmp/uevents 2>/dev/null || true
}

# hp_resize LABEL STEP WIDTH HEIGHT SYSFS: asks for a WIDTHxHEIGHT window and checks the
# uevent, (SYSFS=1) the fbdev client's re-probe, and the new preferred mode.
hp_resize() {
	local label=$1 step=$2 w=$3 h=$4 sysfs=$5 before first0 first ev0 ev ans after n got_w got_h
	before=$(hp_preferred)
	first0=$(hp_sysfs_first)
	ev0=$(hp_uevents)
	ans=$(ask resize "${w}x${h}")
	case "$ans" in
	resized*) ;;
	*)
		result FAIL "$label.$step-uevent" "runner could not resize the window: $ans"
		return 1
		;;
	esac
	# QEMU passes a new UI size on after a short delay; TCG is slow: up to 30 s.
	n=0
	ev=$(hp_uevents)
	while [ "${ev:-0}" -le "${ev0:-0}" ] && [ "$n" -lt 300 ]; do
		sleep 0.1
		n=$((n + 1))
		ev=$(hp_uevents)
	done
	if [ "${ev:-0}" -gt "${ev0:-0}" ]; then
		result PASS "$label.$step-uevent" "$((ev - ev0)) HOTPLUG=1 uevent(s) for card0 within $((n / 10)).$((n % 10)) s of the resize to ${w}x${h}"
	else
		result FAIL "$label.$step-uevent" "no HOTPLUG=1 uevent for card0 within 30 s of the resize to ${w}x${h}"
	fi
	if [ "$sysfs" = 1 ]; then
		n=0
		first=$(hp_sysfs_first)
		while { [ -z "$first" ] || [ "$first" = "$first0" ]; } && [ "$n" -lt 100 ]; do
			sleep 0.1
			n=$((n + 1))
			first=$(hp_sysfs_first)
		done
		if [ -n "$first" ] && [ "$first" != "$first0" ]; then
			result PASS "$label.$step-reprobe" "the connector was probed without userspace asking (fbdev client): sysfs first mode $first0 -> $first"
		else
			result FAIL "$label.$step-reprobe" "sysfs first mode still '$first' 10 s after the uevent: nothing re-probed the connector"
		fi
	fi
	# A second event may still be on its way (gtk resizes in steps): wait for the mode.
	n=0
	after=$(hp_preferred)
	while [ "${after%x*}" != "$w" ] && [ "$n" -lt 20 ]; do
		sleep 0.5
		n=$((n + 1))
		after=$(hp_preferred)
	done
	got_w=${after%x*}
	got_h=${after#*x}
	# The drawing area is the window less gtk's menu bar: same width, a little less height.
	if [ "$got_w" = "$w" ] && [ "${got_h:-0}" -le "$h" ] && [ "${got_h:-0}" -ge $((h - 100)) ]; then
		result PASS "$label.$step-mode" "window ${w}x${h}: preferred mode $before -> $after"
		info "$label.$step" "$before -> $after (window ${w}x${h})"
	else
		result FAIL "$label.$step-mode" "window ${w}x${h}: preferred mode $before -> '$after', want ${w}x(${h} less the menu bar)"
	fi
}

# hp_unbind_race LABEL MODULE: resize, unbind 0.5/0.7/0.9 s later (QEMU sends the event about
# 0.8 s after the resize), bind again.
hp_unbind_race() {
	local label=$1 module=$2 dev d w=1024 h=740 bad="" n after
	dev=$(gpu_dev)
	for d in 5 7 9; do
		w=$((w - 32))
		ask resize "${w}x${h}" >/dev/null
		sleep "0.$d"
		if ! bounded 30 sh -c "echo $dev >/sys/bus/virtio/drivers/$module/unbind"; then
			bad="$bad unbind after 0.$d s failed or hung;"
			break
		fi
		if ! bounded 30 sh -c "echo $dev >/sys/bus/virtio/drivers/$module/bind" \
			|| ! wait_for /dev/dri/card0 5; then
			bad="$bad bind after 0.$d s failed;"
			break
		fi
	done
	n=0
	after=$(hp_preferred)
	while [ -z "$bad" ] && [ "${after%x*}" != "$w" ] && [ "$n" -lt 20 ]; do
		sleep 0.5
		n=$((n + 1))
		after=$(hp_preferred)
	done
	if [ -z "$bad" ] && [ "${after%x*}" = "$w" ]; then
		result PASS "$label.unbind-during-event" "3 unbind/bind cycles 0.5-0.9 s after a resize; then preferred mode $after (window ${w}x${h})"
	else
		result FAIL "$label.unbind-during-event" "${bad:-preferred mode '$after' after rebinding, want width $w}"
	fi
}

# hp_driver LABEL MODULE STRICT GROW_W GROW_H SHRINK_W SHRINK_H
hp_driver() {
	local label=$1 module=$2 strict=$3 n uev_pid
	dmesg -c >/dev/null
	load "$label" "$module" || return
	# The fbdev client probes once at registration; wait for it.
	n=0
	while [ -z "$(hp_sysfs_first)" ] && [ "$n" -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	rm -f /tmp/uevents
	uevent sh -c 'echo "$ACTION $DEVNAME HOTPLUG=$HOTPLUG" >>/tmp/uevents' &
	uev_pid=$!
	sleep 0.5
	if hp_resize "$label" grow "$4" "$5" 0; then
		hp_resize "$label" shrink "$6" "$7" 1
	fi
	kill "$uev_pid" 2>/dev/null
	wait "$uev_pid" 2>/dev/null
	hp_unbind_race "$label" "$module"
	log_dmesg "display|EDID"
	unload "$label" "$module"
	problems "$label" clean "$strict" "no kernel warnings over the hotplug run"
	show_dmesg "$label"
}

hp_driver rs virtio_gpu_rs 1 1000 700 800 600
hp_driver c virtio_gpu 0 900 650 720 540
