#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make profile: what one operation (PROFILE_WHAT: exec, an EXECBUFFER + WAIT round trip;
# dumb, a dumb buffer's create + map + destroy; glmark2, a frame) makes the kernel do, on
# the C driver and on ours, in one boot of the profile kernel (VGRS_KERNEL=profile: the
# test kernel with the function profiler and lock statistics; built and cached on first
# use, about 8 min on 2 cores). Boots the "profile" scenario on QEMU's GL device
# (tests/guest/profile.sh) and prints the differences (qemu/profile-diff.py). Counts, not
# times: for finding what ours does more of; `make bench` measures the speed. Not in CI.
#
# PROFILE_N operations (default 2000 round trips, 200 dumb buffers, 10 s of glmark2);
# PROFILE_SCENE: glmark2's scene (default build).

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build/profile"
cd "$ROOT"
export VGRS_KERNEL=profile
say() { printf 'profile: %s\n' "$*" >&2; }

say "profile kernel: the cached build (built on the first run)"
tools/kernel.sh build || { say "error: the profile kernel build failed; see above"; exit 1; }
KDIR="$(tools/kernel.sh kdir)"
for opt in FUNCTION_PROFILER LOCK_STAT; do
	grep -q "^CONFIG_$opt=y" "$KDIR/.config" ||
		{ say "error: CONFIG_$opt is not set in $KDIR/.config"; exit 1; }
done

say "virtio_gpu_rs.ko for the profile kernel"
SRC="$BUILD/src"
tools/kernel.sh module "$SRC" -s ||
	{ say "error: building the module against $KDIR failed"; exit 1; }

say "initramfs (profile)"
make -s guest-tools
VGRS_MODULE="$SRC/drivers/gpu/drm/virtio_rs/virtio_gpu_rs.ko" \
	qemu/mkinitramfs.sh "$KDIR" "$BUILD/initramfs.cpio"

say "booting the profile scenario (GL device, ${PROFILE_WHAT:-exec}, ${PROFILE_N:-default} operations per driver)"
qemu/run.py --kdir "$KDIR" --initrd "$BUILD/initramfs.cpio" --scenario profile \
	--outdir "$BUILD/boot" --gl --tsc --timeout 1800 --quiet --smp "${PROFILE_SMP:-1}" \
	--append "vgrs.profile_what=${PROFILE_WHAT:-exec}${PROFILE_N:+ vgrs.profile_n=$PROFILE_N}${PROFILE_SCENE:+ vgrs.profile_scene=$PROFILE_SCENE}"
qemu/profile-diff.py "$BUILD/boot/console.log"
