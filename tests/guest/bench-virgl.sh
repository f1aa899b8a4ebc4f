# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "bench-virgl" (`make bench`, second boot: `qemu/run.py --gl`): the 3D path
# measured on the C driver and on ours, in the same boot, five rounds by default, alternating
# C and ours (and which goes first); each figure is the median of the rounds, printed with
# its range (single runs move by 10-30 % here). Not a test: nothing fails on a number.
#
#   kmscube        kmscube through Mesa virgl, 300 frames, frames/s (higher is better). Paced
#                  by each driver's page-flip events: both send the event of a flip to a
#                  host-rendered buffer at once (ours keeps the emulated vblank for dumb
#                  buffers)
#   glmark2        glmark2-es2-drm over three scenes of 2 s, every frame shown (the visual
#                  without alpha, which the primary planes scan out), higher is better: its
#                  score without the rounding, the mean of the scenes' 1000 / FrameTime (ms).
#                  glmark2 prints whole frames/s, and takes the largest mode, 5120x2160 here,
#                  where a scene runs at 8 to 13 frames/s: a point would be 10 %
#   glmark2-frametime  the mean of the three scenes' frame times, milliseconds (lower is
#                  better)
#   exec-wait      EXECBUFFER (one buffer object) + WAIT round trips/s (higher is better)
#   exec-ctxt, exec-irq  the guest's context switches and interrupts per round trip of
#                  exec-wait (lower is better): counts, which the host's load does not move
#   fence-latency  submission to sync_file signalled, mean microseconds (lower is better)
#   fence-latency-median  the median of the same submissions. `make bench` boots with the
#                  TSC as the clock (run.py --tsc): otherwise the guest's clock
#                  (refined-jiffies under TCG) ticks every 4 ms, the median reads 0 and only
#                  the mean is a latency
#
# vgrs.bench_secs=N sets the seconds per submission figure (default 3); vgrs.bench_rounds=N
# the rounds (default 5).

secs=$(param number bench_secs 3)
ROUNDS=$(param number bench_rounds 5)
rm -f /tmp/b3d.*
mkfifo /tmp/b3d.fifo
exec 6<>/tmp/b3d.fifo

# round LABEL MODULE: one round of every figure on one driver, appended to /tmp/b3d.LABEL.
round() {
	local label=$1 module=$2 fps score
	dmesg -c >/dev/null
	load "$label" "$module" || return
	# kmscube ends when its stdin is readable: an empty fifo the shell keeps open is not (a
	# background job's stdin is /dev/null unless redirected on the job itself).
	kmscube -c 300 </tmp/b3d.fifo >/tmp/cube.out 2>&1 &
	wait_pid 120 $!
	fps=$(sed -n 's/.*Rendered [0-9]* frames in [0-9.]* sec (\([0-9.]*\) fps).*/\1/p' /tmp/cube.out | tail -n1)
	grep -q 'renderer: "virgl' /tmp/cube.out || fps=""
	[ -n "$fps" ] && echo "kmscube $fps frames/s" >>"/tmp/b3d.$label"
	bounded 120 glmark2-es2-drm --visual-config alpha=0 -b build:duration=2 -b texture:duration=2 \
		-b shading:shading=phong:duration=2 </dev/null >/tmp/glmark2.out 2>&1
	score=$(sed -n 's/.*glmark2 Score: *\([0-9]*\).*/\1/p' /tmp/glmark2.out)
	# glmark2's score is the scenes' mean frames/s in whole frames; their frame times are
	# printed to the microsecond, and give the same mean unrounded.
	sed -n 's/.*FrameTime: *\([0-9.]*\) ms.*/\1/p' /tmp/glmark2.out |
		awk -v score="$score" '$1 > 0 { s += 1000 / $1; t += $1; n++ }
			END { if (n == 3 && score != "") {
				printf "glmark2 %.2f score\n", s / n
				printf "glmark2-frametime %.3f ms\n", t / n } }' >>"/tmp/b3d.$label"
	echo "@@VGRS log bench-virgl $label: glmark2 score $score (its own, whole frames/s)"
	bounded 120 vgrs-uapi-test --bench-exec "$secs" --label "$label" >/tmp/bexec.out 2>&1
	sed -n 's/^BENCH //p' /tmp/bexec.out >>"/tmp/b3d.$label"
	unload "$label" "$module"
	problems "$label" clean 0 "no kernel warnings over the round"
	show_dmesg "$label"
}

i=1
while [ "$i" -le "$ROUNDS" ]; do
	echo "@@VGRS log bench-virgl: round $i of $ROUNDS"
	bench_pair "$i" round
	i=$((i + 1))
done

echo "@@VGRS log clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
echo "@@VGRS log $(printf '%-20s %24s %24s %8s %7s  %s' figure 'C driver (range)' 'virtio_gpu_rs (range)' 'rs / C' paired unit)"
for name in kmscube glmark2 exec-wait; do
	bench_row bench3d /tmp/b3d.c /tmp/b3d.rs "" "$name" 20
done
for name in glmark2-frametime exec-ctxt exec-irq fence-latency fence-latency-median; do
	bench_row bench3d /tmp/b3d.c /tmp/b3d.rs "" "$name" 20 "(lower is better)"
done
