#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check-debug`: the guest scenarios under the debug kernel (qemu/kernel-debug.config:
# KASAN, KFENCE, kmemleak, lockdep, PROVE_RCU, DEBUG_OBJECTS, UBSAN bounds, DEBUG_SG/LIST,
# fault injection), built and cached beside the normal kernel. Boots:
#   debug rs      first the KASAN canary (a Rust module reads past an allocation: KASAN must
#                 report it), then our driver (debug build, with the completion-delay knob):
#                 probe, uapi, kms, PCI removal, panic, queue teardown under load,
#                 allocation failures, the fuzzer, kmemleak; any report fails (CYCLES=N adds N load/use/unload cycles,
#                 FAULT_LIFECYCLE=1 ten more with allocations failing: the long run of issue
#                 10; FULL=1 the display scenario and a fourth fuzzer seed; none in .ci/run)
#   debug hotunplug  a real PCIe hot-unplug (QMP device_del) of our driver's GPU under
#                 clients (tests/guest/hotunplug.sh), kmemleak
#   debug sweep   FAULT_LIFECYCLE=1 only: every allocation of a probe failing in turn
#   debug c       the C driver, same scenarios: its reports are findings (NOTE), not failures;
#                 only with DEBUG_C=1 (`make check-debug DEBUG_C=1`), not in CI
#   debug virgl   our driver's 3D path on QEMU's GL device (FULL=1: allocation failures in
#                 the 3D ioctls too), kmemleak
# Ends with "N passed, N failed[, N skipped]".
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build/debug"
cd "$ROOT"
mkdir -p "$BUILD"
. "$ROOT/tests/lib.sh"

export VGRS_KERNEL=debug
step "debug kernel: the cached build (built on the first run, about 20 min on 2 cores)"
if ! tools/kernel.sh build; then
	fail kernel-debug "the debug kernel build failed; see the messages above"
	summary
	exit 1
fi
KDIR="$(tools/kernel.sh kdir)"
VARS="$(tools/kernel.sh vars)"
for opt in KASAN KASAN_GENERIC KFENCE DEBUG_KMEMLEAK PROVE_LOCKING PROVE_RCU DEBUG_OBJECTS UBSAN_BOUNDS FAILSLAB FAIL_PAGE_ALLOC; do
	grep -q "^CONFIG_$opt=y" "$KDIR/.config" || fail "config-$opt" "CONFIG_$opt is not set in $KDIR/.config"
done
pass debug-config "every option of qemu/kernel-debug.config survived olddefconfig"

# The module is built from a copy of the sources (tools/kernel.sh module), so the debug
# objects never mix with the normal build's.
step "modules for the debug kernel: virtio_gpu_rs.ko (VGRS_DEBUG=1) and the KASAN canary"
SRC="$BUILD/src"
# shellcheck disable=SC2086
if out=$(tools/kernel.sh module "$SRC" VGRS_DEBUG=1 KRUSTFLAGS=-Dwarnings KCFLAGS=-Werror 2>&1) &&
	mkdir -p "$SRC/tests" && cp -r tests/kasan-canary "$SRC/tests/" &&
	out2=$(make -C "$KDIR" M="$SRC/tests/kasan-canary" $VARS modules 2>&1); then
	pass module-debug "virtio_gpu_rs.ko (debug knobs) and vgrs_kasan_canary.ko built against $KDIR"
else
	echo "${out:-}${out2:-}" | tail -n 40
	fail module-debug "building the modules against the debug kernel failed"
	summary
	exit 1
fi

step "initramfs (debug)"
if ! make -s guest-tools ||
	! VGRS_MODULE="$SRC/drivers/gpu/drm/virtio_rs/virtio_gpu_rs.ko" \
		VGRS_EXTRA_KO="$SRC/tests/kasan-canary/vgrs_kasan_canary.ko" \
		qemu/mkinitramfs.sh "$KDIR" "$BUILD/initramfs.cpio"; then
	fail initramfs "building the debug guest image failed"
	summary
	exit 1
fi

# Kernel parameters of every debug boot: kasan_multi_shot (report every KASAN finding, not
# only the first), no5lvl (QEMU's `-cpu max` offers 5-level paging; with it, an interrupt that
# lands while identify_cpu() has cleared the capability bits sees LA57 off and KASAN reports a
# wild access in the interrupt entry, at boot, before any driver: seen once in a handful of
# boots here; 4-level paging does not have that window).
KPARAMS="kasan_multi_shot no5lvl"
# FULL=1 (`make check-debug FULL=1`, not in .ci/run, for its 15 minute budget): also the
# display scenario in the 2D boot, allocation failures in the 3D ioctls in the 3D boot and a
# fourth fuzzer seed; about 2.5 minutes more.
FULL_RS="" FULL_VIRGL=""
# The fuzzer: three seeds of three threads x 1000 ioctls (the second across an unbind and a
# bind, the last across a PCI removal and rescan), and the fault scenario's 1500 with
# allocations failing: 10500 ioctls.
FUZZ="vgrs.fuzz_seeds=1,2,3"
if [ "${FULL:-0}" = 1 ]; then
	FULL_RS=" vgrs.debug_full"
	FULL_VIRGL=" vgrs.fault_virgl"
	FUZZ="vgrs.fuzz_seeds=1,2,3,4"
fi
GUEST_KDIR="$KDIR"
GUEST_INITRD="$BUILD/initramfs.cpio"
GUEST_OUT="$BUILD"
# FAULT_LIFECYCLE=1: also load and unload cycles with the driver's allocations failing at
# random (about 1.5 minutes more; not in .ci/run, which is at its 15 minute budget).
# CYCLES=N: also N load, use, unload cycles after the probe scenario (lifecycle.sh; about
# 10 s each under KASAN, so CYCLES=100 adds about 17 minutes; not in .ci/run).
CYCLES_ARG=""
RS_TIMEOUT=1500
if [ -n "${CYCLES:-}" ]; then
	CYCLES_ARG=" vgrs.cycles=$CYCLES"
	RS_TIMEOUT=$((1500 + CYCLES * 15))
fi
# Without FULL=1 the scenarios of this boot run no GL client (no kmscube): the image without
# Mesa, which the debug kernel unpacks about 45 s sooner.
lane_rs() {
	local boot=boot_lite
	[ "${FULL:-0}" = 1 ] && boot=boot
	$boot debug-rs debug --timeout "$RS_TIMEOUT" --trace virtio_gpu_update_cursor \
		--append "vgrs.drivers=rs vgrs.canary=1 vgrs.fault_fuzz $FUZZ $KPARAMS${FAULT_LIFECYCLE:+ vgrs.fault_lifecycle}$CYCLES_ARG$FULL_RS"
	# A real PCIe hot-unplug (QMP device_del, pciehp) under clients, then kmemleak: a q35
	# machine with the GPU in a hot-pluggable slot (qemu/run.py --slots).
	boot_lite debug-hotunplug debug --timeout 600 --slots 1 \
		--append "vgrs.drivers=rs vgrs.debug_scenarios=hotunplug $KPARAMS"
}
# The 3D path (QEMU's GL device under Xvfb), our driver only: the C driver's 3D run is in
# `make check`; its findings there are NOTEs anyway. Mesa comes over 9p (boot_share): the
# debug kernel unpacks the lite image only.
lane_virgl() {
	boot_share debug-virgl-rs debug-virgl --timeout 1200 --gl --trace 'virtio_gpu_cmd_ctx*' \
		--append "vgrs.drivers=rs vgrs.virgl_quick vgrs.fuzz_seeds=5 $KPARAMS$FULL_VIRGL"
	# FAULT_LIFECYCLE=1: the probe sweep (every allocation of a probe failing in turn, about
	# 9 minutes) in a boot of its own, with no console on our framebuffer (fbcon=map:9, see
	# tests/guest/fault.sh), which the panic scenario of debug-rs needs.
	[ -n "${FAULT_LIFECYCLE:-}" ] &&
		boot_lite debug-sweep fault --timeout 2400 \
			--append "vgrs.drivers=rs vgrs.sweep_only vgrs.fault_sweep fbcon=map:9 $KPARAMS"
	return 0
}
lane_c() {
	boot debug-c debug --timeout 1500 --trace virtio_gpu_update_cursor \
		--append "vgrs.drivers=c $FUZZ $KPARAMS"
}
step "debug boots, two at a time (results below, in order)"
t0=$SECONDS
if [ "${DEBUG_C:-0}" = 1 ]; then
	# The C driver's boot after ours, in the same lane.
	lane_rs_c() { lane_rs; lane_c; }
	lanes lane_rs_c lane_virgl
else
	lanes lane_rs lane_virgl
fi
echo "(debug boots: $((SECONDS - t0)) s)"
report debug-rs
report debug-hotunplug
if [ "${DEBUG_C:-0}" = 1 ]; then
	report debug-c
else
	printf '\n(the C driver'"'"'s debug boot is off: make check-debug DEBUG_C=1 runs it)\n'
fi
report debug-virgl-rs
[ -n "${FAULT_LIFECYCLE:-}" ] && report debug-sweep

summary
