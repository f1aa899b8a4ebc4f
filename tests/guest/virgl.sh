# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "virgl" (`qemu/run.py --gl`: the 3D device virtio-vga-gl, virgl on the host
# with a GL display under Xvfb; screendumps are pictures of the X screen). Per driver:
#
#   features   the driver negotiated VIRGL (its probe message shows +virgl)
#   virgl/*    vgrs-uapi-test --virgl on the render node: the capset ids, each capset's data
#              (a fingerprint, compared between the drivers at the end), GET_CAPS errnos,
#              and a file's context: QEMU's trace (run.py --trace 'virtio_gpu_cmd_ctx*') must
#              show it created, a resource attached and detached, and it destroyed;
#              EXECBUFFER with fences (sync_file out, in), WAIT, syncobjs (binary and
#              timeline, in and out, RESET), and bad submissions' errnos as the C driver's
#   glmark2    glmark2-es2-drm runs three scenes (2 s each) through virgl to completion,
#              every frame shown, and scores
#   fence-hold (ours) a sync_file outliving unbind pins the module, still answers, lets go
#   fence-watchdog (ours) a fenced submission on a device that stopped answering: the
#              queues' watchdog resets the device, the fence signals with an error
#   unbind-rendering  the device is unbound while kmscube renders through virgl: the unbind
#              completes, kmscube ends by itself (an error from its next ioctl), the module
#              unloads, no kernel warning; then the driver binds again and kmscube renders
#   suspend-3d (ours) a 3D client across a suspend: its next EXECBUFFER fails with ENODEV
#              (the host context is gone), its resource reads back, a new file works
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
	# vgrs.virgl_quick (the debug kernel's run): the rendering runs are left to make check;
	# unbind-rendering and rebind-renders below still render through virgl.
	if grep -q 'vgrs\.virgl_quick' /proc/cmdline; then
		unload "$label" "$module"
		problems "$label" clean "$strict" "no kernel warnings over the virgl run"
		show_dmesg "$label"
		return
	fi
	KMSCUBE_GBM=hw kmscube_run "$label" "$frames"
	renderer=$(sed -n 's/^ *renderer: "\(.*\)"/\1/p' /tmp/cube.out | head -n1)
	info "$label.renderer" "${renderer:-unknown}"
	case "$renderer" in
	virgl*) result PASS "$label.kmscube-virgl" "Mesa rendered through the host: renderer '$renderer', $(grep -o 'Rendered.*' /tmp/cube.out | tail -n1)" ;;
	*) result FAIL "$label.kmscube-virgl" "Mesa did not use virgl: renderer '${renderer:-unknown}'" ;;
	esac
	glmark2_run "$label"
	unload "$label" "$module"
	problems "$label" clean "$strict" "no kernel warnings over the virgl run"
	show_dmesg "$label"
}

# The glmark2 scenes run: geometry, textures and per-pixel shading, 2 s each (the bench's
# three; more kinds of scene exercise Mesa and the host more, not the driver, and each one
# costs about 8 s of the CI budget at 5120x2160, the largest mode, which glmark2's DRM backend
# always takes). alpha=0: glmark2 sets its buffers as framebuffers as they are; with the
# default visual (8 bits of alpha) they are ARGB8888, which the primary plane of either
# driver does not scan out, so every SETCRTC failed with EINVAL and glmark2 rendered without
# ever showing a frame (seen 2026-11-29).
GLMARK2_SCENES="--visual-config alpha=0 -b build:duration=2 -b texture:duration=2
	-b shading:shading=phong:duration=2"

# glmark2_run LABEL: glmark2-es2-drm runs the scenes to completion through virgl and scores.
glmark2_run() {
	local label=$1 rc score renderer shown
	if ! command -v glmark2-es2-drm >/dev/null; then
		result FAIL "$label.glmark2" "glmark2-es2-drm is not in the guest image (make deps)"
		return
	fi
	# shellcheck disable=SC2086
	bounded 240 glmark2-es2-drm $GLMARK2_SCENES </dev/null >/tmp/glmark2.out 2>&1
	rc=$?
	sed "s/^/[$label glmark2] /" /tmp/glmark2.out
	score=$(sed -n 's/.*glmark2 Score: *\([0-9]*\).*/\1/p' /tmp/glmark2.out)
	renderer=$(sed -n 's/.*GL_RENDERER: *//p' /tmp/glmark2.out | head -n1)
	shown=$(grep -c 'Failed to set crtc\|Failed to enqueue page flip\|Failed to create FB' /tmp/glmark2.out)
	case "$rc:$renderer" in
	0:virgl*)
		if [ "$shown" != 0 ]; then
			result FAIL "$label.glmark2" "$shown frames not shown: $(grep -m1 Failed /tmp/glmark2.out)"
		elif [ -n "$score" ]; then
			result PASS "$label.glmark2" "3 scenes through '$renderer', every frame set or flipped: score $score"
			info "$label.glmark2" "$score"
		else
			result FAIL "$label.glmark2" "no score: $(tail -n 2 /tmp/glmark2.out | tr '\n' ' ')"
		fi
		;;
	*) result FAIL "$label.glmark2" "exit $rc, renderer '${renderer:-unknown}': $(tail -n 2 /tmp/glmark2.out | tr '\n' ' ')" ;;
	esac
}

# fence_hold LABEL MODULE: a sync_file outlives the device and the DRM file; while it lives
# the module must refuse to unload (each fence pins it: its ops and names are module code);
# SYNC_IOC_FILE_INFO after the unbind still answers; once it is closed the module unloads.
# Only for our driver: the 6.12 C driver's fences do not pin its module, so the same test
# reads freed module text on it (see docs/results.md).
fence_hold() {
	local label=$1 module=$2 dev holder n why="" unloaded=""
	dev=$(gpu_dev) || { result FAIL "$label.fence-hold" "no virtio-gpu device"; return; }
	dmesg -c >/dev/null
	rm -f /tmp/fence.go
	load "$label" "$module" || return
	vgrs-uapi-test --label "$label" --hold-fence /tmp/fence.go >/tmp/fence.out 2>/tmp/fence.err &
	holder=$!
	wait_line /tmp/fence.err HOLDING "$holder" 300 || why="holder did not get its fence; "
	bounded 30 sh -c "echo $dev > /sys/bus/virtio/drivers/$module/unbind" 2>/dev/null ||
		why="${why}unbind failed; "
	if [ "$VGRS_BUILTIN" = 1 ]; then
		# Built in, there is no module to pin: the device is bound again (a new DRM device)
		# while the old one's fence lives, and let go again.
		if modprobe "$module" && wait_for /dev/dri/card0 5 && modprobe -r "$module"; then
			result PASS "$label.fence-rebind" "built in: the device bound again and unbound while a fence of its last binding lives"
		else
			why="${why}binding the device again while the old fence lives failed; "
		fi
	elif bounded 30 modprobe -r "$module" 2>/tmp/err; then
		why="${why}the module unloaded while a sync_file of its fence was open; "
	else
		result PASS "$label.fence-pins-module" "modprobe -r refused while a fence of the module lives: $(tr '\n' ' ' </tmp/err)"
	fi
	touch /tmp/fence.go
	wait_pid 30 "$holder" || why="${why}holder did not finish; "
	sed "s/^/[$label fence] /" /tmp/fence.out /tmp/fence.err
	forward "$label" /tmp/fence.out
	# The last fence reference went with the sync_file; its memory and the module reference go
	# after an RCU grace period.
	for n in 1 2 3 4 5 6 7 8 9 10; do
		if bounded 30 modprobe -r "$module" 2>/dev/null; then
			unloaded=yes
			break
		fi
		sleep 0.5
	done
	[ -n "$unloaded" ] || why="${why}the module did not unload after the sync_file closed; "
	if [ -z "$why" ] && [ "$VGRS_BUILTIN" = 1 ]; then
		result PASS "$label.fence-hold" "sync_file held across unbind and a new binding (built in: no module to pin)"
	elif [ -z "$why" ]; then
		result PASS "$label.fence-hold" "sync_file held across unbind, module pinned meanwhile, unloaded after close"
	else
		result FAIL "$label.fence-hold" "$why"
	fi
	problems "$label" fence-hold-clean 1 "no kernel warnings with a fence outliving the device"
	show_dmesg "$label"
}

# virgl_cube FRAMES OUT: kmscube renders FRAMES frames with Mesa choosing its driver, its
# output in OUT (kmscube ends at end of input, so its stdin is a fifo held open meanwhile);
# bounded to 120 s. Sets `last` to its "Rendered N frames" line and `cube_rc` to its exit
# status; true if it exited 0 after rendering through virgl.
virgl_cube() {
	local frames=$1 out=$2 pid
	rm -f /tmp/vc.fifo
	mkfifo /tmp/vc.fifo
	kmscube -c "$frames" </tmp/vc.fifo >"$out" 2>&1 &
	pid=$!
	exec 6>/tmp/vc.fifo
	wait_pid 120 "$pid"
	cube_rc=$?
	exec 6>&-
	rm -f /tmp/vc.fifo
	last=$(grep -o 'Rendered [0-9]* frames.*' "$out" | tail -n1)
	[ "$cube_rc" = 0 ] && grep -q 'renderer: "virgl' "$out" && [ -n "$last" ]
}

# unbind_rendering LABEL MODULE STRICT: unbinds the device while kmscube renders through
# virgl (fences in flight, a flip pending, the context busy on the host), then binds it again.
unbind_rendering() {
	local label=$1 module=$2 strict=$3 dev pid rc n why="" last p
	dev=$(gpu_dev) || { result FAIL "$label.unbind-rendering" "no virtio-gpu device"; return; }
	dmesg -c >/dev/null
	load "$label" "$module" || return
	# kmscube ends at end of input: its stdin is a fifo held open by fd 6.
	rm -f /tmp/ur.fifo
	mkfifo /tmp/ur.fifo
	kmscube -c 100000 </tmp/ur.fifo >/tmp/ur.out 2>&1 &
	pid=$!
	exec 6>/tmp/ur.fifo
	# kmscube's output is block-buffered: its GL information arrives as it starts drawing;
	# its frame counts only when it exits.
	wait_line /tmp/ur.out 'renderer:' "$pid" 600
	grep -q 'renderer: "virgl' /tmp/ur.out || why="kmscube is not rendering through virgl; "
	sleep 4
	if ! bounded 30 sh -c "echo $dev > /sys/bus/virtio/drivers/$module/unbind" 2>/tmp/err; then
		why="${why}unbind failed or hung: $(cat /tmp/err); "
	fi
	wait_pid 15 "$pid"
	rc=$?
	exec 6>&-
	if [ "$rc" = 124 ]; then
		why="${why}kmscube still running 15 s after the unbind (killed); "
	fi
	last=$(grep -o 'Rendered [0-9]* frames.*' /tmp/ur.out | tail -n1)
	[ -n "$last" ] || why="${why}no frames rendered before the unbind; "
	sed "s/^/[$label unbind-rendering] /" /tmp/ur.out | tail -n 8
	bounded 30 modprobe -r "$module" 2>/tmp/err || why="${why}modprobe -r failed or hung: $(cat /tmp/err); "
	p=$(kernel_problems | head -n1)
	if [ -n "$p" ]; then
		if [ "$strict" = 1 ]; then
			why="${why}kernel: $p"
		else
			result NOTE "$label.unbind-rendering.kernel" "reported, not failed: $p"
		fi
	fi
	if [ -z "$why" ]; then
		result PASS "$label.unbind-rendering" "unbound while kmscube rendered through virgl ($last); kmscube ended by itself (exit $rc), module unloaded"
	else
		result FAIL "$label.unbind-rendering" "$why"
	fi
	show_dmesg "$label"
	# Bound again: a fresh client renders.
	load "$label" "$module" || return
	rm -f /tmp/ur.fifo
	if virgl_cube 30 /tmp/ur.out; then
		result PASS "$label.rebind-renders" "after the unbind, bound again: kmscube -c 30 through virgl: $last"
	else
		result FAIL "$label.rebind-renders" "exit $cube_rc: $(tail -n 2 /tmp/ur.out | tr '\n' ' ')"
	fi
	unload "$label" "$module"
	problems "$label" rebind-clean "$strict" "no kernel warnings after binding again"
	show_dmesg "$label"
}

# suspend_lose LABEL MODULE: a 3D client across one suspend/resume cycle (pm_test at devices):
# the suspend destroys its host context, so its next EXECBUFFER fails with ENODEV; its 3D
# resource was created again and reads back; a new file's context works (ours only: the
# 6.12 C driver has no freeze/restore).
suspend_lose() {
	local label=$1 module=$2 client rc
	dmesg -c >/dev/null
	if [ ! -w /sys/power/pm_test ]; then
		result FAIL "$label.suspend-3d" "no /sys/power/pm_test (SUSPEND and PM_DEBUG in qemu/kernel.config)"
		return
	fi
	load "$label" "$module" || return
	rm -f /tmp/lost /tmp/lose.out /tmp/lose.err
	vgrs-uapi-test --label "$label" --lose-until /tmp/lost >/tmp/lose.out 2>/tmp/lose.err &
	client=$!
	if wait_line /tmp/lose.err LOSING "$client" 300; then
		echo devices >/sys/power/pm_test
		bounded 120 sh -c 'echo freeze >/sys/power/state' 2>/tmp/suspend.err
		rc=$?
		echo none >/sys/power/pm_test
		if [ "$rc" = 0 ]; then
			result PASS "$label.suspend-3d" "one suspend/resume cycle with a 3D client: $(dmesg | grep -o 'resumed: .*' | tail -n 1)"
		else
			result FAIL "$label.suspend-3d" "the suspend failed or hung (exit $rc): $(cat /tmp/suspend.err)"
		fi
	else
		result FAIL "$label.suspend-3d" "the 3D client did not get ready: $(tail -n 3 /tmp/lose.err | tr '\n' ' ')"
	fi
	touch /tmp/lost
	wait_pid 120 "$client" || result FAIL "$label.suspend-3d-client" "the 3D client failed or hung (exit $?)"
	sed "s/^/[$label suspend-3d] /" /tmp/lose.out /tmp/lose.err
	forward "$label" /tmp/lose.out
	unload "$label" "$module"
	problems "$label" suspend-3d-clean 1 "no kernel warnings over a suspend with a 3D client"
	show_dmesg "$label"
}

# fence_watchdog LABEL MODULE (ours): a fenced submission nobody in the kernel waits for, on
# a device that stops answering (debugfs vgrs_drop_responses, every answer dropped), with
# cmd_timeout_ms cut to 2 s. The queues' watchdog must reset the device, and the fence signal
# with an error within 15 s (vgrs-uapi-test --fence-hang), not never; then answers on again,
# the device unbound and bound, and kmscube renders through virgl.
fence_watchdog() {
	local label=$1 module=$2 knob client rc last why=""
	dmesg -c >/dev/null
	load "$label" "$module" || return
	knob=$(ls /sys/kernel/debug/dri/*/vgrs_drop_responses 2>/dev/null | head -n 1)
	if [ -z "$knob" ]; then
		result FAIL "$label.fence-watchdog" "no vgrs_drop_responses in /sys/kernel/debug/dri/*"
		unload "$label" "$module"
		return
	fi
	rm -f /tmp/hang.go
	vgrs-uapi-test --label "$label" --fence-hang /tmp/hang.go >/tmp/hang.out 2>/tmp/hang.err &
	client=$!
	if wait_line /tmp/hang.err READY "$client" 300; then
		echo 2000 >"/sys/module/$module/parameters/cmd_timeout_ms"
		echo 1000000 >"$knob"
		touch /tmp/hang.go
	else
		why="the client did not get ready; "
	fi
	wait_pid 40 "$client"
	rc=$?
	[ "$rc" -le 1 ] || why="${why}the client did not finish (exit $rc); "
	echo 0 >"$knob"
	echo 20000 >"/sys/module/$module/parameters/cmd_timeout_ms"
	sed "s/^/[$label fence-hang] /" /tmp/hang.out /tmp/hang.err
	forward "$label" /tmp/hang.out
	dmesg | grep -q 'watchdog: the device answered nothing for 2000 ms' ||
		why="${why}no reset by the watchdog in the log; "
	bounded 30 modprobe -r "$module" 2>/dev/null
	if load "$label" "$module"; then
		virgl_cube 10 /tmp/fw.out ||
			why="${why}kmscube after the rebind: exit $cube_rc: $(tail -n 2 /tmp/fw.out | tr '\n' ' '); "
	else
		why="${why}the driver did not bind again; "
	fi
	if [ -z "$why" ]; then
		result PASS "$label.fence-watchdog" "every answer dropped with a fenced submission pending: the watchdog reset the device after 2000 ms, the fence signalled with an error; bound again, kmscube: $last"
	else
		result FAIL "$label.fence-watchdog" "$why"
	fi
	unload "$label" "$module"
	problems "$label" fence-watchdog-clean 1 "no kernel warning, hung task or leak over the reset, rebind and unload"
	show_dmesg "$label"
}

# vgrs.kmscube_frames=N on the command line: frames per kmscube run (default 300).
frames=${KMSCUBE_FRAMES:-$(param number kmscube_frames 300)}
each_driver virgl virgl_driver
each_driver virgl unbind_rendering
if echo " $(selected_drivers virgl) " | grep -q ' rs '; then
	fence_hold rs virtio_gpu_rs
	fence_watchdog rs virtio_gpu_rs
	# vgrs.virgl_quick (the debug kernel's run, at the CI budget): make check runs it.
	grep -q 'vgrs\.virgl_quick' /proc/cmdline || suspend_lose rs virtio_gpu_rs
fi
if [ -s /tmp/caps-rs.txt ] && [ -s /tmp/caps-c.txt ]; then
	if cmp -s /tmp/caps-rs.txt /tmp/caps-c.txt; then
		result PASS virgl-caps-rs-vs-c "the same capset data on both drivers: $(tr '\n' ' ' </tmp/caps-rs.txt)"
	else
		result FAIL virgl-caps-rs-vs-c "capsets differ: rs: $(tr '\n' ' ' </tmp/caps-rs.txt) c: $(tr '\n' ' ' </tmp/caps-c.txt)"
	fi
fi
