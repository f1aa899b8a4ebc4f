#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check-intree`: the driver folder dropped into a kernel tree (tools/intree.sh applies it
# to the cached kernel's source tree), built three ways with O= over the cached objects:
#   y      our driver built in, the C driver =m beside it: booted, see below
#   y-noc  our driver built in, the C driver off: built, its configuration and image checked
#   m      our driver an in-tree module: built, the module checked
# Then the built-in kernel boots. Our driver binds the device at boot (checked), /init unbinds
# it, and the guest scenarios run with sysfs bind/unbind in place of module loads
# (qemu/guest/lib.sh, VGRS_BUILTIN); the probe scenario loads the C module after ours, so it
# binds only once our driver let go of the device. Boots, side by side:
#   intree-2d     probe (ours, then the C driver) and 5 bind/use/unbind cycles, uapi, PCI
#                 removal and the stop-answering reset, suspend and resume
#   intree-virgl  the 3D path on QEMU's GL device (ours); then intree-panic: the panic
#                 scenario (the lanes take about 110 and 95 s)
# y-noc and m build in the background, at the lowest priority, while the kernel boots.
# Ends with "N passed, N failed[, N skipped]".
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build/intree"
cd "$ROOT"
mkdir -p "$BUILD"
. "$ROOT/tests/lib.sh"

step "kernel: the cached normal kernel, whose object tree the in-tree builds start from"
if ! tools/kernel.sh build; then
	fail kernel "the kernel build failed; see the messages above"
	summary
	exit 1
fi

# intree_build VARIANT: tools/intree.sh build VARIANT, its messages and object tree kept in
# $BUILD/build-VARIANT.{log,obj}, its seconds in .secs.
intree_build() {
	local t0=$SECONDS
	rm -f "$BUILD/build-$1.obj"
	tools/intree.sh build "$1" >"$BUILD/build-$1.obj" 2>"$BUILD/build-$1.log"
	echo "$((SECONDS - t0))" >"$BUILD/build-$1.secs"
}
# intree_report VARIANT: prints a build's messages, records its object tree in OBJ.
declare -A OBJ
intree_report() {
	local obj
	step "in-tree build '$1' (tools/intree.sh build $1)"
	cat "$BUILD/build-$1.log"
	obj=$(cat "$BUILD/build-$1.obj" 2>/dev/null)
	if [ -n "$obj" ] && [ -f "$obj/vmlinux" ]; then
		OBJ[$1]=$obj
		pass "intree-build-$1" "built in $(cat "$BUILD/build-$1.secs") s in $obj"
	else
		fail "intree-build-$1" "the in-tree build failed; see the messages above"
	fi
}
# The booted one first, with every core. The other two build in the background at the lowest
# priority while the built-in kernel boots (most of an incremental build's time is make
# walking the tree on one core; the guests leave cores idle while they wait for the host).
intree_build y
intree_report y
if [ -z "${OBJ[y]:-}" ]; then
	summary
	exit 1
fi
(
	renice -n 19 "$BASHPID" >/dev/null
	export JOBS=1
	intree_build y-noc
	intree_build m
) &
bg=$!

step "initramfs (built-in kernel: no virtio_gpu_rs.ko; the C driver's modules)"
if ! make -s guest-tools ||
	! VGRS_MODULE=none qemu/mkinitramfs.sh "${OBJ[y]}" "$BUILD/initramfs.cpio"; then
	fail initramfs "building the guest image failed"
	summary
	exit 1
fi

GUEST_KDIR="${OBJ[y]}"
GUEST_INITRD="$BUILD/initramfs.cpio"
GUEST_OUT="$BUILD"
# The scenarios where being built in can make a difference: binding at boot and through
# sysfs, the C module after ours (probe), the device's files (uapi), PCI removal and the
# stop-answering reset (unplug), the panic hooks, suspend and resume, the 3D path with its
# fences outliving a binding. The KMS, display and fuzzer scenarios exercise the same code
# either way and run in make check (and, the KMS one, in make check-debug); left out here for
# the CI budget.
lane_2d() {
	boot intree-2d probe,uapi,unplug,suspend --timeout 900 \
		--append "vgrs.drivers=rs vgrs.probe=rs,c vgrs.cycles=5 suspend.pm_test_delay=0"
}
lane_more() {
	boot intree-virgl virgl --timeout 600 --gl --trace 'virtio_gpu_cmd_ctx*' \
		--append "vgrs.drivers=rs vgrs.virgl_quick"
	boot_lite intree-panic panic --timeout 600 --append "vgrs.drivers=rs"
}
step "built-in kernel boots, two at a time (results below, in order)"
t0=$SECONDS
lanes lane_2d lane_more
echo "(in-tree boots: $((SECONDS - t0)) s)"
for name in intree-2d intree-virgl intree-panic; do
	report "$name"
done

wait "$bg"
intree_report y-noc
intree_report m
step "what each build contains"
# What each build must contain. modules.builtin lists what vmlinux has built in,
# modules.order the modules this configuration builds (a copied object tree may still hold
# other .ko files); a module's .modinfo section is NUL-separated key=value strings.
ko_rs=drivers/gpu/drm/virtio_rs/virtio_gpu_rs.ko
ko_c=drivers/gpu/drm/virtio/virtio-gpu.ko
builtin_has() { grep -qx "kernel/$2" "$1/modules.builtin"; }
module_has() { grep -qx "${2%.ko}.o" "$1/modules.order" && [ -f "$1/$2" ]; }
modinfo_of() { tr '\0' '\n' <"$1" | grep -a "^$2=" | head -n1 | cut -d= -f2-; }
if [ -n "${OBJ[y]:-}" ]; then
	o=${OBJ[y]}
	if builtin_has "$o" "$ko_rs" && ! module_has "$o" "$ko_rs" && module_has "$o" "$ko_c" &&
		grep -q ' __virtio_gpu_rs_init$' "$o/System.map"; then
		pass intree-y-image "virtio_gpu_rs in vmlinux (modules.builtin, its init in System.map), the C driver's $ko_c beside it"
	else
		fail intree-y-image "want virtio_gpu_rs built in and $ko_c built; modules.builtin: $(grep -c . "$o/modules.builtin") entries"
	fi
fi
if [ -n "${OBJ[y-noc]:-}" ]; then
	o=${OBJ[y-noc]}
	if builtin_has "$o" "$ko_rs" && ! module_has "$o" "$ko_c" && ! builtin_has "$o" "$ko_c" &&
		! grep -q '^CONFIG_DRM_VIRTIO_GPU=' "$o/.config"; then
		pass intree-y-noc-image "virtio_gpu_rs built in; CONFIG_DRM_VIRTIO_GPU unset and no C module"
	else
		fail intree-y-noc-image "want virtio_gpu_rs built in and no C driver"
	fi
fi
if [ -n "${OBJ[m]:-}" ]; then
	o=${OBJ[m]}
	intree=$(modinfo_of "$o/$ko_rs" intree 2>/dev/null)
	if module_has "$o" "$ko_rs" && [ "$intree" = Y ] && ! builtin_has "$o" "$ko_rs" &&
		[ "$(modinfo_of "$o/$ko_rs" name)" = virtio_gpu_rs ]; then
		pass intree-m-module "$ko_rs built in-tree (modinfo intree=Y, vermagic $(modinfo_of "$o/$ko_rs" vermagic | cut -d' ' -f1))"
	else
		fail intree-m-module "want $ko_rs with modinfo intree=Y (got '${intree:-none}')"
	fi
fi

summary
