# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "fault" (debug kernel: FAULT_INJECTION, FAILSLAB, FAIL_PAGE_ALLOC with the
# stack-trace filter): allocation failures aimed at our driver. The fault attributes of both
# injectors are limited to allocations with a frame inside the module's code (its text symbols'
# range from /proc/kallsyms as `require-start`/`require-end`), sleeping allocations included,
# and fire only
# through the per-task counter fail-nth; then `vgrs-uapi-test --fault` fails the operations'
# allocations one at a time (dumb buffers, ADDFB2, SETCRTC, RESOURCE_CREATE and MAP; with
# vgrs.fault_virgl, a new file's 3D context, EXECBUFFER with an out fence, a fenced readback):
# each failure must give an errno or be done without, the operation must work right after,
# and the kernel log must stay clean (kmemleak runs at the end of the boot).

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

# fault_driver LABEL MODULE STRICT
fault_driver() {
	local label=$1 module=$2 strict=$3 where extra=""
	dmesg -c >/dev/null
	load "$label" "$module" || return
	if where=$(fault_setup "$module"); then
		result PASS "$label.fault-setup" "both injectors aimed at $where"
		grep -q 'vgrs\.fault_virgl' /proc/cmdline && extra=--virgl
		run_test "$label" fault 600 vgrs-uapi-test --label "$label" --fault $extra
	else
		result FAIL "$label.fault-setup" "no fault injection in this kernel (make check-debug builds one) or $module not in /proc/modules"
	fi
	unload "$label" "$module"
	problems "$label" fault-clean "$strict" "no kernel warnings with allocations failing in the driver"
	show_dmesg "$label"
}

each_driver fault fault_driver
