#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make igt`: igt-gpu-tools in the QEMU guest on our driver and on the C driver, one subtest
# per process with its own time limit (tests/guest/igt.sh), then tests/igt-report.py writes
# build/igt/results.{json,md} (both drivers side by side) and judges our results against
# tests/igt/virtio_gpu_rs-{fails,flakes,skips}.txt.
#
# Two boots, each with both drivers in turn:
#   2d   QEMU's virtio-vga, the tests of tests/igt/tests.txt
#   gl   QEMU's virtio-vga-gl (virgl, GL display under Xvfb), tests/igt/tests-gl.txt
# IGT_BOOTS="gl" (or "2d") picks boots.
#
# igt comes from, in this order:
#   IGT_DIR=/path   a tools/igt-build.sh stage or an igt install prefix (libexec/igt-gpu-tools)
#   IGT_SRC=/path   an igt source tree or git dir: built with tools/igt-build.sh (cached)
#   the stage an earlier IGT_SRC build left in the cache
# With none, it says how to get one and skips (a fresh CI machine has no igt).
# Ends with "N passed, N failed, N skipped".
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# IGT_OUT: where the results go (make check's short list uses its own); IGT_LIST: the 2D
# boot's list instead of tests/igt/tests.txt.
OUT="${IGT_OUT:-$ROOT/build/igt}"
CACHE="${VGRS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtio-gpu-rs}"
cd "$ROOT"
mkdir -p "$OUT"

say() { printf 'igt: %s\n' "$*"; }
skip_all() {
	say "$*"
	printf '\nSKIP igt %s\n0 passed, 0 failed, 1 skipped\n' "$*"
	exit 0
}

# The igt stage (bin/, lib/, libexec/igt-gpu-tools/, share/, host-libs.txt).
STAGE=""
if [ -n "${IGT_DIR:-}" ]; then
	[ -d "$IGT_DIR/libexec/igt-gpu-tools" ] ||
		{ say "IGT_DIR=$IGT_DIR has no libexec/igt-gpu-tools: give a tools/igt-build.sh stage or an igt install prefix"; exit 1; }
	STAGE="$IGT_DIR"
	if [ ! -f "$STAGE/host-libs.txt" ]; then
		# An install prefix: list the host libraries its programs need (not glibc's).
		STAGE="$OUT/stage"
		rm -rf "$STAGE"
		mkdir -p "$STAGE"
		cp -r "$IGT_DIR"/{bin,lib,libexec,share} "$STAGE/" 2>/dev/null
		find "$STAGE/libexec/igt-gpu-tools" "$STAGE/bin" -type f -perm -u+x -exec ldd {} + 2>/dev/null |
			awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | grep -v "^$STAGE" |
			grep -Ev '/(ld-linux|libc|libm|libpthread|librt|libdl)[.-]' | sort -u >"$STAGE/host-libs.txt"
	fi
elif [ -n "${IGT_SRC:-}" ]; then
	say "building igt from $IGT_SRC (tools/igt-build.sh; about 2.5 min on 2 cores the first time)"
	tools/deps.sh igt || exit 1
	tools/igt-build.sh || { say "the igt build failed; see above"; exit 1; }
	STAGE="$CACHE/igt-stage"
elif [ -d "$CACHE/igt-stage/libexec/igt-gpu-tools" ]; then
	STAGE="$CACHE/igt-stage"
	say "using the igt stage of an earlier build: $(readlink -f "$STAGE")"
else
	skip_all "no igt: set IGT_DIR to an igt build or install, or IGT_SRC to igt-gpu-tools sources (a git dir works: tools/igt-build.sh extracts commit 129d5b10b, the last that runs on virtio_gpu)"
fi
IGT_REV=$(sed -n 's/^commit=\([0-9a-f]\{9\}\).*/\1/p;s/^commit=\(tree-[0-9a-f]*\).*/\1/p' "$STAGE/.igt-stamp" 2>/dev/null | head -n1)
say "igt ${IGT_REV:-(unknown commit)} from $STAGE"

make -s modules guest-tools || { say "module or guest tools build failed"; exit 1; }
KDIR="$(tools/kernel.sh kdir)"

logs=()
for boot in ${IGT_BOOTS:-2d gl}; do
	case $boot in
	2d) list=${IGT_LIST:-tests/igt/tests.txt} opts=() ;;
	gl) list=tests/igt/tests-gl.txt opts=(--gl) ;;
	*) say "unknown boot '$boot' in IGT_BOOTS (2d, gl)"; exit 1 ;;
	esac
	say "$boot: guest image with igt and $list"
	VGRS_IGT="$STAGE" VGRS_IGT_LIST="$list" VGRS_IGT_SKIPS=tests/igt/virtio_gpu_rs-skips.txt \
		qemu/mkinitramfs.sh "$KDIR" "$OUT/initramfs-$boot.cpio" || exit 1
	say "$boot: booting (each subtest has its own time limit; progress in $OUT/$boot/console.log)"
	qemu/run.py --kdir "$KDIR" --initrd "$OUT/initramfs-$boot.cpio" --scenario igt \
		--outdir "$OUT/$boot" --timeout "${IGT_TIMEOUT:-3600}" --quiet "${opts[@]}"
	logs+=("$boot=$OUT/$boot/console.log")
done

python3 tests/igt-report.py --out "$OUT" --igt "${IGT_REV:-unknown}" \
	--fails tests/igt/virtio_gpu_rs-fails.txt --flakes tests/igt/virtio_gpu_rs-flakes.txt \
	${IGT_LIST:+--partial} "${logs[@]}"
