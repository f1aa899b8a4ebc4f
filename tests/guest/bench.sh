# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "bench" (`make bench`): the same measurements on the C driver and on ours, in
# the same boot, five rounds alternating the drivers (and which goes first); each figure is
# the median of the rounds, printed with its range (single runs here move by 10-30 %), and
# the ratio ours / C of the medians. Not a test: nothing here fails on a number; a driver
# that cannot run the benchmark is reported.
#
#   load       modprobe to return: module load, probe, and the fbdev client's first modeset
#              (the first frame), milliseconds (lower is better)
#   flips      atomic page flips with events between two full-screen framebuffers, per second,
#              asynchronous (DRM_MODE_PAGE_FLIP_ASYNC) where the driver offers it (ours), else
#              plain (the C driver: its fake vblank does not wait): the cost of a flip
#   vsync      the same flips without ASYNC: paced at the refresh rate by a driver with a vblank
#              (ours), unpaced by the C driver's fake vblank. Not a speed: no ratio is printed
#   cursor     legacy cursor moves (DRM_IOCTL_MODE_CURSOR, MOVE) per second
#   test-only  atomic TEST_ONLY flips per second: the atomic check alone
#   getparam   VIRTGPU_GETPARAM round trips per second: a driver ioctl without device work
#   dirtyfb    full-screen DIRTYFB (TRANSFER_TO_HOST_2D + RESOURCE_FLUSH of the whole mode); its
#              commit has no userspace event, which our driver completes at once
#   dumb       dumb buffer create + map + destroy at the mode's size (host resource included)
#   objmem     kernel slab memory per live buffer object (lower is better)
#
# vgrs.bench_secs=N sets the seconds per measurement (default 3); vgrs.bench_rounds=N the
# rounds (default 5).

secs=$(param number bench_secs 3)
rounds=$(param number bench_rounds 5)
rm -f /tmp/bench.*

# ms: milliseconds since boot (/proc/uptime has centiseconds).
ms() {
	awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

# bench_round LABEL MODULE: one round on one driver, figures appended to /tmp/bench.LABEL.
bench_round() {
	local label=$1 module=$2 t0 t1
	dmesg -c >/dev/null
	t0=$(ms)
	load "$label" "$module" || return
	t1=$(ms)
	echo "BENCH load $((t1 - t0)) ms" >>"/tmp/bench.$label"
	if bounded 300 vgrs-kms-test --bench "$secs" >/tmp/bench.out 2>&1; then
		cat /tmp/bench.out >>"/tmp/bench.$label"
	else
		result FAIL "$label.bench" "vgrs-kms-test --bench: $(tail -n 2 /tmp/bench.out | tr '\n' ' ')"
	fi
	sed "s/^/[$label bench] /" /tmp/bench.out
	bounded 30 modprobe -r "$module" 2>/dev/null
	problems "$label" clean 0 "no kernel warnings over the round"
	show_dmesg "$label"
}

i=1
while [ "$i" -le "$rounds" ]; do
	echo "@@VGRS log bench: round $i of $rounds"
	bench_pair "$i" bench_round
	i=$((i + 1))
done
for label in c rs; do
	n=$(grep -c '^BENCH dumb ' "/tmp/bench.$label" 2>/dev/null)
	[ "${n:-0}" -gt 0 ] && result PASS "$label.bench" "$n rounds measured"
done

# The table: one line per figure, C and ours (median and range), ratio of the medians.
echo "@@VGRS log $(printf '%-10s %24s %24s %8s %7s  %s' figure 'C driver (range)' 'virtio_gpu_rs (range)' 'rs / C' paired unit)"
for name in load flips vsync cursor test-only getparam dirtyfb dumb objmem; do
	note="" ratio=""
	# vsync is the refresh rate on a driver with a vblank: a ratio to unpaced flips means nothing.
	[ "$name" = vsync ] && ratio="(paced)"
	case $name in load | objmem) note="(lower is better)" ;; esac
	bench_row bench /tmp/bench.c /tmp/bench.rs "BENCH " "$name" 10 "$note" "$ratio"
done
