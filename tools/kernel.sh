#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds (or reuses) the Rust-enabled test kernel from Debian's linux-source-6.12.
#
#   tools/kernel.sh build   unpack, configure and build into the cache (no-op when cached)
#   tools/kernel.sh kdir    print the kernel build directory (cached tree or $KDIR)
#   tools/kernel.sh srcdir  print the kernel source directory (differs from kdir with O=)
#   tools/kernel.sh vars    print the make variables every kernel/module make needs
#   tools/kernel.sh key     print the cache key
#   tools/kernel.sh module DIR [MAKE ARGS...]
#                           copy the driver's sources into DIR (emptied first) and build
#                           virtio_gpu_rs.ko there against this kernel, so that objects for
#                           another kernel (debug, profile) never mix with the normal build's
#
# VGRS_KERNEL=debug selects the debug kernel (`make check-debug`): qemu/kernel-debug.config
# merged after the normal fragment (KASAN, KFENCE, kmemleak, lockdep, UBSAN, fault injection),
# cached beside the normal kernel under its own key. VGRS_KERNEL=profile: the normal
# fragment plus qemu/kernel-profile.config (function profiler, lock statistics), for
# tests/guest/profile.sh; no check uses it.
#
# The normal kernel is built out of its source tree (O=), and that source tree has the driver
# folder applied by tools/intree.sh but switched off: `make check-intree` copies the object
# tree and builds the driver into the kernel incrementally. The debug kernel is built in its
# source tree.
#
# The cache lives outside the clone, under ${VGRS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtio-gpu-rs},
# one directory per key. The key covers the kernel source package version, the config fragment,
# RECIPE (bump it when the configure/build steps below change), and the rustc, bindgen and clang
# versions: change any and the kernel is rebuilt.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${VGRS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtio-gpu-rs}"
TARBALL=/usr/src/linux-source-6.12.tar.xz
RUSTC=/usr/bin/rustc
RUSTDOC=/usr/bin/rustdoc
BINDGEN="${CARGO_HOME:-$HOME/.cargo}/bin/bindgen"
RUST_LIB_SRC=/usr/lib/rustlib/src/rust/library
FLAVOR="${VGRS_KERNEL:-normal}"
# RECIPE: bump it when a flavour's configure/build steps below change.
case "$FLAVOR" in
normal) FRAGMENTS=("$ROOT/qemu/kernel.config") RECIPE=2 ;;
debug) FRAGMENTS=("$ROOT/qemu/kernel.config" "$ROOT/qemu/kernel-debug.config") RECIPE=1 ;;
profile) FRAGMENTS=("$ROOT/qemu/kernel.config" "$ROOT/qemu/kernel-profile.config") RECIPE=1 ;;
*) echo "kernel: error: VGRS_KERNEL=$FLAVOR: want normal, debug or profile" >&2; exit 1 ;;
esac
JOBS="${JOBS:-$(nproc)}"

VARS="LLVM=1 RUSTC=$RUSTC RUSTDOC=$RUSTDOC BINDGEN=$BINDGEN RUST_LIB_SRC=$RUST_LIB_SRC"

say() { printf 'kernel: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

key() {
	{
		dpkg-query -W -f='${Version}\n' linux-source-6.12 2>/dev/null || echo no-source
		cat "${FRAGMENTS[@]}"
		echo "recipe $RECIPE"
		"$RUSTC" --version 2>/dev/null || echo no-rustc
		"$BINDGEN" --version 2>/dev/null || echo no-bindgen
		clang --version 2>/dev/null | head -n1 || echo no-clang
	} | sha256sum | cut -c1-16
}

# The normal kernel keeps its old directory name; the debug kernel's says so.
prefix() { if [ "$FLAVOR" = normal ]; then echo linux-6.12; else echo "linux-6.12-$FLAVOR"; fi; }
cached_dir() { echo "$CACHE/$(prefix)-$(key)"; }

# Source and object trees of the cached kernel: one tree in place (debug), or src/ and obj/.
src_of() { if [ "$FLAVOR" = normal ]; then echo "$1/src"; else echo "$1/linux"; fi; }
obj_of() { if [ "$FLAVOR" = normal ]; then echo "$1/obj"; else echo "$1/linux"; fi; }

kdir() {
	if [ -n "${KDIR:-}" ]; then echo "$KDIR"; else obj_of "$(cached_dir)"; fi
}

# An O= object tree links its source tree as `source`.
srcdir() {
	local k; k="$(kdir)"
	if [ -e "$k/source" ]; then readlink -f "$k/source"; else echo "$k"; fi
}

# Checks that a user-supplied tree has what the driver needs.
check_user_tree() {
	local k="$1" missing=()
	[ -f "$k/.config" ] || die "KDIR=$k has no .config: configure and build it first"
	for opt in RUST DRM DRM_KMS_HELPER DRM_GEM_SHMEM_HELPER VIRTIO_PCI MODULES; do
		grep -Eq "^CONFIG_${opt}=(y|m)" "$k/.config" || missing+=("CONFIG_$opt")
	done
	grep -q '^CONFIG_MODVERSIONS=y' "$k/.config" && missing+=("MODVERSIONS must be off")
	[ ${#missing[@]} -eq 0 ] || die "KDIR=$k lacks: ${missing[*]} (enable them, rebuild, retry)"
	[ -f "$k/Module.symvers" ] || die "KDIR=$k is not built: run 'make $VARS' there first"
	[ -f "$k/rust/libkernel.rmeta" ] || die "KDIR=$k has no built Rust 'kernel' crate"
}

# shellcheck source=tools/progress.sh
. "$ROOT/tools/progress.sh"

run_logged() {
	local log="$1"; shift
	if ! with_progress "$log" kernel "$@"; then
		tail -n 40 "$log" >&2
		die "'$*' failed (full log: $log). Fix the cause and run 'make kernel' again; it resumes."
	fi
}

build() {
	if [ -n "${KDIR:-}" ]; then
		check_user_tree "$KDIR"
		say "using your tree KDIR=$KDIR"
		return
	fi
	local dir; dir="$(cached_dir)"
	if [ -f "$dir/built" ]; then
		say "cached build $(obj_of "$dir") (key $(key))"
		return
	fi
	[ -f "$TARBALL" ] || die "$TARBALL missing: run 'make deps'"
	[ -x "$BINDGEN" ] || die "$BINDGEN missing: run 'make deps'"
	mkdir -p "$CACHE"
	local avail; avail=$(df -Pk "$CACHE" | awk 'NR==2 {print $4}')
	if [ ! -d "$dir/linux" ] && [ "$avail" -lt $((5 * 1024 * 1024)) ]; then
		die "less than 5 GiB free under $CACHE: free space or set VGRS_CACHE=/other/dir"
	fi
	exec 9>"$CACHE/.lock"
	flock 9
	# Another build may have finished it while this one waited for the lock.
	if [ -f "$dir/built" ]; then
		say "cached build $(obj_of "$dir") (key $(key)), built while waiting"
		return
	fi
	# Old keys of this flavour (each tree is ~2 GiB): keep the newest one that finished
	# building (to go back to), drop the rest, unfinished ones included.
	local old kept=""
	for old in $(ls -dt "$CACHE/$(prefix)"-* 2>/dev/null | grep -E "/$(prefix)-[0-9a-f]{16}\$" |
		grep -vx "$dir"); do
		if [ -z "$kept" ] && [ -f "$old/built" ]; then
			kept=$old
			continue
		fi
		say "removing old kernel build $old"
		rm -rf "$old"
	done
	mkdir -p "$dir"
	local log="$dir/build.log"
	: >"$log"
	local t0; t0=$(date +%s)
	local s k
	s="$(src_of "$dir")"
	k="$(obj_of "$dir")"
	if [ ! -f "$dir/unpacked" ]; then
		say "unpacking $TARBALL into $dir"
		rm -rf "$s" "$k" "$dir/linux-source-6.12"
		tar -C "$dir" -xf "$TARBALL"
		mv "$dir/linux-source-6.12" "$s"
		# The driver folder, off (CONFIG_DRM_VIRTIO_GPU_RS unset): make check-intree turns it on.
		[ "$s" = "$k" ] || "$ROOT/tools/intree.sh" apply "$s"
		touch "$dir/unpacked"
	fi
	mkdir -p "$k"
	local kmake=(make -C "$s")
	[ "$s" = "$k" ] || kmake+=(O="$k")
	say "configuring ($FLAVOR): tinyconfig + kvm_guest.config + ${FRAGMENTS[*]#$ROOT/}"
	# The same variables go to the config steps, or RUST_IS_AVAILABLE is false and
	# CONFIG_RUST is silently dropped.
	run_logged "$log" "${kmake[@]}" $VARS tinyconfig
	run_logged "$log" "$s/scripts/kconfig/merge_config.sh" -m -O "$k" "$k/.config" \
		"$s/kernel/configs/kvm_guest.config" "${FRAGMENTS[@]}"
	run_logged "$log" "${kmake[@]}" $VARS olddefconfig
	local bad=()
	for opt in RUST=y DRM=y DRM_VIRTIO_GPU=m MODULES=y VIRTIO_PCI=y; do
		grep -q "^CONFIG_$opt\$" "$k/.config" || bad+=("CONFIG_$opt")
	done
	grep -q '^CONFIG_MODVERSIONS=y' "$k/.config" && bad+=("MODVERSIONS on")
	# Every option a fragment asks for must have survived olddefconfig: a missing dependency
	# silently drops one, and a detector or a feature that is not there reports nothing.
	local line
	while read -r line; do
		grep -qx "$line" "$k/.config" || bad+=("$line")
	done < <(cat "${FRAGMENTS[@]}" | grep -E '^CONFIG_[A-Z0-9_]+=')
	[ ${#bad[@]} -eq 0 ] || die "config lacks ${bad[*]} after olddefconfig (is Rust available? try: ${kmake[*]} $VARS rustavailable)"
	say "building bzImage and modules ($FLAVOR) with $JOBS jobs (about 10 min on 2 cores, more with the debug options; progress every 20 s)"
	run_logged "$log" "${kmake[@]}" $VARS -j"$JOBS" bzImage modules
	touch "$dir/built"
	say "built in $(( $(date +%s) - t0 )) s: $k"
}

# module DIR [MAKE ARGS...]: see the usage at the top.
module() {
	local dir=$1 k
	shift
	k="$(kdir)"
	rm -rf "$dir"
	mkdir -p "$dir"
	cp -r "$ROOT/Kbuild" "$ROOT/Kconfig" "$ROOT/drivers" "$ROOT/include" "$dir/"
	# shellcheck disable=SC2086
	make -C "$k" M="$dir" $VARS CONFIG_DRM_VIRTIO_GPU_RS=m "$@" modules
}

case "${1:-build}" in
	build) build ;;
	kdir) kdir ;;
	srcdir) srcdir ;;
	vars) echo "$VARS" ;;
	key) key ;;
	module) [ $# -ge 2 ] || die "usage: $0 module DIR [MAKE ARGS...]"; shift; module "$@" ;;
	*) die "usage: $0 build|kdir|srcdir|vars|key|module" ;;
esac
