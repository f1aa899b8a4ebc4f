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
PASSED=0
FAILED=0
SKIPPED=0
FAILURES=()

step() { printf '\n==== %s\n' "$*"; }
pass() { PASSED=$((PASSED + 1)); printf 'PASS %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); FAILURES+=("$1"); printf 'FAIL %s\n' "$*"; }

summary() {
	printf '\n'
	if [ ${#FAILURES[@]} -gt 0 ]; then
		printf 'failed: %s\n' "${FAILURES[*]}"
	fi
	if [ "$SKIPPED" -gt 0 ]; then
		printf '%d passed, %d failed, %d skipped\n' "$PASSED" "$FAILED" "$SKIPPED"
	else
		printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
	fi
	[ "$FAILED" -eq 0 ]
}

# The kernel first (cached after the first run): the robustness run below reads its rust/.
step "kernel: the cached Rust-enabled 6.12 build (built on the first run, ~6 min)"
if ! make -s kernel; then
	fail kernel "the kernel build failed; see the messages above"
	summary
	exit 1
fi
KDIR="$(tools/kernel.sh kdir)"

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
if out=$(VGRS_KDIR="$KDIR" cargo test --release --quiet -p unsafe-review --test tree \
	kernel_rust_dir_robustness -- --nocapture 2>&1) && echo "$out" | grep -q '^robustness:'; then
	pass unsafe-review-robustness "$(echo "$out" | grep '^robustness:')"
else
	echo "$out" | tail -n 20
	fail unsafe-review-robustness "unsafe-review failed on $KDIR/rust"
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

# guest SCENARIO [run.py options]: boots QEMU, counts the guest's PASS/FAIL/SKIP lines.
guest() {
	local scenario=$1
	shift
	step "guest: $scenario (QEMU TCG; log in build/$scenario/console.log)"
	local out rc
	local t0=$SECONDS
	out=$(qemu/run.py --kdir "$KDIR" --initrd "$BUILD/initramfs.cpio" --scenario "$scenario" \
		--outdir "$BUILD/$scenario" --quiet "$@" 2>&1)
	rc=$?
	echo "$out" | grep -v '^run: booting'
	echo "(guest $scenario: $((SECONDS - t0)) s)"
	local p f s
	p=$(echo "$out" | grep -c '^PASS ')
	f=$(echo "$out" | grep -c '^FAIL ')
	s=$(echo "$out" | grep -c '^SKIP ')
	PASSED=$((PASSED + p))
	SKIPPED=$((SKIPPED + s))
	if [ "$f" -gt 0 ]; then
		FAILED=$((FAILED + f))
		FAILURES+=($(echo "$out" | sed -n "s/^FAIL \([^:]*\).*/$scenario:\1/p"))
	fi
	if [ "$rc" -ge 2 ] || { [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; }; then
		echo "$out" | tail -n 5
		fail "$scenario" "guest did not finish (exit $rc); see build/$scenario/console.log"
	fi
}

guest probe --timeout 300 --append vgrs.cycles=10
guest uapi --timeout 900
guest display --timeout 900 --trace virtio_gpu_update_cursor
guest heads --timeout 600 --heads 2 --append video=Virtual-2:e
guest kms --timeout 600
guest hotplug --timeout 400 --xvfb
guest unplug --timeout 300
guest fuzz --timeout 600 --append "vgrs.fuzz_seeds=1 vgrs.fuzz_iters=1000"
guest panic --timeout 300
guest virgl --timeout 600 --gl --trace 'virtio_gpu_cmd_ctx*' --append vgrs.kmscube_frames=300
guest panic-real --timeout 300 --append "panic=0 vgrs.drivers=rs"

summary
