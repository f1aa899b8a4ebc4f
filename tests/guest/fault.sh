# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "fault" (debug kernel: FAULT_INJECTION, FAILSLAB, FAIL_PAGE_ALLOC with the
# stack-trace filter): allocation failures aimed at our driver. The fault attributes of both
# injectors are limited to allocations with a frame inside the module's code (its text symbols'
# range from /proc/kallsyms as `require-start`/`require-end`), sleeping allocations included,
# and fire only
# through the per-task counter fail-nth; then `vgrs-uapi-test --fault` fails the operations'
# allocations one at a time (dumb buffers, ADDFB2, SETCRTC, RESOURCE_CREATE and MAP; with
# vgrs.fault_virgl instead a new file's 3D context, EXECBUFFER with an out fence, a fenced
# readback: the 3D boot leaves the 2D operations to the other debug boot):
# each failure must give an errno or be done without, the operation must work right after,
# and the kernel log must stay clean (kmemleak runs at the end of the boot). With
# vgrs.fault_fuzz, the ioctl fuzzer then runs with 10% of the driver's allocations failing.

# fault_setup MODULE: aims both injectors at MODULE's code (from its first to its last text
# symbol in /proc/kallsyms, plus a page for the last function); fails if the kernel cannot.
fault_setup() {
	local first last start end d
	first=$(awk -v m="[$1]" '$4 == m && ($2 == "t" || $2 == "T") { print $1 }' /proc/kallsyms | sort | head -n1)
	last=$(awk -v m="[$1]" '$4 == m && ($2 == "t" || $2 == "T") { print $1 }' /proc/kallsyms | sort | tail -n1)
	[ -n "$first" ] && [ -n "$last" ] || return 1
	# The attributes take hexadecimal (kstrtoull with base 0); the shell's arithmetic is
	# signed, but the bits of the sum are right.
	start="0x$first"
	end=$(printf '0x%x' $((0x$last + 4096)))
	for d in /sys/kernel/debug/failslab /sys/kernel/debug/fail_page_alloc; do
		[ -d "$d" ] || return 1
		echo 0 >"$d/probability"
		echo 0 >"$d/verbose"
		echo "$start" >"$d/require-start"
		echo "$end" >"$d/require-end"
		echo 32 >"$d/stacktrace-depth"
		echo N >"$d/ignore-gfp-wait"
	done
	echo N >/sys/kernel/debug/failslab/cache-filter
	echo N >/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem
	echo 0 >/sys/kernel/debug/fail_page_alloc/min-order
	echo "$1's text, 0x$first to 0x$last"
}

# fault_depth FRAMES: how deep both injectors look for a frame of the module (32 by default,
# fault_setup; the load runs use 12).
fault_depth() {
	local d
	for d in /sys/kernel/debug/failslab /sys/kernel/debug/fail_page_alloc; do
		echo "$1" >"$d/stacktrace-depth"
	done
}

# fault_verbose LEVEL: what both injectors log of a failure they inject (0 nothing, 2 with
# its stack).
fault_verbose() {
	local d
	for d in /sys/kernel/debug/failslab /sys/kernel/debug/fail_page_alloc; do
		echo "$1" >"$d/verbose"
	done
}

# fault_random PERCENT: both injectors fail PERCENT% of the allocations the module filter
# lets through, in every task, without limit; 0 turns them off and clears a reject range.
fault_random() {
	local d
	for d in /sys/kernel/debug/failslab /sys/kernel/debug/fail_page_alloc; do
		if [ "$1" = 0 ]; then
			echo 0 >"$d/probability"
			echo 0 >"$d/reject-start"
			echo 0 >"$d/reject-end"
		else
			echo N >"$d/task-filter"
			echo 1 >"$d/interval"
			echo -1 >"$d/times"
			echo "$1" >"$d/probability"
		fi
	done
}

# fault_fuzz LABEL: vgrs-fuzz (seed 7, 3 threads x 500 ioctls) with one in 10 of the
# driver's allocations failing at random, in every task (the injectors stay aimed at the
# module's code); then the device must still show the four bars. The ENOMEM count of the
# fuzzer's errno histograms shows that failures reached the ioctls.
fault_fuzz() {
	local label=$1 rc n enomem why=""
	# Not in fbdev's damage worker: when the fbdev emulation's dirty callback fails (our
	# allocations in the atomic commit that drm_atomic_helper_dirtyfb makes), 6.12's
	# drm_fbdev_shmem_helper_fb_dirty WARNs once (and retries later), for any driver whose
	# commit can fail with ENOMEM: a DRM core choice, not a driver bug (docs/robustness.md).
	fault_reject drm_fb_helper_damage_work
	fault_random 10
	RUST_BACKTRACE=1 bounded 600 vgrs-fuzz --seed 7 --iters 500 --threads 3 --label "$label" \
		>/tmp/ffuzz.out 2>&1
	rc=$?
	fault_random 0
	sed "s/^/[$label fault-fuzz] /" /tmp/ffuzz.out
	n=$(sed -n 's/^FUZZ [^ ]* \([0-9]*\) ioctls.*/\1/p' /tmp/ffuzz.out)
	enomem=$(grep '^HIST' /tmp/ffuzz.out | grep -o 'ENOMEM:[0-9]*' | awk -F: '{ s += $2 } END { print s + 0 }')
	[ "$rc" = 0 ] && [ -n "$n" ] || why="the fuzzer exited $rc: $(grep -v '^HIST' /tmp/ffuzz.out | tail -n 2 | tr '\n' ' '); "
	[ "${enomem:-0}" -gt 0 ] || why="${why}no ioctl saw ENOMEM: no failure reached the driver; "
	if show_start; then
		check_bars "$label" "$label-after-fault-fuzz" "" 0 || why="${why}the bars are wrong afterwards; "
	else
		why="${why}no picture afterwards: $(cat /tmp/show.err); "
	fi
	show_stop
	if [ -z "$why" ]; then
		result PASS "$label.fault-fuzz" "$n ioctls with 10% of the driver's allocations failing: ENOMEM $enomem times, the device shows the bars afterwards"
	else
		result FAIL "$label.fault-fuzz" "$why"
	fi
}

# fault_lifecycle LABEL MODULE: ten unload, load and use cycles with 1% of the driver's
# allocations failing at random (probe, the DRM device, the first modeset, the
# open): each load either binds the device or fails with an errno (no card0), no modprobe
# hangs; then, with no failures, the driver loads and shows the four bars.
# fault_reject_core: no failures in drm_sysfs_minor_alloc: when it fails, 6.12's
# drm_dev_init error path puts the minor's ERR_PTR device (drm_minor_alloc_release ->
# put_device) and oopses in kobject_put, for any DRM driver (a DRM core bug;
# docs/robustness.md). `fault_random 0` clears it.
fault_reject_core() {
	fault_reject drm_sysfs_minor_alloc
}

# fault_reject FUNCTION: no failures of allocations with FUNCTION on their stack (the
# injectors' one reject range, from its address to the next symbol's); `fault_random 0`
# clears it.
fault_reject() {
	local d sym next
	sym=$(awk -v f="$1" '$3 == f { print $1 }' /proc/kallsyms | head -n1)
	next=$(awk -v s="$sym" '$1 > s { print $1 }' /proc/kallsyms | sort | head -n1)
	if [ -n "$sym" ] && [ -n "$next" ]; then
		for d in /sys/kernel/debug/failslab /sys/kernel/debug/fail_page_alloc; do
			echo "0x$sym" >"$d/reject-start"
			echo "0x$next" >"$d/reject-end"
		done
	fi
}

fault_lifecycle() {
	local label=$1 module=$2 i=0 bound=0 refused=0 why="" rc
	fault_reject_core
	# Only allocations within 12 frames of the driver's code: its own (through the kernel
	# crate's allocators) and those of the helpers it calls directly. During a load every
	# allocation has the module's init on its stack, deep inside the driver core's kobjects,
	# the MSI-X and IRQ descriptor setup of find_vqs and DRM's pseudo filesystem; failing
	# those tests their error paths, not ours, and the IRQ core's warns when its proc entry
	# is missing (docs/robustness.md).
	fault_depth 12
	# 1%: a probe makes a few hundred allocations, so some loads fail and some bind (at 3%
	# every one failed, and nothing was tested after a successful probe).
	fault_random 1
	while [ "$i" -lt 10 ]; do
		i=$((i + 1))
		bounded 30 modprobe -r "$module" 2>/dev/null
		[ "$?" = 124 ] && { why="modprobe -r hung in cycle $i; "; break; }
		bounded 30 modprobe "$module" 2>/dev/null
		rc=$?
		[ "$rc" = 124 ] && { why="modprobe hung in cycle $i; "; break; }
		if [ "$rc" = 0 ] && wait_for /dev/dri/card0 5; then
			bounded 30 modetest -M virtio_gpu -c >/dev/null 2>&1
			[ "$?" = 124 ] && { why="modetest hung in cycle $i; "; break; }
			bound=$((bound + 1))
		else
			refused=$((refused + 1))
		fi
	done
	fault_random 0
	fault_depth 32
	bounded 30 modprobe -r "$module" 2>/dev/null
	if [ -z "$why" ] && load "$label" "$module" && show_start; then
		check_bars "$label" "$label-after-fault-lifecycle" "" 0 || why="the bars are wrong afterwards; "
	else
		why="${why}no picture after the cycles: $(cat /tmp/show.err 2>/dev/null); "
	fi
	show_stop
	[ "$bound" -gt 0 ] && [ "$refused" -gt 0 ] ||
		why="${why}want both outcomes in 10 cycles, got $bound bound and $refused refused (the failure rate tests nothing else); "
	if [ -z "$why" ]; then
		result PASS "$label.fault-lifecycle" "10 load/use/unload cycles with 1% of the driver's allocations failing: $bound bound, $refused refused (a failed probe); a clean load afterwards shows the bars"
	else
		result FAIL "$label.fault-lifecycle" "$why"
	fi
}

# fault_probe_sweep LABEL MODULE: every allocation of a probe fails in turn. The device is
# unbound, then bound through sysfs from a shell whose fail-nth is N (the bind runs the probe
# in the writing task, so N counts the probe's allocations that have a driver frame within
# DEPTH frames of the allocation: vgrs.sweep_depth, default 8, which takes the driver's own
# allocations and those of the calls it makes, not all of DRM core's registration), for
# N = 1, 2, ... until a bind completes without reaching an N-th allocation (fail-nth still
# reads non-zero). Each failed bind must leave the device unbound and the kernel clean; each
# bind that binds must show card0. At most vgrs.sweep_max steps (default 600; about 6 s a
# step under the debug kernel).
fault_probe_sweep() {
	local label=$1 module=$2 dev n=0 left bound=0 refused=0 why="" depth max from p
	dev=$(gpu_dev) || { result FAIL "$label.fault-probe" "no virtio-gpu device"; return; }
	depth=$(param number sweep_depth 8)
	max=$(param number sweep_max 600)
	from=$(param number sweep_from)
	# vgrs.sweep_from=N starts at step N (to go back to a finding without the steps before).
	[ -n "$from" ] && [ "$from" -gt 1 ] && n=$((from - 1))
	# fbcon must stay off our framebuffer (boot with fbcon=map:9, no console on fb0): 6.12's
	# register_framebuffer goes on when its pixmap allocation fails, and fbcon then draws
	# its glyphs through a NULL pixmap (KASAN null-ptr-deref in fb_pad_aligned_buffer, the
	# sweep's step 207). An fbdev core bug, for every DRM driver; docs/robustness.md.
	if ! grep -q 'fbcon=map:9' /proc/cmdline; then
		result FAIL "$label.fault-probe" "not run: boot with fbcon=map:9 (fbcon draws through the NULL pixmap that register_framebuffer leaves when its allocation fails; docs/robustness.md)"
		return
	fi
	# fail-nth needs only the stack filter (probability stays 0: nothing fails at random).
	fault_reject_core
	fault_depth "$depth"
	# Each step's injected failure with its stack in the kernel log (verbose 2), printed
	# with the report when a step fails.
	fault_verbose 2
	while [ "$n" -lt "$max" ]; do
		n=$((n + 1))
		[ -e "/sys/bus/virtio/drivers/$module/$dev" ] &&
			{ bounded 30 sh -c "echo $dev >/sys/bus/virtio/drivers/$module/unbind" ||
				{ why="unbind hung at step $n; "; break; }; }
		# One shell: arm fail-nth, bind (the probe runs in this task), read fail-nth back,
		# all with builtins: a forked `cat` would read its own fail-nth (a new task's is 0).
		left=$(bounded 30 sh -c "echo $n >/proc/self/fail-nth; echo $dev >/sys/bus/virtio/drivers/$module/bind 2>/dev/null; read -r l </proc/self/fail-nth; echo \$l")
		[ "$?" = 124 ] && { why="bind hung at step $n; "; break; }
		if [ -e "/sys/bus/virtio/drivers/$module/$dev" ]; then
			wait_for /dev/dri/card0 5 || { why="bound at step $n without card0; "; break; }
			bound=$((bound + 1))
		else
			refused=$((refused + 1))
		fi
		p=$(kernel_problems)
		if [ -n "$p" ]; then
			why="step $n: $(echo "$p" | head -n1); "
			# The whole report, for the console log (the guest may not get much further).
			dmesg | tail -n 200 | sed "s/^/[$label fault-probe] /"
			break
		fi
		[ $((n % 20)) = 0 ] && echo "@@VGRS log fault-probe: step $n, $refused refused, $bound bound"
		# Not injected: the probe made fewer than N such allocations; the sweep is complete.
		[ "${left:-0}" != 0 ] && break
	done
	fault_random 0
	fault_depth 32
	fault_verbose 0
	[ "${left:-0}" != 0 ] || why="${why}the sweep did not reach the end of the probe in $n steps; "
	[ "$refused" -gt 0 ] || why="${why}no bind was refused: no failure reached the probe; "
	if [ -z "$why" ]; then
		result PASS "$label.fault-probe" "each of the probe's $((n - 1)) allocations with a driver frame within $depth failed in turn: $refused binds refused cleanly, $bound bound without them; step $n bound with no failure"
	else
		result FAIL "$label.fault-probe" "$why"
	fi
}

# fault_driver LABEL MODULE STRICT
fault_driver() {
	local label=$1 module=$2 strict=$3 where extra=""
	dmesg -c >/dev/null
	load "$label" "$module" || return
	if where=$(fault_setup "$module"); then
		result PASS "$label.fault-setup" "both injectors aimed at $where"
		grep -q 'vgrs\.fault_virgl' /proc/cmdline && extra=--virgl
		# vgrs.sweep_only: no ioctl runs, only what the lifecycle options below ask for.
		if ! grep -q 'vgrs\.sweep_only' /proc/cmdline; then
			run_test "$label" fault 600 vgrs-uapi-test --label "$label" --fault $extra
			# vgrs.fault_fuzz: the fuzzer with allocations failing at random, too.
			grep -q 'vgrs\.fault_fuzz' /proc/cmdline && fault_fuzz "$label"
		fi
		# vgrs.fault_lifecycle: load and unload cycles with allocations failing at random.
		grep -q 'vgrs\.fault_lifecycle' /proc/cmdline && fault_lifecycle "$label" "$module"
		# vgrs.fault_sweep: every allocation of a probe failing in turn (with fbcon=map:9).
		grep -q 'vgrs\.fault_sweep' /proc/cmdline && fault_probe_sweep "$label" "$module"
	else
		result FAIL "$label.fault-setup" "no fault injection in this kernel (make check-debug builds one) or $module not in /proc/modules"
	fi
	unload "$label" "$module"
	problems "$label" fault-clean "$strict" "no kernel warnings with allocations failing in the driver"
	show_dmesg "$label"
}

each_driver fault fault_driver
