# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "panic": the drm_panic screen drawn through the debugfs trigger of
# CONFIG_DRM_PANIC_DEBUG (dri/N/drm_panic_plane_M), which runs the driver's panic hooks as a
# panic would (panic lock held, interrupts off) while the system keeps running.
#
#   rs  one trigger file (the primary plane only); the screendump after a trigger is mostly
#       the panic background with text in the foreground colour; no "panic flush" error; the
#       console draws again afterwards; a second trigger works too (the reserved, polled
#       requests came back); no kernel warning (sleeping or locking in the panic path).
#   c   the 6.12 C driver has no panic hooks: reported as a NOTE (no trigger file).
#
# A real panic is scenario panic-real (a boot of its own).

# panic_files: the panic trigger files of the loaded DRM device.
panic_files() {
	# dri/0 (card0): dri/128 (the render node) and dri/<bus id> are the same directory.
	ls /sys/kernel/debug/dri/0/drm_panic_plane_* 2>/dev/null
}

# panic_shown LABEL NAME: the screendump NAME is a panic screen (at least half background,
# 500 or more foreground pixels); prints the runner's numbers.
panic_shown() {
	local ans
	ans=$(ask share "$2" $PANIC_BG $PANIC_FG)
	echo "$ans"
	set -- $ans
	[ "$1" = share ] && [ "$2" -ge 500 ] && [ "$3" -ge 500 ]
}

# console_text LABEL TEXT: clears the console and writes TEXT on it.
console_text() {
	printf '\033[2J\033[H\033[?25l%s' "$2" >/dev/tty0
	sleep 1
}

# panic_trigger LABEL FILE TAG: draws the panic screen through FILE, checks the screendump.
panic_trigger() {
	local label=$1 file=$2 tag=$3 ans
	echo 1 >"$file"
	sleep 1
	if ! dump "$label-$tag"; then
		result FAIL "$label.$tag" "screendump failed"
		return
	fi
	if ans=$(panic_shown "$label" "$label-$tag"); then
		result PASS "$label.$tag" "$(basename "$file"): panic screen drawn (share: permille background, text pixels, other pixels, size: $ans)"
	else
		result FAIL "$label.$tag" "$(basename "$file"): no panic screen (want >= 500 permille #$PANIC_BG and >= 500 #$PANIC_FG pixels): $ans"
	fi
	if dmesg | grep -q 'panic flush'; then
		result FAIL "$label.$tag-flush" "the panic flush failed: $(dmesg | grep 'panic flush' | tail -n1)"
	else
		result PASS "$label.$tag-flush" "the panic flush queued and the device finished it in time (no error logged)"
	fi
}

# panic_driver LABEL MODULE STRICT
panic_driver() {
	local label=$1 module=$2 strict=$3 files n
	dmesg -c >/dev/null
	load "$label" "$module" || return
	echo 0 >/sys/class/graphics/fbcon/cursor_blink 2>/dev/null
	files=$(panic_files)
	n=$(echo "$files" | grep -c .)
	if [ "$label" = c ]; then
		if [ "$n" = 0 ]; then
			result NOTE c.panic "no drm_panic_plane_* trigger: the 6.12 C driver registers no panic handler, so a panic leaves its last frame on screen"
		else
			result NOTE c.panic "the C driver has $n panic trigger(s): $files"
		fi
		unload "$label" "$module"
		show_dmesg "$label"
		return
	fi
	if [ "$n" = 1 ]; then
		result PASS "$label.panic-hooks" "one panic trigger, the primary plane's: $files"
	else
		result FAIL "$label.panic-hooks" "want one panic trigger (the primary plane), got $n: $files"
	fi
	if [ "$n" -ge 1 ]; then
		local file
		file=$(echo "$files" | head -n1)
		console_text "$label" "VGRS: the console before the panic screen"
		panic_trigger "$label" "$file" panic-debugfs
		# The console draws over the panic screen again: normal updates still work.
		console_text "$label" "VGRS: the console after the panic screen"
		no_panic_screen "$label" panic-recover "$label-after-panic" \
			"the console drew over the panic screen" "the panic screen stayed after console output"
		# Again: the reserved requests of the first panic update came back.
		panic_trigger "$label" "$file" panic-debugfs-again
		console_text "$label" ""
	fi
	unload "$label" "$module"
	problems "$label" panic-clean "$strict" "no kernel warnings from the panic hooks (no sleeping, allocating or locking in atomic context)"
	show_dmesg "$label"
}

each_driver panic panic_driver
