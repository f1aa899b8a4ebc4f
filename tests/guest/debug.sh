# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "debug" (`make check-debug`): the scenarios of `make check` that need no
# second head or window (probe, uapi, kms, display without kmscube) plus the queue teardown
# stress, on one
# driver (vgrs.drivers=rs or c: each driver has a boot of its own, because lockdep stops after
# its first report), under the debug kernel's detectors; then kmemleak. Every scenario checks
# the kernel log with `problems`, which knows the detectors' reports.

# vgrs.canary=1: the KASAN canary first (its report is expected; every scenario below clears
# the kernel log before it starts, and KASAN keeps reporting with kasan_multi_shot).
if grep -q 'vgrs\.canary=1' /proc/cmdline; then
	. /guest/kasan-canary.sh
fi
[ -e /sys/kernel/debug/kmemleak ] && echo clear >/sys/kernel/debug/kmemleak
# Everything is several times slower under KASAN and TCG: no kmscube (it renders in software
# in the guest, under a frame a second here; `make check` runs it) and fewer create/destroy
# cycles.
export KMSCUBE_FRAMES=0
export VGRS_CYCLES=200
for s in probe uapi kms display panic teardown; do
	echo "@@VGRS log debug: scenario $s"
	. "/guest/$s.sh"
done

# kmemleak_check LABEL STRICT: scans twice (it reports only objects that stayed unreferenced
# for a scan and are older than 5 s) and reports the suspected leaks whose allocation
# backtrace reaches DRM or a module (ours or the C driver's; addresses of an unloaded module
# print as bare numbers): FAIL for ours, NOTE for the C driver. Others are counted as noise.
kmemleak_check() {
	local label=$1 strict=$2 f=/sys/kernel/debug/kmemleak all ours
	if [ ! -e "$f" ]; then
		result FAIL "$label.kmemleak" "no $f: is this the debug kernel?"
		return
	fi
	echo scan >"$f"
	sleep 6
	echo scan >"$f"
	cat "$f" >/tmp/kmemleak.txt
	all=$(grep -c '^unreferenced object' /tmp/kmemleak.txt)
	# One record per reported object (busybox awk takes a string RS).
	ours=$(awk 'BEGIN { RS = "unreferenced object" }
		/drm_|virtio_gpu|\[<[0-9a-f]+>\] 0x/ { n++ } END { print n + 0 }' /tmp/kmemleak.txt)
	sed "s/^/[$label kmemleak] /" /tmp/kmemleak.txt | head -n 200
	if [ "$ours" = 0 ]; then
		result PASS "$label.kmemleak" "no suspected leak from DRM or the driver ($all in the rest of the kernel)"
	elif [ "$strict" = 1 ]; then
		result FAIL "$label.kmemleak" "$ours suspected leaks with DRM or driver frames (see the console log)"
	else
		result NOTE "$label.kmemleak" "reported, not failed: $ours suspected leaks with DRM or driver frames"
	fi
}

for d in $(selected_drivers drivers); do
	case $d in
	rs) kmemleak_check rs 1 ;;
	c) kmemleak_check c 0 ;;
	esac
done
