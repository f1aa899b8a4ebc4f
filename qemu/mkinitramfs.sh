#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds the guest initramfs: busybox, our module and the C driver's modules (depmod runs at
# boot), the guest programs with their shared libraries, and the guest scripts.
#
#   qemu/mkinitramfs.sh KDIR OUT.cpio
#
# Guest programs: modetest, kmscube (plus the Mesa files it loads at run time) and the
# project's own test binaries from target/release (or $CARGO_TARGET_DIR/release).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KDIR="$1"
OUT="$2"
STAGE="$(dirname "$OUT")/initramfs-root"
KREL="$(cat "$KDIR/include/config/kernel.release")"
# VGRS_MODULE: our module to ship (default: the one `make modules` built in the tree; `none`
# for a kernel with our driver built in, make check-intree);
# VGRS_EXTRA_KO: more modules for extra/ (the KASAN canary of `make check-debug`).
MOD="${VGRS_MODULE:-$ROOT/drivers/gpu/drm/virtio_rs/virtio_gpu_rs.ko}"

say() { printf 'initramfs: %s\n' "$*" >&2; }

[ "$MOD" = none ] || [ -f "$MOD" ] || { say "missing $MOD: run 'make modules'"; exit 1; }
rm -rf "$STAGE"
mkdir -p "$STAGE"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,proc,sys,dev,tmp,run,etc,guest}
mkdir -p "$STAGE/lib/modules/$KREL/extra"

cp /bin/busybox "$STAGE/bin/busybox"

# Modules: ours under extra/, the kernel's (the C driver and its helpers) under kernel/.
[ "$MOD" = none ] || cp "$MOD" "$STAGE/lib/modules/$KREL/extra/"
# What is built in, so that modprobe knows (an in-tree build of ours lists it).
for f in modules.builtin modules.builtin.modinfo; do
	[ -f "$KDIR/$f" ] && cp "$KDIR/$f" "$STAGE/lib/modules/$KREL/"
done
for ko in ${VGRS_EXTRA_KO:-}; do cp "$ko" "$STAGE/lib/modules/$KREL/extra/"; done
(cd "$KDIR" && find . -name '*.ko' -printf '%P\n') | while read -r ko; do
	mkdir -p "$STAGE/lib/modules/$KREL/kernel/$(dirname "$ko")"
	cp "$KDIR/$ko" "$STAGE/lib/modules/$KREL/kernel/$ko"
done

# Copies a host file (following symlinks) to the same path in the image.
copy_file() {
	local f="$1"
	[ -e "$STAGE$f" ] && return 0
	mkdir -p "$STAGE$(dirname "$f")"
	cp -L "$f" "$STAGE$f"
}

# Copies a dynamically linked program or library and every library it needs.
copy_elf() {
	local f="$1" lib
	copy_file "$f"
	for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*' || true); do
		copy_file "$lib"
	done
}

for prog in /usr/bin/modetest /usr/bin/kmscube /usr/bin/glmark2-es2-drm; do
	if [ -x "$prog" ]; then copy_elf "$prog"; else say "warning: $prog missing (make deps)"; fi
done
for prog in "${CARGO_TARGET_DIR:-$ROOT/target}"/release/vgrs-*; do
	[ -x "$prog" ] && [ -f "$prog" ] || continue
	mkdir -p "$STAGE/usr/bin"
	cp "$prog" "$STAGE/usr/bin/"
	copy_elf "$prog"
done

# What Mesa and glmark2 add is left out of OUT-lite.cpio (below): the files before them.
(cd "$STAGE" && find . | sort) >"$STAGE.before-mesa"

# Mesa for kmscube's GBM/EGL paths: the DRI drivers (software, and virgl for the 3D device),
# libEGL_mesa and the glvnd vendor file; each library with its dependencies (libLLVM is the
# big one, ~110 MB). Debian's DRI drivers are one file under several names: hard links here
# too, so the image holds it once.
if [ "${VGRS_MESA:-1}" = 1 ]; then
	dri=/usr/lib/x86_64-linux-gnu/dri
	for f in $dri/kms_swrast_dri.so /usr/lib/x86_64-linux-gnu/libEGL_mesa.so.0 \
		/usr/lib/x86_64-linux-gnu/libgbm.so.1; do
		[ -e "$f" ] && copy_elf "$f"
	done
	for f in swrast_dri.so virtio_gpu_dri.so; do
		[ -e "$dri/$f" ] || continue
		if [ "$dri/$f" -ef "$dri/kms_swrast_dri.so" ]; then
			ln -f "$STAGE$dri/kms_swrast_dri.so" "$STAGE$dri/$f"
		else
			copy_elf "$dri/$f"
		fi
	done
	for f in /usr/share/glvnd/egl_vendor.d/50_mesa.json; do
		[ -e "$f" ] && copy_file "$f"
	done
	[ -d /usr/lib/x86_64-linux-gnu/gbm ] && for f in /usr/lib/x86_64-linux-gnu/gbm/*.so; do copy_elf "$f"; done
fi

# glmark2's models, shaders and textures (~10 MB), for the 3D scenario.
if [ -d /usr/share/glmark2 ]; then
	mkdir -p "$STAGE/usr/share"
	cp -r /usr/share/glmark2 "$STAGE/usr/share/"
fi

(cd "$STAGE" && find . | sort | comm -13 "$STAGE.before-mesa" -) >"$STAGE.mesa"
rm -f "$STAGE.before-mesa"

# igt-gpu-tools (make igt): VGRS_IGT is a stage of tools/igt-build.sh (bin/, lib/, libexec/,
# share/, host-libs.txt), copied under /usr; VGRS_IGT_LIST the test list for the guest.
if [ -n "${VGRS_IGT:-}" ]; then
	[ -d "$VGRS_IGT/libexec/igt-gpu-tools" ] || { say "VGRS_IGT=$VGRS_IGT is not an igt stage"; exit 1; }
	for d in bin lib libexec share; do
		[ -d "$VGRS_IGT/$d" ] && cp -r "$VGRS_IGT/$d" "$STAGE/usr/"
	done
	while read -r lib; do
		[ -n "$lib" ] && copy_file "$lib"
	done <"$VGRS_IGT/host-libs.txt"
	mkdir -p "$STAGE/guest/igt"
	cp "${VGRS_IGT_LIST:?VGRS_IGT_LIST names the test list}" "$STAGE/guest/igt/tests.txt"
	# udevd, if the host has it (`tools/deps.sh igt`): igt listens for uevents on udev's
	# netlink group, which only udevd feeds (kms_lease@lease-uevent, hotplug checks).
	for udevd in /usr/lib/systemd/systemd-udevd /lib/systemd/systemd-udevd; do
		if [ -x "$udevd" ]; then
			copy_elf "$udevd"
			mkdir -p "$STAGE/usr/lib/systemd" "$STAGE/etc/udev"
			[ -e "$STAGE/usr/lib/systemd/systemd-udevd" ] || cp -L "$udevd" "$STAGE/usr/lib/systemd/"
			break
		fi
	done
	# VGRS_IGT_SKIPS: regular expressions of subtests not to run, without comments.
	grep -v -e '^#' -e '^[[:space:]]*$' "${VGRS_IGT_SKIPS:-/dev/null}" >"$STAGE/guest/igt/skips.txt" || true
fi

cp "$ROOT/qemu/guest/"*.sh "$STAGE/guest/"
cp "$ROOT/tests/guest/"*.sh "$STAGE/guest/"
mv "$STAGE/guest/init.sh" "$STAGE/init"
chmod +x "$STAGE/init"

(cd "$STAGE" && find . -print0 | cpio --null -o -H newc --quiet) >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
# OUT-lite.cpio: the same without Mesa and glmark2 (about 200 of its 230 MB), for the boots
# that render nothing with GL. The kernel unpacks the whole image before /init; under the
# debug kernel that took about 45 s for the full one (2026-11-29). A scenario that needs
# kmscube or glmark2 fails in it (they check), it does not skip.
LITE="${OUT%.cpio}-lite.cpio"
(cd "$STAGE" && find . | sort | comm -23 - "$STAGE.mesa" | cpio -o -H newc --quiet) >"$LITE.tmp"
mv "$LITE.tmp" "$LITE"
# OUT-gl/: what the lite image leaves out, as a directory tree (hard links to the staged
# files), for `qemu/run.py --share` with the lite image.
GL="${OUT%.cpio}-gl"
rm -rf "$GL"
mkdir -p "$GL"
(cd "$STAGE" && cpio -pdl --quiet "$GL" <"$STAGE.mesa")
rm -f "$STAGE.mesa"
say "$OUT ($(du -h "$OUT" | cut -f1), kernel $KREL; without Mesa: $(du -h "$LITE" | cut -f1))"
