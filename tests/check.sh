#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: every test of the project, in order, with a summary line at the end:
#   host tests (cargo test), rustfmt, the module built strict (clippy, warnings as errors),
#   guest scenarios in QEMU on our driver and on the C driver.
# Each step prints what it checked. Exit status 0 only if nothing failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
cd "$ROOT"
mkdir -p "$BUILD"
. "$ROOT/tests/lib.sh"

# The kernel first (cached after the first run): the robustness run below reads its rust/.
step "kernel: the cached Rust-enabled 6.12 build (built on the first run, 15 to 20 min on 2 cores)"
if ! make -s kernel; then
	fail kernel "the kernel build failed; see the messages above"
	summary
	exit 1
fi
KDIR="$(tools/kernel.sh kdir)"
# The kernel's sources (its own directory, or the source tree of an O= object tree).
KSRC="$(tools/kernel.sh srcdir)"

# Host tests: one check per test function, counted from cargo's result lines.
step "host tests: cargo test --workspace (device core built for the host)"
if out=$(cargo test --workspace --color never -- --skip kernel_rust_dir_robustness 2>&1); then
	rc=0
else
	rc=$?
fi
echo "$out" | grep -E '^test |^test result:' | grep -v '^test result: ok. 0 passed'
p=$(echo "$out" | sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1/p' | paste -sd+ | bc)
f=$(echo "$out" | sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\2/p' | paste -sd+ | bc)
PASSED=$((PASSED + ${p:-0}))
FAILED=$((FAILED + ${f:-0}))
if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
	echo "$out" | tail -n 30
	fail host-build "cargo test did not build or run (exit $rc)"
fi

# The device core's fuzz targets, short and with a fixed seed (make fuzz-host runs them long).
step "host fuzz: coverage-guided (libFuzzer, stable toolchain), 100000 cases per target, seed 1"
if out=$(tools/host-fuzz.sh 100000 1 2>&1); then
	rc=0
else
	rc=$?
fi
echo "$out"
for t in protocol fences; do
	if echo "$out" | grep -q "^host-fuzz $t: .* no crash$"; then
		pass "host-fuzz-$t" "100000 device answers / fence sequences, no crash"
	else
		fail "host-fuzz-$t" "see build/host-fuzz/$t.log; replay the input the script names"
	fi
done
[ "$rc" -eq 0 ] || echo "host-fuzz: exit $rc"

step "rustfmt --check (driver crate and workspace)"
if out=$(make -s fmt-check 2>&1); then
	pass rustfmt "driver and host crates are rustfmt clean"
else
	echo "$out" | head -n 40
	fail rustfmt "run 'make fmt'"
fi

step "unsafe-review robustness: every file of the kernel's rust/ through the tool"
# The release binary the policy check below uses (the test `kernel_rust_dir_robustness` in
# tools/unsafe-review/tests/tree.rs does the same, for cargo test; building that test in
# release would cost make check half a minute).
if out=$(cargo run --quiet --release -p unsafe-review -- --tree "$KSRC/rust" --no-policy \
	--include-generated -q 2>&1) &&
	sum=$(echo "$out" | grep -m1 '^unsafe-review: tree ') &&
	counts=$(echo "$sum" | sed -n 's/.*: \([0-9]*\) sites in \([0-9]*\) source files (\([0-9]*\) parsed by syn.*/\1 \2 \3/p') &&
	set -- $counts && [ "${1:-0}" -gt 0 ] && [ "${2:-0}" -gt 0 ] && [ "${3:-0}" -le "$2" ]; then
	pass unsafe-review-robustness "robustness: $2 files scanned, $3 parsed by syn, $1 unsafe sites"
else
	echo "$out" | tail -n 20
	fail unsafe-review-robustness "unsafe-review failed on $KSRC/rust"
fi

step "unsafe policy: unsafe-review --tree drivers/gpu/drm/virtio_rs"
if out=$(cargo run --quiet --release -p unsafe-review -- --tree drivers/gpu/drm/virtio_rs -q 2>&1); then
	echo "$out" | tail -n 6
	pass unsafe-policy "unsafe only in glue/ drm/ virtio/, every site justified, no bindings:: in gpu/"
else
	echo "$out" | tail -n 40
	fail unsafe-policy "see the sites above; docs/reviewing-unsafe.md explains the policy"
fi

# Soundness by type: the real module, built once with a handler whose argument is not plain
# data (`[bool; 8]`, see gpu/ioctl.rs `BadArg`), must be refused by the compiler.
step "ioctl argument bound: the module with a [bool; 8] ioctl argument must not build (E0277)"
out=$(make -s modules VGRS_RUSTFLAGS="--cfg vgrs_bad_ioctl_arg" 2>&1)
rc=$?
if [ "$rc" -eq 0 ]; then
	fail ioctl-arg-bound "the module built with a [bool; 8] ioctl argument: Ioctl::Arg is not bounded"
elif echo "$out" | grep -q 'E0277' && echo "$out" | grep -q 'FromBytes'; then
	pass ioctl-arg-bound "refused: $(echo "$out" | grep -m1 'E0277' | sed 's/^ *//')"
else
	echo "$out" | tail -n 30
	fail ioctl-arg-bound "the build failed, but not with E0277 on FromBytes (see above)"
fi

step "module build: clippy (Debian clippy-driver), -Dwarnings, C -Werror"
if out=$(make -s modules STRICT=1 2>&1); then
	echo "$out" | tail -n 3
	pass module-strict "virtio_gpu_rs.ko builds clippy- and warning-clean"
else
	echo "$out" | tail -n 60
	fail module-strict "module build with STRICT=1 failed"
	summary
	exit 1
fi

# Guest scenarios.
step "initramfs"
# STRICT=1 as the build above: the module is not built again with other flags.
if ! make -s initramfs STRICT=1; then
	fail initramfs "building the guest image failed"
	summary
	exit 1
fi

GUEST_KDIR="$KDIR"
GUEST_INITRD="$BUILD/initramfs.cpio"
GUEST_OUT="$BUILD"
# Two lanes of about equal length; the boots with an X server (Xvfb) share one, so that two
# `xvfb-run -a` never race for a display number. boot_lite: the scenarios that run no GL
# client boot the image without Mesa.
lane_x() {
	# Then the fuzzer on the 3D device (seeds 3 and 4: contexts, submissions, fences).
	boot virgl virgl,fuzz --timeout 900 --gl --trace 'virtio_gpu_cmd_ctx*' \
		--append "vgrs.kmscube_frames=300 suspend.pm_test_delay=0 vgrs.fuzz_seeds=3,4 vgrs.fuzz_iters=1000"
	boot_lite hotplug hotplug --timeout 400 --xvfb
	boot display display --timeout 900 --trace virtio_gpu_update_cursor
}
lane_y() {
	boot_lite probe probe --timeout 300 --append vgrs.cycles=10
	boot_lite uapi uapi --timeout 900
	boot_lite heads heads --timeout 600 --heads 2 --append video=Virtual-2:e
	boot_lite kms kms --timeout 600
	boot unplug unplug --timeout 300
	# A real PCIe hot-unplug (QMP device_del), each driver's GPU in a slot of its own.
	boot hotunplug hotunplug --timeout 300 --slots 2
	boot_lite fuzz fuzz --timeout 600 --append "vgrs.fuzz_seeds=1,2 vgrs.fuzz_iters=1000"
	# The panic trigger, then 23 suspend/resume cycles (ours: the C driver has none), one boot.
	boot panic panic,suspend --timeout 600 --append "vgrs.suspend=rs suspend.pm_test_delay=0"
	boot_lite panic-real panic-real --timeout 300 --append "panic=0 vgrs.drivers=rs"
}
step "guest boots, two at a time (results below, in order)"
t0=$SECONDS
lanes lane_x lane_y
echo "(guest boots: $((SECONDS - t0)) s)"
for name in probe uapi display heads kms hotplug unplug hotunplug fuzz panic virgl panic-real; do
	report "$name"
done

# igt's short list, only when an igt build is configured (IGT_DIR, as for make igt): a few
# minutes, judged against the same expectation files; make igt runs the whole list.
if [ -n "${IGT_DIR:-}" ]; then
	step "igt short list (tests/igt/tests-short.txt), both drivers, igt from $IGT_DIR"
	if out=$(IGT_BOOTS=2d IGT_LIST=tests/igt/tests-short.txt IGT_OUT="$BUILD/igt-short" \
		tests/igt.sh 2>&1); then
		echo "$out" | tail -n 12
		pass igt-short "$(echo "$out" | grep -E '^igt: results in' | sed 's/.*(//; s/)$//')"
	else
		echo "$out" | tail -n 30
		fail igt-short "see build/igt-short/results.md"
	fi
else
	SKIPPED=$((SKIPPED + 1))
	printf '\nSKIP igt-short: no igt build configured (IGT_DIR=...; tools/igt-build.sh makes one)\n'
fi

summary
