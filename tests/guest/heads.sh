# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "heads": two scanouts (`qemu/run.py --heads 2`). QEMU enables only head 0
# unless a UI enables more, so the kernel command line forces the second connector on
# (`video=Virtual-2:e`, which both drivers honour). vgrs-kms-test --show then scans out a
# different picture on each head at once (the bars rotated by the head's index), and a
# screendump of each head (QMP `screendump` with `head`) must show that head's own picture.
# Our driver (rs) first, then the C driver (c).

# heads_driver LABEL MODULE STRICT
heads_driver() {
	local label=$1 module=$2 strict=$3 heads
	dmesg -c >/dev/null
	load "$label" "$module" || return
	if show_start; then
		heads=$(sed -n 's/^SHOWING \([0-9]*\) heads/\1/p' /tmp/show.err)
		sed "s/^/[$label show] /" /tmp/show.err
		if [ "$heads" = 2 ]; then
			result PASS "$label.two-heads" "both connectors connected and scanned out: $(grep -c '^SHOWING connector' /tmp/show.err) CRTCs set"
		else
			result FAIL "$label.two-heads" "scanned out on ${heads:-no} heads, want 2: $(tr '\n' ' ' </tmp/show.err)"
		fi
		check_bars "$label" "$label-head0" 0 0
		check_bars "$label" "$label-head1" 1 1
	else
		result FAIL "$label.two-heads" "vgrs-kms-test --show: $(tail -n 2 /tmp/show.err)"
	fi
	show_stop
	unload "$label" "$module"
	problems "$label" clean "$strict" "no kernel warnings over the two-head run"
	show_dmesg "$label"
}

each_driver heads heads_driver
