# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "profile" (in no check: boot the profile kernel, VGRS_KERNEL=profile, with
# `qemu/run.py --gl`; docs/testing.md, Profiling): what one operation makes the kernel do,
# on the C driver and on ours, in the same boot. The operation (vgrs.profile_what):
#
#   exec     an EXECBUFFER (one buffer object) + WAIT round trip (`vgrs-uapi-test --exec-loop`)
#   dumb     a 1280x800 dumb buffer created, mapped and destroyed (`vgrs-kms-test --dumb-loop`)
#   glmark2  a frame of glmark2-es2-drm's build scene, or vgrs.profile_scene's (N: its
#            seconds; the frames are counted
#            as the page flips the profiler saw)
#
# For each driver, after a warm-up, N operations run with the function profiler on and the
# lock statistics cleared; then per operation:
#
#   PROFILE <label> fn <function> <calls>       kernel functions called at least once per
#                                               ten round trips (the driver's own Rust code
#                                               is not instrumented in 6.12; the kernel
#                                               functions it calls are)
#   PROFILE <label> time <function> <us>        the same functions' time, callees included
#                                               and time asleep excluded (the profiler's
#                                               graph time without sleep-time): CPU time
#                                               per round trip, inflated by the profiler
#   PROFILE <label> lock <class> <acquisitions> lock classes taken as often
#   PROFILE <label> total-locks <acquisitions>  every lock acquisition
#
# The counts are exact; the times are the profiler's (it slows everything down), for
# comparing the two drivers' shares, not as figures. Compare the two drivers with
# qemu/profile-diff.py.
#
# vgrs.profile_n=N sets the operations (default 2000 round trips, 200 dumb buffers, 10 s of
# glmark2).

what=$(param profile_what)
# vgrs.profile_scene: glmark2's scene (default build; e.g. texture).
scene=$(param profile_scene build)
n=$(param number profile_n)
case "${what:-exec}" in
exec) what=exec default=2000 ;;
dumb) what=dumb default=200 ;;
glmark2) default=10 ;;
*) result FAIL profile "vgrs.profile_what=$what: want exec, dumb or glmark2" default= ;;
esac
[ -n "$n" ] || n=${default:-0}

# workload N LABEL: N operations of the kind profiled (for glmark2, N seconds).
workload() {
	case "$what" in
	exec) vgrs-uapi-test --exec-loop "$1" --label "$2" ;;
	dumb) vgrs-kms-test --dumb-loop "$1" --label "$2" ;;
	glmark2)
		bounded 120 glmark2-es2-drm --visual-config alpha=0 -b "$scene:duration=$1" </dev/null ;;
	esac
}
T=/sys/kernel/tracing
[ -e $T/function_profile_enabled ] || mount -t tracefs tracefs $T

profile_one() {
	local label=$1 module=$2
	load "$label" "$module" || return
	if ! workload "$([ "$what" = glmark2 ] && echo 1 || echo 20)" "$label" >/tmp/warm.out 2>&1; then
		result FAIL "$label.profile" "warm-up: $(tail -n 3 /tmp/warm.out)"
		unload "$label" "$module"
		return
	fi
	echo 0 >/proc/lock_stat
	# Time on the CPU only: a function's time leaves out the time it slept.
	echo 0 >$T/options/sleep-time
	# Enabling resets the profiler's counts.
	echo 1 >$T/function_profile_enabled
	workload "$n" "$label" >/tmp/loop.out 2>&1
	local rc=$? ops=$n
	echo 0 >$T/function_profile_enabled
	cp /proc/lock_stat /tmp/lock_stat
	if [ "$what" = glmark2 ]; then
		# A frame is a page flip (glmark2-es2-drm flips every frame).
		ops=$(cat $T/trace_stat/function* | awk '$1 == "drm_mode_page_flip_ioctl" { s += $2 } END { print s + 0 }')
		grep -q FrameTime /tmp/loop.out || rc=1
		[ "$ops" -gt 0 ] || rc=1
	fi
	if [ "$rc" != 0 ]; then
		result FAIL "$label.profile" "$what: $(tail -n 3 /tmp/loop.out)"
		unload "$label" "$module"
		return
	fi
	# trace_stat/functionN: two header lines, then "name hits time unit avg unit s^2 unit".
	cat $T/trace_stat/function* | awk -v n="$ops" -v label="$label" '
		$2 ~ /^[0-9]+$/ {
			hits[$1] += $2
			t = $3
			if ($4 == "ns") t /= 1000
			else if ($4 == "ms") t *= 1000
			us[$1] += t
		}
		END {
			for (f in hits) if (hits[f] * 10 >= n) {
				printf "PROFILE %s fn %s %.2f\n", label, f, hits[f] / n
				printf "PROFILE %s time %s %.2f\n", label, f, us[f] / n
			}
		}' | sort -k5 -n -r >/tmp/prof.$label
	# lock_stat: "name: con-bounces contentions 4 wait times acq-bounces acquisitions ...".
	awk -v n="$ops" -v label="$label" '
		/^ *-+$/ || /^ *\./ { next }
		{
			for (i = 1; i < NF - 8; i++)
				if ($i ~ /:$/ && $(i + 1) ~ /^[0-9]+$/ && $(i + 8) ~ /^[0-9]+$/) {
					name = $1
					for (j = 2; j <= i; j++) name = name "_" $j
					sub(/:$/, "", name)
					acq[name] += $(i + 8)
					total += $(i + 8)
					break
				}
		}
		END {
			for (c in acq) if (acq[c] * 10 >= n) printf "PROFILE %s lock %s %.2f\n", label, c, acq[c] / n
			printf "PROFILE %s total-locks %.2f\n", label, total / n
		}' /tmp/lock_stat >>/tmp/prof.$label
	cat /tmp/prof.$label
	result PASS "$label.profile" "$ops operations ($what) profiled: $(grep -c ' fn ' /tmp/prof.$label) functions, $(sed -n 's/.* total-locks //p' /tmp/prof.$label) lock acquisitions per operation"
	unload "$label" "$module"
}

# (The scenario is sourced by /init: no `exit`, which would end init.)
if [ -n "$default" ]; then
	profile_one c virtio_gpu
	profile_one rs virtio_gpu_rs
fi
