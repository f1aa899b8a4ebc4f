# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "virgl" (`qemu/run.py --gl`: the 3D device virtio-vga-gl, virgl on the host
# with a GL display under Xvfb; screendumps are pictures of the X screen). Per driver:
#
#   features   the driver negotiated VIRGL (its probe message shows +virgl)
#   virgl/*    vgrs-uapi-test --virgl on the render node: the capset ids, each capset's data
#              (a fingerprint, compared between the drivers at the end), GET_CAPS errnos,
#              and a file's context: QEMU's trace (run.py --trace 'virtio_gpu_cmd_ctx*') must
#              show it created, a resource attached and detached, and it destroyed
#   kmscube    kmscube with Mesa choosing the driver itself (no GBM_ALWAYS_SOFTWARE): moving
#              pictures and N frames, and the renderer must be virgl (Mesa renders through
#              the host: RESOURCE_CREATE_3D, EXECBUFFER with fences, scanout of host-rendered
#              buffers), not llvmpipe (a fall-back to software in the guest)

virgl_driver() {
	local label=$1 module=$2 strict=$3 feat renderer
	dmesg -c >/dev/null
	load "$label" "$module" || return
	# The C driver prints its features on two lines.
	feat=$(dmesg | grep -o 'features: .*' | tr '\n' ' ')
	case "$feat" in
	*+virgl*) result PASS "$label.virgl-features" "$feat" ;;
	*) result FAIL "$label.virgl-features" "VIRGL not negotiated: ${feat:-no features line}" ;;
	esac
	ask trace skip >/dev/null
	run_test "$label" virgl 120 vgrs-uapi-test --virgl --label "$label"
	# virgl/context: the new file's context created (named after the program), the resource
	# attached to it and detached, the context destroyed, in this order.
	expect_trace "$label" virgl-context-trace "$(ask trace ctx)" \
		'ctx_create.*vgrs-uapi-test' 'ctx_res_attach' 'ctx_res_detach' 'ctx_destroy'
	grep '^PASS virgl/get-caps-[12] ' /tmp/virgl.out | cut -d' ' -f2- >"/tmp/caps-$label.txt"
	KMSCUBE_GBM=hw kmscube_run "$label" "$frames"
	renderer=$(sed -n 's/^ *renderer: "\(.*\)"/\1/p' /tmp/cube.out | head -n1)
	info "$label.renderer" "${renderer:-unknown}"
	case "$renderer" in
	virgl*) result PASS "$label.kmscube-virgl" "Mesa rendered through the host: renderer '$renderer', $(grep -o 'Rendered.*' /tmp/cube.out | tail -n1)" ;;
	*) result FAIL "$label.kmscube-virgl" "Mesa did not use virgl: renderer '${renderer:-unknown}'" ;;
	esac
	unload "$label" "$module"
	problems "$label" clean "$strict" "no kernel warnings over the virgl run"
	show_dmesg "$label"
}

# vgrs.kmscube_frames=N on the command line: frames per kmscube run (default 300).
frames=$(sed -n 's/.*vgrs\.kmscube_frames=\([0-9]*\).*/\1/p' /proc/cmdline)
frames=${KMSCUBE_FRAMES:-${frames:-300}}
each_driver virgl virgl_driver
if [ -s /tmp/caps-rs.txt ] && [ -s /tmp/caps-c.txt ]; then
	if cmp -s /tmp/caps-rs.txt /tmp/caps-c.txt; then
		result PASS virgl-caps-rs-vs-c "the same capset data on both drivers: $(tr '\n' ' ' </tmp/caps-rs.txt)"
	else
		result FAIL virgl-caps-rs-vs-c "capsets differ: rs: $(tr '\n' ' ' </tmp/caps-rs.txt) c: $(tr '\n' ' ' </tmp/caps-c.txt)"
	fi
fi
