# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "probe": load each driver, check it binds the virtio-gpu PCI device and logs
# the negotiated features and scanout count, unload it, check for kernel warnings. Our driver
# first (three load/unload cycles), then the C driver as the control. Then each driver
# unloaded with objects' unrefs in flight (unload-frees).

# probe_driver LABEL MODULE VIRTIO_DRIVER CYCLES STRICT
probe_driver() {
	local label=$1 module=$2 vdrv=$3 cycles=$4 strict=$5 dev i feat scan
	dev=$(gpu_dev) || { result FAIL "$label.device" "no virtio-gpu device in /sys/bus/virtio"; return; }
	dmesg -c >/dev/null
	i=1
	while [ "$i" -le "$cycles" ]; do
		if ! modprobe "$module" 2>/tmp/err; then
			result FAIL "$label.load.$i" "modprobe $module: $(cat /tmp/err)"
			show_dmesg "$label"
			return
		fi
		if [ -e "/sys/bus/virtio/drivers/$vdrv/$dev" ]; then
			result PASS "$label.bind.$i" "$dev bound to $vdrv"
		else
			result FAIL "$label.bind.$i" "$dev not bound to $vdrv"
		fi
		if [ "$i" = 1 ]; then
			feat=$(dmesg | grep -o 'features: .*' | head -n1)
			scan=$(dmesg | grep -o 'number of scanouts: [0-9]*' | head -n1)
			if [ -n "$feat" ]; then
				result PASS "$label.features" "$feat"
				info "$label.features" "$feat"
			else
				result FAIL "$label.features" "no 'features:' line in dmesg"
			fi
			if [ -n "$scan" ]; then
				result PASS "$label.scanouts" "$scan"
				info "$label.scanouts" "${scan##*: }"
			else
				result FAIL "$label.scanouts" "no 'number of scanouts' line in dmesg"
			fi
		fi
		if modprobe -r "$module" 2>/tmp/err; then
			# A built-in driver stays registered; only its device goes (module_loaded).
			if module_loaded "$module" ||
				{ ! is_builtin "$module" && [ -e "/sys/bus/virtio/drivers/$vdrv" ]; }; then
				result FAIL "$label.unload.$i" "$module still present after modprobe -r"
			else
				result PASS "$label.unload.$i" "modprobe -r $module; $dev unbound"
			fi
		else
			result FAIL "$label.unload.$i" "modprobe -r $module: $(cat /tmp/err)"
		fi
		i=$((i + 1))
	done
	problems "$label" clean "$strict" "no kernel warnings over $cycles load/unload cycles"
	show_dmesg "$label"
}

# probe_each LABEL MODULE STRICT: three cycles of ours, one of the C driver (each_driver).
probe_each() {
	if [ "$1" = rs ]; then probe_driver rs "$2" "$2" 3 "$3"; else probe_driver "$1" "$2" "$2" 1 "$3"; fi
}

each_driver probe probe_each

# unload_frees LABEL MODULE STRICT: the module unloaded right after a client destroyed 14
# buffers of 16 MiB (224 MiB: under QEMU's 256 MiB of host resources), with their unrefs
# still in flight. The objects are freed as the answers come in, while the driver lets go of
# the device; the last of them holds the device's last reference (our driver's objects keep
# it alive; GEM objects hold none in 6.12). Three times; no kernel report. (On ours this
# freed an object's mmap offset into the device's freed offset manager before the fix,
# 2026-11-30: a general protection fault.) Ours only: the C driver crashed the guest here
# (a NULL dereference in virtio_gpu_get_vbuf, from virtio_gpu_array_put_free_work after its
# unload, 2026-11-30; docs/robustness.md).
unload_frees() {
	local label=$1 module=$2 strict=$3 i=1 why="" p
	if [ "$label" != rs ]; then
		result SKIP "$label.unload-frees" "not run on the C driver: it crashed the guest (NULL dereference in virtio_gpu_get_vbuf after its unload; docs/robustness.md)"
		return
	fi
	dmesg -c >/dev/null
	while [ "$i" -le 3 ]; do
		load "$label" "$module" || return
		bounded 300 vgrs-kms-test --dumb-loop 14 --dumb-size 2560x1600 --dumb-hold \
			>/tmp/uf.out 2>&1 || why="${why}round $i: the buffers: $(tail -n 1 /tmp/uf.out); "
		bounded 60 modprobe -r "$module" 2>/tmp/err ||
			why="${why}round $i: modprobe -r failed or hung: $(cat /tmp/err); "
		i=$((i + 1))
	done
	p=$(kernel_problems | head -n 1)
	[ -n "$p" ] && why="${why}kernel: $p; "
	dmesg | grep -q 'bad response' && why="${why}the host refused a command: $(dmesg | grep -m1 'bad response'); "
	verdict "$label.unload-frees" "$strict" "$why" "3 times: 14 buffers of 2560x1600 destroyed, the module unloaded at once with their unrefs in flight; no kernel report"
	show_dmesg "$label"
}
each_driver probe unload_frees

# vgrs.cycles=N: then the short lifecycle run (load, use, unload N times per driver; make
# fuzz runs 100).
if grep -q 'vgrs\.cycles=' /proc/cmdline; then
	. /guest/lifecycle.sh
fi
