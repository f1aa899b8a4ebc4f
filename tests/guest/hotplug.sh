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
# control: load it, record the connector's preferred mode (`modetest -c`), ask for a resize,
# wait (bounded) for the hotplug uevent and for the connector's mode list in sysfs (which only
# a probe updates; nothing but the fbdev client's hotplug handler probes here) to start with
# the new size, check `modetest -c` agrees, unload, check the kernel log.

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

# hp_driver LABEL MODULE STRICT WIDTH HEIGHT
hp_driver() {
	local label=$1 module=$2 strict=$3 w=$4 h=$5 before after first n ans got_w got_h ev
	dmesg -c >/dev/null
	load "$label" "$module" || return
	# The fbdev client probes once at registration; wait for it, then start listening.
	n=0
	while [ -z "$(hp_sysfs_first)" ] && [ "$n" -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	before=$(hp_preferred)
	if [ -z "$before" ]; then
		result FAIL "$label.hotplug-before" "no preferred mode on $HP_CONN: $(modetest -M virtio_gpu -c 2>&1 | head -n 8 | tr '\n' ' ')"
	else
		result PASS "$label.hotplug-before" "$HP_CONN preferred mode $before, sysfs first mode $(hp_sysfs_first)"
	fi
	rm -f /tmp/uevents
	uevent sh -c 'echo "$ACTION $DEVNAME HOTPLUG=$HOTPLUG" >>/tmp/uevents' &
	local uev_pid=$!
	sleep 0.5
	ans=$(ask resize "${w}x${h}")
	case "$ans" in
	resized*) ;;
	*)
		result FAIL "$label.hotplug-resize" "runner could not resize the window: $ans"
		kill "$uev_pid" 2>/dev/null
		unload "$label" "$module"
		show_dmesg "$label"
		return
		;;
	esac
	# QEMU passes a new UI size on after a short delay; TCG is slow: up to 30 s.
	n=0
	ev=""
	first=$(hp_sysfs_first)
	while [ "$n" -lt 300 ]; do
		ev=$(grep -c 'change dri/card0 HOTPLUG=1' /tmp/uevents 2>/dev/null)
		first=$(hp_sysfs_first)
		[ "${ev:-0}" -gt 0 ] && [ -n "$first" ] && [ "$first" != "$before" ] && break
		sleep 0.1
		n=$((n + 1))
	done
	kill "$uev_pid" 2>/dev/null
	wait "$uev_pid" 2>/dev/null
	if [ "${ev:-0}" -gt 0 ]; then
		result PASS "$label.hotplug-uevent" "$ev hotplug uevent(s) for card0 within $((n / 10)).$((n % 10)) s of the resize"
	else
		result FAIL "$label.hotplug-uevent" "no HOTPLUG=1 uevent for card0 within 30 s: $(tr '\n' ';' </tmp/uevents 2>/dev/null)"
	fi
	if [ -n "$first" ] && [ "$first" != "$before" ]; then
		result PASS "$label.hotplug-reprobe" "the fbdev client re-probed on its own: sysfs first mode $before -> $first"
	else
		result FAIL "$label.hotplug-reprobe" "sysfs first mode still '${first}' (was $before) 30 s after the resize"
	fi
	after=$(hp_preferred)
	got_w=${after%x*}
	got_h=${after#*x}
	# The drawing area is the window less gtk's menu bar: same width, a little less height.
	if [ "$got_w" = "$w" ] && [ "${got_h:-0}" -le "$h" ] && [ "${got_h:-0}" -ge $((h - 100)) ]; then
		result PASS "$label.hotplug-mode" "window ${w}x${h}: preferred mode $before -> $after"
		info "$label.hotplug" "$before -> $after (window ${w}x${h})"
	else
		result FAIL "$label.hotplug-mode" "window ${w}x${h}: preferred mode $before -> '$after', want ${w}x(${h} less the menu bar)"
	fi
	log_dmesg "virtio_gpu|display|hotplug"
	unload "$label" "$module"
	problems "$label" clean "$strict" "no kernel warnings over the hotplug run"
	show_dmesg "$label"
}

hp_driver rs virtio_gpu_rs 1 1000 700
hp_driver c virtio_gpu 0 900 650
