# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "kms": mode setting through each driver, ours (virtio_gpu_rs, label rs) first
# and the C virtio_gpu (label c) as the control. Per driver: load it, list connectors and
# planes (`modetest -c -p`), set 1024x768 on the first connector with modetest's test pattern
# and take a screendump (<label>-modetest.png), flip pages with events for a while
# (`modetest -v`), move a hardware cursor (`modetest -C`), set an EDID through debugfs
# and take it back (`edid_override`), unbind the device while modetest
# holds it and rebind it, unload, check the kernel log. Then the host compares the two
# screendumps pixel by pixel, and the two `modetest -c -p` listings are compared here.

MODE=1024x768
# Another head: e.g. `--heads 2 --append "video=Virtual-2:800x600e vgrs.kms_connector=Virtual-2
# vgrs.kms_head=1"` sets the mode on the second connector and dumps the second head.
KMS_CONNECTOR=$(param kms_connector)
KMS_HEAD=$(param kms_head)

# running PID: true while PID is alive and not a zombie.
kms_running() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
}

# kms_wait_exit PID SECS: waits up to SECS seconds for PID to exit; kills it if it does not.
kms_wait_exit() {
	local n=0
	while kms_running "$1" && [ "$n" -lt "$(($2 * 10))" ]; do
		sleep 0.1
		n=$((n + 1))
	done
	if kms_running "$1"; then
		kill -9 "$1" 2>/dev/null
		return 1
	fi
	return 0
}

# kms_modetest NAME ARGS...: starts `modetest -M virtio_gpu ARGS` in the background with its
# stdin held open on a fifo (modetest ends when stdin hits EOF, tearing its mode down); its
# pid goes to $mt_pid, its output to /tmp/NAME.log. `kms_stop` ends it.
kms_modetest() {
	local name=$1
	shift
	rm -f /tmp/mt.in
	mkfifo /tmp/mt.in
	modetest -M virtio_gpu "$@" </tmp/mt.in >"/tmp/$name.log" 2>&1 &
	mt_pid=$!
	exec 3>/tmp/mt.in
}

# kms_stop: closes modetest's stdin and waits for it to end.
kms_stop() {
	exec 3>&-
	kms_wait_exit "$mt_pid" 10
}

# kms_bounded SECS CMD...: runs CMD in the background, waits up to SECS seconds; 124 if it
# did not finish (it is killed).
kms_bounded() {
	local secs=$1 pid
	shift
	"$@" &
	pid=$!
	if kms_wait_exit "$pid" "$secs"; then
		wait "$pid"
	else
		return 124
	fi
}

# kms_wait_mode SECS: waits until the atomic state in debugfs shows $MODE on a CRTC.
kms_wait_mode() {
	local n=0
	while ! grep -q "mode: \"$MODE\"" /sys/kernel/debug/dri/*/state 2>/dev/null \
		&& kms_running "$mt_pid" && [ "$n" -lt "$(($1 * 10))" ]; do
		sleep 0.1
		n=$((n + 1))
	done
	[ "$n" -lt "$(($1 * 10))" ] && kms_running "$mt_pid"
}

# kms_unbind_while_open LABEL VIRTIO_DRIVER CONNECTOR
kms_unbind_while_open() {
	local label=$1 vdrv=$2 conn=$3 dev
	dev=$(gpu_dev) || return
	kms_modetest "$label-unbind" -s "$conn:$MODE"
	if ! kms_wait_mode 20; then
		result FAIL "$label.unbind-open" "modetest did not set $MODE"
		kms_stop
		return
	fi
	if kms_bounded 20 sh -c "echo $dev > /sys/bus/virtio/drivers/$vdrv/unbind"; then
		result PASS "$label.unbind-open" "$dev unbound while modetest held the device"
	else
		result FAIL "$label.unbind-open" "unbind failed or hung"
	fi
	if kms_stop; then
		result PASS "$label.release-after-unbind" "modetest ended, DRM device released"
	else
		result FAIL "$label.release-after-unbind" "modetest did not end after the unbind"
	fi
	if kms_bounded 20 sh -c "echo $dev > /sys/bus/virtio/drivers/$vdrv/bind" \
		&& [ -e "/sys/bus/virtio/drivers/$vdrv/$dev" ]; then
		result PASS "$label.rebind" "$dev bound again"
	else
		result FAIL "$label.rebind" "$dev not bound again"
	fi
}

# kms_edid_override LABEL: an EDID set through the connector's debugfs `edid_override` (as
# igt forces EDIDs) replaces the device's at the next probe (`detect` written to the
# connector's sysfs status), and `reset` brings the device's back. The EDID set is QEMU's cut
# to its base block (no CTA extension, so without the extension's largest modes). Ours honours
# it at every probe, as drivers that read the EDID in `get_modes` do. The C driver reads the
# override only when it fetches the device's EDIDs (at probe and on a display change event),
# so its modes stay the device's here: a NOTE, not a failure.
kms_edid_override() {
	local label=$1 sys dbg sum gone listed
	sys=$(ls -d /sys/class/drm/card*-Virtual-1 2>/dev/null | head -n1)
	dbg=$(ls -d /sys/kernel/debug/dri/*/Virtual-1 2>/dev/null | head -n1)
	[ -n "$sys" ] && echo detect >"$sys/status" && cat "$sys/edid" >/tmp/edid-dev.bin
	# (sysfs gives no size for the EDID: only a copy tells whether there is one)
	if [ -z "$sys" ] || [ -z "$dbg" ] || [ ! -s /tmp/edid-dev.bin ]; then
		result FAIL "$label.edid-override" "no EDID in ${sys:-sysfs (no card*-Virtual-1)} or no debugfs dir (${dbg:-dri/*/Virtual-1})"
		return
	fi
	cp "$sys/modes" /tmp/modes-dev.txt
	sort -u /tmp/modes-dev.txt >/tmp/modes-dev.sorted
	# Byte 126 counts the extensions, byte 127 makes the block sum to 0 (mod 256).
	sum=$(od -An -tu1 -N126 /tmp/edid-dev.bin |
		awk '{ for (i = 1; i <= NF; i++) s += $i } END { print (256 - s % 256) % 256 }')
	{
		head -c 126 /tmp/edid-dev.bin
		# shellcheck disable=SC2059
		printf "\\000\\$(printf %03o "$sum")"
	} >/tmp/edid-base.bin
	if ! cat /tmp/edid-base.bin >"$dbg/edid_override"; then
		result FAIL "$label.edid-override" "writing $dbg/edid_override failed"
		return
	fi
	echo detect >"$sys/status"
	# The device's modes the override does not list (its extension's).
	cp "$sys/modes" /tmp/modes-ovr.txt
	gone=$(grep -vxF -f /tmp/modes-ovr.txt /tmp/modes-dev.sorted | tr '\n' ' ')
	listed="$(wc -l </tmp/modes-ovr.txt) modes (the device's: $(wc -l </tmp/modes-dev.txt))"
	if cmp -s "$sys/edid" /tmp/edid-base.bin && [ -n "$gone" ] && [ -s "$sys/modes" ]; then
		result PASS "$label.edid-override" "the base block set in debugfs is the connector's EDID after a probe: $listed, without ${gone% }"
	elif [ "$label" = c ] && cmp -s "$sys/edid" /tmp/edid-dev.bin && [ -z "$gone" ]; then
		result NOTE "$label.edid-override" "the C driver keeps the device's EDID at a probe (it reads an override only when it fetches EDIDs from the device): $listed"
	else
		result FAIL "$label.edid-override" "after the override and a probe: $listed, EDID $(cmp -s "$sys/edid" /tmp/edid-base.bin && echo "is" || echo "is not") the override"
	fi
	# Exactly "reset", no newline (else it is taken for EDID bytes and refused).
	printf reset >"$dbg/edid_override"
	echo detect >"$sys/status"
	if cmp -s "$sys/edid" /tmp/edid-dev.bin && cmp -s "$sys/modes" /tmp/modes-dev.txt; then
		result PASS "$label.edid-override-reset" "after reset and a probe the device's EDID and its $(wc -l </tmp/modes-dev.txt) modes are back"
	else
		result FAIL "$label.edid-override-reset" "after reset and a probe: $(wc -l <"$sys/modes") modes, EDID $(cmp -s "$sys/edid" /tmp/edid-dev.bin && echo "is" || echo "is not") the device's"
	fi
}

# kms_driver LABEL MODULE STRICT
kms_driver() {
	local label=$1 module=$2 strict=$3 conn n
	dmesg -c >/dev/null
	if ! modprobe "$module" 2>/tmp/err; then
		result FAIL "$label.load" "modprobe $module: $(cat /tmp/err)"
		show_dmesg "$label"
		return
	fi
	n=0
	while [ ! -e /dev/dri/card0 ] && [ "$n" -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
	# Let the fbdev console settle (its first modeset) before modetest takes over.
	sleep 1
	modetest -M virtio_gpu -c >"/tmp/$label-c.txt" 2>&1
	modetest -M virtio_gpu -c -p >"/tmp/$label-cp.txt" 2>&1
	sed "s/^/[$label modetest -c -p] /" "/tmp/$label-cp.txt"
	conn=$(awk -v want="$KMS_CONNECTOR" '$3 == "connected" && $1 ~ /^[0-9]+$/ \
		&& (want == "" || $4 == want) { print $1; exit }' "/tmp/$label-c.txt")
	if [ -z "$conn" ]; then
		result FAIL "$label.connector" "no connected connector in modetest -c"
		cat "/tmp/$label-c.txt"
	else
		result PASS "$label.connector" "connector $conn connected, $(awk -v c="$conn" '$1 == c { print $4 ", " $6 " modes"; exit }' "/tmp/$label-c.txt")"
		if grep -q "  #[0-9]* $MODE " "/tmp/$label-c.txt"; then
			result PASS "$label.mode-listed" "$MODE in the mode list"
		else
			result FAIL "$label.mode-listed" "$MODE not in the mode list"
		fi

		# Mode set with the test pattern, then the picture.
		kms_modetest "$label-set" -s "$conn:$MODE"
		# modetest's stdout is a file (block-buffered): watch the atomic state in debugfs for
		# the new mode instead (the fbdev console runs the preferred mode, not $MODE).
		if kms_wait_mode 20; then
			# The commit is done once the state shows the mode; let the host catch up.
			sleep 1
			result PASS "$label.modeset" "CRTC state shows $MODE"
			if dump "$label-modetest" "$KMS_HEAD"; then
				result PASS "$label.dump" "$label-modetest.png"
			else
				result FAIL "$label.dump" "screendump failed"
			fi
		else
			result FAIL "$label.modeset" "modetest ended: $(tail -n 3 "/tmp/$label-set.log" | tr '\n' ' ')"
		fi
		if kms_stop; then
			result PASS "$label.modeset-exit" "modetest ended when its stdin closed"
		else
			result FAIL "$label.modeset-exit" "modetest did not end; killed"
		fi
		sed "s/^/[$label modetest -s] /" "/tmp/$label-set.log"

		# Page flips with events (legacy PAGE_FLIP, DRM_MODE_PAGE_FLIP_EVENT): modetest
		# prints "freq:" after every 60 completed flips.
		kms_modetest "$label-flip" -s "$conn:$MODE" -v
		n=0
		while ! grep -q "freq:" "/tmp/$label-flip.log" && kms_running "$mt_pid" \
			&& [ "$n" -lt 300 ]; do
			sleep 0.1
			n=$((n + 1))
		done
		kms_stop
		if grep -q "freq:" "/tmp/$label-flip.log"; then
			result PASS "$label.page-flip" "60 flips with events: $(grep -m1 'freq:' "/tmp/$label-flip.log")"
		else
			result FAIL "$label.page-flip" "no 'freq:' from modetest -v: $(tail -n 3 "/tmp/$label-flip.log" | tr '\n' ' ')"
		fi

		# Hardware cursor (legacy SETCURSOR/MOVECURSOR on the cursor plane): modetest -C
		# moves a cursor around; the host's side shows with --trace virtio_gpu_update_cursor.
		kms_modetest "$label-cursor" -s "$conn:$MODE" -C
		sleep 3
		if kms_running "$mt_pid"; then
			result PASS "$label.cursor" "modetest -C ran 3 s"
		else
			result FAIL "$label.cursor" "modetest -C ended: $(tail -n 3 "/tmp/$label-cursor.log" | tr '\n' ' ')"
		fi
		kms_stop

		kms_edid_override "$label"

		# Unbind the device while modetest holds it with a mode set, then let modetest end:
		# the DRM device is released after the unbind, with the driver gone from the device.
		kms_unbind_while_open "$label" "$module" "$conn"
	fi
	if modprobe -r "$module" 2>/tmp/err; then
		result PASS "$label.unload" "modprobe -r $module"
	else
		result FAIL "$label.unload" "modprobe -r $module: $(cat /tmp/err)"
	fi
	problems "$label" clean "$strict" "no kernel warnings"
	show_dmesg "$label"
}

each_driver kms kms_driver

if [ -f /tmp/rs-cp.txt ] && [ -f /tmp/c-cp.txt ]; then
	if diff /tmp/c-cp.txt /tmp/rs-cp.txt >/tmp/cp.diff; then
		result PASS listing "modetest -c -p: identical for both drivers"
	else
		result NOTE listing "modetest -c -p differs (- C, + Rust): $(grep -c '^[-+][^-+]' /tmp/cp.diff) lines"
		sed 's/^/[modetest -c -p diff] /' /tmp/cp.diff
	fi
fi
drivers=$(selected_drivers kms)
if echo " $drivers " | grep -q ' rs ' && echo " $drivers " | grep -q ' c '; then
	match_dumps rs-modetest c-modetest
fi
