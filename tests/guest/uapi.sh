# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "uapi": runs vgrs-uapi-test against each driver, ours (virtio_gpu_rs, label
# rs) first and the C virtio_gpu (label c) as the control, forwarding its checks as
# `<label>.<check>`; then, per driver, unbinds the device while a process holds the DRM fd
# and a mapping open. Every wait is bounded, so a driver that hangs fails its checks instead
# of stalling the run; once a modprobe hangs (the device stays locked in its probe), later
# loads are reported as failed without trying.
#
# The kernel command line option vgrs.uapi=c,rs picks the drivers (default: both), e.g.
# `qemu/run.py ... --scenario uapi --append vgrs.uapi=c` to check only the C driver.

# uapi_driver LABEL MODULE STRICT
uapi_driver() {
	local label=$1 module=$2 strict=$3
	dmesg -c >/dev/null
	if load "$label" "$module"; then
		run_test "$label" uapi 180 vgrs-uapi-test --label "$label"
	fi
	unload "$label" "$module"
	problems "$label" clean "$strict" "no kernel warnings over the uapi run"
	show_dmesg "$label"
}

# unbind_open_fd LABEL MODULE STRICT: unbinds the device (from the virtio driver MODULE) while
# `vgrs-uapi-test --hold-until` keeps the DRM fd and a mapped dumb buffer open.
unbind_open_fd() {
	local label=$1 module=$2 vdrv=$2 strict=$3 dev holder rc p why=""
	dev=$(gpu_dev) || { result FAIL "$label.unbind-open-fd" "no virtio-gpu device"; return; }
	dmesg -c >/dev/null
	rm -f /tmp/unbound /tmp/hold.out /tmp/hold.err
	if ! load "$label" "$module"; then
		bounded 30 modprobe -r "$module" 2>/dev/null
		result FAIL "$label.unbind-open-fd" "driver did not come up"
		show_dmesg "$label"
		return
	fi
	vgrs-uapi-test --label "$label" --hold-until /tmp/unbound >/tmp/hold.out 2>/tmp/hold.err &
	holder=$!
	wait_line /tmp/hold.err HOLDING "$holder" 100 || why="holder did not get its buffer mapped; "
	if ! bounded 30 sh -c "echo $dev > /sys/bus/virtio/drivers/$vdrv/unbind" 2>/tmp/err; then
		why="${why}unbind of $dev from $vdrv failed or hung: $(cat /tmp/err); "
	elif [ -e "/sys/bus/virtio/drivers/$vdrv/$dev" ]; then
		why="${why}$dev still bound after unbind; "
	fi
	touch /tmp/unbound
	n=0
	while running "$holder" && [ "$n" -lt 150 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	if running "$holder"; then
		kill -9 "$holder" 2>/dev/null
		why="${why}holder still running 15 s after the unbind; "
	else
		wait "$holder"
		rc=$?
		[ "$rc" = 0 ] || why="${why}holder exited $rc; "
	fi
	sed "s/^/[$label hold] /" /tmp/hold.out /tmp/hold.err
	forward "$label" /tmp/hold.out
	if bounded 30 modprobe -r "$module" 2>/tmp/err; then
		module_loaded "$module" && why="${why}$module still loaded after modprobe -r; "
	else
		why="${why}modprobe -r $module failed or hung: $(cat /tmp/err); "
	fi
	p=$(kernel_problems | head -n1)
	if [ -n "$p" ]; then
		if [ "$strict" = 1 ]; then
			why="${why}kernel: $p"
		else
			result NOTE "$label.unbind-open-fd.kernel" "reported, not failed: $p"
		fi
	fi
	if [ -z "$why" ]; then
		result PASS "$label.unbind-open-fd" "$dev unbound from $vdrv with the fd and a mapping open; holder exited cleanly; module unloaded"
	else
		result FAIL "$label.unbind-open-fd" "$why"
	fi
	show_dmesg "$label"
}

each_driver uapi uapi_driver
each_driver uapi unbind_open_fd
