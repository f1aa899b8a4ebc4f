# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "bench" (`make bench`): the same measurements on the C driver and on ours, in
# the same boot, side by side with the ratio ours / C. Not a test: nothing here fails on a
# number; a driver that cannot run the benchmark is reported.
#
#   flips    atomic page flips with events between two full-screen framebuffers, per second,
#            asynchronous (DRM_MODE_PAGE_FLIP_ASYNC) where the driver offers it (ours), else
#            plain (the C driver: its fake vblank does not wait): the cost of a flip
#   vsync    the same flips without ASYNC: paced at the refresh rate by a driver with a vblank
#            (ours), unpaced by the C driver's fake vblank. Not a speed: no ratio is printed
#   dirtyfb  full-screen DIRTYFB (TRANSFER_TO_HOST_2D + RESOURCE_FLUSH of the whole mode); its
#            commit has no userspace event, which our driver completes at once
#   dumb     dumb buffer create + map + destroy at the mode's size (host resource included)
#   objmem   kernel slab memory per live buffer object (lower is better)
#
# vgrs.bench_secs=N sets the seconds per measurement (default 3).

secs=$(sed -n 's/.*vgrs\.bench_secs=\([0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$secs" ] || secs=3

# bench_driver LABEL MODULE
bench_driver() {
	local label=$1 module=$2
	dmesg -c >/dev/null
	load "$label" "$module" || return
	if bounded 300 vgrs-kms-test --bench "$secs" >/tmp/bench.$label 2>&1; then
		result PASS "$label.bench" "$(grep -c '^BENCH' /tmp/bench.$label) figures"
	else
		result FAIL "$label.bench" "vgrs-kms-test --bench: $(tail -n 2 /tmp/bench.$label | tr '\n' ' ')"
	fi
	sed "s/^/[$label bench] /" /tmp/bench.$label
	unload "$label" "$module"
	problems "$label" clean 0 "no kernel warnings over the benchmark"
	show_dmesg "$label"
}

bench_driver c virtio_gpu
bench_driver rs virtio_gpu_rs

# The table: one line per figure, C and ours, ratio ours / C.
echo "@@VGRS log $(printf '%-8s %14s %14s %10s  %s' figure 'C driver' 'virtio_gpu_rs' 'rs / C' unit)"
for name in flips vsync dirtyfb dumb objmem; do
	c=$(sed -n "s/^BENCH $name \([0-9.]*\) \([^ ]*\).*/\1/p" /tmp/bench.c 2>/dev/null)
	r=$(sed -n "s/^BENCH $name \([0-9.]*\) \([^ ]*\).*/\1/p" /tmp/bench.rs 2>/dev/null)
	unit=$(sed -n "s/^BENCH $name [0-9.]* \([^ ]*\).*/\1/p" /tmp/bench.rs /tmp/bench.c 2>/dev/null | head -n1)
	ratio=$(awk -v r="${r:-0}" -v c="${c:-0}" 'BEGIN { if (c > 0 && r > 0) printf "%.2f", r / c; else print "-" }')
	# vsync is the refresh rate on a driver with a vblank: a ratio to unpaced flips means nothing.
	[ "$name" = vsync ] && ratio="(paced)"
	echo "@@VGRS log $(printf '%-8s %14s %14s %10s  %s' "$name" "${c:--}" "${r:--}" "$ratio" "$unit")"
	info "bench.$name" "C ${c:--} rs ${r:--} $unit (rs/C $ratio)"
done
