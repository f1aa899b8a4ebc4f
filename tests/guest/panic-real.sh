# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "panic-real": a real kernel panic (sysrq "c") with the driver's picture on
# screen must leave the drm_panic screen, not a frozen last frame. Needs `panic=0` on the
# command line (stay panicked, no reboot): the runner announces the panic with
# `expect-panic`, then takes screendumps after it and reports the check panic.<label>-panic
# (mostly background, some text; see qemu/run.py). One driver per boot: the first of
# vgrs.drivers (default rs; the 6.12 C driver has no panic support and fails it).

label=$(selected_drivers panic | awk '{ print $1 }')
case $label in
rs) module=virtio_gpu_rs ;;
c) module=virtio_gpu ;;
*) result FAIL panic-real "unknown driver label '$label'" ;;
esac
if [ -n "$module" ] && load "$label" "$module"; then
	echo 0 >/sys/class/graphics/fbcon/cursor_blink 2>/dev/null
	printf '\033[2J\033[H\033[?25lVGRS: the last frame before a real panic' >/dev/tty0
	sleep 1
	no_panic_screen "$label" before-panic "$label-before-panic" \
		"the console, not a panic screen, before the panic" "unexpected picture before the panic"
	echo "@@VGRS expect-panic $label-panic $PANIC_BG $PANIC_FG" >/dev/console
	sleep 1
	echo c >/proc/sysrq-trigger
	sleep 30
	result FAIL "$label.panic" "sysrq c did not panic the kernel"
fi
