# SPDX-License-Identifier: GPL-2.0
#
# Sourced by tools/kernel.sh and tools/intree.sh: a progress line every 20 s while a long
# build runs.
#
#   with_progress LOG LABEL CMD...
#
# runs CMD with its output appended to LOG and returns its status; meanwhile, every 20 s,
# prints "LABEL: <time>, <N> build steps (log: LOG)" to stderr, N counting make's step lines
# (CC, RUSTC, LD, ...) in LOG so far. CMD runs without the calling make's flags
# (MAKEFLAGS, MFLAGS): under `make -s` (.ci/run's `make -s kernel`) kbuild would inherit the
# silence and print no step lines, and the count would stay 0; CMD gives its own -j. The
# ticker ends as soon as CMD does, its pending sleep included, so nothing holds stderr open
# after the build (a pipe reader then sees the end at once, not up to 20 s later).

with_progress() {
	local log=$1 label=$2 t0 ticker rc=0
	shift 2
	t0=$(date +%s)
	(
		nap=""
		trap 'kill "$nap" 2>/dev/null; exit 0' TERM
		while :; do
			sleep 20 &
			nap=$!
			wait "$nap"
			s=$(($(date +%s) - t0))
			n=$(grep -cE '^  (CC|RUSTC|AS|LD|AR|BINDGEN|EXPORTS)' "$log" 2>/dev/null || true)
			printf '%s: %dm%02ds, %s build steps (log: %s)\n' "$label" $((s / 60)) $((s % 60)) "${n:-0}" "$log"
		done
	) >&2 &
	ticker=$!
	env -u MAKEFLAGS -u MFLAGS "$@" >>"$log" 2>&1 || rc=$?
	kill "$ticker" 2>/dev/null
	wait "$ticker" 2>/dev/null || true
	return "$rc"
}
