# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "suspend": system suspend and resume with the driver bound, through the
# PM core's test mode: /sys/power/pm_test at "devices" and `echo freeze >/sys/power/state`
# freeze the tasks, run every device's suspend callbacks (virtio: the driver's freeze), wait
# suspend.pm_test_delay seconds (the runner boots with 0) and resume (virtio resets the
# device, then the driver's restore). Ours only (vgrs.suspend=rs or vgrs.drivers=rs): the
# 6.12 C driver has no freeze/restore, so virtio resets its device under it.
#
#   suspend/bars        the bars before, SUSPEND_BARS cycles, the bars after: pixel-exact
#   suspend/kmscube     kmscube (software GBM, page flips) running across SUSPEND_CYCLES
#                       cycles: still running afterwards and still drawing new frames
#   keep/*              a client holding a mapped dumb buffer open across all the cycles:
#                       afterwards its mapping, fd, handle and a new buffer work (no error)
#   suspend-clean       no kernel warning; the driver logged each resume
#
# Cycles: vgrs.suspend_cycles=N (default 20) with kmscube, 3 with the bars.

SUSPEND_CYCLES=$(param number suspend_cycles 20)
SUSPEND_BARS=3

# suspend_cycles LABEL N TAG: N suspend/resume cycles; prints how many went through and why
# one did not (the state write fails or hangs).
suspend_cycles() {
	local label=$1 n=$2 tag=$3 i=0 rc
	while [ "$i" -lt "$n" ]; do
		bounded 120 sh -c 'echo freeze >/sys/power/state' 2>/tmp/suspend.err
		rc=$?
		if [ "$rc" != 0 ]; then
			echo "$i; cycle $((i + 1)) of $tag: exit $rc: $(cat /tmp/suspend.err)"
			return 1
		fi
		i=$((i + 1))
	done
	echo "$i"
}

# resumes LABEL: how many resumes the driver logged.
resumes() {
	dmesg | grep -c 'virtio_gpu_rs: .*: resumed:'
}

suspend_driver() {
	local label=$1 module=$2 strict=$3 keeper="" pid ans n why look t0
	dmesg -c >/dev/null
	if [ ! -w /sys/power/pm_test ] || ! grep -qw freeze /sys/power/state; then
		result FAIL "$label.suspend" "no /sys/power/pm_test or no freeze in /sys/power/state (SUSPEND and PM_DEBUG in qemu/kernel.config)"
		return
	fi
	echo devices >/sys/power/pm_test
	load "$label" "$module" || return

	# The bars across a few cycles: the picture must survive pixel for pixel. The keeping
	# client opens after the bars' program, which so stays DRM master.
	if show_start; then
		rm -f /tmp/kept /tmp/keep.out /tmp/keep.err
		vgrs-uapi-test --label "$label" --keep-until /tmp/kept >/tmp/keep.out 2>/tmp/keep.err &
		keeper=$!
		wait_line /tmp/keep.err KEEPING "$keeper" 100 || result FAIL "$label.keep" "the client did not get its buffer mapped: $(cat /tmp/keep.err)"
		check_bars "$label" "$label-suspend-before" "" 0
		t0=$(date +%s)
		if ans=$(suspend_cycles "$label" "$SUSPEND_BARS" bars); then
			sleep 1
			if check_bars "$label" "$label-suspend-after" "" 0; then
				result PASS "$label.suspend/bars" "$ans suspend/resume cycles in $(($(date +%s) - t0)) s with the bars shown: pixel-exact before and after"
			else
				result FAIL "$label.suspend/bars" "the bars differ after $ans cycles"
			fi
		else
			result FAIL "$label.suspend/bars" "cycles done: $ans"
		fi
	else
		result FAIL "$label.suspend/bars" "no picture: $(cat /tmp/show.err)"
	fi
	show_stop

	# kmscube rendering (software GBM: dumb buffers and page flips) across the cycles.
	rm -f /tmp/cube.fifo
	mkfifo /tmp/cube.fifo
	GBM_ALWAYS_SOFTWARE=1 kmscube -c 1000000 </tmp/cube.fifo >/tmp/cube.out 2>&1 &
	pid=$!
	exec 5>/tmp/cube.fifo
	wait_picture "$label-suspend-cube-0" "$pid" 60
	why=""
	case "$look" in *picture) ;; *) why="kmscube showed no picture before the cycles ($look); " ;; esac
	t0=$(date +%s)
	if [ -z "$why" ]; then
		ans=$(suspend_cycles "$label" "$SUSPEND_CYCLES" kmscube) || why="${why}cycles done: $ans; "
	fi
	if [ -z "$why" ]; then
		running "$pid" || why="kmscube ended during the cycles: $(tail -n 3 /tmp/cube.out | tr '\n' ' '); "
	fi
	if [ -z "$why" ]; then
		# New frames after the cycles: two dumps a little apart differ.
		sleep 2
		dump "$label-suspend-cube-1"
		n=0
		ans=""
		while [ "$n" -lt 10 ]; do
			sleep 1
			n=$((n + 1))
			dump "$label-suspend-cube-2" || break
			ans=$(ask compare "$label-suspend-cube-1" "$label-suspend-cube-2")
			case "$ans" in differ*) break ;; esac
		done
		case "$ans" in differ*) ;; *) why="kmscube drew no new frame after the cycles ($ans); " ;; esac
	fi
	kill "$pid" 2>/dev/null
	exec 5>&-
	wait_pid 20 "$pid"
	if [ -z "$why" ]; then
		result PASS "$label.suspend/kmscube" "$SUSPEND_CYCLES suspend/resume cycles in $(($(date +%s) - t0)) s while kmscube rendered: still running and drawing new frames afterwards"
	else
		result FAIL "$label.suspend/kmscube" "$why"
	fi

	touch /tmp/kept
	if [ -n "$keeper" ]; then
		wait_pid 60 "$keeper" || result FAIL "$label.keep" "the client failed or hung (exit $?)"
	else
		result FAIL "$label.keep" "the client was not started (no bars)"
	fi
	sed "s/^/[$label suspend keep] /" /tmp/keep.out /tmp/keep.err
	forward "$label" /tmp/keep.out

	n=$(resumes)
	if [ "$n" -ge $((SUSPEND_BARS + SUSPEND_CYCLES)) ]; then
		result PASS "$label.suspend/resumes" "the driver logged $n resumes for $((SUSPEND_BARS + SUSPEND_CYCLES)) cycles: $(dmesg | grep 'resumed:' | tail -n 1 | sed 's/^\[[^]]*\] //')"
	else
		result FAIL "$label.suspend/resumes" "the driver logged $n resumes for $((SUSPEND_BARS + SUSPEND_CYCLES)) cycles"
	fi
	echo none >/sys/power/pm_test
	unload "$label" "$module"
	problems "$label" suspend-clean "$strict" "no kernel warnings over the suspend/resume cycles and unload"
	show_dmesg "$label"
}

each_driver suspend suspend_driver
