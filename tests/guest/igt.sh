# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "igt" (`make igt`): runs igt-gpu-tools tests on each driver, one subtest per
# process with its own time limit, as igt_runner does. The image carries igt under /usr
# (tools/igt-build.sh), the test list in /guest/igt/tests.txt and the skip list (regular
# expressions over BINARY@SUBTEST) in /guest/igt/skips.txt. The list has one line per binary:
#
#   BINARY [SECS [SUBTEST-PATTERN...]]
#
# (SECS: the time limit of each subtest, default 60; the patterns, shell globs, pick
# subtests, default all). For every subtest and driver it prints one line for the host
# (tests/igt-report.py):
#
#   @@VGRS igt LABEL BINARY@SUBTEST[@DYNAMIC] RESULT SECONDS
#
# RESULT is igt's word in lower case (pass, fail, skip) or, when the process gave none,
# timeout, crash or abort; a pass or fail with a kernel warning in the log meanwhile becomes
# dmesg-warn or dmesg-fail (the warning is printed). igt's own output goes to the console log.

IGT_BIN=/usr/libexec/igt-gpu-tools

# igt_subtest LABEL BINARY SUBTEST SECS: runs one subtest, reports it (and its dynamic
# subtests, if any).
igt_subtest() {
	local label=$1 bin=$2 sub=$3 secs=$4 rc t0 t1 res p dyn=0 line name word
	dmesg -c >/dev/null
	t0=$(cut -d' ' -f1 /proc/uptime)
	bounded "$secs" "$IGT_BIN/$bin" --run-subtest "$sub" >/tmp/igt.out 2>&1
	rc=$?
	t1=$(cut -d' ' -f1 /proc/uptime)
	sed "s/^/[$label $bin@$sub] /" /tmp/igt.out
	p=$(kernel_problems | head -n1)
	[ -n "$p" ] && echo "[$label $bin@$sub] kernel: $p"
	# Dynamic subtests report each on its own line.
	while read -r line; do
		name=$(echo "$line" | sed -n 's/^Dynamic subtest \([^:]*\): \([A-Z]*\).*/\1/p')
		word=$(echo "$line" | sed -n 's/^Dynamic subtest [^:]*: \([A-Z]*\).*/\1/p')
		[ -n "$name" ] || continue
		dyn=1
		igt_line "$label" "$bin@$sub@$name" "$word" "$p" "$(echo "$line" | sed -n 's/.*(\([0-9.]*\)s).*/\1/p')"
	done <<EOF
$(grep '^Dynamic subtest ' /tmp/igt.out)
EOF
	word=$(sed -n 's/^Subtest [^:]*: \([A-Z]*\).*/\1/p' /tmp/igt.out | tail -n1)
	if [ -z "$word" ]; then
		case $rc in
		124) word=TIMEOUT ;;
		0) word=SUCCESS ;;
		77) word=SKIP ;;
		98) word=FAIL ;;
		112) word=ABORT ;;
		*) word=CRASH ;;
		esac
	fi
	# With dynamic subtests the parent's word only summarises them: report it only if it
	# is not a plain pass/skip (a failure outside the dynamic parts, a timeout, a crash).
	if [ "$dyn" = 0 ] || { [ "$word" != SUCCESS ] && [ "$word" != SKIP ]; }; then
		igt_line "$label" "$bin@$sub" "$word" "$p" "$(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }")"
	fi
}

# igt_line LABEL NAME WORD PROBLEM SECS: one result line for the host.
igt_line() {
	local res
	case $3 in
	SUCCESS) res=pass ;;
	*) res=$(echo "$3" | tr 'A-Z' 'a-z') ;;
	esac
	if [ -n "$4" ]; then
		case $res in
		pass) res=dmesg-warn ;;
		fail) res=dmesg-fail ;;
		esac
	fi
	echo "@@VGRS igt $1 $2 $res ${5:-0}"
}

# igt_driver LABEL MODULE STRICT: every listed subtest on one driver.
igt_driver() {
	local label=$1 module=$2 bin secs pats sub p n=0
	dmesg -c >/dev/null
	: >/tmp/lease-uevents
	load "$label" "$module" || return
	while read -r bin secs pats; do
		case "$bin" in '' | '#'*) continue ;; esac
		if [ ! -x "$IGT_BIN/$bin" ]; then
			result FAIL "$label.igt-$bin" "$IGT_BIN/$bin is not in the image"
			continue
		fi
		for sub in $("$IGT_BIN/$bin" --list-subtests 2>/dev/null); do
			if [ -n "$pats" ]; then
				# The patterns are globs for `case`, not for file names.
				set -f
				# shellcheck disable=SC2086
				for p in $pats; do
					# shellcheck disable=SC2254
					case "$sub" in $p) break ;; esac
					p=""
				done
				set +f
				[ -n "$p" ] || continue
			fi
			# The skip list (regular expressions, tests/igt/virtio_gpu_rs-skips.txt).
			if [ -s /guest/igt/skips.txt ] && echo "$bin@$sub" | grep -qE -f /guest/igt/skips.txt; then
				echo "@@VGRS igt $label $bin@$sub notrun 0"
				continue
			fi
			igt_subtest "$label" "$bin" "$sub" "${secs:-60}"
			n=$((n + 1))
		done
	done </guest/igt/tests.txt
	result PASS "$label.igt-ran" "$n subtests run (results in the igt lines; make igt judges them)"
	# What the kernel itself sent (busybox uevent, on the kernel's netlink group): a lease's
	# end is announced with LEASE=1 whether or not udevd passes it on to igt.
	info "$label.kernel-lease-uevents" "$(wc -l </tmp/lease-uevents) uevents with LEASE=1 from the kernel: $(sort -u /tmp/lease-uevents | tr '\n' ' ')"
	[ -f /tmp/udevd.log ] && grep -i 'LEASE\|error\|fail' /tmp/udevd.log | tail -n 20 | sed "s/^/[$label udevd] /"
	unload "$label" "$module"
	show_dmesg "$label"
}

# udevd, when the image has it: igt waits for uevents on udev's netlink group (e.g.
# kms_lease@lease-uevent), where only udevd rebroadcasts the kernel's events. No rules: it
# passes every event on as it came.
if [ -x /usr/lib/systemd/systemd-udevd ]; then
	mkdir -p /run/udev
	/usr/lib/systemd/systemd-udevd --debug >/tmp/udevd.log 2>&1 &
	sleep 1
	if running $!; then
		info igt-udevd "systemd-udevd running (igt hears uevents on the udev group)"
	else
		# The test kernel has no inotify (CONFIG_INOTIFY_USER), which udevd needs.
		info igt-udevd "systemd-udevd exited: $(grep -v '^sd-device' /tmp/udevd.log | tail -n 2 | tr '\n' ' ')"
	fi
else
	info igt-udevd "no systemd-udevd in the image (tools/deps.sh igt installs udev): uevent checks fail"
fi

# The kernel's own uevents with LEASE=1, for comparison with what igt hears through udev.
busybox uevent sh -c '[ "$LEASE" = 1 ] && echo "$ACTION $DEVPATH" >>/tmp/lease-uevents' &

if [ ! -d "$IGT_BIN" ] || [ ! -f /guest/igt/tests.txt ]; then
	result FAIL igt "no igt in the image (make igt builds one with it)"
else
	each_driver igt igt_driver
fi
