# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "run" (`make run`): load our driver and show what it can do so far.

dev=$(gpu_dev) || { result FAIL device "no virtio-gpu device"; return; }
info kernel "$(uname -r)"
info device "$dev (PCI $(cat /sys/bus/virtio/devices/$dev/vendor):$(cat /sys/bus/virtio/devices/$dev/device))"
dmesg -c >/dev/null
if modprobe virtio_gpu_rs 2>/tmp/err; then
	result PASS load "modprobe virtio_gpu_rs"
else
	result FAIL load "$(cat /tmp/err)"
	show_dmesg rs
	return
fi
if [ -e /sys/bus/virtio/drivers/virtio_gpu_rs/$dev ]; then
	info driver "virtio_gpu_rs bound to $dev"
	result PASS bind "$dev bound"
else
	result FAIL bind "$dev not bound to virtio_gpu_rs"
fi
features=$(dmesg | grep -o 'features: .*' | head -n1 | cut -d' ' -f2-)
info features "$features"
info scanouts "$(dmesg | grep -o 'number of scanouts: [0-9]*, capsets: [0-9]*' | head -n1 | cut -d' ' -f4-)"
ls /dev/dri >/dev/null 2>&1 && info dri-nodes "$(ls /dev/dri | tr '\n' ' ')"
if [ -e /dev/dri/card0 ] && modetest -M virtio_gpu -c 2>/dev/null | grep -q '	connected'; then
	case "$features" in
	*+virgl*)
		# The 3D device (make run GL=1): Mesa renders through the host.
		info picture "kmscube on virtio_gpu_rs through Mesa virgl"
		KMSCUBE_GBM=hw kmscube_run rs 300
		info renderer "$(sed -n 's/^ *renderer: "\(.*\)"/\1/p' /tmp/cube.out | head -n1)"
		;;
	*)
		# Software rendering in the guest is slow under TCG (about 2 frames a second here):
		# 60 frames show the cube turning; make run GL=1 renders 300 through the host.
		info picture "kmscube on virtio_gpu_rs (Mesa software GBM on dumb buffers)"
		kmscube_run rs 60
		;;
	esac
	[ -e /dev/fb0 ] && info fbdev "$(cat /sys/class/graphics/fb0/name 2>/dev/null) $(cat /sys/class/graphics/fb0/virtual_size 2>/dev/null)"
else
	info picture "none: no connected connector on our driver (no KMS yet?)"
fi
log_dmesg 'virtio_gpu_rs|\[drm\]'
show_dmesg rs
if modprobe -r virtio_gpu_rs; then result PASS unload "modprobe -r virtio_gpu_rs"; else result FAIL unload; fi
problems=$(kernel_problems)
[ -z "$problems" ] || result FAIL clean "$problems"
