# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "uapi": runs vgrs-uapi-test against each driver, ours (virtio_gpu_rs, label
# rs) first and the C virtio_gpu (label c) as the control, forwarding its checks as
# `<label>.<check>`; then, per driver, unbinds the device while a process holds the DRM fd
# and a mapping open. Every wait is bounded, so a driver that hangs fails its checks instead
# of stalling the run; once a modprobe hangs (the device stays locked in its probe), later
# loads are reported as failed without trying.
#
# The kernel command line option vgrs.uapi=c,rs picks the drivers (default: both), e.g.
# `qemu/run.py ... --scenario uapi --append vgrs.uapi=c` to check only the C driver.

# Why the device can no longer be used (a modprobe that hung), or empty.
stuck=""

# running PID: true while PID is alive and not a zombie.
running() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
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

# wait_for PATH SECS: waits up to SECS seconds for PATH to exist.
wait_for() {
	local n=0
	while [ ! -e "$1" ]; do
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
	if ! grep -q "^$2 " /proc/modules; then
		result SKIP "$1.unload" "$2 is not loaded"
	elif bounded 30 modprobe -r "$2" 2>/tmp/err; then
		if grep -q "^$2 " /proc/modules; then
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

# uapi_driver LABEL MODULE STRICT
uapi_driver() {
	local label=$1 module=$2 strict=$3 rc
	dmesg -c >/dev/null
	if load "$label" "$module"; then
		bounded 180 vgrs-uapi-test --label "$label" >/tmp/uapi.out 2>/tmp/uapi.err
		rc=$?
		sed "s/^/[$label uapi] /" /tmp/uapi.out /tmp/uapi.err
		forward "$label" /tmp/uapi.out
		case $rc in
		0 | 1) info "$label.uapi" "$(tail -n1 /tmp/uapi.out)" ;;
		124) result FAIL "$label.uapi-run" "vgrs-uapi-test did not finish in 180 s" ;;
		*) result FAIL "$label.uapi-run" "vgrs-uapi-test exited $rc: $(tail -n1 /tmp/uapi.err)" ;;
		esac
	fi
	unload "$label" "$module"
	problems "$label" clean "$strict" "no kernel warnings over the uapi run"
	show_dmesg "$label"
}

# unbind_open_fd LABEL MODULE VIRTIO_DRIVER STRICT: unbinds the device while
# `vgrs-uapi-test --hold-until` keeps the DRM fd and a mapped dumb buffer open.
unbind_open_fd() {
	local label=$1 module=$2 vdrv=$3 strict=$4 dev holder rc p why=""
	dev=$(gpu_dev) || { result FAIL "$label.unbind-open-fd" "no virtio-gpu device"; return; }
	dmesg -c >/dev/null
	rm -f /tmp/unbound /tmp/hold.out /tmp/hold.err
	if ! load "$label" "$module"; then
		bounded 30 modprobe -r "$module" 2>/dev/null
		result FAIL "$label.unbind-open-fd" "driver did not come up"
		show_dmesg "$label"
		return
	fi
	vgrs-uapi-test --label "$label" --hold-until /tmp/unbound >/tmp/hold.out 2>/tmp/hold.err &
	holder=$!
	n=0
	while ! grep -q HOLDING /tmp/hold.err 2>/dev/null && running "$holder" && [ "$n" -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	grep -q HOLDING /tmp/hold.err || why="holder did not get its buffer mapped; "
	if ! bounded 30 sh -c "echo $dev > /sys/bus/virtio/drivers/$vdrv/unbind" 2>/tmp/err; then
		why="${why}unbind of $dev from $vdrv failed or hung: $(cat /tmp/err); "
	elif [ -e "/sys/bus/virtio/drivers/$vdrv/$dev" ]; then
		why="${why}$dev still bound after unbind; "
	fi
	touch /tmp/unbound
	n=0
	while running "$holder" && [ "$n" -lt 150 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	if running "$holder"; then
		kill -9 "$holder" 2>/dev/null
		why="${why}holder still running 15 s after the unbind; "
	else
		wait "$holder"
		rc=$?
		[ "$rc" = 0 ] || why="${why}holder exited $rc; "
	fi
	sed "s/^/[$label hold] /" /tmp/hold.out /tmp/hold.err
	forward "$label" /tmp/hold.out
	if bounded 30 modprobe -r "$module" 2>/tmp/err; then
		grep -q "^$module " /proc/modules && why="${why}$module still loaded after modprobe -r; "
	else
		why="${why}modprobe -r $module failed or hung: $(cat /tmp/err); "
	fi
	p=$(kernel_problems | head -n1)
	if [ -n "$p" ]; then
		if [ "$strict" = 1 ]; then
			why="${why}kernel: $p"
		else
			result NOTE "$label.unbind-open-fd.kernel" "reported, not failed: $p"
		fi
	fi
	if [ -z "$why" ]; then
		result PASS "$label.unbind-open-fd" "$dev unbound from $vdrv with the fd and a mapping open; holder exited cleanly; module unloaded"
	else
		result FAIL "$label.unbind-open-fd" "$why"
	fi
	show_dmesg "$label"
}

drivers=$(sed -n 's/.*vgrs\.uapi=\([^ ]*\).*/\1/p' /proc/cmdline | tr , ' ')
[ -n "$drivers" ] || drivers="rs c"
for d in $drivers; do
	case $d in
	rs) uapi_driver rs virtio_gpu_rs 1 ;;
	c) uapi_driver c virtio_gpu 0 ;;
	*) result FAIL "uapi.$d" "unknown driver label in vgrs.uapi" ;;
	esac
done
for d in $drivers; do
	case $d in
	rs) unbind_open_fd rs virtio_gpu_rs virtio_gpu_rs 1 ;;
	c) unbind_open_fd c virtio_gpu virtio_gpu 0 ;;
	esac
done
