# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "kasan-canary" (`make check-debug`): proves KASAN watches Rust module code
# built with this toolchain. vgrs_kasan_canary.ko reads one byte past a 24-byte allocation
# at load (and then fails to load on purpose); KASAN must report it.

dmesg -c >/dev/null
modprobe vgrs_kasan_canary 2>/dev/null
if dmesg | grep -q 'BUG: KASAN: slab-out-of-bounds'; then
	where=$(dmesg | grep -m1 'BUG: KASAN' | sed 's/.* in //')
	if dmesg | grep -q 'vgrs_kasan_canary'; then
		result PASS kasan.canary "KASAN reported the Rust out-of-bounds read: slab-out-of-bounds in $where"
	else
		result FAIL kasan.canary "a KASAN report, but not from the canary module: $where"
	fi
else
	result FAIL kasan.canary "no KASAN report for the canary's out-of-bounds read (is KASAN on, and does rustc instrument the module?)"
fi
show_dmesg canary
