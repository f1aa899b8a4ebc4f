# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "probe": load each driver, check it binds the virtio-gpu PCI device and logs
# the negotiated features and scanout count, unload it, check for kernel warnings. Our driver
# first (three load/unload cycles), then the C driver as the control.

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

# vgrs.cycles=N: then the short lifecycle run (load, use, unload N times per driver; make
# fuzz runs 100).
if grep -q 'vgrs\.cycles=' /proc/cmdline; then
	. /guest/lifecycle.sh
fi
