# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "hotunplug" (qemu/run.py --slots 2): a real PCIe hot-unplug through QMP, per
# driver, while clients use the device. Each GPU sits in a hot-pluggable slot of its own
# (pcie-root-port, pcie-pci-bridge, virtio-gpu-pci; ours in slot 0, the C driver in slot 1).
# QEMU 7.2 refuses `device_del` of virtio-gpu-pci itself (it is not hot-pluggable); the
# bridge is, and takes the GPU with it. The guest's pciehp sees the attention button, waits
# its 5 s, powers the slot off and removes the bridge and the GPU behind it, as on hardware;
# QEMU then frees the devices. (The unplug scenario does it through sysfs, as igt does.)
#
#   hotunplug         kmscube renders on the slot's card (software; under the debug kernel
#                     the scanout client), a holder keeps an fd and a mapped buffer and, on
#                     ours, the ioctl fuzzer runs on the card (3 threads, seed 9, until the
#                     device is gone); QMP device_del of the slot's bridge: the card goes,
#                     kmscube ends by itself, the mapping reads back, the held fd answers
#                     ENODEV, every fuzzer thread saw the device go, no warning. (Not the
#                     fuzzer on the C driver: it hands the fuzzer's 2D transfers past a
#                     buffer's end to QEMU, which asserts and ends the boot; robustness.md.)
#   hotunplug-replug  QMP device_add of a new GPU on the slot's root port: the driver binds it
#                     and shows a picture. QEMU 7.2 refuses to hot-add any virtio-gpu device
#                     ("expects a pluggable device type"): then a SKIP that says so
#   hotunplug-clean   the module unloads, no kernel warning (kmemleak under check-debug)

# slot_card SLOT: prints /dev/dri/cardN of the GPU in SLOT (behind the root port at 00:1SLOT.0),
# waiting up to 10 s for it.
slot_card() {
	local n=0 c
	while [ "$n" -lt 100 ]; do
		for c in /sys/class/drm/card[0-9]; do
			case "$(readlink -f "$c")" in
			*/0000:00:1"$1".0/*) echo "/dev/dri/${c##*/}" && return 0 ;;
			esac
		done
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}

# hotunplug_driver LABEL MODULE STRICT (slot: the next one, $hot_slot)
hotunplug_driver() {
	local label=$1 module=$2 strict=$3 slot=$hot_slot card ans UNPLUG_FUZZ_SEED=""
	hot_slot=$((hot_slot + 1))
	# The fuzzer beside the clients, on ours (see above); unplug_under_clients reads it.
	[ "$label" = rs ] && UNPLUG_FUZZ_SEED=9
	dmesg -c >/dev/null
	load "$label" "$module" || return
	if ! card=$(slot_card "$slot"); then
		result FAIL "$label.hotunplug" "no DRM card behind slot $slot (00:1$slot.0)"
		unload "$label" "$module"
		return
	fi
	unplug_under_clients "$label" hotunplug "$strict" "$card" 30 \
		"QMP device_del of slot $slot's bridge (pciehp)" qmp_request unplug "$slot"
	# The PCI core's own lockdep report (kernel_problems): after our driver's remove, which
	# ran with lockdep on; lockdep is off for the rest of the boot.
	pciehp_lockdep && result NOTE "$label.hotunplug-pciehp" "lockdep reported pciehp's own reset_lock / pci_rescan_remove_lock order after the removal (a 6.12 PCI core report, any driver; lockdep is off from here)"
	show_dmesg "$label"
	ans=$(ask plug "$slot")
	case "$ans" in
	ok)
		if card=$(slot_card "$slot"); then
			result PASS "$label.hotunplug-replug" "QMP device_add: a new GPU in slot $slot, bound to $module as $card"
		else
			result FAIL "$label.hotunplug-replug" "QMP device_add answered, but no card behind slot $slot within 10 s"
		fi
		;;
	*"pluggable device type"* | *"does not support hotplugging"*)
		result SKIP "$label.hotunplug-replug" "this QEMU cannot hot-add virtio-gpu-pci: ${ans#error }"
		;;
	*) result FAIL "$label.hotunplug-replug" "QMP device_add: $ans" ;;
	esac
	unload "$label" "$module"
	problems "$label" hotunplug-clean "$strict" "no kernel warnings over the hot-unplug and unload"
	show_dmesg "$label"
}

# qmp_request unplug|plug SLOT: asks the host runner; fails with its answer on stderr.
qmp_request() {
	local ans
	ans=$(ask "$1" "$2")
	[ "$ans" = ok ] && return 0
	echo "$ans" >&2
	return 1
}

hot_slot=0
each_driver hotunplug hotunplug_driver
