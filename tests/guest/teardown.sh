# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "teardown" (part of `make check-debug`; needs our debug build): unbind and
# unload the driver while virtqueue completion work is queued or running. A client flips as
# fast as it can (each flip queues commands whose answers the work checks); then the debug
# build's `completion_delay_ms` parameter makes every completion work run sleep that long
# first, the device is unbound and the module unloaded at once, twice. Teardown must wait for the work (it
# runs on the driver's own workqueue, destroyed at unbind): on a driver that left it on the
# system workqueue, the work would run after the module's code is gone, and KASAN (or an oops)
# reports it. Our driver only: the knob is ours (the C driver flushes its work at remove).

teardown_driver() {
	local label=$1 module=$2 strict=$3 dev i pid cycles=2 delay=2000 bad=""
	[ "$label" = rs ] || return 0
	dev=$(gpu_dev) || { result FAIL "$label.teardown" "no virtio-gpu device"; return; }
	dmesg -c >/dev/null
	i=1
	while [ "$i" -le "$cycles" ]; do
		if ! bounded 30 modprobe "$module" 2>/tmp/err; then
			bad="$bad cycle $i: modprobe: $(cat /tmp/err);"
			break
		fi
		if ! wait_for /dev/dri/card0 5; then
			bad="$bad cycle $i: no /dev/dri/card0;"
			break
		fi
		vgrs-kms-test --bench 60 >/tmp/teardown.out 2>&1 &
		pid=$!
		sleep 2
		# From now on every completion work run sleeps first; the flips keep queueing
		# commands, so one run is asleep and another queued when the device is unbound.
		echo "$delay" >/sys/module/$module/parameters/completion_delay_ms
		sleep 1
		t0=$(cut -d' ' -f1 /proc/uptime)
		echo "$dev" >/sys/bus/virtio/drivers/virtio_gpu_rs/unbind
		t1=$(cut -d' ' -f1 /proc/uptime)
		bounded 30 modprobe -r "$module" 2>/tmp/err || bad="$bad cycle $i: modprobe -r: $(cat /tmp/err);"
		t2=$(cut -d' ' -f1 /proc/uptime)
		echo "@@VGRS log teardown cycle $i: unbind took $(awk "BEGIN { print $t1 - $t0 }") s, unload $(awk "BEGIN { print $t2 - $t1 }") s"
		wait_pid 30 "$pid" >/dev/null 2>&1
		if module_loaded "$module"; then
			bad="$bad cycle $i: still loaded;"
			break
		fi
		i=$((i + 1))
	done
	# Let any stray work item wake up now, when the module is gone: this is when a missed
	# flush would run freed code.
	sleep $((delay / 1000 + 2))
	if [ -z "$bad" ]; then
		result PASS "$label.teardown" "$cycles cycles: unbind + unload under flips with completions delayed $delay ms"
	else
		result FAIL "$label.teardown" "$bad"
	fi
	problems "$label" teardown-clean "$strict" "no kernel report over the teardown cycles"
	show_dmesg "$label"
}

each_driver teardown teardown_driver
