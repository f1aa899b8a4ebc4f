#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Installs what the build, the QEMU harness and the tests need, and only what is missing.
# Idempotent: a second run prints "all dependencies present" and does nothing.
set -euo pipefail

# Debian packages (bookworm). Kernel sources and the Rust toolchain the kernel is built with
# (rustc-web 1.96 with its library sources), the LLVM toolchain, QEMU, and the guest userspace
# (busybox, modetest, kmscube and the Mesa files kmscube loads at run time). The hotplug test
# runs QEMU's gtk UI under Xvfb and resizes its window with xdotool; the 3D (virgl) runs take
# pictures of that X screen with xwd, and glmark2 renders in the guest. g++ builds libFuzzer for
# the host fuzz targets (tools/host-fuzz.sh).
PKGS=(
	linux-source-6.12 rustc-web rust-web-src rust-web-clippy
	clang lld llvm libclang-dev libelf-dev libssl-dev flex bison bc cpio xz-utils make g++
	qemu-system-x86 busybox-static libdrm-tests kmscube
	libgl1-mesa-dri libegl-mesa0 libgbm1 libegl1 libgles2
	python3 socat netpbm
	xvfb xauth qemu-system-gui xdotool x11-apps glmark2-es2-drm
)
# `tools/deps.sh igt`: also what tools/igt-build.sh needs to build igt-gpu-tools (make igt).
if [ "${1:-}" = igt ]; then
	PKGS+=(meson ninja-build pkg-config libdrm-dev libkmod-dev libproc2-dev libdw-dev
		libpciaccess-dev libcairo2-dev libudev-dev libunwind-dev libpixman-1-dev
		libjson-c-dev libgsl-dev peg udev)
fi
BINDGEN_VERSION=0.72.1

say() { printf 'deps: %s\n' "$*"; }

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		SUDO=sudo
	elif [ ${#missing[@]} -gt 0 ]; then
		say "missing Debian packages: ${missing[*]}"
		say "no root rights: run this, then try again:"
		say "  sudo apt-get update && sudo apt-get install -y ${missing[*]}"
		exit 1
	fi
fi

if [ ${#missing[@]} -gt 0 ]; then
	say "installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! $SUDO apt-get update -q; then
		say "apt-get update failed: check the network / apt sources and run 'make deps' again"
		exit 1
	fi
	if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; then
		say "apt-get install failed (disk space? 'df -h /'); run 'make deps' again when fixed"
		exit 1
	fi
fi

# bindgen: the kernel needs >= 0.65.1, Debian's package is 0.60. Pinned version via cargo.
BINDGEN="${CARGO_HOME:-$HOME/.cargo}/bin/bindgen"
if ! [ -x "$BINDGEN" ] || ! "$BINDGEN" --version 2>/dev/null | grep -q " $BINDGEN_VERSION\$"; then
	say "installing bindgen-cli $BINDGEN_VERSION with cargo (takes ~2 min)"
	if ! cargo install --locked --version "$BINDGEN_VERSION" bindgen-cli; then
		say "cargo install bindgen-cli failed: is the crates registry reachable? run 'make deps' again"
		exit 1
	fi
fi

if [ ${#missing[@]} -eq 0 ]; then
	say "all dependencies present"
fi
