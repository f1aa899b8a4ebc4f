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

# ask REQUEST...: sends a request (compare, look, pixel, trace; see qemu/run.py) to the host
# runner and prints its one-line answer. The request goes to the console itself, since callers
# capture the answer with $(...).
ask() {
	echo "@@VGRS $*" >/dev/console
	local ans
	read -r ans
	echo "$ans"
}

# match_dumps NAME_A NAME_B: asks the host to compare two screendumps taken with `dump`; the host
# reports the check (match.NAME_A.NAME_B: pixel-identical and not blank) itself. Returns
# non-zero if they differ.
match_dumps() {
	echo "@@VGRS match $1 $2"
	local ans
	read -r ans
	case "$ans" in same*) return 0 ;; *) return 1 ;; esac
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
# The debug kernel's detectors (make check-debug) report with these words too: KASAN and
# KFENCE ("BUG: KASAN", "BUG: KFENCE"), UBSAN, lockdep ("possible circular locking",
# "inconsistent lock state", "possible recursive locking", "suspicious RCU usage", ...),
# ODEBUG and DEBUG_SG/DEBUG_LIST (BUG or WARNING). Not the word "lockdep", which PROVE_LOCKING
# kernels print at boot. kmemleak is read separately (kmemleak_check).
kernel_problems() {
	local known='kmemleak: Cannot allocate a scan area'
	# Not ours: 6.12's pciehp takes its reset_lock and pci_rescan_remove_lock in both orders
	# (pciehp_ist, then pciehp_unconfigure_device), and lockdep reports that on the first
	# hot-unplug through pciehp (qemu/run.py --slots) whatever the driver; lockdep reports
	# once a boot, so it is the only such report. The hotunplug scenario notes it
	# (pciehp_lockdep).
	pciehp_lockdep && known="$known|possible circular locking dependency detected"
	# Not a leak: kmemleak saying its own allocation failed (fault injection hits it too) and
	# that it falls back to scanning whole objects.
	dmesg | grep -E 'WARNING:|BUG:|Oops|refcount_t:|use-after-free|UBSAN|KFENCE|ODEBUG|possible circular|inconsistent lock|possible recursive|suspicious RCU|bad unlock|held lock freed|INFO: task|leak' |
		grep -v -E "$known" || true
}

# pciehp_lockdep: true if the kernel log holds lockdep's report of pciehp's own lock order
# (see kernel_problems): trying to take reset_lock in pciehp_unconfigure_device while holding
# pci_rescan_remove_lock.
pciehp_lockdep() {
	local r
	r=$(dmesg | grep -A8 'possible circular locking dependency detected')
	echo "$r" | grep -q 'reset_lock.*at: pciehp_unconfigure_device' &&
		echo "$r" | grep -q 'pci_rescan_remove_lock.*at: pciehp_unconfigure_device'
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

# The built-in driver (`make check-intree`): our driver is part of the kernel, binds the device
# at boot, is not in /proc/modules and cannot be unloaded. Then VGRS_BUILTIN=1, /init checks
# the boot-time bind and unbinds the device (builtin_boot), and a scenario's `modprobe
# virtio_gpu_rs` binds the device to our driver through sysfs, `modprobe -r virtio_gpu_rs`
# unbinds it: the scenarios run unchanged, and the C module binds only once ours let go.
VGRS_BUILTIN=0
if [ -d /sys/bus/virtio/drivers/virtio_gpu_rs ] && ! grep -q '^virtio_gpu_rs ' /proc/modules; then
	VGRS_BUILTIN=1
fi

# builtin_bound: true if the virtio-gpu device is bound to our (built-in) driver.
builtin_bound() {
	local dev
	dev=$(gpu_dev) || return 1
	[ -e "/sys/bus/virtio/drivers/virtio_gpu_rs/$dev" ]
}

# builtin_sysfs bind|unbind: binds the device to our built-in driver or unbinds it, as a module
# load or unload would (already done: success; a device on another driver: left alone).
builtin_sysfs() {
	local dev
	dev=$(gpu_dev) || { echo "no virtio-gpu device" >&2; return 1; }
	case "$1" in
	bind) [ -e "/sys/bus/virtio/devices/$dev/driver" ] && return 0 ;;
	unbind) builtin_bound || return 0 ;;
	esac
	echo "$dev" >"/sys/bus/virtio/drivers/virtio_gpu_rs/$1"
}

if [ "$VGRS_BUILTIN" = 1 ]; then
	modprobe() {
		case "$*" in
		virtio_gpu_rs) builtin_sysfs bind ;;
		"-r virtio_gpu_rs") builtin_sysfs unbind ;;
		*) command modprobe "$@" ;;
		esac
	}
fi

# is_builtin MODULE: true if MODULE is our driver, built into the kernel.
is_builtin() {
	[ "$VGRS_BUILTIN" = 1 ] && [ "$1" = virtio_gpu_rs ]
}

# module_loaded MODULE: true if MODULE is loaded (our built-in driver: bound to the device).
module_loaded() {
	if is_builtin "$1"; then
		builtin_bound
	else
		grep -q "^$1 " /proc/modules
	fi
}

# builtin_boot: with the built-in driver, checks that it bound the device at boot (a DRM card
# of driver virtio_gpu on it, the fbdev console), then unbinds it, so that every scenario
# starts as in a module boot: no driver on the device.
builtin_boot() {
	[ "$VGRS_BUILTIN" = 1 ] || return 0
	local dev why=""
	dev=$(gpu_dev) || { result FAIL builtin.bound-at-boot "no virtio-gpu device"; return; }
	wait_for /dev/dri/card0 10 || why="no /dev/dri/card0; "
	builtin_bound || why="${why}$dev not bound to virtio_gpu_rs; "
	grep -q 'virtio_gpu_rs' /proc/modules && why="${why}virtio_gpu_rs is a module here; "
	[ -e /dev/fb0 ] || why="${why}no fbdev console (/dev/fb0); "
	[ -n "$(kernel_problems)" ] && why="${why}kernel problems at boot: $(kernel_problems | head -n1)"
	if [ -z "$why" ]; then
		result PASS builtin.bound-at-boot "$dev bound to the built-in virtio_gpu_rs at boot; card0 and fb0 ($(cat /sys/class/graphics/fb0/name)) are there"
	else
		result FAIL builtin.bound-at-boot "$why"
	fi
	log_dmesg 'virtio_gpu_rs|\[drm\]'
	if builtin_sysfs unbind && ! builtin_bound && wait_gone /dev/dri/card0 5; then
		result PASS builtin.unbind "$dev unbound from the built-in driver; card0 gone"
	else
		result FAIL builtin.unbind "$dev still bound, or card0 still there, after unbind"
	fi
	dmesg -c >/dev/null
}

# Why the device can no longer be used (a modprobe that hung), or empty.
stuck=""

# running PID: true while PID is alive and not a zombie.
running() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
}

# wait_pid SECS PID: waits up to SECS seconds for the background job PID (a child of this
# shell) and returns its status, or 124 after killing it if it did not finish.
wait_pid() {
	local secs=$1 pid=$2 n=0
	while running "$pid"; do
		if [ "$n" -ge $((secs * 10)) ]; then
			kill -9 "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			return 124
		fi
		sleep 0.1
		n=$((n + 1))
	done
	wait "$pid"
}

# bounded SECS CMD...: runs CMD in the background and waits up to SECS seconds for it.
# Returns its status, or 124 if it did not finish (it is sent SIGKILL and left behind).
bounded() {
	local secs=$1 pid n=0
	shift
	"$@" &
	pid=$!
	while running "$pid"; do
		if [ "$n" -ge $((secs * 10)) ]; then
			kill -9 "$pid" 2>/dev/null
			return 124
		fi
		sleep 0.1
		n=$((n + 1))
	done
	wait "$pid"
}

# wait_line FILE PATTERN PID TENTHS: waits up to TENTHS tenths of a second, while PID runs,
# for a line matching PATTERN (grep) in FILE, the output of PID; true if it is there.
wait_line() {
	local n=0
	while ! grep -q "$2" "$1" 2>/dev/null && running "$3" && [ "$n" -lt "$4" ]; do
		sleep 0.1
		n=$((n + 1))
	done
	grep -q "$2" "$1" 2>/dev/null
}

# wait_for PATH SECS: waits up to SECS seconds for PATH to exist.
wait_for() {
	local n=0
	while [ ! -e "$1" ]; do
		[ "$n" -ge $(($2 * 10)) ] && return 1
		sleep 0.1
		n=$((n + 1))
	done
}

# wait_gone PATH SECS: waits up to SECS seconds for PATH to disappear.
wait_gone() {
	local n=0
	while [ -e "$1" ]; do
		[ "$n" -ge $(($2 * 10)) ] && return 1
		sleep 0.1
		n=$((n + 1))
	done
}

# forward LABEL FILE: reports each PASS/FAIL/SKIP line of a vgrs-uapi-test output.
forward() {
	local status check detail
	while read -r status check detail; do
		case "$status" in
		PASS | FAIL | SKIP) result "$status" "$1.$check" "$detail" ;;
		esac
	done <"$2"
}

# unload LABEL MODULE: modprobe -r, bounded; reports LABEL.unload.
unload() {
	if ! module_loaded "$2"; then
		result SKIP "$1.unload" "$2 is not loaded"
	elif bounded 30 modprobe -r "$2" 2>/tmp/err; then
		if module_loaded "$2"; then
			result FAIL "$1.unload" "$2 still loaded after modprobe -r"
		else
			result PASS "$1.unload" "modprobe -r $2"
		fi
	else
		result FAIL "$1.unload" "modprobe -r $2 failed or hung: $(cat /tmp/err)"
	fi
}

# problems LABEL CHECK STRICT DETAIL: reports kernel problems as FAIL (STRICT=1) or NOTE.
problems() {
	local p
	p=$(kernel_problems)
	if [ -z "$p" ]; then
		result PASS "$1.$2" "$4"
	elif [ "$3" = 1 ]; then
		result FAIL "$1.$2" "$(echo "$p" | head -n1)"
	else
		result NOTE "$1.$2" "reported, not failed: $(echo "$p" | head -n1)"
	fi
}

# load LABEL MODULE: modprobe and wait for /dev/dri/card0; reports LABEL.open on failure.
load() {
	local rc
	if [ -n "$stuck" ]; then
		result FAIL "$1.open" "not tried: $stuck"
		return 1
	fi
	bounded 30 modprobe "$2" 2>/tmp/err
	rc=$?
	if [ "$rc" = 124 ]; then
		stuck="modprobe $2 hung (over 30 s)"
		result FAIL "$1.open" "$stuck"
		return 1
	elif [ "$rc" != 0 ]; then
		result FAIL "$1.open" "modprobe $2 exited $rc: $(cat /tmp/err)"
		return 1
	fi
	if ! wait_for /dev/dri/card0 5; then
		result FAIL "$1.open" "no /dev/dri/card0 within 5 s of modprobe $2"
		return 1
	fi
}

# unplug_under_clients LABEL CHECK STRICT CARD SECS DESC REMOVE...: the device of CARD
# (/dev/dri/cardN) taken away under its clients. kmscube renders on CARD (software, page flips;
# with KMSCUBE_FRAMES=0, the debug kernel, the scanout client vgrs-kms-test --show instead) and
# vgrs-uapi-test holds an fd and a mapped dumb buffer; with UNPLUG_FUZZ_SEED=N the ioctl
# fuzzer runs on CARD too (3 threads, seed N, until the device is gone); then REMOVE... runs,
# which must take the device away (DESC says how). Reports LABEL.CHECK (FAIL if STRICT=1, else
# NOTE): CARD gone within SECS s, the client ended by itself, the holder's mapping read back
# and its ioctl failed with ENODEV, the fuzzer ran until the device went, no kernel warning.
unplug_under_clients() {
	local label=$1 check=$2 strict=$3 card=$4 secs=$5 desc=$6 cube=1 client=kmscube
	local pid holder fuzzer="" fuzzed="" rc p why=""
	shift 6
	[ "${KMSCUBE_FRAMES:-}" = 0 ] && cube=0 client="vgrs-kms-test --show"
	rm -f /tmp/up.fifo /tmp/unbound /tmp/hold.out /tmp/hold.err
	mkfifo /tmp/up.fifo
	if [ "$cube" = 1 ]; then
		GBM_ALWAYS_SOFTWARE=1 kmscube -D "$card" -c 100000 </tmp/up.fifo >/tmp/up.out 2>&1 &
	else
		# The scanout client instead: a picture on screen, its fd held until input ends.
		vgrs-kms-test --device "$card" --show </tmp/up.fifo >/tmp/up.out 2>&1 &
	fi
	pid=$!
	exec 7>/tmp/up.fifo
	# kmscube is drawing once its GL information is out (its output is block-buffered);
	# the scanout client once it says so. Only then the holder: the first file opened on
	# the card becomes DRM master, and a holder that won that race left the client's modeset
	# EACCES (seen once under the debug kernel, 2026-11-29).
	wait_line /tmp/up.out 'renderer:\|SHOWING' "$pid" 900
	running "$pid" || why="${why}$client did not start: $(tail -n 1 /tmp/up.out); "
	vgrs-uapi-test --device "$card" --label "$label" --hold-until /tmp/unbound \
		>/tmp/hold.out 2>/tmp/hold.err &
	holder=$!
	wait_line /tmp/hold.err HOLDING "$holder" 100 || why="${why}holder did not get its buffer mapped; "
	if [ -n "${UNPLUG_FUZZ_SEED:-}" ]; then
		vgrs-fuzz --card "$card" --until-gone --seed "$UNPLUG_FUZZ_SEED" --iters 10000000 \
			--threads 3 --label "$label" >/tmp/upfuzz.out 2>&1 &
		fuzzer=$!
	fi
	sleep 2
	"$@" 2>/tmp/err || why="${why}$desc: failed or hung: $(cat /tmp/err); "
	wait_gone "$card" "$secs" || why="${why}$card still there $secs s after the unplug; "
	# The holder checks its mapping and fd now (it waits 30 s for this at most).
	touch /tmp/unbound
	# kmscube must end by itself (its next flip fails); the scanout client when its input
	# ends.
	[ "$cube" = 1 ] || exec 7>&-
	wait_pid 20 "$pid"
	rc=$?
	exec 7>&-
	[ "$rc" = 124 ] && why="${why}$client still running 20 s after the unplug (killed); "
	wait_pid 20 "$holder" || why="${why}holder failed or hung (exit $?); "
	if [ -n "$fuzzer" ]; then
		wait_pid 60 "$fuzzer" || why="${why}the fuzzer failed or hung (exit $?): $(grep -v '^HIST' /tmp/upfuzz.out | tail -n 2 | tr '\n' ' '); "
		sed "s/^/[$label $check fuzz] /" /tmp/upfuzz.out
		if grep -q '^FUZZ .* device gone: 3 of 3 ' /tmp/upfuzz.out; then
			fuzzed=", the fuzzer ran until the device went ($(sed -n 's/^FUZZ [^ ]* \([0-9]*\) ioctls.*/\1/p' /tmp/upfuzz.out) ioctls, seed $UNPLUG_FUZZ_SEED)"
		else
			why="${why}the fuzzer's threads did not all see the device go; "
		fi
	fi
	sed "s/^/[$label $check $client] /" /tmp/up.out | tail -n 4
	sed "s/^/[$label $check hold] /" /tmp/hold.out /tmp/hold.err
	# The holder's checks as LABEL.hold/... for the unplug scenario, LABEL.CHECK.hold/... else.
	if [ "$check" = unplug ]; then
		forward "$label" /tmp/hold.out
	else
		forward "$label.$check" /tmp/hold.out
	fi
	p=$(kernel_problems | head -n1)
	[ -n "$p" ] && why="${why}kernel: $p; "
	verdict "$label.$check" "$strict" "$why" "$desc while $client used the device and a mapping was held: $client ended (exit $rc), the holder's mapping read back$fuzzed, $card gone"
}

# verdict NAME STRICT WHY DETAIL: reports NAME as PASS with DETAIL if WHY (what went wrong) is
# empty, else as FAIL (STRICT=1) or NOTE with WHY.
verdict() {
	if [ -z "$3" ]; then
		result PASS "$1" "$4"
	elif [ "$2" = 1 ]; then
		result FAIL "$1" "$3"
	else
		result NOTE "$1" "reported, not failed: $3"
	fi
}

# show_start: vgrs-kms-test --show, held by fd 4 (closing it ends the program).
show_start() {
	rm -f /tmp/show.fifo /tmp/show.err
	mkfifo /tmp/show.fifo
	vgrs-kms-test --show </tmp/show.fifo >/dev/null 2>/tmp/show.err &
	show_pid=$!
	exec 4>/tmp/show.fifo
	local n=0
	while ! grep -q 'SHOWING [0-9]* heads' /tmp/show.err 2>/dev/null && running "$show_pid"; do
		[ "$n" -ge 150 ] && break
		sleep 0.1
		n=$((n + 1))
	done
	# The first upload and flush reach the host asynchronously to the ioctl's return.
	sleep 0.5
	grep -q 'SHOWING [0-9]* heads' /tmp/show.err
}

show_stop() {
	exec 4>&-
	wait_pid 10 "$show_pid"
	rm -f /tmp/show.fifo
}

# check_bars LABEL NAME HEAD ROTATION: the dump NAME shows the four bars, rotated by ROTATION,
# at the middle row: red, green, blue, white.
check_bars() {
	local label=$1 name=$2 head=$3 rot=$4 look w h i x want got bad=""
	local colours="255 0 0|0 255 0|0 0 255|255 255 255"
	if ! dump "$name" $head; then
		result FAIL "$label.$name" "screendump failed"
		return 1
	fi
	look=$(ask look "$name")
	w=$(echo "$look" | sed -n 's/^look \([0-9]*\)x.*/\1/p')
	h=$(echo "$look" | sed -n 's/^look [0-9]*x\([0-9]*\) .*/\1/p')
	[ -n "$w" ] || { result FAIL "$label.$name" "no size: $look"; return 1; }
	for i in 0 1 2 3; do
		x=$(((2 * i + 1) * w / 8))
		want=$(echo "$colours" | cut -d'|' -f$((((i + rot) % 4) + 1)))
		got=$(ask pixel "$name" "$x" $((h / 2)))
		[ "$got" = "pixel $want" ] || bad="$bad bar $i at x=$x: $got, want $want;"
	done
	if [ -z "$bad" ]; then
		result PASS "$label.$name" "${w}x${h} head ${head:-0}: red, green, blue, white bars rotated by $rot, pixel-exact"
	else
		result FAIL "$label.$name" "$look;$bad"
		return 1
	fi
}

# kmscube_run LABEL FRAMES: kmscube renders FRAMES frames (Mesa's software path on dumb
# buffers) with page flips, and moves (two screendumps differ, neither blank).
# wait_picture NAME PID TRIES: every 2 s, while PID runs and at most TRIES times, takes the
# screendump NAME until the runner sees a picture in it. Leaves the runner's last answer in
# the caller's variable `look` (not printed: `dump` talks to the runner on stdout, so this
# cannot run in a command substitution).
wait_picture() {
	local name=$1 pid=$2 tries=$3 n=0
	look=""
	while running "$pid" && [ "$n" -lt "$tries" ]; do
		sleep 2
		n=$((n + 1))
		dump "$name" || break
		look=$(ask look "$name")
		case "$look" in *picture) break ;; esac
	done
}

kmscube_run() {
	local label=$1 frames=$2 pid n ans look rc last
	if ! command -v kmscube >/dev/null; then
		result FAIL "$label.kmscube" "kmscube is not in the guest image (make deps)"
		return
	fi
	rm -f /tmp/cube.fifo
	mkfifo /tmp/cube.fifo
	# KMSCUBE_GBM=hw: Mesa picks the GPU driver itself (virgl on the 3D device); else
	# software rendering in the guest (GBM_ALWAYS_SOFTWARE).
	if [ "${KMSCUBE_GBM:-sw}" = hw ]; then
		kmscube -c "$frames" </tmp/cube.fifo >/tmp/cube.out 2>&1 &
	else
		GBM_ALWAYS_SOFTWARE=1 kmscube -c "$frames" </tmp/cube.fifo >/tmp/cube.out 2>&1 &
	fi
	pid=$!
	exec 5>/tmp/cube.fifo
	# GL comes up after ~20 s under TCG; then it flips at ~15 fps.
	n=0
	while running "$pid" && ! grep -q 'GL_RENDERER\|Using display' /tmp/cube.out; do
		[ "$n" -ge 900 ] && break
		sleep 0.1
		n=$((n + 1))
	done
	# The first frame, then a later one that differs: polled, so a slow guest (the debug
	# kernel, a loaded host) gets time, while a cube that stops moving still fails.
	ans="" look=""
	wait_picture "$label-kmscube-1" "$pid" 15
	n=0
	while running "$pid" && [ "$n" -lt 15 ]; do
		sleep 1
		n=$((n + 1))
		dump "$label-kmscube-2" || break
		ans=$(ask compare "$label-kmscube-1" "$label-kmscube-2")
		look=$(ask look "$label-kmscube-2")
		case "$ans $look" in differ*picture) break ;; esac
	done
	case "$ans $look" in
	differ*picture) result PASS "$label.kmscube-moves" "two dumps $n s apart: $ans; $look" ;;
	*) result FAIL "$label.kmscube-moves" "want differing, non-blank dumps within 15 s: $ans; $look; $(tail -n 1 /tmp/cube.out)" ;;
	esac
	wait_pid 180 "$pid"
	rc=$?
	exec 5>&-
	rm -f /tmp/cube.fifo
	sed "s/^/[$label kmscube] /" /tmp/cube.out
	# kmscube counts from 0: `-c N` ends with "Rendered N-1 frames in ... sec (... fps)".
	last=$(grep -o 'Rendered [0-9]* frames.*' /tmp/cube.out | tail -n1)
	n=$(echo "$last" | sed -n 's/Rendered \([0-9]*\) frames.*/\1/p')
	if [ "$rc" = 0 ] && [ -n "$n" ] && [ "$n" -ge $((frames - 1)) ]; then
		result PASS "$label.kmscube" "kmscube -c $frames: $last, exit 0"
		info "$label.kmscube" "$last"
	else
		result FAIL "$label.kmscube" "exit $rc: $(tail -n 2 /tmp/cube.out | tr '\n' ' ')"
	fi
}

# param NAME [DEFAULT]: the value of vgrs.NAME=VALUE on the kernel command line (the last
# one given), else DEFAULT. A list (vgrs.NAME=a,b) comes back with spaces for the commas;
# `param number NAME DEFAULT` takes only digits (anything else gives DEFAULT).
param() {
	local v digits=""
	[ "$1" = number ] && { digits=1; shift; }
	v=$(sed -n "s/.*vgrs\.$1=\([^ ]*\).*/\1/p" /proc/cmdline | tr , ' ')
	if [ -n "$digits" ]; then
		case "$v" in *[!0-9]*) v="" ;; esac
	fi
	echo "${v:-${2:-}}"
}

# selected_drivers KEY: the driver labels picked with vgrs.KEY=rs,c on the kernel command
# line, else with vgrs.drivers=rs,c (all scenarios of the boot), default "rs c".
selected_drivers() {
	param "$1" "$(param drivers "rs c")"
}

# each_driver KEY FUNC: runs `FUNC LABEL MODULE STRICT` for each driver picked with
# vgrs.KEY=rs,c on the kernel command line (default both, ours first): rs = virtio_gpu_rs
# (kernel warnings fail, STRICT=1), c = the C virtio_gpu (its warnings are reported).
each_driver() {
	local key=$1 fn=$2 d
	for d in $(selected_drivers "$key"); do
		case $d in
		rs) "$fn" rs virtio_gpu_rs 1 ;;
		c) "$fn" c virtio_gpu 0 ;;
		*) result FAIL "$key.$d" "unknown driver label in vgrs.$key" ;;
		esac
	done
}

# run_test LABEL TAG SECS PROGRAM ARGS...: runs a guest test program, bounded to SECS seconds;
# copies its output into the console log, forwards its PASS/FAIL/SKIP lines as LABEL.<check>,
# records its summary line, and fails LABEL.TAG-run if it did not finish or crashed.
run_test() {
	local label=$1 tag=$2 secs=$3 prog=$4 rc
	shift 3
	bounded "$secs" "$@" >"/tmp/$tag.out" 2>"/tmp/$tag.err"
	rc=$?
	sed "s/^/[$label $tag] /" "/tmp/$tag.out" "/tmp/$tag.err"
	forward "$label" "/tmp/$tag.out"
	case $rc in
	0 | 1) info "$label.$tag" "$(tail -n1 "/tmp/$tag.out")" ;;
	124) result FAIL "$label.$tag-run" "$prog did not finish in $secs s" ;;
	*) result FAIL "$label.$tag-run" "$prog exited $rc: $(tail -n1 "/tmp/$tag.err")" ;;
	esac
}

# expect_trace LABEL CHECK ANSWER PATTERN...: the trace lines of ANSWER (from `ask trace`)
# must contain lines matching each PATTERN (an extended regexp), in this order.
expect_trace() {
	local label=$1 check=$2 ans=$3 miss
	shift 3
	miss=$(echo "${ans#trace * }" | sed 's/ | /\n/g' | awk -v pats="$(printf '%s\n' "$@")" '
		BEGIN { n = split(pats, p, "\n"); if (p[n] == "") n--; i = 1 }
		i <= n && $0 ~ p[i] { i++ }
		END { if (i <= n) print p[i] }')
	if [ -n "$miss" ]; then
		result FAIL "$label.$check" "no trace line matching '$miss' (in order) in: $(echo "$ans" | cut -c1-400)"
	else
		result PASS "$label.$check" "$(echo "$ans" | cut -d' ' -f2) trace lines: $(echo "${ans#trace * }" | cut -c1-400)"
	fi
}

# kmemleak_check LABEL STRICT: scans twice (it reports only objects that stayed unreferenced
# and unchanged since the scan before and are older than 5 s) and reports the suspected
# leaks whose allocation backtrace reaches DRM or a module (ours or the C driver's; addresses of an unloaded module
# print as bare numbers): FAIL for ours, NOTE for the C driver. Others are counted as noise.
kmemleak_check() {
	local label=$1 strict=$2 f=/sys/kernel/debug/kmemleak all ours t0 left why=""
	if [ ! -e "$f" ]; then
		result FAIL "$label.kmemleak" "no $f: is this the debug kernel?"
		return
	fi
	# An object is reported once it is older than 5 s at a scan's start; the first scan
	# takes 20 s and more under the debug kernel, so the wait is only what it left of 6 s.
	t0=$(cut -d. -f1 /proc/uptime)
	echo scan >"$f"
	left=$((6 - ($(cut -d. -f1 /proc/uptime) - t0)))
	[ "$left" -gt 0 ] && sleep "$left"
	echo scan >"$f"
	cat "$f" >/tmp/kmemleak.txt
	all=$(grep -c '^unreferenced object' /tmp/kmemleak.txt)
	# One record per reported object (busybox awk takes a string RS).
	ours=$(awk 'BEGIN { RS = "unreferenced object" }
		/drm_|virtio_gpu|\[<[0-9a-f]+>\] 0x/ { n++ } END { print n + 0 }' /tmp/kmemleak.txt)
	sed "s/^/[$label kmemleak] /" /tmp/kmemleak.txt | head -n 200
	[ "$ours" = 0 ] || why="$ours suspected leaks with DRM or driver frames (see the console log)"
	verdict "$label.kmemleak" "$strict" "$why" "no suspected leak from DRM or the driver ($all in the rest of the kernel)"
}

# kmemleak_each: kmemleak_check for each driver of the boot (vgrs.drivers): ours strict, the
# C driver's suspects as NOTEs.
kmemleak_each() {
	local d
	for d in $(selected_drivers drivers); do
		case $d in
		rs) kmemleak_check rs 1 ;;
		c) kmemleak_check c 0 ;;
		esac
	done
}

# The panic screen's colours: CONFIG_DRM_PANIC_BACKGROUND_COLOR (qemu/kernel.config) and
# drm_panic's default foreground.
PANIC_BG=6a0dad
PANIC_FG=ffffff

# no_panic_screen LABEL CHECK NAME PASS FAIL: takes screendump NAME; LABEL.CHECK passes (with
# the text PASS) if under 10 % of it has the panic background, else fails (with FAIL).
no_panic_screen() {
	local label=$1 check=$2 name=$3 pass=$4 fail=$5 ans
	if ! dump "$name"; then
		result FAIL "$label.$check" "screendump failed"
		return
	fi
	ans=$(ask share "$name" $PANIC_BG $PANIC_FG)
	set -- $ans
	if [ "$1" = share ] && [ "$2" -lt 100 ]; then
		result PASS "$label.$check" "$pass ($ans)"
	else
		result FAIL "$label.$check" "$fail: $ans"
	fi
}

# median_of FORMAT: the median of the numbers on stdin, one a line, printed with awk's
# `printf FORMAT, median, smallest, largest`; "-" if there is none.
median_of() {
	sort -n | awk -v fmt="$1" '
		{ v[NR] = $1 } END {
			if (NR == 0) { print "-"; exit }
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf fmt, m, v[1], v[NR] }'
}

# median_range FILE PREFIX NAME: "median min-max" of the numbers on the lines
# "PREFIXNAME <number> ..." of FILE (the benchmarks' rounds), or "-" if there is none.
median_range() {
	sed -n "s/^$2$3 \([0-9.]*\) .*/\1/p" "$1" 2>/dev/null | median_of '%.1f %.1f-%.1f\n'
}

# bench_pair ROUND FN: `FN c virtio_gpu` and `FN rs virtio_gpu_rs`, the C driver first in odd
# rounds and ours first in even ones, so that neither always runs after the other.
bench_pair() {
	if [ $(($1 % 2)) = 1 ]; then
		"$2" c virtio_gpu
		"$2" rs virtio_gpu_rs
	else
		"$2" rs virtio_gpu_rs
		"$2" c virtio_gpu
	fi
}

# paired_ratio CFILE RSFILE PREFIX NAME: the median of the rounds' own ratios of figure NAME
# (ours / C, round by round: the two runs of a round are next to each other in time, so the
# host's drift from round to round moves this less than the medians); "-" unless both
# drivers have the figure in every round.
paired_ratio() {
	sed -n "s/^$3$4 \([0-9.]*\) .*/\1/p" "$1" >/tmp/paired.c 2>/dev/null
	sed -n "s/^$3$4 \([0-9.]*\) .*/\1/p" "$2" >/tmp/paired.r 2>/dev/null
	if [ ! -s /tmp/paired.c ] || [ "$(wc -l </tmp/paired.c)" != "$(wc -l </tmp/paired.r)" ]; then
		echo -
		return
	fi
	paste -d' ' /tmp/paired.c /tmp/paired.r | awk '$1 > 0 && $2 > 0 { print $2 / $1 }' |
		median_of '%.2f\n'
}

# bench_row KEY CFILE RSFILE PREFIX NAME WIDTH [NOTE [RATIO]]: one line of a benchmark
# table, figure NAME of both drivers' rounds (median and range each, the ratio of the
# medians, the paired ratio (`paired_ratio`), the unit with NOTE after it), logged to the
# host and kept as the info line KEY.NAME. RATIO replaces the ratio (a figure a ratio means
# nothing for; no paired ratio then either).
bench_row() {
	local key=$1 cf=$2 rf=$3 pre=$4 name=$5 w=$6 note=${7:-} fixed=${8:-} c crange r rrange unit ratio paired
	# shellcheck disable=SC2046
	set -- $(median_range "$cf" "$pre" "$name")
	c=$1 crange=${2:-}
	# shellcheck disable=SC2046
	set -- $(median_range "$rf" "$pre" "$name")
	r=$1 rrange=${2:-}
	unit=$(sed -n "s/^$pre$name [0-9.]* \([^ ]*\).*/\1/p" "$rf" "$cf" 2>/dev/null | head -n1)
	ratio=${fixed:-$(awk -v r="$r" -v c="$c" 'BEGIN { if (c + 0 > 0 && r + 0 > 0) printf "%.2f", r / c; else print "-" }')}
	if [ -n "$fixed" ]; then
		paired=-
	else
		paired=$(paired_ratio "$cf" "$rf" "$pre" "$name")
	fi
	unit="$unit${note:+ $note}"
	echo "@@VGRS log $(printf "%-${w}s %24s %24s %8s %7s  %s" "$name" "$c ($crange)" "$r ($rrange)" "$ratio" "$paired" "$unit")"
	info "$key.$name" "C $c ($crange) rs $r ($rrange) $unit (rs/C $ratio, paired $paired)"
}
