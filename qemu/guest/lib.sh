# SPDX-License-Identifier: GPL-2.0
#
# Helpers for guest scenarios (sourced by /init).

# result PASS|FAIL|SKIP|NOTE NAME [DETAIL]: reports one check to the host runner.
result() {
	echo "@@VGRS result $1 $2 ${3:-}"
}

# info KEY VALUE: a fact for the `make run` summary.
info() {
	echo "@@VGRS info $1 $2"
}

# dump NAME [HEAD]: asks the host for a QMP screendump (saved as NAME.png) and waits for it.
# Returns non-zero if the host could not take it.
dump() {
	echo "@@VGRS dump $1 ${2:-}"
	local ans
	read -r ans
	case "$ans" in dumped*) return 0 ;; *) echo "dump failed: $ans"; return 1 ;; esac
}

# gpu_dev: prints the name of the virtio-gpu device (virtio id 16), e.g. virtio0.
gpu_dev() {
	local d
	for d in /sys/bus/virtio/devices/*; do
		if [ "$(cat "$d/device")" = 0x0010 ]; then
			basename "$d"
			return 0
		fi
	done
	return 1
}

# kernel_problems: prints the dmesg lines that mean a kernel bug (warnings, oopses, leaks).
kernel_problems() {
	dmesg | grep -E 'WARNING:|BUG:|Oops|refcount_t:|use-after-free|UBSAN|possible circular|INFO: task|leak' || true
}

# show_dmesg LABEL: copies the kernel log into the console log, then clears it.
show_dmesg() {
	dmesg | sed "s/^/[$1] /"
	dmesg -c >/dev/null
}

# log_dmesg PATTERN: shows the matching kernel log lines on the host even in quiet runs.
log_dmesg() {
	dmesg | grep -E "$1" | while read -r l; do echo "@@VGRS log $l"; done
}
